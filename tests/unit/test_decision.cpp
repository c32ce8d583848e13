// decide(): snapshot + config + persisted state + time -> the one next thing and the sentence that
// explains it, for every branch of every state (a table: one row per branch), then observe mode over
// the whole table, the resume of an interrupted switch, and track()'s observation memory.
#include <gtest/gtest.h>

#include "core/decision.hpp"
#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

struct World {
  ClusterConfig cfg = lab_config();
  ClusterSnapshot snap;
  PersistedState st;
  TimePoint now = kT0 + minutes(5);
};

struct Case {
  std::string name;
  std::function<void(World&)> setup;
  StepId step = StepId::None;
  std::optional<ClusterState> to;
  std::vector<std::string> words;            // all in the sentence
  std::vector<std::string> suggestion = {};  // all in the suggested action (blocked only)
};

ReplicaStatus& rep(World& w) {
  return *w.snap.servers[0].replica;
}

void healthy(World& w) {
  w.st = state_in(ClusterState::Healthy);
  w.snap = switched_back();
}
void degraded(World& w) {
  w.st = state_in(ClusterState::Degraded);
  w.snap = after_failover();
}
void degraded_fenced(World& w) {
  degraded(w);
  w.snap = old_fenced();
}
void degraded_checked(World& w) {
  degraded_fenced(w);
  w.st.divergence_checked = true;
}
void rejoined_state(World& w) {
  w.st = state_in(ClusterState::SlaveRejoined);
  w.snap = rejoined();
  w.st.healthy_since = w.now - seconds(10);
}
void sql_error(World& w) {
  rejoined_state(w);
  rep(w).sql_running = false;
  rep(w).seconds_behind.reset();
  rep(w).last_sql_errno = 1062;
  rep(w).last_sql_error = "Could not execute Write_rows_v1 event on table app.orders; Duplicate entry '42'";
}
void validated_state(World& w) {
  w.st = state_in(ClusterState::Validated);
  w.snap = rejoined();
  w.st.healthy_since = w.now - minutes(3);
}
void switched_state(World& w) {
  w.st = state_in(ClusterState::SwitchedBack);
  w.snap = switched_back();
}

std::vector<Case> cases() {
  std::vector<Case> c;
  // ------------------------------------------------------------ healthy
  c.push_back({"Healthy_PreferredMasterIsMaster",
               healthy,
               StepId::None,
               std::nullopt,
               {"no action: preferred master 127.0.0.11 is master"}});
  c.push_back({"Healthy_HandledFlagIsNotNew",
               [](World& w) {
                 healthy(w);
                 w.snap.mha.failover_complete_mtime = kT0;
               },
               StepId::None,
               std::nullopt,
               {"no action: preferred master 127.0.0.11 is master"}});
  c.push_back(
      {"Healthy_NewFlag",
       [](World& w) {
         healthy(w);
         w.st.handled_flag_mtime = kT0 - std::chrono::hours(24);
         w.snap = after_failover();
       },
       StepId::DetectFailover,
       std::nullopt,
       {"failover detected: /var/lib/mha/app1/app1.failover.complete appeared; reading the manager log"}});
  c.push_back({"Healthy_NewFlagBeforeErrorFlag",
               [](World& w) {
                 healthy(w);
                 w.st.handled_flag_mtime = kT0 - std::chrono::hours(24);
                 w.snap = after_failover();
                 w.snap.mha.failover_error = true;
               },
               StepId::DetectFailover,
               std::nullopt,
               {"failover detected"}});
  c.push_back({"Healthy_ErrorFlag",
               [](World& w) {
                 healthy(w);
                 w.snap.mha.failover_error = true;
               },
               StepId::None,
               ClusterState::Blocked,
               {"MHA's failover error flag /var/lib/mha/app1/app1.failover.error is present: its last "
                "failover failed"},
               {"read the manager log (/var/log/mha/app1/manager.log)",
                "remove /var/lib/mha/app1/app1.failover.error", "mha-failbackctl ack app1"}});
  c.push_back(
      {"Healthy_TwoMasters",
       [](World& w) {
         healthy(w);
         w.snap.servers[1].read_only = false;
         w.snap.servers[1].replica.reset();
       },
       StepId::None,
       ClusterState::Blocked,
       {"two writable masters: 127.0.0.11 and 127.0.0.12 both accept writes and replicate from nobody"},
       {"SET GLOBAL read_only=1", "compare their data"}});
  c.push_back({"Healthy_NonPreferredMasterWithoutFlag",
               [](World& w) {
                 healthy(w);
                 w.snap = old_fenced();
                 w.snap.servers[0].replica = replica_of(kNew);
                 w.snap.mha.failover_complete_mtime.reset();
               },
               StepId::None,
               std::nullopt,
               {"127.0.0.12 is master, not the preferred 127.0.0.11",
                "`mha-failbackctl rejoin app1` starts a failback"}});
  c.push_back({"Healthy_NoMaster",
               [](World& w) {
                 healthy(w);
                 w.snap.servers[0].read_only = true;
               },
               StepId::None,
               std::nullopt,
               {"no server acts as master right now"}});

  // ------------------------------------------------------------ degraded
  c.push_back({"Degraded_WithoutFailoverFacts",
               [](World& w) {
                 degraded(w);
                 w.st.failover.reset();
               },
               StepId::None,
               ClusterState::Blocked,
               {"internal inconsistency: degraded without failover facts"}});
  c.push_back({"Degraded_ServersNotInTheConfig",
               [](World& w) {
                 degraded(w);
                 w.st.failover->new_master = "db9";
               },
               StepId::None,
               ClusterState::Blocked,
               {"names old master '127.0.0.11' and new master 'db9', which are not both servers of "
                "/etc/mha/app1.cnf"}});
  c.push_back({"Degraded_SecondFailover",
               [](World& w) {
                 degraded_fenced(w);
                 w.snap.mha.failover_complete_mtime = kT0 + minutes(2);
               },
               StepId::None,
               ClusterState::Blocked,
               {"a second failover happened while failing back"},
               {"review the manager log"}});
  c.push_back({"Degraded_PartialFailover",
               [](World& w) {
                 degraded(w);
                 w.st.failover->outcome = "partial";
               },
               StepId::None,
               ClusterState::Blocked,
               {"MHA reported a partial failover to 127.0.0.12; its result cannot be trusted as is"},
               {"repair the replicas MHA could not recover"}});
  c.push_back({"Degraded_FailedFailover",
               [](World& w) {
                 degraded(w);
                 w.st.failover->outcome = "failed";
               },
               StepId::None,
               ClusterState::Blocked,
               {"MHA reported a failed failover"}});
  c.push_back(
      {"Degraded_DoneOutside",
       [](World& w) {
         degraded(w);
         w.snap = switched_back();
       },
       StepId::None,
       ClusterState::Healthy,
       {"the preferred master 127.0.0.11 is master again and 127.0.0.12 replicates from it: failback done "
        "outside mha-failback"}});
  c.push_back({"Degraded_DoneOutsideButFlagPresent",
               [](World& w) {
                 degraded(w);
                 w.snap = switched_back();
                 w.snap.mha.failover_complete_mtime = kT0;
               },
               StepId::None,
               ClusterState::SwitchedBack,
               {"not switching: the master role is already back on 127.0.0.11",
                "someone switched back by hand", "the leftover failover flag is archived first"}});
  c.push_back({"Degraded_FlagRemovedMidProcedure",
               [](World& w) {
                 degraded_fenced(w);
                 w.snap.mha.failover_complete_mtime.reset();
               },
               StepId::None,
               ClusterState::Blocked,
               {"the failover flag /var/lib/mha/app1/app1.failover.complete was removed outside mha-failback",
                "nothing more is done, no switch"},
               {"a restarted MHA manager may fail over again", "mha-failbackctl ack app1"}});
  c.push_back({"Validated_FlagRemovedNeverSwitches",
               [](World& w) {
                 rejoined_state(w);
                 w.st.state = ClusterState::Validated;
                 w.st.switch_approved = true;
                 w.snap.mha.failover_complete_mtime.reset();
               },
               StepId::None,
               ClusterState::Blocked,
               {"was removed outside mha-failback while failing back (in validated)", "no switch"},
               {"to go on without it"}});
  c.push_back({"Validated_SwitchedBackByHandNeverSwitchesAgain",
               [](World& w) {
                 rejoined_state(w);
                 w.st.state = ClusterState::Validated;
                 w.st.switch_approved = true;
                 w.snap = switched_back();
                 w.snap.mha.failover_complete_mtime = kT0;
               },
               StepId::None,
               ClusterState::SwitchedBack,
               {"already back on 127.0.0.11 and 127.0.0.12 replicates from it", "restoring MHA"}});
  c.push_back({"SlaveRejoined_SwitchedBackByHandWithoutFlag",
               [](World& w) {
                 rejoined_state(w);
                 w.snap = switched_back();
               },
               StepId::None,
               ClusterState::SwitchedBack,
               {"someone switched back by hand"}});
  c.push_back({"Blocked_SaysAnotherFailoverHappened",
               [](World& w) {
                 rejoined_state(w);
                 w.st.state = ClusterState::Blocked;
                 w.st.blocked_reason = "the failover flag was removed";
                 w.st.failover->flag_mtime = TimePoint{};
                 w.snap.mha.failover_complete_mtime = kT0 + minutes(3);
               },
               StepId::None,
               std::nullopt,
               {"blocked: the failover flag was removed", "another failover"}});
  c.push_back({"Degraded_NewMasterDown",
               [](World& w) {
                 degraded_fenced(w);
                 w.snap.servers[1] = down(kNew);
                 w.st.new_master_missing_since = w.now - seconds(20);
               },
               StepId::None,
               std::nullopt,
               {"waiting: new master 127.0.0.12 does not answer SQL", "nothing is done while it is down"}});
  c.push_back({"Degraded_NewMasterDownTooLong",
               [](World& w) {
                 degraded_fenced(w);
                 w.snap.servers[1] = down(kNew);
                 w.st.new_master_missing_since = w.now - seconds(601);
               },
               StepId::None,
               ClusterState::Blocked,
               {"new master 127.0.0.12 has not answered SQL for 10m01s"}});
  c.push_back({"Degraded_NewMasterReadOnly",
               [](World& w) {
                 degraded_fenced(w);
                 w.snap.servers[1].read_only = true;
               },
               StepId::None,
               ClusterState::Blocked,
               {"new master 127.0.0.12 does not act as master: it is read-only"}});
  c.push_back({"Degraded_OldMasterDown",
               degraded,
               StepId::BringBackOldMaster,
               std::nullopt,
               {"waiting for old master 127.0.0.11: SQL does not answer (Can't connect"}});
  c.push_back({"Degraded_DatabaseStartedButSilent",
               [](World& w) {
                 degraded(w);
                 w.st.database_start_requested_at = w.now - seconds(121);
               },
               StepId::None,
               ClusterState::Blocked,
               {"the database on 127.0.0.11 did not answer SQL within 2m00s of being started"},
               {"look at the database error log on 127.0.0.11"}});
  c.push_back({"Degraded_DatabaseStartedRecently",
               [](World& w) {
                 degraded(w);
                 w.st.database_start_requested_at = w.now - seconds(30);
               },
               StepId::BringBackOldMaster,
               std::nullopt,
               {"waiting for old master 127.0.0.11"}});
  c.push_back({"Degraded_OldMasterNeverCameBack",
               [](World& w) {
                 degraded(w);
                 w.st.old_master_missing_since = w.now - seconds(3601);
               },
               StepId::None,
               ClusterState::Blocked,
               {"old master 127.0.0.11 did not come back within 1h00m"},
               {"bring 127.0.0.11's host and database back"}});
  // Refused and hanging SSH look the same through SQL: the block names the last SSH probe's error.
  c.push_back({"Degraded_OldMasterNeverCameBackNamesTheSshProbe",
               [](World& w) {
                 degraded(w);
                 w.st.old_master_missing_since = w.now - seconds(3601);
                 w.snap.servers[0].host_reachable = false;
                 w.snap.servers[0].host_error = "connect to 127.0.0.11:22 timed out after 5s";
               },
               StepId::None,
               ClusterState::Blocked,
               {"old master 127.0.0.11 did not come back within 1h00m (",
                "; SSH: connect to 127.0.0.11:22 timed out after 5s)"},
               {"bring 127.0.0.11's host and database back"}});
  c.push_back({"Degraded_OldMasterBackWritable",
               [](World& w) {
                 degraded(w);
                 w.snap.servers[0] = maria(kOld, 1, false);
               },
               StepId::Fence,
               std::nullopt,
               {"fence old master 127.0.0.11: it answers and is writable; read_only=1 first"}});
  c.push_back({"Degraded_NotChecked",
               degraded_fenced,
               StepId::DivergenceGate,
               std::nullopt,
               {"check old master 127.0.0.11 for transactions 127.0.0.12 never received"}});
  c.push_back({"Degraded_CheckedNotReplicating",
               degraded_checked,
               StepId::Rejoin,
               std::nullopt,
               {"rejoin old master 127.0.0.11 as a replica of 127.0.0.12"}});
  c.push_back({"Degraded_AlreadyReplicating",
               [](World& w) {
                 degraded_checked(w);
                 w.snap = rejoined();
               },
               StepId::None,
               ClusterState::SlaveRejoined,
               {"old master 127.0.0.11 replicates from new master 127.0.0.12"}});
  c.push_back({"Degraded_AlreadyReplicatingIoConnecting",
               [](World& w) {
                 degraded_checked(w);
                 w.snap = rejoined();
                 rep(w).io_running = false;
                 rep(w).io_connecting = true;
               },
               StepId::None,
               ClusterState::SlaveRejoined,
               {"replicates from new master"}});
  c.push_back({"Degraded_ConfiguredButNeverStarted",
               [](World& w) {
                 degraded_checked(w);
                 w.snap = rejoined();
                 rep(w).io_running = rep(w).sql_running = false;
                 rep(w).seconds_behind.reset();
               },
               StepId::Rejoin,
               std::nullopt,
               {"rejoin old master 127.0.0.11"}});
  // A replica that already applied transactions and stopped on an error (e.g. acknowledged without
  // START SLAVE) must not be rejoined again: the rejoin resets gtid_slave_pos to its own binlog pos and
  // would replay what it applied. The error must reach the operator.
  c.push_back({"Degraded_ReplicaStoppedOnAnSqlErrorIsNotRejoinedAgain",
               [](World& w) {
                 degraded_checked(w);
                 w.snap = rejoined();
                 rep(w).sql_running = false;
                 rep(w).seconds_behind.reset();
                 rep(w).last_sql_errno = 1062;
                 rep(w).last_sql_error = "Duplicate entry '42' for key 'PRIMARY'";
               },
               StepId::None,
               ClusterState::Blocked,
               {"1062"}});

  // ------------------------------------------------------------ slave-rejoined
  c.push_back({"Rejoined_SqlErrorBlocksByDefault",
               sql_error,
               StepId::None,
               ClusterState::Blocked,
               {"replication SQL error on 127.0.0.11: error 1062: Could not execute Write_rows_v1 event"},
               {"repair the data on 127.0.0.11", "START SLAVE", "skipping events loses whole transactions",
                "sql_error_policy"}});
  c.push_back({"Rejoined_SqlErrorSkipPolicy",
               [](World& w) {
                 sql_error(w);
                 w.cfg.sql_error_policy = {SqlErrorAction::Skip, 3};
               },
               StepId::SkipSqlError,
               std::nullopt,
               {"replication SQL error on 127.0.0.11: error 1062",
                "skipping the event under the opt-in policy (1 of at most 3)"}});
  c.push_back({"Rejoined_SqlErrorSkipBudgetUsed",
               [](World& w) {
                 sql_error(w);
                 w.cfg.sql_error_policy = {SqlErrorAction::Skip, 1};
                 w.st.skipped_events.push_back({kT0, kOld, "mysql-bin.000001:2000", 1032, "x"});
               },
               StepId::None,
               ClusterState::Blocked,
               {"replication SQL error on 127.0.0.11"},
               {"the skip budget (1) is used up"}});
  c.push_back(
      {"Rejoined_IoError",
       [](World& w) {
         rejoined_state(w);
         rep(w).io_running = false;
         rep(w).last_io_errno = 1236;
         rep(w).last_io_error =
             "Got fatal error 1236 from master when reading data from binary log: 'Error: connecting slave "
             "requested to start from GTID 0-1-16, which is not in the master's binlog'";
       },
       StepId::None,
       ClusterState::Blocked,
       {"replication IO error on 127.0.0.11: error 1236: Got fatal error"},
       {"error 1236 means the source lacks what the replica asks for"}});
  c.push_back({"Rejoined_IoConnectingIsNotAnError",
               [](World& w) {
                 rejoined_state(w);
                 rep(w).io_running = false;
                 rep(w).io_connecting = true;
                 rep(w).last_io_errno = 2003;
                 rep(w).last_io_error = "error connecting to master 'repl@127.0.0.12:3306' - retry-time: 60";
               },
               StepId::None,
               std::nullopt,
               {"catching up", "IO thread connecting to 127.0.0.12"}});
  c.push_back({"Rejoined_StoppedWithoutError",
               [](World& w) {
                 rejoined_state(w);
                 rep(w).io_running = rep(w).sql_running = false;
                 rep(w).seconds_behind.reset();
               },
               StepId::None,
               ClusterState::Blocked,
               {"replication on 127.0.0.11 is stopped without an error (IO stopped, SQL stopped): someone "
                "ran STOP SLAVE"}});
  c.push_back({"Rejoined_Lagging",
               [](World& w) {
                 rejoined_state(w);
                 rep(w).seconds_behind = 12;
               },
               StepId::None,
               std::nullopt,
               {"catching up: 127.0.0.11 replicates from 127.0.0.12, 12s behind (bound 5s)"}});
  c.push_back({"Rejoined_LaggingPastTheCatchUpBudget",
               [](World& w) {
                 rejoined_state(w);
                 rep(w).seconds_behind = 4000;
                 w.st.rejoined_at = w.now - seconds(601);
               },
               StepId::None,
               ClusterState::Blocked,
               {"127.0.0.11 has not caught up with 127.0.0.12 within 10m00s of the rejoin (4000s behind)"}});
  c.push_back({"Rejoined_StableWindowNotYet",
               rejoined_state,
               StepId::None,
               std::nullopt,
               {"validating: 127.0.0.11 replicates from 127.0.0.12 within the lag bound for 10s of 30s"}});
  c.push_back({"Rejoined_StableWindowReached",
               [](World& w) {
                 rejoined_state(w);
                 w.st.healthy_since = w.now - seconds(30);
               },
               StepId::Validate,
               std::nullopt,
               {"replication healthy for 30s: run MHA's check_ssh and check_repl"}});
  c.push_back({"Rejoined_NoHealthyMemoryYet",
               [](World& w) {
                 rejoined_state(w);
                 w.st.healthy_since.reset();
               },
               StepId::None,
               std::nullopt,
               {"within the lag bound for 0s of 30s"}});
  c.push_back({"Rejoined_ReadOnlyOff",
               [](World& w) {
                 rejoined_state(w);
                 w.snap.servers[0].read_only = false;
               },
               StepId::Fence,
               std::nullopt,
               {"re-fence 127.0.0.11: read_only is off on the rejoined old master"}});
  c.push_back(
      {"Rejoined_SourceChanged",
       [](World& w) {
         rejoined_state(w);
         rep(w).source_host = "10.9.9.9";
       },
       StepId::None,
       ClusterState::Blocked,
       {"rejoined old master 127.0.0.11 no longer replicates from 127.0.0.12 (its source is 10.9.9.9)"}});
  c.push_back({"Rejoined_ReplicationRemoved",
               [](World& w) {
                 rejoined_state(w);
                 w.snap.servers[0].replica.reset();
               },
               StepId::None,
               ClusterState::Blocked,
               {"(replication is not configured on it)"}});
  c.push_back({"Rejoined_OldMasterDown",
               [](World& w) {
                 rejoined_state(w);
                 w.snap.servers[0] = down(kOld);
               },
               StepId::None,
               std::nullopt,
               {"waiting: rejoined old master 127.0.0.11 does not answer SQL"}});
  c.push_back({"Rejoined_NewMasterDown",
               [](World& w) {
                 rejoined_state(w);
                 w.snap.servers[1] = down(kNew);
               },
               StepId::None,
               std::nullopt,
               {"waiting: new master 127.0.0.12 does not answer SQL"}});
  c.push_back({"Rejoined_NewMasterDownTooLong",
               [](World& w) {
                 rejoined_state(w);
                 w.snap.servers[1] = down(kNew);
                 w.st.new_master_missing_since = w.now - minutes(11);
               },
               StepId::None,
               ClusterState::Blocked,
               {"new master 127.0.0.12 has not answered SQL for 11m00s"},
               {"if MHA must fail over again, start its manager"}});
  // A switch by hand passes through a read-only current master: waited on for one tool timeout.
  c.push_back({"Rejoined_NewMasterReadOnlyMaybeASwitchInProgress",
               [](World& w) {
                 rejoined_state(w);
                 w.snap.servers[1].read_only = true;
                 w.st.new_master_missing_since = w.now - seconds(180);
               },
               StepId::None,
               std::nullopt,
               {"waiting: new master 127.0.0.12 does not act as master (it is read-only), maybe a switch in "
                "progress; nothing is done, blocked if it lasts over 3m00s"}});
  c.push_back({"Validated_NewMasterReplicatesFromTheOldMaster",
               [](World& w) {
                 w.st = state_in(ClusterState::Validated);
                 w.st.switch_approved = true;
                 w.snap = rejoined();
                 w.snap.servers[1].read_only = true;
                 w.snap.servers[1].replica = w.snap.servers[0].replica;
                 w.snap.servers[1].replica->source_host = "127.0.0.11";
               },
               StepId::None,
               std::nullopt,
               {"waiting: new master 127.0.0.12 does not act as master (it is read-only and replicates from "
                "127.0.0.11), maybe a switch in progress"}});
  c.push_back({"Rejoined_NewMasterNoLongerMaster",
               [](World& w) {
                 rejoined_state(w);
                 w.snap.servers[1].read_only = true;
                 w.st.new_master_missing_since = w.now - seconds(181);
               },
               StepId::None,
               ClusterState::Blocked,
               {"new master 127.0.0.12 no longer acts as master for 3m01s: it is read-only"}});
  c.push_back({"Rejoined_SecondFailover",
               [](World& w) {
                 rejoined_state(w);
                 w.snap.mha.failover_complete_mtime = kT0 + minutes(1);
               },
               StepId::None,
               ClusterState::Blocked,
               {"a second failover happened while failing back"}});
  c.push_back({"Rejoined_ServersLeftTheConfig",
               [](World& w) {
                 rejoined_state(w);
                 w.cfg.mha.servers.pop_back();
               },
               StepId::None,
               ClusterState::Blocked,
               {"no longer in /etc/mha/app1.cnf"}});
  c.push_back({"Rejoined_WithoutFailoverFacts",
               [](World& w) {
                 rejoined_state(w);
                 w.st.failover.reset();
               },
               StepId::None,
               ClusterState::Blocked,
               {"internal inconsistency: slave-rejoined without failover facts"}});

  // ------------------------------------------------------------ validated
  c.push_back({"Validated_ApproveModeWaits",
               validated_state,
               StepId::None,
               std::nullopt,
               {"validated: 127.0.0.11 replicates from 127.0.0.12 within the lag bound; waiting for approval "
                "(`mha-failbackctl failback app1`)"}});
  c.push_back({"Validated_AutoModeSwitches",
               [](World& w) {
                 validated_state(w);
                 w.cfg.mode = Mode::Auto;
               },
               StepId::SwitchBack,
               std::nullopt,
               {"switch the master role back from 127.0.0.12 to 127.0.0.11 (auto mode)"}});
  c.push_back({"Validated_AutoModeBySetMode",
               [](World& w) {
                 validated_state(w);
                 w.st.mode_override = Mode::Auto;
               },
               StepId::SwitchBack,
               std::nullopt,
               {"(auto mode)"}});
  // A crash between the flag's archive (recorded first) and the switch: the flag is gone from its place
  // because we archived it, so the resumed switch goes on; nothing is taken for someone else's action.
  c.push_back({"Validated_FlagArchivedByUsBeforeACrashResumesTheSwitch",
               [](World& w) {
                 validated_state(w);
                 w.st.switch_approved = true;
                 w.st.approval_reason = "maintenance window";
                 w.st.archived_flag_path = "/var/lib/mha-failback/app1/history/app1.failover.complete.x";
                 w.snap.mha.failover_complete_mtime.reset();
               },
               StepId::SwitchBack,
               std::nullopt,
               {"switch the master role back from 127.0.0.12 to 127.0.0.11 (approved: maintenance window)"}});
  c.push_back({"Validated_ApprovedSwitches",
               [](World& w) {
                 validated_state(w);
                 w.st.switch_approved = true;
                 w.st.approval_reason = "maintenance window";
               },
               StepId::SwitchBack,
               std::nullopt,
               {"switch the master role back from 127.0.0.12 to 127.0.0.11 (approved: maintenance window)"}});
  c.push_back({"Validated_RegressesOnLag",
               [](World& w) {
                 validated_state(w);
                 rep(w).seconds_behind = 9;
                 w.st.switch_approved = true;
               },
               StepId::None,
               ClusterState::SlaveRejoined,
               {"replication on 127.0.0.11 left the lag bound (9s behind, bound 5s): validate again"}});
  c.push_back({"Validated_RegressesWhenTheOldMasterStopsAnswering",
               [](World& w) {
                 validated_state(w);
                 w.snap.servers[0] = down(kOld);
               },
               StepId::None,
               ClusterState::SlaveRejoined,
               {"rejoined old master 127.0.0.11 stopped answering SQL"}});
  c.push_back({"Validated_NeverSwitchesWithTheNewMasterDown",
               [](World& w) {
                 validated_state(w);
                 w.st.switch_approved = true;
                 w.snap.servers[1] = down(kNew);
               },
               StepId::None,
               ClusterState::SlaveRejoined,
               {"new master 127.0.0.12 stopped answering SQL: never switch now"}});
  c.push_back({"Validated_ReFences",
               [](World& w) {
                 validated_state(w);
                 w.snap.servers[0].read_only = false;
               },
               StepId::Fence,
               std::nullopt,
               {"re-fence 127.0.0.11"}});

  // ------------------------------------------------------------ switched-back
  c.push_back({"SwitchedBack_Restores",
               switched_state,
               StepId::Restore,
               std::nullopt,
               {"restore MHA: manager running with PING_OK and replication OK"}});
  c.push_back({"SwitchedBack_PreferredNotMaster",
               [](World& w) {
                 switched_state(w);
                 w.snap.servers[0].read_only = true;
               },
               StepId::None,
               ClusterState::Blocked,
               {"after the switch back, preferred master 127.0.0.11 does not act as master: it is read-only"},
               {"make exactly one writable master"}});
  c.push_back({"SwitchedBack_ManagerNeverReportedPingOk",
               [](World& w) {
                 switched_state(w);
                 w.st.manager_restart_requested_at = w.now - seconds(121);
               },
               StepId::None,
               ClusterState::Blocked,
               {"the MHA manager did not report PING_OK within 2m00s of being started"},
               {"start the manager by hand"}});
  c.push_back({"SwitchedBack_ManagerStartedRecently",
               [](World& w) {
                 switched_state(w);
                 w.st.manager_restart_requested_at = w.now - seconds(20);
               },
               StepId::Restore,
               std::nullopt,
               {"restore MHA"}});

  // ------------------------------------------------------------ blocked
  c.push_back({"Blocked_WaitsForTheOperator",
               [](World& w) {
                 rejoined_state(w);
                 w.st.state = ClusterState::Blocked;
                 w.st.blocked_reason = "replication SQL error on 127.0.0.11: error 1062";
                 w.st.suggested_action = "repair the data on 127.0.0.11";
               },
               StepId::None,
               std::nullopt,
               {"blocked: replication SQL error on 127.0.0.11: error 1062; suggested: repair the data on "
                "127.0.0.11"}});
  return c;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class DecideTable : public ::testing::TestWithParam<Case> {};

TEST_P(DecideTable, StepTransitionAndSentence) {
  const Case& c = GetParam();
  World w;
  c.setup(w);
  Decision d = decide(w.snap, w.cfg, w.st, w.now);
  EXPECT_EQ(to_string(d.step), to_string(c.step)) << d.sentence;
  EXPECT_EQ(d.transition_to, c.to) << d.sentence;
  EXPECT_FALSE(d.sentence.empty());
  for (const auto& word : c.words)
    EXPECT_NE(d.sentence.find(word), std::string::npos) << "missing \"" << word << "\" in: " << d.sentence;
  for (const auto& word : c.suggestion)
    EXPECT_NE(d.suggested_action.find(word), std::string::npos)
        << "missing \"" << word << "\" in the suggestion: " << d.suggested_action;
  if (d.transition_to == ClusterState::Blocked) {
    EXPECT_FALSE(d.suggested_action.empty()) << "blocked without a suggested action: " << d.sentence;
  } else {
    EXPECT_TRUE(d.suggested_action.empty()) << d.suggested_action;
  }
  if (d.step != StepId::None) {
    EXPECT_FALSE(d.transition_to) << "a step and a transition at once";
  }
  // Pure: the same inputs give the same decision.
  Decision again = decide(w.snap, w.cfg, w.st, w.now);
  EXPECT_EQ(again.sentence, d.sentence);
  EXPECT_EQ(again.step, d.step);
}

TEST_P(DecideTable, ObserveModeNeverYieldsAMutatingStep) {
  // Observe filters what approve mode would do (auto's switch included: observe is not auto).
  const Case& c = GetParam();
  World w;
  c.setup(w);
  w.cfg.mode = Mode::Approve;
  w.st.mode_override.reset();
  Decision normal = decide(w.snap, w.cfg, w.st, w.now);
  for (int via_override = 0; via_override < 2; ++via_override) {
    World o;
    c.setup(o);
    if (via_override) {
      o.cfg.mode = Mode::Auto;
      o.st.mode_override = Mode::Observe;  // SetMode wins over the configured mode
    } else {
      o.cfg.mode = Mode::Observe;
      o.st.mode_override.reset();
    }
    Decision d = decide(o.snap, o.cfg, o.st, o.now);
    EXPECT_FALSE(step_mutates(d.step)) << to_string(d.step) << ": " << d.sentence;
    if (step_mutates(normal.step)) {
      EXPECT_TRUE(d.waits());
      EXPECT_EQ(d.sentence, "observe mode, nothing done; next step would be " +
                                std::string(to_string(normal.step)) + ": " + normal.sentence);
      EXPECT_EQ(d.server, normal.server);
    } else {
      EXPECT_EQ(d.step, normal.step);
      EXPECT_EQ(d.transition_to, normal.transition_to);
      EXPECT_EQ(d.sentence, normal.sentence);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Decide, DecideTable, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(Decide, EveryStateIsCoveredByTheTable) {
  std::set<ClusterState> states;
  std::set<StepId> steps;
  for (const auto& c : cases()) {
    World w;
    c.setup(w);
    states.insert(w.st.state);
    steps.insert(decide(w.snap, w.cfg, w.st, w.now).step);
  }
  for (ClusterState s : {ClusterState::Healthy, ClusterState::Degraded, ClusterState::SlaveRejoined,
                         ClusterState::Validated, ClusterState::SwitchedBack, ClusterState::Blocked})
    EXPECT_TRUE(states.count(s)) << to_string(s);
  for (StepId s :
       {StepId::DetectFailover, StepId::BringBackOldMaster, StepId::Fence, StepId::DivergenceGate,
        StepId::Rejoin, StepId::SkipSqlError, StepId::Validate, StepId::SwitchBack, StepId::Restore})
    EXPECT_TRUE(steps.count(s)) << to_string(s);
}

TEST(Decide, InterruptedSwitchResumesBeforeAnythingElse) {
  // Whatever the snapshot says — even things that would otherwise block or regress — the step that
  // was in flight inspects first: it must never be re-chosen as a fresh switch, nor abandoned.
  std::vector<std::function<void(World&)>> worlds = {
      [](World& w) { w.snap = rejoined(); },
      [](World& w) { w.snap = switched_back(); },  // the target already is master: the switch took effect
      [](World& w) {
        w.snap = rejoined();
        w.snap.servers[1] = down(kNew);
      },
      [](World& w) {
        w.snap = rejoined();
        w.snap.servers[1].read_only = true;  // MHA left the current master read-only
      },
  };
  for (std::size_t i = 0; i < worlds.size(); ++i) {
    SCOPED_TRACE(i);
    World w;
    validated_state(w);
    w.st.step_in_progress = "switch-back";
    w.st.switch_started = true;
    worlds[i](w);
    Decision d = decide(w.snap, w.cfg, w.st, w.now);
    EXPECT_EQ(d.step, StepId::SwitchBack) << d.sentence;
    EXPECT_NE(d.sentence.find("resume the switch back interrupted by a restart: inspect before acting"),
              std::string::npos)
        << d.sentence;
  }
}

TEST(Decide, OtherInterruptedStepsAreChosenAgainFromWhatIsObserved) {
  World w;
  degraded_checked(w);
  w.st.step_in_progress = "rejoin";
  w.snap = rejoined();
  Decision d = decide(w.snap, w.cfg, w.st, w.now);
  EXPECT_EQ(d.transition_to, ClusterState::SlaveRejoined) << "the rejoin had finished: " << d.sentence;
}

TEST(Decide, HumanDurations) {
  EXPECT_EQ(human_duration(seconds(0)), "0s");
  EXPECT_EQ(human_duration(seconds(-5)), "0s");
  EXPECT_EQ(human_duration(seconds(12)), "12s");
  EXPECT_EQ(human_duration(seconds(185)), "3m05s");
  EXPECT_EQ(human_duration(seconds(7800)), "2h10m");
}

TEST(Decide, MutatingSteps) {
  for (StepId s : {StepId::BringBackOldMaster, StepId::Fence, StepId::Rejoin, StepId::SkipSqlError,
                   StepId::SwitchBack, StepId::Restore, StepId::Acknowledge})
    EXPECT_TRUE(step_mutates(s)) << to_string(s);
  for (StepId s : {StepId::None, StepId::DetectFailover, StepId::DivergenceGate, StepId::Validate})
    EXPECT_FALSE(step_mutates(s)) << to_string(s);
}

TEST(Decide, ReplicatesFromMatchesHostnameOrIpAndPort) {
  MhaServer src;
  src.hostname = "db2.example";
  src.ip = "10.0.0.12";
  src.port = 3306;
  ServerSnapshot s = maria(kOld, 1, true);
  s.replica = replica_of("db2.example");
  EXPECT_TRUE(replicates_from(s, src));
  s.replica->source_host = "10.0.0.12";
  EXPECT_TRUE(replicates_from(s, src));
  s.replica->source_port = 3307;
  EXPECT_FALSE(replicates_from(s, src));
  s.replica.reset();
  EXPECT_FALSE(replicates_from(s, src));
}

// ---------------------------------------------------------------- track()

TEST(Track, ARemovedFlagSeenWhileBlockedIsForgottenSoTheAckGoesOnWithoutIt) {
  ClusterConfig cfg = lab_config();
  PersistedState st = state_in(ClusterState::Blocked);
  ClusterSnapshot snap = rejoined();
  snap.mha.failover_complete_mtime.reset();
  track(snap, cfg, st, kT0 + minutes(5));
  ASSERT_TRUE(st.failover);
  EXPECT_EQ(st.failover->flag_mtime, TimePoint{});
  // Not while the procedure runs: there the removal blocks first.
  PersistedState running = state_in(ClusterState::Validated);
  track(snap, cfg, running, kT0 + minutes(5));
  EXPECT_EQ(running.failover->flag_mtime, kT0);
}

TEST(Track, RemembersSinceWhenTheOldMasterIsMissingAndForgetsWhenItIsBack) {
  World w;
  degraded(w);
  track(w.snap, w.cfg, w.st, w.now);
  EXPECT_EQ(w.st.old_master_missing_since, w.now);
  track(w.snap, w.cfg, w.st, w.now + minutes(1));
  EXPECT_EQ(w.st.old_master_missing_since, w.now) << "kept, not moved";
  w.snap = old_fenced();
  track(w.snap, w.cfg, w.st, w.now + minutes(2));
  EXPECT_FALSE(w.st.old_master_missing_since);
}

TEST(Track, RemembersSinceWhenTheNewMasterIsMissingInEveryProcedureState) {
  for (ClusterState s : {ClusterState::Degraded, ClusterState::SlaveRejoined, ClusterState::Validated,
                         ClusterState::SwitchedBack}) {
    SCOPED_TRACE(to_string(s));
    World w;
    w.st = state_in(s);
    w.snap = rejoined();
    w.snap.servers[1] = down(kNew);
    track(w.snap, w.cfg, w.st, w.now);
    EXPECT_EQ(w.st.new_master_missing_since, w.now);
    w.snap = rejoined();
    track(w.snap, w.cfg, w.st, w.now + seconds(1));
    EXPECT_FALSE(w.st.new_master_missing_since);
  }
}

TEST(Track, ANewMasterThatStopsActingAsMasterAfterTheRejoinIsMissing) {
  for (ClusterState s : {ClusterState::SlaveRejoined, ClusterState::Validated}) {
    World w;
    w.st = state_in(s);
    w.snap = rejoined();
    w.snap.servers[1].read_only = true;
    track(w.snap, w.cfg, w.st, w.now);
    EXPECT_EQ(w.st.new_master_missing_since, w.now) << to_string(s);
    w.snap.servers[1].read_only = false;
    track(w.snap, w.cfg, w.st, w.now + seconds(1));
    EXPECT_FALSE(w.st.new_master_missing_since) << to_string(s);
  }
  // After the switch the former new master is a read-only replica by design.
  World w;
  w.st = state_in(ClusterState::SwitchedBack);
  w.snap = switched_back();
  track(w.snap, w.cfg, w.st, w.now);
  EXPECT_FALSE(w.st.new_master_missing_since);
}

TEST(Track, HealthySinceStartsWhenReplicationIsWithinTheBoundAndResetsOnAnyFault) {
  struct Fault {
    const char* what;
    std::function<void(ClusterSnapshot&)> apply;
  };
  std::vector<Fault> faults = {
      {"lag over the bound", [](ClusterSnapshot& s) { s.servers[0].replica->seconds_behind = 6; }},
      {"lag unknown", [](ClusterSnapshot& s) { s.servers[0].replica->seconds_behind.reset(); }},
      {"IO thread stopped", [](ClusterSnapshot& s) { s.servers[0].replica->io_running = false; }},
      {"SQL thread stopped", [](ClusterSnapshot& s) { s.servers[0].replica->sql_running = false; }},
      {"old master down", [](ClusterSnapshot& s) { s.servers[0] = down(kOld); }},
      {"new master down", [](ClusterSnapshot& s) { s.servers[1] = down(kNew); }},
      {"other source", [](ClusterSnapshot& s) { s.servers[0].replica->source_host = "10.9.9.9"; }},
  };
  for (ClusterState st : {ClusterState::SlaveRejoined, ClusterState::Validated}) {
    for (const auto& f : faults) {
      SCOPED_TRACE(std::string(to_string(st)) + ": " + f.what);
      World w;
      w.st = state_in(st);
      w.snap = rejoined(5);  // exactly at the bound counts as within
      track(w.snap, w.cfg, w.st, w.now);
      EXPECT_EQ(w.st.healthy_since, w.now);
      track(w.snap, w.cfg, w.st, w.now + seconds(10));
      EXPECT_EQ(w.st.healthy_since, w.now) << "kept while healthy";
      f.apply(w.snap);
      track(w.snap, w.cfg, w.st, w.now + seconds(20));
      EXPECT_FALSE(w.st.healthy_since);
    }
  }
}

TEST(Track, ChangesNothingWhenNoProcedureRuns) {
  for (ClusterState s : {ClusterState::Healthy, ClusterState::Blocked}) {
    World w;
    w.st = state_in(s == ClusterState::Blocked ? ClusterState::SlaveRejoined : s);
    w.st.state = s;
    w.snap = after_failover();
    w.snap.servers[1] = down(kNew);
    std::string before = serialize_state(w.st);
    track(w.snap, w.cfg, w.st, w.now);
    EXPECT_EQ(serialize_state(w.st), before) << to_string(s);
  }
  World w;
  degraded(w);
  w.st.failover.reset();
  std::string before = serialize_state(w.st);
  track(w.snap, w.cfg, w.st, w.now);
  EXPECT_EQ(serialize_state(w.st), before) << "no failover facts: nothing to track";
}

TEST(Track, IsPure) {
  World a, b;
  rejoined_state(a);
  rejoined_state(b);
  a.st.healthy_since.reset();
  b.st.healthy_since.reset();
  track(a.snap, a.cfg, a.st, a.now);
  track(b.snap, b.cfg, b.st, b.now);
  EXPECT_EQ(serialize_state(a.st), serialize_state(b.st));
}

TEST(Decide, OldMasterNeverCameBackWithoutAnSshProbeNamesOnlySql) {
  World w;
  degraded(w);
  w.st.old_master_missing_since = w.now - seconds(3601);
  w.snap.servers[0].host_error = "stale text";  // no failed probe: not shown
  Decision d = decide(w.snap, w.cfg, w.st, w.now);
  EXPECT_NE(d.sentence.find("did not come back within 1h00m"), std::string::npos) << d.sentence;
  EXPECT_EQ(d.sentence.find("SSH"), std::string::npos) << d.sentence;
  w.snap.servers[0].host_reachable = true;
  d = decide(w.snap, w.cfg, w.st, w.now);
  EXPECT_EQ(d.sentence.find("SSH"), std::string::npos) << d.sentence;
}

// After an ack the procedure starts over and reaches slave-rejoined from degraded without the rejoin
// step (replication is already configured): the catch-up bound must count from there, or a lag that
// never converges is waited on forever.
TEST(Track, SlaveRejoinedWithoutARejoinTimeStartsTheCatchUpClock) {
  World w;
  rejoined_state(w);
  w.st.rejoined_at.reset();
  w.snap.servers[0].replica->seconds_behind = 600;
  track(w.snap, w.cfg, w.st, w.now);
  EXPECT_EQ(w.st.rejoined_at, w.now);
  Decision d = decide(w.snap, w.cfg, w.st, w.now);
  EXPECT_TRUE(d.waits()) << d.sentence;
  EXPECT_NE(d.sentence.find("catching up"), std::string::npos) << d.sentence;
  const TimePoint later = w.now + w.cfg.timeouts.catch_up + seconds(1);
  track(w.snap, w.cfg, w.st, later);
  EXPECT_EQ(w.st.rejoined_at, w.now) << "kept, not moved";
  d = decide(w.snap, w.cfg, w.st, later);
  ASSERT_EQ(d.transition_to, std::optional<ClusterState>(ClusterState::Blocked)) << d.sentence;
  EXPECT_NE(d.sentence.find("has not caught up"), std::string::npos) << d.sentence;
  // Only slave-rejoined starts it: validated and degraded leave it alone.
  for (ClusterState s : {ClusterState::Degraded, ClusterState::Validated}) {
    World v;
    v.st = state_in(s);
    v.st.rejoined_at.reset();
    v.snap = rejoined();
    track(v.snap, v.cfg, v.st, v.now);
    EXPECT_FALSE(v.st.rejoined_at) << to_string(s);
  }
}

TEST(Track, OldMasterMemoryIsOnlyKeptWhileDegraded) {
  World w;
  rejoined_state(w);
  w.snap.servers[0] = down(kOld);
  track(w.snap, w.cfg, w.st, w.now);
  EXPECT_FALSE(w.st.old_master_missing_since) << "the return timeout belongs to degraded only";
}

}  // namespace
}  // namespace mhafb::test

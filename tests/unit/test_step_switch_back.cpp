// Step 7, the switch back: check first; stop the MHA manager; archive the failover flag; then (the
// point of no return, persisted first) masterha_master_switch --master_state=alive to exactly the
// config's hostname; inspect both servers. A failed switch never leaves the cluster without a
// writable master: MHA rolls nothing back after it set read_only on the current master, so the step
// does (SET GLOBAL read_only = 0), puts the flag back and restarts the manager it stopped. A restart
// during the switch inspects and never runs the switch again. Real switch output from the lab.
//
// Two kinds of test: scripted (every call written down, exact order) and a small model of the two
// servers and the manager that answers every call, for the fault injector: one call fails, the world
// goes on, and the cluster must end with exactly one writable master.
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::vector<std::string> kStatus = {"masterha_check_status", "--conf=/etc/mha/app1.cnf"};
const std::vector<std::string> kStop = {"masterha_stop", "--conf=/etc/mha/app1.cnf"};
const std::vector<std::string> kStartManager = {"systemctl", "start", "mha-manager@app1.service"};
const std::vector<std::string> kSwitch = {"masterha_master_switch",   "--master_state=alive",
                                          "--conf=/etc/mha/app1.cnf", "--new_master_host=127.0.0.11",
                                          "--new_master_port=3306",   "--orig_master_is_new_slave",
                                          "--interactive=0"};
const std::string kFlag = "/var/lib/mha/app1/app1.failover.complete";
const std::string kArchived = kStateDir + "/history/app1.failover.complete.20261124T041604Z";
const TimePoint kFlagMtime = kT0;

CommandOutput running() {
  return captured_output("masterha_check_status.running-ping-ok.txt");
}
CommandOutput not_running() {
  return captured_output("masterha_check_status.not-running.txt");
}

void validated(StepHarness& h) {
  h.state = state_in(ClusterState::Validated);
  h.state.switch_approved = true;
  h.state.approval_reason = "maintenance window";
  h.state.step_in_progress = "switch-back";
  h.state.operation_id = "00c0ffee00c0ffee";
  h.state.operation_kind = "failback";
  h.snapshot = rejoined();
  h.files.put(kFlag, "", kFlagMtime);
}

std::uint32_t id_of(const std::string& host) {
  return host == kOld ? 1 : 2;
}

// read_role: the facts, then SHOW SLAVE STATUS.
void expect_role(StepHarness& h, const std::string& host, bool read_only, const std::string& source) {
  h.sql.expect_prefix(host, kFactsPrefix, facts_rows(read_only, id_of(host)));
  h.sql.expect(host, "SHOW SLAVE STATUS",
               source.empty() ? no_rows() : maria_slave_status({{"Master_Host", source}}));
}

// read_role gives up after five attempts.
void expect_role_down(StepHarness& h, const std::string& host) {
  for (int i = 0; i < 5; ++i)
    h.sql.expect_prefix(
        host, kFactsPrefix,
        Error{ErrorKind::Unreachable, "Can't connect to server on '" + host + "' (113)", 2002});
}

const std::string kProcesslistPrefix = "SELECT ID AS id, USER AS user";

// Before the preparation: no update has run for a second or more on the current master.
void expect_quiet_master(StepHarness& h) {
  h.sql.expect_prefix(kNew, kProcesslistPrefix, no_rows());
}

ResultSet processlist(std::vector<std::vector<std::optional<std::string>>> data) {
  return rows({"id", "user", "command", "time", "info"}, std::move(data));
}

void expect_preparation(StepHarness& h) {
  expect_quiet_master(h);
  h.commands.expect(kStatus, running()).expect(kStop, exited(0, "Stopped app1 successfully.\n"));
  h.commands.expect(kStatus, not_running());
}

// The manager already down: the switch runs and succeeds, and both roles read back switched.
void expect_switch_with_the_manager_down(StepHarness& h) {
  h.commands.expect(kStatus, not_running());
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.ok.txt"));
  expect_role(h, kOld, false, "");
  expect_role(h, kNew, true, kOld);
}

bool ran_switch(const StepHarness& h) {
  for (const auto& spec : h.commands.issued())
    if (!spec.argv.empty() && spec.argv[0] == "masterha_master_switch") return true;
  return false;
}

std::size_t index_of(const StepHarness& h, CallKind kind, const std::string& text_prefix) {
  const auto& calls = h.script.calls();
  for (std::size_t i = 0; i < calls.size(); ++i)
    if (calls[i].kind == kind && calls[i].text.rfind(text_prefix, 0) == 0) return i;
  return calls.size();
}

// ---------------------------------------------------------------- the happy path

TEST(SwitchBackStep, StopsTheManagerArchivesTheFlagPersistsThenSwitches) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.ok.txt"));
  expect_role(h, kOld, false, "");
  expect_role(h, kNew, true, kOld);
  auto o = h.run(switch_back);
  h.script.verify();

  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::SwitchedBack);
  EXPECT_NE(o.sentence.find("switched the master role back to 127.0.0.11 in"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("127.0.0.12 replicates from it"), std::string::npos) << o.sentence;

  // The flag is in the state directory's history, with MHA's mtime.
  EXPECT_FALSE(h.files.exists(kFlag));
  ASSERT_TRUE(h.files.exists(kArchived)) << ::testing::PrintToString(h.files.paths_under("/"));
  EXPECT_EQ(h.files.find(kArchived)->mtime, kFlagMtime);
  EXPECT_EQ(h.state.archived_flag_path, kArchived);
  EXPECT_TRUE(h.audit.has(AuditKind::StepFinished, "archived the failover flag to " + kArchived));

  // Progress persisted: the manager stop, the flag's destination before it is moved (a crash between
  // the two keeps track of it), then switch_started before the point of no return.
  ASSERT_GE(h.saves.size(), 3u);
  EXPECT_TRUE(h.saves[0].manager_stopped);
  EXPECT_EQ(h.saves[1].archived_flag_path, kArchived);
  EXPECT_FALSE(h.saves[1].switch_started);
  const std::size_t move_at = index_of(h, CallKind::File, "move");
  ASSERT_LT(move_at, h.script.calls().size());
  ASSERT_GT(move_at, 0u);
  EXPECT_EQ(h.script.calls()[move_at - 1].kind, CallKind::Save)
      << "the destination is persisted right before the move";
  EXPECT_TRUE(h.saves[2].switch_started);
  EXPECT_EQ(h.saves[2].archived_flag_path, kArchived);
  EXPECT_LT(index_of(h, CallKind::Save, "save"), index_of(h, CallKind::Command, "masterha_master_switch"));
  std::size_t last_save_before_switch = 0;
  for (std::size_t i = 0; i < index_of(h, CallKind::Command, "masterha_master_switch"); ++i)
    if (h.script.calls()[i].kind == CallKind::Save) last_save_before_switch = i;
  EXPECT_EQ(last_save_before_switch + 1, index_of(h, CallKind::Command, "masterha_master_switch"))
      << "switch_started is persisted right before the switch";
  EXPECT_FALSE(h.state.switch_started);
  EXPECT_TRUE(h.state.manager_stopped) << "restore restarts it";

  EXPECT_TRUE(h.mutating_sql().empty()) << "MHA does the switch; the step only inspects";
  EXPECT_TRUE(h.audit.has(AuditKind::Command, "masterha_master_switch --master_state=alive"))
      << h.audit.dump();
  EXPECT_TRUE(secret_nowhere(h, kReplPassword));
  EXPECT_TRUE(secret_nowhere(h, kAdminPassword));
}

TEST(SwitchBackStep, NewMasterHostIsExactlyTheConfigHostname) {
  // MHA wants --new_master_host string-equal to the config's hostname, never the ip.
  StepHarness h;
  validated(h);
  h.config.mha.servers[0].hostname = "db1.example";
  h.config.mha.servers[0].ip = "127.0.0.11";
  h.config.mha.servers[0].port = 3307;
  h.config.preferred_master = "db1.example";
  h.state.failover->old_master = "db1.example";
  h.snapshot.servers[0].hostname = "db1.example";
  expect_preparation(h);
  h.commands.expect_if(
      "masterha_master_switch to db1.example:3307",
      [](const CommandSpec& s) {
        return s.argv.size() == 7 && s.argv[3] == "--new_master_host=db1.example" &&
               s.argv[4] == "--new_master_port=3307";
      },
      exited(1, "", "Got ERROR:\n"));
  h.script.answer_with([](const Call& c) -> std::optional<Reply> {
    Reply r;
    if (c.kind == CallKind::Sql) r.rows = Result<ResultSet>(Error::unreachable("down"));
    if (c.kind == CallKind::Command) r.output = Result<CommandOutput>(exited(0));
    return r;
  });
  (void)h.run(switch_back);
  EXPECT_TRUE(ran_switch(h));
  EXPECT_EQ(h.script.pending(), 0u);
}

TEST(SwitchBackStep, ManagerAlreadyStoppedIsNotStoppedAgain) {
  // Also the re-run after a crash right after the stop: manager_stopped is set, the manager is down.
  StepHarness h;
  validated(h);
  h.state.manager_stopped = true;
  expect_quiet_master(h);
  expect_switch_with_the_manager_down(h);
  auto o = h.run(switch_back);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_TRUE(h.state.manager_stopped) << "still ours to restart";
}

TEST(SwitchBackStep, FlagAlreadyArchivedIsNotTouched) {
  // The re-run after a crash after the archive: the flag is gone from the work dir.
  StepHarness h;
  validated(h);
  h.files.remove(kFlag);
  h.files.put(kArchived, "", kFlagMtime);
  h.state.archived_flag_path = kArchived;
  h.state.manager_stopped = true;
  expect_quiet_master(h);
  expect_switch_with_the_manager_down(h);
  auto o = h.run(switch_back);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(h.state.archived_flag_path, kArchived);
  EXPECT_EQ(h.script.calls_of(CallKind::File).size(), 2u)
      << "only the MHA config read and the stat of the flag";
}

TEST(SwitchBackStep, CompanionServiceFollowsTheMasterRole) {
  StepHarness h;
  validated(h);
  h.config.commands.companion_stop = {"systemctl", "stop", "zabbix-server"};
  h.config.commands.companion_start = {"systemctl", "start", "zabbix-server"};
  expect_preparation(h);
  h.remote.expect_run(kNew, {"systemctl", "stop", "zabbix-server"}, exited(0));
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.ok.txt"));
  expect_role(h, kOld, false, "");
  expect_role(h, kNew, true, kOld);
  h.remote.expect_run(kOld, {"systemctl", "start", "zabbix-server"}, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_LT(index_of(h, CallKind::Remote, "systemctl stop"),
            index_of(h, CallKind::Command, "masterha_master_switch"));
}

// ---------------------------------------------------------------- before the point of no return

TEST(SwitchBackStep, TargetAlreadyMasterBlocksWithoutDoingAnything) {
  StepHarness h;
  validated(h);
  h.snapshot.servers[0].read_only = false;
  h.snapshot.servers[0].replica.reset();
  auto o = h.run(switch_back);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the switch target 127.0.0.11 already acts as master"), std::string::npos);
  EXPECT_NE(o.suggestion.find("switching to the master makes it read-only and fails"), std::string::npos);
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(SwitchBackStep, SwitchedBackByHandIsRecognisedAndNeverSwitchedAgain) {
  StepHarness h;
  validated(h);
  h.snapshot = switched_back();
  auto o = h.run(switch_back);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::SwitchedBack);
  EXPECT_NE(o.sentence.find("someone switched back by hand"), std::string::npos) << o.sentence;
  EXPECT_FALSE(ran_switch(h));
  EXPECT_TRUE(h.commands.issued().empty());
}

TEST(SwitchBackStep, AnEditedMhaConfigIsRefusedBeforeAnythingIsTouched) {
  StepHarness h;
  validated(h);
  std::string conf =
      "[server default]\nuser=mha\nmanager_workdir=/var/lib/mha/app1\n\n[server1]\nhostname=127.0.0.11\n"
      "port=3307\n\n[server2]\nhostname=127.0.0.12\nport=3306\n";
  h.files.put("/etc/mha/app1.cnf", conf, kT0);
  auto o = h.run(switch_back);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the MHA config /etc/mha/app1.cnf changed since mha-failbackd loaded it"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("[server1] port 3306 -> 3307"), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("SIGHUP"), std::string::npos);
  EXPECT_TRUE(h.commands.issued().empty());
  EXPECT_TRUE(h.files.exists(kFlag));
}

TEST(SwitchBackStep, AbortBeforeItBeganGoesBackToValidated) {
  StepHarness h;
  validated(h);
  h.abort = true;
  auto o = h.run(switch_back);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::Validated);
  EXPECT_NE(o.sentence.find("aborted by the operator before it began"), std::string::npos);
  EXPECT_TRUE(h.commands.issued().empty());
  EXPECT_TRUE(h.files.exists(kFlag));
}

TEST(SwitchBackStep, AbortAtTheLastSafePointUndoesThePreparation) {
  StepHarness h;
  validated(h);
  expect_quiet_master(h);
  h.commands.expect(kStatus, running()).expect(kStop, exited(0));
  // The operator's abort arrives while the step is stopping the manager.
  h.commands.expect_if(
      "masterha_check_status (abort arrives)",
      [&h](const CommandSpec& s) {
        h.abort = true;
        return s.argv == kStatus;
      },
      not_running());
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::Validated);
  EXPECT_NE(o.sentence.find("aborted by the operator before the switch"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("the failover flag was put back"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("the MHA manager was started again"), std::string::npos) << o.sentence;
  EXPECT_FALSE(ran_switch(h));
  EXPECT_TRUE(h.files.exists(kFlag));
  EXPECT_EQ(h.files.find(kFlag)->mtime, kFlagMtime) << "MHA's last_failover_minute reads the mtime";
  EXPECT_FALSE(h.files.exists(kArchived));
  EXPECT_FALSE(h.state.manager_stopped);
  EXPECT_TRUE(h.state.archived_flag_path.empty());
}

TEST(SwitchBackStep, ManagerThatCannotBeStoppedBlocksBeforeTheSwitch) {
  for (bool spawn_error : {false, true}) {
    SCOPED_TRACE(spawn_error ? "masterha_stop cannot start" : "masterha_stop ran, manager still running");
    StepHarness h;
    validated(h);
    expect_quiet_master(h);
    h.commands.expect(kStatus, running());
    if (spawn_error) {
      h.commands.expect(kStop, Error::failed("cannot start masterha_stop: No such file or directory"));
    } else {
      h.commands.expect(kStop, exited(1, "Failed to stop app1.\n")).expect(kStatus, running());
    }
    h.commands.expect(kStartManager, exited(0));
    auto o = h.run(switch_back);
    h.script.verify();
    ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
    EXPECT_NE(o.sentence.find("the MHA manager could not be stopped"), std::string::npos) << o.sentence;
    EXPECT_NE(o.suggestion.find("stop the MHA manager for app1 by hand"), std::string::npos);
    EXPECT_FALSE(ran_switch(h));
    EXPECT_TRUE(h.files.exists(kFlag));
  }
}

TEST(SwitchBackStep, FlagThatCannotBeCheckedOrArchivedStopsBeforeTheSwitchAndUndoes) {
  for (const char* op : {"stat", "move"}) {
    SCOPED_TRACE(op);
    StepHarness h;
    validated(h);
    expect_preparation(h);
    h.commands.expect(kStartManager, exited(0));
    h.files.fail_next(op, kFlag, Error::failed("Permission denied"));
    auto o = h.run(switch_back);
    h.script.verify();
    EXPECT_TRUE(retry_or_block(o)) << describe(o);
    EXPECT_NE(o.sentence.find("Permission denied"), std::string::npos) << o.sentence;
    EXPECT_NE(o.sentence.find("the MHA manager was started again"), std::string::npos) << o.sentence;
    EXPECT_FALSE(ran_switch(h));
    EXPECT_TRUE(h.files.exists(kFlag));
    EXPECT_FALSE(h.state.manager_stopped);
  }
}

TEST(SwitchBackStep, StateThatCannotBePersistedMeansNoSwitch) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kStartManager, exited(0));
  // calls: read of the MHA config, processlist, status, stop, save, status, stat, save, move, save <- this
  // one fails
  h.script.inject(9,
                  Fault{"save error", {std::nullopt, std::nullopt, Status(Error::failed("No space left"))}});
  h.script.answer_with([](const Call& c) -> std::optional<Reply> {
    if (c.kind != CallKind::Command) return std::nullopt;
    Reply r;
    r.output = Result<CommandOutput>(exited(0));
    return r;
  });
  auto o = h.run(switch_back);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("cannot persist state before the switch"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("not switching"), std::string::npos);
  EXPECT_FALSE(ran_switch(h));
  EXPECT_TRUE(h.files.exists(kFlag));
  EXPECT_FALSE(h.state.switch_started);
}

// ---------------------------------------------------------------- after the point of no return

TEST(SwitchBackStep, SwitchFailingAfterMhaSetReadOnlyIsUndone) {
  // The captured switch that failed in phase 2: MHA had already set read_only=1 on the current master
  // ("Executing FLUSH TABLES WITH READ LOCK.. ok", then "Failed to get new master's binlog") and rolls
  // nothing back. Without the undo the cluster has no writable master.
  StepHarness h;
  validated(h);
  expect_preparation(h);
  auto failed = captured_output("masterha_master_switch.alive.fail-already-master.txt");
  ASSERT_EQ(failed.exit_code, 1);
  h.commands.expect(kSwitch, failed);
  expect_role(h, kOld, true, kNew);  // the target is still a read-only replica
  expect_role(h, kNew, true, "");    // the current master was left read-only by MHA
  h.sql.expect(kNew, "SET GLOBAL read_only = 0", no_rows());
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();

  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the switch back to 127.0.0.11 failed"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("127.0.0.12 was made writable again (read_only=0)"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("the failover flag was put back"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("the MHA manager was started again"), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("approve the failback again"), std::string::npos) << o.suggestion;

  EXPECT_EQ(h.mutating_sql(kNew), std::vector<std::string>{"SET GLOBAL read_only = 0"});
  EXPECT_TRUE(h.mutating_sql(kOld).empty()) << "the target stays fenced";
  EXPECT_TRUE(h.files.exists(kFlag));
  EXPECT_EQ(h.files.find(kFlag)->mtime, kFlagMtime);
  EXPECT_FALSE(h.state.switch_started);
  EXPECT_FALSE(h.state.manager_stopped);
  EXPECT_TRUE(h.state.archived_flag_path.empty());
  ASSERT_FALSE(h.saves.empty());
  EXPECT_FALSE(h.saves.back().switch_started) << "the undo is persisted";
  EXPECT_TRUE(h.audit.has(AuditKind::Sql, "127.0.0.12: SET GLOBAL read_only = 0")) << h.audit.dump();
}

TEST(SwitchBackStep, SwitchKilledAtTheToolTimeoutSaysSoAndIsUndone) {
  // On the lab: MASTER_POS_WAIT on the target never returns (a session holds a table lock there) after
  // MHA set read_only=1 on the current master; the daemon kills the switch at its tool timeout.
  StepHarness h;
  validated(h);
  h.config.timeouts.tool = std::chrono::seconds(15);
  expect_preparation(h);
  h.commands.expect(kSwitch, timed_out("Tue Nov 24 07:34:50 2026 - [info] Executing FLUSH TABLES WITH READ "
                                       "LOCK..\nTue Nov 24 07:34:50 2026 - [info]  Waiting to execute all "
                                       "relay logs on 127.0.0.11(127.0.0.11:3306)..\n\n"));
  expect_role(h, kOld, true, kNew);
  expect_role(h, kNew, true, "");
  h.sql.expect(kNew, "SET GLOBAL read_only = 0", no_rows());
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(
      o.sentence.find("the switch back to 127.0.0.11 failed (masterha_master_switch timed out after 15s "
                      "and was killed; its last line: Tue Nov 24 07:34:50 2026 - [info]  Waiting to "
                      "execute all relay logs on 127.0.0.11(127.0.0.11:3306)..)"),
      std::string::npos)
      << o.sentence;
  EXPECT_EQ(o.sentence.find("exited -1"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("127.0.0.12 was made writable again (read_only=0)"), std::string::npos)
      << o.sentence;
  EXPECT_TRUE(h.files.exists(kFlag));
}

TEST(SwitchBackStep, SwitchRefusedBecauseAManagerRunsLeavesTheMasterAlone) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.fail-manager-running.txt"));
  expect_role(h, kOld, true, kNew);
  expect_role(h, kNew, false, "");
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("127.0.0.12 stays the writable master"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("advisory lock"), std::string::npos) << "names MHA's reason: " << o.sentence;
  EXPECT_TRUE(h.mutating_sql().empty());
  EXPECT_TRUE(h.files.exists(kFlag));
}

// ---------------------------------------------------------------- long updates on the current master
// masterha_master_switch refuses to start while a statement other than SELECT/SHOW has run for 2 s or
// more on the current master (captured: fail-long-update). The step looks first, with a margin.

TEST(SwitchBackStep, AnUpdateRunningLongOnTheCurrentMasterHoldsTheSwitchWithoutTouchingAnything) {
  StepHarness h;
  validated(h);
  h.sql.expect_prefix(kNew, kProcesslistPrefix,
                      processlist({{"42", "app", "Query", "3", "UPDATE t SET pw = 'hunter2' WHERE id = 1"},
                                   {"43", "report", "Query", "9", "  select sleep(60)"},
                                   {"44", "ops", "Query", "4", "SHOW ENGINE INNODB STATUS"},
                                   {"45", "batch", "Query", "2", "\n  insert into t values (1)"}}));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Wait) << describe(o);
  EXPECT_NE(o.sentence.find("holding the switch: 2 updates have run for 1 s or more on 127.0.0.12 "
                            "(session 42 of app: UPDATE for 3 s; session 45 of batch: INSERT for 2 s)"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("waiting up to 5m00s more"), std::string::npos) << o.sentence;
  EXPECT_EQ(o.sentence.find("hunter2"), std::string::npos) << "a statement's text stays out of the log";
  EXPECT_TRUE(h.commands.issued().empty()) << "the manager is not even asked about before the hold ends";
  EXPECT_TRUE(h.mutating_sql().empty());
  EXPECT_TRUE(h.files.exists(kFlag));
  ASSERT_TRUE(h.state.switch_held_since.has_value());
  EXPECT_EQ(*h.state.switch_held_since, kT0);
  ASSERT_FALSE(h.saves.empty());
  EXPECT_EQ(h.saves.back().switch_held_since, kT0) << "the hold's start survives a restart";
}

TEST(SwitchBackStep, OnlySelectsAndShowsRunningLongDoNotHoldTheSwitch) {
  StepHarness h;
  validated(h);
  h.sql.expect_prefix(kNew, kProcesslistPrefix,
                      processlist({{"43", "report", "Query", "9", "SELECT * FROM big"},
                                   {"44", "ops", "Query", "4", "show processlist"}}));
  expect_switch_with_the_manager_down(h);
  auto o = h.run(switch_back);
  h.script.verify();
  EXPECT_EQ(o.to, ClusterState::SwitchedBack) << describe(o);
}

TEST(SwitchBackStep, AHoldLongerThanTheSwitchBudgetBlocksWithoutTouchingAnything) {
  StepHarness h;
  validated(h);
  h.config.timeouts.switch_budget = std::chrono::seconds(300);
  h.state.switch_held_since = kT0 - std::chrono::seconds(301);
  h.sql.expect_prefix(kNew, kProcesslistPrefix,
                      processlist({{"42", "app", "Query", "290", "UPDATE t SET x=1"}}));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("not switching: the switch was held for 5m01s and 1 update has run"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.suggestion.find("let the long statements on 127.0.0.12 finish or stop them"), std::string::npos)
      << o.suggestion;
  EXPECT_NE(o.suggestion.find("mha-failbackctl ack app1"), std::string::npos) << o.suggestion;
  EXPECT_TRUE(h.commands.issued().empty());
  EXPECT_TRUE(h.files.exists(kFlag));
  EXPECT_FALSE(h.state.switch_held_since.has_value());
}

TEST(SwitchBackStep, ProcesslistThatCannotBeReadLeavesTheCheckToMha) {
  StepHarness h;
  validated(h);
  h.sql.expect_prefix(kNew, kProcesslistPrefix, Error{ErrorKind::Failed, "SELECT command denied", 1142});
  expect_switch_with_the_manager_down(h);
  auto o = h.run(switch_back);
  h.script.verify();
  EXPECT_EQ(o.to, ClusterState::SwitchedBack) << describe(o);
}

TEST(SwitchBackStep, MhaRefusingForALongUpdateChangedNothingSoTheSwitchIsTriedAgain) {
  // The update began after the step looked (or reached MHA's 2 s during the tool's own checks).
  StepHarness h;
  validated(h);
  expect_preparation(h);
  auto refused = captured_output("masterha_master_switch.alive.fail-long-update.txt");
  ASSERT_EQ(refused.exit_code, 1);
  h.commands.expect(kSwitch, refused);
  expect_role(h, kOld, true, kNew);  // the target still a read-only replica of the current master
  expect_role(h, kNew, false, "");   // the current master still writable
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("masterha_master_switch refused to start (We should not start online master "
                            "switch when one of connections are running long updates"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("127.0.0.12 stays the writable master; the failover flag was put back; the MHA "
                            "manager was started again"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("the switch is tried again once no update has run on 127.0.0.12 for 1 s"),
            std::string::npos)
      << o.sentence;
  EXPECT_TRUE(h.mutating_sql().empty()) << "nothing to undo on the servers";
  EXPECT_TRUE(h.files.exists(kFlag));
  EXPECT_FALSE(h.state.manager_stopped);
  EXPECT_FALSE(h.state.switch_started);
  EXPECT_TRUE(h.state.switch_held_since.has_value());
}

TEST(SwitchBackStep, MhaRefusingForALongUpdateAfterTheBudgetBlocks) {
  StepHarness h;
  validated(h);
  h.state.switch_held_since = kT0 - std::chrono::seconds(400);
  expect_preparation(h);
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.fail-long-update.txt"));
  expect_role(h, kOld, true, kNew);
  expect_role(h, kNew, false, "");
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the switch was held for 6m40s"), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("approve the failback again"), std::string::npos) << o.suggestion;
  EXPECT_TRUE(h.files.exists(kFlag));
}

TEST(SwitchBackStep, MhaRefusingForALongUpdateWithTheRolesChangedIsNotRetried) {
  // The refusal text alone is not enough: if the current master was left read-only the switch is
  // not "nothing changed", and the usual undo and block apply.
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.fail-long-update.txt"));
  expect_role(h, kOld, true, kNew);
  expect_role(h, kNew, true, "");
  h.sql.expect(kNew, "SET GLOBAL read_only = 0", no_rows());
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("127.0.0.12 was made writable again (read_only=0)"), std::string::npos)
      << o.sentence;
}

TEST(SwitchBackStep, SwitchThatCannotStartLeavesTheMasterAlone) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, Error::failed("cannot start masterha_master_switch: No such file or directory"));
  expect_role(h, kOld, true, kNew);
  expect_role(h, kNew, false, "");
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("masterha_master_switch could not run"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.mutating_sql().empty());
}

TEST(SwitchBackStep, FailedSwitchLeavingTheTargetWritableReFencesIt) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, exited(1, "Got ERROR:  at /usr/bin/masterha_master_switch line 57.\n"));
  expect_role(h, kOld, false, kNew);  // writable, still a replica
  expect_role(h, kNew, true, "");     // read-only
  h.sql.expect(kNew, "SET GLOBAL read_only = 0", no_rows());
  h.sql.expect(kOld, "SET GLOBAL read_only = 1", no_rows());
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
}

TEST(SwitchBackStep, PartialSwitchWithTheTargetMasterGoesForward) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, exited(10, sample("derived-master_switch.rc10.partial.txt")));
  expect_role(h, kOld, false, "");
  expect_role(h, kNew, true, "");  // not (yet) replicating from the new master
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::SwitchedBack);
  EXPECT_NE(o.sentence.find("127.0.0.12 does not replicate from it yet"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.mutating_sql().empty()) << "forward only: nothing is undone once the target is master";
}

TEST(SwitchBackStep, RolesThatCannotBeReadAfterTheSwitchBlockWithoutAnyUndo) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, timed_out());
  expect_role_down(h, kOld);
  expect_role(h, kNew, true, "");
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the roles cannot be verified"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("127.0.0.11 does not answer SQL"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.mutating_sql().empty()) << "an undo without both roles could make a second master";
  EXPECT_FALSE(h.state.switch_started);
  EXPECT_EQ(h.clock.slept(), std::chrono::milliseconds(800)) << "five attempts, 200 ms apart";
}

TEST(SwitchBackStep, RolesThatCannotBeReadTellTheOperatorMhaIsStoppedAndWhereTheFlagIs) {
  // The block leaves the manager stopped and the flag archived (on purpose: nothing is undone blindly).
  // The operator must learn that MHA no longer watches the cluster and where the flag went;
  // acknowledging forgets manager_stopped and archived_flag_path, so nothing else will tell.
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, timed_out());
  expect_role_down(h, kOld);
  expect_role(h, kNew, true, "");
  auto o = h.run(switch_back);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  const std::string all = o.sentence + " " + o.suggestion;
  EXPECT_NE(all.find("manager"), std::string::npos) << "does not say the MHA manager is stopped: " << all;
  EXPECT_NE(all.find(kArchived), std::string::npos) << "does not say where the flag is: " << all;
}

TEST(SwitchBackStep, NoWritableMasterAfterAFailedSwitchIsNeverReportedAsAWritableMaster) {
  // MHA 0.58's MasterRotate ignores the result of disable_read_only() on the new master ("Setting
  // read_only=0 on ... failed!" is a warning), then makes the orig master its replica and reports
  // "completed successfully" with exit 0. So 127.0.0.12 replicates from 127.0.0.11, which is still
  // read-only: nobody takes writes. The step must not say "stays the writable master", and must not
  // leave the cluster without a writable master.
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.ok.txt"));
  expect_role(h, kOld, true, "");
  expect_role(h, kNew, true, kOld);
  h.script.answer_with([](const Call& c) -> std::optional<Reply> {
    Reply r;
    if (c.kind == CallKind::Sql) r.rows = Result<ResultSet>(no_rows());
    if (c.kind == CallKind::Command || c.kind == CallKind::Remote)
      r.output = Result<CommandOutput>(exited(0));
    return r;
  });
  auto o = h.run(switch_back);
  EXPECT_TRUE(retry_or_block(o)) << describe(o);
  EXPECT_EQ(o.sentence.find("stays the writable master"), std::string::npos) << o.sentence;
  bool made_writable = false;
  for (const auto& s : h.sql.issued())
    if (s.text == "SET GLOBAL read_only = 0") made_writable = true;
  EXPECT_TRUE(made_writable) << "left without a writable master: " << o.sentence;
}

// MHA reported success but could not lift read_only on the target: the target holds the role (the
// current master replicates from it), so the step goes forward and lifts it.
TEST(SwitchBackStep, PromotedTargetLeftReadOnlyIsLiftedForward) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.ok.txt"));
  expect_role(h, kOld, true, "");
  expect_role(h, kNew, true, kOld);
  h.sql.expect(kOld, "SET GLOBAL read_only = 0", no_rows());
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("127.0.0.11 was promoted but left read-only, so read_only=0 was set on it"),
            std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("the MHA manager is stopped"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("the failover flag is archived at " + kArchived), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.suggestion.find("verify that 127.0.0.11 is the only writable master"), std::string::npos);
  EXPECT_EQ(h.mutating_sql(), std::vector<std::string>{"SET GLOBAL read_only = 0"});
  EXPECT_FALSE(h.files.exists(kFlag)) << "forward: the flag stays archived";
  EXPECT_FALSE(h.state.switch_started);
}

TEST(SwitchBackStep, PromotedTargetThatCannotBeLiftedHandsTheRoleBack) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.ok.txt"));
  expect_role(h, kOld, true, "");
  expect_role(h, kNew, true, kOld);
  for (int i = 0; i < 5; ++i)
    h.sql.expect(kOld, "SET GLOBAL read_only = 0",
                 Error{ErrorKind::Failed,
                       "Access denied; you need (at least one of) the SUPER, READ_ONLY ADMIN "
                       "privilege(s) for this operation",
                       1227});
  h.sql.expect(kNew, "STOP SLAVE", no_rows())
      .expect(kNew, "RESET SLAVE ALL", no_rows())
      .expect(kNew, "SET GLOBAL read_only = 0", no_rows());
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("could NOT be made writable: Access denied"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("127.0.0.12 was made writable again (read_only=0)"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("the failover flag was put back"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.files.exists(kFlag));
  EXPECT_FALSE(h.state.manager_stopped);
}

TEST(SwitchBackStep, CurrentMasterRepointedToATargetThatStayedAReplicaGetsTheRoleBack) {
  // MHA pointed the current master at the target, but the target was never promoted (still a replica):
  // a replication loop with nobody writable. The current master keeps the role.
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, exited(1, "Got ERROR:  at /usr/bin/masterha_master_switch line 57.\n"));
  expect_role(h, kOld, true, kNew);
  expect_role(h, kNew, true, kOld);
  h.sql.expect(kNew, "STOP SLAVE", no_rows())
      .expect(kNew, "RESET SLAVE ALL", no_rows())
      .expect(kNew, "SET GLOBAL read_only = 0", no_rows());
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("127.0.0.12's replication from 127.0.0.11 was removed"), std::string::npos)
      << o.sentence;
  EXPECT_NE(o.sentence.find("127.0.0.12 was made writable again"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.mutating_sql(kOld).empty()) << "the target stays a fenced replica";
}

TEST(SwitchBackStep, TargetPromotedWhileTheCurrentMasterStayedWritableFencesIt) {
  StepHarness h;
  validated(h);
  expect_preparation(h);
  h.commands.expect(kSwitch, exited(1, "Got ERROR:  at /usr/bin/masterha_master_switch line 57.\n"));
  expect_role(h, kOld, false, "");
  expect_role(h, kNew, false, "");
  h.sql.expect(kNew, "SET GLOBAL read_only = 1", no_rows());
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::SwitchedBack);
  EXPECT_NE(o.sentence.find("127.0.0.12 was still writable and was fenced (read_only=1)"), std::string::npos)
      << o.sentence;
  EXPECT_EQ(h.mutating_sql(), std::vector<std::string>{"SET GLOBAL read_only = 1"});
}

// ---------------------------------------------------------------- resume after a restart

void resuming(StepHarness& h) {
  validated(h);
  h.files.remove(kFlag);
  h.files.put(kArchived, "", kFlagMtime);
  h.state.archived_flag_path = kArchived;
  h.state.manager_stopped = true;
  h.state.switch_started = true;
}

TEST(SwitchBackStep, ResumeFindsTheSwitchDoneAndNeverRunsItAgain) {
  for (bool current_answers : {true, false}) {
    SCOPED_TRACE(current_answers ? "current master is a read-only replica" : "current master down");
    StepHarness h;
    resuming(h);
    expect_role(h, kOld, false, "");
    if (current_answers)
      expect_role(h, kNew, true, kOld);
    else
      expect_role_down(h, kNew);
    auto o = h.run(switch_back);
    h.script.verify();
    ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
    EXPECT_EQ(o.to, ClusterState::SwitchedBack);
    EXPECT_NE(o.sentence.find("had completed before the restart"), std::string::npos) << o.sentence;
    EXPECT_FALSE(ran_switch(h));
    EXPECT_TRUE(h.mutating_sql().empty());
    EXPECT_FALSE(h.state.switch_started);
  }
}

TEST(SwitchBackStep, ResumeFindsTheSwitchNotTakenAndUndoesThePreparation) {
  StepHarness h;
  resuming(h);
  expect_role(h, kOld, true, kNew);
  expect_role(h, kNew, false, "");
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("did not take effect; 127.0.0.12 is still the writable master"),
            std::string::npos)
      << o.sentence;
  EXPECT_FALSE(ran_switch(h));
  EXPECT_TRUE(h.mutating_sql().empty());
  EXPECT_TRUE(h.files.exists(kFlag));
  EXPECT_FALSE(h.state.manager_stopped);
  EXPECT_FALSE(h.state.switch_started);
}

TEST(SwitchBackStep, ResumeWithNoWritableMasterRestoresTheOneWeHad) {
  StepHarness h;
  resuming(h);
  expect_role(h, kOld, true, kNew);
  expect_role(h, kNew, true, "");
  h.sql.expect(kNew, "SET GLOBAL read_only = 0", no_rows());
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("interrupted with no writable master; 127.0.0.12 was made writable again"),
            std::string::npos)
      << o.sentence;
  EXPECT_FALSE(ran_switch(h));
  EXPECT_EQ(h.mutating_sql(), std::vector<std::string>{"SET GLOBAL read_only = 0"});
  EXPECT_TRUE(h.files.exists(kFlag));
}

TEST(SwitchBackStep, ResumeWithNeitherServerAnsweringBlocksWithoutActing) {
  StepHarness h;
  resuming(h);
  expect_role_down(h, kOld);
  expect_role_down(h, kNew);
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("the roles cannot be read"), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("make exactly one writable master"), std::string::npos);
  EXPECT_FALSE(ran_switch(h));
  EXPECT_TRUE(h.mutating_sql().empty());
  EXPECT_TRUE(h.state.switch_started) << "still unknown: a later look must inspect again, never switch";
}

TEST(SwitchBackStep, ResumeWithTwoWritableMastersBlocksAndNeverSwitches) {
  StepHarness h;
  resuming(h);
  expect_role(h, kOld, false, "");
  expect_role(h, kNew, false, "");
  h.commands.expect(kStartManager, exited(0));
  auto o = h.run(switch_back);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("two writable masters"), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("fence the one that must not take writes"), std::string::npos);
  EXPECT_FALSE(ran_switch(h));
}

TEST(SwitchBackStep, ResumeFindsThePromotedTargetReadOnlyAndLiftsIt) {
  StepHarness h;
  resuming(h);
  expect_role(h, kOld, true, "");
  expect_role(h, kNew, true, kOld);
  h.sql.expect(kOld, "SET GLOBAL read_only = 0", no_rows());
  auto o = h.run(switch_back);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::SwitchedBack);
  EXPECT_NE(o.sentence.find("had taken effect before the restart"), std::string::npos) << o.sentence;
  EXPECT_FALSE(ran_switch(h));
}

// ---------------------------------------------------------------- fault injection

TEST(SwitchBackStep, ScriptedInjectionNeverSwitchesBackOnAFailure) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    validated(h);
    expect_preparation(h);
    h.commands.expect(kSwitch, captured_output("masterha_master_switch.alive.ok.txt"));
    expect_role(h, kOld, false, "");
    expect_role(h, kNew, true, kOld);
    h.run(switch_back);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault& f) {
    ASSERT_TRUE(h.outcome);
    const StepOutcome& o = *h.outcome;
    // After the failure every later call fails too. Switched back only when the target was already
    // read back as the writable, unreplicated master before the failure (a failure while reading
    // the old master's role then only means "not yet replicating": forward only).
    const bool target_verified = f.index > index_of(h, CallKind::Sql, "SHOW SLAVE STATUS") &&
                                 f.call.target == kNew && !f.call.mutates();
    if (o.kind == StepOutcome::Kind::Transition && o.to == ClusterState::SwitchedBack) {
      EXPECT_TRUE(target_verified) << describe(o);
    } else {
      EXPECT_TRUE(retry_or_block(o) ||
                  (o.kind == StepOutcome::Kind::Transition && o.to == ClusterState::Validated))
          << describe(o);
    }
    int switches = 0;
    for (const auto& c : h.script.calls())
      if (c.kind == CallKind::Command && c.text.rfind("masterha_master_switch", 0) == 0) ++switches;
    EXPECT_LE(switches, 1);
    for (const auto& c : f.after)
      if (c.kind == CallKind::Sql) {
        EXPECT_NE(c.text, "SET GLOBAL read_only = 0") << "an undo without knowing the roles";
      }
  });
  EXPECT_GT(runs, 20u);
}

// The two servers and the MHA manager, answering every call.
struct ClusterModel {
  struct Server {
    bool up = true;
    bool read_only = false;
    std::string source;
  };
  std::map<std::string, Server> servers;
  bool manager_running = true;
  bool switch_fails_after_rejecting_writes = false;
  int switches = 0;

  ClusterModel() {
    servers[kOld] = {true, true, kNew};
    servers[kNew] = {true, false, ""};
  }

  std::optional<Reply> answer(const Call& c) {
    static const std::string ok = captured("masterha_master_switch.alive.ok.txt");
    static const std::string fail = captured("masterha_master_switch.alive.fail-already-master.txt");
    static const std::string locked = captured("masterha_master_switch.alive.fail-manager-running.txt");
    Reply r;
    if (c.kind == CallKind::Sql) {
      Server& s = servers.at(c.target);
      if (!s.up) {
        r.rows = Result<ResultSet>(Error{ErrorKind::Unreachable, "Can't connect", 2002});
      } else if (c.text.rfind(kFactsPrefix, 0) == 0) {
        r.rows = Result<ResultSet>(facts_rows(s.read_only, id_of(c.target)));
      } else if (c.text.rfind(kProcesslistPrefix, 0) == 0) {
        r.rows = Result<ResultSet>(no_rows());
      } else if (c.text == "SHOW SLAVE STATUS") {
        r.rows =
            Result<ResultSet>(s.source.empty() ? no_rows() : maria_slave_status({{"Master_Host", s.source}}));
      } else if (c.text == "SET GLOBAL read_only = 0" || c.text == "SET GLOBAL read_only = 1") {
        s.read_only = c.text.back() == '1';
        r.rows = Result<ResultSet>(no_rows());
      } else {
        return std::nullopt;
      }
      return r;
    }
    if (c.kind == CallKind::Command) {
      const auto& argv = c.spec.argv;
      if (argv == kStatus) {
        r.output = manager_running ? running() : not_running();
      } else if (argv == kStop) {
        manager_running = false;
        r.output = exited(0, "Stopped app1 successfully.\n");
      } else if (argv == kStartManager) {
        manager_running = true;
        r.output = exited(0);
      } else if (argv == kSwitch) {
        ++switches;
        if (manager_running) {
          r.output = exited(1, locked);
        } else if (switch_fails_after_rejecting_writes) {
          servers[kNew].read_only = true;
          r.output = exited(1, fail);
        } else {
          servers[kNew] = {true, true, kOld};
          servers[kOld] = {true, false, ""};
          r.output = exited(0, ok);
        }
      } else {
        return std::nullopt;
      }
      return r;
    }
    if (c.kind == CallKind::Remote) {
      r.output = exited(0);
      return r;
    }
    return std::nullopt;
  }

  int writable_masters() const {
    int n = 0;
    for (const auto& [host, s] : servers)
      if (s.up && !s.read_only && s.source.empty()) ++n;
    return n;
  }
  int writable() const {
    int n = 0;
    for (const auto& [host, s] : servers)
      if (s.up && !s.read_only) ++n;
    return n;
  }
};

struct ModelHarness : StepHarness {
  ClusterModel model;
  ModelHarness() {
    validated(*this);
    script.answer_with([this](const Call& c) { return model.answer(c); });
  }
};

void expect_cluster_sane(const ModelHarness& h, const std::string& how) {
  ASSERT_TRUE(h.outcome);
  const StepOutcome& o = *h.outcome;
  EXPECT_EQ(h.model.writable_masters(), 1) << "no writable master (or two) after: " << how << "\n"
                                           << describe(o);
  EXPECT_LE(h.model.writable(), 1) << "split brain after: " << how;
  EXPECT_LE(h.model.switches, 1) << "the switch ran twice";
  EXPECT_FALSE(h.state.switch_started) << describe(o);
  if (o.kind == StepOutcome::Kind::Transition && o.to == ClusterState::SwitchedBack) {
    EXPECT_FALSE(h.model.servers.at(kOld).read_only) << "switched back, but the target is not writable";
    EXPECT_TRUE(h.model.servers.at(kOld).source.empty());
  } else {
    EXPECT_TRUE(retry_or_block(o) || o.to == ClusterState::Validated) << describe(o);
    EXPECT_FALSE(h.model.servers.at(kOld).source.empty() && !h.model.servers.at(kOld).read_only)
        << "not switched back, yet the target took the master role: " << describe(o);
    // The undo of the preparation is best effort, but never silent.
    EXPECT_TRUE(h.files.exists(kFlag) ||
                o.sentence.find("the failover flag could not be put back") != std::string::npos)
        << "the flag was not put back: " << describe(o);
    EXPECT_TRUE(h.model.manager_running ||
                o.sentence.find("the MHA manager could not be started again") != std::string::npos)
        << "the manager we stopped was not restarted: " << describe(o);
  }
}

TEST(SwitchBackStep, ResumeAfterMhaLeftTheNewMasterReadOnlyEndsWithAWritableMaster) {
  // The restart came after a switch in which MHA could not set read_only=0 on 127.0.0.11 but made
  // 127.0.0.12 its replica anyway (see above). Making 127.0.0.12 writable while it still replicates
  // from 127.0.0.11 leaves no server that acts as master.
  ModelHarness h;
  resuming(h);
  h.model.manager_running = false;
  h.model.servers[kOld] = {true, true, ""};
  h.model.servers[kNew] = {true, true, kOld};
  auto o = h.run(switch_back);
  EXPECT_EQ(h.model.writable_masters(), 1) << describe(o);
  EXPECT_EQ(h.model.switches, 0);
}

TEST(SwitchBackStep, ModelHappyPathSwitchesBack) {
  ModelHarness h;
  auto o = h.run(switch_back);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(h.model.writable_masters(), 1);
  EXPECT_FALSE(h.model.servers.at(kOld).read_only);
  EXPECT_EQ(h.model.servers.at(kNew).source, kOld);
}

TEST(SwitchBackStep, ModelInjectionAlwaysEndsWithExactlyOneWritableMaster) {
  FaultInjector<ModelHarness> inj([](ModelHarness& h) { h.run(switch_back); });
  std::size_t runs =
      inj.run([](ModelHarness& h, const InjectedFault& f) { expect_cluster_sane(h, f.describe()); });
  EXPECT_GT(runs, 20u);
}

TEST(SwitchBackStep, ModelSwitchFailingAfterRejectingWritesIsUndoneWhateverElseFails) {
  // MHA sets read_only=1 on the current master and then fails; on top of that one more call fails.
  FaultInjector<ModelHarness> inj([](ModelHarness& h) {
    h.model.switch_fails_after_rejecting_writes = true;
    h.run(switch_back);
  });
  std::size_t runs =
      inj.run([](ModelHarness& h, const InjectedFault& f) { expect_cluster_sane(h, f.describe()); });
  EXPECT_GT(runs, 20u);
}

}  // namespace
}  // namespace mhafb::test

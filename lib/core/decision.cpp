// decide(): the whole policy of the failback, state by state. Every branch returns one sentence that
// says what is done or awaited and why; "when in doubt, stop in a clear, explained state".
#include "core/decision.hpp"

#include <cstdio>

namespace mhafb {

namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

Decision wait(std::string sentence, std::string server = {}) {
  Decision d;
  d.sentence = std::move(sentence);
  d.server = std::move(server);
  return d;
}

Decision step(StepId id, std::string sentence, std::string server = {}) {
  Decision d;
  d.step = id;
  d.sentence = std::move(sentence);
  d.server = std::move(server);
  return d;
}

Decision go(ClusterState to, std::string sentence, std::string server = {}) {
  Decision d;
  d.transition_to = to;
  d.sentence = std::move(sentence);
  d.server = std::move(server);
  return d;
}

Decision block(std::string reason, std::string suggestion, std::string server = {}) {
  Decision d;
  d.transition_to = ClusterState::Blocked;
  d.sentence = std::move(reason);
  d.suggested_action = std::move(suggestion);
  d.server = std::move(server);
  return d;
}

seconds since(TimePoint t, TimePoint now) {
  return duration_cast<seconds>(now - t);
}

std::string ack_hint(const ClusterConfig& c) {
  return "then run `mha-failbackctl ack " + c.name + "`";
}

struct Roles {
  const MhaServer* old_cfg = nullptr;
  const MhaServer* new_cfg = nullptr;
  const ServerSnapshot* old_snap = nullptr;
  const ServerSnapshot* new_snap = nullptr;
};

Roles roles_of(const ClusterSnapshot& snap, const ClusterConfig& cfg, const FailoverFacts& f) {
  Roles r;
  r.old_cfg = cfg.mha.find_server(f.old_master);
  r.new_cfg = cfg.mha.find_server(f.new_master);
  r.old_snap = snap.find(f.old_master);
  r.new_snap = snap.find(f.new_master);
  return r;
}

std::string describe_not_master(const ServerSnapshot& s) {
  if (s.read_only && s.is_replica()) return "it is read-only and replicates from " + s.replica->source_host;
  if (s.read_only) return "it is read-only";
  return "it replicates from " + s.replica->source_host;
}

// At the state file's precision: it keeps times in milliseconds while the flag's mtime has
// nanoseconds, so after a restart the handled flag would otherwise look newer than itself.
bool flag_is_newer(const ClusterSnapshot& snap, TimePoint than) {
  using std::chrono::milliseconds;
  return snap.mha.failover_complete_mtime &&
         std::chrono::floor<milliseconds>(*snap.mha.failover_complete_mtime) >
             std::chrono::floor<milliseconds>(than);
}

// The flag of the failover being handled is gone though mha-failback did not archive it: someone
// else acts on the cluster (the runbook's `rm -f`, a manager restart being prepared, so MHA may fail
// over again), and every fact gathered so far may be stale. A failover taken up without a flag (an
// operator's `rejoin`) has none to lose.
bool handled_flag_removed(const ClusterSnapshot& snap, const FailoverFacts& f, const PersistedState& st) {
  // Archived by our own switch-back (recorded before the move): not someone else's action.
  if (!st.archived_flag_path.empty()) return false;
  return f.flag_mtime != TimePoint{} && !snap.mha.failover_complete_mtime;
}

Decision block_flag_removed(const ClusterConfig& cfg, const ClusterState state) {
  return block("the failover flag " + cfg.mha.failover_complete_flag() +
                   " was removed outside mha-failback while failing back (in " +
                   std::string(to_string(state)) +
                   "): someone else acts on the cluster and the facts gathered so far may be stale; "
                   "nothing more is done, no switch",
               "find out who removed it and what they did (a restarted MHA manager may fail over again), " +
                   ack_hint(cfg) + " to go on without it, every check re-run");
}

// The roles are already back: the old master writable and unreplicated, the new master its replica.
bool switched_back_by_hand(const Roles& r) {
  return r.old_snap->acts_as_master() && r.new_snap->sql_reachable &&
         replicates_from(*r.new_snap, *r.old_cfg);
}

Decision go_restore_after_hand_switch(const ClusterConfig&, const ClusterSnapshot& snap, const Roles& r) {
  return go(ClusterState::SwitchedBack,
            "not switching: the master role is already back on " + r.old_cfg->hostname + " and " +
                r.new_cfg->hostname + " replicates from it (someone switched back by hand); restoring MHA" +
                (snap.mha.failover_complete_mtime ? " (the leftover failover flag is archived first)" : ""),
            r.old_cfg->hostname);
}

// Replication of the rejoined old master, in the states after the rejoin.
// A refused and a hanging SSH look alike through SQL alone; the last SSH probe tells them apart.
std::string ssh_probe_error(const ServerSnapshot& s) {
  if (s.host_reachable.value_or(true) || s.host_error.empty()) return {};
  return "; SSH: " + s.host_error;
}

Decision judge_rejoined_replication(const ClusterConfig& cfg, const PersistedState& st, TimePoint now,
                                    const Roles& r) {
  const bool validated = st.state == ClusterState::Validated;
  const std::string& old = r.old_cfg->hostname;
  const std::string& neu = r.new_cfg->hostname;

  if (!r.new_snap->sql_reachable) {
    if (st.new_master_missing_since && since(*st.new_master_missing_since, now) > cfg.timeouts.catch_up)
      return block("new master " + neu + " has not answered SQL for " +
                       human_duration(since(*st.new_master_missing_since, now)) + " (" +
                       r.new_snap->sql_error + ")",
                   "find out why " + neu + " is down; if MHA must fail over again, start its manager; " +
                       ack_hint(cfg),
                   neu);
    if (validated)
      return go(
          ClusterState::SlaveRejoined,
          "new master " + neu + " stopped answering SQL: never switch now, validate again once it is back",
          neu);
    return wait("waiting: new master " + neu + " does not answer SQL (" + r.new_snap->sql_error +
                    "); nothing is done while it is down",
                neu);
  }
  if (!r.new_snap->acts_as_master()) {
    // A switch by hand passes through this (MHA makes the current master read-only, then promotes the
    // other; a snapshot may even see both as replicas): nothing is done while it may be one, for as
    // long as a masterha_master_switch run may take; what stays this way is blocked.
    const seconds gone = st.new_master_missing_since ? since(*st.new_master_missing_since, now) : seconds{0};
    if (gone <= cfg.timeouts.tool)
      return wait("waiting: new master " + neu + " does not act as master (" +
                      describe_not_master(*r.new_snap) +
                      "), maybe a switch in progress; nothing is done, blocked if it lasts over " +
                      human_duration(cfg.timeouts.tool),
                  neu);
    return block("new master " + neu + " no longer acts as master for " + human_duration(gone) + ": " +
                     describe_not_master(*r.new_snap),
                 "find out who changed " + neu + "; make it the only writable master again, " + ack_hint(cfg),
                 neu);
  }
  if (!r.old_snap->sql_reachable) {
    if (validated)
      return go(ClusterState::SlaveRejoined,
                "rejoined old master " + old + " stopped answering SQL: validate again once it is back", old);
    return wait(
        "waiting: rejoined old master " + old + " does not answer SQL (" + r.old_snap->sql_error + ")", old);
  }
  if (!r.old_snap->read_only)
    return step(StepId::Fence, "re-fence " + old + ": read_only is off on the rejoined old master", old);
  if (!replicates_from(*r.old_snap, *r.new_cfg))
    return block("rejoined old master " + old + " no longer replicates from " + neu +
                     (r.old_snap->is_replica() ? " (its source is " + r.old_snap->replica->source_host + ")"
                                               : " (replication is not configured on it)"),
                 "find out who changed replication on " + old + "; " + ack_hint(cfg) +
                     " to re-run the divergence gate and the rejoin",
                 old);

  const ReplicaStatus& rep = *r.old_snap->replica;
  if (rep.last_sql_errno != 0 && !rep.sql_running) {
    std::string err = "replication SQL error on " + old + ": error " + std::to_string(rep.last_sql_errno) +
                      ": " + rep.last_sql_error;
    if (cfg.sql_error_policy.action == SqlErrorAction::Skip &&
        static_cast<int>(st.skipped_events.size()) < cfg.sql_error_policy.max_skips)
      return step(StepId::SkipSqlError,
                  err + "; skipping the event under the opt-in policy (" +
                      std::to_string(st.skipped_events.size() + 1) + " of at most " +
                      std::to_string(cfg.sql_error_policy.max_skips) + ")",
                  old);
    std::string suggestion =
        cfg.sql_error_policy.action == SqlErrorAction::Skip
            ? "the skip budget (" + std::to_string(cfg.sql_error_policy.max_skips) +
                  ") is used up; repair the data on " + old + ", START SLAVE on it, " + ack_hint(cfg)
            : "repair the data on " + old + " so the event applies, START SLAVE on it, " + ack_hint(cfg) +
                  " (skipping events loses whole transactions; it is an explicit opt-in: sql_error_policy)";
    return block(err, suggestion, old);
  }
  if (!rep.io_running && !rep.io_connecting && rep.last_io_errno != 0)
    return block(
        "replication IO error on " + old + ": error " + std::to_string(rep.last_io_errno) + ": " +
            rep.last_io_error,
        "fix what the error names (error 1236 means the source lacks what the replica asks for: diverged "
        "or purged binlogs), " +
            ack_hint(cfg),
        old);
  if (!rep.sql_running || (!rep.io_running && !rep.io_connecting))
    return block(
        "replication on " + old + " is stopped without an error (IO " +
            std::string(rep.io_running ? "running" : "stopped") + ", SQL " +
            (rep.sql_running ? "running" : "stopped") + "): someone ran STOP SLAVE",
        "start replication on " + old + " (START SLAVE) or find out why it was stopped, " + ack_hint(cfg),
        old);

  const bool lag_ok =
      rep.io_running && rep.seconds_behind && *rep.seconds_behind <= cfg.validation.max_lag_seconds;
  if (!lag_ok) {
    std::string lag = rep.seconds_behind ? std::to_string(*rep.seconds_behind) + "s behind" : "lag unknown";
    if (!rep.io_running) {
      lag = "IO thread connecting to " + neu;
      // A connect that keeps failing (wrong replication password, network) says why here, so the
      // wait and the eventual block name the cause rather than only the lag.
      if (rep.last_io_errno != 0)
        lag += ", failing with error " + std::to_string(rep.last_io_errno) + ": " + rep.last_io_error;
    }
    if (validated)
      return go(ClusterState::SlaveRejoined,
                "replication on " + old + " left the lag bound (" + lag + ", bound " +
                    std::to_string(cfg.validation.max_lag_seconds) + "s): validate again",
                old);
    if (st.rejoined_at && since(*st.rejoined_at, now) > cfg.timeouts.catch_up)
      return block(old + " has not caught up with " + neu + " within " +
                       human_duration(cfg.timeouts.catch_up) + " of the rejoin (" + lag + ")",
                   "find out why replication is slow or stuck on " + old + ", " + ack_hint(cfg), old);
    return wait("catching up: " + old + " replicates from " + neu + ", " + lag + " (bound " +
                    std::to_string(cfg.validation.max_lag_seconds) + "s)",
                old);
  }

  if (!validated) {
    seconds healthy_for = st.healthy_since ? since(*st.healthy_since, now) : seconds{0};
    if (healthy_for < cfg.validation.stable_window)
      return wait("validating: " + old + " replicates from " + neu + " within the lag bound for " +
                      human_duration(healthy_for) + " of " + human_duration(cfg.validation.stable_window),
                  old);
    return step(
        StepId::Validate,
        "replication healthy for " + human_duration(healthy_for) + ": run MHA's check_ssh and check_repl",
        old);
  }

  const Mode mode = effective_mode(cfg, st);
  if (mode == Mode::Auto || st.switch_approved) {
    std::string why =
        st.switch_approved
            ? "approved" + (st.approval_reason.empty() ? std::string() : ": " + st.approval_reason)
            : "auto mode";
    return step(StepId::SwitchBack,
                "switch the master role back from " + neu + " to " + old + " (" + why + ")", old);
  }
  return wait("validated: " + old + " replicates from " + neu +
                  " within the lag bound; waiting for approval (`mha-failbackctl failback " + cfg.name + "`)",
              old);
}

Decision decide_healthy(const ClusterSnapshot& snap, const ClusterConfig& cfg, const PersistedState& st) {
  if (flag_is_newer(snap, st.handled_flag_mtime))
    return step(StepId::DetectFailover, "failover detected: " + cfg.mha.failover_complete_flag() +
                                            " appeared; reading the manager log");
  if (snap.mha.failover_error)
    return block("MHA's failover error flag " + cfg.mha.failover_error_flag() +
                     " is present: its last failover failed",
                 "read the manager log" +
                     (cfg.mha.manager_log.empty() ? "" : " (" + cfg.mha.manager_log + ")") +
                     ", repair the cluster, remove " + cfg.mha.failover_error_flag() + ", " + ack_hint(cfg));
  auto masters = snap.masters();
  if (masters.size() > 1)
    return block("two writable masters: " + masters[0]->hostname + " and " + masters[1]->hostname +
                     " both accept writes and replicate from nobody",
                 "fence the one that must not take writes (SET GLOBAL read_only=1), compare their data, " +
                     ack_hint(cfg));
  const MhaServer* pref = cfg.preferred();
  if (masters.size() == 1 && pref && masters[0]->hostname == pref->hostname)
    return wait("no action: preferred master " + pref->hostname + " is master", pref->hostname);
  if (masters.size() == 1)
    return wait("no action: " + masters[0]->hostname + " is master, not the preferred " +
                    (pref ? pref->hostname : std::string("master")) +
                    ", and no failover flag is present; `mha-failbackctl rejoin " + cfg.name +
                    "` starts a failback",
                masters[0]->hostname);
  return wait("no action: no server acts as master right now (none answers SQL writable and unreplicated)");
}

Decision decide_degraded(const ClusterSnapshot& snap, const ClusterConfig& cfg, const PersistedState& st,
                         TimePoint now) {
  if (!st.failover)
    return block("internal inconsistency: degraded without failover facts in the state file",
                 "check the cluster by hand, " + ack_hint(cfg));
  const FailoverFacts& f = *st.failover;
  Roles r = roles_of(snap, cfg, f);
  if (!r.old_cfg || !r.new_cfg || !r.old_snap || !r.new_snap)
    return block("the failover names old master '" + f.old_master + "' and new master '" + f.new_master +
                     "', which are not both servers of " + cfg.mha.conf_path,
                 "check the manager log and the MHA config, " + ack_hint(cfg));
  const std::string& old = r.old_cfg->hostname;
  const std::string& neu = r.new_cfg->hostname;
  if (flag_is_newer(snap, f.flag_mtime))
    return block(
        "a second failover happened while failing back (the flag changed after the one being handled)",
        "review the manager log and the current roles, " + ack_hint(cfg));
  if (f.outcome == "partial" || f.outcome == "failed")
    return block(
        "MHA reported a " + f.outcome + " failover to " + neu + "; its result cannot be trusted as is",
        "read the manager log" + (cfg.mha.manager_log.empty() ? "" : " (" + cfg.mha.manager_log + ")") +
            ", repair the replicas MHA could not recover, " + ack_hint(cfg),
        neu);

  if (switched_back_by_hand(r)) {
    if (!snap.mha.failover_complete_mtime)
      return go(ClusterState::Healthy,
                "the preferred master " + old + " is master again and " + neu +
                    " replicates from it: failback done outside mha-failback",
                old);
    return go_restore_after_hand_switch(cfg, snap, r);
  }
  if (handled_flag_removed(snap, f, st)) return block_flag_removed(cfg, st.state);

  if (!r.new_snap->sql_reachable) {
    if (st.new_master_missing_since && since(*st.new_master_missing_since, now) > cfg.timeouts.catch_up)
      return block("new master " + neu + " has not answered SQL for " +
                       human_duration(since(*st.new_master_missing_since, now)),
                   "find out why " + neu + " is down, " + ack_hint(cfg), neu);
    return wait("waiting: new master " + neu + " does not answer SQL (" + r.new_snap->sql_error +
                    "); nothing is done while it is down",
                neu);
  }
  if (!r.new_snap->acts_as_master())
    return block("new master " + neu + " does not act as master: " + describe_not_master(*r.new_snap),
                 "check what MHA did (manager log) and who changed " + neu + ", " + ack_hint(cfg), neu);

  if (!r.old_snap->sql_reachable) {
    if (st.database_start_requested_at &&
        since(*st.database_start_requested_at, now) > cfg.timeouts.database_start)
      return block("the database on " + old + " did not answer SQL within " +
                       human_duration(cfg.timeouts.database_start) + " of being started (" +
                       r.old_snap->sql_error + ")",
                   "look at the database error log on " + old + ", start it by hand, " + ack_hint(cfg), old);
    if (st.old_master_missing_since &&
        since(*st.old_master_missing_since, now) > cfg.timeouts.old_master_return)
      return block("old master " + old + " did not come back within " +
                       human_duration(cfg.timeouts.old_master_return) + " (" + r.old_snap->sql_error +
                       ssh_probe_error(*r.old_snap) + ")",
                   "bring " + old + "'s host and database back, " + ack_hint(cfg), old);
    return step(StepId::BringBackOldMaster,
                "waiting for old master " + old + ": SQL does not answer (" + r.old_snap->sql_error + ")",
                old);
  }
  if (!r.old_snap->read_only)
    return step(StepId::Fence, "fence old master " + old + ": it answers and is writable; read_only=1 first",
                old);
  if (!st.divergence_checked)
    return step(StepId::DivergenceGate,
                "check old master " + old + " for transactions " + neu + " never received", old);
  if (replicates_from(*r.old_snap, *r.new_cfg)) {
    const ReplicaStatus& rep = *r.old_snap->replica;
    // Stopped on an error: rejoining again would reset its position and replay or skip what it applied.
    if (rep.last_sql_errno != 0 && !rep.sql_running)
      return block("replication SQL error on " + old + ": error " + std::to_string(rep.last_sql_errno) +
                       ": " + rep.last_sql_error,
                   "repair the data on " + old + " so the event applies, START SLAVE on it, " + ack_hint(cfg),
                   old);
    if (rep.last_io_errno != 0 && !rep.io_running && !rep.io_connecting)
      return block("replication IO error on " + old + ": error " + std::to_string(rep.last_io_errno) + ": " +
                       rep.last_io_error,
                   "fix what the error names, " + ack_hint(cfg), old);
    if (rep.sql_running && (rep.io_running || rep.io_connecting))
      return go(ClusterState::SlaveRejoined, "old master " + old + " replicates from new master " + neu, old);
  }
  return step(StepId::Rejoin, "rejoin old master " + old + " as a replica of " + neu, old);
}

Decision decide_switched_back(const ClusterSnapshot& snap, const ClusterConfig& cfg, const PersistedState& st,
                              TimePoint now) {
  const MhaServer* pref = cfg.preferred();
  const ServerSnapshot* p = pref ? snap.find(pref->hostname) : nullptr;
  if (p && p->sql_reachable && !p->acts_as_master())
    return block("after the switch back, preferred master " + pref->hostname +
                     " does not act as master: " + describe_not_master(*p),
                 "check the roles by hand; make exactly one writable master, " + ack_hint(cfg),
                 pref->hostname);
  if (st.manager_restart_requested_at &&
      since(*st.manager_restart_requested_at, now) > cfg.timeouts.manager_restart)
    return block("the MHA manager did not report PING_OK within " +
                     human_duration(cfg.timeouts.manager_restart) + " of being started",
                 "read the manager log" +
                     (cfg.mha.manager_log.empty() ? "" : " (" + cfg.mha.manager_log + ")") +
                     ", start the manager by hand, " + ack_hint(cfg));
  return step(StepId::Restore, "restore MHA: manager running with PING_OK and replication OK");
}

}  // namespace

std::string human_duration(std::chrono::seconds d) {
  long s = d.count();
  if (s < 0) s = 0;
  char buf[32];
  if (s < 60) {
    (void)std::snprintf(buf, sizeof buf, "%lds", s);  // fits: at most 32 bytes for any long
  } else if (s < 3600) {
    (void)std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    (void)std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

bool step_mutates(StepId s) {
  switch (s) {
    case StepId::BringBackOldMaster:
    case StepId::Fence:
    case StepId::Rejoin:
    case StepId::SkipSqlError:
    case StepId::SwitchBack:
    case StepId::Restore:
    case StepId::Acknowledge:
      return true;
    case StepId::None:
    case StepId::DetectFailover:
    case StepId::DivergenceGate:
    case StepId::Validate:
      return false;
  }
  return true;
}

Mode effective_mode(const ClusterConfig& config, const PersistedState& state) {
  return state.mode_override.value_or(config.mode);
}

bool replicates_from(const ServerSnapshot& server, const MhaServer& source) {
  if (!server.replica) return false;
  const auto& r = *server.replica;
  bool host_matches = r.source_host == source.hostname || (!source.ip.empty() && r.source_host == source.ip);
  return host_matches && r.source_port == source.port;
}

void track(const ClusterSnapshot& snap, const ClusterConfig& cfg, PersistedState& st, TimePoint now) {
  // The operator has been told the flag is gone (or will see it in the blocked sentence): from the
  // acknowledgement on, the failover is handled without one, and any flag that appears is a new failover.
  if (st.failover && st.state == ClusterState::Blocked && handled_flag_removed(snap, *st.failover, st))
    st.failover->flag_mtime = TimePoint{};
  if (!st.failover || st.state == ClusterState::Healthy || st.state == ClusterState::Blocked) return;
  const ServerSnapshot* old_snap = snap.find(st.failover->old_master);
  const ServerSnapshot* new_snap = snap.find(st.failover->new_master);
  const MhaServer* new_cfg = cfg.mha.find_server(st.failover->new_master);

  if (st.state == ClusterState::Degraded) {
    if (old_snap && !old_snap->sql_reachable)
      st.old_master_missing_since = st.old_master_missing_since.value_or(now);
    else
      st.old_master_missing_since.reset();
  }
  // After the rejoin the new master is also missing while it does not act as master (read-only or
  // replicating): the grace for a switch in progress counts from there.
  const bool rejoined = st.state == ClusterState::SlaveRejoined || st.state == ClusterState::Validated;
  if (new_snap && (!new_snap->sql_reachable || (rejoined && !new_snap->acts_as_master())))
    st.new_master_missing_since = st.new_master_missing_since.value_or(now);
  else
    st.new_master_missing_since.reset();

  // The catch-up bound counts from the rejoin; a procedure that reaches slave-rejoined without running
  // the rejoin step (after an ack, replication was already configured) starts counting here, or a lag
  // that never converges would be waited on forever.
  if (st.state == ClusterState::SlaveRejoined && !st.rejoined_at) st.rejoined_at = now;
  if (st.state == ClusterState::SlaveRejoined || st.state == ClusterState::Validated) {
    bool healthy = old_snap && new_snap && new_cfg && old_snap->sql_reachable && new_snap->sql_reachable &&
                   replicates_from(*old_snap, *new_cfg) && old_snap->replica->io_running &&
                   old_snap->replica->sql_running && old_snap->replica->seconds_behind &&
                   *old_snap->replica->seconds_behind <= cfg.validation.max_lag_seconds;
    if (healthy)
      st.healthy_since = st.healthy_since.value_or(now);
    else
      st.healthy_since.reset();
  }
}

Decision decide(const ClusterSnapshot& snap, const ClusterConfig& cfg, const PersistedState& st,
                TimePoint now) {
  // A switch back interrupted by a restart is resumed before anything else: it inspects what happened
  // and never runs the switch a second time. Every other step is re-chosen from what is observed.
  if (st.state == ClusterState::Validated && st.step_in_progress == to_string(StepId::SwitchBack))
    return step(StepId::SwitchBack, "resume the switch back interrupted by a restart: inspect before acting");

  Decision d;
  switch (st.state) {
    case ClusterState::Healthy:
      d = decide_healthy(snap, cfg, st);
      break;
    case ClusterState::Degraded:
      d = decide_degraded(snap, cfg, st, now);
      break;
    case ClusterState::SlaveRejoined:
    case ClusterState::Validated: {
      if (!st.failover) {
        d = block("internal inconsistency: " + std::string(to_string(st.state)) + " without failover facts",
                  "check the cluster by hand, " + ack_hint(cfg));
        break;
      }
      Roles r = roles_of(snap, cfg, *st.failover);
      if (!r.old_cfg || !r.new_cfg || !r.old_snap || !r.new_snap) {
        d = block("the servers of the failover being handled are no longer in " + cfg.mha.conf_path,
                  "check the MHA config, " + ack_hint(cfg));
        break;
      }
      if (flag_is_newer(snap, st.failover->flag_mtime)) {
        d = block(
            "a second failover happened while failing back (the flag changed after the one being handled)",
            "review the manager log and the current roles, " + ack_hint(cfg));
        break;
      }
      if (r.new_snap->sql_reachable && r.old_snap->sql_reachable && switched_back_by_hand(r)) {
        d = go_restore_after_hand_switch(cfg, snap, r);
        break;
      }
      if (handled_flag_removed(snap, *st.failover, st)) {
        d = block_flag_removed(cfg, st.state);
        break;
      }
      d = judge_rejoined_replication(cfg, st, now, r);
      break;
    }
    case ClusterState::SwitchedBack:
      d = decide_switched_back(snap, cfg, st, now);
      break;
    case ClusterState::Blocked: {
      std::string news;
      if (st.failover && flag_is_newer(snap, st.failover->flag_mtime) &&
          st.failover->flag_mtime != TimePoint{})
        news = "; meanwhile a newer failover flag appeared (another failover happened while blocked)";
      else if (st.failover && st.failover->flag_mtime == TimePoint{} && snap.mha.failover_complete_mtime)
        news = "; meanwhile a failover flag appeared after the handled one was removed (another failover)";
      d = wait("blocked: " + st.blocked_reason +
               (st.suggested_action.empty() ? std::string() : "; suggested: " + st.suggested_action) + news);
      break;
    }
  }

  if (effective_mode(cfg, st) == Mode::Observe && step_mutates(d.step)) {
    Decision w;
    w.sentence = "observe mode, nothing done; next step would be " + std::string(to_string(d.step)) + ": " +
                 d.sentence;
    w.server = d.server;
    return w;
  }
  return d;
}

}  // namespace mhafb

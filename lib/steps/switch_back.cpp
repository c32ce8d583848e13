// Step 7, switch back (after MaxScale's switchover: numbered sub-steps, a point of no return, an undo).
//   a. check: the target is not already master (someone switched back by hand: nothing to switch);
//      the MHA config on disk is still the one the daemon planned with (masterha_master_switch reads
//      the file anew, so an edited server entry would make it act on servers the daemon never checked)
//   b. stop the MHA manager (the switch refuses while it runs)
//   c. stop the companion service on the current master
//   d. archive the failover flag into the state directory's history (its removal is what lets the
//      restarted manager fail over again)
//   -- last safe point: an abort or a failure before here undoes b-d --
//   e. masterha_master_switch --master_state=alive (the point of no return)
//   f. inspect both servers: success -> switched-back; anything else -> make sure a writable master
//      exists (MHA rolls nothing back once writes were rejected), undo b-d, blocked.
// Every sub-step checks before acting and records its progress, so a restart resumes exactly and the
// switch never runs twice.
//
// Before b, the current master must be quiet: masterha_master_switch refuses to start while an update
// there has run for 2 s or more (its --running_updates_limit of 1 s, plus one). The step holds the
// switch while one has run for 1 s or more (a margin for the tool's own second of checks), within
// the switch budget. Should MHA refuse for that reason all the same, nothing was changed (the check
// comes before it rejects writes): the preparation is undone and the switch is tried again.
#include <cctype>
#include <charconv>

#include "core/decision.hpp"
#include "mha/mha_config.hpp"
#include "mha/mha_tools.hpp"
#include "mha/output_parsers.hpp"
#include "sql/statements.hpp"
#include "steps/step.hpp"

namespace mhafb {

namespace {

// The last non-blank line of a tool's output, at most 300 characters.
std::string last_output_line(const std::string& text) {
  std::size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return {};
  std::size_t begin = text.rfind('\n', end);
  begin = begin == std::string::npos ? 0 : begin + 1;
  std::string line = text.substr(begin, end + 1 - begin);
  if (line.size() > 300) {
    line.resize(297);
    line += "...";
  }
  return line;
}

struct Role {
  bool answers = false;
  bool read_only = true;
  bool replica = false;
  std::string source;
  int source_port = 0;
};

Role read_role_once(StepContext& ctx, const std::string& host, const ServerSnapshot* snap) {
  Role r;
  auto facts = ctx.io.sql(host, sqlstmt::server_facts());
  if (!facts) return r;
  r.answers = true;
  r.read_only = facts->get(0, "read_only").value_or("1") == "1";
  Flavor flavor = snap ? snap->flavor : sqlstmt::flavor_of_version(facts->get(0, "version").value_or(""));
  std::string version = facts->get(0, "version").value_or("");
  auto rs = ctx.io.sql(host, sqlstmt::replica_status(flavor, version));
  if (!rs) {
    r.answers = false;  // a role half read is no role: it must not be taken for "not a replica"
    return r;
  }
  if (!rs->empty()) {
    r.source = rs->get(0, "Master_Host").value_or(rs->get(0, "Source_Host").value_or(""));
    // An unreadable port stays 0 (unknown): never a guess.
    const std::string port = rs->get(0, "Master_Port").value_or(rs->get(0, "Source_Port").value_or("0"));
    int parsed = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), parsed);
    r.source_port = ec == std::errc{} && end == port.data() + port.size() ? parsed : 0;
    r.replica = !r.source.empty();
  }
  return r;
}

// Roles decide what to undo, so one lost packet must not be taken for a dead server: a few attempts.
Role read_role(StepContext& ctx, const std::string& host, const ServerSnapshot* snap) {
  for (int attempt = 0;; ++attempt) {
    Role r = read_role_once(ctx, host, snap);
    if (r.answers || attempt == 4) return r;
    ctx.io.ports().clock.sleep_for(std::chrono::milliseconds(200));
  }
}

bool is_source(const Role& r, const MhaServer& s) {
  return r.replica && (r.source == s.hostname || (!s.ip.empty() && r.source == s.ip)) &&
         r.source_port == s.port;
}

bool manager_running(StepContext& ctx) {
  auto status = ctx.io.local(mhatools::check_status(ctx.config));
  if (!status) return false;
  auto parsed = parse_check_status(status->combined(), status->exit_code);
  // NOT_RUNNING (2) is the only code that says no manager holds the app.
  return parsed.code != 2;
}

void run_companion(StepContext& ctx, const std::vector<std::string>& argv, const std::string& host,
                   const char* what) {
  if (argv.empty()) return;
  CommandSpec spec;
  spec.argv = argv;
  spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.config.timeouts.tool);
  auto r = ctx.io.remote(host, spec);
  if (!r || !r->succeeded())
    ctx.io.audit(AuditKind::Warning, AuditPriority::Warning,
                 std::string("the companion ") + what + " command on " + host +
                     " failed: " + (!r ? r.error().message : "exit " + std::to_string(r->exit_code)),
                 host);
}

constexpr int kLongUpdateSeconds = 1;

struct LongUpdate {
  std::string id;
  std::string user;
  std::string seconds;
  std::string verb;  // the statement's first word only: its text may hold values not for a log
};

// The rows of sqlstmt::running_statements that MHA counts as updates: not SELECT or SHOW.
std::vector<LongUpdate> long_updates(const ResultSet& rs) {
  std::vector<LongUpdate> out;
  for (std::size_t i = 0; i < rs.rows.size(); ++i) {
    const std::string info = rs.get(i, "info").value_or("");
    const std::size_t begin = info.find_first_not_of(" \t\r\n");
    std::string verb;
    for (std::size_t k = begin; k != std::string::npos && k < info.size() && verb.size() < 24; ++k) {
      const unsigned char ch = static_cast<unsigned char>(info[k]);
      if (!std::isalpha(ch)) break;
      verb += static_cast<char>(std::toupper(ch));
    }
    if (verb.rfind("SELECT", 0) == 0 || verb.rfind("SHOW", 0) == 0) continue;
    out.push_back({rs.get(i, "id").value_or("?"), rs.get(i, "user").value_or("?"),
                   rs.get(i, "time").value_or("?"),
                   verb.empty() ? rs.get(i, "command").value_or("a statement") : verb});
  }
  return out;
}

std::string describe_updates(const std::vector<LongUpdate>& updates, const std::string& host) {
  std::string out = std::to_string(updates.size()) + (updates.size() == 1 ? " update has" : " updates have") +
                    " run for " + std::to_string(kLongUpdateSeconds) + " s or more on " + host + " (";
  for (std::size_t i = 0; i < updates.size() && i < 3; ++i) {
    const auto& u = updates[i];
    out += (i ? "; " : "") + std::string("session ") + u.id + " of " + u.user + ": " + u.verb + " for " +
           u.seconds + " s";
  }
  return out + (updates.size() > 3 ? "; ...)" : ")");
}

// How long the switch has been held back, starting the clock at the first hold.
std::chrono::seconds held_for(StepContext& ctx) {
  const TimePoint now = ctx.io.now();
  if (!ctx.state.switch_held_since) {
    ctx.state.switch_held_since = now;
    (void)ctx.io.save();
  }
  return std::chrono::duration_cast<std::chrono::seconds>(now - *ctx.state.switch_held_since);
}

std::string long_update_block_hint(const StepContext& ctx, const std::string& host) {
  return "let the long statements on " + host + " finish or stop them (SHOW PROCESSLIST there), " +
         ctx.ack_hint() + " and approve the failback again";
}

// nullopt: the current master is quiet (or cannot be asked: masterha_master_switch checks again).
std::optional<StepOutcome> hold_for_long_updates(StepContext& ctx, const MhaServer& current) {
  auto rs = ctx.io.sql(current.hostname, sqlstmt::running_statements(kLongUpdateSeconds));
  if (!rs) return std::nullopt;
  const auto updates = long_updates(*rs);
  if (updates.empty()) return std::nullopt;
  const std::string what = describe_updates(updates, current.hostname);
  const auto budget = ctx.config.timeouts.switch_budget;
  const auto held = held_for(ctx);
  if (held >= budget) {
    ctx.state.switch_held_since.reset();
    return StepOutcome::block("not switching: the switch was held for " + human_duration(held) + " and " +
                                  what + "; masterha_master_switch refuses to switch while an update runs",
                              long_update_block_hint(ctx, current.hostname));
  }
  return StepOutcome::wait("holding the switch: " + what +
                           "; masterha_master_switch refuses while one runs; waiting up to " +
                           human_duration(budget - held) + " more");
}

// MHA's own refusal, printed before it rejects any write.
bool refused_for_long_updates(const std::string& output) {
  return output.find(
             "We should not start online master switch when one of connections are running long "
             "updates") != std::string::npos;
}

// What the preparation left in place, for sentences that stop without undoing it.
std::string preparation_facts(const StepContext& ctx) {
  std::string out;
  if (ctx.state.manager_stopped) out += "; the MHA manager is stopped";
  if (!ctx.state.archived_flag_path.empty())
    out += "; the failover flag is archived at " + ctx.state.archived_flag_path;
  return out;
}

// Undoes b-d: the flag goes back where MHA left it, the manager runs again if we stopped it.
std::string undo_preparation(StepContext& ctx, const MhaServer& current_master) {
  std::string notes;
  auto& st = ctx.state;
  if (!st.archived_flag_path.empty()) {
    auto moved = ctx.io.ports().files.move(st.archived_flag_path, ctx.config.mha.failover_complete_flag());
    notes += moved ? "; the failover flag was put back"
                   : "; the failover flag could not be put back: " + moved.error().message;
    if (moved) st.archived_flag_path.clear();
  }
  run_companion(ctx, ctx.config.commands.companion_start, current_master.hostname, "start");
  if (st.manager_stopped) {
    auto started = ctx.io.local(mhatools::manager_start(ctx.config));
    notes += (started && started->succeeded()) ? "; the MHA manager was started again"
                                               : "; the MHA manager could not be started again";
    st.manager_stopped = false;
  }
  (void)ctx.io.save();
  return notes;
}

// The statements that restore a writable master must not give up on one lost packet.
Result<ResultSet> insist(StepContext& ctx, const std::string& host, const SqlStatement& statement) {
  for (int attempt = 0;; ++attempt) {
    auto r = ctx.io.sql(host, statement);
    if (r || attempt == 4) return r;
    ctx.io.ports().clock.sleep_for(std::chrono::milliseconds(200));
  }
}

// After a switch that did not end cleanly, leaves exactly one writable master and says how.
// MHA rolls nothing back once it began rejecting writes, and 0.58 even reports success when it could
// not lift read_only on the target, so every combination is read from the servers and settled here:
//   - target no longer replicates (promoted, perhaps left read-only): forward — lift read_only on it,
//     fence the current master;
//   - target still a replica: the current master keeps the role — undo MHA's repointing of it to the
//     target, lift read_only on it, fence the target.
struct Settled {
  bool forward = false;  // the target holds the master role now
  std::string note;
};

Settled settle_roles(StepContext& ctx, const MhaServer& target, const MhaServer& current, const Role& t,
                     const Role& c, Flavor flavor, const std::string& version) {
  Settled out;
  if (t.answers && !t.replica) {
    out.forward = true;
    if (t.read_only) {
      auto lift = insist(ctx, target.hostname, sqlstmt::set_read_only(false));
      out.forward = lift.ok();
      out.note =
          lift
              ? "; " + target.hostname + " was promoted but left read-only, so read_only=0 was set on it"
              : "; " + target.hostname + " was promoted but left read-only and could NOT be made writable: " +
                    lift.error().message;
    }
    if (c.answers && !c.read_only) {
      auto fence = insist(ctx, current.hostname, sqlstmt::set_read_only(true));
      out.note += fence ? "; " + current.hostname + " was fenced (read_only=1)"
                        : "; " + current.hostname + " could NOT be fenced: " + fence.error().message;
    }
    if (!out.forward && c.answers) {
      // The target cannot take writes: give the role back to the current master.
      (void)ctx.io.sql(current.hostname, sqlstmt::stop_replica(flavor, version));
      (void)insist(ctx, current.hostname, sqlstmt::reset_replica_all(flavor, version));
      auto back = insist(ctx, current.hostname, sqlstmt::set_read_only(false));
      out.note +=
          back ? "; " + current.hostname + " was made writable again (read_only=0)"
               : "; " + current.hostname + " could NOT be made writable again: " + back.error().message;
    }
    return out;
  }
  if (!c.answers) {
    out.note = "; " + current.hostname + " does not answer SQL: check it now";
    return out;
  }
  if (is_source(c, target)) {
    (void)ctx.io.sql(current.hostname, sqlstmt::stop_replica(flavor, version));
    auto reset = insist(ctx, current.hostname, sqlstmt::reset_replica_all(flavor, version));
    out.note += reset ? "; " + current.hostname + "'s replication from " + target.hostname + " was removed"
                      : "; " + current.hostname + "'s replication from " + target.hostname +
                            " could NOT be removed: " + reset.error().message;
  }
  if (c.read_only) {
    auto undo = insist(ctx, current.hostname, sqlstmt::set_read_only(false));
    out.note += undo ? "; " + current.hostname + " was made writable again (read_only=0)"
                     : "; " + current.hostname + " could NOT be made writable again: " + undo.error().message;
  } else {
    out.note += "; " + current.hostname + " stays the writable master";
  }
  if (t.answers && !t.read_only) (void)ctx.io.sql(target.hostname, sqlstmt::set_read_only(true));
  return out;
}

// What masterha_master_switch will read versus what the daemon planned with. Only the facts the
// switch acts on: the servers (name, address, port, whether they may be master) and the work dir
// holding the flag. Empty: unchanged, or not readable (MHA then refuses before rejecting writes).
std::string mha_config_drift(StepContext& ctx) {
  const MhaAppConfig& planned = ctx.config.mha;
  constexpr std::uint64_t kLimit = 1024 * 1024;
  auto app = ctx.io.ports().files.read_tail(planned.conf_path, kLimit);
  std::string global_text;
  if (app && !planned.global_conf_path.empty()) {
    auto global = ctx.io.ports().files.read_tail(planned.global_conf_path, kLimit);
    if (global) global_text = *global;
  }
  if (!app) {
    ctx.io.audit(AuditKind::Warning, AuditPriority::Warning,
                 "cannot re-read the MHA config " + planned.conf_path + " before the switch: " +
                     app.error().message + "; masterha_master_switch reads it and refuses if it is unusable");
    return {};
  }
  std::vector<ConfigError> errors;
  MhaAppConfig now =
      parse_mha_config_text(*app, planned.conf_path, global_text, planned.global_conf_path, errors);
  if (!errors.empty()) return "it no longer parses (" + errors.front().to_string() + ")";
  std::string out;
  auto add = [&out](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  if (now.manager_workdir != planned.manager_workdir)
    add("manager_workdir " + planned.manager_workdir + " -> " + now.manager_workdir);
  for (const auto& p : planned.servers) {
    const MhaServer* n = nullptr;
    for (const auto& s : now.servers)
      if (s.block == p.block) n = &s;
    if (!n) {
      add("[" + p.block + "] (" + p.hostname + ") was removed");
      continue;
    }
    if (n->hostname != p.hostname) add("[" + p.block + "] hostname " + p.hostname + " -> " + n->hostname);
    if (n->ip != p.ip) add("[" + p.block + "] ip " + p.ip + " -> " + n->ip);
    if (n->port != p.port)
      add("[" + p.block + "] port " + std::to_string(p.port) + " -> " + std::to_string(n->port));
    if (n->no_master != p.no_master)
      add("[" + p.block + "] no_master " + std::to_string(p.no_master) + " -> " +
          std::to_string(n->no_master));
  }
  for (const auto& n : now.servers) {
    bool known = false;
    for (const auto& p : planned.servers)
      known = known || p.block == n.block;
    if (!known) add("[" + n.block + "] (" + n.hostname + ") was added");
  }
  return out;
}

}  // namespace

StepOutcome switch_back(StepContext& ctx) {
  const MhaServer* target = ctx.old_master();
  const MhaServer* current = ctx.new_master();
  if (!target || !current)
    return StepOutcome::block("the failover's servers are not in the MHA config", ctx.ack_hint());
  auto& st = ctx.state;
  const ServerSnapshot* target_snap = ctx.snapshot.find(target->hostname);
  const ServerSnapshot* current_snap = ctx.snapshot.find(current->hostname);

  const Flavor flavor = current_snap ? current_snap->flavor : Flavor::MariaDB;
  const std::string version = current_snap ? current_snap->version : std::string();

  // Resume after a restart during the switch: inspect, never run it again.
  if (st.switch_started) {
    Role t = read_role(ctx, target->hostname, target_snap);
    Role c = read_role(ctx, current->hostname, current_snap);
    const bool t_master = t.answers && !t.read_only && !t.replica;
    const bool c_master = c.answers && !c.read_only && !c.replica;
    if (!t.answers ||
        (!c.answers && !t_master))  // unknown: switch_started stays, a later look inspects again
      return StepOutcome::block(
          "a switch back was interrupted by a restart and the roles cannot be read (" + target->hostname +
              (t.answers ? " answers" : " does not answer SQL") + ", " + current->hostname +
              (c.answers ? " answers" : " does not answer SQL") + ")" + preparation_facts(ctx),
          "check both servers by hand; make exactly one writable master, " + ctx.ack_hint());
    st.switch_started = false;
    if (t_master && (!c.answers || !c_master)) {
      run_companion(ctx, ctx.config.commands.companion_start, target->hostname, "start");
      return StepOutcome::transition(
          ClusterState::SwitchedBack,
          "the switch back had completed before the restart: " + target->hostname + " is master");
    }
    if (t_master && c_master) {
      std::string notes = undo_preparation(ctx, *current);
      return StepOutcome::block(
          "two writable masters after a switch back interrupted by a restart: " + target->hostname + " and " +
              current->hostname + notes,
          "fence the one that must not take writes, compare their data, " + ctx.ack_hint());
    }
    if (c_master) {
      std::string notes = undo_preparation(ctx, *current);
      return StepOutcome::block(
          "a switch back was started before a restart and did not take effect; " + current->hostname +
              " is still the writable master" + notes,
          "check the manager log and both servers, " + ctx.ack_hint() + " to try again");
    }
    Settled settled = settle_roles(ctx, *target, *current, t, c, flavor, version);
    if (settled.forward && is_source(c, *target)) {
      run_companion(ctx, ctx.config.commands.companion_start, target->hostname, "start");
      return StepOutcome::transition(ClusterState::SwitchedBack,
                                     "the switch back had taken effect before the restart" + settled.note);
    }
    std::string notes = settled.forward ? preparation_facts(ctx) : undo_preparation(ctx, *current);
    (void)ctx.io.save();
    return StepOutcome::block("a switch back was interrupted with no writable master" + settled.note + notes,
                              "check both servers' data and roles, " + ctx.ack_hint());
  }

  // a. check first
  if (target_snap && target_snap->acts_as_master() && current_snap && current_snap->sql_reachable &&
      replicates_from(*current_snap, *target))
    return StepOutcome::transition(ClusterState::SwitchedBack,
                                   "not switching: " + target->hostname + " is already master and " +
                                       current->hostname +
                                       " replicates from it (someone switched back by hand); restoring MHA");
  if (target_snap && target_snap->acts_as_master())
    return StepOutcome::block(
        "the switch target " + target->hostname + " already acts as master",
        "check the roles by hand (switching to the master makes it read-only and fails), " + ctx.ack_hint());
  if (ctx.abort_requested) {
    std::string notes = undo_preparation(ctx, *current);
    return StepOutcome::transition(ClusterState::Validated,
                                   "switch back aborted by the operator before it began" + notes);
  }
  if (std::string drift = mha_config_drift(ctx); !drift.empty())
    return StepOutcome::block("not switching: the MHA config " + ctx.config.mha.conf_path +
                                  " changed since mha-failbackd loaded it (" + drift +
                                  "); masterha_master_switch would act on servers that were never checked",
                              "review the change; reload mha-failbackd (SIGHUP) so it plans with the new "
                              "config, or restore the file, " +
                                  ctx.ack_hint());
  if (auto held = hold_for_long_updates(ctx, *current)) return *held;

  // b. stop the manager
  if (manager_running(ctx)) {
    auto stop = ctx.io.local(mhatools::manager_stop(ctx.config));
    st.manager_stopped = true;
    (void)ctx.io.save();
    if (!stop || manager_running(ctx)) {
      std::string notes = undo_preparation(ctx, *current);
      return StepOutcome::block(
          "the MHA manager could not be stopped, and masterha_master_switch refuses to run "
          "while it does" +
              notes,
          "stop the MHA manager for " + ctx.config.mha.app_name + " by hand, " + ctx.ack_hint());
    }
  }

  // c. companion service leaves the current master
  run_companion(ctx, ctx.config.commands.companion_stop, current->hostname, "stop");

  // d. archive the flag
  const std::string flag = ctx.config.mha.failover_complete_flag();
  auto flag_info = ctx.io.ports().files.stat(flag);
  if (!flag_info) {
    std::string notes = undo_preparation(ctx, *current);
    return StepOutcome::retry("cannot check the failover flag " + flag + ": " + flag_info.error().message +
                              notes);
  }
  if (flag_info->exists) {
    std::string dest = ctx.state_dir + "/history/" + ctx.config.mha.app_name + ".failover.complete." +
                       utc_stamp(ctx.io.now());
    // Recorded before the move: a crash between the two must not lose track of the flag (resumed,
    // a flag gone from its place but recorded here is ours, not someone else's action).
    st.archived_flag_path = dest;
    if (auto saved = ctx.io.save(); !saved) {
      st.archived_flag_path.clear();
      std::string notes = undo_preparation(ctx, *current);
      return StepOutcome::retry("cannot persist state before archiving the failover flag (" +
                                saved.error().message + "); not switching" + notes);
    }
    auto moved = ctx.io.ports().files.move(flag, dest);
    if (!moved) {
      st.archived_flag_path.clear();
      std::string notes = undo_preparation(ctx, *current);
      return StepOutcome::retry("the failover flag " + flag + " could not be archived (" +
                                moved.error().message + "); not switching" + notes);
    }
    ctx.io.audit(AuditKind::StepFinished, AuditPriority::Notice, "archived the failover flag to " + dest);
  }

  // last safe point
  if (ctx.abort_requested) {
    std::string notes = undo_preparation(ctx, *current);
    return StepOutcome::transition(ClusterState::Validated,
                                   "switch back aborted by the operator before the switch" + notes);
  }

  // e. the point of no return
  st.switch_started = true;
  if (auto saved = ctx.io.save(); !saved) {
    st.switch_started = false;
    std::string notes = undo_preparation(ctx, *current);
    return StepOutcome::block(
        "cannot persist state before the switch (" + saved.error().message + "); not switching" + notes,
        "free the state directory " + ctx.state_dir + ", " + ctx.ack_hint());
  }
  auto spec = mhatools::switch_master_alive(ctx.config, *target);
  auto started_at = ctx.io.now();
  auto ran = ctx.io.local(spec);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.io.now() - started_at);
  if (ctx.planning) {
    st.switch_started = false;
    return StepOutcome::progress("plan ends at the switch: its outcome decides what follows");
  }
  SwitchResult result;
  if (ran) result = parse_master_switch(ran->combined(), ran->exit_code);

  // f. inspect
  Role t = read_role(ctx, target->hostname, target_snap);
  Role c = read_role(ctx, current->hostname, current_snap);
  bool target_is_master = t.answers && !t.read_only && !t.replica;
  bool current_follows = c.answers && c.read_only && is_source(c, *target);
  if (result.outcome == SwitchOutcome::Success && target_is_master && current_follows) {
    st.switch_started = false;
    st.switch_held_since.reset();
    run_companion(ctx, ctx.config.commands.companion_start, target->hostname, "start");
    return StepOutcome::transition(ClusterState::SwitchedBack, "switched the master role back to " +
                                                                   target->hostname + " in " +
                                                                   std::to_string(took.count()) + " ms; " +
                                                                   current->hostname + " replicates from it");
  }
  std::string what = !ran ? "masterha_master_switch could not run: " + ran.error().message
                          : "masterha_master_switch: " + result.summary;
  // A switch killed at the tool timeout has no exit code worth reporting; where it hung is.
  if (ran && ran->timed_out) {
    what = "masterha_master_switch timed out after " +
           human_duration(std::chrono::duration_cast<std::chrono::seconds>(spec.timeout)) + " and was killed";
    if (std::string last = last_output_line(ran->combined()); !last.empty())
      what += "; its last line: " + last;
  }
  if (!t.answers || !c.answers) {
    // Without both roles nothing can be undone safely: an undo could create a second master.
    st.switch_started = false;
    (void)ctx.io.save();
    return StepOutcome::block(
        "after the switch (" + what + ") the roles cannot be verified: " + target->hostname +
            (t.answers ? " answers" : " does not answer SQL") + ", " + current->hostname +
            (c.answers ? " answers" : " does not answer SQL") + preparation_facts(ctx),
        "check both servers now and make sure exactly one is writable; " + ctx.ack_hint());
  }
  st.switch_started = false;
  if (ran && !ran->timed_out && !result.writes_were_blocked && refused_for_long_updates(ran->combined()) &&
      c.answers && !c.read_only && !c.replica && t.answers && t.read_only && is_source(t, *current)) {
    // Refused in its checks, before rejecting writes: the roles are as they were.
    std::string notes = undo_preparation(ctx, *current);
    const auto held = held_for(ctx);
    const std::string refusal = "masterha_master_switch refused to start (" + result.summary + "); " +
                                current->hostname + " stays the writable master" + notes;
    if (held >= ctx.config.timeouts.switch_budget) {
      st.switch_held_since.reset();
      (void)ctx.io.save();
      return StepOutcome::block(refusal + "; the switch was held for " + human_duration(held),
                                long_update_block_hint(ctx, current->hostname));
    }
    return StepOutcome::retry(refusal +
                              "; it changed nothing, and the switch is tried again once no update "
                              "has run on " +
                              current->hostname + " for " + std::to_string(kLongUpdateSeconds) +
                              " s or more");
  }
  if (target_is_master) {
    // The switch went through, though not as MHA reported or not completely: forward only.
    std::string note;
    if (!c.read_only && !c.replica) {
      auto fence_current = insist(ctx, current->hostname, sqlstmt::set_read_only(true));
      note = fence_current
                 ? "; " + current->hostname + " was still writable and was fenced (read_only=1)"
                 : "; " + current->hostname +
                       " is still writable and could NOT be fenced: " + fence_current.error().message;
    }
    run_companion(ctx, ctx.config.commands.companion_start, target->hostname, "start");
    return StepOutcome::transition(
        ClusterState::SwitchedBack,
        "switched the master role back to " + target->hostname + ", but " + current->hostname +
            (current_follows ? " reports it" : " does not replicate from it yet") + " (" + what + ")" + note +
            "; the restore step's check_repl will judge");
  }
  Settled settled = settle_roles(ctx, *target, *current, t, c, flavor, version);
  if (settled.forward) {
    (void)ctx.io.save();
    return StepOutcome::block("the switch back to " + target->hostname + " did not end cleanly (" + what +
                                  ")" + settled.note + preparation_facts(ctx),
                              "verify that " + target->hostname + " is the only writable master and that " +
                                  current->hostname + " replicates from it, " + ctx.ack_hint());
  }
  std::string notes = undo_preparation(ctx, *current);
  return StepOutcome::block(
      "the switch back to " + target->hostname + " failed (" + what + ")" + settled.note + notes,
      "read the switch output in the journal, fix the cause, " + ctx.ack_hint() +
          " and approve the failback again");
}

}  // namespace mhafb

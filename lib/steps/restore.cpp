// Step 8, restore MHA: archive a failover flag left in place by a switch done by hand, start the
// manager once with the configured command, wait for masterha_check_status to report PING_OK, then
// masterha_check_repl once more -> healthy.
#include "mha/mha_tools.hpp"
#include "mha/output_parsers.hpp"
#include "steps/step.hpp"

namespace mhafb {

namespace {

// A flag still in place when the role is back (someone switched back by hand, without the runbook's
// `rm -f`) would keep the restarted manager from failing over for last_failover_minute: archive it
// like the switch does. A flag newer than the one handled is another failover: never hide it.
std::optional<StepOutcome> archive_leftover_flag(StepContext& ctx) {
  const std::string flag = ctx.config.mha.failover_complete_flag();
  auto info = ctx.io.ports().files.stat(flag);
  if (!info)
    return StepOutcome::retry("cannot check the failover flag " + flag + ": " + info.error().message);
  if (!info->exists) return std::nullopt;
  using std::chrono::floor;
  using std::chrono::milliseconds;
  const TimePoint handled =
      ctx.state.failover ? ctx.state.failover->flag_mtime : ctx.state.handled_flag_mtime;
  if (handled == TimePoint{} || floor<milliseconds>(info->mtime) > floor<milliseconds>(handled))
    return StepOutcome::block("a failover flag " + flag +
                                  " newer than the failover being handled is present: "
                                  "MHA failed over again after the master role came back",
                              "read the manager log and check the roles, " + ctx.ack_hint());
  std::string dest =
      ctx.state_dir + "/history/" + ctx.config.mha.app_name + ".failover.complete." + utc_stamp(ctx.io.now());
  if (auto moved = ctx.io.ports().files.move(flag, dest); !moved)
    return StepOutcome::retry("the leftover failover flag " + flag + " could not be archived (" +
                              moved.error().message + "); the MHA manager is not started with it in place");
  ctx.state.archived_flag_path = dest;
  ctx.io.audit(AuditKind::StepFinished, AuditPriority::Notice,
               "archived the leftover failover flag to " + dest + " before restarting the MHA manager");
  (void)ctx.io.save();
  return std::nullopt;
}

}  // namespace

StepOutcome restore(StepContext& ctx) {
  // A restart requested by an earlier run of the daemon may never have been issued (it died between
  // its checkpoint and the command): check again and start the manager if it does not run.
  if (ctx.state.manager_restart_requested_at && *ctx.state.manager_restart_requested_at < ctx.engine_started)
    ctx.state.manager_restart_requested_at.reset();
  if (!ctx.state.manager_restart_requested_at) {
    if (auto stop = archive_leftover_flag(ctx)) return *stop;
    auto status = ctx.io.local(mhatools::check_status(ctx.config));
    bool running = status && parse_check_status(status->combined(), status->exit_code).running_ok;
    if (!running) {
      ctx.state.manager_restart_requested_at = ctx.io.now();
      if (auto saved = ctx.io.save(); !saved) {
        ctx.state.manager_restart_requested_at.reset();
        return StepOutcome::retry("cannot persist state: " + saved.error().message);
      }
      auto spec = mhatools::manager_start(ctx.config);
      auto started = ctx.io.local(spec);
      if (!started || !started->succeeded()) {
        std::string why;
        if (!started) {
          why = started.error().message;
        } else {
          why = "exit " + std::to_string(started->exit_code);
          if (!started->combined().empty())
            why += ": " + started->combined();  // a silent failure ends at the code
        }
        return StepOutcome::block("starting the MHA manager with " + spec.display() + " failed: " + why,
                                  "start the MHA manager by hand, " + ctx.ack_hint());
      }
      return StepOutcome::progress("started the MHA manager with " + spec.display());
    }
    ctx.state.manager_restart_requested_at = ctx.io.now();
  }

  auto status = ctx.io.local(mhatools::check_status(ctx.config));
  if (!status) return StepOutcome::retry("masterha_check_status could not run: " + status.error().message);
  auto parsed = parse_check_status(status->combined(), status->exit_code);
  if (!parsed.running_ok)
    return StepOutcome::wait("waiting for the MHA manager to report PING_OK: " + parsed.summary);

  auto repl = ctx.io.local(mhatools::check_repl(ctx.config));
  if (!repl) return StepOutcome::retry("masterha_check_repl could not run: " + repl.error().message);
  auto repl_result = parse_check_repl(repl->combined(), repl->exit_code);
  if (!repl_result.ok)
    return StepOutcome::block("after the switch back, masterha_check_repl failed: " + repl_result.summary,
                              "run masterha_check_repl --conf=" + ctx.config.mha.conf_path +
                                  " and fix what it names, " + ctx.ack_hint());
  return StepOutcome::transition(ClusterState::Healthy,
                                 "failback complete: " + ctx.config.preferred_master +
                                     " is master, the MHA manager reports PING_OK and replication is OK");
}

}  // namespace mhafb

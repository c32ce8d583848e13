// Step 8, restore MHA: start the manager once with the configured command, wait for
// masterha_check_status to report PING_OK, then masterha_check_repl once more -> healthy.
#include "mha/mha_tools.hpp"
#include "mha/output_parsers.hpp"
#include "steps/step.hpp"

namespace mhafb {

StepOutcome restore(StepContext& ctx) {
  if (!ctx.state.manager_restart_requested_at) {
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

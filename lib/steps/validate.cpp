// Step 6, validate: replication already held within the lag bound for the stable window (decided from
// snapshots); now MHA's own checks must agree. masterha_check_ssh is judged by its text (its exit code
// is meaningless), masterha_check_repl by exit 0 and its OK line.
#include "mha/mha_tools.hpp"
#include "mha/output_parsers.hpp"
#include "steps/step.hpp"

namespace mhafb {

namespace {
std::string with_bug_hint(const std::string& summary, const std::string& output) {
  std::string hint = explain_known_mha_bugs(output);
  return hint.empty() ? summary : summary + " — " + hint;
}
}  // namespace

StepOutcome validate(StepContext& ctx) {
  if (!ctx.config.validation.run_mha_checks)
    return StepOutcome::transition(
        ClusterState::Validated,
        "replication healthy for the stable window (MHA checks disabled by configuration)");

  auto ssh = ctx.io.local(mhatools::check_ssh(ctx.config));
  // A tool that cannot be started is retried (and shown in the status), never taken as a verdict.
  if (!ssh) return StepOutcome::retry("masterha_check_ssh could not run: " + ssh.error().message);
  auto ssh_result = parse_check_ssh(ssh->combined());
  if (!ssh_result.ok)
    return StepOutcome::block(
        "masterha_check_ssh failed: " + with_bug_hint(ssh_result.summary, ssh->combined()),
        "fix SSH between the MHA hosts (run masterha_check_ssh --conf=" + ctx.config.mha.conf_path + "), " +
            ctx.ack_hint());

  auto repl = ctx.io.local(mhatools::check_repl(ctx.config));
  if (!repl) return StepOutcome::retry("masterha_check_repl could not run: " + repl.error().message);
  auto repl_result = parse_check_repl(repl->combined(), repl->exit_code);
  if (!repl_result.ok)
    return StepOutcome::block(
        "masterha_check_repl failed: " + with_bug_hint(repl_result.summary, repl->combined()),
        "run masterha_check_repl --conf=" + ctx.config.mha.conf_path + " and fix what it names, " +
            ctx.ack_hint());
  return StepOutcome::transition(
      ClusterState::Validated,
      "validated: replication healthy for the stable window, masterha_check_ssh and "
      "masterha_check_repl OK");
}

}  // namespace mhafb

// Step 2, bring the old master back: wait until its host answers over SSH; when the host is up but the
// database does not answer SQL, start it once with the configured remote command; then wait for SQL.
#include <cctype>

#include "sql/statements.hpp"
#include "steps/step.hpp"

namespace mhafb {

namespace {

// The end of a command's output as one line ("a | b"): the reason is one sentence in the journal, the
// status and the caller's error reply, and a start command's last lines are where it says why.
std::string one_line_tail(const std::string& text, std::size_t max) {
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::size_t b = start, e = end;
    while (b < e && std::isspace(static_cast<unsigned char>(text[b])))
      ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1])))
      --e;
    if (e > b) out += (out.empty() ? "" : " | ") + text.substr(b, e - b);
    start = end + 1;
  }
  if (out.size() > max) out = "..." + out.substr(out.size() - max);
  return out;
}

}  // namespace

StepOutcome bring_back_old_master(StepContext& ctx) {
  const MhaServer* old = ctx.old_master();
  if (!old) return StepOutcome::block("the old master is not in the MHA config", ctx.ack_hint());

  // Check first: it may have come back since the snapshot.
  if (ctx.io.sql(old->hostname, sqlstmt::server_facts()))
    return StepOutcome::progress("old master " + old->hostname + " answers SQL again");

  auto probe = ctx.io.probe_host(old->hostname);
  if (!probe) {
    const auto& e = probe.error();
    if (e.kind == ErrorKind::HostKey || e.kind == ErrorKind::Auth)
      return StepOutcome::block(
          "cannot log in to old master " + old->hostname + " over SSH: " + e.message,
          "verify the host key / client key (never accept a changed host key blindly), " + ctx.ack_hint());
    return StepOutcome::wait("waiting for old master " + old->hostname + "'s host: " + e.message);
  }
  // A start requested by this run is under way. One requested by an earlier run may never have
  // been issued (the daemon died between its checkpoint and the command): start it again, the
  // command is idempotent (docs/CONFIGURATION.md).
  const bool resumed =
      ctx.state.database_start_requested_at && *ctx.state.database_start_requested_at < ctx.engine_started;
  if (ctx.state.database_start_requested_at && !resumed)
    return StepOutcome::wait("host " + old->hostname +
                             " is up and its database was started; waiting for SQL");
  if (ctx.config.commands.start_database.empty())
    return StepOutcome::wait("host " + old->hostname +
                             " is up but its database does not answer, and no "
                             "start_database command is configured; waiting for someone to start it");

  CommandSpec start;
  start.argv = ctx.config.commands.start_database;
  start.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.config.timeouts.database_start);
  start.mutates = true;
  ctx.state.database_start_requested_at = ctx.io.now();
  if (auto saved = ctx.io.save(); !saved) {
    ctx.state.database_start_requested_at.reset();
    return StepOutcome::retry("cannot persist state: " + saved.error().message);
  }
  auto ran = ctx.io.remote(old->hostname, start);
  if (!ran) {
    if (ran.error().kind == ErrorKind::HostKey || ran.error().kind == ErrorKind::Auth)
      return StepOutcome::block(
          "cannot run the start command on " + old->hostname + ": " + ran.error().message,
          "fix SSH access to " + old->hostname + ", " + ctx.ack_hint());
    ctx.state.database_start_requested_at.reset();
    return StepOutcome::retry("starting the database on " + old->hostname +
                              " failed: " + ran.error().message);
  }
  if (!ran->succeeded()) {
    std::string err = one_line_tail(ran->err.empty() ? ran->out : ran->err, 400);
    std::string how = ran->timed_out
                          ? "timed out after " + std::to_string(start.timeout.count() / 1000) + " s"
                      : ran->term_signal ? "killed by signal " + std::to_string(ran->term_signal)
                                         : "exit " + std::to_string(ran->exit_code);
    return StepOutcome::block("the start command " + start.display() + " on " + old->hostname + " failed (" +
                                  how + ")" + (err.empty() ? std::string() : ": " + err),
                              "start the database on " + old->hostname + " by hand, " + ctx.ack_hint());
  }
  // Fence the moment SQL answers: a server restarted with its own config may come up writable, and
  // every millisecond it is writable beside the new master is a chance for a split brain.
  const auto deadline = ctx.io.now() + ctx.config.timeouts.database_start;
  while (ctx.io.now() < deadline) {
    if (ctx.abort_requested) break;
    // Poll with a read (not audited), then fence once: one audit record, not one per poll.
    if (ctx.io.sql(old->hostname, sqlstmt::server_facts()) &&
        ctx.io.sql(old->hostname, sqlstmt::set_read_only(true)))
      return StepOutcome::progress("started the database on " + old->hostname + " with " + start.display() +
                                   " and fenced it (read_only=1) as soon as it answered");
    ctx.io.ports().clock.sleep_for(std::chrono::milliseconds(100));
  }
  return StepOutcome::progress("started the database on " + old->hostname + " with " + start.display() +
                               "; it does not answer SQL yet");
}

}  // namespace mhafb

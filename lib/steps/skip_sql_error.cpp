// The runbook's "skip the failing statement", made explicit: only under the opt-in policy, bounded by
// max_skips, each skipped event recorded (position and error) in the state file and the journal.
#include "sql/statements.hpp"
#include "steps/step.hpp"

namespace mhafb {

StepOutcome skip_sql_error(StepContext& ctx) {
  const MhaServer* old_cfg = ctx.old_master();
  if (!old_cfg) return StepOutcome::block("the old master is not in the MHA config", ctx.ack_hint());
  const ServerSnapshot* old = ctx.snapshot.find(old_cfg->hostname);
  if (!old || !old->replica) return StepOutcome::retry("no replication status on " + old_cfg->hostname);
  const auto& rep = *old->replica;
  if (rep.last_sql_errno == 0 || rep.sql_running)
    return StepOutcome::progress("no SQL error to skip any more");
  if (static_cast<int>(ctx.state.skipped_events.size()) >= ctx.config.sql_error_policy.max_skips)
    return StepOutcome::block("the skip budget is used up", ctx.ack_hint());

  SkippedEvent e;
  e.at = ctx.io.now();
  e.server = old_cfg->hostname;
  e.position =
      rep.source_executed.label() + (rep.gtid_io_pos.empty() ? "" : " (gtid io pos " + rep.gtid_io_pos + ")");
  e.error_number = rep.last_sql_errno;
  e.error = rep.last_sql_error;
  // Recorded before acting: a crash after the skip must not hide that it happened.
  ctx.state.skipped_events.push_back(e);
  if (auto saved = ctx.io.save(); !saved) {
    ctx.state.skipped_events.pop_back();
    return StepOutcome::retry("cannot persist state before skipping: " + saved.error().message);
  }
  ctx.io.audit(AuditKind::SkippedEvent, AuditPriority::Warning,
               "skipping the replication event at " + e.position + " on " + e.server + ": error " +
                   std::to_string(e.error_number) + ": " + e.error,
               e.server, {{"POSITION", e.position}, {"ERRNO", std::to_string(e.error_number)}});
  const std::string& host = old_cfg->hostname;
  if (auto r = ctx.io.sql(host, sqlstmt::stop_replica(old->flavor, old->version)); !r)
    return StepOutcome::retry("STOP SLAVE on " + host + " failed: " + r.error().message);
  if (auto r = ctx.io.sql(host, sqlstmt::skip_one_event(old->flavor, old->version)); !r)
    return StepOutcome::retry("setting the skip counter on " + host + " failed: " + r.error().message);
  if (auto r = ctx.io.sql(host, sqlstmt::start_replica(old->flavor, old->version)); !r)
    return StepOutcome::retry("START SLAVE on " + host + " failed: " + r.error().message);
  ctx.state.healthy_since.reset();
  return StepOutcome::progress("skipped one replication event on " + host + " (" +
                               std::to_string(ctx.state.skipped_events.size()) + " of at most " +
                               std::to_string(ctx.config.sql_error_policy.max_skips) + ")");
}

}  // namespace mhafb

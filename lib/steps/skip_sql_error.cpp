// The runbook's "skip the failing statement", made explicit: only under the opt-in policy, bounded by
// max_skips, each skipped transaction recorded (its GTID, the source position and the error) in the
// state file and the journal before anything is done. The GTID is read from the new master's binlog
// at the replica's executed position, because MariaDB's error text and Gtid_IO_Pos (the IO thread's
// position, far ahead) do not name the transaction that failed. A transaction that cannot be
// identified is never skipped.
#include "sql/sql_quote.hpp"
#include "sql/statements.hpp"
#include "steps/step.hpp"

namespace mhafb {

namespace {

// SHOW BINLOG EVENTS reads the same in both dialects.
SqlStatement first_event_at(const BinlogPosition& p) {
  return SqlStatement::read("SHOW BINLOG EVENTS IN " + quote_string(p.file) + " FROM " +
                            std::to_string(p.pos) + " LIMIT 1");
}

// The GTID of a transaction's first event: MariaDB "BEGIN GTID 0-2-970" (with " cid=N" after a group
// commit) or "GTID 0-2-970" (DDL); MySQL "SET @@SESSION.GTID_NEXT= 'uuid:N'". Empty for anything
// else (MySQL's anonymous transactions have no GTID: the position is their identity).
std::string gtid_of_event(const ResultSet& rs) {
  if (rs.empty()) return {};
  const std::string type = rs.get(0, "Event_type").value_or("");
  const std::string info = rs.get(0, "Info").value_or("");
  if (type == "Gtid") {
    if (auto at = info.find("GTID_NEXT="); at != std::string::npos) {
      auto open = info.find('\'', at);
      auto close = open == std::string::npos ? open : info.find('\'', open + 1);
      if (close == std::string::npos) return {};
      std::string g = info.substr(open + 1, close - open - 1);
      return g == "ANONYMOUS" ? std::string() : g;
    }
    if (auto at = info.find("GTID "); at != std::string::npos) {
      std::string g = info.substr(at + 5);
      return g.substr(0, g.find(' '));
    }
  }
  return {};
}

// ER_ERROR_WHEN_EXECUTING_COMMAND: the server read its binlog and could not find the event (the log
// is purged, the offset is not an event). Asking again will not help; anything else may pass.
bool binlog_unreadable(const Error& e) {
  return e.code == 1220;
}

}  // namespace

StepOutcome skip_sql_error(StepContext& ctx) {
  const MhaServer* old_cfg = ctx.old_master();
  const MhaServer* new_cfg = ctx.new_master();
  if (!old_cfg || !new_cfg)
    return StepOutcome::block("the failover's servers are not in the MHA config", ctx.ack_hint());
  const ServerSnapshot* old = ctx.snapshot.find(old_cfg->hostname);
  if (!old || !old->replica) return StepOutcome::retry("no replication status on " + old_cfg->hostname);
  const auto& rep = *old->replica;
  if (rep.last_sql_errno == 0 || rep.sql_running)
    return StepOutcome::progress("no SQL error to skip any more");
  if (static_cast<int>(ctx.state.skipped_events.size()) >= ctx.config.sql_error_policy.max_skips)
    return StepOutcome::block("the skip budget is used up", ctx.ack_hint());
  const std::string& host = old_cfg->hostname;
  const std::string& source = new_cfg->hostname;
  if (rep.source_executed.empty())
    return StepOutcome::block(
        "replication on " + host + " stopped on error " + std::to_string(rep.last_sql_errno) +
            " but shows no executed source position: the failing transaction cannot be "
            "identified, so it is not skipped",
        "repair the data on " + host + " so the event applies, START SLAVE on it, " + ctx.ack_hint());

  auto event = ctx.io.sql(source, first_event_at(rep.source_executed));
  if (!event && binlog_unreadable(event.error()))
    return StepOutcome::block(
        "cannot identify the transaction that failed on " + host + " with error " +
            std::to_string(rep.last_sql_errno) + ": reading " + source + "'s binlog at " +
            rep.source_executed.label() + " failed: " + event.error().message +
            "; a transaction that cannot be named is never skipped",
        "repair the data on " + host + " so the event applies, START SLAVE on it, " + ctx.ack_hint());
  if (!event)
    return StepOutcome::retry("cannot read the failing transaction at " + rep.source_executed.label() +
                              " on " + source +
                              " (never skip what cannot be named): " + event.error().message);
  const std::string gtid = gtid_of_event(*event);

  SkippedEvent e;
  e.at = ctx.io.now();
  e.server = host;
  e.position = rep.source_executed.label() + (gtid.empty() ? "" : " (GTID " + gtid + ")");
  e.error_number = rep.last_sql_errno;
  e.error = rep.last_sql_error;
  // Recorded before acting: a crash after the skip must not hide that it happened.
  ctx.state.skipped_events.push_back(e);
  if (auto saved = ctx.io.save(); !saved) {
    ctx.state.skipped_events.pop_back();
    return StepOutcome::retry("cannot persist state before skipping: " + saved.error().message);
  }
  std::map<std::string, std::string> fields{{"POSITION", e.position},
                                            {"ERRNO", std::to_string(e.error_number)}};
  if (!gtid.empty()) fields["GTID"] = gtid;
  ctx.io.audit(AuditKind::SkippedEvent, AuditPriority::Warning,
               "skipping the transaction " + (gtid.empty() ? std::string() : "GTID " + gtid + " ") + "at " +
                   source + "'s " + rep.source_executed.label() + " on " + host + ": error " +
                   std::to_string(e.error_number) + ": " + e.error,
               host, std::move(fields));
  if (auto r = ctx.io.sql(host, sqlstmt::stop_replica(old->flavor, old->version)); !r)
    return StepOutcome::retry("STOP SLAVE on " + host + " failed: " + r.error().message);
  if (auto r = ctx.io.sql(host, sqlstmt::skip_one_event(old->flavor, old->version)); !r)
    return StepOutcome::retry("setting the skip counter on " + host + " failed: " + r.error().message);
  if (auto r = ctx.io.sql(host, sqlstmt::start_replica(old->flavor, old->version)); !r)
    return StepOutcome::retry("START SLAVE on " + host + " failed: " + r.error().message);
  ctx.state.healthy_since.reset();
  return StepOutcome::progress("skipped " +
                               (gtid.empty() ? std::string("one transaction") : "transaction " + gtid) +
                               " on " + host + " (" + std::to_string(ctx.state.skipped_events.size()) +
                               " of at most " + std::to_string(ctx.config.sql_error_policy.max_skips) + ")");
}

}  // namespace mhafb

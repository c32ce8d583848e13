// Step 4, the divergence gate: never rejoin a server holding transactions the new master lacks.
// MariaDB: gtid_binlog_state per (domain, server_id); MySQL: gtid_executed subset; without GTIDs: the
// old master's binlog end against what the replicas had read at failover time. A diverged server is
// reported with its extra transactions, written to the state directory for the operator, and blocks.
#include "core/gtid.hpp"
#include "steps/step.hpp"

namespace mhafb {

namespace {

bool position_after(const BinlogPosition& a, const BinlogPosition& b) {
  if (a.file != b.file) return a.file > b.file;  // same basename, zero-padded sequence numbers
  return a.pos > b.pos;
}

}  // namespace

StepOutcome divergence_gate(StepContext& ctx) {
  const MhaServer* old_cfg = ctx.old_master();
  const MhaServer* new_cfg = ctx.new_master();
  if (!old_cfg || !new_cfg)
    return StepOutcome::block("the failover's servers are not in the MHA config", ctx.ack_hint());
  const ServerSnapshot* old = ctx.snapshot.find(old_cfg->hostname);
  const ServerSnapshot* neu = ctx.snapshot.find(new_cfg->hostname);
  if (!old || !neu || !old->sql_reachable || !neu->sql_reachable)
    return StepOutcome::retry("both servers must answer SQL to compare their transactions");

  DivergenceReport report;
  std::string method;
  if (old->flavor == Flavor::MariaDB && !old->gtid_binlog_state.empty()) {
    MariaDivergenceInput in;
    in.old_binlog_state = old->gtid_binlog_state;
    in.new_binlog_state = neu->gtid_binlog_state;
    in.new_slave_pos = neu->gtid_slave_pos;
    std::string label = "old master " + old->hostname;
    in.old_master_label = label;
    auto r = compare_mariadb_gtid_states(in);
    if (!r)
      return StepOutcome::block(
          "cannot compare the GTID states of " + old->hostname + " and " + neu->hostname + ": " +
              r.error().message,
          "compare them by hand (SELECT @@gtid_binlog_state on both), " + ctx.ack_hint());
    report = *r;
    method = "gtid_binlog_state";
  } else if (old->flavor == Flavor::MySQL && !old->gtid_executed.empty()) {
    auto r = compare_mysql_gtid_executed(old->gtid_executed, neu->gtid_executed);
    if (!r)
      return StepOutcome::block("cannot compare gtid_executed of " + old->hostname + " and " + neu->hostname +
                                    ": " + r.error().message,
                                "compare them by hand, " + ctx.ack_hint());
    report = *r;
    method = "gtid_executed";
  } else {
    const auto& f = *ctx.state.failover;
    if (f.latest_replica_read.empty() || old->binlog_end.empty())
      return StepOutcome::block(
          "cannot prove that " + old->hostname +
              " holds nothing the new master lacks: no GTIDs and no binlog coordinates from the "
              "manager log",
          "compare the old master's binlog end with what " + neu->hostname + " received, by hand, " +
              ctx.ack_hint());
    method = "binlog coordinates";
    if (position_after(old->binlog_end, f.latest_replica_read) && !f.dead_master_ssh_reachable) {
      report.diverged = true;
      report.sentence = "old master " + old->hostname + " wrote its binlog up to " + old->binlog_end.label() +
                        " but the replicas had only read up to " + f.latest_replica_read.label() +
                        " when MHA failed over, and MHA could not reach it over SSH to save the rest";
    }
  }

  if (!report.diverged) {
    ctx.state.divergence_checked = true;
    ctx.io.audit(AuditKind::StepFinished, AuditPriority::Info,
                 "divergence gate passed for " + old->hostname + " (" + method +
                     "): every transaction it holds is on " + neu->hostname,
                 old->hostname);
    return StepOutcome::progress("divergence gate passed: " + old->hostname + " holds nothing " +
                                 neu->hostname + " lacks (" + method + ")");
  }

  // Write the report for the operator.
  std::string path =
      ctx.state_dir + "/history/" + ctx.config.name + "-divergence-" + utc_stamp(ctx.io.now()) + ".txt";
  std::string text =
      "Divergence found by mha-failback on cluster " + ctx.config.name + "\n" + report.sentence + "\n\n";
  text += "old master: " + old->hostname + " (server_id " + std::to_string(old->server_id) + ")\n";
  text += "new master: " + neu->hostname + " (server_id " + std::to_string(neu->server_id) + ")\n";
  text += "method: " + method + "\n";
  if (!old->gtid_binlog_state.empty()) text += "old gtid_binlog_state: " + old->gtid_binlog_state + "\n";
  if (!neu->gtid_binlog_state.empty()) text += "new gtid_binlog_state: " + neu->gtid_binlog_state + "\n";
  if (!old->gtid_executed.empty()) text += "old gtid_executed: " + old->gtid_executed + "\n";
  if (!neu->gtid_executed.empty()) text += "new gtid_executed: " + neu->gtid_executed + "\n";
  text += "old binlog end: " + old->binlog_end.label() + "\n";
  for (const auto& e : report.extra)
    text += "extra transactions: " + e.to_string() + "\n";
  text +=
      "\nExtract them from " + old->hostname +
      "'s binlog with mysqlbinlog (MariaDB: --start-position / "
      "--stop-position accept GTIDs) and decide with the application owners whether to re-apply them on " +
      neu->hostname + " or to rebuild " + old->hostname + " from " + neu->hostname + ".\n";
  auto written = ctx.io.ports().files.write_atomic(path, text, 0600);
  std::string where =
      written ? "; details saved in " + path : "; the report could not be saved: " + written.error().message;
  ctx.io.audit(AuditKind::Divergence, AuditPriority::Err, report.sentence + where, old->hostname,
               {{"REPORT", written ? path : ""}});
  return StepOutcome::block(report.sentence + "; rejoining it would fork the data" + where,
                            "decide with the application owners: re-apply the extra transactions on " +
                                neu->hostname + " or rebuild " + old->hostname + " from it; " +
                                ctx.ack_hint());
}

}  // namespace mhafb

// Step 4, the divergence gate: never rejoin a server holding transactions the new master lacks.
// MariaDB: gtid_binlog_state per (domain, server_id); MySQL: gtid_executed subset; without GTIDs: the
// old master's binlog end against what the replicas had read at failover time. A diverged server
// blocks: its extra transactions are saved with mysqlbinlog into the state directory's history/
// (binlog_extract), and a report beside them names the file, the GTID ranges and the operator's next
// step. When they cannot be saved the gate blocks all the same and the reason says why.
#include "core/gtid.hpp"
#include "steps/binlog_extract.hpp"
#include "steps/step.hpp"

namespace mhafb {

namespace {

bool position_after(const BinlogPosition& a, const BinlogPosition& b) {
  if (a.file != b.file) return a.file > b.file;  // same basename, zero-padded sequence numbers
  return a.pos > b.pos;
}

using SavedOrWhy = Result<SavedTransactions>;

// The old master's extra transactions, read with mysqlbinlog into the history directory.
SavedOrWhy save_extras(StepContext& ctx, const ServerSnapshot& old, const DivergenceReport& report,
                       const std::string& directory, const std::string& file_name) {
  ExtractRequest req;
  req.hostname = old.hostname;
  req.flavor = old.flavor;
  req.mysqlbinlog = ctx.config.commands.mysqlbinlog;
  req.account = &ctx.config.admin;
  req.extra = report.extra;
  if (req.extra.empty() && ctx.state.failover) req.after = ctx.state.failover->latest_replica_read;
  req.directory = directory;
  req.file_name = file_name;
  req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.config.timeouts.tool);
  return save_extra_transactions(ctx.io, req);
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

  // Save the extra transactions themselves, then the report naming them, for the operator.
  const std::string stamp = utc_stamp(ctx.io.now());
  const std::string history = ctx.state_dir + "/history";
  const std::string base = ctx.config.name + "-divergence-" + stamp;
  const std::string path = history + "/" + base + ".txt";
  SavedOrWhy saved = ctx.planning ? SavedOrWhy{Error::cancelled("not extracted while planning")}
                                  : save_extras(ctx, *old, report, history, base + ".binlog.sql");

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
  std::string next;
  if (saved) {
    text += "saved transactions: " + saved->path + "\n";
    text += "saved transaction count: " + std::to_string(saved->transactions) + " (" +
            std::to_string(saved->bytes) + " bytes, mysqlbinlog --verbose output read from " + old->hostname +
            ")\n";
    if (!saved->outside.empty()) {
      text += "also in the file, NOT extra (the new master has them, skip them):";
      for (const auto& g : saved->outside)
        text += " " + g;
      text += "\n";
    }
    next = "inspect " + saved->path + " (row changes are decoded in its ### comments), re-apply by hand on " +
           neu->hostname + " what must be kept or discard them, rebuild " + old->hostname + " from " +
           neu->hostname + " so that it no longer holds them, " + ctx.ack_hint();
  } else {
    text += "saved transactions: none: " + saved.error().message + "\n";
    next = "the extra transactions could not be saved (" + saved.error().message + "): extract them from " +
           old->hostname +
           "'s binlog with mysqlbinlog (MariaDB: --start-position / --stop-position accept GTIDs) before "
           "anything else, decide with the application owners whether to re-apply them on " +
           neu->hostname + " or to discard them, rebuild " + old->hostname + " from " + neu->hostname + ", " +
           ctx.ack_hint();
  }
  text += "\nNext steps: " + next + "\n";
  auto written = ctx.io.ports().files.write_atomic(path, text, 0600);

  std::string what = saved ? "; its " + std::to_string(saved->transactions) + " extra transaction" +
                                 (saved->transactions == 1 ? "" : "s") + " were saved in " + saved->path
                           : "; the extra transactions could not be saved: " + saved.error().message;
  std::string where =
      written ? "; details in " + path : "; the report could not be saved: " + written.error().message;
  std::map<std::string, std::string> fields{{"REPORT", written ? path : ""},
                                            {"TRANSACTIONS_FILE", saved ? saved->path : ""}};
  ctx.io.audit(AuditKind::Divergence, AuditPriority::Err, report.sentence + what + where, old->hostname,
               std::move(fields));
  return StepOutcome::block(report.sentence + "; rejoining it would fork the data" + what + where, next);
}

}  // namespace mhafb

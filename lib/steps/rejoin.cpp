// Step 5, rejoin: the old master becomes a replica of the new master from the right place — MariaDB
// GTID (gtid_slave_pos := its own gtid_binlog_pos, master_use_gtid=slave_pos), MySQL auto-position,
// or MHA's promotion coordinates. Never the new master's current position: that is the runbook's
// data-loss bug (every transaction between the failover and that moment would be skipped).
#include "core/decision.hpp"
#include "sql/statements.hpp"
#include "steps/step.hpp"

namespace mhafb {

StepOutcome rejoin(StepContext& ctx) {
  const MhaServer* old_cfg = ctx.old_master();
  const MhaServer* new_cfg = ctx.new_master();
  if (!old_cfg || !new_cfg)
    return StepOutcome::block("the failover's servers are not in the MHA config", ctx.ack_hint());
  const ServerSnapshot* old = ctx.snapshot.find(old_cfg->hostname);
  if (!old || !old->sql_reachable)
    return StepOutcome::retry("old master " + old_cfg->hostname + " does not answer SQL");
  if (!ctx.state.divergence_checked)
    return StepOutcome::retry("the divergence gate has not passed for " + old_cfg->hostname);
  if (!old->read_only) return StepOutcome::retry(old_cfg->hostname + " is not fenced");
  if (replicates_from(*old, *new_cfg) && old->replica->sql_running &&
      (old->replica->io_running || old->replica->io_connecting))
    return StepOutcome::transition(ClusterState::SlaveRejoined,
                                   old_cfg->hostname + " already replicates from " + new_cfg->hostname);
  // It already applied transactions and stopped on an error: rejoining again would reset
  // gtid_slave_pos (or the coordinates) behind what it applied and replay it.
  if (replicates_from(*old, *new_cfg) && old->replica->last_sql_errno != 0 && !old->replica->sql_running)
    return StepOutcome::block(
        "replication on " + old_cfg->hostname + " stopped on error " +
            std::to_string(old->replica->last_sql_errno) + ": " + old->replica->last_sql_error +
            "; rejoining again would replay what it applied",
        "repair the data on " + old_cfg->hostname + ", START SLAVE on it, " + ctx.ack_hint());

  const auto& repl = ctx.config.replication;
  if (repl.user.empty())
    return StepOutcome::block(
        "no replication account is configured (repl_user in the MHA config or "
        "replication.user in the daemon config)",
        "configure it, " + ctx.ack_hint());
  const std::string& host = old_cfg->hostname;
  const std::string source_host = new_cfg->sql_address();
  SqlStatement change;
  std::string how;
  if (old->flavor == Flavor::MariaDB && !old->gtid_binlog_pos.empty()) {
    change = sqlstmt::change_source_gtid(old->flavor, old->version, source_host, new_cfg->port, repl.user,
                                         repl.password.value);
    how = "GTID (gtid_slave_pos := its gtid_binlog_pos " + old->gtid_binlog_pos + ")";
  } else if (old->flavor == Flavor::MySQL && !old->gtid_executed.empty()) {
    change = sqlstmt::change_source_gtid(old->flavor, old->version, source_host, new_cfg->port, repl.user,
                                         repl.password.value);
    how = "GTID auto-position";
  } else {
    const auto& f = *ctx.state.failover;
    if (!f.has_promotion)
      return StepOutcome::block(
          "no GTIDs and no promotion coordinates in the manager log: there is no safe place "
          "for " +
              host + " to start replicating from",
          "find the promotion coordinates (\"Statement should be: CHANGE MASTER TO\" in the "
          "manager log) and rejoin by hand, " +
              ctx.ack_hint());
    change = sqlstmt::change_source_position(old->flavor, old->version, source_host, new_cfg->port, repl.user,
                                             repl.password.value, f.promotion);
    how = "MHA's promotion coordinates " + f.promotion.label();
  }

  if (auto r = ctx.io.sql(host, sqlstmt::stop_replica(old->flavor, old->version)); !r)
    return StepOutcome::retry("STOP SLAVE on " + host + " failed: " + r.error().message);
  if (old->flavor == Flavor::MariaDB && !old->gtid_binlog_pos.empty()) {
    if (auto r = ctx.io.sql(host, sqlstmt::gtid_slave_pos_from_binlog_pos()); !r)
      return StepOutcome::retry("setting gtid_slave_pos on " + host + " failed: " + r.error().message);
  }
  if (auto r = ctx.io.sql(host, change); !r)
    return StepOutcome::retry("CHANGE MASTER on " + host + " failed: " + r.error().message);
  if (auto r = ctx.io.sql(host, sqlstmt::start_replica(old->flavor, old->version)); !r)
    return StepOutcome::retry("START SLAVE on " + host + " failed: " + r.error().message);
  ctx.state.rejoined_at = ctx.io.now();
  ctx.state.healthy_since.reset();
  return StepOutcome::transition(ClusterState::SlaveRejoined, "rejoined " + host + " as a replica of " +
                                                                  new_cfg->hostname + " using " + how);
}

}  // namespace mhafb

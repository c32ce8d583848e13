// Step 1, detect the failover: the flag <workdir>/<app>.failover.complete appeared. Read the manager
// log for the dead and the new master, success vs partial, and the promotion coordinates. Reads only.
#include "core/decision.hpp"
#include "mha/output_parsers.hpp"
#include "steps/step.hpp"

namespace mhafb {

namespace {
constexpr std::uint64_t kLogTail = 8 * 1024 * 1024;

std::string outcome_name(FailoverOutcome o) {
  switch (o) {
    case FailoverOutcome::Success:
      return "success";
    case FailoverOutcome::Partial:
      return "partial";
    case FailoverOutcome::Failed:
      return "failed";
    case FailoverOutcome::Unknown:
      return "unknown";
  }
  return "unknown";
}

// A server named in the log (hostname or ip) as the config's hostname.
std::string config_hostname(const ClusterConfig& c, const std::string& name, int port) {
  for (const auto& s : c.mha.servers)
    if ((s.hostname == name || (!s.ip.empty() && s.ip == name)) && (port == 0 || s.port == port))
      return s.hostname;
  return {};
}
// After a failover to the preferred master, the failed server was already rejoined (by hand) as its
// fenced replica: the failover needs nothing more, and blocking would only loop through every ack.
bool old_master_follows(const ClusterConfig& c, const ClusterSnapshot& snap, const FailoverFacts& f) {
  const ServerSnapshot* neu = snap.find(f.new_master);
  const ServerSnapshot* old = snap.find(f.old_master);
  const MhaServer* neu_cfg = c.mha.find_server(f.new_master);
  return neu && old && neu_cfg && neu->acts_as_master() && snap.masters().size() == 1 && old->sql_reachable &&
         old->read_only && replicates_from(*old, *neu_cfg) && old->replica->sql_running &&
         (old->replica->io_running || old->replica->io_connecting);
}
}  // namespace

StepOutcome detect_failover(StepContext& ctx) {
  const auto& cfg = ctx.config;
  const auto& snap = ctx.snapshot;
  if (!snap.mha.failover_complete_mtime)
    return StepOutcome::wait("the failover flag is gone again; nothing to do");

  FailoverReport report;
  if (!cfg.mha.manager_log.empty()) {
    auto log = ctx.io.ports().files.read_tail(cfg.mha.manager_log, kLogTail);
    if (log)
      report = parse_failover_report(*log);
    else
      ctx.io.audit(AuditKind::Warning, AuditPriority::Warning,
                   "cannot read the manager log " + cfg.mha.manager_log + ": " + log.error().message +
                       "; the roles are taken from what the servers say");
  }

  FailoverFacts f;
  f.flag_mtime = *snap.mha.failover_complete_mtime;
  f.detected_at = ctx.io.now();
  f.outcome = outcome_name(report.outcome);
  f.old_master = config_hostname(cfg, report.dead_master_host, report.dead_master_port);
  f.new_master =
      config_hostname(cfg, report.new_master_host.empty() ? report.new_master_ip : report.new_master_host,
                      report.new_master_port);
  if (f.new_master.empty()) {
    auto masters = snap.masters();
    if (masters.size() == 1) f.new_master = masters[0]->hostname;
  }
  if (f.old_master.empty()) f.old_master = cfg.preferred_master;
  if (report.promotion) {
    f.has_promotion = true;
    f.promotion_host = report.promotion->host;
    f.promotion_port = report.promotion->port;
    f.promotion = report.promotion->position;
  }
  if (report.latest_replica_position) f.latest_replica_read = *report.latest_replica_position;
  f.dead_master_ssh_reachable = report.dead_master_ssh_reachable;
  for (const auto& w : report.warnings)
    ctx.io.audit(AuditKind::Warning, AuditPriority::Warning, "manager log: " + w);

  ctx.state.handled_flag_mtime = f.flag_mtime;
  if (f.new_master.empty())
    return StepOutcome::block(
        "a failover flag appeared but neither the manager log nor the servers tell which server "
        "MHA promoted",
        "read the manager log, make sure exactly one server is writable, " + ctx.ack_hint());
  if (f.new_master == f.old_master)
    return StepOutcome::block("the failover promoted " + f.new_master +
                                  ", which is also the server the log names as failed; the roles are unclear",
                              "read the manager log and check the roles by hand, " + ctx.ack_hint());
  if (f.new_master == cfg.preferred_master && old_master_follows(cfg, snap, f))
    return StepOutcome::wait("MHA failed over to the preferred master " + f.new_master + " and " +
                             f.old_master +
                             " already replicates from it: nothing to switch back or rejoin (restart the MHA "
                             "manager if it is not running)");
  if (f.new_master == cfg.preferred_master)
    return StepOutcome::block("MHA failed over to the preferred master " + f.new_master +
                                  "; there is nothing to switch back, but " + f.old_master +
                                  " must be rejoined by hand",
                              "rejoin " + f.old_master + " as a replica of " + f.new_master +
                                  ", restart the MHA manager, " + ctx.ack_hint());
  std::string how = f.has_promotion ? "; promotion coordinates " + f.promotion.label() : "";
  ctx.state.failover = f;
  return StepOutcome::transition(ClusterState::Degraded, "failover detected (" + f.outcome +
                                                             "): MHA promoted " + f.new_master + " after " +
                                                             f.old_master + " failed" + how);
}

}  // namespace mhafb

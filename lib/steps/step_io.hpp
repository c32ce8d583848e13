// StepIo: the audited way steps reach the world. Every statement that changes something, every
// command and every remote command becomes an audit record (statement without secrets; command with
// exit code and duration). Servers are named by their MHA hostname and resolved here to the
// addresses to connect to.
#pragma once

#include <functional>
#include <string>

#include "config/cluster_config.hpp"
#include "supervisor/ports.hpp"

namespace mhafb {

class StepIo {
 public:
  StepIo(const ClusterConfig& config, Ports ports, std::function<Status()> save,
         std::function<void(AuditRecord&)> stamp);

  Result<ResultSet> sql(const std::string& hostname, const SqlStatement& statement);
  Result<CommandOutput> local(const CommandSpec& spec);
  Result<CommandOutput> remote(const std::string& hostname, const CommandSpec& spec);
  Status probe_host(const std::string& hostname);
  // Persists the state now (steps call it at their checkpoints).
  Status save() { return save_(); }
  void audit(AuditKind kind, AuditPriority priority, std::string message, std::string server = {},
             std::map<std::string, std::string> fields = {});

  Endpoint endpoint_of(const std::string& hostname) const;
  RemoteTarget target_of(const std::string& hostname) const;
  Ports& ports() { return ports_; }
  TimePoint now() { return ports_.clock.now(); }

 private:
  void audit_command(AuditKind kind, const std::string& prefix, const std::string& server,
                     const CommandSpec& spec, const Result<CommandOutput>& result);

  const ClusterConfig& config_;
  Ports ports_;
  std::function<Status()> save_;
  std::function<void(AuditRecord&)> stamp_;  // adds cluster, state, operation id
};

// "20261124T041604Z": the UTC time in names of files under the state directory's history/.
std::string utc_stamp(TimePoint t);

}  // namespace mhafb

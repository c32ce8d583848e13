// Dry-run decorators: the pass-through / record split.
#include "exec/dry_run.hpp"

namespace mhafb {

namespace {
CommandOutput skipped_success() {
  CommandOutput out;
  out.exit_code = 0;
  return out;
}
}  // namespace

void DryRunLog::record(std::string action) {
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(action));
}

std::vector<std::string> DryRunLog::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

void DryRunLog::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

Result<CommandOutput> DryRunCommandPort::run(const CommandSpec& spec) {
  if (!spec.mutates) return inner_.run(spec);
  log_.record(spec.display());
  return skipped_success();
}

Result<ResultSet> DryRunSqlPort::query(const Endpoint& server, const SqlStatement& statement) {
  if (!statement.mutates) return inner_.query(server, statement);
  log_.record(server.label() + ": " + statement.audit_text);
  return ResultSet{};
}

Result<CommandOutput> DryRunRemoteShellPort::run(const RemoteTarget& target, const CommandSpec& spec) {
  if (!spec.mutates) return inner_.run(target, spec);
  log_.record(target.label() + ": " + spec.display());
  return skipped_success();
}

Status DryRunRemoteShellPort::probe(const RemoteTarget& target, std::chrono::milliseconds timeout) {
  return inner_.probe(target, timeout);
}

}  // namespace mhafb

// Dry-run decorators: wrap the real ports so that everything that only looks (SHOW ..., the MHA
// check tools, SSH probes) runs for real while everything that would change a server is recorded
// instead and answered with an empty success. An operator sees exactly what a failback would do.
// The records of all three decorators can go into one shared DryRunLog, in the order they happened.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "ports/command_port.hpp"
#include "ports/remote_shell_port.hpp"
#include "ports/sql_port.hpp"

namespace mhafb {

// Thread-safe, ordered list of the actions a dry run skipped.
class DryRunLog {
 public:
  void record(std::string action);
  std::vector<std::string> entries() const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
};

// Runs specs with mutates=false through the wrapped port; records display() of the others.
class DryRunCommandPort final : public CommandPort {
 public:
  DryRunCommandPort(CommandPort& inner, DryRunLog& log) : inner_(inner), log_(log) {}
  Result<CommandOutput> run(const CommandSpec& spec) override;

 private:
  CommandPort& inner_;
  DryRunLog& log_;
};

// Passes statements with mutates=false through; records "<server>: <audit_text>" of the others
// (never `text`, which may hold a password) and answers them with an empty ResultSet.
class DryRunSqlPort final : public SqlPort {
 public:
  DryRunSqlPort(SqlPort& inner, DryRunLog& log) : inner_(inner), log_(log) {}
  Result<ResultSet> query(const Endpoint& server, const SqlStatement& statement) override;

 private:
  SqlPort& inner_;
  DryRunLog& log_;
};

// Passes probes and specs with mutates=false through; records "<target>: <display()>" of the others.
class DryRunRemoteShellPort final : public RemoteShellPort {
 public:
  DryRunRemoteShellPort(RemoteShellPort& inner, DryRunLog& log) : inner_(inner), log_(log) {}
  Result<CommandOutput> run(const RemoteTarget& target, const CommandSpec& spec) override;
  Status probe(const RemoteTarget& target, std::chrono::milliseconds timeout) override;

 private:
  RemoteShellPort& inner_;
  DryRunLog& log_;
};

}  // namespace mhafb

// RemoteShellPort: runs a command on a database host over SSH (starting the old master's server,
// companion services). The production adapter (exec/) uses libssh2 with ed25519 public-key auth and
// host keys verified against a known_hosts file. The argv is quoted for the remote user's shell by
// the adapter (SSH has no argv on the wire); nothing is ever interpolated.
#pragma once

#include <chrono>
#include <string>

#include "common/result.hpp"
#include "ports/command_port.hpp"

namespace mhafb {

struct RemoteTarget {
  std::string host;  // connect address (the MHA `hostname`, or `ip` when set)
  int port = 22;
  std::string user = "root";

  std::string label() const { return user + "@" + host + ":" + std::to_string(port); }
};

class RemoteShellPort {
 public:
  virtual ~RemoteShellPort() = default;
  // Runs spec.argv on the target. Errors: Unreachable (no TCP), HostKey (unknown or changed key),
  // Auth, Timeout. A command that ran and failed is a CommandOutput.
  virtual Result<CommandOutput> run(const RemoteTarget& target, const CommandSpec& spec) = 0;
  // Connects, verifies the host key and authenticates, then disconnects: "the host answers".
  virtual Status probe(const RemoteTarget& target, std::chrono::milliseconds timeout) = 0;
};

}  // namespace mhafb

// SshRemoteShell: the production RemoteShellPort, over libssh2 1.10. One fresh connection per call
// (connect, verify the host key against a known_hosts file, ed25519 public-key login, one exec
// channel), so calls on different threads share nothing but libssh2's one-time global init.
//
// The command line. SSH carries a single string, not an argv: sshd hands it to the remote user's
// login shell as `$SHELL -c <string>`. So every argument is single-quoted for a POSIX shell (a ' in
// an argument becomes '\'') and the quoted words are joined with spaces; the remote shell then
// rebuilds exactly the original argv, with no expansion, globbing or word splitting. This needs a
// POSIX-compatible login shell for the remote user (sh, bash, dash, ksh, zsh) — csh and fish
// interpret the quoting differently. Arguments cannot contain NUL bytes. No environment variables
// are sent, and no pty is requested (stderr stays separate, nothing is echoed). Note that Debian's
// bash sources the user's ~/.bashrc for commands started by sshd: whatever it prints lands in the
// output, and whatever it runs adds to each call's time.
//
// Results. Errors before the command starts: Unreachable (no TCP connection within
// connect_timeout, or the server hung up during the handshake), Timeout (spec.timeout passed during
// the handshake, login or channel setup — e.g. a server that accepts TCP but never speaks), HostKey
// (unknown, changed or revoked host key — never bypassed), Auth, Failed, Invalid (empty argv, NUL in
// an argument, a non-empty spec.env, no time). Once the command runs, the answer is a CommandOutput:
// exit_code; or term_signal with exit_code -1 when the remote command died by a signal (term_signal
// -1 for a signal name this side does not know); or timed_out = true with the output that arrived
// before spec.timeout. A connection lost while the command ran is Failed: its outcome is unknown.
// Output beyond ClientOptions::max_output_bytes per stream is cut like the local ProcessRunner's.
//
// On a deadline the connection is dropped. sshd then closes the command's pipes but does not kill
// it (libssh2 1.10 cannot send the "signal" channel request and no pty means no SIGHUP): a remote
// command that must not outlive its deadline has to bound itself (e.g. `timeout 30 ...`). Likewise,
// as with the OpenSSH client, a command that leaves a background process holding its stdout or
// stderr keeps the channel open until that process exits or the deadline passes: start daemons with
// their output redirected (systemctl does).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "exec/ssh_connection.hpp"
#include "ports/remote_shell_port.hpp"

namespace mhafb {

using SshClientOptions = ssh::ClientOptions;

// 'arg' for a POSIX shell: the whole argument in single quotes, each ' as '\''.
std::string posix_shell_quote(std::string_view arg);
// Every argument quoted, joined with single spaces: the line sent in the SSH "exec" request.
std::string posix_shell_command_line(const std::vector<std::string>& argv);

class SshRemoteShell final : public RemoteShellPort {
 public:
  explicit SshRemoteShell(SshClientOptions options) : options_(std::move(options)) {}

  // The whole call — connect, handshake, login, the command, closing — is bounded by spec.timeout.
  // A spec.env is refused rather than silently dropped: sshd ignores environment requests unless
  // its AcceptEnv allows them, so nothing may rely on them.
  Result<CommandOutput> run(const RemoteTarget& target, const CommandSpec& spec) override;
  Status probe(const RemoteTarget& target, std::chrono::milliseconds timeout) override;

 private:
  SshClientOptions options_;
};

}  // namespace mhafb

// One authenticated SSH connection for the libssh2 adapter, and the session channel a command runs
// on. Everything runs in libssh2's non-blocking mode and waits with poll() on the directions
// libssh2 reports, so every step — TCP connect, banner, key exchange, authentication, channel
// requests, reads — is bounded by the caller's deadline even when the server stops answering
// (libssh2_session_set_timeout only works in blocking mode).
//
// Teardown never blocks: a connection abandoned half-way (deadline, error) has its socket shut
// down first, so libssh2's channel/session free paths see a dead socket instead of EAGAIN and
// release everything.
#pragma once

#include <libssh2.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "exec/unique_fd.hpp"
#include "ports/remote_shell_port.hpp"

namespace mhafb::ssh {

using Clock = std::chrono::steady_clock;

// The client side of every connection: one identity, one known_hosts file.
struct ClientOptions {
  std::string identity_file;     // ed25519 (or ECDSA) private key, without passphrase
  std::string known_hosts_file;  // OpenSSH format; hashed names are fine
  std::chrono::milliseconds connect_timeout{5'000};
  // Bytes kept per stream of a command's output, as for local commands (ProcessRunnerOptions): the
  // tail is kept, and the remote side is always read to the end so it never stalls.
  std::size_t max_output_bytes = 4 * 1024 * 1024;
};

class Connection {
 public:
  // TCP connect (bounded by connect_timeout and the deadline), handshake with host keys
  // "ssh-ed25519,ecdsa-sha2-nistp256", host key check, public-key authentication as target.user.
  // Errors: Unreachable (no TCP, or the server hung up during the handshake), Timeout (the
  // deadline passed), HostKey, Auth, Failed.
  static Result<std::unique_ptr<Connection>> open(const RemoteTarget& target, const ClientOptions& options,
                                                  Clock::time_point deadline);

  struct Key {  // only open() constructs
   private:
    friend class Connection;
    Key() = default;
  };
  Connection(Key, RemoteTarget target) : target_(std::move(target)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  LIBSSH2_SESSION* session() const { return session_; }
  const RemoteTarget& target() const { return target_; }

  // Waits until the socket is ready in the direction libssh2 last blocked on. False when the
  // deadline passed first.
  bool wait(Clock::time_point deadline) const;

  // The last libssh2 error text for this session ("" when none).
  std::string last_error() const;

  // Shuts the socket down so that no libssh2 call on this session can block or return EAGAIN any
  // more; used before freeing anything that was left half-way.
  void abort();

 private:
  RemoteTarget target_;
  UniqueFd fd_;
  LIBSSH2_SESSION* session_ = nullptr;
  bool handshake_done_ = false;
  bool aborted_ = false;
};

// A session channel on a Connection. Must not outlive it (libssh2_session_free frees channels).
class Channel {
 public:
  // Opens a "session" channel. Errors: Timeout, Failed.
  static Result<std::unique_ptr<Channel>> open(Connection& connection, Clock::time_point deadline);

  struct Key {  // only open() constructs
   private:
    friend class Channel;
    Key() = default;
  };
  Channel(Key, Connection& connection, LIBSSH2_CHANNEL* channel)
      : connection_(connection), channel_(channel) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel();

  LIBSSH2_CHANNEL* get() const { return channel_; }
  // Set once close + wait_closed completed: freeing then needs no I/O.
  void mark_closed() { closed_ = true; }

 private:
  Connection& connection_;
  LIBSSH2_CHANNEL* channel_;
  bool closed_ = false;
};

}  // namespace mhafb::ssh

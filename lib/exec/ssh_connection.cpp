// Non-blocking libssh2 connection and channel with deadlines (see ssh_connection.hpp).
#include "exec/ssh_connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "common/errno_text.hpp"
#include "exec/ssh_known_hosts.hpp"
#include "exec/unique_fd.hpp"

namespace mhafb::ssh {
namespace {

using std::chrono::milliseconds;

// libssh2_init is not thread-safe and must run once before sessions are created on any thread.
void init_libssh2_once() {
  static std::once_flag once;
  std::call_once(once, [] { (void)libssh2_init(0); });
}

// Milliseconds left until `deadline`, rounded up so that a poll never returns just before it.
int poll_timeout_ms(Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<milliseconds>(left).count();
  return static_cast<int>(std::min<long long>(ms, 60'000));
}

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since).count();
}

Error auth_error(std::string message) {
  return Error{ErrorKind::Auth, std::move(message), 0};
}

// Non-blocking connect to every address of the target in turn until one answers or `deadline`.
Result<UniqueFd> tcp_connect(const RemoteTarget& target, Clock::time_point deadline) {
  const auto started = Clock::now();
  const std::string where = target.host + ":" + std::to_string(target.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(target.port);
  // getaddrinfo cannot be bounded; hosts are normally addresses or /etc/hosts names.
  if (const int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return Error::unreachable("cannot resolve SSH host " + target.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, ::freeaddrinfo);

  std::string last_failure = "no address";
  for (const addrinfo* ai = addresses.get(); ai != nullptr; ai = ai->ai_next) {
    UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      last_failure = errno_text(errno);
      continue;
    }
    int rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last_failure = errno_text(errno);
      continue;
    }
    if (rc != 0) {
      pollfd p{fd.get(), POLLOUT, 0};
      for (;;) {
        const int ms = poll_timeout_ms(deadline);
        if (ms == 0) break;
        rc = ::poll(&p, 1, ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc != 0) break;
      }
      if (rc <= 0) {
        return Error::unreachable("no TCP connection to SSH at " + where + " within " +
                                  std::to_string(elapsed_ms(started)) + " ms");
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) so_error = errno;
      if (so_error != 0) {
        last_failure = errno_text(so_error);
        continue;
      }
    }
    const int one = 1;
    (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }
  return Error::unreachable("cannot connect to SSH at " + where + ": " + last_failure);
}

bool is_connection_loss(int rc) {
  switch (rc) {
    case LIBSSH2_ERROR_SOCKET_NONE:
    case LIBSSH2_ERROR_BANNER_RECV:
    case LIBSSH2_ERROR_BANNER_SEND:
    case LIBSSH2_ERROR_SOCKET_SEND:
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_SOCKET_RECV:
    case LIBSSH2_ERROR_SOCKET_TIMEOUT:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const RemoteTarget& target, const ClientOptions& options,
                                                     Clock::time_point deadline) {
  init_libssh2_once();
  const auto started = Clock::now();
  const std::string who = target.label();
  if (target.user.empty()) return Error::invalid("no SSH user for " + who);
  if (::access(options.identity_file.c_str(), R_OK) != 0) {
    return auth_error("cannot read the SSH identity file '" + options.identity_file + "' for " + who + ": " +
                      errno_text(errno));
  }

  auto conn = std::make_unique<Connection>(Key{}, target);
  conn->session_ = libssh2_session_init_ex(nullptr, nullptr, nullptr, nullptr);
  if (conn->session_ == nullptr) return Error::failed("cannot allocate an SSH session for " + who);
  libssh2_session_set_blocking(conn->session_, 0);

  // Read before touching the network: a missing known_hosts file is a local configuration error.
  auto known_hosts = KnownHosts::load(conn->session_, options.known_hosts_file);
  if (!known_hosts) return std::move(known_hosts).error();

  auto fd = tcp_connect(target, std::min(deadline, started + options.connect_timeout));
  if (!fd) return std::move(fd).error();
  conn->fd_ = std::move(*fd);

  const std::string preference = known_hosts->hostkey_preference(target.host, target.port);
  if (libssh2_session_method_pref(conn->session_, LIBSSH2_METHOD_HOSTKEY, preference.c_str()) != 0)
    return Error::failed("libssh2 supports none of the host key algorithms " + preference);

  for (;;) {
    const int rc = libssh2_session_handshake(conn->session_, conn->fd_.get());
    if (rc == 0) break;
    if (rc != LIBSSH2_ERROR_EAGAIN) {
      const std::string detail = conn->last_error();
      if (is_connection_loss(rc))
        return Error::unreachable("SSH handshake with " + who + " failed, the connection ended: " + detail);
      if (rc == LIBSSH2_ERROR_KEX_FAILURE || rc == LIBSSH2_ERROR_METHOD_NONE) {
        return Error::failed("SSH handshake with " + who + " failed (" + detail +
                             "); the server must offer a host key of type " + preference);
      }
      return Error::failed("SSH handshake with " + who + " failed: " + detail);
    }
    if (!conn->wait(deadline)) {
      return Error::timeout("SSH handshake with " + who + " did not complete within " +
                            std::to_string(elapsed_ms(started)) +
                            " ms (the TCP connection was accepted but the server does not answer)");
    }
  }
  conn->handshake_done_ = true;

  if (auto verified = known_hosts->verify(conn->session_, target.host, target.port); !verified)
    return std::move(verified).error();

  const std::string public_key = options.identity_file + ".pub";
  const char* public_key_path = ::access(public_key.c_str(), R_OK) == 0 ? public_key.c_str() : nullptr;
  for (;;) {
    const int rc = libssh2_userauth_publickey_fromfile_ex(
        conn->session_, target.user.c_str(), static_cast<unsigned>(target.user.size()), public_key_path,
        options.identity_file.c_str(), nullptr);
    if (rc == 0) break;
    if (rc != LIBSSH2_ERROR_EAGAIN) {
      const std::string detail = conn->last_error();
      if (is_connection_loss(rc))
        return Error::unreachable("connection to " + who + " ended during authentication: " + detail);
      if (rc == LIBSSH2_ERROR_FILE) {
        return auth_error("cannot use the SSH identity file '" + options.identity_file + "' to log in as " +
                          target.user + " on " + known_hosts_name(target.host, target.port) + ": " + detail +
                          " (an unencrypted ed25519 or ECDSA key is needed)");
      }
      return auth_error("public-key login as " + target.user + " on " +
                        known_hosts_name(target.host, target.port) + " with the key '" +
                        options.identity_file + "' was refused (" + detail + "); add its .pub to " +
                        target.user + "'s authorized_keys on that host");
    }
    if (!conn->wait(deadline)) {
      return Error::timeout("SSH authentication as " + target.user + " on " +
                            known_hosts_name(target.host, target.port) + " did not complete within " +
                            std::to_string(elapsed_ms(started)) + " ms");
    }
  }
  return conn;
}

Connection::~Connection() {
  if (session_ != nullptr) {
    // One non-blocking attempt at a polite goodbye; the server copes without it.
    if (handshake_done_ && !aborted_) (void)libssh2_session_disconnect(session_, "done");
    int rc = libssh2_session_free(session_);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      // Channels still needing I/O: with the socket shut down every libssh2 path fails fast.
      abort();
      rc = libssh2_session_free(session_);
    }
    (void)rc;
  }
  // fd_ closes after this body: libssh2 never closes the socket itself.
}

bool Connection::wait(Clock::time_point deadline) const {
  const int directions = libssh2_session_block_directions(session_);
  short events = 0;
  if ((directions & LIBSSH2_SESSION_BLOCK_INBOUND) != 0) events |= POLLIN;
  if ((directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0) events |= POLLOUT;
  if (events == 0) {
    // No direction reported: libssh2 may be able to go on at once; look again shortly.
    const int ms = poll_timeout_ms(deadline);
    if (ms == 0) return false;
    pollfd p{fd_.get(), POLLIN, 0};
    (void)::poll(&p, 1, std::min(ms, 10));
    return true;
  }
  for (;;) {
    const int ms = poll_timeout_ms(deadline);
    if (ms == 0) return false;
    pollfd p{fd_.get(), events, 0};
    const int rc = ::poll(&p, 1, ms);
    if (rc > 0) return true;                    // ready, or an error libssh2 will now report
    if (rc < 0 && errno != EINTR) return true;  // likewise
  }
}

std::string Connection::last_error() const {
  char* message = nullptr;
  int length = 0;
  libssh2_session_last_error(session_, &message, &length, 0);
  if (message == nullptr || length <= 0) return {};
  return std::string(message, static_cast<std::size_t>(length));
}

void Connection::abort() {
  if (fd_.valid() && !aborted_) ::shutdown(fd_.get(), SHUT_RDWR);
  aborted_ = true;
}

Result<std::unique_ptr<Channel>> Channel::open(Connection& connection, Clock::time_point deadline) {
  for (;;) {
    LIBSSH2_CHANNEL* channel = libssh2_channel_open_session(connection.session());
    if (channel != nullptr) return std::make_unique<Channel>(Key{}, connection, channel);
    const int rc = libssh2_session_last_errno(connection.session());
    if (rc != LIBSSH2_ERROR_EAGAIN) {
      return Error::failed("cannot open an SSH session channel on " + connection.target().label() + ": " +
                           connection.last_error());
    }
    if (!connection.wait(deadline))
      return Error::timeout("opening an SSH session channel on " + connection.target().label() +
                            " timed out");
  }
}

Channel::~Channel() {
  if (!closed_) connection_.abort();
  // On failure the channel stays on the session's list and libssh2_session_free releases it.
  (void)libssh2_channel_free(channel_);
}

}  // namespace mhafb::ssh

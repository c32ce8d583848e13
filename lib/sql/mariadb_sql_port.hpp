// MariaDbSqlPort: the production SqlPort over MariaDB Connector/C 3.3 (blocking API).
//
// Blocking calls with connect/read/write timeouts are the simple robust choice for the handful of
// servers a cluster has. A call fails within about one connect timeout plus one read timeout when
// the server hangs (a retry, when one happens, follows a fast failure), plus the time of calls to the
// same server queued before it. The class is thread-safe; the library is initialised once per
// process (mysql_library_init) and once per calling thread (mysql_thread_init, ended when the thread
// exits).
//
// One connection per endpoint is cached and reused; each has its own mutex, so a hung server only
// blocks callers that talk to that server. A stale cached connection (the server restarted, killed
// it, or closed it for idleness) is noticed before use and replaced, so even a write then goes
// through. A connection lost during a call is dropped and the call retried once on a new one only
// when that cannot run a statement twice (a read, or a write that never left). A timeout is never
// retried, and a mutating statement that timed out or lost its connection may have been applied:
// the error says so. MYSQL_OPT_RECONNECT is never used: it would silently drop session state.
//
// Sessions never run with sql_mode NO_BACKSLASH_ESCAPES: the port removes it after connecting and
// again before any statement if a previous statement turned it on, because sql_quote's literals
// rely on backslash escapes.
//
// Host names are resolved by the library's blocking getaddrinfo(), which no timeout bounds: configure
// addresses, or names the local resolver answers at once (/etc/hosts).
//
// The password is kept only to connect; it never appears in an Error message (it is scrubbed from
// every message as a second line of defence) and is never logged.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ports/sql_port.hpp"

namespace mhafb {

struct MariaDbCredentials {
  std::string user;
  std::string password;
};

struct MariaDbOptions {
  // Connector/C takes whole seconds; values below one second are rounded up to one.
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{2000};
  std::chrono::milliseconds write_timeout{2000};
  // Refuse a server that does not offer TLS. Connector/C 3.3 alone does not refuse it (it falls
  // back to plain text), so the port checks the session after connecting and fails with Refused.
  bool ssl_enforce = false;
  // Verify the server certificate (and fail before authenticating when TLS is not offered).
  bool ssl_verify_server_cert = false;
  std::string ssl_ca;  // CA file for verification; empty: the library's default
};

class MariaDbSqlPort final : public SqlPort {
 public:
  explicit MariaDbSqlPort(MariaDbCredentials credentials, MariaDbOptions options = {});
  ~MariaDbSqlPort() override;
  MariaDbSqlPort(const MariaDbSqlPort&) = delete;
  MariaDbSqlPort& operator=(const MariaDbSqlPort&) = delete;

  Result<ResultSet> query(const Endpoint& server, const SqlStatement& statement) override;

  // Closes the cached connection to `server` (waits for a call in progress on it to end).
  void disconnect(const Endpoint& server);

 private:
  struct Slot;
  Slot& slot_for(const Endpoint& server);

  MariaDbCredentials credentials_;
  MariaDbOptions options_;
  std::mutex slots_mutex_;  // guards the map only, never held during I/O
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

}  // namespace mhafb

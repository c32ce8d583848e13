// MariaDbSqlPort: connection cache, Connector/C calls and the mapping of its errors to Error kinds.
// See the header for the behaviour; comments here explain the choices that are not obvious.
#include "sql/mariadb_sql_port.hpp"

#include <errmsg.h>
#include <mysql.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

namespace mhafb {

namespace {

using Clock = std::chrono::steady_clock;

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
using MysqlHandle = std::unique_ptr<MYSQL, MysqlCloser>;

struct ResultFreer {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};
using ResultHandle = std::unique_ptr<MYSQL_RES, ResultFreer>;

// mysql_thread_end() must run on the thread that called mysql_thread_init(): a thread_local's
// destructor does exactly that when the thread exits.
struct ThreadRegistration {
  ThreadRegistration() { mysql_thread_init(); }
  ~ThreadRegistration() { mysql_thread_end(); }
  ThreadRegistration(const ThreadRegistration&) = delete;
  ThreadRegistration& operator=(const ThreadRegistration&) = delete;
};

std::once_flag library_once;
bool library_ready = false;

// The library's global state must be set up before two threads touch it at once; call_once makes
// the first caller do it whichever thread that is.
Status ensure_library_for_this_thread() {
  std::call_once(library_once, [] { library_ready = mysql_library_init(0, nullptr, nullptr) == 0; });
  if (!library_ready) return Error::failed("the MariaDB client library could not be initialised");
  thread_local ThreadRegistration registration;
  return {};
}

unsigned int whole_seconds(std::chrono::milliseconds d) {
  auto ms = std::max<long long>(d.count(), 1);
  return static_cast<unsigned int>((ms + 999) / 1000);
}

// A call that failed after (about) the whole timeout timed out; one that failed sooner did not.
// Connector/C reports both as the same errno, so the clock is the only way to tell them apart.
bool took_the_whole_timeout(Clock::time_point start, unsigned int timeout_s) {
  return Clock::now() - start >= std::chrono::milliseconds(timeout_s * 1000LL - 150);
}

bool is_client_error(unsigned int code) {
  return code >= CR_MIN_ERROR && code <= CR_MAX_ERROR;
}
bool is_connection_lost(unsigned int code) {
  return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST;
}

// An idle classic-protocol connection has nothing to read. Anything readable (EOF after a server
// restart or KILL, a reset, an unsolicited error packet before the server closes an idle session)
// means the connection is no longer usable. A silently dead peer is not detected here; the read
// timeout catches it.
bool idle_connection_usable(MYSQL* m) {
  my_socket fd = mysql_get_socket(m);
  if (static_cast<int>(fd) < 0) return false;
  pollfd p{static_cast<int>(fd), POLLIN | POLLRDHUP, 0};
  int n = ::poll(&p, 1, 0);
  return n == 0;
}

unsigned int server_status(MYSQL* m) {
  unsigned int status = 0;
  mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_STATUS, &status);
  return status;
}

struct Attempt {
  std::optional<ResultSet> rows;
  Error error;
  bool connection_lost = false;  // the connection cannot be used again
  bool may_have_run = true;      // the statement may have reached the server
};

}  // namespace

struct MariaDbSqlPort::Slot {
  std::mutex mutex;  // held for a whole call: one MYSQL* is never used by two threads at once
  MysqlHandle connection;
};

MariaDbSqlPort::MariaDbSqlPort(MariaDbCredentials credentials, MariaDbOptions options)
    : credentials_(std::move(credentials)), options_(std::move(options)) {}

MariaDbSqlPort::~MariaDbSqlPort() {
  // mysql_close() runs in the slots' destructors on this thread.
  if (!slots_.empty()) (void)ensure_library_for_this_thread();
  std::fill(credentials_.password.begin(), credentials_.password.end(), '\0');
}

MariaDbSqlPort::Slot& MariaDbSqlPort::slot_for(const Endpoint& server) {
  std::lock_guard lock(slots_mutex_);
  auto& slot = slots_[server.label()];
  if (!slot) slot = std::make_unique<Slot>();
  return *slot;  // slots are never erased, so the reference stays valid
}

void MariaDbSqlPort::disconnect(const Endpoint& server) {
  if (!ensure_library_for_this_thread()) return;
  Slot& slot = slot_for(server);
  std::lock_guard lock(slot.mutex);
  slot.connection.reset();
}

namespace {

// Everything a call needs besides the connection, so the helpers below stay free functions.
struct CallContext {
  const Endpoint& server;
  const MariaDbCredentials& credentials;
  const MariaDbOptions& options;

  std::string label() const { return server.label(); }

  // The server never echoes a password, but a message built from its text must not be the one
  // place that ever leaks it.
  std::string scrub(std::string text) const {
    const std::string& pw = credentials.password;
    if (pw.empty()) return text;
    for (std::size_t pos = text.find(pw); pos != std::string::npos; pos = text.find(pw, pos + 3)) {
      text.replace(pos, pw.size(), "***");
    }
    return text;
  }

  Error make(ErrorKind kind, const std::string& text, int code) const { return {kind, scrub(text), code}; }
};

std::string describe(MYSQL* m) {
  return std::string(mysql_error(m)) + " (errno " + std::to_string(mysql_errno(m)) + ")";
}

Error connect_error(const CallContext& ctx, MYSQL* m, Clock::time_point start) {
  const unsigned int code = mysql_errno(m);
  const std::string what = describe(m);
  switch (code) {
    case 1045:  // ER_ACCESS_DENIED_ERROR
    case 1698:  // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
    case 1130:  // ER_HOST_NOT_PRIVILEGED
      return ctx.make(ErrorKind::Auth,
                      ctx.label() + ": login as user '" + ctx.credentials.user + "' refused: " + what,
                      static_cast<int>(code));
    default:
      break;
  }
  if (!is_client_error(code)) {
    // The server answered and said no (too many connections, host blocked, shutting down).
    return ctx.make(ErrorKind::Refused, ctx.label() + ": the server refused the connection: " + what,
                    static_cast<int>(code));
  }
  const unsigned int timeout = whole_seconds(ctx.options.connect_timeout);
  if ((code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR || is_connection_lost(code)) &&
      took_the_whole_timeout(start, timeout)) {
    return ctx.make(
        ErrorKind::Timeout,
        ctx.label() + ": no answer within the connect timeout of " + std::to_string(timeout) + " s: " + what,
        0);
  }
  if (code == CR_SSL_CONNECTION_ERROR) {
    return ctx.make(ErrorKind::Refused, ctx.label() + ": TLS could not be set up: " + what,
                    static_cast<int>(code));
  }
  return ctx.make(ErrorKind::Unreachable, ctx.label() + ": cannot connect: " + what, 0);
}

Result<MysqlHandle> open_connection(const CallContext& ctx) {
  MysqlHandle handle(mysql_init(nullptr));
  if (!handle) return Error::failed(ctx.label() + ": out of memory creating a MariaDB connection");
  MYSQL* m = handle.get();

  unsigned int connect_timeout = whole_seconds(ctx.options.connect_timeout);
  unsigned int read_timeout = whole_seconds(ctx.options.read_timeout);
  unsigned int write_timeout = whole_seconds(ctx.options.write_timeout);
  unsigned int protocol = MYSQL_PROTOCOL_TCP;  // "localhost" would otherwise mean the unix socket
  unsigned int local_infile = 0;
  my_bool no = 0;
  my_bool ssl_enforce = ctx.options.ssl_enforce ? 1 : 0;
  my_bool ssl_verify = ctx.options.ssl_verify_server_cert ? 1 : 0;
  bool options_ok = mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) == 0 &&
                    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &read_timeout) == 0 &&
                    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout) == 0 &&
                    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &protocol) == 0 &&
                    mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &local_infile) == 0 &&
                    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &no) == 0 &&
                    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4") == 0 &&
                    mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &ssl_enforce) == 0 &&
                    mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &ssl_verify) == 0;
  if (options_ok && !ctx.options.ssl_ca.empty()) {
    options_ok = mysql_optionsv(m, MYSQL_OPT_SSL_CA, ctx.options.ssl_ca.c_str()) == 0;
  }
  if (!options_ok) return ctx.make(ErrorKind::Failed, ctx.label() + ": setting connection options failed", 0);

  // Multi statements stay off (client flag 0): one statement per call, so a quoting mistake can
  // never smuggle in a second one.
  const auto start = Clock::now();
  if (mysql_real_connect(m, ctx.server.host.c_str(), ctx.credentials.user.c_str(),
                         ctx.credentials.password.c_str(), nullptr,
                         static_cast<unsigned int>(ctx.server.port), nullptr, 0) == nullptr) {
    return connect_error(ctx, m, start);
  }
  if (ctx.options.ssl_enforce && mysql_get_ssl_cipher(m) == nullptr) {
    return ctx.make(ErrorKind::Refused,
                    ctx.label() + ": the server does not offer TLS and the configuration requires it", 0);
  }
  return handle;
}

Attempt statement_error(const CallContext& ctx, MYSQL* m, Clock::time_point start) {
  Attempt a;
  const unsigned int code = mysql_errno(m);
  const std::string what = describe(m);
  if (is_connection_lost(code)) {
    a.connection_lost = true;
    // A write that failed (2006) never delivered the statement; a lost read (2013) may have.
    a.may_have_run = code != CR_SERVER_GONE_ERROR;
    const unsigned int read_timeout = whole_seconds(ctx.options.read_timeout);
    const unsigned int write_timeout = whole_seconds(ctx.options.write_timeout);
    if (took_the_whole_timeout(start, read_timeout)) {
      a.error =
          ctx.make(ErrorKind::Timeout,
                   ctx.label() + ": no answer within the read timeout of " + std::to_string(read_timeout) +
                       " s (the statement may still be running on the server): " + what,
                   0);
    } else if (took_the_whole_timeout(start, write_timeout)) {
      a.error = ctx.make(ErrorKind::Timeout,
                         ctx.label() + ": the statement could not be sent within the write timeout of " +
                             std::to_string(write_timeout) + " s: " + what,
                         0);
    } else {
      a.error = ctx.make(ErrorKind::Unreachable, ctx.label() + ": connection lost: " + what, 0);
    }
    return a;
  }
  if (is_client_error(code)) {
    // The protocol state is unknown (out of sync, malformed packet): never reuse this connection.
    a.connection_lost = true;
    a.error = ctx.make(ErrorKind::Failed, ctx.label() + ": " + what, static_cast<int>(code));
    return a;
  }
  a.error = ctx.make(ErrorKind::Failed, ctx.label() + ": " + what, static_cast<int>(code));
  return a;
}

Attempt run_statement(const CallContext& ctx, MYSQL* m, const std::string& text) {
  const auto start = Clock::now();
  if (mysql_real_query(m, text.data(), text.size()) != 0) return statement_error(ctx, m, start);

  Attempt a;
  a.rows.emplace();
  ResultHandle res(mysql_store_result(m));
  if (!res) {
    if (mysql_field_count(m) != 0) return statement_error(ctx, m, start);
  } else {
    const unsigned int ncols = mysql_num_fields(res.get());
    MYSQL_FIELD* fields = mysql_fetch_fields(res.get());
    for (unsigned int i = 0; i < ncols; ++i)
      a.rows->columns.emplace_back(fields[i].name, fields[i].name_length);
    while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
      unsigned long* lengths = mysql_fetch_lengths(res.get());
      SqlRow out;
      out.reserve(ncols);
      for (unsigned int i = 0; i < ncols; ++i) {
        if (row[i] == nullptr) {
          out.emplace_back(std::nullopt);
        } else {
          out.emplace_back(std::string(row[i], lengths[i]));
        }
      }
      a.rows->rows.push_back(std::move(out));
    }
  }
  // A CALL returns more than one result; only the first is kept, the rest are drained so the
  // connection stays in sync.
  while (mysql_more_results(m)) {
    int rc = mysql_next_result(m);
    if (rc > 0) return statement_error(ctx, m, start);
    if (rc < 0) break;
    ResultHandle extra(mysql_store_result(m));
    if (!extra && mysql_field_count(m) != 0) return statement_error(ctx, m, start);
  }
  return a;
}

// sql_quote's literals need backslash escapes. The server reports NO_BACKSLASH_ESCAPES in the
// status flags of every reply (and of the handshake), so checking costs no round trip.
Attempt keep_backslash_escapes(const CallContext& ctx, MYSQL* m) {
  Attempt ok;
  ok.rows.emplace();
  if ((server_status(m) & SERVER_STATUS_NO_BACKSLASH_ESCAPES) == 0) return ok;

  Attempt mode = run_statement(ctx, m, "SELECT @@SESSION.sql_mode");
  if (!mode.rows) return mode;
  std::string current = mode.rows->scalar().value_or("");
  std::string kept;
  std::size_t begin = 0;
  while (begin <= current.size()) {
    std::size_t end = current.find(',', begin);
    if (end == std::string::npos) end = current.size();
    std::string item = current.substr(begin, end - begin);
    if (!item.empty() && item != "NO_BACKSLASH_ESCAPES") {
      // Mode names are plain words; anything else would need quoting that cannot be trusted yet.
      if (!std::all_of(item.begin(), item.end(),
                       [](unsigned char c) { return std::isalnum(c) != 0 || c == '_'; })) {
        Attempt bad;
        bad.connection_lost = true;
        bad.error = ctx.make(ErrorKind::Failed, ctx.label() + ": unexpected sql_mode '" + current + "'", 0);
        return bad;
      }
      if (!kept.empty()) kept += ',';
      kept += item;
    }
    begin = end + 1;
  }
  Attempt set = run_statement(ctx, m, "SET SESSION sql_mode = '" + kept + "'");
  if (!set.rows) return set;
  if ((server_status(m) & SERVER_STATUS_NO_BACKSLASH_ESCAPES) != 0) {
    Attempt still;
    still.connection_lost = true;
    still.error =
        ctx.make(ErrorKind::Failed, ctx.label() + ": could not turn off sql_mode NO_BACKSLASH_ESCAPES", 0);
    return still;
  }
  return ok;
}

}  // namespace

Result<ResultSet> MariaDbSqlPort::query(const Endpoint& server, const SqlStatement& statement) {
  if (auto s = ensure_library_for_this_thread(); !s) return s.error();
  const CallContext ctx{server, credentials_, options_};
  Slot& slot = slot_for(server);
  std::lock_guard lock(slot.mutex);

  if (slot.connection && !idle_connection_usable(slot.connection.get())) slot.connection.reset();

  // At most two attempts: a reused connection may turn out dead only when used. A fresh one that
  // fails gets no second try (the server itself is the problem), nor does a timeout (a second
  // wait would double the caller's worst case), nor a write that may already have run.
  for (int attempt = 0;; ++attempt) {
    const bool reused = static_cast<bool>(slot.connection);
    if (!reused) {
      auto opened = open_connection(ctx);
      if (!opened) return std::move(opened).error();
      slot.connection = std::move(opened).value();
    }
    MYSQL* m = slot.connection.get();

    Attempt prepared = keep_backslash_escapes(ctx, m);
    Attempt result;
    if (prepared.rows) {
      result = run_statement(ctx, m, statement.text);
    } else {
      result = std::move(prepared);
      result.may_have_run = false;  // the caller's statement was never sent
    }
    if (result.rows) return std::move(*result.rows);
    if (!result.connection_lost) return std::move(result.error);

    slot.connection.reset();
    const bool retry_safe = !statement.mutates || !result.may_have_run;
    const bool timed_out = result.error.kind == ErrorKind::Timeout;
    if (attempt > 0 || !reused || timed_out || !retry_safe) {
      if (statement.mutates && result.may_have_run && result.error.kind != ErrorKind::Failed) {
        result.error.message += "; the statement may or may not have been applied";
      }
      return std::move(result.error);
    }
  }
}

}  // namespace mhafb

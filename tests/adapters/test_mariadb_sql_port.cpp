// MariaDbSqlPort against a real mariadbd (started by the fixture on 127.0.0.31:3306): results,
// NULLs, column names, error mapping (server errors, access denied, unreachable, hung server, read
// timeout), reconnection after a restart or a KILL, concurrency, isolation of a hung endpoint,
// sql_mode NO_BACKSLASH_ESCAPES, TLS enforcement, and sql_quote's literals through the server.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mariadb_fixture.hpp"
#include "sql/mariadb_sql_port.hpp"
#include "sql/sql_quote.hpp"

namespace mhafb {
namespace {

using namespace std::chrono_literals;
using testing::mariadb_lab::HungListener;
using testing::mariadb_lab::MariaDbServer;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

const Endpoint kUnreachable{"127.0.0.32", 3306};  // nothing listens there
const Endpoint kHung{"127.0.0.33", 3306};         // HungListener

class MariaDbSqlPortTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lock_ = std::make_unique<testing::mariadb_lab::AddressLock>("mariadb-127.0.0.31-33");
    server_ = std::make_unique<MariaDbServer>();
    start_error_ = server_->start();
    if (start_error_.empty()) start_error_ = server_->admin("CREATE DATABASE IF NOT EXISTS porttest");
  }
  static void TearDownTestSuite() {
    server_.reset();
    lock_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    if (!server_->running()) {
      ASSERT_EQ(server_->start(), "");
    }
  }

  static std::unique_ptr<MariaDbSqlPort> make_port(const MariaDbOptions& options = {},
                                                   std::string password = MariaDbServer::kPassword) {
    return std::make_unique<MariaDbSqlPort>(MariaDbCredentials{MariaDbServer::kUser, std::move(password)},
                                            options);
  }
  static Endpoint good() { return server_->endpoint(); }
  static std::string connection_id(MariaDbSqlPort& port) {
    auto r = port.query(good(), SqlStatement::read("SELECT CONNECTION_ID()"));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r->scalar().value_or("") : "";
  }

  static inline std::unique_ptr<testing::mariadb_lab::AddressLock> lock_;
  static inline std::unique_ptr<MariaDbServer> server_;
  static inline std::string start_error_;
};

TEST_F(MariaDbSqlPortTest, ReturnsRowsNullsAndColumnNamesAsSent) {
  auto port = make_port();
  auto r = port->query(good(), SqlStatement::read("SELECT 1 AS one, 'two' AS `MiXed Case`, NULL AS nothing, "
                                                  "'' AS empty, 'caf\xc3\xa9' AS `caf\xc3\xa9`"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"one", "MiXed Case", "nothing", "empty", "caf\xc3\xa9"}));
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0][0], "1");
  EXPECT_EQ(r->rows[0][1], "two");
  EXPECT_EQ(r->rows[0][2], std::nullopt);
  EXPECT_EQ(r->rows[0][3], std::string());  // an empty string is not NULL
  EXPECT_EQ(r->rows[0][4], "caf\xc3\xa9");
  EXPECT_EQ(r->get(0, "mixed case"), "two");
  EXPECT_EQ(r->scalar(), "1");
}

TEST_F(MariaDbSqlPortTest, SeveralRowsFromATable) {
  auto port = make_port();
  ASSERT_TRUE(port->query(good(), SqlStatement::write("DROP TABLE IF EXISTS porttest.t")).ok());
  auto created = port->query(
      good(), SqlStatement::write("CREATE TABLE porttest.t (id INT PRIMARY KEY, v VARCHAR(20) NULL)"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created->columns.empty());
  EXPECT_TRUE(created->rows.empty());
  auto inserted =
      port->query(good(), SqlStatement::write("INSERT INTO porttest.t VALUES (1,'a'),(2,NULL),(3,'c')"));
  ASSERT_TRUE(inserted.ok()) << inserted.error().message;
  EXPECT_TRUE(inserted->empty());

  auto r = port->query(good(), SqlStatement::read("SELECT id, v FROM porttest.t ORDER BY id"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"id", "v"}));
  ASSERT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(r->rows[0], (SqlRow{"1", "a"}));
  EXPECT_EQ(r->rows[1], (SqlRow{"2", std::nullopt}));
  EXPECT_EQ(r->rows[2], (SqlRow{"3", "c"}));

  auto none = port->query(good(), SqlStatement::read("SELECT id FROM porttest.t WHERE id > 100"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->columns, (std::vector<std::string>{"id"}));
  EXPECT_TRUE(none->rows.empty());
  EXPECT_EQ(none->scalar(), std::nullopt);
}

TEST_F(MariaDbSqlPortTest, StatementWithoutResultSetGivesEmptyResult) {
  auto port = make_port();
  auto r = port->query(good(), SqlStatement::write("SET @mhafb_x = 5"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->columns.empty());
  EXPECT_TRUE(r->rows.empty());
  // Same session: the variable is still there (the connection is reused).
  auto v = port->query(good(), SqlStatement::read("SELECT @mhafb_x"));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->scalar(), "5");
}

TEST_F(MariaDbSqlPortTest, ReusesOneConnectionPerEndpoint) {
  auto port = make_port();
  const std::string first = connection_id(*port);
  ASSERT_FALSE(first.empty());
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(connection_id(*port), first);
  port->disconnect(good());
  EXPECT_NE(connection_id(*port), first);
}

TEST_F(MariaDbSqlPortTest, ServerErrorCarriesErrnoAndKeepsTheConnection) {
  auto port = make_port();
  const std::string id = connection_id(*port);
  auto r = port->query(good(), SqlStatement::read("SELECT * FROM porttest.no_such_table"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Failed);
  EXPECT_EQ(r.error().code, 1146);
  EXPECT_EQ(r.error().message, "127.0.0.31:3306: Table 'porttest.no_such_table' doesn't exist (errno 1146)");

  auto syntax = port->query(good(), SqlStatement::read("SELEC 1"));
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().code, 1064);
  EXPECT_EQ(connection_id(*port), id);  // a server error does not cost the connection
}

TEST_F(MariaDbSqlPortTest, MultiStatementsAreNotEnabled) {
  auto port = make_port();
  auto r = port->query(good(), SqlStatement::read("SELECT 1; SELECT 2"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 1064);
  auto after = port->query(good(), SqlStatement::read("SELECT 3"));
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->scalar(), "3");
}

TEST_F(MariaDbSqlPortTest, ProcedureWithSeveralResultsKeepsTheFirstAndStaysInSync) {
  auto port = make_port();
  ASSERT_TRUE(port->query(good(), SqlStatement::write("DROP PROCEDURE IF EXISTS porttest.two")).ok());
  auto created = port->query(
      good(),
      SqlStatement::write("CREATE PROCEDURE porttest.two() BEGIN SELECT 'a' AS x; SELECT 'b' AS y; END"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto r = port->query(good(), SqlStatement::read("CALL porttest.two()"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->columns, (std::vector<std::string>{"x"}));
  EXPECT_EQ(r->scalar(), "a");
  auto next = port->query(good(), SqlStatement::read("SELECT 'c'"));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->scalar(), "c");
}

TEST_F(MariaDbSqlPortTest, WrongPasswordIsAuthAndNeverShowsAPassword) {
  const std::string wrong = "Wr0ng-Secret-77";
  auto port = make_port({}, wrong);
  auto r = port->query(good(), SqlStatement::read("SELECT 1"));
  ASSERT_FALSE(r.ok());
  std::cout << "[message] " << r.error().message << "\n";
  EXPECT_EQ(r.error().kind, ErrorKind::Auth);
  EXPECT_EQ(r.error().code, 1045);
  EXPECT_NE(r.error().message.find("127.0.0.31:3306"), std::string::npos);
  EXPECT_NE(r.error().message.find("'mhafb_test'"), std::string::npos);
  EXPECT_EQ(r.error().message.find(wrong), std::string::npos);
  EXPECT_EQ(r.error().message.find(MariaDbServer::kPassword), std::string::npos);

  auto unknown =
      MariaDbSqlPort(MariaDbCredentials{"no_such_user", wrong}).query(good(), SqlStatement::read("SELECT 1"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::Auth);
  EXPECT_EQ(unknown.error().message.find(wrong), std::string::npos);
}

TEST_F(MariaDbSqlPortTest, NothingListeningIsUnreachableWithoutWaitingForTheTimeout) {
  MariaDbOptions options;
  options.connect_timeout = 5s;
  auto port = make_port(options);
  const auto start = Clock::now();
  auto r = port->query(kUnreachable, SqlStatement::read("SELECT 1"));
  const double took = seconds_since(start);
  std::cout << "[timing] unreachable answered in " << took << " s: " << r.error().message << "\n";
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Unreachable);
  EXPECT_EQ(r.error().code, 0);
  EXPECT_NE(r.error().message.find("127.0.0.32:3306: cannot connect"), std::string::npos);
  EXPECT_LT(took, 2.5);  // refused at once, not after the 5 s connect timeout
}

TEST_F(MariaDbSqlPortTest, HungServerIsTimeoutAfterTheConnectTimeout) {
  HungListener hung(kHung.host, kHung.port);
  ASSERT_TRUE(hung.ok());
  MariaDbOptions options;
  options.connect_timeout = 1s;
  auto port = make_port(options);
  const auto start = Clock::now();
  auto r = port->query(kHung, SqlStatement::read("SELECT 1"));
  const double took = seconds_since(start);
  std::cout << "[timing] hung server timed out after " << took << " s: " << r.error().message << "\n";
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Timeout);
  EXPECT_NE(r.error().message.find("connect timeout of 1 s"), std::string::npos);
  EXPECT_GE(took, 0.8);
  EXPECT_LT(took, 4.0);  // one connect timeout, not a retry loop
}

TEST_F(MariaDbSqlPortTest, LongQueryIsTimeoutAfterTheReadTimeoutAndTheNextCallReconnects) {
  MariaDbOptions options;
  options.read_timeout = 1s;
  auto port = make_port(options);
  const std::string before = connection_id(*port);
  const auto start = Clock::now();
  auto r = port->query(good(), SqlStatement::read("SELECT SLEEP(10)"));
  const double took = seconds_since(start);
  std::cout << "[timing] SLEEP(10) with a 1 s read timeout ended after " << took
            << " s: " << (r.ok() ? "ok" : r.error().message) << "\n";
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Timeout);
  EXPECT_NE(r.error().message.find("read timeout of 1 s"), std::string::npos);
  EXPECT_NE(r.error().message.find("errno 2013"), std::string::npos);
  EXPECT_LT(took, 5.0);  // did not wait for the statement

  const std::string after = connection_id(*port);
  EXPECT_FALSE(after.empty());
  EXPECT_NE(after, before);

  auto write = port->query(good(), SqlStatement::write("DO SLEEP(10)"));
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.error().kind, ErrorKind::Timeout);
  EXPECT_NE(write.error().message.find("may or may not have been applied"), std::string::npos);
}

TEST_F(MariaDbSqlPortTest, ServerRestartBetweenCallsReconnects) {
  auto port = make_port();
  auto before = port->query(good(), SqlStatement::read("SELECT @@GLOBAL.version"));
  ASSERT_TRUE(before.ok()) << before.error().message;
  server_->stop();

  auto down = port->query(good(), SqlStatement::read("SELECT 1"));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, ErrorKind::Unreachable) << down.error().message;

  ASSERT_EQ(server_->start(), "");
  // Writes too: the stale connection is noticed before anything is sent.
  auto write = port->query(good(), SqlStatement::write("SET @after_restart = 1"));
  EXPECT_TRUE(write.ok()) << write.error().message;
  auto read = port->query(good(), SqlStatement::read("SELECT 'back'"));
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->scalar(), "back");
}

TEST_F(MariaDbSqlPortTest, RestartWhileAConnectionIsCachedIsInvisibleToTheCaller) {
  auto port = make_port();
  ASSERT_FALSE(connection_id(*port).empty());
  server_->stop();
  ASSERT_EQ(server_->start(), "");
  auto r = port->query(good(), SqlStatement::write("SET @x = 1"));
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST_F(MariaDbSqlPortTest, ServerDyingDuringAReadIsUnreachableAfterOneRetry) {
  auto port = make_port();
  ASSERT_FALSE(connection_id(*port).empty());
  const auto start = Clock::now();
  std::thread killer([] {
    std::this_thread::sleep_for(300ms);
    server_->crash();
  });
  auto r = port->query(good(), SqlStatement::read("SELECT SLEEP(5)"));
  const double took = seconds_since(start);
  killer.join();
  std::cout << "[timing] read on a crashing server ended after " << took
            << " s: " << (r.ok() ? "ok" : r.error().message) << "\n";
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Unreachable);
  // The retry found nothing listening: the message is the reconnect's.
  EXPECT_NE(r.error().message.find("cannot connect"), std::string::npos);
  EXPECT_LT(took, 1.9);  // neither the read timeout (2 s) nor the statement (5 s) was waited for
}

TEST_F(MariaDbSqlPortTest, ServerDyingDuringAWriteSaysItMayHaveBeenApplied) {
  auto port = make_port();
  ASSERT_FALSE(connection_id(*port).empty());
  std::thread killer([] {
    std::this_thread::sleep_for(300ms);
    server_->crash();
  });
  auto r = port->query(good(), SqlStatement::write("DO SLEEP(5)"));
  killer.join();
  std::cout << "[message] " << (r.ok() ? "ok" : r.error().message) << "\n";
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Unreachable);
  EXPECT_NE(r.error().message.find("connection lost"), std::string::npos);  // not retried
  EXPECT_NE(r.error().message.find("may or may not have been applied"), std::string::npos);
  ASSERT_EQ(server_->start(), "");
  EXPECT_TRUE(port->query(good(), SqlStatement::read("SELECT 1")).ok());
}

TEST_F(MariaDbSqlPortTest, KilledConnectionIsReplacedBeforeTheNextStatement) {
  auto port = make_port();
  const std::string id = connection_id(*port);
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(server_->admin("KILL CONNECTION " + id), "");
  std::this_thread::sleep_for(200ms);
  auto r = port->query(good(), SqlStatement::write("SET @y = 2"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(connection_id(*port), id);
}

TEST_F(MariaDbSqlPortTest, TwoThreadsQueryConcurrently) {
  auto port = make_port();
  std::atomic<int> failures{0};
  auto worker = [&](int base) {
    for (int i = 0; i < 100; ++i) {
      const std::string n = std::to_string(base + i);
      auto r = port->query(good(), SqlStatement::read("SELECT " + n + ", SLEEP(0)"));
      if (!r.ok() || r->scalar() != n) ++failures;
    }
  };
  const auto start = Clock::now();
  std::thread a(worker, 1000);
  std::thread b(worker, 2000);
  a.join();
  b.join();
  std::cout << "[timing] 200 queries from two threads in " << seconds_since(start) << " s\n";
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(MariaDbSqlPortTest, HungEndpointDoesNotBlockAnotherEndpoint) {
  HungListener hung(kHung.host, kHung.port);
  ASSERT_TRUE(hung.ok());
  MariaDbOptions options;
  options.connect_timeout = 3s;
  auto port = make_port(options);
  ASSERT_FALSE(connection_id(*port).empty());  // the good endpoint's connection exists already

  std::atomic<bool> hung_done{false};
  const auto start = Clock::now();
  Result<ResultSet> hung_result = Error::failed("not run");
  std::thread stuck([&] {
    hung_result = port->query(kHung, SqlStatement::read("SELECT 1"));
    hung_done = true;
  });
  std::this_thread::sleep_for(200ms);  // let the hung call start waiting

  int good_ok = 0;
  bool good_finished_while_hung_waits = false;
  for (int i = 0; i < 20; ++i) {
    auto r = port->query(good(), SqlStatement::read("SELECT " + std::to_string(i)));
    if (r.ok() && r->scalar() == std::to_string(i)) ++good_ok;
  }
  const double good_took = seconds_since(start);
  good_finished_while_hung_waits = !hung_done.load();
  // A new connection to the good server while the other is still hung, too.
  auto other = make_port(options);
  auto fresh = other->query(good(), SqlStatement::read("SELECT 'fresh'"));
  good_finished_while_hung_waits = good_finished_while_hung_waits && !hung_done.load();
  stuck.join();
  const double hung_took = seconds_since(start);
  std::cout << "[timing] 20 calls to the good server done after " << good_took
            << " s; the hung call ended after " << hung_took << " s\n";

  EXPECT_EQ(good_ok, 20);
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_TRUE(good_finished_while_hung_waits);
  ASSERT_FALSE(hung_result.ok());
  EXPECT_EQ(hung_result.error().kind, ErrorKind::Timeout);
}

TEST_F(MariaDbSqlPortTest, EveryByteValueRoundTripsThroughQuoteString) {
  auto port = make_port();
  std::string all;
  for (int b = 0; b < 256; ++b) {
    const std::string value(1, static_cast<char>(b));
    all += value;
    auto r = port->query(good(), SqlStatement::read("SELECT _binary " + quote_string(value) + " AS v"));
    ASSERT_TRUE(r.ok()) << "byte " << b << ": " << r.error().message;
    EXPECT_EQ(r->scalar(), value) << "byte " << b;
  }
  auto r = port->query(good(), SqlStatement::read("SELECT _binary " + quote_string(all + all) +
                                                  ", LENGTH(_binary " + quote_string(all) + ")"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->scalar(), all + all);
  EXPECT_EQ(r->rows[0][1], "256");
}

TEST_F(MariaDbSqlPortTest, HostileStringsStayOneValue) {
  auto port = make_port();
  ASSERT_TRUE(port->query(good(), SqlStatement::write("CREATE TABLE IF NOT EXISTS porttest.x (i INT)")).ok());
  const std::string hostile[] = {
      "'; DROP TABLE porttest.x; --",
      "\\'; DROP TABLE porttest.x; --",
      "\" OR 1=1; --",
      "\\",
      "\\\\\\'",
      "' OR '1'='1",
      "/* comment */ ' -- ",
      std::string("nul\0inside';", 12),
      "line\nbreak\rcarriage\x1a\tend",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xac",
      "\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x90\x28\xbc\xff\xfe\x5c\x27",
      "\xbf\x5c\x27 OR 1=1 -- ",
  };
  for (const auto& s : hostile) {
    auto r = port->query(good(), SqlStatement::read("SELECT _binary " + quote_string(s)));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->scalar(), s);
  }
  // Valid UTF-8 also round-trips as text in the utf8mb4 session.
  const std::string text = "caf\xc3\xa9 '\xe2\x82\xac' \\ \xf0\x9f\x90\xac";
  auto t = port->query(good(), SqlStatement::read("SELECT " + quote_string(text) + " AS t, CHARSET(" +
                                                  quote_string(text) + ")"));
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->scalar(), text);
  EXPECT_EQ(t->rows[0][1], "utf8mb4");
  // The table is still there.
  EXPECT_TRUE(port->query(good(), SqlStatement::read("SELECT COUNT(*) FROM porttest.x")).ok());
}

TEST_F(MariaDbSqlPortTest, HostileIdentifiersNameExactlyOneObject) {
  auto port = make_port();
  const std::string names[] = {"a`b", "x`; DROP TABLE porttest.x; --", "it's \\ \"q\"", "caf\xc3\xa9"};
  for (const auto& name : names) {
    const std::string table = "porttest." + quote_identifier(name);
    ASSERT_TRUE(port->query(good(), SqlStatement::write("DROP TABLE IF EXISTS " + table)).ok());
    auto created = port->query(
        good(), SqlStatement::write("CREATE TABLE " + table + " (" + quote_identifier(name) + " INT)"));
    ASSERT_TRUE(created.ok()) << created.error().message;
    auto r = port->query(good(), SqlStatement::read("SELECT table_name FROM information_schema.tables "
                                                    "WHERE table_schema = 'porttest' AND table_name = " +
                                                    quote_string(name)));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->scalar(), name);
    auto cols = port->query(good(), SqlStatement::read("SELECT * FROM " + table));
    ASSERT_TRUE(cols.ok()) << cols.error().message;
    EXPECT_EQ(cols->columns, std::vector<std::string>{name});
  }
}

TEST_F(MariaDbSqlPortTest, SessionNeverRunsWithNoBackslashEscapes) {
  std::string global_mode;
  ASSERT_EQ(server_->admin("SELECT @@GLOBAL.sql_mode", &global_mode), "");
  ASSERT_EQ(server_->admin("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES'"), "");
  auto port = make_port();
  auto mode = port->query(good(), SqlStatement::read("SELECT @@SESSION.sql_mode"));
  auto quoted = port->query(good(), SqlStatement::read("SELECT _binary " + quote_string("a\\'b\"\n")));
  // The engine's own statement turning it on again in the session is undone before the next one.
  auto set =
      port->query(good(), SqlStatement::write("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'"));
  auto quoted_again = port->query(good(), SqlStatement::read("SELECT _binary " + quote_string("c\\'d")));
  auto mode_again = port->query(good(), SqlStatement::read("SELECT @@SESSION.sql_mode"));
  ASSERT_EQ(server_->admin("SET GLOBAL sql_mode = " + quote_string(global_mode)), "");

  ASSERT_TRUE(mode.ok()) << mode.error().message;
  EXPECT_EQ(mode->scalar(), "STRICT_TRANS_TABLES");
  ASSERT_TRUE(quoted.ok()) << quoted.error().message;
  EXPECT_EQ(quoted->scalar(), "a\\'b\"\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  ASSERT_TRUE(quoted_again.ok()) << quoted_again.error().message;
  EXPECT_EQ(quoted_again->scalar(), "c\\'d");
  ASSERT_TRUE(mode_again.ok());
  EXPECT_EQ(mode_again->scalar(), "ANSI_QUOTES");
}

TEST_F(MariaDbSqlPortTest, TlsEnforcedAgainstAServerWithoutTlsIsRefused) {
  MariaDbOptions enforce;
  enforce.ssl_enforce = true;
  auto r = make_port(enforce)->query(good(), SqlStatement::read("SELECT 1"));
  ASSERT_FALSE(r.ok());
  std::cout << "[message] " << r.error().message << "\n";
  EXPECT_EQ(r.error().kind, ErrorKind::Refused);
  EXPECT_NE(r.error().message.find("TLS"), std::string::npos);

  MariaDbOptions verify;
  verify.ssl_verify_server_cert = true;
  auto v = make_port(verify)->query(good(), SqlStatement::read("SELECT 1"));
  ASSERT_FALSE(v.ok());
  std::cout << "[message] " << v.error().message << "\n";
  EXPECT_EQ(v.error().kind, ErrorKind::Refused);

  // Default: plain connections are accepted.
  EXPECT_TRUE(make_port()->query(good(), SqlStatement::read("SELECT 1")).ok());
}

}  // namespace
}  // namespace mhafb

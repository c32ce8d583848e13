// Every statement the engine sends, in both dialects (MariaDB; MySQL 8.0.23+ REPLICA/SOURCE words and
// older MASTER words): exact texts, what mutates, quoting of hostile values from the configuration, and
// the password in the text sent and never in the audit text.
#include <gtest/gtest.h>

#include "sql/sql_quote.hpp"
#include "sql/statements.hpp"
#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

using namespace mhafb::sqlstmt;

const std::string kMaria = kMariaVersion;
const std::string kMy8 = "8.0.36";
const std::string kMy57 = "5.7.44-log";
const BinlogPosition kAt{"mysql-bin.000001", 2689};

TEST(Statements, VersionRules) {
  EXPECT_TRUE(mysql_has_replica_syntax("8.0.23"));
  EXPECT_TRUE(mysql_has_replica_syntax("8.0.36"));
  EXPECT_TRUE(mysql_has_replica_syntax("8.4.3"));
  EXPECT_TRUE(mysql_has_replica_syntax("9.1.0"));
  EXPECT_FALSE(mysql_has_replica_syntax("8.0.22"));
  EXPECT_FALSE(mysql_has_replica_syntax("5.7.44-log"));
  EXPECT_FALSE(mysql_has_replica_syntax(""));
  EXPECT_FALSE(mysql_has_replica_syntax("garbage"));

  EXPECT_EQ(flavor_of_version(kMaria), Flavor::MariaDB);
  EXPECT_EQ(flavor_of_version("5.5.5-10.11.19-MariaDB-log"), Flavor::MariaDB);
  EXPECT_EQ(flavor_of_version(kMy8), Flavor::MySQL);
  EXPECT_EQ(flavor_of_version("8.0.36-0ubuntu0.22.04.1"), Flavor::MySQL);
  EXPECT_EQ(flavor_of_version(""), Flavor::Unknown);
}

TEST(Statements, DiscoveryStatementsAreReadOnly) {
  for (const SqlStatement& s :
       {server_facts(), gtid_state(Flavor::MariaDB), gtid_state(Flavor::MySQL), master_status(),
        replica_status(Flavor::MariaDB, kMaria), replica_status(Flavor::MySQL, kMy8)}) {
    EXPECT_FALSE(s.mutates) << s.text;
    EXPECT_EQ(s.audit_text, s.text);
  }
  EXPECT_EQ(
      server_facts().text,
      "SELECT @@GLOBAL.version AS version, @@GLOBAL.server_id AS server_id, @@GLOBAL.read_only AS read_only, "
      "@@GLOBAL.log_bin AS log_bin");
  EXPECT_EQ(gtid_state(Flavor::MySQL).text, "SELECT @@GLOBAL.gtid_executed AS gtid_executed");
  EXPECT_EQ(
      gtid_state(Flavor::MariaDB).text,
      "SELECT @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos, @@GLOBAL.gtid_binlog_state AS gtid_binlog_state, "
      "@@GLOBAL.gtid_slave_pos AS gtid_slave_pos, @@GLOBAL.gtid_current_pos AS gtid_current_pos");
  EXPECT_EQ(gtid_state(Flavor::Unknown).text, gtid_state(Flavor::MariaDB).text);
  EXPECT_EQ(master_status().text, "SHOW MASTER STATUS");
}

TEST(Statements, ReplicationWordsPerDialect) {
  struct Row {
    Flavor flavor;
    std::string version;
    std::string status, stop, start, skip, reset;
  };
  std::vector<Row> rows_ = {
      {Flavor::MariaDB, kMaria, "SHOW SLAVE STATUS", "STOP SLAVE", "START SLAVE",
       "SET GLOBAL sql_slave_skip_counter = 1", "RESET SLAVE ALL"},
      {Flavor::MySQL, kMy8, "SHOW REPLICA STATUS", "STOP REPLICA", "START REPLICA",
       "SET GLOBAL sql_replica_skip_counter = 1", "RESET REPLICA ALL"},
      {Flavor::MySQL, kMy57, "SHOW SLAVE STATUS", "STOP SLAVE", "START SLAVE",
       "SET GLOBAL sql_slave_skip_counter = 1", "RESET SLAVE ALL"},
      // A MariaDB version number above 8 never selects MySQL's words.
      {Flavor::MariaDB, "11.4.2-MariaDB", "SHOW SLAVE STATUS", "STOP SLAVE", "START SLAVE",
       "SET GLOBAL sql_slave_skip_counter = 1", "RESET SLAVE ALL"},
  };
  for (const auto& r : rows_) {
    SCOPED_TRACE(r.version);
    EXPECT_EQ(replica_status(r.flavor, r.version).text, r.status);
    EXPECT_EQ(stop_replica(r.flavor, r.version).text, r.stop);
    EXPECT_EQ(start_replica(r.flavor, r.version).text, r.start);
    EXPECT_EQ(skip_one_event(r.flavor, r.version).text, r.skip);
    EXPECT_EQ(reset_replica_all(r.flavor, r.version).text, r.reset);
    EXPECT_TRUE(reset_replica_all(r.flavor, r.version).mutates);
    EXPECT_TRUE(stop_replica(r.flavor, r.version).mutates);
    EXPECT_TRUE(start_replica(r.flavor, r.version).mutates);
    EXPECT_TRUE(skip_one_event(r.flavor, r.version).mutates);
  }
}

TEST(Statements, ReadOnlyAndGtidSlavePos) {
  EXPECT_EQ(set_read_only(true).text, "SET GLOBAL read_only = 1");
  EXPECT_EQ(set_read_only(false).text, "SET GLOBAL read_only = 0");
  EXPECT_TRUE(set_read_only(true).mutates);
  EXPECT_EQ(set_read_only(true).audit_text, set_read_only(true).text);
  EXPECT_EQ(gtid_slave_pos_from_binlog_pos().text, "SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos");
  EXPECT_TRUE(gtid_slave_pos_from_binlog_pos().mutates);
}

TEST(Statements, ChangeSourceGtid) {
  auto maria = change_source_gtid(Flavor::MariaDB, kMaria, "127.0.0.12", 3306, "repl", "s3cret");
  EXPECT_EQ(maria.text,
            "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
            "MASTER_PASSWORD='s3cret', MASTER_USE_GTID=slave_pos");
  EXPECT_EQ(maria.audit_text,
            "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
            "MASTER_PASSWORD='***', MASTER_USE_GTID=slave_pos");
  EXPECT_TRUE(maria.mutates);

  auto my8 = change_source_gtid(Flavor::MySQL, kMy8, "127.0.0.12", 3307, "repl", "s3cret");
  EXPECT_EQ(my8.text,
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.12', SOURCE_PORT=3307, SOURCE_USER='repl', "
            "SOURCE_PASSWORD='s3cret', SOURCE_AUTO_POSITION=1");
  EXPECT_EQ(my8.audit_text,
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.12', SOURCE_PORT=3307, SOURCE_USER='repl', "
            "SOURCE_PASSWORD='***', SOURCE_AUTO_POSITION=1");

  auto my57 = change_source_gtid(Flavor::MySQL, kMy57, "127.0.0.12", 3306, "repl", "s3cret");
  EXPECT_EQ(my57.text,
            "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
            "MASTER_PASSWORD='s3cret', MASTER_AUTO_POSITION=1");
}

TEST(Statements, ChangeSourcePosition) {
  auto maria = change_source_position(Flavor::MariaDB, kMaria, "127.0.0.12", 3306, "repl", "s3cret", kAt);
  EXPECT_EQ(maria.text,
            "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
            "MASTER_PASSWORD='s3cret', MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=2689, "
            "MASTER_USE_GTID=no");
  EXPECT_EQ(
      maria.audit_text,
      "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
      "MASTER_PASSWORD='***', MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=2689, MASTER_USE_GTID=no");

  auto my8 = change_source_position(Flavor::MySQL, kMy8, "127.0.0.12", 3306, "repl", "s3cret", kAt);
  EXPECT_EQ(my8.text,
            "CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.12', SOURCE_PORT=3306, SOURCE_USER='repl', "
            "SOURCE_PASSWORD='s3cret', SOURCE_LOG_FILE='mysql-bin.000001', SOURCE_LOG_POS=2689, "
            "SOURCE_AUTO_POSITION=0");

  auto my57 = change_source_position(Flavor::MySQL, kMy57, "127.0.0.12", 3306, "repl", "s3cret", kAt);
  EXPECT_EQ(my57.text,
            "CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306, MASTER_USER='repl', "
            "MASTER_PASSWORD='s3cret', MASTER_LOG_FILE='mysql-bin.000001', MASTER_LOG_POS=2689, "
            "MASTER_AUTO_POSITION=0");
}

// The statement with every quoted literal removed, read with the server's rules (backslash escapes
// the next byte inside a literal); "<unterminated>" when a literal never ends.
std::string outside_literals(const std::string& sql) {
  std::string out;
  bool in = false;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (!in) {
      if (c == '\'') {
        in = true;
        out += "''";
      } else {
        out += c;
      }
    } else if (c == '\\') {
      ++i;
    } else if (c == '\'') {
      in = false;
    }
  }
  return in ? out + "<unterminated>" : out;
}

// Hostile values: every one ends up inside one quoted literal, backslash-escaped.
TEST(Statements, HostileValuesStayInsideTheirLiterals) {
  const std::string host = "h'; SET GLOBAL read_only=0; -- ";
  const std::string user = "re\"pl\\";
  const std::string pw = "p'w\"\\\n\r\x1a";
  const BinlogPosition file{"mysql-bin.000001'; DROP TABLE t; --", 4};
  for (Flavor f : {Flavor::MariaDB, Flavor::MySQL}) {
    const std::string& v = f == Flavor::MariaDB ? kMaria : kMy8;
    SCOPED_TRACE(v);
    for (const SqlStatement& s : {change_source_gtid(f, v, host, 3306, user, pw),
                                  change_source_position(f, v, host, 3306, user, pw, file)}) {
      EXPECT_NE(s.text.find("'h\\'; SET GLOBAL read_only=0; -- '"), std::string::npos) << s.text;
      EXPECT_NE(s.text.find("'re\\\"pl\\\\'"), std::string::npos) << s.text;
      EXPECT_NE(s.text.find("'p\\'w\\\"\\\\\\n\\r\\Z'"), std::string::npos) << s.text;
      if (s.text.find("LOG_FILE") != std::string::npos) {
        EXPECT_NE(s.text.find("'mysql-bin.000001\\'; DROP TABLE t; --'"), std::string::npos) << s.text;
      }
      // Outside the quoted literals only the statement's own words remain.
      std::string outside = outside_literals(s.text);
      EXPECT_EQ(outside.find(';'), std::string::npos) << outside;
      EXPECT_EQ(outside.find("SET GLOBAL"), std::string::npos) << outside;
      EXPECT_EQ(outside.find("DROP"), std::string::npos) << outside;
      EXPECT_EQ(outside.find("--"), std::string::npos) << outside;
      EXPECT_EQ(s.text.find('\n'), std::string::npos) << "a raw newline in the statement";
      EXPECT_EQ(s.text.find('\x1a'), std::string::npos);
    }
  }
}

TEST(Statements, PasswordOnlyInTheTextNeverInTheAuditText) {
  const std::vector<std::string> passwords = {"s3cret",
                                              "with space",
                                              "q'uote",
                                              "back\\slash",
                                              "***",
                                              "MASTER_PASSWORD",
                                              std::string("nul\0byte", 8),
                                              "\x01PASSWORD\x01"};
  for (const auto& pw : passwords) {
    SCOPED_TRACE(::testing::PrintToString(pw));
    const std::string quoted = quote_string(pw);
    for (Flavor f : {Flavor::MariaDB, Flavor::MySQL}) {
      const std::string& v = f == Flavor::MariaDB ? kMaria : kMy8;
      for (const SqlStatement& s : {change_source_gtid(f, v, "127.0.0.12", 3306, "repl", pw),
                                    change_source_position(f, v, "127.0.0.12", 3306, "repl", pw, kAt)}) {
        EXPECT_NE(s.text.find("PASSWORD=" + quoted), std::string::npos) << s.text;
        EXPECT_NE(s.audit_text.find("PASSWORD='***'"), std::string::npos) << s.audit_text;
        if (pw.size() > 3 && pw != "MASTER_PASSWORD") {
          EXPECT_EQ(s.audit_text.find(pw), std::string::npos) << s.audit_text;
          EXPECT_EQ(s.audit_text.find(quoted), std::string::npos) << s.audit_text;
        }
        if (pw.find('\x01') == std::string::npos) {
          EXPECT_EQ(s.text.find('\x01'), std::string::npos) << "the placeholder leaked into the text";
        }
        EXPECT_EQ(s.audit_text.find('\x01'), std::string::npos) << "the placeholder leaked into the audit";
        // Apart from the password the two texts are the same statement.
        std::string expect_audit = s.text;
        expect_audit.replace(expect_audit.find("PASSWORD=" + quoted) + 9, quoted.size(), "'***'");
        EXPECT_EQ(s.audit_text, expect_audit);
      }
    }
  }
}

TEST(Statements, ConfigValuesThatLookLikeThePasswordPlaceholderCannotMoveThePassword) {
  // A user or host value holding the internal placeholder bytes must neither receive the password nor
  // leave the placeholder in the statement.
  const std::string odd = "\x01PASSWORD\x01";
  for (const auto& [host, user] :
       {std::pair{odd, std::string("repl")}, std::pair{std::string("127.0.0.12"), odd}}) {
    auto s = change_source_gtid(Flavor::MariaDB, kMaria, host, 3306, user, "s3cret");
    EXPECT_NE(s.text.find("MASTER_PASSWORD='s3cret'"), std::string::npos) << ::testing::PrintToString(s.text);
    EXPECT_NE(s.text.find("MASTER_HOST=" + quote_string(host)), std::string::npos)
        << ::testing::PrintToString(s.text);
    EXPECT_NE(s.text.find("MASTER_USER=" + quote_string(user)), std::string::npos)
        << ::testing::PrintToString(s.text);
    EXPECT_EQ(s.audit_text.find("s3cret"), std::string::npos) << ::testing::PrintToString(s.audit_text);
  }
}

}  // namespace
}  // namespace mhafb::test

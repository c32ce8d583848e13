// Statement texts for both dialects. Audit texts replace the password literal with '***'.
#include "sql/statements.hpp"

#include <array>
#include <charconv>

#include "sql/sql_quote.hpp"

namespace mhafb::sqlstmt {

namespace {

struct Words {
  const char* change;  // CHANGE MASTER TO | CHANGE REPLICATION SOURCE TO
  const char* host;
  const char* port;
  const char* user;
  const char* password;
  const char* log_file;
  const char* log_pos;
};

Words words_for(Flavor flavor, const std::string& version) {
  if (flavor == Flavor::MySQL && mysql_has_replica_syntax(version))
    return {"CHANGE REPLICATION SOURCE TO",
            "SOURCE_HOST",
            "SOURCE_PORT",
            "SOURCE_USER",
            "SOURCE_PASSWORD",
            "SOURCE_LOG_FILE",
            "SOURCE_LOG_POS"};
  return {"CHANGE MASTER TO", "MASTER_HOST",     "MASTER_PORT",   "MASTER_USER",
          "MASTER_PASSWORD",  "MASTER_LOG_FILE", "MASTER_LOG_POS"};
}

// The statement is built twice, once with the password literal and once with '***', so no value from
// the configuration can ever move the password into the audit text.
SqlStatement with_secret(const Words& w, const std::string& host, int port, const std::string& user,
                         const std::string& password, const std::string& tail) {
  auto build = [&](const std::string& password_literal) {
    return std::string(w.change) + " " + w.host + "=" + quote_string(host) + ", " + w.port + "=" +
           std::to_string(port) + ", " + w.user + "=" + quote_string(user) + ", " + w.password + "=" +
           password_literal + tail;
  };
  SqlStatement s;
  s.mutates = true;
  s.text = build(quote_string(password));
  s.audit_text = build("'***'");
  return s;
}

}  // namespace

bool mysql_has_replica_syntax(const std::string& version) {
  // "8.0.23-log" -> {8, 0, 23}; from_chars reports overflow where sscanf's %d would be undefined.
  std::array<int, 3> v{0, 0, 0};
  std::size_t parsed = 0;
  const char* p = version.data();
  const char* end = p + version.size();
  while (parsed < v.size()) {
    auto [next, ec] = std::from_chars(p, end, v[parsed]);
    if (ec != std::errc{}) break;
    ++parsed;
    p = next;
    if (p == end || *p != '.') break;
    ++p;
  }
  if (parsed < 2) return false;
  const int major = v[0], minor = v[1], patch = v[2];
  if (major != 8) return major > 8;
  if (minor > 0) return true;
  return patch >= 23;
}

Flavor flavor_of_version(const std::string& version) {
  if (version.find("MariaDB") != std::string::npos || version.find("mariadb") != std::string::npos)
    return Flavor::MariaDB;
  if (version.empty()) return Flavor::Unknown;
  return Flavor::MySQL;
}

SqlStatement server_facts() {
  return SqlStatement::read(
      "SELECT @@GLOBAL.version AS version, @@GLOBAL.server_id AS server_id, "
      "@@GLOBAL.read_only AS read_only, @@GLOBAL.log_bin AS log_bin");
}

SqlStatement running_statements(int min_seconds) {
  return SqlStatement::read(
      "SELECT ID AS id, USER AS user, COMMAND AS command, TIME AS time, LEFT(INFO, 200) AS info "
      "FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND TIME >= " +
      std::to_string(min_seconds) +
      " AND COMMAND NOT IN ('Sleep', 'Connect') AND COMMAND NOT LIKE 'Binlog Dump%' "
      "AND USER NOT IN ('system user', 'event_scheduler') ORDER BY TIME DESC");
}

SqlStatement gtid_state(Flavor flavor) {
  if (flavor == Flavor::MySQL) return SqlStatement::read("SELECT @@GLOBAL.gtid_executed AS gtid_executed");
  return SqlStatement::read(
      "SELECT @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos, @@GLOBAL.gtid_binlog_state AS gtid_binlog_state, "
      "@@GLOBAL.gtid_slave_pos AS gtid_slave_pos, @@GLOBAL.gtid_current_pos AS gtid_current_pos");
}

SqlStatement master_status() {
  return SqlStatement::read("SHOW MASTER STATUS");
}

SqlStatement replica_status(Flavor flavor, const std::string& version) {
  if (flavor == Flavor::MySQL && mysql_has_replica_syntax(version))
    return SqlStatement::read("SHOW REPLICA STATUS");
  return SqlStatement::read("SHOW SLAVE STATUS");
}

SqlStatement set_read_only(bool on) {
  return SqlStatement::write(on ? "SET GLOBAL read_only = 1" : "SET GLOBAL read_only = 0");
}

SqlStatement stop_replica(Flavor flavor, const std::string& version) {
  if (flavor == Flavor::MySQL && mysql_has_replica_syntax(version))
    return SqlStatement::write("STOP REPLICA");
  return SqlStatement::write("STOP SLAVE");
}

SqlStatement start_replica(Flavor flavor, const std::string& version) {
  if (flavor == Flavor::MySQL && mysql_has_replica_syntax(version))
    return SqlStatement::write("START REPLICA");
  return SqlStatement::write("START SLAVE");
}

SqlStatement gtid_slave_pos_from_binlog_pos() {
  return SqlStatement::write("SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos");
}

SqlStatement change_source_gtid(Flavor flavor, const std::string& version, const std::string& host, int port,
                                const std::string& user, const std::string& password) {
  Words w = words_for(flavor, version);
  std::string tail;
  if (flavor == Flavor::MySQL)
    tail = mysql_has_replica_syntax(version) ? ", SOURCE_AUTO_POSITION=1" : ", MASTER_AUTO_POSITION=1";
  else
    tail = ", MASTER_USE_GTID=slave_pos";
  return with_secret(w, host, port, user, password, tail);
}

SqlStatement change_source_position(Flavor flavor, const std::string& version, const std::string& host,
                                    int port, const std::string& user, const std::string& password,
                                    const BinlogPosition& at) {
  Words w = words_for(flavor, version);
  std::string tail = std::string(", ") + w.log_file + "=" + quote_string(at.file) + ", " + w.log_pos + "=" +
                     std::to_string(at.pos);
  if (flavor == Flavor::MariaDB) tail += ", MASTER_USE_GTID=no";
  if (flavor == Flavor::MySQL)
    tail += mysql_has_replica_syntax(version) ? ", SOURCE_AUTO_POSITION=0" : ", MASTER_AUTO_POSITION=0";
  return with_secret(w, host, port, user, password, tail);
}

SqlStatement skip_one_event(Flavor flavor, const std::string& version) {
  if (flavor == Flavor::MySQL && mysql_has_replica_syntax(version))
    return SqlStatement::write("SET GLOBAL sql_replica_skip_counter = 1");
  return SqlStatement::write("SET GLOBAL sql_slave_skip_counter = 1");
}

SqlStatement reset_replica_all(Flavor flavor, const std::string& version) {
  if (flavor == Flavor::MySQL && mysql_has_replica_syntax(version))
    return SqlStatement::write("RESET REPLICA ALL");
  return SqlStatement::write("RESET SLAVE ALL");
}

}  // namespace mhafb::sqlstmt

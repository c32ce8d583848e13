// Fuzz target: the replication-status row parser (parse_replica_status, over SHOW SLAVE STATUS /
// SHOW REPLICA STATUS). The input is turned into the ResultSet a server would return: one line per
// column, "Name<TAB>Value"; a line without a tab is a column whose value is NULL; a blank line starts
// the next row (the parser reads the first). Column names are any bytes, as a server could send them.
//
// Properties beyond "no crash, hang or leak": a NULL or empty lag is unknown (nullopt), never 0; the
// IO thread is never both running and connecting; text columns are passed through unchanged.
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "supervisor/discovery.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mhafb;
  ResultSet rs;
  rs.rows.emplace_back();
  std::size_t row = 0;
  std::size_t col = 0;
  for (std::string_view line : fuzz::split(fuzz::as_text(data, size), "\n", size + 1)) {
    if (line.empty()) {
      rs.rows.emplace_back();
      ++row;
      col = 0;
      continue;
    }
    std::size_t tab = line.find('\t');
    std::string name(line.substr(0, tab));
    std::optional<std::string> value;
    if (tab != std::string_view::npos) value = std::string(line.substr(tab + 1));
    // The first row defines the columns; later rows fill them in order.
    if (row == 0) rs.columns.push_back(name);
    if (col++ < rs.columns.size()) rs.rows[row].push_back(value);
  }

  ReplicaStatus r = parse_replica_status(rs);

  auto lag = rs.get(0, "Seconds_Behind_Master");
  if (!lag) lag = rs.get(0, "Seconds_Behind_Source");
  if ((!lag || lag->empty()) && r.seconds_behind)
    fuzz::fail("a NULL or empty lag is unknown, not a number", "");
  if (r.io_running && r.io_connecting) fuzz::fail("the IO thread is running or connecting, not both", "");
  auto host = rs.get(0, "Master_Host");
  if (!host) host = rs.get(0, "Source_Host");
  if (r.source_host != host.value_or("")) fuzz::fail("the source host is passed through", r.source_host);
  if (r.last_sql_error != rs.get(0, "Last_SQL_Error").value_or(""))
    fuzz::fail("the SQL error is passed through", r.last_sql_error);
  return 0;
}

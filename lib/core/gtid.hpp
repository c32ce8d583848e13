// GTID sets and the divergence test. Pure functions, no I/O.
//
// MariaDB: a GTID list "D-S-N,D-S-N,…" (gtid_binlog_state keeps the last sequence number per
// (domain, server_id); gtid_binlog_pos/gtid_slave_pos one per domain). A returning old master has
// diverged when, for some (domain, server_id), its binlog state holds a higher sequence number than
// the new master's: those transactions exist only on the old master.
// MySQL: gtid_executed "uuid:1-5:7,uuid2:1-9"; diverged when old ⊄ new.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace mhafb {

struct MariaGtid {
  std::uint32_t domain = 0;
  std::uint32_t server_id = 0;
  std::uint64_t seq = 0;
  std::string to_string() const;
  bool operator==(const MariaGtid&) const = default;
};

// Parses "0-1-100,1-2-7" (spaces and newlines allowed around commas; empty string = empty list).
Result<std::vector<MariaGtid>> parse_mariadb_gtid_list(std::string_view text);

// One range of transactions present on the old master only.
struct ExtraTransactions {
  std::string origin;       // MariaDB "domain-server_id", MySQL the source uuid
  std::uint64_t first = 0;  // first sequence number (inclusive)
  std::uint64_t last = 0;   // last sequence number (inclusive)
  std::string to_string() const;  // "0-1-101..0-1-103" or "uuid:101-103"
};

struct DivergenceReport {
  bool diverged = false;
  std::vector<ExtraTransactions> extra;
  std::string sentence;  // "old master 127.0.0.11 has 3 transactions the new master lacks: 0-1-101..0-1-103"
};

// old_state/new_state: @@gtid_binlog_state of the old and the new master.
Result<DivergenceReport> compare_mariadb_binlog_states(std::string_view old_state, std::string_view new_state);

// MySQL gtid_executed sets.
struct MysqlGtidSet {
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> intervals;  // uuid -> [a,b]
};
Result<MysqlGtidSet> parse_mysql_gtid_set(std::string_view text);
Result<DivergenceReport> compare_mysql_gtid_executed(std::string_view old_set, std::string_view new_set);

}  // namespace mhafb

// GTID sets and the divergence test. Pure functions, no I/O.
//
// MariaDB: a GTID list "D-S-N,D-S-N,…" (gtid_binlog_state keeps the last sequence number per
// (domain, server_id); gtid_binlog_pos/gtid_slave_pos one per domain). A returning old master has
// diverged when, for some (domain, server_id), its binlog state holds a higher sequence number than
// the new master's: those transactions exist only on the old master.
// MySQL: gtid_executed "uuid:1-5:7,uuid2:1-9"; diverged when old ⊄ new.
//
// Every parser here is total and strict: any input yields a value or an Error naming the first bad
// token (quoted, truncated, non-printable bytes escaped), in time linear in the input (plus sorting
// the intervals of a MySQL set).
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
// Rejects empty elements ("0-1-1,,0-2-3", a trailing comma), signs, missing or extra fields, and
// numbers that overflow (domain and server_id are 32-bit, the sequence number 64-bit).
Result<std::vector<MariaGtid>> parse_mariadb_gtid_list(std::string_view text);

// One range of transactions present on the old master only.
struct ExtraTransactions {
  std::string origin;             // MariaDB "domain-server_id", MySQL the source uuid (or "uuid:tag")
  std::uint64_t first = 0;        // first sequence number (inclusive)
  std::uint64_t last = 0;         // last sequence number (inclusive)
  std::string to_string() const;  // "0-1-101..0-1-103" or "uuid:101-103" (one number when first == last)
  // MariaDB only: the new master holds no GTID at all from this (domain, server_id) and its
  // gtid_slave_pos does not cover it, so nothing proves that any of them reached it: `first` is 1.
  bool absent_on_new = false;
  // last - first + 1, saturated at UINT64_MAX.
  std::uint64_t size() const;
};

struct DivergenceReport {
  bool diverged = false;
  std::vector<ExtraTransactions> extra;
  std::string sentence;  // "old master 127.0.0.11 has 3 transactions the new master lacks: 0-1-101..0-1-103"
  // Sum of the ranges' sizes, saturated. Exact for MySQL. For MariaDB an upper bound: sequence
  // numbers are allocated per domain, so a range may contain numbers another server used.
  std::uint64_t extra_count = 0;
};

// old_state/new_state: @@gtid_binlog_state of the old and the new master (binlog states only; see
// compare_mariadb_gtid_states for a new master without log_slave_updates). Each (domain, server_id)
// may appear once per state (a binlog state never repeats one; a repeated one is rejected).
// For each (domain, server_id) in old_state whose sequence number exceeds new_state's, the extra
// range is new_seq+1 .. old_seq. When new_state has no entry for it, the range is 1 .. old_seq
// (absent_on_new): a binlog state keeps only the last sequence number per origin, so it cannot
// show where that server's transactions began, and with log_slave_updates the new master would
// hold an entry had even one of them reached it. Entries with sequence number 0 carry no transaction.
Result<DivergenceReport> compare_mariadb_binlog_states(std::string_view old_state,
                                                       std::string_view new_state);
// Same, with the old master's name in the sentence ("old master 127.0.0.11 has ...").
Result<DivergenceReport> compare_mariadb_binlog_states(std::string_view old_state, std::string_view new_state,
                                                       std::string_view old_master_label);

// The full MariaDB test. A new master running with log_slave_updates=OFF (MariaDB's default) does not
// write what it replicated into its own binary log, so its gtid_binlog_state lacks every transaction
// it received from the old master; its @@gtid_slave_pos holds them instead (one GTID per domain: the
// last one applied). A slave_pos GTID d-s'-p counts as proof that the new master applied the old
// master's domain-d stream up to sequence number p, and so every old-master GTID in domain d with a
// sequence number <= p, when the old master's binlog state shows it wrote or logged d-s' up to at
// least p (the position came from the old master's stream, not from some other server's); that
// relies on a domain's stream being in sequence-number order, which gtid_strict_mode guarantees.
struct MariaDivergenceInput {
  std::string_view old_binlog_state;  // old master's @@gtid_binlog_state
  std::string_view new_binlog_state;  // new master's @@gtid_binlog_state
  std::string_view new_slave_pos;     // new master's @@gtid_slave_pos; "" when not known
  std::string_view old_master_label = "the old master";
};
Result<DivergenceReport> compare_mariadb_gtid_states(const MariaDivergenceInput& in);

// MySQL gtid_executed sets. Keys are lower-case uuids ("uuid:tag" for MySQL 8.3 tagged GTIDs);
// intervals are sorted, merged (overlapping and adjacent ones joined) and within 1 .. 2^63-1.
struct MysqlGtidSet {
  std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> intervals;  // uuid -> [a,b]
  bool empty() const { return intervals.empty(); }
  std::string to_string() const;  // canonical "uuid:1-5:7,uuid2:1-9"
};
Result<MysqlGtidSet> parse_mysql_gtid_set(std::string_view text);
// true when every transaction of `a` is in `b`.
bool mysql_gtid_subset(const MysqlGtidSet& a, const MysqlGtidSet& b);
// a − b as intervals.
MysqlGtidSet mysql_gtid_subtract(const MysqlGtidSet& a, const MysqlGtidSet& b);
Result<DivergenceReport> compare_mysql_gtid_executed(std::string_view old_set, std::string_view new_set);
Result<DivergenceReport> compare_mysql_gtid_executed(std::string_view old_set, std::string_view new_set,
                                                     std::string_view old_master_label);

}  // namespace mhafb

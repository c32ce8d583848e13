// Saving a diverged old master's extra transactions for the operator (the divergence gate's second
// half). mysqlbinlog runs on the manager host and reads the old master's binary log over the network
// (--read-from-remote-server), restricted to the extra GTIDs: MariaDB's mysqlbinlog takes GTID lists
// in --start-position (exclusive) / --stop-position (inclusive) but still needs the binlog file to
// begin with, so the newest file whose starting GTID position lies before the first extra
// transaction is looked up first (SHOW BINARY LOGS, BINLOG_GTID_POS). Without GTIDs the window is the
// binlog coordinates MHA's replicas had read up to, to the end of the last binlog.
//
// The password reaches mysqlbinlog only through a 0600 option file in a private (0700) directory
// beside the destination, never through argv or the environment; the directory is removed whatever
// happens. The output goes to a 0600 file in that directory first and is renamed into place only when
// mysqlbinlog succeeded, so the history never holds a half-written extract.
#pragma once

#include <chrono>
#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "config/cluster_config.hpp"
#include "core/gtid.hpp"
#include "core/snapshot.hpp"
#include "steps/step_io.hpp"

namespace mhafb {

struct ExtractRequest {
  std::string hostname;  // the old master, by its MHA hostname (resolved by StepIo)
  Flavor flavor = Flavor::MariaDB;
  std::string mysqlbinlog;  // program name or path (commands.mysqlbinlog)
  const SqlAccount* account = nullptr;
  // GTID mode: the extra transactions (MariaDB "domain-server_id" origins).
  std::vector<ExtraTransactions> extra;
  // Position mode (extra empty): everything after this binlog position, to the end of the last binlog.
  BinlogPosition after;
  std::string directory;  // where the file lands (the state directory's history/)
  std::string file_name;  // e.g. "app1-divergence-20261124T041604Z.binlog.sql"
  std::chrono::milliseconds timeout{180'000};
};

struct SavedTransactions {
  std::string path;
  std::uint64_t transactions = 0;  // GTID events in the file
  std::uint64_t bytes = 0;
  // GTIDs in the file outside the extra ranges (the new master has them): the operator must skip
  // these. Empty in the normal case.
  std::vector<std::string> outside;
  // Extra GTIDs missing from the file (purged or never logged).
  std::uint64_t missing = 0;
};

// Runs the extraction. Every failure (SQL, the binlog holding the extras already purged, mysqlbinlog
// failing or timing out, the file system) is an Error whose message says what went wrong; nothing is
// left behind in `directory` then.
Result<SavedTransactions> save_extra_transactions(StepIo& io, const ExtractRequest& request);

// ---- the pieces, exposed for tests

// A value for a MySQL/MariaDB option file: double-quoted, with \ " and control characters escaped
// the way the client library's option-file reader undoes them (so '#', ';', quotes and spaces in a
// password survive).
std::string option_file_value(std::string_view value);

// The option file's text: [client] user and password.
std::string client_option_file(const SqlAccount& account);

// The GTID window of the extra transactions: per domain, start = the first extra sequence number
// minus one (mysqlbinlog's start is exclusive), stop = the last one (inclusive).
struct GtidWindow {
  std::string start;             // "0-1-13,1-1-0"
  std::string stop;              // "0-1-16,1-1-4"
  std::vector<MariaGtid> first;  // per domain, the first extra GTID
};
Result<GtidWindow> gtid_window(const std::vector<ExtraTransactions>& extra);

// mysqlbinlog's argv. `first_file` is the binlog to start reading from; `start`/`stop` either the
// GTID window's lists or (position mode) a byte offset in `first_file` and "".
std::vector<std::string> mysqlbinlog_argv(const std::string& program, const std::string& defaults_file,
                                          const Endpoint& server, const std::string& result_file,
                                          const std::string& first_file, const std::string& start,
                                          const std::string& stop);

// Counts the GTID events of mysqlbinlog's text output and checks them against `extra`
// (empty `extra`: every GTID counts, none is outside).
struct BinlogScan {
  std::uint64_t transactions = 0;
  std::uint64_t inside = 0;
  std::vector<std::string> outside;
};
BinlogScan scan_mysqlbinlog_output(std::istream& in, const std::vector<ExtraTransactions>& extra);

}  // namespace mhafb

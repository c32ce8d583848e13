// Command line of mha-failbackctl: one command, its arguments and the shared options.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace mhafb::ctl {

// Exit codes (documented in --help and mha-failbackctl(1)).
enum Exit : int {
  kOk = 0,
  kFailed = 1,          // the daemon refused the request or the operation failed (its sentence is printed)
  kUsage = 2,           // bad command line
  kUnreachable = 3,     // no bus, or mha-failbackd is not running on it
  kUnknownCluster = 4,  // no such cluster
  kDenied = 5,          // the bus policy does not allow this caller to do that
};

struct CtlArgs {
  std::string command;  // status, failback, plan, rejoin, abort, mode, ack, history, watch
  std::string cluster;  // for per-cluster commands (optional for watch)
  std::string mode;     // for `mode`
  std::string reason = "requested with mha-failbackctl";
  std::string bus = "system";
  bool json = false;
  bool wait = false;
  bool help = false;
  bool version = false;
  int lines = 500;                // history: the last N records (one failback writes ~60)
  std::string journal_directory;  // history: read this journal directory (journalctl -D)
  std::string state_dir = "/var/lib/mha-failback";
};

Result<CtlArgs> parse_ctl_args(const std::vector<std::string>& args);
std::string ctl_usage();

}  // namespace mhafb::ctl

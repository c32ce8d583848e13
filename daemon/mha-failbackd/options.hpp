// Command-line options of mha-failbackd.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace mhafb {

struct DaemonOptions {
  std::string config_path = "/etc/mha-failback/mha-failback.json";
  std::string bus = "system";  // "system", "session" or a D-Bus address ("unix:path=...")
  bool check_config = false;
  bool print_fsm = false;
  bool dry_run = false;
  bool version = false;
  bool help = false;
};

Result<DaemonOptions> parse_daemon_options(const std::vector<std::string>& args);
std::string daemon_usage();

}  // namespace mhafb

// Knobs of the daemon configuration loader that only tests change: where MHA's global config is
// looked for when a cluster names none (MHA's tools default to /etc/masterha_default.cnf, and the
// loader must look where they look; tests point it elsewhere rather than write into /etc).
#pragma once

#include <string>

#include "config/daemon_config.hpp"

namespace mhafb {

struct DaemonConfigOptions {
  std::string default_mha_global_conf = "/etc/masterha_default.cnf";
};

LoadedConfig parse_daemon_config_text(const std::string& json_text, const std::string& json_path,
                                      const DaemonConfigOptions& options);
LoadedConfig load_daemon_config(const std::string& json_path, const DaemonConfigOptions& options);

}  // namespace mhafb

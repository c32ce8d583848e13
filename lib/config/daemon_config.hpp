// The daemon's JSON configuration (nlohmann/json): which MHA apps to supervise and everything MHA's
// config does not know (preferred master, mode, commands, policies, secret files). Loading also loads
// each cluster's MHA config and checks the two against each other. Every error is collected, never
// only the first.
#pragma once

#include <string>
#include <vector>

#include "config/cluster_config.hpp"

namespace mhafb {

struct LoadedConfig {
  DaemonConfig config;
  std::vector<ConfigError> errors;  // empty = valid
  bool ok() const { return errors.empty(); }
};

LoadedConfig load_daemon_config(const std::string& json_path);
// From text, for tests and fuzzing (MHA confs and secret files it names are still read from disk).
LoadedConfig parse_daemon_config_text(const std::string& json_text, const std::string& json_path);

}  // namespace mhafb

// MHA app configuration, parsed with MHA 0.58's own rules (MHA::Config on Config::Tiny):
// `[server default]` from the global file (masterha_default.cnf), overridden by the app file's
// `[server default]`, inherited by every `[serverN]` block; unknown parameter names are errors (MHA
// croaks on them); block names must be "server default" or start with "server" / "binlog".
#pragma once

#include <string>
#include <vector>

#include "config/cluster_config.hpp"

namespace mhafb {

// Parses `app_conf` (and `global_conf` when not empty). Every problem is appended to `errors`
// (file, key, expectation); the returned config is as complete as the input allowed.
MhaAppConfig load_mha_config(const std::string& app_conf, const std::string& global_conf,
                             std::vector<ConfigError>& errors);

// Same, from text (for tests and fuzzing); `app_name_from` is the path the app name derives from.
MhaAppConfig parse_mha_config_text(const std::string& app_text, const std::string& app_path,
                                   const std::string& global_text, const std::string& global_path,
                                   std::vector<ConfigError>& errors);

}  // namespace mhafb

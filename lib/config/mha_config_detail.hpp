// What the MHA config loader knows beyond MhaAppConfig, for the daemon config's cross-checks:
// each server's effective SQL accounts and where every value came from (MHA lets each [serverN]
// carry its own; mha-failback uses one account per cluster and must notice when they differ), and
// whether MHA would run an init_conf_load_script (a shell command that can supply more settings,
// typically passwords, which mha-failback does not run). Implemented in mha/mha_config.cpp.
#pragma once

#include <string>
#include <vector>

#include "config/cluster_config.hpp"

namespace mhafb {

// Where an effective MHA value was written.
struct MhaOrigin {
  std::string file;   // empty for MHA's built-in default
  std::string block;  // "server default", "server1", …
  int line = 0;
  std::string describe() const;  // "/etc/mha.conf [server default] line 4" or "MHA's default"
};

struct MhaSetting {
  bool set = false;  // false: neither the block nor any [server default] gave it
  std::string value;
  MhaOrigin origin;
};

// A server's effective account settings, after inheritance and MHA's quote stripping.
struct MhaServerAccounts {
  std::string block;
  MhaSetting user, password, repl_user, repl_password;
};

struct MhaConfigDetail {
  MhaAppConfig app;
  std::vector<MhaServerAccounts> accounts;  // one per app.servers entry, same order
  MhaSetting init_conf_load_script;         // from the effective [server default]
  bool read_ok = true;                      // false: a file could not be read at all
  // Every password value seen in the files (any block), so callers can make sure none leaks.
  std::vector<std::string> secrets;
};

MhaConfigDetail load_mha_config_detail(const std::string& app_conf, const std::string& global_conf,
                                       std::vector<ConfigError>& errors);
MhaConfigDetail parse_mha_config_detail(const std::string& app_text, const std::string& app_path,
                                        const std::string& global_text, const std::string& global_path,
                                        std::vector<ConfigError>& errors);

}  // namespace mhafb

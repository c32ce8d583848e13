// Formatting of configuration errors: one line naming file, key, expectation and what was found.
#include "config/cluster_config.hpp"

namespace mhafb {

std::string ConfigError::to_string() const {
  std::string s = file;
  if (!key.empty()) s += ": " + key;
  s += ": expected " + expected;
  if (!found.empty()) s += ", found " + found;
  return s;
}

}  // namespace mhafb

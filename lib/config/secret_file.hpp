// Secret files (password files, SSH private keys): the rules that keep a secret readable only by the
// daemon. A secret file must be a regular file, have no group/other permission bits (0600, 0400 or
// stricter) and be owned by the user the daemon runs as. Password files hold one line; a single
// trailing newline (LF or CRLF) is not part of the password.
#pragma once

#include <string>
#include <vector>

#include "config/cluster_config.hpp"

namespace mhafb {

struct SecretFileCheck {
  std::string value;     // the file's content (read_secret_file only); never log it
  std::string expected;  // empty when the file is acceptable
  std::string found;     // what was wrong; never contains the content
  bool ok() const { return expected.empty(); }
};

// Opens `path` (following symlinks), checks the rules on the opened file and reads the password.
SecretFileCheck read_secret_file(const std::string& path);

// The same ownership and permission rules without reading (for SSH private keys).
SecretFileCheck check_secret_file(const std::string& path);

// The last guard against a leak: replaces every occurrence of every known secret value (4 bytes or
// longer; shorter ones would garble ordinary words) in errors[from..] with "<redacted>".
void redact_secrets(std::vector<ConfigError>& errors, const std::vector<std::string>& secrets,
                    size_t from = 0);

}  // namespace mhafb

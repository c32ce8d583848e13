// Fuzz target: the MHA app config parser (MHA 0.58's rules on Config::Tiny), app file and global file.
// Input: the app file's text, optionally followed by "\n#--global--\n" and the global file's text.
// Properties beyond "no crash, hang or leak": every password the config yields is one the parser
// knows as a secret, and no error message carries a known secret.
#include <cstdint>
#include <string>
#include <vector>

#include "config/mha_config_detail.hpp"
#include "fuzz_support.hpp"
#include "mha/mha_config.hpp"

namespace {

constexpr std::string_view kGlobalMarker = "\n#--global--\n";

bool known_secret(const std::vector<std::string>& secrets, const std::string& value) {
  for (const auto& s : secrets)
    if (s == value) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mhafb;
  auto parts = fuzz::split(fuzz::as_text(data, size), kGlobalMarker, 2);
  std::string app_text(parts[0]);
  std::string global_text = parts.size() > 1 ? std::string(parts[1]) : std::string();
  std::string global_path = parts.size() > 1 ? "/etc/masterha_default.cnf" : "";

  std::vector<ConfigError> errors;
  MhaConfigDetail d =
      parse_mha_config_detail(app_text, "/etc/mha/app1.cnf", global_text, global_path, errors);

  if (d.app.app_name != "app1") fuzz::fail("the app name derives from the path only", d.app.app_name);
  if (d.accounts.size() != d.app.servers.size())
    fuzz::fail("one account entry per server", std::to_string(d.accounts.size()));
  for (const std::string* pw : {&d.app.password, &d.app.repl_password})
    if (!pw->empty() && !known_secret(d.secrets, *pw))
      fuzz::fail("every password the config yields is a known secret", *pw);
  for (const auto& a : d.accounts)
    for (const MhaSetting* pw : {&a.password, &a.repl_password})
      if (!pw->value.empty() && !known_secret(d.secrets, pw->value))
        fuzz::fail("every server's password is a known secret", "[" + a.block + "] " + pw->value);
  fuzz::check_no_secret(errors, d.secrets);

  // The public entry point is the same parse.
  std::vector<ConfigError> errors2;
  MhaAppConfig app = parse_mha_config_text(app_text, "/etc/mha/app1.cnf", global_text, global_path, errors2);
  if (errors2.size() != errors.size() || app.servers.size() != d.app.servers.size())
    fuzz::fail("parse_mha_config_text agrees with parse_mha_config_detail", std::to_string(errors2.size()));
  return 0;
}

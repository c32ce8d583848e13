// mha-failbackd: entry point. Parses the options, handles the one-shot modes (--check-config,
// --print-fsm, --version, --help), sets up logging to the journal (or stderr) and runs the Daemon.
#include <spdlog/spdlog.h>

#include <iostream>
#include <string>
#include <vector>

#include "audit/spdlog_journal_sink.hpp"
#include "config/daemon_config.hpp"
#include "core/fsm.hpp"
#include "daemon.hpp"
#include "options.hpp"

namespace {

// Exit status for a configuration the daemon cannot start with (sysexits EX_CONFIG); the unit file
// lists it in RestartPreventExitStatus so a broken config does not restart in a loop.
constexpr int kExitConfig = 78;

spdlog::level::level_enum parse_level(const std::string& s) {
  auto level = spdlog::level::from_str(s);
  return level == spdlog::level::off && s != "off" ? spdlog::level::info : level;
}

int check_config(const std::string& path) {
  auto loaded = mhafb::load_daemon_config(path);
  for (const auto& e : loaded.errors)
    std::cerr << e.to_string() << "\n";
  if (!loaded.ok()) {
    std::cerr << path << ": " << loaded.errors.size() << " error(s)\n";
    return 1;
  }
  std::string names;
  for (const auto& c : loaded.config.clusters)
    names += (names.empty() ? "" : ", ") + c.name;
  std::cout << path << ": valid: " << loaded.config.clusters.size() << " cluster(s)"
            << (names.empty() ? "" : " (" + names + ")") << ", state directory " << loaded.config.state_dir
            << "\n";
  return 0;
}

int run(int argc, char** argv) {
  auto parsed = mhafb::parse_daemon_options(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed) {
    std::cerr << "mha-failbackd: " << parsed.error().message << "\n";
    return 2;
  }
  const auto& options = *parsed;
  if (options.help) {
    std::cout << mhafb::daemon_usage();
    return 0;
  }
  if (options.version) {
    std::cout << "mha-failbackd " << MHAFB_VERSION << "\n";
    return 0;
  }
  if (options.print_fsm) {
    std::cout << mhafb::fsm_to_dot();
    return 0;
  }
  if (options.check_config) return check_config(options.config_path);

  auto writer = std::make_shared<mhafb::JournalWriter>();
  auto logger = mhafb::make_journal_logger("", writer);
  spdlog::set_default_logger(logger);

  auto loaded = mhafb::load_daemon_config(options.config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors)
      spdlog::error("configuration: {}", e.to_string());
    spdlog::error("cannot start: {} error(s) in {}", loaded.errors.size(), options.config_path);
    return kExitConfig;
  }
  spdlog::set_level(parse_level(loaded.config.log_level));
  try {
    mhafb::Daemon daemon(options, std::move(loaded.config), writer);
    return daemon.run();
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}

}  // namespace

// Anything that escapes run() (an allocation failure while parsing the options or reading the
// configuration) ends the process with a sentence instead of std::terminate's abort.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mha-failbackd: fatal: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "mha-failbackd: fatal: unknown exception\n";
  }
  return 1;
}

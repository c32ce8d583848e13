// mha-failbackctl: the operator's command line; talks to mha-failbackd over D-Bus. Errors are
// printed as the daemon's own sentence; exit codes are listed in ctl_args.hpp and the man page.
#include <iostream>

#include "client.hpp"
#include "commands.hpp"
#include "ctl_args.hpp"

using namespace mhafb::ctl;

namespace {

int run(int argc, char** argv) {
  auto parsed = parse_ctl_args(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed) {
    std::cerr << "mha-failbackctl: " << parsed.error().message << "\n";
    return kUsage;
  }
  const auto& args = *parsed;
  if (args.help) {
    std::cout << ctl_usage();
    return kOk;
  }
  if (args.version) {
    std::cout << "mha-failbackctl " << MHAFB_VERSION << "\n";
    return kOk;
  }
  if (args.command == "history") return cmd_history(args);
  try {
    Client client(args.bus);
    if (args.command == "status") return cmd_status(client, args);
    if (args.command == "failback") return cmd_failback(client, args);
    if (args.command == "plan") return cmd_plan(client, args);
    if (args.command == "watch") return cmd_watch(client, args);
    return cmd_simple(client, args);
  } catch (const Failure& f) {
    std::cerr << "mha-failbackctl: " << f.message << "\n";
    return f.exit_code;
  } catch (const sdbus::Error& e) {
    auto f = failure_from(e);
    std::cerr << "mha-failbackctl: " << f.message << "\n";
    return f.exit_code;
  }
}

}  // namespace

// Anything that escapes run() (an allocation failure, a malformed number in a journal record the
// history reads) ends the command with a sentence and kFailed instead of std::terminate's abort.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mha-failbackctl: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "mha-failbackctl: unknown exception\n";
  }
  return kFailed;
}

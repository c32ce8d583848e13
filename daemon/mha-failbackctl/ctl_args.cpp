// Parsing of mha-failbackctl's command line.
#include "ctl_args.hpp"

#include <charconv>

namespace mhafb::ctl {

namespace {

bool per_cluster(const std::string& c) {
  return c == "failback" || c == "plan" || c == "rejoin" || c == "abort" || c == "mode" || c == "ack" ||
         c == "history";
}

}  // namespace

Result<CtlArgs> parse_ctl_args(const std::vector<std::string>& args) {
  CtlArgs a;
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    auto take = [&](std::string& out) -> Status {
      if (has_value) {
        out = value;
        return {};
      }
      if (i + 1 >= args.size()) return Error::invalid("option " + arg + " needs a value.");
      out = args[++i];
      return {};
    };
    Status st;
    if (arg == "--bus") {
      st = take(a.bus);
    } else if (arg == "--reason") {
      st = take(a.reason);
    } else if (arg == "--directory" || arg == "-D") {
      st = take(a.journal_directory);
    } else if (arg == "--state-dir") {
      st = take(a.state_dir);
    } else if (arg == "--lines" || arg == "-n") {
      std::string n;
      st = take(n);
      if (st) {
        auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), a.lines);
        if (ec != std::errc() || p != n.data() + n.size() || a.lines <= 0)
          return Error::invalid("option --lines needs a positive number, found '" + n + "'.");
      }
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg == "--wait") {
      a.wait = true;
    } else if (arg == "--help" || arg == "-h") {
      a.help = true;
    } else if (arg == "--version") {
      a.version = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return Error::invalid("unknown option " + args[i] + "; see --help.");
    } else {
      positional.push_back(args[i]);
    }
    if (!st) return st.error();
  }
  if (a.help || a.version) return a;
  if (positional.empty()) return Error::invalid("no command given; see --help.");
  a.command = positional[0];
  static const char* known[] = {"status", "failback", "plan",    "rejoin", "abort",
                                "mode",   "ack",      "history", "watch"};
  bool ok = false;
  for (const char* k : known)
    ok = ok || a.command == k;
  if (!ok) return Error::invalid("unknown command '" + a.command + "'; see --help.");
  std::size_t want = a.command == "mode" ? 3 : per_cluster(a.command) ? 2 : a.command == "watch" ? 0 : 1;
  if (a.command == "watch") {
    if (positional.size() > 2) return Error::invalid("watch takes at most one cluster name.");
    if (positional.size() == 2) a.cluster = positional[1];
    return a;
  }
  if (positional.size() != want) {
    if (a.command == "mode")
      return Error::invalid("usage: mha-failbackctl mode CLUSTER observe|approve|auto");
    if (want == 2) return Error::invalid("usage: mha-failbackctl " + a.command + " CLUSTER");
    return Error::invalid("usage: mha-failbackctl " + a.command);
  }
  if (want >= 2) a.cluster = positional[1];
  if (want == 3) a.mode = positional[2];
  return a;
}

std::string ctl_usage() {
  return "Usage: mha-failbackctl [--bus BUS] COMMAND [ARGS]\n"
         "Drives mha-failbackd over D-Bus.\n"
         "\n"
         "Commands:\n"
         "  status [--json]                 every cluster: state, mode, master, operation, decision\n"
         "  failback CLUSTER [--wait] [--reason TEXT]\n"
         "                                  approve the switch back; --wait until it ends\n"
         "  plan CLUSTER                    every command and statement the next operation would run\n"
         "  rejoin CLUSTER                  rejoin the old master as a replica now\n"
         "  abort CLUSTER                   stop the running operation before its point of no return\n"
         "  mode CLUSTER observe|approve|auto\n"
         "  ack CLUSTER                     leave blocked after fixing things by hand\n"
         "  history CLUSTER [-n N] [--json] [-D DIR]\n"
         "                                  the cluster's audit records from the journal (or DIR)\n"
         "  watch [CLUSTER]                 print state changes and property changes as they happen\n"
         "\n"
         "Options:\n"
         "  --bus BUS    system (default), session, or a D-Bus address such as unix:path=/run/x\n"
         "  --version    print the version\n"
         "  --help       print this help\n"
         "\n"
         "Exit codes: 0 success; 1 refused or failed (the daemon's sentence is printed); 2 usage error;\n"
         "3 mha-failbackd not reachable; 4 unknown cluster; 5 access denied by the bus policy.\n";
}

}  // namespace mhafb::ctl

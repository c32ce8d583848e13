// Parsing of mha-failbackd's command line: long options only, "--opt VALUE" or "--opt=VALUE".
#include "options.hpp"

namespace mhafb {

Result<DaemonOptions> parse_daemon_options(const std::vector<std::string>& args) {
  DaemonOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    auto take_value = [&](const char* name) -> Result<std::string> {
      if (has_value) return value;
      if (i + 1 >= args.size()) return Error::invalid(std::string("option ") + name + " needs a value.");
      return args[++i];
    };
    auto no_value = [&](bool& flag) -> Status {
      if (has_value) return Error::invalid("option " + arg + " takes no value.");
      flag = true;
      return {};
    };
    Status st;
    if (arg == "--config" || arg == "-c") {
      auto v = take_value("--config");
      if (!v) return v.error();
      o.config_path = *v;
    } else if (arg == "--bus") {
      auto v = take_value("--bus");
      if (!v) return v.error();
      if (v->empty()) return Error::invalid("option --bus needs system, session or a D-Bus address.");
      o.bus = *v;
    } else if (arg == "--check-config") {
      st = no_value(o.check_config);
    } else if (arg == "--print-fsm") {
      st = no_value(o.print_fsm);
    } else if (arg == "--dry-run") {
      st = no_value(o.dry_run);
    } else if (arg == "--version") {
      st = no_value(o.version);
    } else if (arg == "--help" || arg == "-h") {
      st = no_value(o.help);
    } else {
      return Error::invalid("unknown option " + args[i] + "; see --help.");
    }
    if (!st) return st.error();
  }
  return o;
}

std::string daemon_usage() {
  return "Usage: mha-failbackd [OPTIONS]\n"
         "Supervises MHA-managed MariaDB/MySQL replication pairs and switches the master role back to\n"
         "the preferred master after a failover.\n"
         "\n"
         "Options:\n"
         "  --config FILE     configuration (default /etc/mha-failback/mha-failback.json)\n"
         "  --check-config    load the configuration, print every error, exit 1 on any (0 when valid)\n"
         "  --print-fsm       print the state transition table as Graphviz DOT and exit\n"
         "  --dry-run         run every check but no command or statement that changes anything\n"
         "  --bus BUS         system (default), session, or a D-Bus address such as unix:path=/run/x\n"
         "  --version         print the version and exit\n"
         "  --help            print this help and exit\n"
         "\n"
         "Signals: SIGTERM/SIGINT stop after the step in flight; SIGHUP reloads the configuration.\n";
}

}  // namespace mhafb

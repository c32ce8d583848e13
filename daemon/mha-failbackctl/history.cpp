// `mha-failbackctl history CLUSTER`: the cluster's audit records, read back from the journal with
// journalctl (argv, no shell), newest last. Without journal records it shows the persisted state
// file, the other place a cluster's story is kept.
#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "exec/process_runner.hpp"

namespace mhafb::ctl {

namespace {

std::string field(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string time_of(const std::string& realtime_usec) {
  if (realtime_usec.empty()) return "?";
  std::time_t t = static_cast<std::time_t>(std::stoll(realtime_usec) / 1'000'000);
  std::tm local{};
  char buf[32];
  if (::localtime_r(&t, &local) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local) == 0)
    return "?";
  return buf;
}

int show_state_file(const CtlArgs& args) {
  std::string path = args.state_dir + "/" + args.cluster + ".state.json";
  std::ifstream in(path);
  if (!in) {
    std::cerr << "mha-failbackctl: no journal records and no state file " << path << " for cluster "
              << args.cluster << ".\n";
    return kFailed;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::cout << "No journal records for " << args.cluster << "; persisted state (" << path << "):\n"
            << ss.str() << "\n";
  // What the engine archived for this cluster: failover flags, divergence reports.
  std::error_code ec;
  std::vector<std::string> archived;
  for (const auto& e : std::filesystem::directory_iterator(args.state_dir + "/history", ec))
    if (e.path().filename().string().rfind(args.cluster, 0) == 0) archived.push_back(e.path().string());
  std::sort(archived.begin(), archived.end());
  if (!archived.empty()) std::cout << "Archived in " << args.state_dir << "/history:\n";
  for (const auto& a : archived)
    std::cout << "  " << a << "\n";
  return kOk;
}

}  // namespace

int cmd_history(const CtlArgs& args) {
  CommandSpec spec;
  spec.argv = {"journalctl", "--no-pager", "-o", "json", "-n", std::to_string(args.lines)};
  if (!args.journal_directory.empty()) {
    spec.argv.push_back("-D");
    spec.argv.push_back(args.journal_directory);
  }
  spec.argv.push_back("SYSLOG_IDENTIFIER=mha-failbackd");
  spec.argv.push_back("CLUSTER=" + args.cluster);
  spec.mutates = false;
  spec.timeout = std::chrono::seconds(60);
  ProcessRunner runner;
  auto out = runner.run(spec);
  if (!out || !out->succeeded()) {
    std::string why = out ? out->err : out.error().message;
    std::cerr << "mha-failbackctl: cannot read the journal: " << why << "\n";
    return show_state_file(args);
  }
  std::istringstream lines(out->out);
  std::string line;
  int shown = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    ++shown;
    if (args.json) {
      nlohmann::json rec = nlohmann::json::object();
      for (auto it = j.begin(); it != j.end(); ++it)
        if (!it.key().empty() && it.key()[0] != '_') rec[it.key()] = it.value();
      rec["time"] = time_of(field(j, "__REALTIME_TIMESTAMP"));
      std::cout << rec.dump() << "\n";
      continue;
    }
    std::string kind = field(j, "AUDIT_KIND");
    std::string state = field(j, "STATE");
    std::string from = field(j, "STATE_FROM");
    std::string op = field(j, "OPERATION_ID");
    std::cout << time_of(field(j, "__REALTIME_TIMESTAMP")) << "  " << (kind.empty() ? "log" : kind);
    if (!from.empty())
      std::cout << "  " << from << " -> " << state;
    else if (!state.empty())
      std::cout << "  [" << state << "]";
    if (!op.empty()) std::cout << "  op " << op.substr(0, 8);
    std::cout << "  " << field(j, "MESSAGE") << "\n";
  }
  if (shown == 0) return show_state_file(args);
  return kOk;
}

}  // namespace mhafb::ctl

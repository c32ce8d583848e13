// argv builders for the masterha_* tools and the manager's start/stop commands.
#include "mha/mha_tools.hpp"

namespace mhafb::mhatools {

namespace {

CommandSpec tool(const ClusterConfig& c, const std::string& name, bool mutates) {
  CommandSpec spec;
  spec.argv.push_back(c.commands.mha_bin_dir.empty() ? name : c.commands.mha_bin_dir + "/" + name);
  spec.argv.push_back("--conf=" + c.mha.conf_path);
  if (!c.mha.global_conf_path.empty()) spec.argv.push_back("--global_conf=" + c.mha.global_conf_path);
  spec.env = c.commands.mha_tool_env;
  spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(c.timeouts.tool);
  spec.mutates = mutates;
  return spec;
}

CommandSpec configured(const ClusterConfig& c, const std::vector<std::string>& argv) {
  CommandSpec spec;
  spec.argv = argv;
  spec.env = c.commands.mha_tool_env;
  spec.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(c.timeouts.tool);
  spec.mutates = true;
  return spec;
}

}  // namespace

CommandSpec check_ssh(const ClusterConfig& c) {
  CommandSpec spec = tool(c, "masterha_check_ssh", false);
  spec.exit_code_meaningful = false;  // 255 on success and on failure: its text says which
  return spec;
}
CommandSpec check_repl(const ClusterConfig& c) {
  return tool(c, "masterha_check_repl", false);
}
CommandSpec check_status(const ClusterConfig& c) {
  return tool(c, "masterha_check_status", false);
}

CommandSpec switch_master_alive(const ClusterConfig& c, const MhaServer& target) {
  CommandSpec spec = tool(c, "masterha_master_switch", true);
  spec.argv.insert(spec.argv.begin() + 1, "--master_state=alive");
  spec.argv.push_back("--new_master_host=" + target.hostname);
  spec.argv.push_back("--new_master_port=" + std::to_string(target.port));
  spec.argv.push_back("--orig_master_is_new_slave");
  spec.argv.push_back("--interactive=0");
  return spec;
}

CommandSpec manager_start(const ClusterConfig& c) {
  if (!c.commands.manager_start.empty()) return configured(c, c.commands.manager_start);
  return configured(c, {"systemctl", "start", "mha-manager@" + c.mha.app_name + ".service"});
}

CommandSpec manager_stop(const ClusterConfig& c) {
  if (!c.commands.manager_stop.empty()) return configured(c, c.commands.manager_stop);
  CommandSpec spec = tool(c, "masterha_stop", true);
  return spec;
}

}  // namespace mhafb::mhatools

// The MHA tool invocations the procedure needs, as argv (never a shell line), each with the same
// --conf (and --global_conf) so every tool sees the same application.
#pragma once

#include <string>

#include "config/cluster_config.hpp"
#include "ports/command_port.hpp"

namespace mhafb::mhatools {

CommandSpec check_ssh(const ClusterConfig& c);
CommandSpec check_repl(const ClusterConfig& c);
CommandSpec check_status(const ClusterConfig& c);
// masterha_master_switch --master_state=alive to `target` (exactly the config's hostname and port).
CommandSpec switch_master_alive(const ClusterConfig& c, const MhaServer& target);
CommandSpec manager_start(const ClusterConfig& c);
CommandSpec manager_stop(const ClusterConfig& c);

}  // namespace mhafb::mhatools

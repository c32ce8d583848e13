// The commands of mha-failbackctl. Each returns the process exit code (ctl_args.hpp) and prints
// what the operator needs: results on stdout, the daemon's error sentence on stderr.
#pragma once

#include "client.hpp"
#include "ctl_args.hpp"

namespace mhafb::ctl {

int cmd_status(Client& client, const CtlArgs& args);
int cmd_failback(Client& client, const CtlArgs& args);
int cmd_plan(Client& client, const CtlArgs& args);
int cmd_simple(Client& client, const CtlArgs& args);  // rejoin, abort, mode, ack
int cmd_watch(Client& client, const CtlArgs& args);
// Needs no bus: reads the journal (or the state directory).
int cmd_history(const CtlArgs& args);

}  // namespace mhafb::ctl

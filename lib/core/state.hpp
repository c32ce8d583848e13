// The cluster states and supervision modes, with their names as operators see them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mhafb {

enum class ClusterState {
  Healthy,        // the preferred master is master, MHA's manager runs: nothing to do
  Degraded,       // MHA failed over; the old master is not (yet) a safe replica
  SlaveRejoined,  // the old master is fenced, proven not diverged, and replicates from the new master
  Validated,      // replication healthy for the stable window and MHA's own checks pass
  SwitchedBack,   // the master role is back on the preferred master; MHA's manager not yet confirmed
  Blocked,        // needs an operator: always has a reason and a suggested action
};

enum class Mode {
  Observe,  // never acts, only reports
  Approve,  // rejoins and validates by itself, switches back only when triggered (default)
  Auto,     // also switches back by itself once validated
};

std::string_view to_string(ClusterState state);
std::optional<ClusterState> parse_state(std::string_view name);
std::string_view to_string(Mode mode);
std::optional<Mode> parse_mode(std::string_view name);

}  // namespace mhafb

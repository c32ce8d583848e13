// The transition table, as data (after pg_auto_failover's fsm.c): one row per edge, with the comment
// that is logged, sent to the journal and printed as the label of the Graphviz graph. Rows whose
// `from` equals `to` are in-state steps (the state holds while the step works). Only
// (state, goal) -> step lives here; the algorithms are plain code in lib/steps/.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/state.hpp"

namespace mhafb {

// The procedure's steps, one file each in lib/steps/.
enum class StepId {
  None,
  DetectFailover,
  BringBackOldMaster,
  Fence,
  DivergenceGate,
  Rejoin,
  SkipSqlError,
  Validate,
  SwitchBack,
  Restore,
  Acknowledge,
};

std::string_view to_string(StepId step);

struct Transition {
  ClusterState from;
  ClusterState to;
  StepId step;
  std::string_view comment;
};

std::span<const Transition> transition_table();

// The row for (from, to, step); nullopt when the table has no such edge (the engine refuses it).
std::optional<Transition> find_transition(ClusterState from, ClusterState to, StepId step);
// True when any row leads from `from` to `to`.
bool transition_allowed(ClusterState from, ClusterState to);

// The table as Graphviz DOT (mha-failbackd --print-fsm).
std::string fsm_to_dot();

}  // namespace mhafb

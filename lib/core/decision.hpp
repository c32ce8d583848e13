// The pure decision function (after Patroni's ha.py and MaxScale's mariadbmon): from the snapshot, the
// configuration, the persisted state and the time, the one next thing to do and one sentence that
// explains it. No I/O: unit tests feed snapshots and assert decisions and sentences.
#pragma once

#include <optional>
#include <string>

#include "config/cluster_config.hpp"
#include "core/fsm.hpp"
#include "core/persisted_state.hpp"
#include "core/snapshot.hpp"

namespace mhafb {

struct Decision {
  StepId step = StepId::None;                 // the step to run; None: no step
  std::optional<ClusterState> transition_to;  // with step None: a transition without side effects
  std::string sentence;                       // the one sentence: logged, published, asserted on
  std::string suggested_action;               // with transition_to == Blocked: what the operator should do
  std::string server;                         // the server the decision is about, when one

  bool waits() const { return step == StepId::None && !transition_to; }
};

// True for steps that change something on the cluster or the MHA manager (observe mode never runs them).
bool step_mutates(StepId step);

// The mode in force: SetMode's override, else the configured one.
Mode effective_mode(const ClusterConfig& config, const PersistedState& state);

// Updates the observation memory in `st` (since-when a server is missing, since-when replication is
// healthy). Pure: the same inputs always give the same result.
void track(const ClusterSnapshot& snap, const ClusterConfig& cfg, PersistedState& st, TimePoint now);

Decision decide(const ClusterSnapshot& snap, const ClusterConfig& cfg, const PersistedState& st,
                TimePoint now);

// True when `server` replicates from `source` (by hostname or ip, and port).
bool replicates_from(const ServerSnapshot& server, const MhaServer& source);

// "12s", "3m05s", "2h10m" for sentences.
std::string human_duration(std::chrono::seconds d);

}  // namespace mhafb

// What every procedure step gets (StepContext) and gives back (StepOutcome). A step checks the world
// first and acts only when its work is not done yet, so a step re-run after a crash finds its work
// done and moves on. Steps never sleep: "not yet" is an outcome, and the next tick looks again.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "config/cluster_config.hpp"
#include "core/persisted_state.hpp"
#include "core/snapshot.hpp"
#include "steps/step_io.hpp"

namespace mhafb {

struct StepOutcome {
  enum class Kind {
    Progress,    // did something; tick again at once
    Wait,        // nothing more to do now; tick again after the probe interval
    Transition,  // the state changes to `to`
    Block,       // the cluster needs an operator: `sentence` is the reason, `suggestion` the action
    Retry,       // a transient failure: say why and try again next tick
  };
  Kind kind = Kind::Wait;
  std::optional<ClusterState> to;
  std::string sentence;
  std::string suggestion;

  static StepOutcome progress(std::string s) { return {Kind::Progress, std::nullopt, std::move(s), {}}; }
  static StepOutcome wait(std::string s) { return {Kind::Wait, std::nullopt, std::move(s), {}}; }
  static StepOutcome transition(ClusterState to, std::string s) {
    return {Kind::Transition, to, std::move(s), {}};
  }
  static StepOutcome block(std::string reason, std::string suggestion) {
    return {Kind::Block, ClusterState::Blocked, std::move(reason), std::move(suggestion)};
  }
  static StepOutcome retry(std::string s) { return {Kind::Retry, std::nullopt, std::move(s), {}}; }
};

struct StepContext {
  const ClusterConfig& config;
  const ClusterSnapshot& snapshot;
  PersistedState& state;  // the step updates its facts here and calls io.save() at its checkpoints
  StepIo& io;
  const std::atomic<bool>& abort_requested;  // checked before every point of no return
  std::string state_dir;
  bool planning = false;  // a dry run for Plan(): stop after the last recorded side effect of the happy path
  // When this run of the daemon took the cluster up. A checkpoint ("start requested") older than this
  // was written by an earlier run, which may have died before the action it announced.
  TimePoint engine_started{};

  const MhaServer* old_master() const {
    return state.failover ? config.mha.find_server(state.failover->old_master) : nullptr;
  }
  const MhaServer* new_master() const {
    return state.failover ? config.mha.find_server(state.failover->new_master) : nullptr;
  }
  std::string ack_hint() const { return "then run `mha-failbackctl ack " + config.name + "`"; }
};

// One function per step, one file each (lib/steps/<name>.cpp).
StepOutcome detect_failover(StepContext& ctx);
StepOutcome bring_back_old_master(StepContext& ctx);
StepOutcome fence(StepContext& ctx);
StepOutcome divergence_gate(StepContext& ctx);
StepOutcome rejoin(StepContext& ctx);
StepOutcome skip_sql_error(StepContext& ctx);
StepOutcome validate(StepContext& ctx);
StepOutcome switch_back(StepContext& ctx);
StepOutcome restore(StepContext& ctx);

}  // namespace mhafb

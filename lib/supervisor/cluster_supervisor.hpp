// ClusterSupervisor: one per MHA app. Owns the cluster's persisted state and its single operation
// slot; each tick() takes a snapshot (read-only), asks the pure decision function what to do, runs
// at most one step, and persists before and after it.
//
// Threading: tick(), request_*(), set_mode(), acknowledge() and plan() must be called from one
// thread at a time (the daemon runs each supervisor on its own strand). view() and signal_abort()
// are safe from any thread: the loop reads properties and flags an abort while a long step runs.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/cluster_config.hpp"
#include "core/state.hpp"
#include "supervisor/ports.hpp"

namespace mhafb {

// What operators see of a cluster (D-Bus properties, `mha-failbackctl status`).
struct ClusterView {
  std::string name;
  ClusterState state = ClusterState::Healthy;
  std::string status;  // the current one-sentence decision
  Mode mode = Mode::Approve;
  std::string master;  // hostname of the server acting as master, empty when unknown/none
  std::string preferred_master;
  std::string last_error;
  std::string operation;  // "" when none, else "<kind> <operation id>" e.g. "failback 2f3c…"
  std::string blocked_reason;
  std::string suggested_action;
};

struct SupervisorEvents {
  // Called after a transition is persisted.
  std::function<void(ClusterState from, ClusterState to, const std::string& reason)> state_changed;
  // Called whenever any field of the view changed.
  std::function<void(const ClusterView& view)> view_changed;
};

class ClusterEngine;  // lib/supervisor/cluster_engine.hpp

class ClusterSupervisor {
 public:
  using Completion = std::function<void(Status)>;

  ClusterSupervisor(ClusterConfig config, Ports ports, std::string state_dir, SupervisorEvents events = {});
  ~ClusterSupervisor();
  ClusterSupervisor(const ClusterSupervisor&) = delete;
  ClusterSupervisor& operator=(const ClusterSupervisor&) = delete;

  const std::string& name() const;
  const ClusterConfig& config() const;

  // One round: snapshot, decide, at most one step, persist. Returns how long until the next tick is
  // wanted (0 = right away: progress was made and more can follow).
  std::chrono::milliseconds tick();

  ClusterView view() const;

  // Approves the switch back. `done` gets the outcome when the switch-back operation ends (or at
  // once with the refusal: not validated yet, another operation running, observe mode…).
  void request_failback(std::string reason, Completion done);
  // Asks for the old master to be rejoined now (approve mode waits for nothing else; useful after
  // acknowledge or in observe mode to run one rejoin on purpose).
  Status request_rejoin();
  // Stops the running operation at the next safe point, before the point of no return.
  // Any thread: raises the flag a running step checks before its point of no return.
  void signal_abort();
  // The supervisor's thread: withdraws the approval and ends the pending failback.
  Status request_abort();
  Status set_mode(Mode mode);
  // Leaves `blocked` after an operator fixed things: state is re-derived from what is observed.
  Status acknowledge();
  // Every command and statement the next operation would run, without running any that changes
  // anything.
  Result<std::vector<std::string>> plan();
  // Shutdown: finish or safely stop the step in flight, persist, return.
  void request_stop();

 private:
  std::unique_ptr<ClusterEngine> engine_;
};

}  // namespace mhafb

// ClusterEngine: the implementation behind ClusterSupervisor — persistence, the operation slot, the
// tick loop (discover -> track -> decide -> at most one step -> persist) and operator requests.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/decision.hpp"
#include "core/persisted_state.hpp"
#include "steps/step.hpp"
#include "supervisor/cluster_supervisor.hpp"

namespace mhafb {

class ClusterEngine {
 public:
  ClusterEngine(ClusterConfig config, Ports ports, std::string state_dir, SupervisorEvents events);

  std::chrono::milliseconds tick();
  ClusterView view() const;
  void request_failback(std::string reason, ClusterSupervisor::Completion done);
  Status request_rejoin();
  void signal_abort() { abort_ = true; }  // any thread
  Status request_abort();
  Status set_mode(Mode mode);
  Status acknowledge();
  Result<std::vector<std::string>> plan();
  void request_stop() { stop_ = true; }

  const ClusterConfig& config() const { return config_; }
  const PersistedState& state() const { return state_; }
  std::string state_path() const { return state_dir_ + "/" + config_.name + ".state.json"; }

 private:
  void load();
  Status persist();
  StepOutcome run_step(StepId step, const ClusterSnapshot& snap, Ports ports, PersistedState& st,
                       bool planning);
  void enter(ClusterState to, const std::string& reason, const std::string& suggestion, StepId step);
  void publish(const ClusterSnapshot* snap, const std::string& sentence, const std::string& server);
  void finish_failback(Status result);
  void audit(AuditKind kind, AuditPriority priority, std::string message, std::string server = {},
             std::map<std::string, std::string> fields = {});
  void stamp(AuditRecord& r) const;
  std::string new_operation_id();
  TimePoint started_at_{};  // this run's start, for steps resuming an earlier run's checkpoint
  // The id of the automatic recovery from the failover being handled ("" when none): derived from
  // the failover itself, so it stays the same across restarts without being persisted.
  std::string recovery_id() const;

  ClusterConfig config_;
  Ports ports_;
  std::string state_dir_;
  SupervisorEvents events_;
  PersistedState state_;
  std::string last_sentence_;
  std::optional<ClusterSupervisor::Completion> failback_done_;
  std::atomic<bool> abort_{false};
  std::atomic<bool> stop_{false};
  mutable std::mutex view_mutex_;
  ClusterView view_;
  unsigned long long op_counter_ = 0;
};

}  // namespace mhafb

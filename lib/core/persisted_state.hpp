// PersistedState: everything a restarted daemon needs to resume a cluster where it was — the state,
// the step in flight, the operation id and the facts the steps need. Written atomically after every
// change; stored with a format version and a checksum so a torn or corrupted file is detected and
// the daemon re-derives state from the cluster instead of trusting garbage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "core/snapshot.hpp"
#include "core/state.hpp"
#include "ports/clock_port.hpp"

namespace mhafb {

// What MHA's manager log told us about the failover being handled.
struct FailoverFacts {
  TimePoint flag_mtime{};  // identifies the failover (the flag's mtime)
  TimePoint detected_at{};
  std::string old_master;  // hostname of the failed master (the preferred master)
  std::string new_master;  // hostname MHA promoted
  std::string outcome;     // "success", "partial", "failed", "unknown"
  bool has_promotion = false;
  std::string promotion_host;
  int promotion_port = 0;
  BinlogPosition promotion;            // position on the new master to replicate from
  BinlogPosition latest_replica_read;  // old master coordinates the replicas had read
  bool dead_master_ssh_reachable = true;

  bool operator==(const FailoverFacts&) const = default;
};

struct SkippedEvent {
  TimePoint at{};
  std::string server;
  std::string position;  // GTID or file:pos of the skipped event
  int error_number = 0;
  std::string error;

  bool operator==(const SkippedEvent&) const = default;
};

struct PersistedState {
  static constexpr int kFormatVersion = 1;

  std::string cluster;
  ClusterState state = ClusterState::Healthy;
  TimePoint state_since{};
  std::optional<Mode> mode_override;  // set by SetMode; survives restarts

  // The step with side effects currently running ("" when none). A restart finding it set re-runs
  // that step, which checks first and only then acts.
  std::string step_in_progress;
  std::string operation_id;    // the running operation ("" when none)
  std::string operation_kind;  // "failback", "rejoin"

  std::optional<FailoverFacts> failover;
  TimePoint handled_flag_mtime{};  // the last failover flag already turned into a procedure

  // degraded
  std::optional<TimePoint> old_master_missing_since;
  std::optional<TimePoint> database_start_requested_at;
  bool divergence_checked = false;
  // slave-rejoined / validated
  std::optional<TimePoint> rejoined_at;
  std::optional<TimePoint> healthy_since;  // replication healthy and within the lag bound since
  std::optional<TimePoint> new_master_missing_since;
  // approval
  bool switch_approved = false;
  std::string approval_reason;
  // switch-back progress (each sub-step checks the world before acting; these make restarts exact)
  bool manager_stopped = false;
  std::string archived_flag_path;
  bool switch_started = false;
  // Since when the switch has been held back because the current master runs updates that
  // masterha_master_switch refuses to switch under (bounded by timeouts.switch_budget).
  std::optional<TimePoint> switch_held_since;
  // restore
  std::optional<TimePoint> manager_restart_requested_at;
  // blocked
  std::string blocked_reason;
  std::string suggested_action;
  std::optional<ClusterState> blocked_from;

  std::vector<SkippedEvent> skipped_events;
  std::string last_error;

  // Forgets everything that belongs to one procedure (after healthy, or on acknowledge).
  void reset_procedure();

  // Member-wise: the engine compares a copy to learn whether tracking changed anything worth
  // persisting, far cheaper than serialising twice per tick. A field added later joins it unasked.
  bool operator==(const PersistedState&) const = default;
};

// Serialises with version and checksum.
std::string serialize_state(const PersistedState& state);
// Parses and verifies; an Error (kind Invalid) names what is wrong: not JSON, wrong version,
// checksum mismatch, missing field.
Result<PersistedState> deserialize_state(const std::string& text);

}  // namespace mhafb

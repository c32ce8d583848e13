// The rows of the transition table. Reading them top to bottom tells the whole failback procedure.
#include "core/fsm.hpp"

#include <array>

namespace mhafb {

namespace {
using S = ClusterState;
using St = StepId;

constexpr std::array kTable{
    Transition{S::Healthy, S::Degraded, St::DetectFailover,
               "failover detected: read the manager log for the new master and the promotion coordinates"},
    Transition{S::Healthy, S::Blocked, St::None,
               "MHA left a failover error flag or a second master appeared: an operator must look"},
    Transition{S::Degraded, S::Degraded, St::BringBackOldMaster,
               "old master down: wait for its host, start its database over SSH, wait for SQL"},
    Transition{S::Degraded, S::Degraded, St::Fence,
               "old master answers: fence it with read_only=1 before anything else"},
    Transition{S::Degraded, S::Degraded, St::DivergenceGate,
               "compare GTID state: never rejoin a server holding transactions the new master lacks"},
    Transition{S::Degraded, S::SlaveRejoined, St::Rejoin,
               "rejoin the old master as a replica of the new master (GTID, or MHA's promotion coordinates)"},
    Transition{S::Degraded, S::SlaveRejoined, St::None,
               "the old master already replicates from the new master and passed the divergence gate"},
    Transition{
        S::Degraded, S::Healthy, St::None,
        "the preferred master is master again and the flag is gone: failback done outside mha-failback"},
    Transition{S::Degraded, S::SwitchedBack, St::None,
               "someone switched the master role back by hand, the flag still present: restore MHA"},
    Transition{S::Degraded, S::Blocked, St::None,
               "diverged, never came back, database did not start, partial failover, or rejoin failed"},
    Transition{S::SlaveRejoined, S::SlaveRejoined, St::Fence,
               "re-assert read_only=1 on the rejoined old master"},
    Transition{S::SlaveRejoined, S::SlaveRejoined, St::SkipSqlError,
               "skip one failing replication event under the opt-in policy, recorded with its position"},
    Transition{S::SlaveRejoined, S::Validated, St::Validate,
               "replication healthy for the stable window and MHA's check_ssh and check_repl pass"},
    Transition{S::SlaveRejoined, S::SwitchedBack, St::None,
               "someone switched the master role back by hand: never switch again, restore MHA"},
    Transition{
        S::SlaveRejoined, S::Blocked, St::None,
        "replication error, lag budget exceeded, MHA check failed, a second failover, or the flag removed"},
    Transition{S::Validated, S::Validated, St::Fence, "re-assert read_only=1 on the rejoined old master"},
    Transition{S::Validated, S::SlaveRejoined, St::None, "replication no longer healthy: validate again"},
    Transition{S::Validated, S::SwitchedBack, St::SwitchBack,
               "switch the master role back to the preferred master (approved, or auto mode)"},
    Transition{S::Validated, S::SwitchedBack, St::None,
               "someone switched the master role back by hand: never switch again, restore MHA"},
    Transition{S::Validated, S::Blocked, St::SwitchBack,
               "the switch back failed: a writable master was restored, an operator must look"},
    Transition{S::Validated, S::Blocked, St::None,
               "the switch cannot run: target already master, a second failover, or the budget ran out"},
    Transition{S::SwitchedBack, S::SwitchedBack, St::Restore,
               "restart the MHA manager and wait for PING_OK and a healthy check_repl"},
    Transition{S::SwitchedBack, S::Healthy, St::Restore,
               "MHA manager running with PING_OK and replication OK"},
    Transition{S::SwitchedBack, S::Blocked, St::None,
               "the MHA manager did not come back healthy within its budget"},
    Transition{S::Blocked, S::Healthy, St::Acknowledge,
               "operator acknowledged: the preferred master is master, nothing left to do"},
    Transition{
        S::Blocked, S::SwitchedBack, St::Acknowledge,
        "operator acknowledged: the preferred master is master again; restore MHA's manager and checks"},
    Transition{S::Blocked, S::Degraded, St::Acknowledge,
               "operator acknowledged: the failback starts over from what is observed, every check re-run"},
};
}  // namespace

std::string_view to_string(StepId step) {
  switch (step) {
    case StepId::None:
      return "none";
    case StepId::DetectFailover:
      return "detect-failover";
    case StepId::BringBackOldMaster:
      return "bring-back-old-master";
    case StepId::Fence:
      return "fence";
    case StepId::DivergenceGate:
      return "divergence-gate";
    case StepId::Rejoin:
      return "rejoin";
    case StepId::SkipSqlError:
      return "skip-sql-error";
    case StepId::Validate:
      return "validate";
    case StepId::SwitchBack:
      return "switch-back";
    case StepId::Restore:
      return "restore";
    case StepId::Acknowledge:
      return "acknowledge";
  }
  return "none";
}

std::span<const Transition> transition_table() {
  return kTable;
}

std::optional<Transition> find_transition(ClusterState from, ClusterState to, StepId step) {
  for (const auto& t : kTable)
    if (t.from == from && t.to == to && t.step == step) return t;
  return std::nullopt;
}

bool transition_allowed(ClusterState from, ClusterState to) {
  for (const auto& t : kTable)
    if (t.from == from && t.to == to) return true;
  return false;
}

std::string fsm_to_dot() {
  std::string out = "digraph mha_failback {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n";
  for (auto s : {S::Healthy, S::Degraded, S::SlaveRejoined, S::Validated, S::SwitchedBack, S::Blocked}) {
    out += "  \"" + std::string(to_string(s)) + "\"";
    if (s == S::Blocked) out += " [color=red]";
    if (s == S::Healthy) out += " [color=darkgreen]";
    out += ";\n";
  }
  for (const auto& t : kTable) {
    std::string label;
    if (t.step != StepId::None) label = "[" + std::string(to_string(t.step)) + "] ";
    label += t.comment;
    std::string escaped;
    for (char c : label) {
      if (c == '"' || c == '\\') escaped += '\\';
      escaped += c;
    }
    out += "  \"" + std::string(to_string(t.from)) + "\" -> \"" + std::string(to_string(t.to)) +
           "\" [label=\"" + escaped + "\"];\n";
  }
  out += "}\n";
  return out;
}

}  // namespace mhafb

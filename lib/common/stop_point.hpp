// Named stop points for crash tests. Every side effect (audited SQL write, local or remote command,
// file move) and every state persistence passes one before and one after it. In a build with the
// CMake option MHAFB_TEST_HOOKS, a daemon started with MHAFB_TEST_STOP_AT=<name> writes
// "stop-point <name> reached" to stderr and stops itself with SIGSTOP there, so a test can SIGKILL it
// at exactly that point; with MHAFB_TEST_STOP_AT set to anything, every point passed is also written
// as "stop-point candidate <name>", which is how a test learns the sequence from one run.
// MHAFB_TEST_STOP_AT=* stops at the first point not listed (one name a line) in the file named by
// MHAFB_TEST_STOP_SKIP: a crash test walks every point in the order a run meets them, one kill each,
// learning the names as it goes, on a single failover. A build
// without the option (release, package) compiles all of this to nothing and never reads the variable.
//
// Names are stable across runs: "<before|after>:<step>:<kind>[#n]" for side effects (kind: a SQL
// statement's leading keywords such as set-read_only=1 or change-master-to, a command's program
// name, remote-<program> over SSH, file-move; #n from the second action of the same kind within one
// run of a step), "persist:<before|after>:<what>" for the state file.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace mhafb {

#ifdef MHAFB_TEST_HOOKS
inline constexpr bool kStopPointsBuiltIn = true;
#else
inline constexpr bool kStopPointsBuiltIn = false;
#endif

// Passes the point `name`: announces it and stops the process when MHAFB_TEST_STOP_AT names it.
// An empty name is no point.
void stop_point(std::string_view name);

// The side effects of one run of a step are named after it while this lives (one per thread).
// `active` = false (planning, dry runs) makes every side-effect point inert meanwhile.
class StopPointStep {
 public:
  StopPointStep(std::string_view step, bool active);
  ~StopPointStep();
  StopPointStep(const StopPointStep&) = delete;
  StopPointStep& operator=(const StopPointStep&) = delete;

 private:
  std::string saved_step_;
  bool saved_active_ = false;
  std::map<std::string, int> saved_counts_;
};

// "<step>:<kind>[#n]" for the next side effect of `kind` in the current step; "" outside an active
// StopPointStep (the side effect then has no point) or without test hooks.
std::string stop_point_effect(std::string_view kind);

// The kind of a SQL statement for point names: "set-read_only=1", "change-master-to", "stop-slave".
std::string stop_point_sql_kind(std::string_view statement);

// The kind of a command for point names: the program's file name.
std::string stop_point_command_kind(std::string_view argv0);

// stop_point("before:" + effect) / stop_point("after:" + effect), nothing for an empty effect.
void stop_point_before(const std::string& effect);
void stop_point_after(const std::string& effect);

}  // namespace mhafb

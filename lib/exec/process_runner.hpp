// ProcessRunner: the production CommandPort. Runs one local program (the MHA tools, mysqlbinlog,
// the manager's start/stop commands) with posix_spawn — an argv, never a shell — in a clean,
// predictable world: a fixed environment (never the daemon's own, which may hold NOTIFY_SOCKET or
// secrets), stdin from /dev/null, no inherited descriptors, default signal handling, its own process
// group, and a deadline that kills the whole group so a hung tool cannot leave helpers behind.
// Output is captured per stream up to a cap (the tail is kept: tools print their verdict last).
//
// run() blocks the calling thread until the program ends; the daemon calls it from worker threads.
// It is safe to call from several threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "ports/command_port.hpp"

namespace mhafb {

struct ProcessRunnerOptions {
  // Bytes kept per stream (stdout, stderr). Beyond it the oldest output is dropped and the kept text
  // starts with kTruncationMarker.
  std::size_t max_output_bytes = 4 * 1024 * 1024;
  // Between SIGTERM to the group at the deadline and SIGKILL to the group.
  std::chrono::milliseconds kill_grace{2'000};
  // After the program itself has exited, how long to keep reading output that a background
  // grandchild still holds open. A tool that starts a daemon without closing its stdout must not
  // block us, and we must not kill that daemon either. (It will see EPIPE/SIGPIPE if it writes to
  // that stdout later: start commands should detach their daemons from it.)
  std::chrono::milliseconds drain_after_exit{250};
};

class ProcessRunner final : public CommandPort {
 public:
  // The base environment every child gets; spec.env entries are added, replacing equal keys.
  static constexpr std::string_view kCleanPath =
      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  static constexpr std::string_view kCleanLang = "C.UTF-8";
  // First line of a stream whose beginning was dropped; followed by the number of bytes dropped.
  static constexpr std::string_view kTruncationMarker = "[mha-failback: output truncated, ";

  ProcessRunner() = default;
  explicit ProcessRunner(ProcessRunnerOptions options) : options_(options) {}

  Result<CommandOutput> run(const CommandSpec& spec) override;

  // True when `text` (a CommandOutput stream) lost its beginning to the cap.
  static bool truncated(std::string_view text) { return text.starts_with(kTruncationMarker); }

 private:
  ProcessRunnerOptions options_;
};

}  // namespace mhafb

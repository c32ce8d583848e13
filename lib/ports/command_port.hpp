// CommandPort: runs a local program (the MHA tools, mysqlbinlog, the manager's start/stop
// commands). Always an argv, never a shell line. The production adapter (exec/) spawns with a clean
// environment, stdin from /dev/null, no inherited descriptors, its own process group and a deadline
// that kills the whole group.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace mhafb {

struct CommandSpec {
  std::vector<std::string> argv;              // argv[0] is looked up in PATH when it has no '/'
  std::vector<std::string> env;               // "KEY=VALUE" added to the clean base environment
  std::chrono::milliseconds timeout{60'000};  // the whole group is killed after this
  bool mutates = true;                        // false for pure checks (dry-run runs them)
  bool exit_code_meaningful = true;           // false: judged by its output (masterha_check_ssh)

  std::string display() const;  // argv joined with spaces and quoted where needed, for logs
};

struct CommandOutput {
  int exit_code = -1;   // -1 when killed by a signal
  int term_signal = 0;  // the signal that ended it, 0 when it exited
  bool timed_out = false;
  std::string out;
  std::string err;
  std::chrono::milliseconds duration{0};

  bool succeeded() const { return exit_code == 0 && term_signal == 0 && !timed_out; }
  std::string combined() const { return out + err; }
};

class CommandPort {
 public:
  virtual ~CommandPort() = default;
  // An Error only when the program could not be started at all; a program that ran and failed,
  // timed out or died by a signal is a CommandOutput saying so.
  virtual Result<CommandOutput> run(const CommandSpec& spec) = 0;
};

}  // namespace mhafb

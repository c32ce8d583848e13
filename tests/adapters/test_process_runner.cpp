// ProcessRunner against real programs: exit codes, signal deaths, the group kill at the deadline,
// the clean environment, descriptors and signal state a child must not inherit, output capping,
// programs that cannot start, and concurrent use. The product never uses a shell; these tests use
// `sh -c` only as a convenient program under test.
#include "exec/process_runner.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace mhafb {
namespace {

using namespace std::chrono_literals;

CommandSpec spec_of(std::vector<std::string> argv, std::chrono::milliseconds timeout = 10'000ms) {
  CommandSpec s;
  s.argv = std::move(argv);
  s.timeout = timeout;
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// Alive = exists and is not a zombie (an orphan's zombie may linger when PID 1 does not reap).
bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string content((std::istreambuf_iterator<char>(stat)), {});
  auto paren = content.rfind(')');
  if (paren == std::string::npos || paren + 2 >= content.size()) return false;
  return content[paren + 2] != 'Z' && content[paren + 2] != 'X';
}

// Live (non-zombie) processes whose process group is `pgid`.
std::vector<pid_t> live_group_members(pid_t pgid) {
  std::vector<pid_t> members;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string content((std::istreambuf_iterator<char>(stat)), {});
    auto paren = content.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(content.substr(paren + 2));
    std::string state;
    long ppid = 0, pgrp = 0;
    rest >> state >> ppid >> pgrp;
    if (pgrp == pgid && state != "Z" && state != "X") members.push_back(std::stoi(name));
  }
  return members;
}

bool wait_until_gone(pid_t pid, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (!process_alive(pid)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return !process_alive(pid);
}

TEST(ProcessRunner, ReportsExitCodesAndCapturesBothStreams) {
  ProcessRunner runner;
  auto ok = runner.run(spec_of({"true"}));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->exit_code, 0);
  EXPECT_EQ(ok->term_signal, 0);
  EXPECT_TRUE(ok->succeeded());

  auto fail = runner.run(spec_of({"false"}));
  ASSERT_TRUE(fail.ok());
  EXPECT_EQ(fail->exit_code, 1);
  EXPECT_FALSE(fail->succeeded());

  auto both = runner.run(spec_of({"sh", "-c", "echo to-out; echo to-err >&2; exit 42"}));
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->exit_code, 42);
  EXPECT_EQ(both->term_signal, 0);
  EXPECT_FALSE(both->timed_out);
  EXPECT_EQ(both->out, "to-out\n");
  EXPECT_EQ(both->err, "to-err\n");
}

TEST(ProcessRunner, ArgumentsArePassedVerbatimWithoutAShell) {
  ProcessRunner runner;
  auto r = runner.run(spec_of({"printf", "%s|", "a b", "$HOME", "'q'", "*", "x;y"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a b|$HOME|'q'|*|x;y|");
}

TEST(ProcessRunner, ReportsDeathBySignalAsSignalNotExitCode) {
  ProcessRunner runner;
  auto r = runner.run(spec_of({"sh", "-c", "kill -USR1 $$; sleep 5"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->term_signal, SIGUSR1);
  EXPECT_FALSE(r->timed_out);
  EXPECT_FALSE(r->succeeded());

  auto k = runner.run(spec_of({"sh", "-c", "kill -KILL $$"}));
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->exit_code, -1);
  EXPECT_EQ(k->term_signal, SIGKILL);
}

TEST(ProcessRunner, ChildGetsDefaultSignalStateEvenWhenTheDaemonBlocksOrIgnores) {
  // The daemon may ignore SIGPIPE or block signals in its threads; children must not inherit that.
  struct sigaction old_usr1 {
  }, ign{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR1, &ign, &old_usr1), 0);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);

  ProcessRunner runner;
  auto status = runner.run(spec_of({"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"}));
  auto suicide = runner.run(spec_of({"sh", "-c", "kill -USR1 $$; sleep 5"}));

  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGUSR1, &old_usr1, nullptr);

  ASSERT_TRUE(status.ok());
  auto lines = lines_of(status->out);
  ASSERT_EQ(lines.size(), 2u) << status->out;
  EXPECT_EQ(lines[0], "SigBlk:\t0000000000000000");
  // glibc's posix_spawn leaves its two internal real-time signals (32, 33) ignored; every
  // standard signal (bits 0-30 for signals 1-31) must be back at its default.
  ASSERT_TRUE(lines[1].starts_with("SigIgn:\t")) << lines[1];
  unsigned long long ignored = std::stoull(lines[1].substr(8), nullptr, 16);
  EXPECT_EQ(ignored & 0x7fffffffULL, 0u) << lines[1];
  ASSERT_TRUE(suicide.ok());
  EXPECT_EQ(suicide->term_signal, SIGUSR1);
}

TEST(ProcessRunner, TimeoutKillsTheWholeProcessGroupIncludingGrandchildren) {
  ProcessRunner runner(ProcessRunnerOptions{.kill_grace = 500ms});
  // Prints the shell's pid (= the group id) and the background sleep's pid, then blocks.
  auto r = runner.run(spec_of({"sh", "-c", "echo $$; sleep 100 & echo $!; sleep 100"}, 300ms));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->succeeded());
  EXPECT_EQ(r->term_signal, SIGTERM);
  EXPECT_GE(r->duration, 300ms);
  EXPECT_LT(r->duration, 5000ms);

  auto pids = lines_of(r->out);
  ASSERT_EQ(pids.size(), 2u) << r->out;
  pid_t group = std::stoi(pids[0]);
  pid_t background = std::stoi(pids[1]);
  EXPECT_TRUE(wait_until_gone(background, 5000ms)) << "background sleep " << background << " survived";
  // No live member of the group is left (the foreground sleep included).
  auto until = std::chrono::steady_clock::now() + 5000ms;
  while (!live_group_members(group).empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(live_group_members(group).empty());
  EXPECT_FALSE(process_alive(group));
}

TEST(ProcessRunner, ProgramIgnoringSigtermIsKilledAfterTheGrace) {
  ProcessRunner runner(ProcessRunnerOptions{.kill_grace = 300ms});
  // `trap '' TERM` is inherited by the sleep through exec, so only SIGKILL can end either.
  auto r = runner.run(spec_of({"sh", "-c", "trap '' TERM; echo $$; sleep 100 & echo $!; wait"}, 200ms));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->term_signal, SIGKILL);
  EXPECT_GE(r->duration, 500ms);
  EXPECT_LT(r->duration, 5000ms);
  auto pids = lines_of(r->out);
  ASSERT_EQ(pids.size(), 2u) << r->out;
  EXPECT_TRUE(wait_until_gone(std::stoi(pids[1]), 5000ms));
}

TEST(ProcessRunner, GrandchildIgnoringSigtermDiesWithTheGroupWhenTheLeaderExitsAtTheDeadline) {
  // The shell dies of SIGTERM at once; its helper ignores SIGTERM and must still not survive.
  ProcessRunner runner(ProcessRunnerOptions{.kill_grace = 20'000ms});
  auto r =
      runner.run(spec_of({"sh", "-c", "sh -c 'trap \"\" TERM; exec sleep 100' & echo $!; sleep 100"}, 300ms));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->term_signal, SIGTERM);
  EXPECT_LT(r->duration, 5000ms);
  auto pids = lines_of(r->out);
  ASSERT_EQ(pids.size(), 1u) << r->out;
  pid_t helper = std::stoi(pids[0]);
  bool gone = wait_until_gone(helper, 5000ms);
  if (!gone) ::kill(helper, SIGKILL);
  EXPECT_TRUE(gone) << "helper " << helper << " outlived the deadline";
}

TEST(ProcessRunner, ReturnsPromptlyWhenTheProgramLeavesABackgroundChildHoldingItsOutput) {
  // A start command that launches a daemon without closing stdout must neither block us until the
  // deadline nor get its daemon killed.
  ProcessRunner runner;
  auto r = runner.run(spec_of({"sh", "-c", "sleep 30 & echo $!"}, 20'000ms));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(r->timed_out);
  EXPECT_LT(r->duration, 3000ms);
  auto pids = lines_of(r->out);
  ASSERT_EQ(pids.size(), 1u);
  pid_t daemon = std::stoi(pids[0]);
  EXPECT_TRUE(process_alive(daemon));
  ::kill(daemon, SIGKILL);
  EXPECT_TRUE(wait_until_gone(daemon, 5000ms));
}

TEST(ProcessRunner, ChildInheritsNoDescriptorsAndStdinIsDevNull) {
  // A descriptor without O_CLOEXEC, as a careless library in the daemon might leave.
  int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 0);
  ASSERT_GE(::dup2(leaked, 57), 0);
  ::close(leaked);

  ProcessRunner runner;
  auto r = runner.run(spec_of({"ls", "-l", "/proc/self/fd"}));
  ::close(57);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->err;

  std::map<int, std::string> fds;
  for (const auto& line : lines_of(r->out)) {
    auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    auto space = line.rfind(' ', arrow - 1);
    fds[std::stoi(line.substr(space + 1, arrow - space - 1))] = line.substr(arrow + 4);
  }
  EXPECT_EQ(fds.count(57), 0u) << r->out;
  EXPECT_EQ(fds[0], "/dev/null");
  EXPECT_TRUE(fds[1].starts_with("pipe:")) << fds[1];
  EXPECT_TRUE(fds[2].starts_with("pipe:")) << fds[2];
  // Besides 0-2 only ls's own handle on the directory it lists.
  for (const auto& [fd, target] : fds) {
    if (fd > 2) {
      EXPECT_TRUE(target.starts_with("/proc/")) << fd << " -> " << target;
    }
  }
  EXPECT_LE(fds.size(), 4u) << r->out;

  // Reading stdin ends at once instead of hanging on the daemon's terminal or socket: give this
  // process a stdin that never ends (a pipe whose write end stays open) and check the child's.
  int never_ending[2];
  ASSERT_EQ(::pipe(never_ending), 0);
  int saved_stdin = ::dup(0);
  ASSERT_GE(::dup2(never_ending[0], 0), 0);
  auto cat = runner.run(spec_of({"cat"}, 5000ms));
  auto stdin_target = runner.run(spec_of({"readlink", "/proc/self/fd/0"}));
  ::dup2(saved_stdin, 0);
  ::close(saved_stdin);
  ::close(never_ending[0]);
  ::close(never_ending[1]);
  ASSERT_TRUE(stdin_target.ok());
  EXPECT_EQ(stdin_target->out, "/dev/null\n");
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ(cat->exit_code, 0);
  EXPECT_FALSE(cat->timed_out);
  EXPECT_EQ(cat->out, "");
}

// setenv/unsetenv below are not thread-safe; nothing else runs while they are called (run() is
// synchronous and the test starts no thread), hence the NOLINT(concurrency-mt-unsafe) on them.
TEST(ProcessRunner, ChildSeesOnlyTheCleanEnvironmentPlusSpecEnv) {
  ASSERT_EQ(::setenv("MHAFB_TEST_SECRET", "hunter2", 1), 0);       // NOLINT(concurrency-mt-unsafe)
  ASSERT_EQ(::setenv("NOTIFY_SOCKET", "/run/test-notify", 1), 0);  // NOLINT(concurrency-mt-unsafe)
  ProcessRunner runner;
  auto r = runner.run(spec_of({"env"}));
  auto extra = spec_of({"env"});
  extra.env = {"MHA_EXTRA=1", "LANG=C", "PERL5LIB=/opt/lab/lib"};
  auto r2 = runner.run(extra);
  ::unsetenv("MHAFB_TEST_SECRET");  // NOLINT(concurrency-mt-unsafe)
  ::unsetenv("NOTIFY_SOCKET");      // NOLINT(concurrency-mt-unsafe)

  ASSERT_TRUE(r.ok());
  EXPECT_EQ(lines_of(r->out),
            (std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                      "LANG=C.UTF-8"}));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(lines_of(r2->out),
            (std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                      "LANG=C", "MHA_EXTRA=1", "PERL5LIB=/opt/lab/lib"}));
}

TEST(ProcessRunner, ProgramIsLookedUpInTheCleanPathNotTheDaemons) {
  // A program reachable only through the daemon's PATH must not be found.
  char dir_template[] = "/tmp/mhafb-path-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string tool = dir + "/mhafb-only-in-daemon-path";
  {
    std::ofstream f(tool);
    f << "#!/bin/sh\necho ran\n";
  }
  ::chmod(tool.c_str(), 0755);
  std::string old_path = ::getenv("PATH") ? ::getenv("PATH") : "";
  ::setenv("PATH", (dir + ":" + old_path).c_str(), 1);  // NOLINT(concurrency-mt-unsafe): no other thread

  ProcessRunner runner;
  auto by_name = runner.run(spec_of({"mhafb-only-in-daemon-path"}));
  auto with_env_path = spec_of({"mhafb-only-in-daemon-path"});
  with_env_path.env = {"PATH=" + dir + ":/usr/bin:/bin"};
  auto via_spec_path = runner.run(with_env_path);
  auto by_path = runner.run(spec_of({tool}));
  ::setenv("PATH", old_path.c_str(), 1);  // NOLINT(concurrency-mt-unsafe): no other thread

  ASSERT_FALSE(by_name.ok());
  EXPECT_EQ(by_name.error().kind, ErrorKind::NotFound);
  ASSERT_TRUE(via_spec_path.ok());
  EXPECT_EQ(via_spec_path->out, "ran\n");
  ASSERT_TRUE(by_path.ok());
  EXPECT_EQ(by_path->out, "ran\n");
  EXPECT_EQ(std::remove(tool.c_str()), 0);
  EXPECT_EQ(::rmdir(dir.c_str()), 0);
}

TEST(ProcessRunner, CapsOutputKeepingTheTailAndSaysSo) {
  constexpr std::size_t cap = 64 * 1024;
  ProcessRunner runner(ProcessRunnerOptions{.max_output_bytes = cap});
  // ~14 MB on stdout and ~6 MB on stderr at once: both pipes must be drained concurrently.
  auto r = runner.run(spec_of({"sh", "-c", "seq 1 800000 >&2 & seq 1 2000000; wait"}, 60'000ms));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_TRUE(ProcessRunner::truncated(r->out));
  EXPECT_TRUE(ProcessRunner::truncated(r->err));
  EXPECT_LE(r->out.size(), cap + 100);
  EXPECT_GT(r->out.size(), cap / 2);
  EXPECT_TRUE(r->out.ends_with("\n1999999\n2000000\n"));
  EXPECT_TRUE(r->err.ends_with("\n799999\n800000\n"));
  // After the marker line the kept text starts at a whole line.
  auto lines = lines_of(r->out);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_TRUE(lines[0].starts_with(ProcessRunner::kTruncationMarker));
  EXPECT_EQ(std::stoi(lines[1]) + 1, std::stoi(lines[2]));

  auto small = runner.run(spec_of({"seq", "1", "3"}));
  ASSERT_TRUE(small.ok());
  EXPECT_FALSE(ProcessRunner::truncated(small->out));
  EXPECT_EQ(small->out, "1\n2\n3\n");
}

TEST(ProcessRunner, MissingOrUnstartableProgramIsAnErrorNamingIt) {
  ProcessRunner runner;
  auto missing = runner.run(spec_of({"mhafb-no-such-program", "--x"}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_NE(missing.error().message.find("mhafb-no-such-program"), std::string::npos);

  auto absolute = runner.run(spec_of({"/nonexistent/dir/masterha_check_repl"}));
  ASSERT_FALSE(absolute.ok());
  EXPECT_EQ(absolute.error().kind, ErrorKind::NotFound);
  EXPECT_NE(absolute.error().message.find("/nonexistent/dir/masterha_check_repl"), std::string::npos);

  char path[] = "/tmp/mhafb-noexec-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ::chmod(path, 0644);
  auto not_executable = runner.run(spec_of({path}));
  ::unlink(path);
  ASSERT_FALSE(not_executable.ok());
  EXPECT_EQ(not_executable.error().kind, ErrorKind::Failed);
  EXPECT_NE(not_executable.error().message.find(path), std::string::npos);

  auto empty = runner.run(spec_of({}));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind, ErrorKind::Invalid);

  auto bad_env = spec_of({"true"});
  bad_env.env = {"NOEQUALS"};
  auto env_result = runner.run(bad_env);
  ASSERT_FALSE(env_result.ok());
  EXPECT_EQ(env_result.error().kind, ErrorKind::Invalid);
}

TEST(ProcessRunner, MeasuresDuration) {
  ProcessRunner runner;
  auto r = runner.run(spec_of({"sleep", "0.3"}));
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->duration, 300ms);
  EXPECT_LT(r->duration, 5000ms);
}

TEST(ProcessRunner, IsSafeToUseFromSeveralThreadsAtOnce) {
  ProcessRunner runner;
  constexpr int kThreads = 6, kRuns = 15;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRuns; ++i) {
        std::string token = "t" + std::to_string(t) + "-" + std::to_string(i);
        // A sleeping sibling would delay our EOF if it inherited our pipe.
        auto r = runner.run(spec_of({i % 3 == 0 ? "sleep" : "echo", i % 3 == 0 ? "0.2" : token}));
        if (!r.ok() || r->exit_code != 0) continue;
        if (i % 3 == 0 ? r->out.empty() : r->out == token + "\n") ++good;
        if (r->duration > 2000ms) --good;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(good.load(), kThreads * kRuns);
}

TEST(ProcessRunner, WorksWhenTheDaemonsOwnStdioIsClosed) {
  // Pipes created while 0-2 are free land on those numbers; the runner must still wire them right.
  int saved_in = ::dup(0), saved_out = ::dup(1);
  ASSERT_GE(saved_in, 0);
  ASSERT_GE(saved_out, 0);
  ::close(0);
  ::close(1);
  ProcessRunner runner;
  auto r = runner.run(spec_of({"sh", "-c", "echo out; echo err >&2"}));
  ::dup2(saved_in, 0);
  ::dup2(saved_out, 1);
  ::close(saved_in);
  ::close(saved_out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

}  // namespace
}  // namespace mhafb

// The crash-test stop points: stable names for side effects (statement and command kinds, ordinals
// within one run of a step), inert outside a step or while planning, and — in a child process — the
// announcement on stderr and the SIGSTOP exactly at the named point, nothing at any other.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "common/stop_point.hpp"

using namespace mhafb;

namespace {

TEST(StopPointNames, SqlKindsNameTheAction) {
  EXPECT_EQ(stop_point_sql_kind("SET GLOBAL read_only = 1"), "set-read_only=1");
  EXPECT_EQ(stop_point_sql_kind("SET GLOBAL read_only = 0"), "set-read_only=0");
  EXPECT_EQ(stop_point_sql_kind("SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos"),
            "set-gtid_slave_pos");
  EXPECT_EQ(stop_point_sql_kind("SET GLOBAL sql_slave_skip_counter = 1"), "set-sql_slave_skip_counter=1");
  EXPECT_EQ(stop_point_sql_kind("CHANGE MASTER TO MASTER_HOST='127.0.0.12', MASTER_PORT=3306"),
            "change-master-to");
  EXPECT_EQ(stop_point_sql_kind("STOP SLAVE"), "stop-slave");
  EXPECT_EQ(stop_point_sql_kind("RESET REPLICA ALL"), "reset-replica-all");
  EXPECT_EQ(stop_point_sql_kind(""), "sql");
}

TEST(StopPointNames, CommandKindIsTheProgramName) {
  EXPECT_EQ(stop_point_command_kind("/usr/bin/masterha_master_switch"), "masterha_master_switch");
  EXPECT_EQ(stop_point_command_kind("start-db"), "start-db");
  EXPECT_EQ(stop_point_command_kind(""), "command");
}

TEST(StopPointNames, EffectsAreNamedAfterTheStepWithOrdinals) {
  if (!kStopPointsBuiltIn) GTEST_SKIP() << "built without MHAFB_TEST_HOOKS";
  EXPECT_EQ(stop_point_effect("set-read_only=1"), "") << "outside a step a side effect has no point";
  {
    StopPointStep step("switch-back", true);
    EXPECT_EQ(stop_point_effect("masterha_stop"), "switch-back:masterha_stop");
    EXPECT_EQ(stop_point_effect("set-read_only=1"), "switch-back:set-read_only=1");
    EXPECT_EQ(stop_point_effect("set-read_only=1"), "switch-back:set-read_only=1#2");
    {
      StopPointStep planning("rejoin", false);
      EXPECT_EQ(stop_point_effect("change-master-to"), "") << "planning passes no point";
    }
    EXPECT_EQ(stop_point_effect("set-read_only=1"), "switch-back:set-read_only=1#3")
        << "the outer step's counts survive an inner scope";
  }
  StopPointStep again("switch-back", true);
  EXPECT_EQ(stop_point_effect("set-read_only=1"), "switch-back:set-read_only=1")
      << "every run of a step counts from 1: names are the same after a restart";
}

struct ChildRun {
  int status = 0;
  std::string err;
};

// Runs `body` in a child with MHAFB_TEST_STOP_AT=`wanted` (unset when null) and stderr on a pipe.
// A child that stops is read, then killed, as the crash tests do.
template <class Body>
ChildRun run_child(const char* wanted, Body body) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    if (wanted)
      ::setenv("MHAFB_TEST_STOP_AT", wanted, 1);
    else
      ::unsetenv("MHAFB_TEST_STOP_AT");
    body();
    ::_exit(0);
  }
  ::close(fds[1]);
  ChildRun run;
  EXPECT_EQ(::waitpid(pid, &run.status, WUNTRACED), pid);
  if (WIFSTOPPED(run.status)) ::kill(pid, SIGKILL);
  // Everything the child wrote is in the pipe by now (it stopped or exited).
  if (WIFSTOPPED(run.status)) {
    int ignored = 0;
    ::waitpid(pid, &ignored, 0);
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0)
    run.err.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  return run;
}

void effects() {
  StopPointStep step("fence", true);
  auto first = stop_point_effect("set-read_only=1");
  stop_point_before(first);
  stop_point_after(first);
  stop_point("persist:after:degraded");
}

TEST(StopPointSignal, StopsExactlyAtTheNamedPointAndSaysSo) {
  if (!kStopPointsBuiltIn) GTEST_SKIP() << "built without MHAFB_TEST_HOOKS";
  auto run = run_child("after:fence:set-read_only=1", effects);
  ASSERT_TRUE(WIFSTOPPED(run.status)) << "status " << run.status;
  EXPECT_EQ(WSTOPSIG(run.status), SIGSTOP);
  EXPECT_EQ(run.err,
            "stop-point candidate before:fence:set-read_only=1\n"
            "stop-point candidate after:fence:set-read_only=1\n"
            "stop-point after:fence:set-read_only=1 reached\n");
}

TEST(StopPointSignal, AnUnknownNameListsEveryPointAndNeverStops) {
  if (!kStopPointsBuiltIn) GTEST_SKIP() << "built without MHAFB_TEST_HOOKS";
  auto run = run_child("-", effects);
  ASSERT_TRUE(WIFEXITED(run.status)) << "status " << run.status;
  EXPECT_EQ(run.err,
            "stop-point candidate before:fence:set-read_only=1\n"
            "stop-point candidate after:fence:set-read_only=1\n"
            "stop-point candidate persist:after:degraded\n");
}

TEST(StopPointSignal, AStarStopsAtTheFirstPointNotYetKilledAt) {
  if (!kStopPointsBuiltIn) GTEST_SKIP() << "built without MHAFB_TEST_HOOKS";
  char path[] = "/tmp/mhafb-stop-skip-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string seen = "before:fence:set-read_only=1\n";
  ASSERT_EQ(::write(fd, seen.data(), seen.size()), static_cast<ssize_t>(seen.size()));
  ::close(fd);
  ::setenv("MHAFB_TEST_STOP_SKIP", path, 1);
  auto run = run_child("*", effects);
  ::unsetenv("MHAFB_TEST_STOP_SKIP");
  ::unlink(path);
  ASSERT_TRUE(WIFSTOPPED(run.status)) << "status " << run.status;
  EXPECT_EQ(run.err,
            "stop-point candidate before:fence:set-read_only=1\n"
            "stop-point candidate after:fence:set-read_only=1\n"
            "stop-point after:fence:set-read_only=1 reached\n");
}

TEST(StopPointSignal, WithoutTheVariableNothingHappens) {
  auto run = run_child(nullptr, effects);
  ASSERT_TRUE(WIFEXITED(run.status)) << "status " << run.status;
  EXPECT_EQ(WEXITSTATUS(run.status), 0);
  EXPECT_EQ(run.err, "");
}

TEST(StopPointSignal, ABuildWithoutHooksIgnoresTheVariable) {
  if (kStopPointsBuiltIn) GTEST_SKIP() << "built with MHAFB_TEST_HOOKS; the package build checks this";
  auto run = run_child("after:fence:set-read_only=1", effects);
  ASSERT_TRUE(WIFEXITED(run.status)) << "status " << run.status;
  EXPECT_EQ(run.err, "");
}

}  // namespace

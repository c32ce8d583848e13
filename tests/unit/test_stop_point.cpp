// The crash-test stop points: stable names for side effects (statement and command kinds, ordinals
// within one run of a step), inert outside a step or while planning, and — in a child process — the
// announcement on stderr and the SIGSTOP exactly at the named point, nothing at any other. Also what a
// crash can leave behind: a state file the engine cannot trust is set aside and said so.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>

#include "common/stop_point.hpp"
#include "core/persisted_state.hpp"
#include "exec/unique_fd.hpp"
#include "supervisor/cluster_supervisor.hpp"
#include "support/step_harness.hpp"

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
    // The forked child runs only this thread.
    if (wanted)
      ::setenv("MHAFB_TEST_STOP_AT", wanted, 1);  // NOLINT(concurrency-mt-unsafe): single-threaded child
    else
      ::unsetenv("MHAFB_TEST_STOP_AT");  // NOLINT(concurrency-mt-unsafe): single-threaded child
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
  UniqueFd fd(::mkstemp(path));
  ASSERT_TRUE(fd.valid());
  std::string seen = "before:fence:set-read_only=1\n";
  const ssize_t written = ::write(fd.get(), seen.data(), seen.size());
  fd.reset();
  ASSERT_EQ(written, static_cast<ssize_t>(seen.size()));
  ::setenv("MHAFB_TEST_STOP_SKIP", path, 1);  // NOLINT(concurrency-mt-unsafe): the test runs no other thread
  auto run = run_child("*", effects);
  ::unsetenv("MHAFB_TEST_STOP_SKIP");  // NOLINT(concurrency-mt-unsafe): the test runs no other thread
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

// A state file that cannot be trusted: the engine starts from what it observes, says why in the
// journal and in the status, and keeps the file aside (which also frees the path for the next save).
struct BadStateFile : ::testing::TestWithParam<std::pair<const char*, std::string>> {};

TEST_P(BadStateFile, IsSetAsideAndSaidSo) {
  test::StepHarness h;
  const std::string path = test::kStateDir + "/app1.state.json";
  PersistedState st = test::state_in(ClusterState::Validated);
  std::string good = serialize_state(st);
  std::string bad = GetParam().second == "truncate" ? good.substr(0, good.size() / 2)
                    : GetParam().second == "flip"   ? [&] {
                        std::string t = good;
                        t[t.find("\"state_since\": ") + 16] ^= 1;
                        return t;
                      }()
                    : GetParam().second == "version"
                        ? [&] {
                            std::string t = good;
                            t.replace(t.find("\"format\": 1"), 11, "\"format\": 7");
                            return t;
                          }()
                        : std::string();
  h.files.put(path, bad);
  Ports ports{h.sql, h.commands, h.remote, h.clock, h.files, h.audit};
  ClusterSupervisor sup(h.config, ports, test::kStateDir);

  ClusterView v = sup.view();
  EXPECT_EQ(v.state, ClusterState::Healthy) << "nothing from the file is trusted";
  EXPECT_EQ(v.last_error.rfind("state file " + path + " ignored: ", 0), 0u) << v.last_error;
  EXPECT_NE(v.last_error.find(GetParam().first), std::string::npos) << v.last_error;
  EXPECT_TRUE(v.last_error.ends_with("; re-deriving from the cluster")) << v.last_error;
  EXPECT_TRUE(h.audit.has(AuditKind::Warning, v.last_error)) << h.audit.dump();
  EXPECT_FALSE(h.files.exists(path));
  auto aside = h.files.paths_under(test::kStateDir);
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(aside[0].rfind(path + ".ignored-", 0), 0u) << aside[0];
  EXPECT_EQ(h.files.find(aside[0])->content, bad) << "kept as it was, for inspection";
}

INSTANTIATE_TEST_SUITE_P(Damage, BadStateFile,
                         ::testing::Values(std::pair<const char*, std::string>{"not valid JSON", "truncate"},
                                           std::pair<const char*, std::string>{"checksum", "flip"},
                                           std::pair<const char*, std::string>{"has format 7", "version"},
                                           std::pair<const char*, std::string>{"not valid JSON", "empty"}));

TEST(BadStateFileRead, AnUnreadableFileIsSetAsideToo) {
  test::StepHarness h;
  const std::string path = test::kStateDir + "/app1.state.json";
  h.files.put(path, "{}");
  h.files.fail_next("read_tail", path, Error::invalid("cannot read " + path + ": it is a directory"));
  Ports ports{h.sql, h.commands, h.remote, h.clock, h.files, h.audit};
  ClusterSupervisor sup(h.config, ports, test::kStateDir);
  EXPECT_EQ(sup.view().last_error, "state file " + path + " ignored: cannot read " + path +
                                       ": it is a directory; re-deriving from the cluster");
}

TEST(GoodStateFile, IsResumedWithoutComplaint) {
  test::StepHarness h;
  const std::string path = test::kStateDir + "/app1.state.json";
  h.files.put(path, serialize_state(test::state_in(ClusterState::Validated)));
  Ports ports{h.sql, h.commands, h.remote, h.clock, h.files, h.audit};
  ClusterSupervisor sup(h.config, ports, test::kStateDir);
  EXPECT_EQ(sup.view().state, ClusterState::Validated);
  EXPECT_EQ(sup.view().last_error, "");
  EXPECT_TRUE(h.files.exists(path));
}

}  // namespace

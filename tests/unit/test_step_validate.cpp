// Step 6, validate, on the real output of MHA's checks captured in the lab: masterha_check_ssh is
// judged by its text (it exits 255 on success and failure alike), masterha_check_repl by exit 0 AND
// its OK line. A tool that cannot be started is retried, never taken as a verdict.
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::vector<std::string> kCheckSsh = {"masterha_check_ssh", "--conf=/etc/mha/app1.cnf"};
const std::vector<std::string> kCheckRepl = {"masterha_check_repl", "--conf=/etc/mha/app1.cnf"};

void healthy_window(StepHarness& h) {
  h.state = state_in(ClusterState::SlaveRejoined);
  h.state.healthy_since = kT0;
  h.snapshot = rejoined();
}

TEST(ValidateStep, BothChecksPassOnTheirRealOutput) {
  StepHarness h;
  healthy_window(h);
  h.config.commands.mha_tool_env = {"PERL5LIB=/opt/mha-fixes/perl5"};
  h.commands.expect(kCheckSsh, captured_output("masterha_check_ssh.ok.txt"))
      .expect(kCheckRepl, captured_output("masterha_check_repl.ok-after-rejoin.txt"));
  auto o = h.run(validate);
  h.script.verify();

  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_EQ(o.to, ClusterState::Validated);
  EXPECT_EQ(
      o.sentence,
      "validated: replication healthy for the stable window, masterha_check_ssh and masterha_check_repl OK");
  EXPECT_EQ(captured_exit_code("masterha_check_ssh.ok.txt"), 255) << "the point: a success that exits 255";
  for (const auto& spec : h.commands.issued()) {
    EXPECT_FALSE(spec.mutates) << spec.display();
    EXPECT_EQ(spec.env, std::vector<std::string>{"PERL5LIB=/opt/mha-fixes/perl5"});
    EXPECT_EQ(spec.timeout, std::chrono::milliseconds(180'000));
  }
  EXPECT_TRUE(h.sql.issued().empty());
  auto cmds = h.audit.of(AuditKind::Command);
  ASSERT_EQ(cmds.size(), 2u) << h.audit.dump();
  EXPECT_EQ(cmds[0].fields.at("EXIT_CODE"), "255");
  EXPECT_EQ(cmds[1].fields.at("EXIT_CODE"), "0");
  // Its 255 is not a failure: the record says so and is not a warning in the journal.
  EXPECT_EQ(cmds[0].priority, AuditPriority::Info) << cmds[0].message;
  EXPECT_NE(cmds[0].message.find("exit 255 (not meaningful: judged by its output)"), std::string::npos)
      << cmds[0].message;
  EXPECT_EQ(cmds[1].priority, AuditPriority::Info) << cmds[1].message;
}

TEST(ValidateStep, CheckSshFailureIsReadFromItsTextNotItsExitCode) {
  StepHarness h;
  healthy_window(h);
  auto out = captured_output("masterha_check_ssh.fail-sshd-down.txt");
  EXPECT_EQ(out.exit_code, 255) << "same exit code as the success";
  h.commands.expect(kCheckSsh, out);
  auto o = h.run(validate);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("masterha_check_ssh failed"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("127.0.0.12"), std::string::npos)
      << "names the failing connection: " << o.sentence;
  EXPECT_NE(o.suggestion.find("masterha_check_ssh --conf=/etc/mha/app1.cnf"), std::string::npos)
      << o.suggestion;
  EXPECT_EQ(h.commands.issued().size(), 1u) << "check_repl is not run after a failed check_ssh";
  auto cmds = h.audit.of(AuditKind::Command);
  ASSERT_EQ(cmds.size(), 1u) << h.audit.dump();
  EXPECT_EQ(cmds[0].priority, AuditPriority::Info) << "the step's block says it failed, not the exit code";
}

TEST(ValidateStep, FailureTextWinsOverAnExitCodeOfZero) {
  StepHarness h;
  healthy_window(h);
  h.commands.expect(kCheckSsh, exited(0, captured("masterha_check_ssh.fail-sshd-down.txt")));
  auto o = h.run(validate);
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
}

TEST(ValidateStep, CheckSshWithoutAVerdictBlocks) {
  // Killed at the deadline half-way through its output.
  StepHarness h;
  healthy_window(h);
  std::string ok = captured("masterha_check_ssh.ok.txt");
  h.commands.expect(kCheckSsh, timed_out(ok.substr(0, ok.find("All SSH connection tests"))));
  auto o = h.run(validate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("printed no verdict"), std::string::npos) << o.sentence;
}

TEST(ValidateStep, CheckReplNotOkBlocksNamingTheCause) {
  StepHarness h;
  healthy_window(h);
  h.commands.expect(kCheckSsh, captured_output("masterha_check_ssh.ok.txt"))
      .expect(kCheckRepl, captured_output("masterha_check_repl.not-ok-old-master-not-replicating.txt"));
  auto o = h.run(validate);
  h.script.verify();
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("masterha_check_repl failed"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("There is no alive slave"), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("run masterha_check_repl --conf=/etc/mha/app1.cnf"), std::string::npos);
}

TEST(ValidateStep, CheckReplNeedsBothExitZeroAndTheOkLine) {
  std::string ok = captured("masterha_check_repl.ok-after-rejoin.txt");
  struct Case {
    const char* what;
    CommandOutput out;
  };
  std::vector<Case> cases = {
      {"OK line but exit 1", exited(1, ok)},
      {"exit 0 but cut before the OK line", exited(0, ok.substr(0, ok.find("MySQL Replication Health")))},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    StepHarness h;
    healthy_window(h);
    h.commands.expect(kCheckSsh, captured_output("masterha_check_ssh.ok.txt")).expect(kCheckRepl, c.out);
    auto o = h.run(validate);
    EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  }
}

TEST(ValidateStep, UpstreamMhaBugIsExplained) {
  StepHarness h;
  healthy_window(h);
  h.commands.expect(kCheckSsh, captured_output("masterha_check_ssh.ok.txt"))
      .expect(kCheckRepl, captured_output("masterha_check_repl.unpatched-nodeutil.txt"));
  auto o = h.run(validate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("Redundant argument in sprintf"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("PERL5LIB"), std::string::npos) << "says how to fix it: " << o.sentence;
}

TEST(ValidateStep, ToolsThatCannotStartAreRetried) {
  for (int which : {0, 1}) {
    StepHarness h;
    healthy_window(h);
    Error spawn = Error::failed("cannot start masterha_check: No such file or directory");
    if (which == 0) {
      h.commands.expect(kCheckSsh, spawn);
    } else {
      h.commands.expect(kCheckSsh, captured_output("masterha_check_ssh.ok.txt")).expect(kCheckRepl, spawn);
    }
    auto o = h.run(validate);
    h.script.verify();
    EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
    EXPECT_NE(o.sentence.find(which == 0 ? "masterha_check_ssh could not run"
                                         : "masterha_check_repl could not run"),
              std::string::npos)
        << o.sentence;
    EXPECT_TRUE(h.audit.has(AuditKind::Command, "could not run")) << h.audit.dump();
  }
}

TEST(ValidateStep, ChecksDisabledByConfigurationRunNothing) {
  StepHarness h;
  healthy_window(h);
  h.config.validation.run_mha_checks = false;
  auto o = h.run(validate);
  ASSERT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
  EXPECT_NE(o.sentence.find("MHA checks disabled by configuration"), std::string::npos);
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(ValidateStep, BinDirAndGlobalConfAreHonoured) {
  StepHarness h;
  healthy_window(h);
  h.config.commands.mha_bin_dir = "/opt/mha/bin";
  h.config.mha.global_conf_path = "/etc/masterha_default.cnf";
  h.commands
      .expect({"/opt/mha/bin/masterha_check_ssh", "--conf=/etc/mha/app1.cnf",
               "--global_conf=/etc/masterha_default.cnf"},
              captured_output("masterha_check_ssh.ok.txt"))
      .expect({"/opt/mha/bin/masterha_check_repl", "--conf=/etc/mha/app1.cnf",
               "--global_conf=/etc/masterha_default.cnf"},
              captured_output("masterha_check_repl.ok-after-rejoin.txt"));
  auto o = h.run(validate);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Transition) << describe(o);
}

TEST(ValidateStep, ReRunIsTheSameReadOnlyCheck) {
  StepHarness h;
  healthy_window(h);
  for (int i = 0; i < 2; ++i)
    h.commands.expect(kCheckSsh, captured_output("masterha_check_ssh.ok.txt"))
        .expect(kCheckRepl, captured_output("masterha_check_repl.ok-after-rejoin.txt"));
  auto a = h.run(validate);
  auto b = h.run(validate);
  h.script.verify();
  EXPECT_EQ(describe(a), describe(b));
  EXPECT_TRUE(h.saves.empty());
}

TEST(ValidateStep, EveryInjectedFailureRetriesOrBlocksNeverValidates) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    healthy_window(h);
    h.commands.expect(kCheckSsh, captured_output("masterha_check_ssh.ok.txt"))
        .expect(kCheckRepl, captured_output("masterha_check_repl.ok-after-rejoin.txt"));
    h.run(validate);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault& f) {
    ASSERT_TRUE(h.outcome);
    EXPECT_TRUE(retry_or_block(*h.outcome));
    EXPECT_TRUE(f.after.empty());
  });
  EXPECT_EQ(runs, 6u);
}

}  // namespace
}  // namespace mhafb::test

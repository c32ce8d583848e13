// The scripted fakes themselves: an unexpected call, a call out of order and a call that never came
// each fail the test with both the expected and the actual call; the injector fails every call once.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

TEST(ScriptedFakes, AnswersInOrder) {
  CallScript script;
  ScriptedSql sql(script);
  ScriptedCommands cmds(script);
  sql.expect("h1", "SELECT 1", rows({"1"}, {{"1"}}));
  cmds.expect({"true"}, exited(0, "ok"));
  auto r = sql.query({"h1", 3306}, SqlStatement::read("SELECT 1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scalar(), "1");
  CommandSpec spec;
  spec.argv = {"true"};
  auto c = cmds.run(spec);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->out, "ok");
  script.verify();
  EXPECT_EQ(script.calls().size(), 2u);
}

TEST(ScriptedFakes, UnexpectedCallFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(
      {
        CallScript script;
        ScriptedSql sql(script);
        auto r = sql.query({"h1", 3306}, SqlStatement::write("SET GLOBAL read_only = 0"));
        EXPECT_FALSE(r.ok());
      },
      "unexpected call #0: sql on h1: SET GLOBAL read_only = 0");
}

TEST(ScriptedFakes, OutOfOrderCallShowsExpectedAndActual) {
  EXPECT_NONFATAL_FAILURE(
      {
        CallScript script;
        ScriptedSql sql(script);
        sql.expect("h1", "STOP SLAVE", no_rows()).expect("h1", "START SLAVE", no_rows());
        (void)sql.query({"h1", 3306}, SqlStatement::write("START SLAVE"));
      },
      "expected: sql on h1: STOP SLAVE\n  actual:   sql on h1: START SLAVE");
}

TEST(ScriptedFakes, WrongServerIsOutOfOrder) {
  EXPECT_NONFATAL_FAILURE(
      {
        CallScript script;
        ScriptedSql sql(script);
        sql.expect("h1", "SET GLOBAL read_only = 1", no_rows());
        (void)sql.query({"h2", 3306}, SqlStatement::write("SET GLOBAL read_only = 1"));
      },
      "actual:   sql on h2: SET GLOBAL read_only = 1");
}

TEST(ScriptedFakes, RemainingExpectationsFailVerify) {
  EXPECT_NONFATAL_FAILURE(
      {
        CallScript script;
        ScriptedRemote remote(script);
        remote.expect_probe("h1", Status{});
        script.verify();
      },
      "1 expected call(s) never came:\n  ssh probe of h1");
}

TEST(ScriptedFakes, PrefixAndPredicateMatching) {
  CallScript script;
  ScriptedSql sql(script);
  ScriptedCommands cmds(script);
  sql.expect_prefix("h1", "SELECT @@GLOBAL.version", facts_rows(true, 1))
      .expect_if(
          "h1", "a CHANGE MASTER", [](const SqlStatement& s) { return s.text.find("CHANGE MASTER") == 0; },
          no_rows());
  cmds.expect_prefix({"masterha_check_ssh"}, exited(255));
  ASSERT_TRUE(sql.query({"h1", 3306}, SqlStatement::read("SELECT @@GLOBAL.version AS version")).ok());
  ASSERT_TRUE(sql.query({"h1", 3306}, SqlStatement::write("CHANGE MASTER TO MASTER_HOST='x'")).ok());
  CommandSpec spec;
  spec.argv = {"masterha_check_ssh", "--conf=/etc/mha/app1.cnf"};
  ASSERT_TRUE(cmds.run(spec).ok());
  script.verify();
}

TEST(ScriptedFakes, MemoryFilesKeepMtimesAcrossMoves) {
  CallScript script;
  FakeClock clock(kT0);
  MemoryFiles files(clock, script);
  files.put("/w/app1.failover.complete", "", kT0 - std::chrono::minutes(5));
  auto st = files.stat("/w/app1.failover.complete");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->exists);
  EXPECT_EQ(st->mtime, kT0 - std::chrono::minutes(5));
  ASSERT_TRUE(files.move("/w/app1.failover.complete", "/s/history/flag").ok());
  EXPECT_FALSE(files.exists("/w/app1.failover.complete"));
  EXPECT_EQ(files.find("/s/history/flag")->mtime, kT0 - std::chrono::minutes(5));
  EXPECT_FALSE(files.move("/w/app1.failover.complete", "/x").ok());
  EXPECT_FALSE(files.read_tail("/nope", 10).ok());
  files.put("/log", "0123456789");
  EXPECT_EQ(*files.read_tail("/log", 4), "6789");
  files.fail_next("write_atomic", "/s/", Error::failed("No space left on device"));
  EXPECT_FALSE(files.write_atomic("/s/state.json", "{}", 0600).ok());
  EXPECT_TRUE(files.write_atomic("/s/state.json", "{}", 0600).ok());
  EXPECT_EQ(files.find("/s/state.json")->mode, 0600u);
  EXPECT_EQ(script.calls_of(CallKind::File).size(), 7u) << "every file operation is a call";
}

TEST(ScriptedFakes, InjectorFailsEachCallOnceWithEveryFaultOfItsKind) {
  struct World {
    CallScript script;
    ScriptedSql sql{script};
    ScriptedCommands cmds{script};
    std::vector<bool> ok;
  };
  FaultInjector<World> inj([](World& w) {
    w.sql.expect("h1", "SELECT 1", rows({"1"}, {{"1"}}));
    w.cmds.expect({"true"}, exited(0));
    w.ok.push_back(w.sql.query({"h1", 3306}, SqlStatement::read("SELECT 1")).ok());
    CommandSpec spec;
    spec.argv = {"true"};
    auto r = w.cmds.run(spec);
    w.ok.push_back(r.ok() && r->succeeded());
  });
  std::vector<std::string> seen;
  std::size_t runs = inj.run([&](World& w, const InjectedFault& f) {
    seen.push_back(std::to_string(f.index) + " " + f.fault);
    ASSERT_EQ(w.ok.size(), 2u);
    EXPECT_FALSE(w.ok[f.index]) << "the injected call must fail";
    if (f.index == 0) {
      EXPECT_FALSE(w.ok[1]) << "after the failure the world stays broken";
    }
  });
  EXPECT_EQ(runs, 5u);
  EXPECT_EQ(seen, (std::vector<std::string>{"0 sql unreachable", "0 sql error", "1 spawn error", "1 exit 1",
                                            "1 timed out"}));
}

}  // namespace
}  // namespace mhafb::test

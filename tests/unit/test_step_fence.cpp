// Step 3, fence: read_only=1 on the returned old master before anything else, verified by reading it
// back; nothing issued when it is already fenced; every SQL failure is a retry that says why.
#include <gtest/gtest.h>

#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::string kSetRo = "SET GLOBAL read_only = 1";

void old_answers_writable(StepHarness& h) {
  h.snapshot = old_fenced();
  h.snapshot.servers[0].read_only = false;
}

TEST(FenceStep, SetsReadOnlyAndReadsItBack) {
  StepHarness h;
  old_answers_writable(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1))
      .expect(kOld, kSetRo, no_rows())
      .expect_prefix(kOld, kFactsPrefix, facts_rows(true, 1));
  auto o = h.run(fence);
  h.script.verify();

  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find("fenced old master 127.0.0.11"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("read_only=1"), std::string::npos) << o.sentence;
  EXPECT_EQ(h.mutating_sql(), std::vector<std::string>{kSetRo});
  EXPECT_TRUE(h.sql.issued(kNew).empty()) << "the new master is never touched by the fence";
  auto sql = h.audit.of(AuditKind::Sql);
  ASSERT_EQ(sql.size(), 1u) << "only the mutating statement is audited:\n" << h.audit.dump();
  EXPECT_EQ(sql[0].message, "127.0.0.11: SET GLOBAL read_only = 1");
  EXPECT_EQ(sql[0].server, kOld);
  EXPECT_EQ(sql[0].fields.at("SQL"), kSetRo);
  EXPECT_EQ(sql[0].priority, AuditPriority::Notice);
  EXPECT_TRUE(h.saves.empty()) << "the fence has no checkpoint of its own; the engine persists after it";
}

TEST(FenceStep, AlreadyFencedIssuesNothing) {
  // Also the re-run after a crash between SET and the read-back.
  StepHarness h;
  h.snapshot = old_fenced();
  h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(true, 1));
  auto o = h.run(fence);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_NE(o.sentence.find("is fenced"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.mutating_sql().empty());
  EXPECT_TRUE(h.audit.of(AuditKind::Sql).empty());
}

TEST(FenceStep, ChecksTheServerNotTheSnapshot) {
  // The snapshot says read_only is on, but the server says off now: the server wins.
  StepHarness h;
  h.snapshot = old_fenced();
  h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1))
      .expect(kOld, kSetRo, no_rows())
      .expect_prefix(kOld, kFactsPrefix, facts_rows(true, 1));
  auto o = h.run(fence);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Progress) << describe(o);
  EXPECT_EQ(h.mutating_sql(), std::vector<std::string>{kSetRo});
}

TEST(FenceStep, ReadFailureRetriesWithoutActing) {
  StepHarness h;
  old_answers_writable(h);
  h.sql.expect_prefix(kOld, kFactsPrefix,
                      Error{ErrorKind::Unreachable, "Can't connect to server on '127.0.0.11' (111)", 2003});
  auto o = h.run(fence);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("cannot read read_only on 127.0.0.11"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("Can't connect"), std::string::npos) << o.sentence;
  EXPECT_TRUE(h.mutating_sql().empty());
}

TEST(FenceStep, SetFailureRetriesAndIsAuditedAsAnError) {
  StepHarness h;
  old_answers_writable(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1))
      .expect(kOld, kSetRo,
              Error{ErrorKind::Failed,
                    "Access denied; you need (at least one of) the SUPER, READ_ONLY ADMIN "
                    "privilege(s) for this operation",
                    1227});
  auto o = h.run(fence);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("fencing 127.0.0.11 failed"), std::string::npos) << o.sentence;
  EXPECT_NE(o.sentence.find("READ_ONLY ADMIN"), std::string::npos) << o.sentence;
  auto sql = h.audit.of(AuditKind::Sql);
  ASSERT_EQ(sql.size(), 1u);
  EXPECT_EQ(sql[0].priority, AuditPriority::Err);
  EXPECT_NE(sql[0].fields.at("ERROR").find("Access denied"), std::string::npos);
}

TEST(FenceStep, ReadBackStillWritableRetries) {
  // E.g. an init script or another tool flipped it back at once.
  StepHarness h;
  old_answers_writable(h);
  h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1))
      .expect(kOld, kSetRo, no_rows())
      .expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1));
  auto o = h.run(fence);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Retry) << describe(o);
  EXPECT_NE(o.sentence.find("did not read back as 1"), std::string::npos) << o.sentence;
}

TEST(FenceStep, OldMasterMissingFromTheConfigBlocks) {
  StepHarness h;
  old_answers_writable(h);
  h.state.failover->old_master = "db9.example";
  auto o = h.run(fence);
  h.script.verify();
  EXPECT_EQ(o.kind, StepOutcome::Kind::Block) << describe(o);
  EXPECT_NE(o.sentence.find("not in the MHA config"), std::string::npos) << o.sentence;
  EXPECT_NE(o.suggestion.find("mha-failbackctl ack app1"), std::string::npos) << o.suggestion;
  EXPECT_TRUE(h.script.calls().empty());
}

TEST(FenceStep, EveryInjectedFailureRetriesAndNeverActsAfterIt) {
  FaultInjector<StepHarness> inj([](StepHarness& h) {
    old_answers_writable(h);
    h.sql.expect_prefix(kOld, kFactsPrefix, facts_rows(false, 1))
        .expect(kOld, kSetRo, no_rows())
        .expect_prefix(kOld, kFactsPrefix, facts_rows(true, 1));
    h.run(fence);
  });
  std::size_t runs = inj.run([](StepHarness& h, const InjectedFault& f) {
    ASSERT_TRUE(h.outcome);
    EXPECT_EQ(h.outcome->kind, StepOutcome::Kind::Retry) << describe(*h.outcome);
    EXPECT_TRUE(retry_or_block(*h.outcome));
    for (const auto& c : f.after)
      EXPECT_FALSE(c.mutates()) << "acted after a failure: " << c.describe();
  });
  EXPECT_EQ(inj.happy_calls(), 3u);
  EXPECT_EQ(runs, 6u);  // 3 calls x (unreachable, server error)
}

}  // namespace
}  // namespace mhafb::test

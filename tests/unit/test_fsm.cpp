// The transition table is well formed: no duplicate edges, every state reachable from healthy, every
// state can reach healthy or blocked, every step row is a real step, and the DOT output carries every
// row's comment.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/fsm.hpp"

using namespace mhafb;

namespace {
const std::vector<ClusterState> kAll{ClusterState::Healthy,       ClusterState::Degraded,
                                     ClusterState::SlaveRejoined, ClusterState::Validated,
                                     ClusterState::SwitchedBack,  ClusterState::Blocked};

std::set<ClusterState> reachable_from(ClusterState start) {
  std::set<ClusterState> seen{start};
  std::vector<ClusterState> todo{start};
  while (!todo.empty()) {
    auto s = todo.back();
    todo.pop_back();
    for (const auto& t : transition_table())
      if (t.from == s && seen.insert(t.to).second) todo.push_back(t.to);
  }
  return seen;
}
}  // namespace

TEST(Fsm, NoDuplicateRows) {
  std::set<std::tuple<ClusterState, ClusterState, StepId>> rows;
  for (const auto& t : transition_table())
    EXPECT_TRUE(rows.insert({t.from, t.to, t.step}).second)
        << to_string(t.from) << " -> " << to_string(t.to) << " [" << to_string(t.step) << "] appears twice";
}

TEST(Fsm, EveryRowHasAComment) {
  for (const auto& t : transition_table())
    EXPECT_GT(t.comment.size(), 10u) << to_string(t.from) << "->" << to_string(t.to);
}

TEST(Fsm, EveryStateReachableFromHealthy) {
  auto seen = reachable_from(ClusterState::Healthy);
  for (auto s : kAll)
    EXPECT_TRUE(seen.count(s)) << to_string(s) << " is unreachable";
}

TEST(Fsm, EveryStateCanReachHealthyOrBlocked) {
  for (auto s : kAll) {
    auto seen = reachable_from(s);
    EXPECT_TRUE(seen.count(ClusterState::Healthy) || seen.count(ClusterState::Blocked)) << to_string(s);
  }
}

TEST(Fsm, EveryStateButHealthyAndBlockedCanBlock) {
  for (auto s : kAll) {
    if (s == ClusterState::Blocked || s == ClusterState::Healthy) continue;
    EXPECT_TRUE(transition_allowed(s, ClusterState::Blocked))
        << to_string(s) << " has no way to stop for an operator";
  }
}

TEST(Fsm, BlockedLeavesOnlyByAcknowledge) {
  for (const auto& t : transition_table()) {
    if (t.from == ClusterState::Blocked) {
      EXPECT_EQ(t.step, StepId::Acknowledge);
    }
  }
}

TEST(Fsm, TheSwitchOnlyFromValidated) {
  for (const auto& t : transition_table()) {
    if (t.step == StepId::SwitchBack) {
      EXPECT_EQ(t.from, ClusterState::Validated) << "never a switch without validation";
    }
  }
  // Before validation the role can only be found back (someone switched by hand), never switched.
  for (const auto& t : transition_table()) {
    if (t.to == ClusterState::SwitchedBack &&
        (t.from == ClusterState::Degraded || t.from == ClusterState::SlaveRejoined)) {
      EXPECT_EQ(t.step, StepId::None) << to_string(t.from);
    }
  }
  EXPECT_TRUE(transition_allowed(ClusterState::SlaveRejoined, ClusterState::SwitchedBack));
  EXPECT_FALSE(find_transition(ClusterState::SlaveRejoined, ClusterState::SwitchedBack, StepId::SwitchBack));
  EXPECT_FALSE(find_transition(ClusterState::Degraded, ClusterState::SwitchedBack, StepId::SwitchBack));
}

TEST(Fsm, EveryStepAppearsInTheTable) {
  std::set<StepId> steps;
  for (const auto& t : transition_table())
    steps.insert(t.step);
  for (auto s : {StepId::DetectFailover, StepId::BringBackOldMaster, StepId::Fence, StepId::DivergenceGate,
                 StepId::Rejoin, StepId::SkipSqlError, StepId::Validate, StepId::SwitchBack, StepId::Restore,
                 StepId::Acknowledge})
    EXPECT_TRUE(steps.count(s)) << to_string(s);
}

TEST(Fsm, FindTransition) {
  auto t = find_transition(ClusterState::Healthy, ClusterState::Degraded, StepId::DetectFailover);
  ASSERT_TRUE(t);
  EXPECT_NE(t->comment.find("failover detected"), std::string_view::npos);
  EXPECT_FALSE(find_transition(ClusterState::Healthy, ClusterState::SwitchedBack, StepId::SwitchBack));
}

TEST(Fsm, DotHasEveryStateAndRow) {
  std::string dot = fsm_to_dot();
  EXPECT_EQ(dot.rfind("digraph", 0), 0u);
  for (auto s : kAll)
    EXPECT_NE(dot.find("\"" + std::string(to_string(s)) + "\""), std::string::npos);
  for (const auto& t : transition_table())
    EXPECT_NE(dot.find(std::string(t.comment)), std::string::npos) << t.comment;
  std::size_t arrows = 0;
  for (std::size_t p = dot.find("->"); p != std::string::npos; p = dot.find("->", p + 2))
    ++arrows;
  EXPECT_EQ(arrows, transition_table().size());
}

TEST(States, NamesRoundTrip) {
  for (auto s : kAll)
    EXPECT_EQ(parse_state(to_string(s)), s);
  EXPECT_FALSE(parse_state("switched_back"));
  for (auto m : {Mode::Observe, Mode::Approve, Mode::Auto})
    EXPECT_EQ(parse_mode(to_string(m)), m);
  EXPECT_FALSE(parse_mode("automatic"));
}

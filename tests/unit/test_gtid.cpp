// GTID parsing and the divergence test: exact values for valid lists and sets, a clear error that
// names the bad token for every malformed form, and totality on garbage.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/gtid.hpp"

namespace mhafb {
namespace {

using Ivs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
const std::string kU1 = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const std::string kU2 = "4a7b1c2d-0000-11ee-8000-00163e000002";

// ------------------------------------------------------------------ MariaDB lists

TEST(MariaGtidList, ParsesSingleAndMultiple) {
  auto r = parse_mariadb_gtid_list("0-1-100");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0], (MariaGtid{0, 1, 100}));

  auto m = parse_mariadb_gtid_list("0-1-100,1-2-7,0-2-55");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[1], (MariaGtid{1, 2, 7}));
  EXPECT_EQ((*m)[2].to_string(), "0-2-55");
}

TEST(MariaGtidList, EmptyAndBlankAreEmptyLists) {
  for (std::string_view s : {"", " ", "\n", " \t\r\n "}) {
    auto r = parse_mariadb_gtid_list(s);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->empty());
  }
}

TEST(MariaGtidList, WhitespaceAroundCommasAndEnds) {
  auto r = parse_mariadb_gtid_list("  0-1-100 ,\n 1-2-7\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1], (MariaGtid{1, 2, 7}));
}

TEST(MariaGtidList, Limits) {
  auto r = parse_mariadb_gtid_list("4294967295-4294967295-18446744073709551615");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].domain, 4294967295u);
  EXPECT_EQ((*r)[0].server_id, 4294967295u);
  EXPECT_EQ((*r)[0].seq, 18446744073709551615ull);

  auto d = parse_mariadb_gtid_list("4294967296-1-1");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind, ErrorKind::Invalid);
  EXPECT_NE(d.error().message.find("'4294967296-1-1'"), std::string::npos) << d.error().message;
  EXPECT_NE(d.error().message.find("domain"), std::string::npos) << d.error().message;

  auto s = parse_mariadb_gtid_list("0-4294967296-1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("server_id"), std::string::npos) << s.error().message;

  auto q = parse_mariadb_gtid_list("0-1-18446744073709551616");
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("sequence"), std::string::npos) << q.error().message;
}

TEST(MariaGtidList, RejectsMalformedTokensNamingThem) {
  struct Case {
    const char* text;
    const char* bad;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"0-1", "'0-1'"},
           {"0-1-2-3", "'0-1-2-3'"},
           {"0-1-100,zz", "'zz'"},
           {"0-1-x", "'0-1-x'"},
           {"+0-1-5", "'+0-1-5'"},
           {"0--1-5", "'0--1-5'"},
           {"0-1-", "'0-1-'"},
           {"-1-5", "'-1-5'"},
           {"0 -1-5", "'0 -1-5'"},
           {"0-1-5;1-2-3", "'0-1-5;1-2-3'"},
           {"0-1-1 0-2-2", "'0-1-1 0-2-2'"},
           {"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "'3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5'"},
       }) {
    auto r = parse_mariadb_gtid_list(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().kind, ErrorKind::Invalid);
    EXPECT_NE(r.error().message.find(c.bad), std::string::npos) << c.text << " -> " << r.error().message;
  }
}

TEST(MariaGtidList, RejectsEmptyElements) {
  for (std::string_view s : {"0-1-1,,0-2-2", "0-1-1,", ",0-1-1", " , "}) {
    auto r = parse_mariadb_gtid_list(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_NE(r.error().message.find("empty element"), std::string::npos) << r.error().message;
  }
}

TEST(MariaGtidList, GarbageIsEscapedAndBoundedInTheError) {
  std::string garbage("\x01\xff\x00'abc", 7);
  garbage += std::string(5000, 'A');
  auto r = parse_mariadb_gtid_list(garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 300u);
  EXPECT_NE(r.error().message.find("\\x01\\xff\\x00\\x27abc"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("..."), std::string::npos);
}

// ------------------------------------------------------------------ MariaDB divergence

TEST(MariaDivergence, IdenticalStatesDoNotDiverge) {
  auto r = compare_mariadb_binlog_states("0-1-100,0-2-50", "0-2-50,0-1-100");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->diverged);
  EXPECT_TRUE(r->extra.empty());
  EXPECT_EQ(r->extra_count, 0u);
  EXPECT_EQ(r->sentence, "the old master has no transaction the new master lacks (2 origins compared)");
}

TEST(MariaDivergence, NewMasterAheadIsNormal) {
  // After failover the new master (server 2) wrote 0-2-101..150 and has everything server 1 wrote.
  auto r = compare_mariadb_binlog_states("0-1-100", "0-1-100,0-2-150");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->diverged);
}

TEST(MariaDivergence, OldMasterAheadReportsTheRange) {
  auto r = compare_mariadb_binlog_states("0-1-103,0-2-40", "0-1-100,0-2-150", "old master 127.0.0.11");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->diverged);
  ASSERT_EQ(r->extra.size(), 1u);
  EXPECT_EQ(r->extra[0].origin, "0-1");
  EXPECT_EQ(r->extra[0].first, 101u);
  EXPECT_EQ(r->extra[0].last, 103u);
  EXPECT_FALSE(r->extra[0].absent_on_new);
  EXPECT_EQ(r->extra[0].to_string(), "0-1-101..0-1-103");
  EXPECT_EQ(r->extra_count, 3u);
  EXPECT_EQ(r->sentence,
            "old master 127.0.0.11 has up to 3 transactions the new master lacks: 0-1-101..0-1-103");
}

TEST(MariaDivergence, SingleExtraTransaction) {
  auto r = compare_mariadb_binlog_states("0-1-101", "0-1-100");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->extra.size(), 1u);
  EXPECT_EQ(r->extra[0].to_string(), "0-1-101");
  EXPECT_EQ(r->sentence, "the old master has up to 1 transaction the new master lacks: 0-1-101");
}

TEST(MariaDivergence, OriginAbsentOnNewMasterStartsAtOne) {
  // Domain 1 was written only on the old master and never reached the new one.
  auto r = compare_mariadb_binlog_states("0-1-100,1-1-7", "0-1-100,0-2-120");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->diverged);
  ASSERT_EQ(r->extra.size(), 1u);
  EXPECT_EQ(r->extra[0].origin, "1-1");
  EXPECT_EQ(r->extra[0].first, 1u);
  EXPECT_EQ(r->extra[0].last, 7u);
  EXPECT_TRUE(r->extra[0].absent_on_new);
  EXPECT_NE(r->sentence.find("1-1-1..1-1-7 (the new master has none from 1-1)"), std::string::npos)
      << r->sentence;
}

TEST(MariaDivergence, SeveralOriginsInOrderAndCounted) {
  auto r = compare_mariadb_binlog_states("0-1-110,0-3-5,2-1-9", "0-1-100,0-3-5,2-1-4");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->extra.size(), 2u);
  EXPECT_EQ(r->extra[0].to_string(), "0-1-101..0-1-110");
  EXPECT_EQ(r->extra[1].to_string(), "2-1-5..2-1-9");
  EXPECT_EQ(r->extra_count, 15u);
  EXPECT_EQ(r->sentence,
            "the old master has up to 15 transactions the new master lacks: 0-1-101..0-1-110, 2-1-5..2-1-9");
}

TEST(MariaDivergence, ZeroSequenceCarriesNoTransaction) {
  auto r = compare_mariadb_binlog_states("0-1-0", "");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->diverged);
}

TEST(MariaDivergence, EmptyStates) {
  auto both = compare_mariadb_binlog_states("", "");
  ASSERT_TRUE(both.ok());
  EXPECT_FALSE(both->diverged);
  auto fresh_new = compare_mariadb_binlog_states("0-1-3", "");
  ASSERT_TRUE(fresh_new.ok());
  ASSERT_TRUE(fresh_new->diverged);
  EXPECT_EQ(fresh_new->extra[0].to_string(), "0-1-1..0-1-3");
}

TEST(MariaDivergence, CountSaturates) {
  auto r = compare_mariadb_binlog_states("0-1-18446744073709551615,0-2-18446744073709551615", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->extra_count, 18446744073709551615ull);
}

TEST(MariaDivergence, LongListIsTruncatedInTheSentence) {
  std::string old_state;
  for (int d = 0; d < 25; ++d)
    old_state += (d ? "," : "") + std::to_string(d) + "-1-5";
  auto r = compare_mariadb_binlog_states(old_state, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->extra.size(), 25u);
  EXPECT_NE(r->sentence.find("and 15 more ranges"), std::string::npos) << r->sentence;
}

TEST(MariaDivergence, ErrorsSayWhichSide) {
  auto o = compare_mariadb_binlog_states("0-1-x", "0-1-1");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().message.rfind("old master's gtid_binlog_state", 0), 0u) << o.error().message;
  auto n = compare_mariadb_binlog_states("0-1-1", "junk");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().message.rfind("new master's gtid_binlog_state", 0), 0u) << n.error().message;
  EXPECT_NE(n.error().message.find("'junk'"), std::string::npos);
}

TEST(MariaDivergence, RepeatedOriginIsRejected) {
  auto r = compare_mariadb_binlog_states("0-1-5,0-1-7", "0-1-7");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("twice"), std::string::npos) << r.error().message;
}

// Measured on MariaDB 10.11 with log_slave_updates=OFF (the default): after an online switch from
// server 203 to 204, 204's binlog state was "0-204-1" and its gtid_slave_pos "0-203-10" while 203's
// binlog state was "0-203-10". The binlog states alone claim all of 203's transactions are missing.
TEST(MariaDivergence, SlavePosCoversWhatTheNewMasterReplicatedWithoutLogSlaveUpdates) {
  auto binlog_only = compare_mariadb_binlog_states("0-203-10", "0-204-1");
  ASSERT_TRUE(binlog_only.ok());
  EXPECT_TRUE(binlog_only->diverged);

  auto r = compare_mariadb_gtid_states({"0-203-10", "0-204-1", "0-203-10"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->diverged) << r->sentence;
}

TEST(MariaDivergence, SlavePosBehindLeavesTheTail) {
  // The old master wrote 11 and 12 after the new master's last applied GTID (0-203-10).
  auto r = compare_mariadb_gtid_states({"0-203-12", "0-204-50", "0-203-10", "old master 127.0.0.11"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->diverged);
  ASSERT_EQ(r->extra.size(), 1u);
  EXPECT_EQ(r->extra[0].to_string(), "0-203-11..0-203-12");
  EXPECT_FALSE(r->extra[0].absent_on_new);
  EXPECT_EQ(r->sentence,
            "old master 127.0.0.11 has up to 2 transactions the new master lacks: 0-203-11..0-203-12");
}

TEST(MariaDivergence, SlavePosCoversOtherOriginsEarlierInTheSameDomain) {
  // Stream of the old master (server 1) in domain 0: ...0-3-40 (logged from server 3), 0-1-41..0-1-60.
  // The new master applied it up to 0-1-60: server 3's transactions up to 40 came with it.
  auto r = compare_mariadb_gtid_states({"0-1-60,0-3-40", "0-2-70", "0-1-60"});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->diverged) << r->sentence;
}

TEST(MariaDivergence, SlavePosFromAnotherServersStreamProvesNothing) {
  // The new master's slave position names server 5, which the old master never logged up to 900:
  // it came from another stream, so it cannot vouch for the old master's transactions.
  auto r = compare_mariadb_gtid_states({"0-1-100", "0-2-10", "0-5-900"});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->diverged);
  EXPECT_TRUE(r->extra[0].absent_on_new);
  EXPECT_EQ(r->extra[0].to_string(), "0-1-1..0-1-100");
}

TEST(MariaDivergence, SlavePosOnlyCoversItsOwnDomain) {
  auto r = compare_mariadb_gtid_states({"0-1-10,1-1-5", "", "0-1-10"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->extra.size(), 1u);
  EXPECT_EQ(r->extra[0].to_string(), "1-1-1..1-1-5");
}

TEST(MariaDivergence, BadSlavePosIsAnError) {
  auto r = compare_mariadb_gtid_states({"0-1-10", "", "0-1-x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("new master's gtid_slave_pos", 0), 0u) << r.error().message;
  auto d = compare_mariadb_gtid_states({"0-1-10", "", "0-1-3,0-2-4"});
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("twice"), std::string::npos) << d.error().message;
}

// ------------------------------------------------------------------ MySQL sets

TEST(MysqlGtidSet, ParsesIntervalsAndNormalizes) {
  auto r = parse_mysql_gtid_set(kU1 + ":1-5:7-9:6");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->intervals.size(), 1u);
  EXPECT_EQ(r->intervals.at(kU1), (Ivs{{1, 9}}));
  EXPECT_EQ(r->to_string(), kU1 + ":1-9");
}

TEST(MysqlGtidSet, MultipleUuidsWithNewlinesAndUpperCase) {
  std::string upper = "3E11FA47-71CA-11E1-9E33-C80AA9429562";
  auto r = parse_mysql_gtid_set(upper + ":1-5:11-20,\n" + kU2 + ":3,\n" + kU1 + ":8\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->intervals.size(), 2u);
  EXPECT_EQ(r->intervals.at(kU1), (Ivs{{1, 5}, {8, 8}, {11, 20}}));
  EXPECT_EQ(r->intervals.at(kU2), (Ivs{{3, 3}}));
}

TEST(MysqlGtidSet, TaggedGtids) {
  auto r = parse_mysql_gtid_set(kU1 + ":1-3:Batch_7:1-2");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->intervals.at(kU1), (Ivs{{1, 3}}));
  EXPECT_EQ(r->intervals.at(kU1 + ":batch_7"), (Ivs{{1, 2}}));
}

TEST(MysqlGtidSet, EmptyIsEmpty) {
  auto r = parse_mysql_gtid_set(" \n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(MysqlGtidSet, RejectsMalformed) {
  struct Case {
    std::string text;
    std::string needle;
  };
  for (const Case& c : std::vector<Case>{
           {"3e11fa47-71ca-11e1-9e33:1-5", "is not a server uuid"},
           {kU1, "no transaction interval"},
           {kU1 + ":", "empty interval"},
           {kU1 + ":1-5:", "empty interval"},
           {kU1 + ":0-5", "1 <= start <= end"},
           {kU1 + ":9-5", "1 <= start <= end"},
           {kU1 + ":1-x", "bad interval '1-x'"},
           {kU1 + ":1--5", "bad interval"},
           {kU1 + ":9223372036854775808", "exceeds 2^63-1"},
           {kU1 + ":tagonly", "a tag without any interval"},
           {kU1 + ":1-5,,", "empty element"},
           {"g3e11fa47-71ca-11e1-9e33-c80aa942956:1", "is not a server uuid"},
       }) {
    auto r = parse_mysql_gtid_set(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().kind, ErrorKind::Invalid);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << c.text << " -> " << r.error().message;
  }
}

TEST(MysqlGtidSet, MaxGnoAccepted) {
  auto r = parse_mysql_gtid_set(kU1 + ":9223372036854775806-9223372036854775807," + kU1 + ":1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->intervals.at(kU1), (Ivs{{1, 1}, {9223372036854775806ull, 9223372036854775807ull}}));
}

TEST(MysqlGtidSet, SubtractAndSubset) {
  auto a = parse_mysql_gtid_set(kU1 + ":1-10:20-30," + kU2 + ":1-3");
  auto b = parse_mysql_gtid_set(kU1 + ":2-4:6:9-21:25," + kU2 + ":1-3");
  ASSERT_TRUE(a.ok() && b.ok());
  MysqlGtidSet d = mysql_gtid_subtract(*a, *b);
  EXPECT_EQ(d.to_string(), kU1 + ":1:5:7-8:22-24:26-30");
  EXPECT_FALSE(mysql_gtid_subset(*a, *b));
  auto c = parse_mysql_gtid_set(kU1 + ":1-100," + kU2 + ":1-5");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(mysql_gtid_subset(*a, *c));
  EXPECT_TRUE(mysql_gtid_subset(*b, *c));
  EXPECT_TRUE(mysql_gtid_subset(MysqlGtidSet{}, *a));
  EXPECT_FALSE(mysql_gtid_subset(*a, MysqlGtidSet{}));
}

TEST(MysqlDivergence, ExtraIsOldMinusNew) {
  auto r = compare_mysql_gtid_executed(kU1 + ":1-105," + kU2 + ":1-7", kU1 + ":1-100,\n" + kU2 + ":1-9");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->diverged);
  ASSERT_EQ(r->extra.size(), 1u);
  EXPECT_EQ(r->extra[0].origin, kU1);
  EXPECT_EQ(r->extra[0].to_string(), kU1 + ":101-105");
  EXPECT_EQ(r->extra_count, 5u);
  EXPECT_EQ(r->sentence, "the old master has 5 transactions the new master lacks: " + kU1 + ":101-105");
}

TEST(MysqlDivergence, SubsetDoesNotDiverge) {
  auto r = compare_mysql_gtid_executed(kU1 + ":1-100", kU1 + ":1-150," + kU2 + ":1-3", "old master db1");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->diverged);
  EXPECT_EQ(r->sentence, "old master db1 has no transaction the new master lacks (1 origin compared)");
}

TEST(MysqlDivergence, ErrorsSayWhichSide) {
  auto r = compare_mysql_gtid_executed(kU1 + ":1-5", "nonsense");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("new master's gtid_executed", 0), 0u) << r.error().message;
}

// ------------------------------------------------------------------ totality

TEST(GtidTotality, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);  // NOLINT(cert-msc51-cpp): a fixed seed keeps a failure reproducible
  static constexpr char kAlphabet[] = "0123456789-,:abcdefABCDEF \n\t\r\x00\xff_xyz";
  const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 64, '\0');
    for (char& c : s)
      c = alphabet[rng() % alphabet.size()];
    (void)parse_mariadb_gtid_list(s);
    (void)parse_mysql_gtid_set(s);
    (void)compare_mariadb_binlog_states(s, "0-1-5");
    (void)compare_mysql_gtid_executed(s, kU1 + ":1-3");
  }
  SUCCEED();
}

TEST(GtidTotality, HugeInputsAreHandled) {
  std::string big;
  for (int i = 0; i < 200000; ++i)
    big += (i ? "," : "") + std::to_string(i % 1000) + "-" + std::to_string(i) + "-9";
  auto r = parse_mariadb_gtid_list(big);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 200000u);

  std::string mysql = kU1;
  for (int i = 0; i < 200000; ++i)
    mysql += ":" + std::to_string(2 * i + 1);
  auto m = parse_mysql_gtid_set(mysql);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->intervals.at(kU1).size(), 200000u);
  auto d = compare_mysql_gtid_executed(mysql, kU1 + ":1-399999");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->diverged);
}

}  // namespace
}  // namespace mhafb

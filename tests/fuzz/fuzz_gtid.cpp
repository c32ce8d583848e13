// Fuzz target: the GTID parsers (MariaDB GTID lists, MySQL gtid_executed sets) and the divergence
// comparisons built on them. Input: "OLD|NEW|SLAVE_POS" (missing parts are empty); every part is
// tried as a MariaDB list and as a MySQL set.
//
// Properties beyond "no crash, hang or leak": parsing the printed form gives the same value back
// (MariaDB lists and canonical MySQL sets); a parsed MySQL set is sorted, merged and within
// 1 .. 2^63-1; subtraction and subset agree with each other and with the MySQL divergence report;
// nothing diverges from itself; the new master's gtid_slave_pos can only remove extra transactions
// from the MariaDB report, never add any; error messages and sentences are valid UTF-8.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/gtid.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace mhafb;

constexpr std::uint64_t kMaxGno = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

std::string join(const std::vector<MariaGtid>& list) {
  std::string s;
  for (const auto& g : list)
    s += (s.empty() ? "" : ",") + g.to_string();
  return s;
}

void check_report(std::string_view what, const Result<DivergenceReport>& r) {
  if (!r) {
    fuzz::check_text(std::string(what) + " error", r.error().message, 4096);
    return;
  }
  fuzz::check_text(std::string(what) + " sentence", r->sentence, 1 << 20);
  if (r->diverged != !r->extra.empty())
    fuzz::fail("diverged exactly when there are extra ranges", r->sentence);
  std::uint64_t sum = 0;
  for (const auto& x : r->extra) {
    if (x.first > x.last || x.first == 0) fuzz::fail("an extra range is 1 <= first <= last", x.to_string());
    std::uint64_t n = x.size();
    sum = sum > std::numeric_limits<std::uint64_t>::max() - n ? std::numeric_limits<std::uint64_t>::max()
                                                              : sum + n;
  }
  if (sum != r->extra_count) fuzz::fail("extra_count is the saturated sum of the ranges", r->sentence);
}

void check_mysql_set(const MysqlGtidSet& s) {
  for (const auto& [key, ivs] : s.intervals) {
    if (ivs.empty()) fuzz::fail("no uuid without intervals", key);
    for (std::size_t i = 0; i < ivs.size(); ++i) {
      if (ivs[i].first < 1 || ivs[i].first > ivs[i].second || ivs[i].second > kMaxGno)
        fuzz::fail("intervals within 1 .. 2^63-1", s.to_string());
      if (i > 0 && ivs[i].first <= ivs[i - 1].second + 1)
        fuzz::fail("intervals sorted and merged", s.to_string());
    }
  }
  auto again = parse_mysql_gtid_set(s.to_string());
  if (!again) fuzz::fail("the canonical form parses", s.to_string() + ": " + again.error().message);
  if (again->intervals != s.intervals) fuzz::fail("the canonical form parses to the same set", s.to_string());
}

bool same(const MysqlGtidSet& a, const MysqlGtidSet& b) {
  return a.intervals == b.intervals;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parts = fuzz::split(fuzz::as_text(data, size), "|", 3);
  parts.resize(3);
  const std::string_view old_text = parts[0], new_text = parts[1], slave_text = parts[2];

  // MariaDB lists.
  for (std::string_view p : parts) {
    auto list = parse_mariadb_gtid_list(p);
    if (!list) {
      fuzz::check_text("MariaDB parse error", list.error().message, 4096);
      continue;
    }
    auto again = parse_mariadb_gtid_list(join(*list));
    if (!again || *again != *list) fuzz::fail("a printed MariaDB list parses to the same list", join(*list));
  }
  auto binlog = compare_mariadb_binlog_states(old_text, new_text);
  check_report("MariaDB binlog comparison", binlog);
  auto with_slave = compare_mariadb_gtid_states({old_text, new_text, slave_text, "the old master"});
  check_report("MariaDB comparison with slave_pos", with_slave);
  if (binlog && with_slave) {
    if (with_slave->diverged && !binlog->diverged)
      fuzz::fail("gtid_slave_pos never adds extra transactions", with_slave->sentence);
    if (with_slave->extra_count > binlog->extra_count)
      fuzz::fail("gtid_slave_pos never adds extra transactions (count)", with_slave->sentence);
  }
  auto self = compare_mariadb_binlog_states(old_text, old_text);
  if (self && self->diverged) fuzz::fail("a binlog state does not diverge from itself", self->sentence);

  // MySQL sets.
  std::vector<MysqlGtidSet> sets;
  for (std::string_view p : parts) {
    auto s = parse_mysql_gtid_set(p);
    if (!s) {
      fuzz::check_text("MySQL parse error", s.error().message, 4096);
      continue;
    }
    check_mysql_set(*s);
    sets.push_back(std::move(*s));
  }
  for (const auto& a : sets) {
    if (!mysql_gtid_subset(a, a) || !mysql_gtid_subtract(a, a).empty())
      fuzz::fail("a set contains itself", a.to_string());
    for (const auto& b : sets) {
      MysqlGtidSet d = mysql_gtid_subtract(a, b);
      check_mysql_set(d);
      if (mysql_gtid_subset(a, b) != d.empty())
        fuzz::fail("subset iff the difference is empty", a.to_string());
      if (!mysql_gtid_subset(d, a)) fuzz::fail("a - b is part of a", d.to_string());
      if (!same(mysql_gtid_subtract(d, b), d)) fuzz::fail("a - b shares nothing with b", d.to_string());
      if (!mysql_gtid_subtract(a, d).empty() && !mysql_gtid_subset(mysql_gtid_subtract(a, d), b))
        fuzz::fail("a - (a - b) is part of b", d.to_string());
    }
  }
  auto mysql = compare_mysql_gtid_executed(old_text, new_text);
  check_report("MySQL comparison", mysql);
  if (mysql) {
    auto o = parse_mysql_gtid_set(old_text);
    auto n = parse_mysql_gtid_set(new_text);
    if (!o || !n) fuzz::fail("the comparison succeeds only when both sets parse", mysql->sentence);
    if (mysql->diverged == mysql_gtid_subset(*o, *n))
      fuzz::fail("MySQL diverged iff old is not a subset of new", mysql->sentence);
  }
  return 0;
}

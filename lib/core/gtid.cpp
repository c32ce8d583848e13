// GTID list/set parsing and the divergence test (see gtid.hpp for the rules). The parsers are
// strict because a mis-read GTID position silently loses or forks data: anything unexpected is an
// error that quotes the offending token, never a guess.
#include "core/gtid.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace mhafb {

namespace {

constexpr std::size_t kMaxQuoted = 48;
constexpr std::size_t kMaxListedRanges = 10;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char to_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

// A token as it may appear in an error sentence: quoted, bounded, control and high bytes escaped
// (the input may be binary garbage; the sentence ends up in the journal).
std::string quote(std::string_view token) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  std::size_t n = std::min(token.size(), kMaxQuoted);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (token.size() > n) out += "...";
  out += "'";
  return out;
}

// Unsigned decimal, digits only (no sign, no spaces), at most `max`.
bool parse_uint(std::string_view s, std::uint64_t max, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_digit(c); });
}

// Splits on commas; calls f(trimmed element) for each. An all-blank text is an empty list.
template <class F>
Status for_each_element(std::string_view text, std::string_view what, F&& f) {
  if (trim(text).empty()) return {};
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string_view raw =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::string_view el = trim(raw);
    if (el.empty())
      return Error::invalid(std::string("empty element in ") + std::string(what) +
                            " (two commas in a row, or a leading or trailing comma)");
    if (Status s = f(el); !s) return s;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return {};
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return (a > std::numeric_limits<std::uint64_t>::max() - b) ? std::numeric_limits<std::uint64_t>::max()
                                                             : a + b;
}

std::string sentence_for(const DivergenceReport& r, std::string_view old_label, bool exact_count,
                         std::size_t compared) {
  std::string who = old_label.empty() ? std::string("the old master") : std::string(old_label);
  if (!r.diverged) {
    return who + " has no transaction the new master lacks (" + std::to_string(compared) +
           (compared == 1 ? " origin" : " origins") + " compared)";
  }
  std::string s = who + " has ";
  if (exact_count)
    s += std::to_string(r.extra_count) + (r.extra_count == 1 ? " transaction" : " transactions");
  else
    s += "up to " + std::to_string(r.extra_count) + (r.extra_count == 1 ? " transaction" : " transactions");
  s += " the new master lacks: ";
  std::size_t shown = std::min(r.extra.size(), kMaxListedRanges);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i) s += ", ";
    s += r.extra[i].to_string();
    if (r.extra[i].absent_on_new) s += " (the new master has none from " + r.extra[i].origin + ")";
  }
  if (r.extra.size() > shown) s += ", and " + std::to_string(r.extra.size() - shown) + " more ranges";
  return s;
}

}  // namespace

// ---------------------------------------------------------------- MariaDB

std::string MariaGtid::to_string() const {
  return std::to_string(domain) + "-" + std::to_string(server_id) + "-" + std::to_string(seq);
}

std::uint64_t ExtraTransactions::size() const {
  if (last < first) return 0;
  std::uint64_t span = last - first;
  return span == std::numeric_limits<std::uint64_t>::max() ? span : span + 1;
}

std::string ExtraTransactions::to_string() const {
  // MariaDB origins are "domain-server_id": digits around exactly one dash (a uuid has four).
  bool mariadb = std::count(origin.begin(), origin.end(), '-') == 1 &&
                 std::all_of(origin.begin(), origin.end(), [](char c) { return is_digit(c) || c == '-'; });
  if (mariadb) {
    std::string a = origin + "-" + std::to_string(first);
    if (first == last) return a;
    return a + ".." + origin + "-" + std::to_string(last);
  }
  std::string a = origin + ":" + std::to_string(first);
  if (first == last) return a;
  return a + "-" + std::to_string(last);
}

Result<std::vector<MariaGtid>> parse_mariadb_gtid_list(std::string_view text) {
  std::vector<MariaGtid> out;
  Status st = for_each_element(text, "MariaDB GTID list", [&](std::string_view el) -> Status {
    std::size_t d1 = el.find('-');
    std::size_t d2 = d1 == std::string_view::npos ? d1 : el.find('-', d1 + 1);
    if (d2 == std::string_view::npos || el.find('-', d2 + 1) != std::string_view::npos)
      return Error::invalid("bad MariaDB GTID " + quote(el) +
                            ": expected domain-server_id-sequence (three decimal numbers)");
    std::string_view fd = el.substr(0, d1), fs = el.substr(d1 + 1, d2 - d1 - 1), fq = el.substr(d2 + 1);
    if (!all_digits(fd) || !all_digits(fs) || !all_digits(fq))
      return Error::invalid("bad MariaDB GTID " + quote(el) +
                            ": expected domain-server_id-sequence (three decimal numbers)");
    MariaGtid g;
    std::uint64_t v = 0;
    if (!parse_uint(fd, std::numeric_limits<std::uint32_t>::max(), v))
      return Error::invalid("bad MariaDB GTID " + quote(el) + ": domain does not fit in 32 bits");
    g.domain = static_cast<std::uint32_t>(v);
    if (!parse_uint(fs, std::numeric_limits<std::uint32_t>::max(), v))
      return Error::invalid("bad MariaDB GTID " + quote(el) + ": server_id does not fit in 32 bits");
    g.server_id = static_cast<std::uint32_t>(v);
    if (!parse_uint(fq, std::numeric_limits<std::uint64_t>::max(), g.seq))
      return Error::invalid("bad MariaDB GTID " + quote(el) + ": sequence number does not fit in 64 bits");
    out.push_back(g);
    return {};
  });
  if (!st) return std::move(st).error();
  return out;
}

namespace {

using OriginKey = std::pair<std::uint32_t, std::uint32_t>;

Result<std::map<OriginKey, std::uint64_t>> binlog_state_map(std::string_view text, const char* which) {
  auto list = parse_mariadb_gtid_list(text);
  if (!list) {
    Error e = std::move(list).error();
    e.message = std::string(which) + " gtid_binlog_state: " + e.message;
    return e;
  }
  std::map<OriginKey, std::uint64_t> m;
  for (const auto& g : *list) {
    auto [it, inserted] = m.emplace(OriginKey{g.domain, g.server_id}, g.seq);
    if (!inserted)
      return Error::invalid(std::string(which) + " gtid_binlog_state lists domain " +
                            std::to_string(g.domain) + " server_id " + std::to_string(g.server_id) +
                            " twice; a binlog state holds one GTID per (domain, server_id)");
  }
  return m;
}

}  // namespace

Result<DivergenceReport> compare_mariadb_gtid_states(const MariaDivergenceInput& in) {
  auto old_m = binlog_state_map(in.old_binlog_state, "old master's");
  if (!old_m) return std::move(old_m).error();
  auto new_m = binlog_state_map(in.new_binlog_state, "new master's");
  if (!new_m) return std::move(new_m).error();
  auto slave_pos = parse_mariadb_gtid_list(in.new_slave_pos);
  if (!slave_pos) {
    Error e = std::move(slave_pos).error();
    e.message = "new master's gtid_slave_pos: " + e.message;
    return e;
  }
  // Per domain, how far the new master provably applied the old master's stream.
  std::map<std::uint32_t, std::uint64_t> applied;
  std::set<std::uint32_t> seen_domains;
  for (const auto& g : *slave_pos) {
    if (!seen_domains.insert(g.domain).second)
      return Error::invalid("new master's gtid_slave_pos lists domain " + std::to_string(g.domain) +
                            " twice; it holds one GTID per domain");
    auto it = old_m->find(OriginKey{g.domain, g.server_id});
    if (it != old_m->end() && it->second >= g.seq) applied[g.domain] = g.seq;
  }

  DivergenceReport r;
  for (const auto& [key, old_seq] : *old_m) {
    if (old_seq == 0) continue;
    std::uint64_t covered = 0;
    bool known = false;
    if (auto it = new_m->find(key); it != new_m->end()) {
      covered = it->second;
      known = true;
    }
    if (auto it = applied.find(key.first); it != applied.end()) {
      covered = std::max(covered, it->second);
      known = true;
    }
    if (known && covered >= old_seq) continue;
    ExtraTransactions x;
    x.origin = std::to_string(key.first) + "-" + std::to_string(key.second);
    x.first = known ? covered + 1 : 1;
    x.last = old_seq;
    x.absent_on_new = !known;
    r.extra_count = saturating_add(r.extra_count, x.size());
    r.extra.push_back(std::move(x));
  }
  r.diverged = !r.extra.empty();
  r.sentence = sentence_for(r, in.old_master_label, /*exact_count=*/false, old_m->size());
  return r;
}

Result<DivergenceReport> compare_mariadb_binlog_states(std::string_view old_state, std::string_view new_state,
                                                       std::string_view old_master_label) {
  return compare_mariadb_gtid_states({old_state, new_state, {}, old_master_label});
}

Result<DivergenceReport> compare_mariadb_binlog_states(std::string_view old_state,
                                                       std::string_view new_state) {
  return compare_mariadb_binlog_states(old_state, new_state, "the old master");
}

// ---------------------------------------------------------------- MySQL

namespace {

constexpr std::uint64_t kMaxGno = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_pos ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

// MySQL 8.3 GTID tag: [a-z_][a-z0-9_]{0,31}, case-insensitive.
bool is_tag(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || is_digit(c); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = to_lower(c);
  return out;
}

void normalize(std::vector<std::pair<std::uint64_t, std::uint64_t>>& v) {
  std::sort(v.begin(), v.end());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  out.reserve(v.size());
  for (const auto& iv : v) {
    // Adjacent intervals merge too: [1,5] and [6,9] are [1,9] (b < kMaxGno, so b + 1 cannot overflow).
    if (!out.empty() && iv.first <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, iv.second);
    } else {
      out.push_back(iv);
    }
  }
  v = std::move(out);
}

}  // namespace

std::string MysqlGtidSet::to_string() const {
  std::string s;
  for (const auto& [key, ivs] : intervals) {
    if (!s.empty()) s += ",";
    s += key;
    for (const auto& [a, b] : ivs) {
      s += ":" + std::to_string(a);
      if (b != a) s += "-" + std::to_string(b);
    }
  }
  return s;
}

Result<MysqlGtidSet> parse_mysql_gtid_set(std::string_view text) {
  MysqlGtidSet set;
  Status st = for_each_element(text, "MySQL GTID set", [&](std::string_view el) -> Status {
    std::size_t colon = el.find(':');
    std::string_view uuid = el.substr(0, colon);
    if (!is_uuid(uuid))
      return Error::invalid("bad MySQL GTID set element " + quote(el) + ": " + quote(uuid) +
                            " is not a server uuid (8-4-4-4-12 hex digits)");
    if (colon == std::string_view::npos)
      return Error::invalid("bad MySQL GTID set element " + quote(el) +
                            ": no transaction interval after the uuid");
    std::string key = lower(uuid);
    std::vector<std::pair<std::uint64_t, std::uint64_t>>* target = nullptr;
    std::string_view rest = el.substr(colon + 1);
    while (true) {
      std::size_t next = rest.find(':');
      std::string_view part = rest.substr(0, next);
      if (part.empty()) return Error::invalid("bad MySQL GTID set element " + quote(el) + ": empty interval");
      if (is_tag(part)) {
        key = lower(uuid) + ":" + lower(part);
        target = nullptr;
      } else {
        std::size_t dash = part.find('-');
        std::string_view fa = part.substr(0, dash);
        std::string_view fb = dash == std::string_view::npos ? fa : part.substr(dash + 1);
        std::uint64_t a = 0, b = 0;
        if (!all_digits(fa) || !all_digits(fb))
          return Error::invalid("bad MySQL GTID set element " + quote(el) + ": bad interval " + quote(part) +
                                " (expected N or N-M)");
        if (!parse_uint(fa, kMaxGno, a) || !parse_uint(fb, kMaxGno, b))
          return Error::invalid("bad MySQL GTID set element " + quote(el) + ": interval " + quote(part) +
                                " exceeds 2^63-1");
        if (a == 0 || b < a)
          return Error::invalid("bad MySQL GTID set element " + quote(el) + ": interval " + quote(part) +
                                " must satisfy 1 <= start <= end");
        if (!target) target = &set.intervals[key];
        target->emplace_back(a, b);
      }
      if (next == std::string_view::npos) break;
      rest.remove_prefix(next + 1);
    }
    if (!target)
      return Error::invalid("bad MySQL GTID set element " + quote(el) + ": a tag without any interval");
    return {};
  });
  if (!st) return std::move(st).error();
  for (auto& [key, ivs] : set.intervals)
    normalize(ivs);
  return set;
}

MysqlGtidSet mysql_gtid_subtract(const MysqlGtidSet& a, const MysqlGtidSet& b) {
  MysqlGtidSet out;
  for (const auto& [key, aivs] : a.intervals) {
    auto it = b.intervals.find(key);
    if (it == b.intervals.end()) {
      out.intervals[key] = aivs;
      continue;
    }
    const auto& bivs = it->second;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> rem;
    std::size_t j = 0;
    for (auto [lo, hi] : aivs) {
      // Both lists are sorted and disjoint: skip b intervals that end before lo, then carve.
      while (j < bivs.size() && bivs[j].second < lo)
        ++j;
      std::size_t k = j;
      std::uint64_t cur = lo;
      bool done = false;
      while (k < bivs.size() && bivs[k].first <= hi) {
        if (bivs[k].first > cur) rem.emplace_back(cur, bivs[k].first - 1);
        if (bivs[k].second >= hi) {
          done = true;
          break;
        }
        cur = std::max(cur, bivs[k].second + 1);
        ++k;
      }
      if (!done && cur <= hi) rem.emplace_back(cur, hi);
    }
    if (!rem.empty()) out.intervals[key] = std::move(rem);
  }
  return out;
}

bool mysql_gtid_subset(const MysqlGtidSet& a, const MysqlGtidSet& b) {
  return mysql_gtid_subtract(a, b).empty();
}

Result<DivergenceReport> compare_mysql_gtid_executed(std::string_view old_set, std::string_view new_set,
                                                     std::string_view old_master_label) {
  auto o = parse_mysql_gtid_set(old_set);
  if (!o) {
    Error e = std::move(o).error();
    e.message = "old master's gtid_executed: " + e.message;
    return e;
  }
  auto n = parse_mysql_gtid_set(new_set);
  if (!n) {
    Error e = std::move(n).error();
    e.message = "new master's gtid_executed: " + e.message;
    return e;
  }
  MysqlGtidSet diff = mysql_gtid_subtract(*o, *n);
  DivergenceReport r;
  for (const auto& [key, ivs] : diff.intervals) {
    for (const auto& [a, b] : ivs) {
      ExtraTransactions x;
      x.origin = key;
      x.first = a;
      x.last = b;
      r.extra_count = saturating_add(r.extra_count, x.size());
      r.extra.push_back(std::move(x));
    }
  }
  r.diverged = !r.extra.empty();
  r.sentence = sentence_for(r, old_master_label, /*exact_count=*/true, o->intervals.size());
  return r;
}

Result<DivergenceReport> compare_mysql_gtid_executed(std::string_view old_set, std::string_view new_set) {
  return compare_mysql_gtid_executed(old_set, new_set, "the old master");
}

}  // namespace mhafb

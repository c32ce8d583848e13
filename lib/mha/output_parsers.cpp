// Parsers for MHA 0.58's output. The strings matched here are the ones MHA's Perl source prints
// (MHA::MasterFailover, ServerManager, MasterRotate, MasterMonitor, SSHCheck, ManagerAdmin,
// FileStatus); the tests run them over text captured from the real tools. Every function walks the
// text line by line once, matching fixed substrings, so garbage or huge input costs linear time and
// never throws or crashes.
#include "mha/output_parsers.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace mhafb {

namespace {

constexpr std::size_t kMaxKeptLine = 1000;  // bound on any text copied out of the input
constexpr std::size_t kMaxWarnings = 50;

enum class Level { None, Debug, Info, Warning, Error };

// One line of tool output: `msg` is the text after MHA's "<localtime> - [level]" prefix (the whole
// line when there is none, e.g. the body of the failover report or a node tool's own output).
struct Line {
  std::string_view msg;
  Level level = Level::None;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
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

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool contains(std::string_view s, std::string_view p) {
  return s.find(p) != std::string_view::npos;
}

bool iequals_at(std::string_view s, std::size_t at, std::string_view word) {
  if (at + word.size() > s.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (to_lower(s[at + i]) != word[i]) return false;
  return true;
}

// "Sun Nov 24 03:51:00 2024 - " (Perl's scalar(localtime), MHA::ManagerConst::add_timestamp).
std::string_view strip_timestamp(std::string_view s) {
  if (s.size() < 27) return s;
  auto d = [&](std::size_t i) { return is_digit(s[i]); };
  bool ok = is_alpha(s[0]) && is_alpha(s[1]) && is_alpha(s[2]) && s[3] == ' ' && is_alpha(s[4]) &&
            is_alpha(s[5]) && is_alpha(s[6]) && s[7] == ' ' && (s[8] == ' ' || d(8)) && d(9) &&
            s[10] == ' ' && d(11) && d(12) && s[13] == ':' && d(14) && d(15) && s[16] == ':' && d(17) &&
            d(18) && s[19] == ' ' && d(20) && d(21) && d(22) && d(23) && s.substr(24, 3) == " - ";
  return ok ? s.substr(27) : s;
}

// "[info] msg", "[error][/usr/share/perl5/MHA/X.pm, ln12] msg" (MHA::ManagerConst::log_fmt).
Line classify(std::string_view raw) {
  Line line{raw, Level::None};
  std::string_view s = strip_timestamp(raw);
  if (s.empty() || s.front() != '[') return line;
  std::size_t close = s.find(']');
  if (close > 12) return line;  // also when there is no ']' (npos)
  std::string_view word = s.substr(1, close - 1);
  Level level;
  if (word == "info" || word == "notice")
    level = Level::Info;
  else if (word == "warning")
    level = Level::Warning;
  else if (word == "error" || word == "critical" || word == "alert" || word == "emergency")
    level = Level::Error;
  else if (word == "debug")
    level = Level::Debug;
  else
    return line;
  s.remove_prefix(close + 1);
  if (!s.empty() && s.front() == '[') {  // "[script, lnN]" after the error level
    std::size_t end = s.find(']');
    if (end < 400 && contains(s.substr(0, end), ", ln"))  // end < 400 also excludes npos
      s.remove_prefix(end + 1);
  }
  if (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  line.msg = s;
  line.level = level;
  return line;
}

// Calls f(Line) for each line; "\r\n" endings are accepted.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view raw = text.substr(start, end - start);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    f(classify(raw));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
}

// Length of the valid UTF-8 sequence starting at s[i], 0 when the bytes there are not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = (c >= 0xc2 && c <= 0xdf)   ? 2
                  : (c >= 0xe0 && c <= 0xef) ? 3
                  : (c >= 0xf0 && c <= 0xf4) ? 4
                                             : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  // Overlong forms, UTF-16 surrogates and code points beyond U+10FFFF.
  if ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) > 0x9f) || (c == 0xf0 && b(i + 1) < 0x90) ||
      (c == 0xf4 && b(i + 1) > 0x8f))
    return 0;
  return n;
}

// Text fit to leave the parser: bounded, valid UTF-8 (D-Bus rejects anything else), control
// bytes replaced, passwords masked.
std::string keep(std::string_view s) {
  s = trim(s);
  std::string_view head = s.substr(0, kMaxKeptLine);
  std::string clean;
  clean.reserve(head.size());
  for (std::size_t i = 0; i < head.size();) {
    std::size_t n = utf8_sequence(head, i);
    if (n == 0) {
      clean += '?';
      ++i;
    } else if (n == 1) {
      char c = head[i++];
      clean += (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f ? '?' : c;
    } else {
      clean.append(head.substr(i, n));
      i += n;
    }
  }
  std::string out = redact_mha_secrets(clean);
  if (s.size() > kMaxKeptLine) out += "...";
  return out;
}

// Drops Perl's " at /usr/share/perl5/MHA/X.pm line 123." that die/croak append.
std::string_view strip_perl_location(std::string_view s) {
  s = trim(s);
  if (!ends_with(s, ".")) return s;
  std::size_t at = starts_with(s, "at ") ? 0 : s.rfind(" at ");
  if (at == std::string_view::npos) return s;
  std::size_t path_at = at == 0 ? 3 : at + 4;
  std::string_view tail = s.substr(path_at, s.size() - path_at - 1);  // "<path> line <n>"
  std::size_t ln = tail.rfind(" line ");
  if (ln == std::string_view::npos) return s;
  std::string_view num = tail.substr(ln + 6);
  if (num.empty() || !std::all_of(num.begin(), num.end(), is_digit)) return s;
  return trim(s.substr(0, at));
}

// Wrappers MHA puts around the real error; what follows them (croak's message) may be telling.
constexpr std::array<std::string_view, 6> kGenericErrors{
    "Got ERROR:",
    "Got Error so couldn't continue failover from here.",
    "Error happened on checking configurations.",
    "Error happened on monitoring servers.",
    "Error happened on health checking.",
    "Got ERROR on final reporting:",
};

// The meaningful part of an error message, empty when it is a bare wrapper.
std::string_view error_payload(std::string_view msg) {
  msg = trim(msg);
  for (std::string_view g : kGenericErrors) {
    if (starts_with(msg, g)) {
      std::string_view rest = trim(msg.substr(g.size()));
      return strip_perl_location(rest).empty() ? std::string_view{} : rest;
    }
  }
  if (strip_perl_location(msg).empty()) return {};
  return msg;
}

bool is_known_bug_line(std::string_view msg) {
  return contains(msg, "Redundant argument in sprintf") ||
         (contains(msg, "Unknown system variable") && contains(msg, "super_read_only"));
}

// Picks the first error a human should read: a known upstream bug's message first, else the first
// error-level line with content (unwrapping MHA's generic wrappers).
class ErrorPicker {
 public:
  void see(const Line& l) {
    if (bug_.empty() && is_known_bug_line(l.msg)) {
      std::string_view p = error_payload(l.msg);
      if (p.empty()) p = l.msg;
      // The node tool prints the DBI error right after its own progress text on the same line.
      if (std::size_t dbd = p.find("DBD::"); dbd != std::string_view::npos) p = p.substr(dbd);
      bug_ = keep(p);
    }
    if (l.level != Level::Error || !first_.empty()) return;
    std::string_view p = error_payload(l.msg);
    if (!p.empty()) first_ = keep(p);
  }
  std::string best() const { return !bug_.empty() ? bug_ : first_; }

 private:
  std::string bug_;
  std::string first_;
};

struct HostInfo {
  std::string host;
  std::string ip;
  int port = 0;
};

bool parse_port(std::string_view s, int& out) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v > 65535) return false;
  out = v;
  return true;
}

// "host(ip:port)" as MHA::Server::get_hostinfo prints it; the ip may itself contain ':' (IPv6).
std::optional<HostInfo> parse_hostinfo(std::string_view s) {
  s = trim(s);
  std::size_t open = s.find('(');
  if (open == 0 || open == std::string_view::npos) return std::nullopt;
  std::size_t close = s.find(')', open);
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view inner = s.substr(open + 1, close - open - 1);
  std::size_t colon = inner.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  HostInfo h;
  if (!parse_port(inner.substr(colon + 1), h.port)) return std::nullopt;
  std::string_view host = s.substr(0, open);
  if (contains(host, " ")) return std::nullopt;
  h.host = keep(host);
  h.ip = keep(inner.substr(0, colon));
  return h;
}

// Text between `prefix` and `suffix` on this line, if both are there.
std::optional<std::string_view> between(std::string_view msg, std::string_view prefix,
                                        std::string_view suffix) {
  std::size_t a = msg.find(prefix);
  if (a == std::string_view::npos) return std::nullopt;
  std::string_view rest = msg.substr(a + prefix.size());
  std::size_t b = rest.find(suffix);
  if (b == std::string_view::npos) return std::nullopt;
  return rest.substr(0, b);
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  s = trim(s);
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "F:P" at the start of `s` (a binlog file name has no ':').
std::optional<BinlogPosition> parse_file_pos(std::string_view s) {
  s = trim(s);
  std::size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view file = s.substr(0, colon);
  if (contains(file, " ") || contains(file, ":")) return std::nullopt;
  BinlogPosition p;
  if (!parse_u64(s.substr(colon + 1), p.pos)) return std::nullopt;
  p.file = keep(file);
  return p;
}

// "CHANGE MASTER TO MASTER_HOST='h', MASTER_PORT=3306, MASTER_LOG_FILE='f', MASTER_LOG_POS=4, ..."
// Only host, port, file, position and auto-position are kept; user and password never are.
std::optional<PromotionCoordinates> parse_change_master(std::string_view msg) {
  std::size_t at = msg.find("CHANGE MASTER TO");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view s = msg.substr(at + 16);
  PromotionCoordinates pc;
  bool have_host = false, have_file = false, have_pos = false;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (is_space(s[i]) || s[i] == ','))
      ++i;
    if (i >= s.size() || s[i] == ';') break;
    std::size_t k = i;
    while (i < s.size() && (is_alpha(s[i]) || s[i] == '_'))
      ++i;
    std::string_view key = s.substr(k, i - k);
    while (i < s.size() && s[i] == ' ')
      ++i;
    if (key.empty() || i >= s.size() || s[i] != '=') break;
    ++i;
    while (i < s.size() && s[i] == ' ')
      ++i;
    std::string_view value;
    if (i < s.size() && s[i] == '\'') {
      std::size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) break;
      value = s.substr(i + 1, end - i - 1);
      i = end + 1;
    } else {
      std::size_t v = i;
      while (i < s.size() && s[i] != ',' && s[i] != ';' && !is_space(s[i]))
        ++i;
      value = s.substr(v, i - v);
    }
    std::string upper(key);
    for (char& c : upper)
      c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    if (upper == "MASTER_HOST") {
      std::size_t orp = value.find(" or ");
      pc.host = keep(value.substr(0, orp));
      if (orp != std::string_view::npos) pc.ip = keep(value.substr(orp + 4));
      have_host = !pc.host.empty();
    } else if (upper == "MASTER_PORT") {
      if (!parse_port(value, pc.port)) return std::nullopt;
    } else if (upper == "MASTER_LOG_FILE") {
      pc.position.file = keep(value);
      have_file = !pc.position.file.empty();
    } else if (upper == "MASTER_LOG_POS") {
      if (!parse_u64(value, pc.position.pos)) return std::nullopt;
      have_pos = true;
    } else if (upper == "MASTER_AUTO_POSITION") {
      pc.auto_position = trim(value) == "1";
    }
  }
  if (!have_host) return std::nullopt;
  if (!pc.auto_position && !(have_file && have_pos)) return std::nullopt;
  return pc;
}

void add_warning(std::vector<std::string>& w, std::string_view msg) {
  if (w.size() >= kMaxWarnings) return;
  std::string k = keep(msg);
  if (k.empty() || std::find(w.begin(), w.end(), k) != w.end()) return;
  w.push_back(std::move(k));
}

bool is_failover_start(std::string_view msg) {
  return starts_with(msg, "MHA::MasterFailover version") || trim(msg) == "Starting master failover.";
}

}  // namespace

// ---------------------------------------------------------------- secrets

std::string redact_mha_secrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto key_is_secret = [](std::string_view key) {
    std::string k;
    for (char c : key.substr(key.size() > 16 ? key.size() - 16 : 0))
      k += to_lower(c);
    return ends_with(k, "pass") || ends_with(k, "password") || ends_with(k, "passwd") || ends_with(k, "pwd");
  };
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    bool secret_follows = false;
    std::size_t value_at = 0;
    if (c == '=') {
      std::size_t end_key = i;
      while (end_key > 0 && text[end_key - 1] == ' ')
        --end_key;  // "master_password = '...'"
      std::size_t k = end_key;
      while (k > 0 && (is_alpha(text[k - 1]) || is_digit(text[k - 1]) || text[k - 1] == '_'))
        --k;
      secret_follows = k < end_key && key_is_secret(text.substr(k, end_key - k));
      value_at = i + 1;
      while (secret_follows && value_at < text.size() && text[value_at] == ' ')
        ++value_at;
    } else if ((c == 'I' || c == 'i') && iequals_at(text, i, "identified by ")) {
      out.append(text.substr(i, 14));
      i += 14;
      if (i < text.size() && (text[i] == '\'' || text[i] == '"')) {
        secret_follows = true;
        value_at = i;
        c = '\0';
      } else {
        continue;
      }
    }
    if (!secret_follows) {
      out += c;
      ++i;
      continue;
    }
    if (c == '=') out.append(text.substr(i, value_at - i));
    std::size_t end;
    if (value_at < text.size() && (text[value_at] == '\'' || text[value_at] == '"')) {
      char q = text[value_at];
      std::size_t close = text.find(q, value_at + 1);
      end = close == std::string_view::npos ? text.size() : close + 1;
      out += q;
      out += "xxx";
      if (close != std::string_view::npos) out += q;
    } else {
      end = value_at;
      while (end < text.size() && !is_space(text[end]) && text[end] != ',' && text[end] != ';' &&
             text[end] != ')')
        ++end;
      if (end > value_at) out += "xxx";
    }
    i = end;
  }
  return out;
}

// ---------------------------------------------------------------- failover report

FailoverReport parse_failover_report(std::string_view log_text) {
  // The last failover in the text begins at its last start line; facts before it belong to
  // earlier failovers (a manager log keeps them all).
  std::size_t start = 0;
  bool found_start = false;
  for_each_line(log_text, [&](const Line& l) {
    if (is_failover_start(l.msg)) {
      start = static_cast<std::size_t>(l.msg.data() - log_text.data());
      found_start = true;
    }
  });
  if (found_start) {
    std::size_t nl = log_text.rfind('\n', start);
    start = nl == std::string_view::npos ? 0 : nl + 1;
  }
  std::string_view seg = log_text.substr(start);

  FailoverReport r;
  r.started = found_start;
  std::optional<HostInfo> down, dead_listed, unreachable, new_master;
  bool in_dead_list = false, want_binlog_pos = false;
  std::optional<BinlogPosition> new_master_pos;
  bool got_error = false;
  std::string error_payload_text, last_error_before_fatal, outcome_line;
  ErrorPicker picker;

  for_each_line(seg, [&](const Line& l) {
    std::string_view m = l.msg;
    std::string_view t = trim(m);
    picker.see(l);

    if (in_dead_list) {
      if (l.level != Level::None && starts_with(m, "  ") && !dead_listed) {
        dead_listed = parse_hostinfo(m);
      } else if (l.level != Level::None && !starts_with(m, "  ")) {
        in_dead_list = false;
      }
    }
    if (t == "Dead Servers:") in_dead_list = true;

    if (auto x = between(m, "Master failover to ", " completed successfully.")) {
      r.outcome = FailoverOutcome::Success;
      outcome_line = keep(t);
      if (!new_master) new_master = parse_hostinfo(*x);
    } else if (auto y = between(m, "Master failover to ", " done, but recovery on slave partially failed.")) {
      if (r.outcome != FailoverOutcome::Success) r.outcome = FailoverOutcome::Partial;
      outcome_line = keep(t);
      if (!new_master) new_master = parse_hostinfo(*y);
      add_warning(r.warnings, t);
    }

    if (starts_with(t, "New master is ")) {
      if (auto hi = parse_hostinfo(t.substr(14))) new_master = hi;
    } else if (starts_with(t, "New master decided manually is ")) {
      if (auto hi = parse_hostinfo(t.substr(31))) new_master = hi;
    } else if (auto s = between(m, "Selected ", " as a new master.")) {
      if (!new_master) new_master = parse_hostinfo(*s);
    }

    if (auto d = between(m, "Master ", " is down!")) {
      if (auto hi = parse_hostinfo(*d)) down = hi;
    } else if (auto u = between(m, "Master ", " is not reachable!")) {
      if (auto hi = parse_hostinfo(*u)) unreachable = hi;
    }

    if (contains(m, "Statement should be: CHANGE MASTER TO")) {
      if (auto pc = parse_change_master(m)) r.promotion = pc;
    }
    if (contains(m, "Getting new master's binlog name and position..")) {
      want_binlog_pos = true;
    } else if (want_binlog_pos && l.level != Level::None) {
      want_binlog_pos = false;
      if (auto p = parse_file_pos(t)) new_master_pos = p;
    }

    constexpr std::string_view kLatest = "The latest binary log file/position on all slaves is ";
    if (std::size_t a = m.find(kLatest); a != std::string_view::npos) {
      if (auto p = parse_file_pos(m.substr(a + kLatest.size()))) r.latest_replica_position = p;
    }

    if (contains(m, "Dead Master is not SSH reachable")) {
      r.dead_master_ssh_reachable = false;
      add_warning(r.warnings, t);
    } else if (contains(m, "Guessing that SSH is NOT reachable")) {
      r.dead_master_ssh_reachable = false;
    }
    if (contains(m, "were lost") || contains(m, "Failed to save binary log events") ||
        contains(m, ": ERROR: ") || contains(m, ": WARN: ") ||
        contains(m, "None of the latest slaves has enough relay logs") ||
        (starts_with(t, "-- Recovery on host ") && contains(t, " failed")) ||
        (starts_with(t, "-- Slave diff log generation on host ") && contains(t, " failed")) ||
        (starts_with(t, "scp from ") && ends_with(t, "failed!"))) {
      add_warning(r.warnings, t);
    }

    if (l.level == Level::Error || starts_with(t, "Got ERROR:")) {
      if (starts_with(t, "Got ERROR:") && !starts_with(t, "Got ERROR on final reporting")) {
        if (!got_error) error_payload_text = keep(error_payload(t));
        got_error = true;
      } else if (!got_error) {
        std::string_view p = error_payload(t);
        if (!p.empty()) last_error_before_fatal = keep(p);
      }
    }
    if (t == "Got Error so couldn't continue failover from here.") got_error = true;
  });

  if (down) {
    r.dead_master_host = down->host;
    r.dead_master_port = down->port;
  } else if (dead_listed) {
    r.dead_master_host = dead_listed->host;
    r.dead_master_port = dead_listed->port;
  } else if (unreachable) {
    r.dead_master_host = unreachable->host;
    r.dead_master_port = unreachable->port;
  }
  if (new_master) {
    r.new_master_host = new_master->host;
    r.new_master_ip = new_master->ip;
    r.new_master_port = new_master->port;
  }
  if (r.promotion && r.promotion->position.empty() && new_master_pos) r.promotion->position = *new_master_pos;

  if (r.outcome == FailoverOutcome::Success || r.outcome == FailoverOutcome::Partial) {
    r.summary = outcome_line;
  } else if (got_error) {
    r.outcome = FailoverOutcome::Failed;
    std::string bug = picker.best();
    if (!bug.empty() && is_known_bug_line(bug))
      r.summary = bug;
    else if (!error_payload_text.empty())
      r.summary = keep(error_payload_text);
    else if (!last_error_before_fatal.empty())
      r.summary = last_error_before_fatal;
    else
      r.summary = "the failover stopped with an error (Got ERROR) and no further explanation";
    add_warning(r.warnings, r.summary);
  } else if (r.started) {
    r.summary = "a failover started but the log shows no outcome yet";
  }
  return r;
}

// ---------------------------------------------------------------- masterha_check_ssh

SshCheckResult parse_check_ssh(std::string_view output) {
  SshCheckResult r;
  bool passed = false, failed = false;
  std::string first_failed_connection, last_raw;
  ErrorPicker picker;
  for_each_line(output, [&](const Line& l) {
    std::string_view t = trim(l.msg);
    picker.see(l);
    if (contains(t, "All SSH connection tests passed successfully.")) passed = true;
    if (contains(t, "SSH Configuration Check Failed!")) failed = true;
    if (starts_with(t, "SSH connection from ") && ends_with(t, "failed!") &&
        first_failed_connection.empty()) {
      first_failed_connection = keep(t);
      // ssh's own complaint ("Permission denied (publickey).") is the raw line just before.
      if (!last_raw.empty()) first_failed_connection += " (" + last_raw + ")";
    }
    if (l.level == Level::None && !t.empty())
      last_raw = keep(t);
    else if (l.level != Level::None)
      last_raw.clear();
  });
  r.ok = passed && !failed;
  if (r.ok) {
    r.summary = "All SSH connection tests passed successfully.";
  } else if (!first_failed_connection.empty()) {
    r.summary = first_failed_connection;
  } else if (std::string e = picker.best(); !e.empty()) {
    r.summary = e;
  } else if (failed) {
    r.summary = "SSH Configuration Check Failed!";
  } else {
    r.summary =
        "masterha_check_ssh printed no verdict (neither 'All SSH connection tests passed successfully.' nor "
        "'SSH Configuration Check Failed!')";
  }
  return r;
}

// ---------------------------------------------------------------- masterha_check_repl

ReplCheckResult parse_check_repl(std::string_view output, int exit_code) {
  ReplCheckResult r;
  bool ok_line = false, not_ok_line = false;
  ErrorPicker picker;
  for_each_line(output, [&](const Line& l) {
    std::string_view t = trim(l.msg);
    picker.see(l);
    if (t == "MySQL Replication Health is OK.") ok_line = true;
    if (t == "MySQL Replication Health is NOT OK!") not_ok_line = true;
  });
  r.ok = exit_code == 0 && ok_line && !not_ok_line;
  if (r.ok) {
    r.summary = "MySQL Replication Health is OK.";
    return r;
  }
  std::string e = picker.best();
  if (!e.empty()) {
    r.summary = e;
  } else if (not_ok_line) {
    r.summary = "MySQL Replication Health is NOT OK!";
  } else if (ok_line) {
    r.summary = "masterha_check_repl printed 'MySQL Replication Health is OK.' but exited " +
                std::to_string(exit_code);
  } else {
    r.summary = "masterha_check_repl exited " + std::to_string(exit_code) +
                " without a verdict (no 'MySQL Replication Health is OK.')";
  }
  return r;
}

// ---------------------------------------------------------------- masterha_master_switch (alive)

SwitchResult parse_master_switch(std::string_view output, int exit_code) {
  SwitchResult r;
  bool success = false, partial = false, check_only = false;
  std::string outcome_line;
  ErrorPicker picker;
  for_each_line(output, [&](const Line& l) {
    std::string_view t = trim(l.msg);
    picker.see(l);
    if (between(t, "Switching master to ", " completed successfully.")) {
      success = true;
      outcome_line = keep(t);
    } else if (between(t, "Switching master to ", " done, but switching slaves partially failed.")) {
      partial = true;
      outcome_line = keep(t);
    }
    if (t == "--check_only is set. Exit.") check_only = true;
    if (starts_with(t, "* Phase 2: Rejecting updates Phase") ||
        starts_with(t, "Executing master ip online change script to disable write") ||
        starts_with(t, "Locking all tables on the orig master") ||
        t == "Executing FLUSH TABLES WITH READ LOCK..")
      r.writes_were_blocked = true;
  });
  std::string err = picker.best();
  if (exit_code == 0 && success && !partial) {
    r.outcome = SwitchOutcome::Success;
    r.summary = outcome_line;
  } else if (exit_code == 0 && check_only && !r.writes_were_blocked && !partial) {
    r.outcome = SwitchOutcome::Success;
    r.check_only = true;
    r.summary = "--check_only: phase 1 (configuration check) passed; nothing was switched";
  } else if (exit_code == 10 && partial) {
    r.outcome = SwitchOutcome::Partial;
    r.summary = outcome_line;
  } else {
    r.outcome = SwitchOutcome::Failed;
    if (!err.empty())
      r.summary = err;
    else if (success || partial)
      r.summary =
          "masterha_master_switch printed '" + outcome_line + "' but exited " + std::to_string(exit_code);
    else
      r.summary = "masterha_master_switch exited " + std::to_string(exit_code) + " without a success line";
  }
  return r;
}

// ---------------------------------------------------------------- health file and check_status

namespace {

struct StatusName {
  int code;
  std::string_view name;
};
constexpr std::array<StatusName, 11> kStatuses{{
    {0, "PING_OK"},
    {2, "NOT_RUNNING"},
    {3, "PARTIALLY_RUNNING"},
    {10, "INITIALIZING_MONITOR"},
    {20, "PING_FAILING"},
    {21, "PING_FAILED"},
    {30, "RETRYING_MONITOR"},
    {31, "CONFIG_ERROR"},
    {32, "TIMESTAMP_OLD"},
    {50, "FAILOVER_RUNNING"},
    {51, "FAILOVER_ERROR"},
}};

std::string_view status_name(int code) {
  for (const auto& s : kStatuses)
    if (s.code == code) return s.name;
  return {};
}

bool is_status_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; });
}

std::string quote(std::string_view s) {
  std::string k = keep(s.substr(0, 60));
  return "'" + k + (s.size() > 60 ? "...'" : "'");
}

}  // namespace

Result<ManagerHealth> parse_health_file(std::string_view content) {
  // MHA::FileStatus::update_status writes "$$\t$status" and "\tmaster:$host" without a newline.
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r' || content.back() == ' '))
    content.remove_suffix(1);
  if (content.empty()) return Error::invalid("the MHA health file is empty");
  std::array<std::string_view, 3> f;
  std::size_t n = 0, start = 0;
  while (true) {
    std::size_t tab = content.find('\t', start);
    if (n == f.size()) return Error::invalid("the MHA health file has more than three tab-separated fields");
    f[n++] = content.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  ManagerHealth h;
  std::uint64_t pid = 0;
  if (!parse_u64(f[0], pid) || f[0] != trim(f[0]) || pid == 0 ||
      pid > static_cast<std::uint64_t>(std::numeric_limits<long>::max()))
    return Error::invalid("the MHA health file starts with " + quote(f[0]) + ", not a process id");
  h.pid = static_cast<long>(pid);
  if (n < 2) return Error::invalid("the MHA health file has no status after the process id");
  std::size_t colon = f[1].find(':');
  int code = 0;
  std::string_view cs = colon == std::string_view::npos ? f[1] : f[1].substr(0, colon);
  if (colon == std::string_view::npos || cs.empty() || cs.size() > 3 ||
      !std::all_of(cs.begin(), cs.end(), is_digit) || !is_status_name(f[1].substr(colon + 1)))
    return Error::invalid("bad status " + quote(f[1]) +
                          " in the MHA health file (expected CODE:NAME, e.g. 0:PING_OK)");
  std::from_chars(cs.data(), cs.data() + cs.size(), code);
  std::string_view name = f[1].substr(colon + 1);
  if (std::string_view known = status_name(code); !known.empty() && known != name)
    return Error::invalid("status " + quote(f[1]) + " in the MHA health file: code " + std::to_string(code) +
                          " is " + std::string(known));
  h.code = code;
  h.name = std::string(name);
  if (n == 3) {
    if (!starts_with(f[2], "master:") || trim(f[2].substr(7)).empty())
      return Error::invalid("bad third field " + quote(f[2]) +
                            " in the MHA health file (expected master:<host>)");
    h.master = keep(f[2].substr(7));
  }
  return h;
}

ManagerStatus parse_check_status(std::string_view output, int exit_code) {
  ManagerStatus s;
  s.code = exit_code;
  std::string first_line, status_line;
  std::optional<int> text_code;
  bool running_line = false;
  for_each_line(output, [&](const Line& l) {
    std::string_view t = trim(l.msg);
    if (first_line.empty() && !t.empty()) first_line = keep(t);
    bool had_code = text_code.has_value();
    // "(N:NAME)" anywhere, e.g. "mha (pid:123) is running(0:PING_OK), master:h".
    if (!text_code) {
      std::size_t from = 0;
      while (true) {
        std::size_t open = t.find('(', from);
        if (open == std::string_view::npos) break;
        // "(N:NAME)" is short: looking further than kMaxTuple would make a line of '(' quadratic.
        constexpr std::size_t kMaxTuple = 72;
        std::size_t close = t.substr(0, open + kMaxTuple).find(')', open);
        if (close == std::string_view::npos) {
          from = open + 1;
          continue;
        }
        std::string_view in = t.substr(open + 1, close - open - 1);
        std::size_t colon = in.find(':');
        int c = 0;
        if (colon != std::string_view::npos && colon > 0 && colon <= 3 &&
            std::all_of(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(colon), is_digit) &&
            is_status_name(in.substr(colon + 1))) {
          std::from_chars(in.data(), in.data() + colon, c);
          text_code = c;
          s.name = std::string(in.substr(colon + 1));
          break;
        }
        from = open + 1;
      }
    }
    if (!had_code && text_code) status_line = keep(t);
    if (contains(t, " is running(0:PING_OK)")) running_line = true;
    if (s.master.empty()) {
      std::size_t m = t.find("master:");
      if (m != std::string_view::npos) {
        std::string_view host = t.substr(m + 7);
        std::size_t end = 0;
        while (end < host.size() && !is_space(host[end]) && host[end] != ',')
          ++end;
        s.master = keep(host.substr(0, end));
      }
    }
  });
  if (s.name.empty()) s.name = std::string(status_name(exit_code));
  s.running_ok = exit_code == 0 && running_line && text_code == 0 && s.name == "PING_OK";
  if (text_code && *text_code != exit_code) {
    s.summary = "masterha_check_status printed status " + std::to_string(*text_code) + ":" + s.name +
                " but exited " + std::to_string(exit_code);
    s.running_ok = false;
  } else if (!status_line.empty()) {
    s.summary = status_line;
  } else if (!first_line.empty()) {
    s.summary = first_line;
  } else {
    s.summary = "masterha_check_status printed nothing and exited " + std::to_string(exit_code);
  }
  return s;
}

// ---------------------------------------------------------------- known upstream bugs

std::string explain_known_mha_bugs(std::string_view output) {
  bool sprintf_bug = false, super_ro_bug = false;
  for_each_line(output, [&](const Line& l) {
    if (contains(l.msg, "Redundant argument in sprintf")) sprintf_bug = true;
    if (contains(l.msg, "Unknown system variable") && contains(l.msg, "super_read_only")) super_ro_bug = true;
  });
  std::string out;
  if (sprintf_bug) {
    out +=
        "MHA::NodeUtil (mha4mysql-node 0.58, NodeUtil.pm parse_mysql_version/parse_mysql_major_version, "
        "around line 195) died with 'Redundant argument in sprintf': it passes every digit group of the "
        "server's VERSION() (e.g. 10.11.19-MariaDB-0+deb12u1-log) to sprintf under fatal warnings, which "
        "Perl 5.36 on Debian 12 turns into an error with MariaDB's version strings; this is an upstream bug "
        "(mha4mysql-manager #116/#142, mha4mysql-node #35-#38, unmerged), not a configuration problem. Fix: "
        "install a patched copy of MHA/NodeUtil.pm that formats only the first three (major: two) digit "
        "groups in a directory of its own and load it before the packaged one with PERL5LIB, on the MHA "
        "manager host (in the environment of every masterha_* command) and on every database node, where "
        "the node tools run over ssh (sshd_config 'SetEnv PERL5LIB=<dir>'); nothing under /usr needs to "
        "change.";
  }
  if (super_ro_bug) {
    if (!out.empty()) out += "\n";
    out +=
        "MHA::SlaveUtil (mha4mysql-node 0.58, SlaveUtil.pm check_if_super_read_only) died with 'Unknown "
        "system "
        "variable 'super_read_only'': it runs SELECT @@global.super_read_only with RaiseError, and MariaDB "
        "has "
        "no such variable, so apply_diff_relay_logs (used by masterha_check_repl and by failover) fails on "
        "Debian 12 with MariaDB; this is an upstream bug (mha4mysql-node #35-#38, unmerged), not a "
        "configuration problem. Fix: install a patched copy of MHA/SlaveUtil.pm that treats a missing "
        "super_read_only as off, in a directory of its own loaded before the packaged module with PERL5LIB "
        "on "
        "the MHA manager host and on every database node (the node tools run over ssh: sshd_config "
        "'SetEnv PERL5LIB=<dir>'); nothing under /usr needs to change.";
  }
  return out;
}

}  // namespace mhafb

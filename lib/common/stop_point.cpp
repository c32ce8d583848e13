// Crash-test stop points (see the header). Compiled to no-ops without MHAFB_TEST_HOOKS.
#include "common/stop_point.hpp"

#include <unistd.h>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <fstream>

#include <vector>

namespace mhafb {

namespace {

struct StepScope {
  std::string step;
  bool active = false;
  std::map<std::string, int> counts;
};

StepScope& scope() {
  thread_local StepScope s;
  return s;
}

// One write(2) per line: the daemon's other threads write to stderr too.
void say(const std::string& line) {
  std::string out = line + "\n";
  const char* p = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s)
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// MHAFB_TEST_STOP_SKIP: the points a test already killed the daemon at. Read at every point: the
// file changes between runs, and it is a handful of lines.
bool listed_in_skip_file(std::string_view name) {
  const char* path = std::getenv("MHAFB_TEST_STOP_SKIP");
  if (!path || !*path) return false;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line == name) return true;
  return false;
}

}  // namespace

void stop_point(std::string_view name) {
  if constexpr (!kStopPointsBuiltIn) return;
  if (name.empty()) return;
  // Read on every call, never cached: a test process forks children with different values.
  const char* wanted = std::getenv("MHAFB_TEST_STOP_AT");
  if (!wanted || !*wanted) return;
  say("stop-point candidate " + std::string(name));
  if (std::string_view(wanted) == "*" ? listed_in_skip_file(name) : name != wanted) return;
  say("stop-point " + std::string(name) + " reached");
  // raise() fails only for an invalid signal number; SIGSTOP is valid.
  (void)::raise(SIGSTOP);
}

StopPointStep::StopPointStep(std::string_view step, bool active) {
  auto& s = scope();
  saved_step_ = std::move(s.step);
  saved_active_ = s.active;
  saved_counts_ = std::move(s.counts);
  s.step = std::string(step);
  s.active = active;
  s.counts.clear();
}

StopPointStep::~StopPointStep() {
  auto& s = scope();
  s.step = std::move(saved_step_);
  s.active = saved_active_;
  s.counts = std::move(saved_counts_);
}

std::string stop_point_effect(std::string_view kind) {
  if constexpr (!kStopPointsBuiltIn) return {};
  auto& s = scope();
  if (!s.active) return {};
  int n = ++s.counts[std::string(kind)];
  return s.step + ":" + std::string(kind) + (n > 1 ? "#" + std::to_string(n) : "");
}

std::string stop_point_sql_kind(std::string_view statement) {
  // Words: runs of letters, digits, '_' and '@'; the separators between them are dropped.
  std::vector<std::string> words;
  std::string cur;
  for (char c : statement) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '@' || c == '.') {
      cur += c;
    } else {
      if (!cur.empty()) words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  if (words.empty()) return "sql";
  // SET [GLOBAL] var = value: the variable, and the value when it is a plain literal (read_only=1
  // and read_only=0 are different actions).
  if (lower(words[0]) == "set") {
    std::size_t i = 1;
    if (i < words.size() && lower(words[i]) == "global") ++i;
    if (i >= words.size()) return "set";
    std::string out = "set-" + lower(words[i]);
    if (i + 1 < words.size() && words[i + 1].find('@') == std::string::npos && words[i + 1].size() <= 8)
      out += "=" + lower(words[i + 1]);
    return out;
  }
  // Otherwise the leading keywords (upper case in the statement), at most three.
  std::string out;
  for (std::size_t i = 0; i < words.size() && i < 3; ++i) {
    bool keyword = true;
    for (char c : words[i])
      if (!std::isupper(static_cast<unsigned char>(c))) keyword = false;
    if (!keyword) break;
    out += (out.empty() ? "" : "-") + lower(words[i]);
  }
  return out.empty() ? "sql" : out;
}

std::string stop_point_command_kind(std::string_view argv0) {
  auto slash = argv0.rfind('/');
  std::string_view base = slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
  return base.empty() ? "command" : std::string(base);
}

void stop_point_before(const std::string& effect) {
  if (!effect.empty()) stop_point("before:" + effect);
}

void stop_point_after(const std::string& effect) {
  if (!effect.empty()) stop_point("after:" + effect);
}

}  // namespace mhafb

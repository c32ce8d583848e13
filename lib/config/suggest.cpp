// Edit distance (Levenshtein over lower-cased bytes) and quoting for configuration error messages.
#include "config/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace mhafb {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
      size_t subst = prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  // Very long words are not typos of short keys; bounding the size also bounds the work.
  if (word.empty() || word.size() > 64) return {};
  size_t limit = std::max<size_t>(1, word.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  if (!best.empty() || word.size() < 3) return best;
  // One is the other cut short: "max_lag" for "max_lag_seconds", "automatic" for "auto".
  auto starts_with = [](std::string_view a, std::string_view b) {
    return a.size() > b.size() && a.substr(0, b.size()) == b;
  };
  for (const auto& c : candidates)
    if (c.size() >= 3 && (starts_with(c, word) || starts_with(word, c)) &&
        (best.empty() || c.size() < best.size()))
      best = c;
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string m = closest_match(word, candidates);
  return m.empty() ? std::string() : " (did you mean \"" + m + "\"?)";
}

std::string quoted_value(std::string_view s, size_t max) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (n++ == max) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      // Four characters plus the terminator always fit: the result cannot be truncated or fail.
      (void)std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace mhafb

// "Did you mean …?" for misspelled configuration keys and values: a typo in an HA configuration
// must fail loudly, and the error should point at the fix.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mhafb {

// The candidate closest to `word` by edit distance, when close enough to be a plausible typo
// (distance at most max(1, size/3), case-insensitive), else the shortest candidate of which `word`
// is a prefix or that is a prefix of `word`; empty otherwise.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean \"x\"?)" or "" — to append to an error's `found`.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// `s` in double quotes, shortened to `max` bytes, control bytes shown as \xNN.
std::string quoted_value(std::string_view s, size_t max = 80);

}  // namespace mhafb

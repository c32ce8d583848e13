// Helpers shared by the fuzz targets: how a target reports a broken property (abort, so libFuzzer
// saves the input as a crash artifact and the CTest run fails) and the checks several targets make
// on text that leaves a parser (valid UTF-8, bounded, no secret in it).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/cluster_config.hpp"

namespace mhafb::fuzz {

[[noreturn]] inline void fail(std::string_view property, std::string_view detail) {
  std::fprintf(stderr, "\n==fuzz== property broken: %.*s\n==fuzz== %.*s\n", static_cast<int>(property.size()),
               property.data(), static_cast<int>(std::min<std::size_t>(detail.size(), 4000)), detail.data());
  std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits at the first `max_parts - 1` occurrences of `sep`.
inline std::vector<std::string_view> split(std::string_view s, std::string_view sep, std::size_t max_parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_parts) {
    std::size_t at = s.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(s.substr(0, at));
    s.remove_prefix(at + sep.size());
  }
  out.push_back(s);
  return out;
}

// Strict UTF-8: no overlong forms, no surrogates, nothing beyond U+10FFFF (what D-Bus accepts).
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < s.size()) {
    unsigned char c = b(i);
    std::size_t n = c < 0x80                   ? 1
                    : (c >= 0xc2 && c <= 0xdf) ? 2
                    : (c >= 0xe0 && c <= 0xef) ? 3
                    : (c >= 0xf0 && c <= 0xf4) ? 4
                                               : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((b(i + k) & 0xc0) != 0x80) return false;
    if ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) > 0x9f) || (c == 0xf0 && b(i + 1) < 0x90) ||
        (c == 0xf4 && b(i + 1) > 0x8f))
      return false;
    i += n;
  }
  return true;
}

// Text a parser hands on (to the journal, D-Bus, an operator): valid UTF-8 and at most `max_bytes`.
inline void check_text(std::string_view field, const std::string& s, std::size_t max_bytes) {
  if (!valid_utf8(s)) fail(std::string(field) + " is not valid UTF-8", s);
  if (s.size() > max_bytes)
    fail(std::string(field) + " is longer than " + std::to_string(max_bytes) + " bytes",
         std::to_string(s.size()) + " bytes: " + s.substr(0, 200));
}

// A secret the loaders' redaction can be held to: they replace every occurrence of a known secret of
// at least 4 bytes by "<redacted>", so shorter ones, and ones that overlap that marker's own text,
// cannot be checked by a plain search.
inline bool checkable_secret(const std::string& s) {
  return s.size() >= 4 && s.find_first_of("<>") == std::string::npos &&
         std::string_view("<redacted>").find(s) == std::string_view::npos;
}

// No error may carry a secret the loader knew (ConfigError::found is documented as never a secret).
// Errors times secrets: the targets keep inputs small enough (-max_len) for that product.
inline void check_no_secret(const std::vector<ConfigError>& errors, const std::vector<std::string>& secrets) {
  std::set<std::string> checked;
  for (const auto& s : secrets)
    if (checkable_secret(s)) checked.insert(s);
  for (const auto& e : errors)
    for (const std::string* field : {&e.file, &e.key, &e.expected, &e.found})
      for (const auto& s : checked)
        if (field->find(s) != std::string::npos)
          fail("a configuration error contains a password", "secret '" + s + "' in: " + e.to_string());
}

}  // namespace mhafb::fuzz

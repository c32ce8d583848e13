// A reader for the INI dialect of Perl's Config::Tiny 2.28, the parser under MHA 0.58's MHA::Config.
// It reproduces Config::Tiny's rules byte for byte (line splitting, comments, the inline " ; " comment,
// section and key=value trimming, quotes kept verbatim, later duplicates winning, sections re-opened
// and merged, keys before any section in the root section "_") so that the daemon sees exactly what
// the MHA tools see. Unlike Config::Tiny it does not stop at the first syntax error: it reports them all.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mhafb {

struct TinyValue {
  std::string value;  // trimmed, quotes kept verbatim (MHA strips them later, by its own rule)
  int line = 0;       // 1-based line of the assignment that won
};

struct TinySection {
  std::string name;
  int line = 0;                           // the line of its first header (0 for the root section)
  std::map<std::string, TinyValue> keys;  // std::map: byte order, as Perl's `sort keys`
};

struct TinySyntaxError {
  int line = 0;
  std::string description;  // never the line's text: it may hold a password
};

struct TinyDocument {
  // By name; keys before any [section] go to "_" (Config::Tiny's root section).
  std::map<std::string, TinySection> sections;
  std::vector<TinySyntaxError> errors;

  const TinySection* find(const std::string& name) const {
    auto it = sections.find(name);
    return it == sections.end() ? nullptr : &it->second;
  }
};

TinyDocument parse_config_tiny(std::string_view text);

// Perl's \s on a byte string: space, \t, \n, \v, \f, \r.
inline bool perl_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace mhafb

// Config::Tiny 2.28's read_string, rewritten without regular expressions (libstdc++'s std::regex
// recurses per character and overflows the stack on long lines). Each step names the Perl regex it
// reproduces; the backtracking corner cases of those regexes are reproduced too.
#include "config/config_tiny.hpp"

namespace mhafb {
namespace {

// split /(?:\015{1,2}\012|\015|\012)/ — CRLF, CRCRLF, lone CR and LF all end a line. Perl's split
// drops trailing empty fields; that never changes a line number that matters.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0, i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\n') {
      lines.push_back(text.substr(start, i - start));
      start = ++i;
    } else if (c == '\r') {
      size_t end = i;
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        i += 2;
      } else if (i + 2 < text.size() && text[i + 1] == '\r' && text[i + 2] == '\n') {
        i += 3;
      } else {
        i += 1;
      }
      lines.push_back(text.substr(start, end - start));
      start = i;
    } else {
      ++i;
    }
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && perl_space(s[i]))
    ++i;
  return i;
}

// /^\s*(?:\#|\;|$)/
bool is_comment_or_blank(std::string_view line) {
  size_t i = skip_space(line, 0);
  return i == line.size() || line[i] == '#' || line[i] == ';';
}

// s/\s\;\s.+$//g — the leftmost whitespace-semicolon-whitespace followed by at least one more
// character starts a comment that runs to the end of the line.
std::string_view strip_inline_comment(std::string_view line) {
  for (size_t i = 0; i + 3 < line.size(); ++i) {
    if (perl_space(line[i]) && line[i + 1] == ';' && perl_space(line[i + 2])) return line.substr(0, i);
  }
  return line;
}

// Trims Perl whitespace around `s` the way /\s*(.+?)\s*/ captures between two anchors: when `s` is
// all whitespace (and not empty) the capture is its last character, because (.+?) needs one.
std::string capture_trimmed(std::string_view s) {
  size_t b = skip_space(s, 0);
  if (b == s.size()) return std::string(s.substr(s.size() - 1));
  size_t e = s.size();
  while (e > b && perl_space(s[e - 1]))
    --e;
  return std::string(s.substr(b, e - b));
}

// /^\s*\[\s*(.+?)\s*\]\s*$/ — the first non-space character is '[', the last is ']', and something
// lies between them.
bool match_section(std::string_view line, std::string& name) {
  size_t b = skip_space(line, 0);
  if (b == line.size() || line[b] != '[') return false;
  size_t e = line.size();
  while (e > b && perl_space(line[e - 1]))
    --e;
  if (e <= b + 1 || line[e - 1] != ']') return false;
  std::string_view inner = line.substr(b + 1, e - 1 - (b + 1));
  if (inner.empty()) return false;
  name = capture_trimmed(inner);
  return true;
}

// /^\s*([^=]+?)\s*=\s*(.*?)\s*$/ — the key is everything before the first '=' (trimmed; it must
// not be empty), the value everything after it (trimmed; may be empty).
bool match_property(std::string_view line, std::string& key, std::string& value) {
  size_t eq = line.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  key = capture_trimmed(line.substr(0, eq));
  std::string_view rest = line.substr(eq + 1);
  size_t b = skip_space(rest, 0);
  size_t e = rest.size();
  while (e > b && perl_space(rest[e - 1]))
    --e;
  value = std::string(rest.substr(b, e - b));
  return true;
}

}  // namespace

TinyDocument parse_config_tiny(std::string_view text) {
  TinyDocument doc;
  std::string ns = "_";
  int counter = 0;
  for (std::string_view raw : split_lines(text)) {
    ++counter;
    if (is_comment_or_blank(raw)) continue;
    std::string_view line = strip_inline_comment(raw);
    std::string name, key, value;
    if (match_section(line, name)) {
      auto [it, inserted] = doc.sections.try_emplace(name);
      if (inserted) {
        it->second.name = name;
        it->second.line = counter;
      }
      ns = name;
      continue;
    }
    if (match_property(line, key, value)) {
      auto [it, inserted] = doc.sections.try_emplace(ns);
      if (inserted) it->second.name = ns;
      it->second.keys[key] = TinyValue{std::move(value), counter};
      continue;
    }
    std::string why = "neither a [section] header nor a key=value line";
    if (counter == 1 && raw.substr(0, 3) == "\xEF\xBB\xBF")
      why += " (the file starts with a UTF-8 byte-order mark, which MHA does not accept)";
    doc.errors.push_back({counter, std::move(why)});
  }
  return doc;
}

}  // namespace mhafb

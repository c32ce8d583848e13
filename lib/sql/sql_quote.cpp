// Backslash-escape quoting, the same byte mapping as mysql_real_escape_string() for single-byte-safe
// character sets, without needing a live connection (statements are built before one exists).
#include "sql/sql_quote.hpp"

namespace mhafb {

std::string quote_string(std::string_view value) {
  std::string out;
  out.reserve(value.size() + value.size() / 8 + 2);
  out.push_back('\'');
  for (char c : value) {
    switch (c) {
      case '\0':
        out += "\\0";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\x1a':
        out += "\\Z";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

std::string quote_identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out.push_back('`');
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  out.push_back('`');
  return out;
}

}  // namespace mhafb

// Column look-up helpers for ResultSet.
#include <algorithm>
#include <cctype>

#include "ports/sql_port.hpp"

namespace mhafb {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

std::optional<std::string> ResultSet::get(std::size_t row, std::string_view name) const {
  if (row >= rows.size()) return std::nullopt;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (iequals(columns[i], name)) {
      if (i < rows[row].size()) return rows[row][i];
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<std::string> ResultSet::scalar() const {
  if (rows.empty() || rows[0].empty()) return std::nullopt;
  return rows[0][0];
}

}  // namespace mhafb

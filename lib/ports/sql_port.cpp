// Column look-up helpers for ResultSet: a case-insensitive name -> position index per result set.

#include "ports/sql_port.hpp"

namespace mhafb {

namespace {
// Column names are ASCII; std::tolower's locale look-up per character cost more than the search.
char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// Length, middle and last character: O(1) per name, and enough to tell apart the ~60 columns of
// SHOW SLAVE STATUS (shared prefixes like "Master_" make the first characters useless); colliding
// names only cost a probe more, since iequals() decides.
std::size_t ihash(std::string_view s) {
  if (s.empty()) return 0;
  std::size_t h = s.size() * 0x9E3779B97F4A7C15ULL;
  h ^= static_cast<unsigned char>(ascii_lower(s[s.size() / 2])) * 0xC2B2AE3D27D4EB4FULL;
  h ^= static_cast<unsigned char>(ascii_lower(s.back())) * 0x165667B19E3779F9ULL;
  return h ^ (h >> 29);
}

// Below this many columns a scan is cheaper than hashing them first.
constexpr std::size_t kIndexFrom = 8;
}  // namespace

std::optional<std::size_t> ColumnIndex::find(const std::vector<std::string>& columns, std::string_view name) {
  if (columns.size() < kIndexFrom) {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (iequals(columns[i], name)) return i;
    return std::nullopt;
  }
  if (built_for_ != columns.data() || size_ != columns.size()) {
    std::size_t capacity = 16;
    while (capacity < 2 * columns.size())
      capacity *= 2;
    slots_.assign(capacity, 0);
    for (std::size_t i = 0; i < columns.size(); ++i) {
      for (std::size_t at = ihash(columns[i]) & (capacity - 1);; at = (at + 1) & (capacity - 1)) {
        if (slots_[at] == 0) {
          slots_[at] = static_cast<std::uint32_t>(i + 1);
          break;
        }
        if (iequals(columns[slots_[at] - 1], columns[i])) break;  // a duplicate name: the first one wins
      }
    }
    built_for_ = columns.data();
    size_ = columns.size();
  }
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t at = ihash(name) & mask; slots_[at] != 0; at = (at + 1) & mask)
    if (iequals(columns[slots_[at] - 1], name)) return slots_[at] - 1;
  return std::nullopt;
}

std::optional<std::string> ResultSet::get(std::size_t row, std::string_view name) const {
  if (row >= rows.size()) return std::nullopt;
  auto i = index.find(columns, name);
  if (!i || *i >= rows[row].size()) return std::nullopt;
  return rows[row][*i];
}

std::optional<std::string> ResultSet::scalar() const {
  if (rows.empty() || rows[0].empty()) return std::nullopt;
  return rows[0][0];
}

}  // namespace mhafb

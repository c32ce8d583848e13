// State and mode names: the words used in logs, D-Bus properties, the CLI and the state file.
#include "core/state.hpp"

#include <array>
#include <utility>

namespace mhafb {

namespace {
constexpr std::array<std::pair<ClusterState, std::string_view>, 6> kStates{{
    {ClusterState::Healthy, "healthy"},
    {ClusterState::Degraded, "degraded"},
    {ClusterState::SlaveRejoined, "slave-rejoined"},
    {ClusterState::Validated, "validated"},
    {ClusterState::SwitchedBack, "switched-back"},
    {ClusterState::Blocked, "blocked"},
}};
constexpr std::array<std::pair<Mode, std::string_view>, 3> kModes{{
    {Mode::Observe, "observe"},
    {Mode::Approve, "approve"},
    {Mode::Auto, "auto"},
}};
}  // namespace

std::string_view to_string(ClusterState state) {
  for (const auto& [s, n] : kStates)
    if (s == state) return n;
  return "blocked";
}

std::optional<ClusterState> parse_state(std::string_view name) {
  for (const auto& [s, n] : kStates)
    if (n == name) return s;
  return std::nullopt;
}

std::string_view to_string(Mode mode) {
  for (const auto& [m, n] : kModes)
    if (m == mode) return n;
  return "approve";
}

std::optional<Mode> parse_mode(std::string_view name) {
  for (const auto& [m, n] : kModes)
    if (n == name) return m;
  return std::nullopt;
}

}  // namespace mhafb

// ClockPort: wall-clock time. Steps never sleep; waiting is "no action yet" plus a persisted
// deadline, so a fake clock drives every timing rule in unit tests.
#pragma once

#include <chrono>

namespace mhafb {

using TimePoint = std::chrono::system_clock::time_point;

class ClockPort {
 public:
  virtual ~ClockPort() = default;
  virtual TimePoint now() = 0;
};

class SystemClock final : public ClockPort {
 public:
  TimePoint now() override { return std::chrono::system_clock::now(); }
};

}  // namespace mhafb

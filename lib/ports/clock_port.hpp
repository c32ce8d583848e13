// ClockPort: wall-clock time. Steps do not sleep to wait for the world: waiting is "no action yet"
// plus a persisted deadline, so a fake clock drives every timing rule in unit tests. The one exception
// is a short, bounded poll right after an action whose result must be acted on at once (fencing a
// database the moment it answers after we started it); it goes through sleep_for so fakes advance
// their time instead of sleeping.
#pragma once

#include <chrono>
#include <thread>

namespace mhafb {

using TimePoint = std::chrono::system_clock::time_point;

class ClockPort {
 public:
  virtual ~ClockPort() = default;
  virtual TimePoint now() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }
};

class SystemClock final : public ClockPort {
 public:
  TimePoint now() override { return std::chrono::system_clock::now(); }
};

}  // namespace mhafb

// errno_text(): the message for an errno value, safe to call from any thread. std::strerror may
// hand out a buffer shared between threads (POSIX allows it, and the daemon calls adapters from a
// thread pool); the GNU strerror_r writes into the caller's buffer or returns a static string.
#pragma once

#include <cstring>
#include <string>

namespace mhafb {

inline std::string errno_text(int err) {
  char buf[128];
  return ::strerror_r(err, buf, sizeof buf);
}

}  // namespace mhafb

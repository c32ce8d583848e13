// FileWatchPort: tells the loop that something changed at a path (the MHA failover flag). The
// production adapter is inotify on the deepest existing directory, re-armed when directories come
// and go. The engine never depends on it for correctness: every tick re-reads the files.
#pragma once

#include <functional>
#include <string>

namespace mhafb {

class FileWatchPort {
 public:
  virtual ~FileWatchPort() = default;
  // `on_change` runs on the owner's event loop whenever `path` may have been created, changed or
  // removed. Spurious calls are allowed; missed ones are not.
  virtual void watch(const std::string& path, std::function<void()> on_change) = 0;
};

}  // namespace mhafb

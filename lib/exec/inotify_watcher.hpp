// InotifyWatcher: the production FileWatchPort. Tells the event loop that the MHA failover flag
// (or any watched path) may have changed, within milliseconds, without polling.
//
// The flag's directory may not exist yet (a fresh manager_workdir) or may be removed and re-created,
// so a watched path is never watched directly: every existing directory on its way from "/" down
// to its parent is watched, and when one of them is created, removed or moved the watches are
// re-armed. After every re-arm the target is stat()ed and the callback fires when it exists (or
// has just disappeared), which closes the race where a directory and the file in it are created
// before the new directory's watch is in place. A queue overflow re-arms and fires too. Spurious
// calls are allowed by the port; missed ones are not.
//
// When inotify cannot be used at all (no instances left) or a directory cannot be watched (no
// watches left, permissions), the watcher falls back to stat()ing on a timer.
//
// Callbacks run on the io_context given at construction. watch() may be called from any thread;
// the watcher must be destroyed on the io_context's thread or while it is not running, and before
// the io_context itself.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ports/file_watch_port.hpp"

namespace boost::asio {
class io_context;
}

namespace mhafb {

struct InotifyWatcherOptions {
  // Period of the stat() fallback used while some directory cannot be watched.
  std::chrono::milliseconds fallback_interval{1'000};
};

class InotifyWatcher final : public FileWatchPort {
 public:
  explicit InotifyWatcher(boost::asio::io_context& io, InotifyWatcherOptions options = {});
  ~InotifyWatcher() override;  // NOLINT(bugprone-exception-escape): see the definition
  InotifyWatcher(const InotifyWatcher&) = delete;
  InotifyWatcher& operator=(const InotifyWatcher&) = delete;

  // Relative paths are taken relative to the current directory at the time of the call.
  void watch(const std::string& path, std::function<void()> on_change) override;

  // True when inotify itself is unavailable and every path is only polled.
  bool polling_only() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mhafb

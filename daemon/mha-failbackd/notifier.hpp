// SystemdNotifier: the systemd notify protocol without libsystemd's sd_notify, so that the
// daemon controls exactly what is sent and when: one datagram per call to $NOTIFY_SOCKET (a path,
// or an abstract socket when it starts with '@'). Without NOTIFY_SOCKET every call is a no-op and
// the daemon just runs. NOTIFY_SOCKET stays in our environment (children get a clean one from the
// process runner), so a reload or a re-exec keeps talking to systemd.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace mhafb {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC (honouring WATCHDOG_PID) from the environment.
  static SystemdNotifier from_environment();
  SystemdNotifier() = default;
  explicit SystemdNotifier(std::string socket_path, std::optional<std::chrono::microseconds> watchdog = {});
  ~SystemdNotifier();
  SystemdNotifier(SystemdNotifier&& other) noexcept;
  SystemdNotifier& operator=(SystemdNotifier&& other) noexcept;
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return !socket_path_.empty(); }
  // The watchdog interval systemd expects pings within; nullopt when the watchdog is off.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  // Sends `state` ("READY=1", "STATUS=...\nWATCHDOG=1") as one datagram. False on failure (the
  // daemon logs it once and keeps running).
  bool notify(const std::string& state);
  bool ready() { return notify("READY=1"); }
  bool status(const std::string& sentence);
  bool watchdog() { return notify("WATCHDOG=1"); }
  bool stopping() { return notify("STOPPING=1"); }
  bool reloading() { return notify("RELOADING=1"); }

 private:
  std::string socket_path_;
  std::optional<std::chrono::microseconds> watchdog_;
  int fd_ = -1;
};

}  // namespace mhafb

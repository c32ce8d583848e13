// SystemdNotifier (see the header).
#include "notifier.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace mhafb {

SystemdNotifier SystemdNotifier::from_environment() {
  const char* sock = std::getenv("NOTIFY_SOCKET");
  std::optional<std::chrono::microseconds> watchdog;
  if (const char* usec = std::getenv("WATCHDOG_USEC")) {
    const char* pid = std::getenv("WATCHDOG_PID");
    bool for_us = pid == nullptr || *pid == '\0' || std::strtol(pid, nullptr, 10) == ::getpid();
    long long v = std::strtoll(usec, nullptr, 10);
    if (for_us && v > 0) watchdog = std::chrono::microseconds(v);
  }
  return SystemdNotifier(sock ? sock : "", watchdog);
}

SystemdNotifier::SystemdNotifier(std::string socket_path, std::optional<std::chrono::microseconds> watchdog)
    : socket_path_(std::move(socket_path)), watchdog_(watchdog) {
  // Only absolute paths and abstract names are valid (systemd rejects anything else too).
  if (!socket_path_.empty() && socket_path_[0] != '/' && socket_path_[0] != '@') socket_path_.clear();
  if (socket_path_.size() >= sizeof(sockaddr_un::sun_path)) socket_path_.clear();
  if (!socket_path_.empty()) fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

SystemdNotifier::~SystemdNotifier() {
  if (fd_ >= 0) ::close(fd_);
}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& other) noexcept
    : socket_path_(std::move(other.socket_path_)),
      watchdog_(other.watchdog_),
      fd_(std::exchange(other.fd_, -1)) {}

SystemdNotifier& SystemdNotifier::operator=(SystemdNotifier&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    socket_path_ = std::move(other.socket_path_);
    watchdog_ = other.watchdog_;
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

bool SystemdNotifier::status(const std::string& sentence) {
  std::string one_line = sentence;
  for (char& c : one_line)
    if (c == '\n') c = ' ';
  return notify("STATUS=" + one_line);
}

bool SystemdNotifier::notify(const std::string& state) {
  if (socket_path_.empty() || fd_ < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
  if (socket_path_[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace: no trailing NUL in the length
  } else {
    len += 1;
  }
  ssize_t n =
      ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  return n == static_cast<ssize_t>(state.size());
}

}  // namespace mhafb

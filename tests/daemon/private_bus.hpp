// PrivateBus: a dbus-daemon started by the test itself (session-style, or with a given config
// file), stopped when the object goes away. The address is read from --print-address.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace mhafb::test {

class PrivateBus {
 public:
  // `config_file` empty: --session.
  explicit PrivateBus(const std::string& config_file = {}) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> args{"dbus-daemon", "--nofork", "--print-address=" + std::to_string(fds[1])};
    args.push_back(config_file.empty() ? std::string("--session") : "--config-file=" + config_file);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    if (posix_spawnp(&pid_, "dbus-daemon", &fa, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start dbus-daemon");
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    char buf[512];
    std::string out;
    while (out.find('\n') == std::string::npos) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    if (auto nl = out.find('\n'); nl != std::string::npos) out.resize(nl);
    if (out.empty()) throw std::runtime_error("dbus-daemon printed no address");
    address_ = out;
  }
  ~PrivateBus() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  PrivateBus(const PrivateBus&) = delete;
  PrivateBus& operator=(const PrivateBus&) = delete;

  const std::string& address() const { return address_; }

 private:
  pid_t pid_ = -1;
  std::string address_;
};

}  // namespace mhafb::test

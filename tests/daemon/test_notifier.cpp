// SystemdNotifier against datagram sockets the test binds itself (a path and an abstract name).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/errno_text.hpp"
#include "notifier.hpp"

namespace mhafb {
namespace {

class Receiver {
 public:
  explicit Receiver(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, name.data(), name.size());
    socklen_t len = offsetof(sockaddr_un, sun_path) + name.size();
    if (name[0] == '@')
      a.sun_path[0] = '\0';
    else
      len += 1;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), len), 0) << errno_text(errno);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Receiver() { ::close(fd_); }
  std::string next() {
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf, static_cast<std::size_t>(n));
  }

 private:
  int fd_;
};

TEST(SystemdNotifier, OneDatagramPerCallToAPathSocket) {
  auto dir = std::filesystem::temp_directory_path() / ("notify-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "sock").string();
  Receiver r(path);
  SystemdNotifier n(path);
  EXPECT_TRUE(n.enabled());
  EXPECT_TRUE(n.ready());
  EXPECT_TRUE(n.status("app1: waiting\nfor db1"));
  EXPECT_TRUE(n.watchdog());
  EXPECT_TRUE(n.stopping());
  EXPECT_EQ(r.next(), "READY=1");
  EXPECT_EQ(r.next(), "STATUS=app1: waiting for db1");
  EXPECT_EQ(r.next(), "WATCHDOG=1");
  EXPECT_EQ(r.next(), "STOPPING=1");
  std::filesystem::remove_all(dir);
}

TEST(SystemdNotifier, AbstractSocket) {
  std::string name = "@mhafb-notify-test-" + std::to_string(::getpid());
  Receiver r(name);
  SystemdNotifier n(name);
  EXPECT_TRUE(n.ready());
  EXPECT_EQ(r.next(), "READY=1");
}

TEST(SystemdNotifier, WithoutNotifySocketEverythingIsANoOp) {
  ::unsetenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe): the test binary is single-threaded
  auto n = SystemdNotifier::from_environment();
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.ready());
  EXPECT_FALSE(SystemdNotifier("relative/path").enabled());
}

// The notifier reads its settings from the environment; this test binary runs no other thread.
// NOLINTBEGIN(concurrency-mt-unsafe)
TEST(SystemdNotifier, WatchdogIntervalFromTheEnvironment) {
  ::setenv("NOTIFY_SOCKET", "@x", 1);
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  auto n = SystemdNotifier::from_environment();
  ASSERT_TRUE(n.watchdog_interval().has_value());
  EXPECT_EQ(*n.watchdog_interval(), std::chrono::seconds(30));
  ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  EXPECT_FALSE(SystemdNotifier::from_environment().watchdog_interval().has_value());
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}
// NOLINTEND(concurrency-mt-unsafe)

}  // namespace
}  // namespace mhafb

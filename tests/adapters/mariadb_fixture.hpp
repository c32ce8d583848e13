// A real MariaDB server for adapter tests: `mariadbd --no-defaults` on 127.0.0.31:3306 with its own
// datadir, socket, pid file and error log in a temporary directory removed afterwards. The datadir
// is made once by `mariadb-install-db --no-defaults` (root with normal authentication, reachable
// over the unix socket without a password); a test user with a password is created over that
// socket. The server is this process's child, stopped by PID (SIGTERM, wait); it also gets SIGTERM
// from the kernel if the test process dies first (PR_SET_PDEATHSIG).
//
// Test processes using these addresses (127.0.0.31-33) take an exclusive flock first, so parallel
// ctest runs of the test binary queue instead of fighting over the port.
//
// Also: HungListener, a TCP socket that listens but never accepts or answers (a hung server).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ports/sql_port.hpp"

namespace mhafb::testing::mariadb_lab {

namespace fs = std::filesystem;

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::string tail(const std::string& text, std::size_t n = 2000) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

// fork + execv with stdout/stderr appended to `log`; the child dies with us.
inline pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || null < 0) ::_exit(127);
  ::dup2(null, 0);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  ::execv(args[0], args.data());
  ::_exit(127);
}

// Waits for `pid` up to `limit`; true when it exited (and was reaped).
inline bool wait_exit(pid_t pid, std::chrono::milliseconds limit, int* status_out = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (status_out) *status_out = status;
      return true;
    }
    if (r < 0 && errno != EINTR) return true;  // not our child any more
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// An exclusive advisory lock on a file in the temp directory, held for the object's lifetime.
class AddressLock {
 public:
  explicit AddressLock(const std::string& name) {
    const fs::path path = fs::temp_directory_path() / ("mhafb-test-" + name + ".lock");
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) < 0 && errno == EINTR) {
      }
    }
  }
  ~AddressLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  AddressLock(const AddressLock&) = delete;
  AddressLock& operator=(const AddressLock&) = delete;

 private:
  int fd_ = -1;
};

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};

class MariaDbServer {
 public:
  static constexpr const char* kUser = "mhafb_test";
  static constexpr const char* kPassword = "Pw-q7Zx!k3Lm";

  explicit MariaDbServer(std::string address = "127.0.0.31", int port = 3306)
      : address_(std::move(address)), port_(port) {}
  ~MariaDbServer() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  Endpoint endpoint() const { return Endpoint{address_, port_}; }
  const fs::path& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }

  // Makes the datadir (first call only), starts the server and waits until it answers; on the
  // first start also creates the test user. Returns an empty string on success, else why not.
  std::string start() {
    if (pid_ > 0) return {};
    if (dir_.empty()) {
      std::string templ = (fs::temp_directory_path() / "mhafb-mariadb-XXXXXX").string();
      if (::mkdtemp(templ.data()) == nullptr) return "mkdtemp failed";
      dir_ = templ;
      const pid_t install = spawn({"/usr/bin/mariadb-install-db", "--no-defaults", "--datadir=" + data_dir(),
                                   "--auth-root-authentication-method=normal", "--user=root",
                                   "--skip-test-db", "--innodb-log-file-size=8M"},
                                  dir_ / "install.log");
      int status = 0;
      if (install < 0 || !wait_exit(install, std::chrono::seconds(120), &status) || !WIFEXITED(status) ||
          WEXITSTATUS(status) != 0) {
        return "mariadb-install-db failed: " + tail(read_text(dir_ / "install.log"));
      }
    }
    pid_ =
        spawn({"/usr/sbin/mariadbd", "--no-defaults", "--datadir=" + data_dir(), "--socket=" + socket_path(),
               "--pid-file=" + (dir_ / "mariadbd.pid").string(), "--bind-address=" + address_,
               "--port=" + std::to_string(port_), "--user=root", "--skip-name-resolve",
               "--log-error=" + (dir_ / "error.log").string(), "--tmpdir=" + dir_.string(),
               "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M", "--max-connections=50",
               "--skip-innodb-buffer-pool-dump-at-shutdown", "--skip-innodb-buffer-pool-load-at-startup"},
              dir_ / "mariadbd.out");
    if (pid_ < 0) return "fork failed";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string why;
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "mariadbd exited during start: " + tail(read_text(dir_ / "error.log"));
      }
      if (admin_connect(&why)) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        stop();
        return "mariadbd did not answer within 60 s: " + why;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!user_created_) {
      const std::string user = std::string("'") + kUser + "'@'%'";
      why = admin("CREATE USER " + user + " IDENTIFIED BY '" + kPassword + "'");
      if (why.empty()) why = admin("GRANT ALL PRIVILEGES ON *.* TO " + user);
      if (!why.empty()) return "creating the test user failed: " + why;
      user_created_ = true;
    }
    return {};
  }

  // SIGTERM and wait for the server to exit (SIGKILL after 60 s).
  void stop() { stop_with(SIGTERM); }
  // SIGKILL: the server dies at once, its sockets reset by the kernel (InnoDB recovers on start).
  void crash() { stop_with(SIGKILL); }

 private:
  void stop_with(int signal) {
    admin_conn_.reset();
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    if (!wait_exit(pid_, std::chrono::seconds(60))) {
      ::kill(pid_, SIGKILL);
      wait_exit(pid_, std::chrono::seconds(10));
    }
    pid_ = -1;
  }

 public:
  // Runs one statement as root over the unix socket; empty on success, else the error. The result
  // set (if any) of a SELECT is stored in *first_value (first column of the first row).
  std::string admin(const std::string& sql, std::string* first_value = nullptr) {
    std::string why;
    if (!admin_conn_ && !admin_connect(&why)) return why;
    MYSQL* m = admin_conn_.get();
    if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
      why = std::string(mysql_error(m)) + " (errno " + std::to_string(mysql_errno(m)) + ")";
      admin_conn_.reset();
      return why;
    }
    if (MYSQL_RES* res = mysql_store_result(m)) {
      MYSQL_ROW row = mysql_fetch_row(res);
      if (first_value && row && row[0]) *first_value = row[0];
      mysql_free_result(res);
    }
    return {};
  }

 private:
  std::string data_dir() const { return (dir_ / "data").string(); }
  std::string socket_path() const { return (dir_ / "mariadbd.sock").string(); }

  bool admin_connect(std::string* why) {
    std::unique_ptr<MYSQL, MysqlCloser> m(mysql_init(nullptr));
    if (!m) return false;
    unsigned int timeout = 5;
    unsigned int protocol = MYSQL_PROTOCOL_SOCKET;
    mysql_optionsv(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m.get(), MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_optionsv(m.get(), MYSQL_OPT_PROTOCOL, &protocol);
    if (mysql_real_connect(m.get(), "localhost", "root", "", nullptr, 0, socket_path().c_str(), 0) ==
        nullptr) {
      *why = mysql_error(m.get());
      return false;
    }
    admin_conn_ = std::move(m);
    return true;
  }

  std::string address_;
  int port_;
  fs::path dir_;
  pid_t pid_ = -1;
  bool user_created_ = false;
  std::unique_ptr<MYSQL, MysqlCloser> admin_conn_;
};

// A TCP socket bound and listening on address:port that never accepts: the kernel completes the
// TCP handshake (the backlog has room), and then nothing ever answers — a hung server.
class HungListener {
 public:
  HungListener(const std::string& address, int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd_, 64) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~HungListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  HungListener(const HungListener&) = delete;
  HungListener& operator=(const HungListener&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace mhafb::testing::mariadb_lab

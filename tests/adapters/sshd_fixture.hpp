// A real OpenSSH server for adapter tests: `/usr/sbin/sshd -D -e -f <tmp>/sshd_config` on 127.0.0.21
// (port 2222, or the next free one when another test holds it), with its own host keys, an ed25519
// client key in its AuthorizedKeysFile and a known_hosts file that trusts it — all in a temporary
// directory removed afterwards. The server is this process's child, stopped by PID; it also gets
// SIGTERM from the kernel if the test process dies first (PR_SET_PDEATHSIG), so nothing outlives a
// crashed test. Also: small helpers to run ssh-keygen and to write known_hosts variants.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace mhafb::testing {

namespace fs = std::filesystem;

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
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
  // std::_Exit is _exit (no atexit handlers, no stdio flush) that cppcheck knows never returns.
  if (::getppid() != parent) std::_Exit(127);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || null < 0) std::_Exit(127);
  ::dup2(null, 0);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
  ::execv(args[0], args.data());
  std::_Exit(127);
}

// Runs a program to completion; its exit status, or -1 when it did not exit normally.
inline int run_program(const std::vector<std::string>& argv, const fs::path& log) {
  const pid_t pid = spawn(argv, log);
  if (pid < 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "mhafb-sshd-XXXXXX").string();
    if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class SshdServer {
 public:
  static constexpr const char* kAddress = "127.0.0.21";
  static constexpr int kFirstPort = 2222;

  SshdServer() = default;
  SshdServer(const SshdServer&) = delete;
  SshdServer& operator=(const SshdServer&) = delete;
  ~SshdServer() { stop(); }

  // Empty on success, otherwise what went wrong (with sshd's log).
  std::string start() {
    if (dir_.path().empty()) return "cannot create a temporary directory";
    std::error_code ec;
    if (!fs::exists("/run/sshd")) {
      fs::create_directories("/run/sshd", ec);
      fs::permissions("/run/sshd", fs::perms(0755), ec);
    }
    for (const char* key : {"host_ed25519", "impostor_ed25519", "client_ed25519", "stranger_ed25519"}) {
      if (auto err = keygen("ed25519", key); !err.empty()) return err;
    }
    if (auto err = keygen("ecdsa", "host_ecdsa"); !err.empty()) return err;
    write_text(path("authorized_keys"), read_text(path("client_ed25519.pub")));

    std::string last_log;
    for (int port = kFirstPort; port < kFirstPort + 20; ++port) {
      port_ = port;
      write_text(path("sshd_config"), config());
      const fs::path log = path("sshd.log");
      fs::remove(log, ec);
      pid_ = spawn({"/usr/sbin/sshd", "-D", "-e", "-f", path("sshd_config").string()}, log);
      if (pid_ < 0) return "cannot start /usr/sbin/sshd";
      const std::string listening =
          "Server listening on " + std::string(kAddress) + " port " + std::to_string(port);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < give_up) {
        if (read_text(log).find(listening) != std::string::npos) {
          write_text(known_hosts(), known_hosts_line("host_ed25519.pub"));
          return {};
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      last_log = read_text(log);
      stop();
      if (last_log.find("Address already in use") == std::string::npos) break;
    }
    return "sshd did not start; its log:\n" + last_log;
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > give_up) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

  int port() const { return port_; }
  fs::path path(const std::string& name) const { return dir_.path() / name; }
  fs::path dir() const { return dir_.path(); }
  fs::path client_key() const { return path("client_ed25519"); }
  fs::path known_hosts() const { return path("known_hosts"); }
  std::string log() const { return read_text(path("sshd.log")); }

  // "[127.0.0.21]:<port> <type> <base64>" for one of the generated public keys.
  std::string known_hosts_line(const std::string& public_key_file) const {
    std::istringstream in(read_text(path(public_key_file)));
    std::string type, key;
    in >> type >> key;
    return "[" + std::string(kAddress) + "]:" + std::to_string(port_) + " " + type + " " + key + "\n";
  }

  // Writes a known_hosts file named `name` in the temp dir and returns its path.
  fs::path write_known_hosts(const std::string& name, const std::string& text) const {
    write_text(path(name), text);
    return path(name);
  }

  // Generates another key pair in the temp dir (e.g. for variants of the client key).
  std::string keygen(const std::string& type, const std::string& name) const {
    const int rc = run_program(
        {"/usr/bin/ssh-keygen", "-q", "-t", type, "-N", "", "-C", name, "-f", path(name).string()},
        path("keygen.log"));
    if (rc != 0) return "ssh-keygen -t " + type + " failed: " + read_text(path("keygen.log"));
    return {};
  }

 private:
  std::string config() const {
    std::ostringstream c;
    c << "ListenAddress " << kAddress << ":" << port_ << "\n"
      << "HostKey " << path("host_ed25519").string() << "\n"
      << "HostKey " << path("host_ecdsa").string() << "\n"
      << "PidFile " << path("sshd.pid").string() << "\n"
      << "AuthorizedKeysFile " << path("authorized_keys").string() << "\n"
      << "StrictModes no\n"
      << "PermitRootLogin prohibit-password\n"
      << "UsePAM no\n"
      << "PubkeyAuthentication yes\n"
      << "PasswordAuthentication no\n"
      << "KbdInteractiveAuthentication no\n"
      << "UseDNS no\n"
      << "PrintMotd no\n"
      << "MaxStartups 64:30:128\n"
      << "LogLevel VERBOSE\n";
    return c.str();
  }

  TempDir dir_;
  int port_ = kFirstPort;
  pid_t pid_ = -1;
};

}  // namespace mhafb::testing

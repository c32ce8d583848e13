// Checks are made with fstat on the descriptor that is then read, so the file checked is the file
// read. O_NONBLOCK keeps a FIFO planted at the path from blocking the daemon's start-up.
#include "config/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/errno_text.hpp"

namespace mhafb {
namespace {

constexpr size_t kMaxSecretBytes = 4096;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  return "not a regular file";
}

std::string octal_mode(mode_t m) {
  char buf[16];
  // At most four octal digits (masked to 07777) plus the terminator: cannot be truncated or fail.
  (void)std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

SecretFileCheck check_open(const std::string& path, bool read) {
  SecretFileCheck r;
  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (f.fd < 0) {
    int e = errno;
    r.expected = "an existing secret file readable by the daemon";
    r.found = errno_text(e);
    return r;
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    r.expected = "a secret file the daemon can inspect";
    r.found = errno_text(errno);
    return r;
  }
  if (!S_ISREG(st.st_mode)) {
    r.expected = "a regular file";
    r.found = kind_of(st.st_mode);
    return r;
  }
  if ((st.st_mode & 077) != 0) {
    r.expected = "mode 0600 or stricter (no group or other permissions; chmod 600 it)";
    r.found = "mode " + octal_mode(st.st_mode);
    return r;
  }
  if (st.st_uid != ::geteuid()) {
    r.expected = "a file owned by uid " + std::to_string(::geteuid()) + ", the user the daemon runs as";
    r.found = "owner uid " + std::to_string(st.st_uid);
    return r;
  }
  if (!read) return r;

  std::string content;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.expected = "a readable secret file";
      r.found = errno_text(errno);
      return r;
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > kMaxSecretBytes) {
      r.expected = "a password of at most " + std::to_string(kMaxSecretBytes) + " bytes";
      r.found = "a larger file";
      return r;
    }
  }
  if (!content.empty() && content.back() == '\n') {
    content.pop_back();
    if (!content.empty() && content.back() == '\r') content.pop_back();
  }
  if (content.empty()) {
    r.expected = "a password on the file's first line";
    r.found = "an empty file";
    return r;
  }
  if (content.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
    r.expected = "the password alone on one line (one trailing newline allowed)";
    r.found = "more than one line, or a NUL byte";
    return r;
  }
  r.value = std::move(content);
  return r;
}

}  // namespace

void redact_secrets(std::vector<ConfigError>& errors, const std::vector<std::string>& secrets, size_t from) {
  for (size_t i = from; i < errors.size(); ++i) {
    ConfigError& e = errors[i];
    for (std::string* field : {&e.file, &e.key, &e.expected, &e.found})
      for (const auto& s : secrets) {
        if (s.size() < 4) continue;
        for (size_t pos = 0; (pos = field->find(s, pos)) != std::string::npos; pos += 10)
          field->replace(pos, s.size(), "<redacted>");
      }
  }
}

SecretFileCheck read_secret_file(const std::string& path) {
  return check_open(path, true);
}
SecretFileCheck check_secret_file(const std::string& path) {
  return check_open(path, false);
}

}  // namespace mhafb

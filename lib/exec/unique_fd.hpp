// UniqueFd: owns one POSIX file descriptor and closes it exactly once, so no error path in the
// adapters (processes, files, inotify) can leak a descriptor into a later child or the daemon.
// Also the small EINTR-retry helper those adapters share.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace mhafb {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  int release() { return std::exchange(fd_, -1); }

  // Closes the held descriptor (if any) and takes `fd`. close() is not retried on EINTR: on Linux
  // the descriptor is gone either way, and retrying could close a number another thread just got.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

  // Closes now and reports close()'s own error (e.g. a delayed write error on NFS) as errno.
  int close_checked() {
    if (fd_ < 0) return 0;
    int rc = ::close(std::exchange(fd_, -1));
    return (rc < 0 && errno != EINTR) ? -1 : 0;
  }

 private:
  int fd_ = -1;
};

// Calls `f` again while it fails with EINTR; returns its last result (errno set by `f`).
template <class F>
auto retry_eintr(F&& f) -> decltype(f()) {
  decltype(f()) rc;
  do {
    rc = f();
  } while (rc == -1 && errno == EINTR);
  return rc;
}

}  // namespace mhafb

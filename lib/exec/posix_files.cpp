// PosixFiles: stat, bounded tail reads, durable moves and atomic writes with POSIX calls only.
#include "exec/posix_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/errno_text.hpp"
#include "exec/unique_fd.hpp"

namespace mhafb {

namespace {

std::string reason(int err) {
  switch (err) {
    case ENOSPC:
      return "no space left on the device";
    case EDQUOT:
      return "the disk quota is exhausted";
    case EROFS:
      return "the file system is read-only";
    default:
      return errno_text(err);
  }
}

Error io_error(const std::string& what, int err, const std::string& tail = {}) {
  std::string message = what + ": " + reason(err) + tail;
  if (err == ENOENT) return Error::not_found(std::move(message));
  return Error::failed(std::move(message));
}

std::string parent_of(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? std::string(".") : parent;
}

std::string name_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// Makes a directory's entries (a rename, a new file) durable.
Status fsync_dir(const std::string& dir) {
  UniqueFd fd(retry_eintr([&] { return ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
  if (!fd) return io_error("cannot open directory " + dir + " to sync it", errno);
  if (::fsync(fd.get()) != 0 && errno != EINVAL)  // EINVAL: the file system cannot sync directories
    return io_error("cannot sync directory " + dir, errno);
  return {};
}

Status write_all(int fd, const char* data, std::size_t size, const std::string& what) {
  while (size > 0) {
    ssize_t n = retry_eintr([&] { return ::write(fd, data, size); });
    if (n < 0) return io_error(what, errno);
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

// mkdir -p; each directory it creates is made durable in its parent.
Status make_directories(const std::string& dir) {
  std::filesystem::path target(dir);
  std::filesystem::path current;
  for (const auto& part : target) {
    current /= part;
    if (part == "/" || part.empty()) continue;
    if (::mkdir(current.c_str(), 0755) == 0) {
      if (auto s = fsync_dir(parent_of(current.string())); !s) return s;
      continue;
    }
    int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(current.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
    if (err == EEXIST) err = ENOTDIR;
    return io_error("cannot create directory " + current.string(), err);
  }
  return {};
}

// A temp file next to `target`, named so nothing that globs for the real name picks it up.
struct TempFile {
  UniqueFd fd;
  std::string path;
};

Result<TempFile> make_temp_beside(const std::string& target) {
  std::string path = parent_of(target) + "/." + name_of(target) + ".tmp-XXXXXX";
  int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return io_error("cannot create a temporary file in " + parent_of(target), errno);
  return TempFile{UniqueFd(fd), std::move(path)};
}

// Copies a regular file to `to` through a temp file (same guarantees as write_atomic), keeping its
// mode and timestamps, then removes the source.
Status copy_across_file_systems(const std::string& from, const std::string& to) {
  const std::string what = "cannot move " + from + " to " + to;
  UniqueFd src(retry_eintr([&] { return ::open(from.c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!src) return io_error(what, errno);
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return io_error(what, errno);
  if (!S_ISREG(st.st_mode))
    return Error::invalid(what + ": only regular files can be moved across file systems");

  auto temp = make_temp_beside(to);
  if (!temp) return std::move(temp).error();
  auto fail = [&](Error e) {
    ::unlink(temp->path.c_str());
    e.message += "; " + from + " is unchanged";
    return e;
  };
  // Filled by read() before any byte is used; zeroing 64 KiB per call would be wasted work.
  std::array<char, 64 * 1024> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(src.get(), buffer.data(), buffer.size()); });
    if (n < 0) return fail(io_error(what, errno));
    if (n == 0) break;
    if (auto s = write_all(temp->fd.get(), buffer.data(), static_cast<std::size_t>(n), what); !s)
      return fail(std::move(s).error());
  }
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::fchmod(temp->fd.get(), st.st_mode & 07777) != 0 || ::futimens(temp->fd.get(), times) != 0 ||
      ::fsync(temp->fd.get()) != 0 || temp->fd.close_checked() != 0)
    return fail(io_error(what, errno));
  if (::rename(temp->path.c_str(), to.c_str()) != 0) return fail(io_error(what, errno));
  if (auto s = fsync_dir(parent_of(to)); !s) return s;
  if (::unlink(from.c_str()) != 0)
    return io_error("copied " + from + " to " + to + " but cannot remove the original", errno);
  return fsync_dir(parent_of(from));
}

}  // namespace

Result<FileInfo> PosixFiles::stat(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return FileInfo{};
    return io_error("cannot stat " + path, errno);
  }
  FileInfo info;
  info.exists = true;
  info.size = static_cast<std::uint64_t>(st.st_size);
  info.mtime = TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  return info;
}

Result<std::string> PosixFiles::read_tail(const std::string& path, std::uint64_t max_bytes) {
  UniqueFd fd(retry_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY); }));
  if (!fd) return io_error("cannot read " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot read " + path, errno);
  if (S_ISDIR(st.st_mode)) return Error::invalid("cannot read " + path + ": it is a directory");

  std::string out;
  // Filled by read() before any byte is used; zeroing 64 KiB per call would be wasted work.
  std::array<char, 64 * 1024> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  if (S_ISREG(st.st_mode)) {
    // Start max_bytes before the current end; a log that grows meanwhile is cut at max_bytes.
    auto size = static_cast<std::uint64_t>(st.st_size);
    auto offset = size > max_bytes ? size - max_bytes : 0;
    while (out.size() < max_bytes) {
      auto want = std::min<std::uint64_t>(buffer.size(), max_bytes - out.size());
      ssize_t n = retry_eintr(
          [&] { return ::pread(fd.get(), buffer.data(), want, static_cast<off_t>(offset + out.size())); });
      if (n < 0) return io_error("cannot read " + path, errno);
      if (n == 0) break;
      out.append(buffer.data(), static_cast<std::size_t>(n));
    }
    return out;
  }
  // Pipes and /proc files have no size: read everything, keep the tail.
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(fd.get(), buffer.data(), buffer.size()); });
    if (n < 0) return io_error("cannot read " + path, errno);
    if (n == 0) break;
    out.append(buffer.data(), static_cast<std::size_t>(n));
    if (out.size() > 2 * max_bytes + buffer.size()) out.erase(0, out.size() - max_bytes);
  }
  if (out.size() > max_bytes) out.erase(0, out.size() - max_bytes);
  return out;
}

Status PosixFiles::move(const std::string& from, const std::string& to) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0) return io_error("cannot move " + from, errno);
  if (auto s = make_directories(parent_of(to)); !s) return s;
  if (::rename(from.c_str(), to.c_str()) == 0) {
    if (auto s = fsync_dir(parent_of(to)); !s) return s;
    if (parent_of(to) == parent_of(from)) return {};
    return fsync_dir(parent_of(from));
  }
  if (errno == EXDEV) return copy_across_file_systems(from, to);
  return io_error("cannot move " + from + " to " + to, errno);
}

Status PosixFiles::write_atomic(const std::string& path, const std::string& content, unsigned mode) {
  if (path.empty() || path.back() == '/')
    return Error::invalid("cannot write '" + path + "': not a file name");
  const std::string what = "cannot write " + path;
  const std::string intact = "; the previous " + path + " is unchanged";
  // Reports and state live in directories the daemon owns (history/ appears with its first entry).
  if (auto s = make_directories(parent_of(path)); !s) return s;

  auto temp = make_temp_beside(path);
  if (!temp) {
    auto e = std::move(temp).error();
    e.message = what + " (" + e.message + ")" + intact;
    return e;
  }
  auto fail = [&](int err) {
    ::unlink(temp->path.c_str());
    return io_error(what, err, intact);
  };
  if (::fchmod(temp->fd.get(), static_cast<mode_t>(mode & 07777)) != 0) return fail(errno);
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = retry_eintr([&] { return ::write(temp->fd.get(), data, left); });
    if (n < 0) return fail(errno);
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  // fsync and close report delayed allocation failures (ENOSPC on ext4 may only show up here).
  if (::fsync(temp->fd.get()) != 0) return fail(errno);
  if (temp->fd.close_checked() != 0) return fail(errno);
  if (::rename(temp->path.c_str(), path.c_str()) != 0) return fail(errno);
  return fsync_dir(parent_of(path));
}

}  // namespace mhafb

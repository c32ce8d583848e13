// FilesPort: the few file operations the engine needs on the MHA work dir and its own state dir
// (flag files, the manager log, archiving the flag). The production adapter is plain POSIX (exec/).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "ports/clock_port.hpp"

namespace mhafb {

struct FileInfo {
  bool exists = false;
  TimePoint mtime{};
  std::uint64_t size = 0;
};

class FilesPort {
 public:
  virtual ~FilesPort() = default;
  // exists=false (not an error) when the file is absent.
  virtual Result<FileInfo> stat(const std::string& path) = 0;
  // The last `max_bytes` of the file (the whole file when smaller).
  virtual Result<std::string> read_tail(const std::string& path, std::uint64_t max_bytes) = 0;
  // Moves `from` to `to` (creating `to`'s directory), across file systems when needed.
  virtual Status move(const std::string& from, const std::string& to) = 0;
  // Writes `content` to `path` atomically: temp file, fsync, rename, fsync of the directory.
  virtual Status write_atomic(const std::string& path, const std::string& content, unsigned mode) = 0;
};

}  // namespace mhafb

// PosixFiles: the production FilesPort on plain POSIX calls. Writes are crash-safe (temp file in the
// same directory, fsync, rename, fsync of the directory) because the persisted failback state and
// the archived failover flag must survive a power cut in a consistent form: either the old content
// or the new, never a torn file. Moves preserve the file's mtime (the failover flag carries its
// meaning in it) and fall back to copy + fsync + unlink across file systems.
#pragma once

#include "ports/files_port.hpp"

namespace mhafb {

class PosixFiles final : public FilesPort {
 public:
  Result<FileInfo> stat(const std::string& path) override;
  Result<std::string> read_tail(const std::string& path, std::uint64_t max_bytes) override;
  Status move(const std::string& from, const std::string& to) override;
  Status write_atomic(const std::string& path, const std::string& content, unsigned mode) override;
};

}  // namespace mhafb

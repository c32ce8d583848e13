// Host key verification for the SSH adapter: an OpenSSH known_hosts file read into libssh2 1.10's
// knownhost store, the host key algorithms to offer for a given host, and the check of the key a
// server presented. Kept apart from the connection code because this is the part that decides
// whether we may talk to a host at all, and its messages are what an operator acts on.
#pragma once

#include <libssh2.h>

#include <memory>
#include <string>

#include "common/result.hpp"

namespace mhafb::ssh {

// "[host]:port" as known_hosts writes it, or the bare host for port 22.
std::string known_hosts_name(const std::string& host, int port);

class KnownHosts {
 public:
  // Reads `path` for `session` (libssh2 ties the store to a session). Lines libssh2 1.10 cannot use
  // (@cert-authority, key types it does not know such as sk-* keys) are skipped rather than
  // failing the whole file as libssh2_knownhost_readfile would; @revoked lines are kept in a
  // separate store and checked first. A missing or unreadable file is a HostKey error.
  static Result<KnownHosts> load(LIBSSH2_SESSION* session, const std::string& path);

  // The host key algorithms to offer, "ssh-ed25519,ecdsa-sha2-nistp256" with the types the file
  // already holds for this host first (as OpenSSH orders them): a host recorded only with its ECDSA
  // key must not be asked for its Ed25519 key, which would look unknown.
  std::string hostkey_preference(const std::string& host, int port) const;

  // Checks the key the server presented during the handshake. Unknown, changed or revoked keys are
  // HostKey errors; a changed key is never accepted.
  Status verify(LIBSSH2_SESSION* session, const std::string& host, int port) const;

  const std::string& path() const { return path_; }

 private:
  struct Free {
    void operator()(LIBSSH2_KNOWNHOSTS* h) const { libssh2_knownhost_free(h); }
  };
  using Store = std::unique_ptr<LIBSSH2_KNOWNHOSTS, Free>;

  KnownHosts(std::string path, Store known, Store revoked)
      : path_(std::move(path)), known_(std::move(known)), revoked_(std::move(revoked)) {}

  std::string path_;
  Store known_;
  Store revoked_;
};

}  // namespace mhafb::ssh

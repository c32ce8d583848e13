// Host key verification against an OpenSSH known_hosts file (see ssh_known_hosts.hpp).
#include "exec/ssh_known_hosts.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>

#include "common/errno_text.hpp"

namespace mhafb::ssh {
namespace {

struct KeyType {
  int hostkey_type;    // LIBSSH2_HOSTKEY_TYPE_*
  int knownhost_bits;  // LIBSSH2_KNOWNHOST_KEY_*
  const char* name;    // the SSH algorithm name, as in known_hosts
};

constexpr KeyType kKeyTypes[] = {
    {LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521"},
    {LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa"},
    {LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss"},
};

// The algorithms we offer, best first. libssh2 1.10 has no rsa-sha2-*, and plain ssh-rsa (SHA-1)
// is refused by OpenSSH 8.8+ servers anyway.
constexpr std::string_view kOffered[] = {"ssh-ed25519", "ecdsa-sha2-nistp256"};

const KeyType* key_type_of_hostkey(int hostkey_type) {
  for (const auto& t : kKeyTypes)
    if (t.hostkey_type == hostkey_type) return &t;
  return nullptr;
}

const KeyType* key_type_named(std::string_view name) {
  for (const auto& t : kKeyTypes)
    if (name == t.name) return &t;
  return nullptr;
}

constexpr int kPlainRaw = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW;

// "SHA256:<base64 without padding>", the fingerprint form ssh-keygen -l and ssh print.
std::string sha256_fingerprint(LIBSSH2_SESSION* session) {
  const char* hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
  if (hash == nullptr) return "SHA256:?";
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* in = reinterpret_cast<const unsigned char*>(hash);
  constexpr int kLen = 32;
  std::string out = "SHA256:";
  for (int i = 0; i < kLen; i += 3) {
    unsigned v = unsigned(in[i]) << 16;
    if (i + 1 < kLen) v |= unsigned(in[i + 1]) << 8;
    if (i + 2 < kLen) v |= unsigned(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    if (i + 1 < kLen) out += kAlphabet[(v >> 6) & 63];
    if (i + 2 < kLen) out += kAlphabet[v & 63];
  }
  return out;
}

Error host_key_error(std::string message) {
  return Error{ErrorKind::HostKey, std::move(message), 0};
}

}  // namespace

std::string known_hosts_name(const std::string& host, int port) {
  if (port == 22) return host;
  return "[" + host + "]:" + std::to_string(port);
}

Result<KnownHosts> KnownHosts::load(LIBSSH2_SESSION* session, const std::string& path) {
  Store known(libssh2_knownhost_init(session));
  Store revoked(libssh2_knownhost_init(session));
  if (!known || !revoked) return Error::failed("cannot allocate the SSH known-hosts store");

  std::ifstream in(path);
  if (!in.is_open()) {
    const int err = errno;
    return host_key_error("cannot read the known_hosts file " + path + ": " + errno_text(err) +
                          "; SSH host keys cannot be verified without it");
  }
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::string_view entry(line);
    entry.remove_prefix(first);
    LIBSSH2_KNOWNHOSTS* store = known.get();
    if (entry.front() == '@') {
      const auto end = entry.find_first_of(" \t");
      if (end == std::string_view::npos) continue;
      if (entry.substr(0, end) != "@revoked") continue;  // @cert-authority: libssh2 has no certificates
      entry.remove_prefix(end);
      const auto rest = entry.find_first_not_of(" \t");
      if (rest == std::string_view::npos) continue;
      entry.remove_prefix(rest);
      store = revoked.get();
    }
    // A line libssh2 cannot parse (an unknown key type) would only ever fail to match; skipping it
    // keeps every other host in the file usable.
    (void)libssh2_knownhost_readline(store, entry.data(), entry.size(), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
  }
  if (in.bad()) return host_key_error("error while reading the known_hosts file " + path);
  return KnownHosts(path, std::move(known), std::move(revoked));
}

std::string KnownHosts::hostkey_preference(const std::string& host, int port) const {
  // checkp() with a key that cannot match answers MISMATCH exactly when the file holds a key of
  // that type for this host (plain or hashed name), NOTFOUND otherwise.
  static constexpr char kNoKey[] = "\x00";
  std::string recorded;
  std::string others;
  for (auto name : kOffered) {
    const KeyType* type = key_type_named(name);
    const int rc = libssh2_knownhost_checkp(known_.get(), host.c_str(), port, kNoKey, 1,
                                            kPlainRaw | type->knownhost_bits, nullptr);
    std::string& list = rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH ? recorded : others;
    if (!list.empty()) list += ',';
    list += name;
  }
  if (recorded.empty()) return others;
  if (others.empty()) return recorded;
  return recorded + "," + others;
}

Status KnownHosts::verify(LIBSSH2_SESSION* session, const std::string& host, int port) const {
  const std::string name = known_hosts_name(host, port);
  size_t key_len = 0;
  int hostkey_type = LIBSSH2_HOSTKEY_TYPE_UNKNOWN;
  const char* key = libssh2_session_hostkey(session, &key_len, &hostkey_type);
  if (key == nullptr || key_len == 0)
    return host_key_error("the SSH server at " + name + " sent no host key");
  const KeyType* type = key_type_of_hostkey(hostkey_type);
  if (type == nullptr)
    return host_key_error("the SSH server at " + name +
                          " presented a host key of a type libssh2 cannot check");

  const std::string presented = std::string(type->name) + " key " + sha256_fingerprint(session);
  const int typemask = kPlainRaw | type->knownhost_bits;

  if (libssh2_knownhost_checkp(revoked_.get(), host.c_str(), port, key, key_len, typemask, nullptr) ==
      LIBSSH2_KNOWNHOST_CHECK_MATCH) {
    return host_key_error("host key of " + name + " (" + presented + ") is marked @revoked in " + path_ +
                          "; refusing to connect");
  }

  switch (libssh2_knownhost_checkp(known_.get(), host.c_str(), port, key, key_len, typemask, nullptr)) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
      return {};
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
      return host_key_error("host key of " + name + " has CHANGED: the server presented " + presented +
                            ", which does not match the " + type->name + " key recorded in " + path_ +
                            "; someone may be doing a man-in-the-middle attack, refusing to connect (if the "
                            "host was really reinstalled, verify the new key and replace its entry)");
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND: {
      const std::string keyscan =
          port == 22 ? "ssh-keyscan " + host : "ssh-keyscan -p " + std::to_string(port) + " " + host;
      return host_key_error("host key of " + name + " is not in " + path_ + " (the server presented " +
                            presented + "); verify it and add it (" + keyscan + " >> " + path_ + ")");
    }
    default: {
      char* msg = nullptr;
      libssh2_session_last_error(session, &msg, nullptr, 0);
      return host_key_error("cannot check the host key of " + name + " against " + path_ + ": " +
                            (msg != nullptr ? msg : "libssh2 knownhost check failed"));
    }
  }
}

}  // namespace mhafb::ssh

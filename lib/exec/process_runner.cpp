// ProcessRunner: posix_spawn + pipes + pidfd. The child is set up entirely by posix_spawn's
// attributes and file actions (no code runs between fork and exec, so it is safe from any thread);
// the parent then multiplexes both pipes and the pidfd with poll() until the program ends.
#include "exec/process_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
// glibc 2.36's header lacks the C++ linkage guards.
extern "C" {
#include <sys/pidfd.h>
}

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "common/errno_text.hpp"
#include "exec/unique_fd.hpp"

namespace mhafb {

namespace {

using Clock = std::chrono::steady_clock;

// Keeps the last `cap` bytes of a stream; compacts lazily so appending stays linear.
class TailBuffer {
 public:
  explicit TailBuffer(std::size_t cap) : cap_(std::max<std::size_t>(cap, 1)) {}

  void append(const char* p, std::size_t n) {
    data_.append(p, n);
    if (data_.size() > 2 * cap_ + 64 * 1024) compact();
  }

  std::string finish() {
    compact();
    if (dropped_ == 0) return std::move(data_);
    // Start at a whole line when one begins in the kept text: parsers read lines.
    auto nl = data_.find('\n');
    if (nl != std::string::npos && nl + 1 < data_.size()) {
      dropped_ += nl + 1;
      data_.erase(0, nl + 1);
    }
    std::string out(ProcessRunner::kTruncationMarker);
    out += std::to_string(dropped_) + " bytes dropped]\n";
    out += data_;
    return out;
  }

 private:
  void compact() {
    if (data_.size() <= cap_) return;
    std::size_t drop = data_.size() - cap_;
    dropped_ += drop;
    data_.erase(0, drop);
  }

  std::size_t cap_;
  std::string data_;
  std::uint64_t dropped_ = 0;
};

// A pipe whose read end is non-blocking (ours) and write end blocking (the child's stdout/err).
// Both ends are close-on-exec and numbered above 2, so the dup2 file actions never collide with
// the standard descriptors even when the daemon runs with some of 0–2 closed.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<UniqueFd> above_stdio(UniqueFd fd) {
  if (fd.get() > 2) return fd;
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return Error::failed("cannot move a pipe descriptor above 2: " + errno_text(errno));
  return UniqueFd(moved);
}

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Error::failed("cannot create a pipe: " + errno_text(errno));
  UniqueFd r(fds[0]), w(fds[1]);
  auto r2 = above_stdio(std::move(r));
  if (!r2) return std::move(r2).error();
  auto w2 = above_stdio(std::move(w));
  if (!w2) return std::move(w2).error();
  int flags = ::fcntl(r2->get(), F_GETFL);
  if (flags < 0 || ::fcntl(r2->get(), F_SETFL, flags | O_NONBLOCK) != 0)
    return Error::failed("cannot make a pipe non-blocking: " + errno_text(errno));
  return Pipe{std::move(*r2), std::move(*w2)};
}

// RAII for the two posix_spawn handle types.
class SpawnActions {
 public:
  SpawnActions() { ok_ = ::posix_spawn_file_actions_init(&fa_) == 0; }
  ~SpawnActions() {
    if (ok_) ::posix_spawn_file_actions_destroy(&fa_);
  }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
  bool ok() const { return ok_; }
  posix_spawn_file_actions_t* get() { return &fa_; }

 private:
  posix_spawn_file_actions_t fa_{};
  bool ok_ = false;
};

class SpawnAttr {
 public:
  SpawnAttr() { ok_ = ::posix_spawnattr_init(&attr_) == 0; }
  ~SpawnAttr() {
    if (ok_) ::posix_spawnattr_destroy(&attr_);
  }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
  bool ok() const { return ok_; }
  posix_spawnattr_t* get() { return &attr_; }

 private:
  posix_spawnattr_t attr_{};
  bool ok_ = false;
};

// The clean environment plus spec.env (a later KEY= replaces an earlier one).
Result<std::vector<std::string>> build_environment(const CommandSpec& spec) {
  std::vector<std::string> env{"PATH=" + std::string(ProcessRunner::kCleanPath),
                               "LANG=" + std::string(ProcessRunner::kCleanLang)};
  for (const auto& entry : spec.env) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error::invalid("an environment entry for '" + spec.argv[0] + "' is not of the form KEY=VALUE");
    std::string_view key(entry.data(), eq + 1);
    auto same =
        std::find_if(env.begin(), env.end(), [&](const std::string& e) { return e.starts_with(key); });
    if (same != env.end())
      *same = entry;
    else
      env.push_back(entry);
  }
  return env;
}

std::string env_value(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=') return e.substr(key.size() + 1);
  return {};
}

// argv[0] with a '/' is used as is; otherwise it is looked up in the child's PATH (never the
// daemon's: posix_spawnp would use ours).
Result<std::string> resolve_program(const std::string& program, const std::string& path) {
  if (program.find('/') != std::string::npos) return program;
  bool found_not_executable = false;
  std::size_t begin = 0;
  while (begin <= path.size()) {
    auto end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(begin, end - begin);
    begin = end + 1;
    if (dir.empty()) continue;  // an empty entry would mean the daemon's working directory
    std::string candidate = dir + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    found_not_executable = true;
  }
  if (found_not_executable)
    return Error::failed("cannot start '" + program + "': it is in PATH but not executable");
  return Error::not_found("cannot start '" + program + "': no such program in PATH (" + path + ")");
}

Error spawn_error(const std::string& program, const std::string& resolved, int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Error::not_found("cannot start '" + program + "': " + resolved + " does not exist");
    case EACCES:
      return Error::failed("cannot start '" + program + "': permission denied on " + resolved);
    case ENOEXEC:
      return Error::failed("cannot start '" + program + "': " + resolved + " is not an executable format");
    default:
      return Error::failed("cannot start '" + program + "': " + errno_text(err));
  }
}

// Has the child exited (it stays a zombie: its pid, and so its process group id, cannot be reused
// until we reap it, which makes the final group kill safe)?
bool has_exited(pid_t pid) {
  siginfo_t info{};
  int rc = retry_eintr(
      [&] { return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT); });
  if (rc != 0) return errno == ECHILD;  // reaped behind our back: nothing left to wait for
  return info.si_pid != 0;
}

// Reads what is available now; returns false once the writer side is closed.
bool drain(int fd, TailBuffer& buffer) {
  // Filled by read() before any byte is used; zeroing 64 KiB per call would be wasted work.
  std::array<char, 64 * 1024> chunk;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  // Bounded per call so a tool that writes without pause cannot starve the deadline check.
  for (int i = 0; i < 16; ++i) {
    ssize_t n = retry_eintr([&] { return ::read(fd, chunk.data(), chunk.size()); });
    if (n > 0) {
      buffer.append(chunk.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK;  // any other error: treat as closed
  }
  return true;
}

int poll_timeout_ms(Clock::time_point now, Clock::time_point until) {
  if (until <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
  return static_cast<int>(std::min<long long>(ms, 60'000));
}

}  // namespace

Result<CommandOutput> ProcessRunner::run(const CommandSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty())
    return Error::invalid("cannot start a command with an empty argv");
  const std::string& program = spec.argv[0];

  auto env = build_environment(spec);
  if (!env) return std::move(env).error();
  auto resolved = resolve_program(program, env_value(*env, "PATH"));
  if (!resolved) return std::move(resolved).error();

  auto out_pipe = make_pipe();
  if (!out_pipe) return std::move(out_pipe).error();
  auto err_pipe = make_pipe();
  if (!err_pipe) return std::move(err_pipe).error();

  SpawnActions actions;
  SpawnAttr attr;
  if (!actions.ok() || !attr.ok()) return Error::failed("cannot start '" + program + "': out of memory");
  int rc = ::posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(actions.get(), out_pipe->write.get(), 1);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(actions.get(), err_pipe->write.get(), 2);
  // Everything else the daemon holds (sockets, the D-Bus connection, other clusters' pipes) stays
  // out of the child. glibc has no POSIX_SPAWN_CLOEXEC_DEFAULT; closefrom is its equivalent.
  if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(actions.get(), 3);

  sigset_t no_signals, all_signals;
  ::sigemptyset(&no_signals);
  ::sigfillset(&all_signals);
  if (rc == 0)
    rc = ::posix_spawnattr_setflags(attr.get(),
                                    POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = ::posix_spawnattr_setpgroup(attr.get(), 0);
  // The daemon may block or ignore signals (SIGPIPE, SIGTERM in its loop thread); the child must not
  // inherit that, or the group kill and broken pipes would not end it.
  if (rc == 0) rc = ::posix_spawnattr_setsigmask(attr.get(), &no_signals);
  if (rc == 0) rc = ::posix_spawnattr_setsigdefault(attr.get(), &all_signals);
  if (rc != 0) return Error::failed("cannot prepare to start '" + program + "': " + errno_text(rc));

  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const auto& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(env->size() + 1);
  for (const auto& e : *env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const auto start = Clock::now();
  pid_t pid = -1;
  rc = ::posix_spawn(&pid, resolved->c_str(), actions.get(), attr.get(), argv.data(), envp.data());
  if (rc != 0) return spawn_error(program, *resolved, rc);

  // Only the child holds the write ends now, so EOF on our side means it (and its children) closed them.
  out_pipe->write.reset();
  err_pipe->write.reset();
  UniqueFd pidfd(::pidfd_open(pid, 0));  // when unavailable we fall back to a short poll period

  TailBuffer out(options_.max_output_bytes), err(options_.max_output_bytes);
  bool out_open = true, err_open = true;
  bool exited = false, timed_out = false, term_sent = false, kill_sent = false;
  const auto deadline = start + spec.timeout;
  Clock::time_point kill_at{}, drain_until{};

  for (;;) {
    auto now = Clock::now();
    if (!exited && has_exited(pid)) {
      exited = true;
      drain_until = now + options_.drain_after_exit;
      // The leader is gone but helpers it started may still run; on a timeout they go too.
      if (timed_out) ::kill(-pid, SIGKILL);
    }
    if (exited) {
      if ((!out_open && !err_open) || now >= drain_until) break;
    } else if (!term_sent && now >= deadline) {
      timed_out = term_sent = true;
      ::kill(-pid, SIGTERM);
      kill_at = now + options_.kill_grace;
    } else if (term_sent && !kill_sent && now >= kill_at) {
      kill_sent = true;
      ::kill(-pid, SIGKILL);
    }

    Clock::time_point wake = now + std::chrono::seconds(1);
    if (exited)
      wake = drain_until;
    else if (!term_sent)
      wake = deadline;
    else if (!kill_sent)
      wake = kill_at;
    int timeout_ms = poll_timeout_ms(now, wake);
    if (!exited && !pidfd) timeout_ms = std::min(timeout_ms, 20);

    std::array<pollfd, 3> fds{};
    nfds_t n = 0;
    int out_idx = -1, err_idx = -1;
    if (out_open) {
      out_idx = static_cast<int>(n);
      fds[n++] = {out_pipe->read.get(), POLLIN, 0};
    }
    if (err_open) {
      err_idx = static_cast<int>(n);
      fds[n++] = {err_pipe->read.get(), POLLIN, 0};
    }
    if (!exited && pidfd) fds[n++] = {pidfd.get(), POLLIN, 0};
    int ready = ::poll(fds.data(), n, timeout_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      // poll cannot fail here short of memory pressure; end the program rather than leave it behind.
      ::kill(-pid, SIGKILL);
      break;
    }
    if (out_idx >= 0 && fds[out_idx].revents != 0) out_open = drain(out_pipe->read.get(), out);
    if (err_idx >= 0 && fds[err_idx].revents != 0) err_open = drain(err_pipe->read.get(), err);
  }

  int status = 0;
  pid_t waited = retry_eintr([&] { return ::waitpid(pid, &status, 0); });
  if (waited != pid)
    return Error::failed("the exit status of '" + program + "' was lost: " + errno_text(errno) +
                         " (something else in the daemon reaped it)");

  CommandOutput result;
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  result.timed_out = timed_out;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.exit_code = -1;
    result.term_signal = WTERMSIG(status);
  }
  result.out = out.finish();
  result.err = err.finish();
  return result;
}

}  // namespace mhafb

// SshRemoteShell: one command per SSH connection, bounded by the command's deadline (see the header).
#include "exec/ssh_remote_shell.hpp"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <memory>
#include <utility>

#include "exec/process_runner.hpp"

namespace mhafb {
namespace {

using ssh::Clock;

// Keeps the last `cap` bytes of a stream, like the local ProcessRunner (tools print their verdict
// last), and marks a cut the same way so ProcessRunner::truncated() recognises it.
class TailCapture {
 public:
  explicit TailCapture(std::size_t cap) : cap_(std::max<std::size_t>(cap, 1)) {}

  void add(const char* bytes, std::size_t n) {
    data_.append(bytes, n);
    if (data_.size() > 2 * cap_ + 64 * 1024) compact();
  }

  std::string finish() && {
    compact();
    if (dropped_ == 0) return std::move(data_);
    // Start at a whole line when one begins in the kept text: parsers read lines.
    const auto nl = data_.find('\n');
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
    const std::size_t drop = data_.size() - cap_;
    dropped_ += drop;
    data_.erase(0, drop);
  }

  std::size_t cap_;
  std::string data_;
  std::uint64_t dropped_ = 0;
};

// OpenSSH sends the signal name without "SIG" (RFC 4254 6.10); other servers may keep it.
int signal_number(std::string_view name) {
  if (name.starts_with("SIG")) name.remove_prefix(3);
  static constexpr std::pair<std::string_view, int> kSignals[] = {
      {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},   {"CHLD", SIGCHLD},     {"FPE", SIGFPE},
      {"HUP", SIGHUP},   {"ILL", SIGILL},   {"INT", SIGINT},   {"KILL", SIGKILL},     {"PIPE", SIGPIPE},
      {"PROF", SIGPROF}, {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV}, {"SYS", SIGSYS},       {"TERM", SIGTERM},
      {"TRAP", SIGTRAP}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"XCPU", SIGXCPU},
      {"XFSZ", SIGXFSZ},
  };
  for (const auto& [n, number] : kSignals)
    if (n == name) return number;
  return -1;
}

long long elapsed_ms(Clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count();
}

// What happened to a command once its exec request was accepted.
enum class Ending { Completed, TimedOut, Lost };

class RunningCommand {
 public:
  RunningCommand(ssh::Connection& connection, ssh::Channel& channel, Clock::time_point deadline,
                 std::size_t max_output_bytes)
      : connection_(connection),
        channel_(channel),
        deadline_(deadline),
        out_(max_output_bytes),
        err_(max_output_bytes) {}

  Ending finish(CommandOutput& output) {
    // The local runner gives commands /dev/null as stdin; EOF right away is the same promise.
    const bool closed = retry([&] { return libssh2_channel_send_eof(channel_.get()); }) && read_all() &&
                        retry([&] { return libssh2_channel_close(channel_.get()); }) &&
                        retry([&] { return libssh2_channel_wait_closed(channel_.get()); });
    output.out = std::move(out_).finish();
    output.err = std::move(err_).finish();
    if (!closed) return ending_;
    channel_.mark_closed();

    // Only valid after wait_closed: the status arrives just before the server's close.
    char* signal_name = nullptr;
    std::size_t signal_name_len = 0;
    libssh2_channel_get_exit_signal(channel_.get(), &signal_name, &signal_name_len, nullptr, nullptr, nullptr,
                                    nullptr);
    if (signal_name != nullptr) {
      output.term_signal = signal_number(std::string_view(signal_name, signal_name_len));
      output.exit_code = -1;
      libssh2_free(connection_.session(), signal_name);
    } else {
      output.exit_code = libssh2_channel_get_exit_status(channel_.get());
      output.term_signal = 0;
    }
    return Ending::Completed;
  }

  const std::string& lost_reason() const { return lost_reason_; }

 private:
  // Repeats a libssh2 call until it stops saying EAGAIN; false on the deadline or a lost connection.
  template <class Call>
  bool retry(Call call) {
    for (;;) {
      const int rc = call();
      if (rc == 0) return true;
      if (rc != LIBSSH2_ERROR_EAGAIN) return lose(rc);
      if (!connection_.wait(deadline_)) {
        ending_ = Ending::TimedOut;
        return false;
      }
    }
  }

  bool lose(long rc) {
    // libssh2's own text is often just the function that failed ("transport read").
    switch (rc) {
      case LIBSSH2_ERROR_SOCKET_DISCONNECT:
        lost_reason_ = "the server closed the connection";
        break;
      case LIBSSH2_ERROR_SOCKET_RECV:
      case LIBSSH2_ERROR_SOCKET_SEND:
        lost_reason_ = "socket error";
        break;
      default:
        lost_reason_ = "libssh2 error " + std::to_string(rc);
    }
    if (const std::string detail = connection_.last_error(); !detail.empty()) lost_reason_ += ": " + detail;
    ending_ = Ending::Lost;
    return false;
  }

  // Drains stdout and stderr together until the server's EOF: reading only one of them would let
  // the other fill the channel window and stall the remote command.
  bool read_all() {
    char buffer[32 * 1024];
    for (;;) {
      bool got_data = false;
      bool would_block = false;
      for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
        for (;;) {
          const ssize_t n = libssh2_channel_read_ex(channel_.get(), stream, buffer, sizeof buffer);
          if (n > 0) {
            (stream == 0 ? out_ : err_).add(buffer, static_cast<std::size_t>(n));
            got_data = true;
            continue;
          }
          if (n == LIBSSH2_ERROR_EAGAIN) {
            would_block = true;
          } else if (n < 0) {
            return lose(n);
          }
          break;  // 0: this stream has ended
        }
      }
      if (libssh2_channel_eof(channel_.get()) != 0) return true;
      if (!would_block) return true;  // both streams ended: the channel closed without an EOF
      // Reading one stream may have queued packets of the other; the socket would not wake us.
      if (got_data || libssh2_poll_channel_read(channel_.get(), 1) > 0) continue;
      if (!connection_.wait(deadline_)) {
        ending_ = Ending::TimedOut;
        return false;
      }
    }
  }

  ssh::Connection& connection_;
  ssh::Channel& channel_;
  Clock::time_point deadline_;
  TailCapture out_;
  TailCapture err_;
  Ending ending_ = Ending::Completed;
  std::string lost_reason_;
};

}  // namespace

std::string posix_shell_quote(std::string_view arg) {
  std::string quoted;
  quoted.reserve(arg.size() + 2);
  quoted += '\'';
  for (char c : arg) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  quoted += '\'';
  return quoted;
}

std::string posix_shell_command_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) {
    if (!line.empty()) line += ' ';
    line += posix_shell_quote(arg);
  }
  return line;
}

Result<CommandOutput> SshRemoteShell::run(const RemoteTarget& target, const CommandSpec& spec) {
  const auto started = Clock::now();
  const auto deadline = started + spec.timeout;
  if (spec.argv.empty()) return Error::invalid("no command given to run on " + target.label());
  if (spec.timeout <= std::chrono::milliseconds::zero())
    return Error::invalid("no time allowed for `" + spec.display() + "` on " + target.label());
  for (const auto& arg : spec.argv) {
    if (arg.find('\0') != std::string::npos)
      return Error::invalid("an argument of the command for " + target.label() + " contains a NUL byte");
  }
  if (!spec.env.empty()) {
    return Error::invalid("environment variables cannot be passed over SSH (to " + target.label() +
                          "); the remote command must not rely on them: " + spec.display());
  }
  const std::string command_line = posix_shell_command_line(spec.argv);

  auto connection = ssh::Connection::open(target, options_, deadline);
  if (!connection) return std::move(connection).error();
  ssh::Connection& conn = **connection;
  auto opened = ssh::Channel::open(conn, deadline);
  if (!opened) return std::move(opened).error();
  ssh::Channel& channel = **opened;

  for (;;) {
    const int rc = libssh2_channel_exec(channel.get(), command_line.c_str());
    if (rc == 0) break;
    if (rc != LIBSSH2_ERROR_EAGAIN) {
      return Error::failed("the SSH server on " + target.label() + " refused to run `" + spec.display() +
                           "`: " + conn.last_error());
    }
    if (!conn.wait(deadline)) {
      return Error::timeout("no answer from " + target.label() + " to the request to run `" + spec.display() +
                            "` within " + std::to_string(elapsed_ms(started)) + " ms; it may have started");
    }
  }

  CommandOutput output;
  RunningCommand command(conn, channel, deadline, options_.max_output_bytes);
  const Ending ending = command.finish(output);
  output.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  switch (ending) {
    case Ending::Completed:
      return output;
    case Ending::TimedOut:
      output.timed_out = true;
      output.exit_code = -1;
      output.term_signal = 0;
      return output;
    case Ending::Lost:
      break;
  }
  return Error::failed("the SSH connection to " + target.label() + " was lost while `" + spec.display() +
                       "` ran (" + command.lost_reason() + "); its outcome is unknown");
}

Status SshRemoteShell::probe(const RemoteTarget& target, std::chrono::milliseconds timeout) {
  if (timeout <= std::chrono::milliseconds::zero())
    return Error::invalid("no time allowed to probe SSH on " + target.label());
  auto connection = ssh::Connection::open(target, options_, Clock::now() + timeout);
  if (!connection) return std::move(connection).error();
  return {};
}

}  // namespace mhafb

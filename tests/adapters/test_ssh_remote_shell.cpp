// SshRemoteShell against a real sshd on 127.0.0.21 (sshd_fixture.hpp): argv quoting end to end,
// exit codes, stderr, signal deaths, deadlines (a long command, a server that never speaks), every
// host key and authentication failure, large outputs and concurrent calls.
#include "exec/ssh_remote_shell.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <thread>

#include "exec/process_runner.hpp"
#include "sshd_fixture.hpp"

namespace mhafb {
namespace {

using namespace std::chrono_literals;
using testing::SshdServer;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// A TCP socket on 127.0.0.21 that listens: the kernel completes connects into its backlog, but no
// one ever says a word — a hung sshd.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    ::inet_pton(AF_INET, SshdServer::kAddress, &addr.sin_addr);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  ~SilentListener() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A port on 127.0.0.21 with no listener: bound once to learn a free number, then released.
int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, SshdServer::kAddress, &addr.sin_addr);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class SshRemoteShellTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<SshdServer>();
    start_error_ = server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override { ASSERT_TRUE(start_error_.empty()) << start_error_; }

  static RemoteTarget target() { return {SshdServer::kAddress, server_->port(), "root"}; }

  static SshClientOptions options() {
    return {server_->client_key().string(), server_->known_hosts().string(), 2'000ms};
  }

  static CommandSpec spec(std::vector<std::string> argv, std::chrono::milliseconds timeout = 10'000ms) {
    CommandSpec s;
    s.argv = std::move(argv);
    s.timeout = timeout;
    return s;
  }

  static Result<CommandOutput> run(std::vector<std::string> argv, SshClientOptions opts = options()) {
    SshRemoteShell shell(std::move(opts));
    return shell.run(target(), spec(std::move(argv)));
  }

  static std::unique_ptr<SshdServer> server_;
  static std::string start_error_;
};

std::unique_ptr<SshdServer> SshRemoteShellTest::server_;
std::string SshRemoteShellTest::start_error_;

TEST(PosixShellQuote, QuotesEveryArgumentAndEscapesSingleQuotes) {
  EXPECT_EQ(posix_shell_quote("plain"), "'plain'");
  EXPECT_EQ(posix_shell_quote(""), "''");
  EXPECT_EQ(posix_shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(posix_shell_quote("$(x) `y` \\ \"z\""), "'$(x) `y` \\ \"z\"'");
  EXPECT_EQ(posix_shell_command_line({"printf", "%s\\n", "a b", "'"}), "'printf' '%s\\n' 'a b' ''\\'''");
}

TEST_F(SshRemoteShellTest, ArgumentsArriveIntact) {
  const std::vector<std::string> args = {"two words",
                                         "it's",
                                         "\"double\"",
                                         "$(echo injected)",
                                         "`echo injected`",
                                         "back\\slash\\n",
                                         "line1\nline2",
                                         "日本語 ü €",
                                         "",
                                         "*",
                                         "~",
                                         "$HOME",
                                         "a;b|c&d",
                                         "!x",
                                         "  lead and trail  ",
                                         "'",
                                         "'\\''",
                                         "-n",
                                         "%s"};
  std::vector<std::string> argv = {"printf", "%s\\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string expected;
  for (const auto& a : args)
    expected += a + "\n";

  auto result = run(argv);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0) << result->err;
  EXPECT_EQ(result->term_signal, 0);
  EXPECT_FALSE(result->timed_out);
  EXPECT_EQ(result->out, expected);
  EXPECT_EQ(result->err, "");
  EXPECT_TRUE(result->succeeded());
}

TEST_F(SshRemoteShellTest, ExitCodeAndStderrAreReported) {
  auto result = run({"sh", "-c", "echo to-out; echo to-err >&2; exit 3"});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 3);
  EXPECT_EQ(result->term_signal, 0);
  EXPECT_EQ(result->out, "to-out\n");
  EXPECT_EQ(result->err, "to-err\n");
  EXPECT_FALSE(result->succeeded());

  auto missing = run({"/nonexistent/program"});
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_EQ(missing->exit_code, 127);
  EXPECT_NE(missing->err.find("/nonexistent/program"), std::string::npos) << missing->err;
}

TEST_F(SshRemoteShellTest, SignalDeathIsReportedAsSignal) {
  auto result = run({"sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->term_signal, SIGTERM);
  EXPECT_EQ(result->exit_code, -1);
  EXPECT_FALSE(result->succeeded());
}

TEST_F(SshRemoteShellTest, StdinIsAtEndOfFile) {
  auto result = run({"cat"});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_FALSE(result->timed_out);
  EXPECT_EQ(result->out, "");
}

TEST_F(SshRemoteShellTest, NoEnvironmentIsSent) {
  // The remote shell's own environment only: nothing of ours leaks over (e.g. a test marker).
  // No other thread runs while the environment changes (run() is synchronous).
  ASSERT_EQ(::setenv("MHAFB_SSH_LEAK_CHECK", "leaked", 1), 0);  // NOLINT(concurrency-mt-unsafe)
  auto result = run({"sh", "-c", "echo \"[${MHAFB_SSH_LEAK_CHECK-}]\""});
  ::unsetenv("MHAFB_SSH_LEAK_CHECK");  // NOLINT(concurrency-mt-unsafe)
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->out, "[]\n");
}

TEST_F(SshRemoteShellTest, InvalidRequestsAreRefusedBeforeConnecting) {
  SshRemoteShell shell(options());
  auto with_env = spec({"true"});
  with_env.env = {"PERL5LIB=/opt/lib"};
  auto refused = shell.run(target(), with_env);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::Invalid);

  auto empty = shell.run(target(), spec({}));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind, ErrorKind::Invalid);

  auto nul = shell.run(target(), spec({"echo", std::string("a\0b", 3)}));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().kind, ErrorKind::Invalid);

  auto no_time = shell.run(target(), spec({"true"}, 0ms));
  ASSERT_FALSE(no_time.ok());
  EXPECT_EQ(no_time.error().kind, ErrorKind::Invalid);
  auto no_probe_time = shell.probe(target(), 0ms);
  ASSERT_FALSE(no_probe_time.ok());
  EXPECT_EQ(no_probe_time.error().kind, ErrorKind::Invalid);
}

TEST_F(SshRemoteShellTest, LongCommandTimesOutWithPartialOutput) {
  // The command never ends by itself. sshd does not kill a command whose client went away (see the
  // header), but it closes its pipes: the next `echo tick` dies of SIGPIPE, so nothing outlives us.
  SshRemoteShell shell(options());
  const auto start = Clock::now();
  auto result = shell.run(
      target(), spec({"sh", "-c", "echo started; while :; do sleep 0.2; echo tick; done"}, 2'500ms));
  const auto took = since(start);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->timed_out);
  EXPECT_EQ(result->exit_code, -1);
  EXPECT_EQ(result->term_signal, 0);
  EXPECT_FALSE(result->succeeded());
  EXPECT_TRUE(result->out.starts_with("started\ntick\n")) << result->out;
  EXPECT_GE(took, 2'500ms);
  EXPECT_LT(took, 4'500ms) << "the deadline was not enforced";
}

TEST_F(SshRemoteShellTest, ConnectionLostWhileRunningIsAFailureWithUnknownOutcome) {
  // The command's parent is sshd's per-connection process: killing it drops the connection with
  // neither an exit status nor a channel close.
  SshRemoteShell shell(options());
  const auto start = Clock::now();
  auto result = shell.run(target(), spec({"sh", "-c", "echo before; kill -KILL $PPID; sleep 1"}, 5'000ms));
  ASSERT_FALSE(result.ok()) << "exit " << result->exit_code << " out " << result->out;
  EXPECT_EQ(result.error().kind, ErrorKind::Failed);
  EXPECT_NE(result.error().message.find("outcome is unknown"), std::string::npos) << result.error().message;
  EXPECT_LT(since(start), 4'000ms);
}

TEST_F(SshRemoteShellTest, UnknownHostKeyIsRefused) {
  auto opts = options();
  opts.known_hosts_file = server_->write_known_hosts("empty_known_hosts", "").string();
  auto result = run({"true"}, opts);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::HostKey);
  const std::string port = std::to_string(server_->port());
  EXPECT_NE(result.error().message.find("[127.0.0.21]:" + port + " is not in " + opts.known_hosts_file),
            std::string::npos)
      << result.error().message;
  EXPECT_NE(result.error().message.find("ssh-keyscan -p " + port + " 127.0.0.21 >> " + opts.known_hosts_file),
            std::string::npos)
      << result.error().message;
  // The fingerprint in the message is the one ssh-keygen shows for the server's key.
  const auto listing = server_->path("fingerprint.txt");
  ASSERT_EQ(testing::run_program(
                {"/usr/bin/ssh-keygen", "-l", "-f", server_->path("host_ed25519.pub").string()}, listing),
            0);
  std::istringstream words(testing::read_text(listing));
  std::string bits, fingerprint;
  words >> bits >> fingerprint;
  ASSERT_TRUE(fingerprint.starts_with("SHA256:")) << testing::read_text(listing);
  EXPECT_NE(result.error().message.find("ssh-ed25519 key " + fingerprint), std::string::npos)
      << result.error().message;
}

TEST_F(SshRemoteShellTest, KeyOfAnotherHostIsNotAccepted) {
  // The right key, but recorded for another port: OpenSSH treats [h]:p entries per port.
  auto opts = options();
  std::string line = server_->known_hosts_line("host_ed25519.pub");
  line.replace(line.find("]:") + 2, std::to_string(server_->port()).size(), "1");
  opts.known_hosts_file = server_->write_known_hosts("other_port_known_hosts", line).string();
  auto result = run({"true"}, opts);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::HostKey) << result.error().message;
}

TEST_F(SshRemoteShellTest, ChangedHostKeyIsRefused) {
  auto opts = options();
  opts.known_hosts_file =
      server_->write_known_hosts("changed_known_hosts", server_->known_hosts_line("impostor_ed25519.pub"))
          .string();
  auto result = run({"touch", server_->path("must-not-exist").string()}, opts);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::HostKey);
  EXPECT_NE(result.error().message.find("CHANGED"), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("man-in-the-middle"), std::string::npos) << result.error().message;
  EXPECT_FALSE(testing::fs::exists(server_->path("must-not-exist")));
}

TEST_F(SshRemoteShellTest, RevokedHostKeyIsRefused) {
  auto opts = options();
  const std::string line = server_->known_hosts_line("host_ed25519.pub");
  opts.known_hosts_file =
      server_->write_known_hosts("revoked_known_hosts", line + "@revoked " + line).string();
  auto result = run({"true"}, opts);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::HostKey);
  EXPECT_NE(result.error().message.find("revoked"), std::string::npos) << result.error().message;
}

TEST_F(SshRemoteShellTest, HostKnownOnlyByItsEcdsaKeyIsAccepted) {
  // Only the ECDSA key is recorded: the Ed25519 key the server would offer first must not be asked for.
  auto opts = options();
  opts.known_hosts_file =
      server_
          ->write_known_hosts("ecdsa_known_hosts",
                              "# comment\n\n" + server_->known_hosts_line("host_ecdsa.pub"))
          .string();
  auto result = run({"echo", "ok"}, opts);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->out, "ok\n");
}

TEST_F(SshRemoteShellTest, HashedKnownHostsAndUnusableLinesWork) {
  const auto file = server_->write_known_hosts(
      "hashed_known_hosts",
      "@cert-authority *.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGarbage\n"
      "[other]:22 sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t\n" +
          server_->known_hosts_line("host_ed25519.pub"));
  ASSERT_EQ(
      testing::run_program({"/usr/bin/ssh-keygen", "-H", "-f", file.string()}, server_->path("keygen.log")),
      0);
  ASSERT_EQ(testing::read_text(file).find("127.0.0.21"), std::string::npos) << "not hashed";
  auto opts = options();
  opts.known_hosts_file = file.string();
  auto result = run({"echo", "ok"}, opts);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->out, "ok\n");
}

TEST_F(SshRemoteShellTest, MissingKnownHostsFileIsAHostKeyError) {
  auto opts = options();
  opts.known_hosts_file = server_->path("no_such_known_hosts").string();
  auto result = run({"true"}, opts);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::HostKey);
  EXPECT_NE(result.error().message.find(opts.known_hosts_file), std::string::npos) << result.error().message;
}

TEST_F(SshRemoteShellTest, WrongClientKeyIsAnAuthError) {
  auto opts = options();
  opts.identity_file = server_->path("stranger_ed25519").string();
  auto result = run({"true"}, opts);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Auth);
  const auto& message = result.error().message;
  EXPECT_NE(message.find("root"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.21"), std::string::npos) << message;
  EXPECT_NE(message.find(opts.identity_file), std::string::npos) << message;

  opts.identity_file = server_->path("no_such_key").string();
  auto missing = run({"true"}, opts);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::Auth);
  EXPECT_NE(missing.error().message.find(opts.identity_file), std::string::npos) << missing.error().message;
}

TEST_F(SshRemoteShellTest, IdentityWithoutPublicKeyFileWorks) {
  const auto copy = server_->path("lonely_ed25519");
  testing::fs::copy_file(server_->client_key(), copy, testing::fs::copy_options::overwrite_existing);
  auto opts = options();
  opts.identity_file = copy.string();
  auto result = run({"echo", "ok"}, opts);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->out, "ok\n");
}

TEST_F(SshRemoteShellTest, ConnectionRefusedIsUnreachable) {
  const int port = unused_port();
  ASSERT_NE(port, 0);
  SshRemoteShell shell(options());
  auto result = shell.run({SshdServer::kAddress, port, "root"}, spec({"true"}));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Unreachable);
  EXPECT_NE(result.error().message.find("refused"), std::string::npos) << result.error().message;
}

TEST_F(SshRemoteShellTest, SilentServerTimesOutWithinTheDeadline) {
  SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  SshRemoteShell shell(options());
  const auto start = Clock::now();
  auto result = shell.run({SshdServer::kAddress, silent.port(), "root"}, spec({"true"}, 700ms));
  const auto took = since(start);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::Timeout) << result.error().message;
  EXPECT_GE(took, 700ms);
  EXPECT_LT(took, 2'700ms) << "the deadline was not enforced";
}

TEST_F(SshRemoteShellTest, ProbeChecksTheWholeLogin) {
  SshRemoteShell good(options());
  auto ok = good.probe(target(), 5'000ms);
  EXPECT_TRUE(ok.ok()) << ok.error().message;

  auto opts = options();
  opts.known_hosts_file = server_->write_known_hosts("probe_empty_known_hosts", "").string();
  SshRemoteShell unknown(opts);
  auto host_key = unknown.probe(target(), 5'000ms);
  ASSERT_FALSE(host_key.ok());
  EXPECT_EQ(host_key.error().kind, ErrorKind::HostKey);

  opts = options();
  opts.identity_file = server_->path("stranger_ed25519").string();
  SshRemoteShell stranger(opts);
  auto auth = stranger.probe(target(), 5'000ms);
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.error().kind, ErrorKind::Auth);

  SilentListener silent;
  const auto start = Clock::now();
  auto hung = good.probe({SshdServer::kAddress, silent.port(), "root"}, 500ms);
  ASSERT_FALSE(hung.ok());
  EXPECT_EQ(hung.error().kind, ErrorKind::Timeout);
  EXPECT_LT(since(start), 2'500ms);

  auto refused = good.probe({SshdServer::kAddress, unused_port(), "root"}, 500ms);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::Unreachable);
}

TEST_F(SshRemoteShellTest, LargeOutputOnBothStreamsIsDrainedCompletely) {
  // Both streams at once and well past the 2 MiB channel window: a reader that drained only one
  // stream would stall the remote side until the deadline.
  auto result =
      run({"sh", "-c",
           "head -c 3000000 /dev/zero | tr '\\0' a & head -c 2500000 /dev/zero | tr '\\0' b >&2; wait"});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_FALSE(result->timed_out);
  EXPECT_TRUE(result->out == std::string(3000000, 'a')) << result->out.size() << " bytes";
  EXPECT_TRUE(result->err == std::string(2500000, 'b')) << result->err.size() << " bytes";
}

TEST_F(SshRemoteShellTest, OutputBeyondTheCapKeepsTheTail) {
  auto opts = options();
  opts.max_output_bytes = 256 * 1024;
  auto result = run({"sh", "-c",
                     "head -c 5000000 /dev/zero | tr '\\0' a; echo; echo verdict; "
                     "head -c 3000000 /dev/zero | tr '\\0' b >&2"},
                    opts);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_FALSE(result->timed_out);
  EXPECT_TRUE(ProcessRunner::truncated(result->out));
  EXPECT_TRUE(result->out.ends_with("\nverdict\n")) << result->out.substr(0, 200);
  EXPECT_LE(result->out.size(), opts.max_output_bytes + 100);
  EXPECT_TRUE(ProcessRunner::truncated(result->err));
  EXPECT_NE(result->err.find(std::to_string(3000000 - opts.max_output_bytes) + " bytes dropped]\n"),
            std::string::npos)
      << result->err.substr(0, 200);
  EXPECT_TRUE(result->err.ends_with(std::string(opts.max_output_bytes, 'b')));
}

TEST_F(SshRemoteShellTest, ConcurrentCommandsOnSeveralThreads) {
  SshRemoteShell shell(options());  // one adapter shared by all threads, as the daemon does
  constexpr int kThreads = 6;
  constexpr int kRounds = 3;
  std::atomic<int> good{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        const std::string word = "thread " + std::to_string(t) + " round " + std::to_string(r);
        auto result = shell.run(target(), spec({"echo", word}));
        if (result.ok() && result->exit_code == 0 && result->out == word + "\n")
          ++good;
        else
          failures[t] = result.ok() ? result->out + result->err : result.error().message;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(good.load(), kThreads * kRounds);
  for (const auto& f : failures)
    EXPECT_EQ(f, "");
}

}  // namespace
}  // namespace mhafb

// Scripted fakes of the engine's ports (ARCHITECTURE.md "Ports, not mocks"): a test writes down the
// calls it expects, in order, each with a canned result; the fakes answer from that script and fail
// the test — showing the expected and the actual call — when a call is unexpected or out of order.
// `verify()` fails when expected calls remain. All fakes of one test share one CallScript, so the
// order across ports (a command, then SQL, then a file move) is checked too.
//
// The same script drives FaultInjector: run a scenario once to count its calls, then re-run it once
// per call k (and per kind of failure) with call k failing, and let the test judge the outcome.
// File operations and state saves are not scripted (MemoryFiles is a little file system, saves are
// recorded) but they count as calls, so the injector fails them too.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ports/audit_sink.hpp"
#include "ports/clock_port.hpp"
#include "ports/command_port.hpp"
#include "ports/files_port.hpp"
#include "ports/remote_shell_port.hpp"
#include "ports/sql_port.hpp"

namespace mhafb::test {

enum class CallKind { Sql, Command, Remote, Probe, File, Save };
const char* to_string(CallKind kind);

// One call a fake received.
struct Call {
  CallKind kind = CallKind::Sql;
  std::string target;  // Sql: the endpoint's host; Remote/Probe: the target host; File: the path
  std::string text;    // Sql: the statement text; Command/Remote: argv display; File: the operation
  SqlStatement statement;
  CommandSpec spec;
  RemoteTarget remote;

  bool mutates() const;
  std::string describe() const;  // e.g. "sql on 127.0.0.11: SET GLOBAL read_only = 1"
};

// The canned answer to a call; the member that fits the call's kind is set.
struct Reply {
  std::optional<Result<ResultSet>> rows;        // Sql
  std::optional<Result<CommandOutput>> output;  // Command, Remote
  std::optional<Status> status;                 // Probe, File, Save
};

struct Expectation {
  CallKind kind = CallKind::Sql;
  std::string what;  // how the expected call is shown in failure messages
  std::function<bool(const Call&)> matches;
  Reply reply;
};

// A failure the injector puts in place of one call's result.
struct Fault {
  std::string name;  // "sql unreachable", "exit 1", ...
  Reply reply;
};

// The failures tried at a call of `kind`: SQL unreachable and SQL error; command spawn error,
// non-zero exit and timeout; remote unreachable, host key, auth, exit and timeout; probe errors;
// file and save errors.
std::vector<Fault> faults_for(CallKind kind);

class CallScript {
 public:
  void expect(Expectation e) { pending_.push_back(std::move(e)); }

  // Scripted calls (Sql, Command, Remote, Probe): checks the order and answers.
  Reply on_call(const Call& call);
  // Unscripted calls (File, Save): recorded; an Error only when the injector fails this call.
  std::optional<Error> on_event(const Call& call);

  // Fails the test when expected calls remain (not after an injected failure: the script past the
  // failure is dropped).
  void verify();

  const std::vector<Call>& calls() const { return calls_; }
  std::vector<Call> calls_of(CallKind kind) const;
  std::size_t pending() const { return pending_.size(); }

  // Fault injection: call `index` gets `fault` instead of its scripted result. After it, the rest of
  // the script is dropped and later calls are answered by the responder when it gives an answer,
  // else with a failure (scripted kinds) or normally (files, saves): "the world broke at that call".
  void inject(std::size_t index, Fault fault);
  using Responder = std::function<std::optional<Reply>(const Call&)>;
  void after_failure(Responder responder) { responder_ = std::move(responder); }
  // A model of the world that answers every call the script does not cover (before and after an
  // injected failure): with it, a scenario may script nothing and let the model answer, and an
  // injected failure fails one call while the world goes on. nullopt: the model does not know the
  // call, which fails the test like an unexpected call.
  void answer_with(Responder world) { world_ = std::move(world); }
  bool injected() const { return injected_; }
  std::optional<std::size_t> injected_at() const { return inject_index_; }
  std::vector<Call> calls_after_failure() const;

 private:
  Reply failure_reply(const Call& call, const std::string& why) const;

  std::vector<Expectation> pending_;
  std::vector<Call> calls_;
  std::optional<std::size_t> inject_index_;
  std::optional<Fault> fault_;
  bool injected_ = false;
  Responder responder_;
  Responder world_;
};

// ---------------------------------------------------------------- result helpers

ResultSet rows(std::vector<std::string> columns, std::vector<std::vector<std::optional<std::string>>> data);
ResultSet no_rows();
CommandOutput exited(int code, std::string out = {}, std::string err = {});
CommandOutput timed_out(std::string out = {});

// ---------------------------------------------------------------- the fakes

class ScriptedSql final : public SqlPort {
 public:
  explicit ScriptedSql(CallScript& script) : script_(script) {}

  // `host` is the endpoint's host (the MHA hostname, or its ip when set).
  ScriptedSql& expect(std::string host, std::string exact_text, Result<ResultSet> result);
  ScriptedSql& expect_prefix(std::string host, std::string prefix, Result<ResultSet> result);
  ScriptedSql& expect_if(std::string host, std::string what, std::function<bool(const SqlStatement&)> pred,
                         Result<ResultSet> result);

  Result<ResultSet> query(const Endpoint& server, const SqlStatement& statement) override;

  // Statements issued (all hosts when `host` is empty), in order.
  std::vector<SqlStatement> issued(const std::string& host = {}) const;
  std::vector<std::string> issued_texts(const std::string& host = {}) const;

 private:
  CallScript& script_;
};

class ScriptedCommands final : public CommandPort {
 public:
  explicit ScriptedCommands(CallScript& script) : script_(script) {}

  ScriptedCommands& expect(std::vector<std::string> argv, Result<CommandOutput> result);
  // argv starts with `prefix` (e.g. {"masterha_check_ssh"}).
  ScriptedCommands& expect_prefix(std::vector<std::string> prefix, Result<CommandOutput> result);
  ScriptedCommands& expect_if(std::string what, std::function<bool(const CommandSpec&)> pred,
                              Result<CommandOutput> result);

  Result<CommandOutput> run(const CommandSpec& spec) override;
  std::vector<CommandSpec> issued() const;

 private:
  CallScript& script_;
};

class ScriptedRemote final : public RemoteShellPort {
 public:
  explicit ScriptedRemote(CallScript& script) : script_(script) {}

  ScriptedRemote& expect_run(std::string host, std::vector<std::string> argv, Result<CommandOutput> result);
  ScriptedRemote& expect_probe(std::string host, Status result);

  Result<CommandOutput> run(const RemoteTarget& target, const CommandSpec& spec) override;
  Status probe(const RemoteTarget& target, std::chrono::milliseconds timeout) override;
  std::vector<Call> issued() const;

 private:
  CallScript& script_;
};

class FakeClock final : public ClockPort {
 public:
  explicit FakeClock(TimePoint start) : now_(start) {}
  TimePoint now() override {
    TimePoint t = now_;
    now_ += step_;
    return t;
  }
  // Waits advance the fake time instead of sleeping.
  void sleep_for(std::chrono::milliseconds d) override {
    now_ += d;
    slept_ += d;
  }
  std::chrono::milliseconds slept() const { return slept_; }
  void advance(std::chrono::milliseconds d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }
  // Every now() advances the clock by `d` afterwards (durations measured by the code under test).
  void auto_advance(std::chrono::milliseconds d) { step_ = d; }
  TimePoint peek() const { return now_; }

 private:
  TimePoint now_;
  std::chrono::milliseconds step_{0};
  std::chrono::milliseconds slept_{0};
};

// An in-memory file system with mtimes. Every operation is a call in the script (so the injector
// can fail it); `fail_next` makes the next matching operation fail for hand-written failure tests.
class MemoryFiles final : public FilesPort {
 public:
  struct File {
    std::string content;
    TimePoint mtime{};
    unsigned mode = 0644;
  };

  MemoryFiles(ClockPort& clock, CallScript& script) : clock_(clock), script_(script) {}

  void put(const std::string& path, std::string content, std::optional<TimePoint> mtime = std::nullopt);
  void remove(const std::string& path) { files_.erase(path); }
  bool exists(const std::string& path) const { return files_.count(path) != 0; }
  const File* find(const std::string& path) const;
  std::vector<std::string> paths_under(const std::string& dir) const;
  // The next `op` ("stat", "read_tail", "move", "write_atomic") on a path starting with
  // `path_prefix` fails with `error`.
  void fail_next(std::string op, std::string path_prefix, Error error);

  Result<FileInfo> stat(const std::string& path) override;
  Result<std::string> read_tail(const std::string& path, std::uint64_t max_bytes) override;
  Status move(const std::string& from, const std::string& to) override;
  Status write_atomic(const std::string& path, const std::string& content, unsigned mode) override;

 private:
  std::optional<Error> event(const std::string& op, const std::string& path, const std::string& text);

  struct Rule {
    std::string op;
    std::string prefix;
    Error error;
  };
  ClockPort& clock_;
  CallScript& script_;
  std::map<std::string, File> files_;
  std::vector<Rule> rules_;
};

class RecordingAudit final : public AuditSink {
 public:
  void record(const AuditRecord& record) override { records.push_back(record); }

  std::vector<AuditRecord> of(AuditKind kind) const;
  // True when a record of `kind` has `needle` in its message.
  bool has(AuditKind kind, const std::string& needle) const;
  // True when `needle` appears anywhere in any record (message, server, any field).
  bool mentions(const std::string& needle) const;
  std::string dump() const;

  std::vector<AuditRecord> records;
};

// ---------------------------------------------------------------- fault injection

struct InjectedFault {
  std::size_t index = 0;  // k: the failing call's number
  Call call;              // the call that failed
  std::string fault;      // the fault's name
  std::vector<Call> after;
  std::string describe() const;
};

// Runs `scenario` once on a fresh World to count its calls (the happy path must consume its whole
// script), then once per call k = 0..N-1 and per fault that fits that call's kind, with call k
// failing, and hands each run's World to `check`. A World is default-constructible and has a
// member `CallScript script` that all its fakes share.
template <class World>
class FaultInjector {
 public:
  using Scenario = std::function<void(World&)>;
  using Check = std::function<void(World&, const InjectedFault&)>;

  explicit FaultInjector(Scenario scenario) : scenario_(std::move(scenario)) {}

  // Returns the number of injected runs.
  std::size_t run(const Check& check) {
    std::vector<Call> happy;
    {
      World w;
      scenario_(w);
      w.script.verify();
      happy = w.script.calls();
    }
    happy_calls_ = happy.size();
    EXPECT_FALSE(happy.empty()) << "the scenario made no call: nothing to inject";
    std::size_t runs = 0;
    for (std::size_t k = 0; k < happy.size(); ++k) {
      for (const Fault& fault : faults_for(happy[k].kind)) {
        World w;
        w.script.inject(k, fault);
        scenario_(w);
        InjectedFault info{k, happy[k], fault.name, w.script.calls_after_failure()};
        SCOPED_TRACE(info.describe());
        if (!w.script.injected()) {
          ADD_FAILURE() << "the scenario did not reach call #" << k << " (" << happy[k].describe()
                        << ") again: it is not deterministic";
          continue;
        }
        check(w, info);
        ++runs;
      }
    }
    return runs;
  }

  std::size_t happy_calls() const { return happy_calls_; }

 private:
  Scenario scenario_;
  std::size_t happy_calls_ = 0;
};

}  // namespace mhafb::test

// The scripted fakes' bookkeeping: order checks with readable failure messages, the in-memory file
// system and the failures the injector tries at each kind of call.
#include "support/scripted_fakes.hpp"

#include <algorithm>
#include <sstream>

namespace mhafb::test {

const char* to_string(CallKind kind) {
  switch (kind) {
    case CallKind::Sql:
      return "sql";
    case CallKind::Command:
      return "command";
    case CallKind::Remote:
      return "remote";
    case CallKind::Probe:
      return "probe";
    case CallKind::File:
      return "file";
    case CallKind::Save:
      return "save";
  }
  return "?";
}

bool Call::mutates() const {
  switch (kind) {
    case CallKind::Sql:
      return statement.mutates;
    case CallKind::Command:
    case CallKind::Remote:
      return spec.mutates;
    case CallKind::File:
      return text.rfind("move", 0) == 0 || text.rfind("write", 0) == 0;
    case CallKind::Save:
      return true;
    case CallKind::Probe:
      return false;
  }
  return true;
}

std::string Call::describe() const {
  switch (kind) {
    case CallKind::Sql:
      return "sql on " + target + ": " + text;
    case CallKind::Command:
      return "command: " + text;
    case CallKind::Remote:
      return "remote on " + target + ": " + text;
    case CallKind::Probe:
      return "ssh probe of " + target;
    case CallKind::File:
      return "file " + text;
    case CallKind::Save:
      return "save of the state";
  }
  return text;
}

std::vector<Fault> faults_for(CallKind kind) {
  std::vector<Fault> out;
  auto sql = [&](std::string name, Error e) {
    Fault f{std::move(name), {}};
    f.reply.rows = Result<ResultSet>(std::move(e));
    out.push_back(std::move(f));
  };
  auto cmd = [&](std::string name, Result<CommandOutput> r) {
    Fault f{std::move(name), {}};
    f.reply.output = std::move(r);
    out.push_back(std::move(f));
  };
  auto status = [&](std::string name, Error e) {
    Fault f{std::move(name), {}};
    f.reply.status = Status(std::move(e));
    out.push_back(std::move(f));
  };
  switch (kind) {
    case CallKind::Sql:
      sql("sql unreachable", Error{ErrorKind::Unreachable, "Lost connection to server during query", 2013});
      sql("sql error",
          Error{ErrorKind::Failed, "Lock wait timeout exceeded; try restarting transaction", 1205});
      break;
    case CallKind::Command:
      cmd("spawn error", Error::failed("cannot start the program: No such file or directory"));
      cmd("exit 1", exited(1, "", "injected failure\n"));
      cmd("timed out", timed_out());
      break;
    case CallKind::Remote:
      cmd("ssh unreachable", Error::unreachable("connect to port 22: Connection refused"));
      cmd("ssh host key",
          Error{ErrorKind::HostKey, "the host key of 127.0.0.11 does not match known_hosts", 0});
      cmd("ssh auth", Error{ErrorKind::Auth, "public key authentication as root failed", 0});
      cmd("remote exit 1", exited(1, "", "Job for mariadb.service failed.\n"));
      cmd("remote timed out", timed_out());
      break;
    case CallKind::Probe:
      status("probe unreachable", Error::unreachable("connect to port 22: No route to host"));
      status("probe host key", Error{ErrorKind::HostKey, "the host key does not match known_hosts", 0});
      status("probe auth", Error{ErrorKind::Auth, "public key authentication as root failed", 0});
      status("probe timeout", Error::timeout("no SSH banner within 5000 ms"));
      break;
    case CallKind::File:
      status("file error", Error::failed("No space left on device"));
      break;
    case CallKind::Save:
      status("save error", Error::failed("cannot write the state file: No space left on device"));
      break;
  }
  return out;
}

// ---------------------------------------------------------------- CallScript

Reply CallScript::failure_reply(const Call& call, const std::string& why) const {
  Reply r;
  switch (call.kind) {
    case CallKind::Sql:
      r.rows = Result<ResultSet>(Error{
          ErrorKind::Unreachable, "Can't connect to server on '" + call.target + "' (" + why + ")", 2003});
      break;
    case CallKind::Command:
      r.output = Result<CommandOutput>(Error::failed("cannot start the program (" + why + ")"));
      break;
    case CallKind::Remote:
      r.output =
          Result<CommandOutput>(Error::unreachable("cannot connect to " + call.target + " (" + why + ")"));
      break;
    case CallKind::Probe:
      r.status = Status(Error::unreachable("cannot connect to " + call.target + " (" + why + ")"));
      break;
    case CallKind::File:
    case CallKind::Save:
      r.status = Status{};
      break;
  }
  return r;
}

void CallScript::inject(std::size_t index, Fault fault) {
  inject_index_ = index;
  fault_ = std::move(fault);
  injected_ = false;
}

Reply CallScript::on_call(const Call& call) {
  const std::size_t n = calls_.size();
  calls_.push_back(call);
  if (injected_) {
    if (responder_)
      if (auto r = responder_(call)) return *r;
    if (world_) {
      if (auto r = world_(call)) return *r;
      ADD_FAILURE() << "the world model does not know call #" << n << ": " << call.describe();
      return failure_reply(call, "unknown to the world model");
    }
    return failure_reply(call, "the world broke at the injected failure");
  }
  if (inject_index_ && n == *inject_index_) {
    if (!pending_.empty() && !(pending_.front().kind == call.kind && pending_.front().matches(call)))
      ADD_FAILURE() << "fault injection: call #" << n
                    << " differs from the happy path\n  expected: " << pending_.front().what
                    << "\n  actual:   " << call.describe();
    injected_ = true;
    pending_.clear();
    return fault_->reply;
  }
  if (pending_.empty()) {
    if (world_) {
      if (auto r = world_(call)) return *r;
      ADD_FAILURE() << "the world model does not know call #" << n << ": " << call.describe();
      return failure_reply(call, "unknown to the world model");
    }
    ADD_FAILURE() << "unexpected call #" << n << ": " << call.describe()
                  << "\n  the script expected no more calls";
    return failure_reply(call, "unscripted call");
  }
  if (pending_.front().kind == call.kind && pending_.front().matches(call)) {
    Reply r = std::move(pending_.front().reply);
    pending_.erase(pending_.begin());
    return r;
  }
  std::optional<std::size_t> later;
  for (std::size_t j = 1; j < pending_.size(); ++j)
    if (pending_[j].kind == call.kind && pending_[j].matches(call)) {
      later = j;
      break;
    }
  ADD_FAILURE() << "call #" << n << " out of order\n  expected: " << pending_.front().what
                << "\n  actual:   " << call.describe()
                << (later ? "\n  (the actual call is scripted " + std::to_string(*later) + " call(s) later)"
                          : std::string("\n  (the actual call is not in the script)"));
  if (later) {
    Reply r = std::move(pending_[*later].reply);
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(*later));
    return r;
  }
  return failure_reply(call, "call out of order");
}

std::optional<Error> CallScript::on_event(const Call& call) {
  const std::size_t n = calls_.size();
  calls_.push_back(call);
  if (!injected_ && inject_index_ && n == *inject_index_) {
    injected_ = true;
    pending_.clear();
    if (fault_->reply.status && !fault_->reply.status->ok()) return fault_->reply.status->error();
    return Error::failed("injected failure");
  }
  return std::nullopt;
}

void CallScript::verify() {
  if (injected_ || pending_.empty()) return;
  std::ostringstream s;
  s << pending_.size() << " expected call(s) never came:";
  for (const auto& e : pending_)
    s << "\n  " << e.what;
  s << "\n  calls made:";
  for (std::size_t i = 0; i < calls_.size(); ++i)
    s << "\n  #" << i << " " << calls_[i].describe();
  ADD_FAILURE() << s.str();
}

std::vector<Call> CallScript::calls_of(CallKind kind) const {
  std::vector<Call> out;
  for (const auto& c : calls_)
    if (c.kind == kind) out.push_back(c);
  return out;
}

std::vector<Call> CallScript::calls_after_failure() const {
  if (!injected_ || !inject_index_) return {};
  return {calls_.begin() + static_cast<std::ptrdiff_t>(*inject_index_) + 1, calls_.end()};
}

// ---------------------------------------------------------------- helpers

ResultSet rows(std::vector<std::string> columns, std::vector<std::vector<std::optional<std::string>>> data) {
  ResultSet rs;
  rs.columns = std::move(columns);
  for (auto& row : data)
    rs.rows.push_back(SqlRow(row.begin(), row.end()));
  return rs;
}

ResultSet no_rows() {
  return {};
}

CommandOutput exited(int code, std::string out, std::string err) {
  CommandOutput o;
  o.exit_code = code;
  o.out = std::move(out);
  o.err = std::move(err);
  o.duration = std::chrono::milliseconds(25);
  return o;
}

CommandOutput timed_out(std::string out) {
  CommandOutput o;
  o.exit_code = -1;
  o.term_signal = 9;
  o.timed_out = true;
  o.out = std::move(out);
  o.duration = std::chrono::milliseconds(180'000);
  return o;
}

// ---------------------------------------------------------------- ScriptedSql

namespace {
bool host_is(const Call& c, const std::string& host) {
  return c.target == host || c.target + ":" + std::to_string(c.remote.port) == host;
}
}  // namespace

ScriptedSql& ScriptedSql::expect(std::string host, std::string exact_text, Result<ResultSet> result) {
  Expectation e;
  e.kind = CallKind::Sql;
  e.what = "sql on " + host + ": " + exact_text;
  e.matches = [host = std::move(host), exact_text = std::move(exact_text)](const Call& c) {
    return host_is(c, host) && c.statement.text == exact_text;
  };
  e.reply.rows = std::move(result);
  script_.expect(std::move(e));
  return *this;
}

ScriptedSql& ScriptedSql::expect_prefix(std::string host, std::string prefix, Result<ResultSet> result) {
  Expectation e;
  e.kind = CallKind::Sql;
  e.what = "sql on " + host + ": " + prefix + "...";
  e.matches = [host = std::move(host), prefix = std::move(prefix)](const Call& c) {
    return host_is(c, host) && c.statement.text.rfind(prefix, 0) == 0;
  };
  e.reply.rows = std::move(result);
  script_.expect(std::move(e));
  return *this;
}

ScriptedSql& ScriptedSql::expect_if(std::string host, std::string what,
                                    std::function<bool(const SqlStatement&)> pred, Result<ResultSet> result) {
  Expectation e;
  e.kind = CallKind::Sql;
  e.what = "sql on " + host + ": " + std::move(what);
  e.matches = [host = std::move(host), pred = std::move(pred)](const Call& c) {
    return host_is(c, host) && pred(c.statement);
  };
  e.reply.rows = std::move(result);
  script_.expect(std::move(e));
  return *this;
}

Result<ResultSet> ScriptedSql::query(const Endpoint& server, const SqlStatement& statement) {
  Call c;
  c.kind = CallKind::Sql;
  c.target = server.host;
  c.remote.host = server.host;
  c.remote.port = server.port;
  c.text = statement.text;
  c.statement = statement;
  Reply r = script_.on_call(c);
  if (r.rows) return *r.rows;
  return Error::failed("the fake had no SQL answer for this call");
}

std::vector<SqlStatement> ScriptedSql::issued(const std::string& host) const {
  std::vector<SqlStatement> out;
  for (const auto& c : script_.calls())
    if (c.kind == CallKind::Sql && (host.empty() || host_is(c, host))) out.push_back(c.statement);
  return out;
}

std::vector<std::string> ScriptedSql::issued_texts(const std::string& host) const {
  std::vector<std::string> out;
  for (const auto& s : issued(host))
    out.push_back(s.text);
  return out;
}

// ---------------------------------------------------------------- ScriptedCommands

namespace {
std::string join(const std::vector<std::string>& argv) {
  CommandSpec s;
  s.argv = argv;
  return s.display();
}
}  // namespace

ScriptedCommands& ScriptedCommands::expect(std::vector<std::string> argv, Result<CommandOutput> result) {
  Expectation e;
  e.kind = CallKind::Command;
  e.what = "command: " + join(argv);
  e.matches = [argv = std::move(argv)](const Call& c) { return c.spec.argv == argv; };
  e.reply.output = std::move(result);
  script_.expect(std::move(e));
  return *this;
}

ScriptedCommands& ScriptedCommands::expect_prefix(std::vector<std::string> prefix,
                                                  Result<CommandOutput> result) {
  Expectation e;
  e.kind = CallKind::Command;
  e.what = "command: " + join(prefix) + " ...";
  e.matches = [prefix = std::move(prefix)](const Call& c) {
    return c.spec.argv.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), c.spec.argv.begin());
  };
  e.reply.output = std::move(result);
  script_.expect(std::move(e));
  return *this;
}

ScriptedCommands& ScriptedCommands::expect_if(std::string what, std::function<bool(const CommandSpec&)> pred,
                                              Result<CommandOutput> result) {
  Expectation e;
  e.kind = CallKind::Command;
  e.what = "command: " + std::move(what);
  e.matches = [pred = std::move(pred)](const Call& c) { return pred(c.spec); };
  e.reply.output = std::move(result);
  script_.expect(std::move(e));
  return *this;
}

Result<CommandOutput> ScriptedCommands::run(const CommandSpec& spec) {
  Call c;
  c.kind = CallKind::Command;
  c.text = spec.display();
  c.spec = spec;
  Reply r = script_.on_call(c);
  if (r.output) return *r.output;
  return Error::failed("the fake had no command answer for this call");
}

std::vector<CommandSpec> ScriptedCommands::issued() const {
  std::vector<CommandSpec> out;
  for (const auto& c : script_.calls())
    if (c.kind == CallKind::Command) out.push_back(c.spec);
  return out;
}

// ---------------------------------------------------------------- ScriptedRemote

ScriptedRemote& ScriptedRemote::expect_run(std::string host, std::vector<std::string> argv,
                                           Result<CommandOutput> result) {
  Expectation e;
  e.kind = CallKind::Remote;
  e.what = "remote on " + host + ": " + join(argv);
  e.matches = [host = std::move(host), argv = std::move(argv)](const Call& c) {
    return c.target == host && c.spec.argv == argv;
  };
  e.reply.output = std::move(result);
  script_.expect(std::move(e));
  return *this;
}

ScriptedRemote& ScriptedRemote::expect_probe(std::string host, Status result) {
  Expectation e;
  e.kind = CallKind::Probe;
  e.what = "ssh probe of " + host;
  e.matches = [host = std::move(host)](const Call& c) { return c.target == host; };
  e.reply.status = std::move(result);
  script_.expect(std::move(e));
  return *this;
}

Result<CommandOutput> ScriptedRemote::run(const RemoteTarget& target, const CommandSpec& spec) {
  Call c;
  c.kind = CallKind::Remote;
  c.target = target.host;
  c.remote = target;
  c.text = spec.display();
  c.spec = spec;
  Reply r = script_.on_call(c);
  if (r.output) return *r.output;
  return Error::failed("the fake had no remote answer for this call");
}

Status ScriptedRemote::probe(const RemoteTarget& target, std::chrono::milliseconds) {
  Call c;
  c.kind = CallKind::Probe;
  c.target = target.host;
  c.remote = target;
  c.text = "probe";
  Reply r = script_.on_call(c);
  if (r.status) return *r.status;
  return Error::failed("the fake had no probe answer for this call");
}

std::vector<Call> ScriptedRemote::issued() const {
  std::vector<Call> out;
  for (const auto& c : script_.calls())
    if (c.kind == CallKind::Remote || c.kind == CallKind::Probe) out.push_back(c);
  return out;
}

// ---------------------------------------------------------------- MemoryFiles

void MemoryFiles::put(const std::string& path, std::string content, std::optional<TimePoint> mtime) {
  File f;
  f.content = std::move(content);
  f.mtime = mtime.value_or(clock_.now());
  files_[path] = std::move(f);
}

const MemoryFiles::File* MemoryFiles::find(const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

std::vector<std::string> MemoryFiles::paths_under(const std::string& dir) const {
  std::vector<std::string> out;
  std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  for (const auto& [path, file] : files_)
    if (path.rfind(prefix, 0) == 0) out.push_back(path);
  return out;
}

void MemoryFiles::fail_next(std::string op, std::string path_prefix, Error error) {
  rules_.push_back({std::move(op), std::move(path_prefix), std::move(error)});
}

std::optional<Error> MemoryFiles::event(const std::string& op, const std::string& path,
                                        const std::string& text) {
  Call c;
  c.kind = CallKind::File;
  c.target = path;
  c.text = text;
  if (auto injected = script_.on_event(c)) return injected;
  for (auto it = rules_.begin(); it != rules_.end(); ++it)
    if (it->op == op && path.rfind(it->prefix, 0) == 0) {
      Error e = it->error;
      rules_.erase(it);
      return e;
    }
  return std::nullopt;
}

Result<FileInfo> MemoryFiles::stat(const std::string& path) {
  if (auto e = event("stat", path, "stat " + path)) return *e;
  FileInfo info;
  if (const File* f = find(path)) {
    info.exists = true;
    info.mtime = f->mtime;
    info.size = f->content.size();
  }
  return info;
}

Result<std::string> MemoryFiles::read_tail(const std::string& path, std::uint64_t max_bytes) {
  if (auto e = event("read_tail", path, "read_tail " + path)) return *e;
  const File* f = find(path);
  if (!f) return Error::not_found("cannot open " + path + ": No such file or directory");
  if (f->content.size() <= max_bytes) return f->content;
  return f->content.substr(f->content.size() - max_bytes);
}

Status MemoryFiles::move(const std::string& from, const std::string& to) {
  if (auto e = event("move", from, "move " + from + " -> " + to)) return *e;
  auto it = files_.find(from);
  if (it == files_.end()) return Error::not_found("cannot move " + from + ": No such file or directory");
  File f = it->second;
  files_.erase(it);
  files_[to] = std::move(f);
  return {};
}

Status MemoryFiles::write_atomic(const std::string& path, const std::string& content, unsigned mode) {
  if (auto e = event("write_atomic", path, "write " + path)) return *e;
  File f;
  f.content = content;
  f.mtime = clock_.now();
  f.mode = mode;
  files_[path] = std::move(f);
  return {};
}

// ---------------------------------------------------------------- RecordingAudit

std::vector<AuditRecord> RecordingAudit::of(AuditKind kind) const {
  std::vector<AuditRecord> out;
  for (const auto& r : records)
    if (r.kind == kind) out.push_back(r);
  return out;
}

bool RecordingAudit::has(AuditKind kind, const std::string& needle) const {
  for (const auto& r : records)
    if (r.kind == kind && r.message.find(needle) != std::string::npos) return true;
  return false;
}

bool RecordingAudit::mentions(const std::string& needle) const {
  auto in = [&](const std::string& s) { return s.find(needle) != std::string::npos; };
  for (const auto& r : records) {
    if (in(r.message) || in(r.cluster) || in(r.state) || in(r.state_from) || in(r.operation_id) ||
        in(r.server))
      return true;
    for (const auto& [k, v] : r.fields)
      if (in(k) || in(v)) return true;
  }
  return false;
}

std::string RecordingAudit::dump() const {
  std::ostringstream s;
  for (const auto& r : records) {
    s << "  [" << mhafb::to_string(r.kind) << "] " << r.message;
    for (const auto& [k, v] : r.fields)
      s << " " << k << "=" << v;
    s << "\n";
  }
  return s.str();
}

// ---------------------------------------------------------------- InjectedFault

std::string InjectedFault::describe() const {
  std::ostringstream s;
  s << "injected '" << fault << "' at call #" << index << " (" << call.describe() << ")";
  if (!after.empty()) {
    s << "; calls after it:";
    for (const auto& c : after)
      s << "\n    " << c.describe();
  }
  return s.str();
}

}  // namespace mhafb::test

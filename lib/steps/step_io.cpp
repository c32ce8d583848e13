// Audited SQL, commands and remote commands for steps. Every side effect passes a named crash-test
// stop point before and after it (common/stop_point.hpp), the "after" one once its audit record is written.
#include "steps/step_io.hpp"

#include <ctime>

#include "common/stop_point.hpp"

namespace mhafb {

namespace {
std::string ms(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}
}  // namespace

// Ports is six references (a view of the adapters), cheap to copy and kept by value.
// cppcheck-suppress passedByValue
StepIo::StepIo(const ClusterConfig& config, Ports ports, std::function<Status()> save,
               std::function<void(AuditRecord&)> stamp)
    : config_(config), ports_(ports), save_(std::move(save)), stamp_(std::move(stamp)) {}

Endpoint StepIo::endpoint_of(const std::string& hostname) const {
  const MhaServer* s = config_.mha.find_server(hostname);
  if (!s) return Endpoint{hostname, 3306};
  return Endpoint{s->sql_address(), s->port};
}

RemoteTarget StepIo::target_of(const std::string& hostname) const {
  const MhaServer* s = config_.mha.find_server(hostname);
  RemoteTarget t;
  t.host = s ? s->ssh_address() : hostname;
  t.port = config_.ssh.port.value_or(s ? s->ssh_port : 22);
  t.user = !config_.ssh.user.empty() ? config_.ssh.user : (s && !s->ssh_user.empty() ? s->ssh_user : "root");
  return t;
}

void StepIo::audit(AuditKind kind, AuditPriority priority, std::string message, std::string server,
                   std::map<std::string, std::string> fields) {
  AuditRecord r;
  r.kind = kind;
  r.priority = priority;
  r.message = std::move(message);
  r.server = std::move(server);
  r.fields = std::move(fields);
  if (stamp_) stamp_(r);
  ports_.audit.record(r);
}

Result<ResultSet> StepIo::sql(const std::string& hostname, const SqlStatement& statement) {
  auto started = ports_.clock.now();
  const std::string point = statement.mutates ? stop_point_effect(stop_point_sql_kind(statement.text)) : "";
  stop_point_before(point);
  auto result = ports_.sql.query(endpoint_of(hostname), statement);
  if (statement.mutates) {
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(ports_.clock.now() - started);
    if (result)
      audit(AuditKind::Sql, AuditPriority::Notice, hostname + ": " + statement.audit_text, hostname,
            {{"SQL", statement.audit_text}, {"DURATION_MS", ms(took)}});
    else
      audit(AuditKind::Sql, AuditPriority::Err,
            hostname + ": " + statement.audit_text + " failed: " + result.error().message, hostname,
            {{"SQL", statement.audit_text}, {"DURATION_MS", ms(took)}, {"ERROR", result.error().message}});
  }
  stop_point_after(point);
  return result;
}

// One audit record per command run, local or remote: how it ended, with exit code and duration.
void StepIo::audit_command(AuditKind kind, const std::string& prefix, const std::string& server,
                           const CommandSpec& spec, const Result<CommandOutput>& result) {
  if (!result) {
    audit(kind, AuditPriority::Err, prefix + spec.display() + " could not run: " + result.error().message,
          server, {{"COMMAND", spec.display()}, {"ERROR", result.error().message}});
    return;
  }
  const auto& o = *result;
  // A tool whose exit code means nothing is judged by its output in the step; its record must not
  // cry wolf (masterha_check_ssh exits 255 after "All SSH connection tests passed successfully").
  const bool ended = !o.timed_out && o.term_signal == 0;
  const bool fine = o.succeeded() || (ended && !spec.exit_code_meaningful);
  std::string how = o.timed_out ? "timed out"
                    : o.term_signal
                        ? "killed by signal " + std::to_string(o.term_signal)
                        : "exit " + std::to_string(o.exit_code) +
                              (spec.exit_code_meaningful ? "" : " (not meaningful: judged by its output)");
  audit(kind, fine ? AuditPriority::Info : AuditPriority::Warning,
        prefix + spec.display() + ": " + how + " after " + ms(o.duration) + " ms", server,
        {{"COMMAND", spec.display()},
         {"EXIT_CODE", std::to_string(o.exit_code)},
         {"DURATION_MS", ms(o.duration)}});
}

// Pure checks (spec.mutates false) have no side effect to stop around.
Result<CommandOutput> StepIo::local(const CommandSpec& spec) {
  const std::string point =
      spec.mutates && !spec.argv.empty() ? stop_point_effect(stop_point_command_kind(spec.argv[0])) : "";
  stop_point_before(point);
  auto result = ports_.commands.run(spec);
  audit_command(AuditKind::Command, "", "", spec, result);
  stop_point_after(point);
  return result;
}

Result<CommandOutput> StepIo::remote(const std::string& hostname, const CommandSpec& spec) {
  RemoteTarget t = target_of(hostname);
  const std::string point = spec.mutates && !spec.argv.empty()
                                ? stop_point_effect("remote-" + stop_point_command_kind(spec.argv[0]))
                                : "";
  stop_point_before(point);
  auto result = ports_.remote.run(t, spec);
  audit_command(AuditKind::RemoteCommand, t.label() + ": ", hostname, spec, result);
  stop_point_after(point);
  return result;
}

Status StepIo::probe_host(const std::string& hostname) {
  return ports_.remote.probe(target_of(hostname), config_.ssh.connect_timeout);
}

std::string utc_stamp(TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  char buf[32];
  // Only a year beyond the buffer (or a time gmtime_r cannot represent) fails; the stamp names a
  // file, so a fixed placeholder is better than an empty name.
  if (::gmtime_r(&tt, &tm) == nullptr || std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm) == 0)
    return "00000000T000000Z";
  return buf;
}

}  // namespace mhafb

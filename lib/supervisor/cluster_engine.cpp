// The tick loop, persistence and operator requests of one cluster. Every persistence and every file
// a step changes passes a named crash-test stop point (common/stop_point.hpp).
#include "supervisor/cluster_engine.hpp"

#include <random>

#include "common/stop_point.hpp"
#include "exec/dry_run.hpp"
#include "supervisor/discovery.hpp"

namespace mhafb {

namespace {

constexpr std::uint64_t kStateFileLimit = 4 * 1024 * 1024;

// Plan(): file changes are recorded like every other side effect.
class PlanFiles final : public FilesPort {
 public:
  PlanFiles(FilesPort& inner, DryRunLog& log) : inner_(inner), log_(log) {}
  Result<FileInfo> stat(const std::string& p) override { return inner_.stat(p); }
  Result<std::string> read_tail(const std::string& p, std::uint64_t n) override {
    return inner_.read_tail(p, n);
  }
  Status move(const std::string& from, const std::string& to) override {
    log_.record("move " + from + " to " + to);
    return {};
  }
  Status write_atomic(const std::string& p, const std::string&, unsigned) override {
    log_.record("write " + p);
    return {};
  }

 private:
  FilesPort& inner_;
  DryRunLog& log_;
};

// A step's file changes (the failover flag's archive and its undo, reports) are side effects with
// stop points like the statements and commands StepIo runs.
class StopPointFiles final : public FilesPort {
 public:
  explicit StopPointFiles(FilesPort& inner) : inner_(inner) {}
  Result<FileInfo> stat(const std::string& p) override { return inner_.stat(p); }
  Result<std::string> read_tail(const std::string& p, std::uint64_t n) override {
    return inner_.read_tail(p, n);
  }
  Status move(const std::string& from, const std::string& to) override {
    const std::string point = stop_point_effect("file-move");
    stop_point_before(point);
    auto moved = inner_.move(from, to);
    stop_point_after(point);
    return moved;
  }
  Status write_atomic(const std::string& p, const std::string& content, unsigned mode) override {
    const std::string point = stop_point_effect("file-write");
    stop_point_before(point);
    auto written = inner_.write_atomic(p, content, mode);
    stop_point_after(point);
    return written;
  }

 private:
  FilesPort& inner_;
};

// Every write of the state file: "persist:before:<what>" and "persist:after:<what>" around it.
template <class Save>
Status persisted(const std::string& what, Save&& save) {
  stop_point("persist:before:" + what);
  Status saved = save();
  stop_point("persist:after:" + what);
  return saved;
}

}  // namespace

// cppcheck-suppress passedByValue ; Ports is six references, kept by value
ClusterEngine::ClusterEngine(ClusterConfig config, Ports ports, std::string state_dir,
                             SupervisorEvents events)
    : config_(std::move(config)),
      ports_(ports),
      state_dir_(std::move(state_dir)),
      events_(std::move(events)) {
  started_at_ = ports_.clock.now();
  load();
  std::lock_guard lock(view_mutex_);
  view_.name = config_.name;
  view_.state = state_.state;
  view_.mode = effective_mode(config_, state_);
  view_.preferred_master = config_.preferred_master;
  view_.blocked_reason = state_.blocked_reason;
  view_.suggested_action = state_.suggested_action;
  view_.last_error = state_.last_error;
  view_.status = "starting: no snapshot taken yet";
}

void ClusterEngine::stamp(AuditRecord& r) const {
  r.cluster = config_.name;
  r.state = std::string(to_string(state_.state));
  if (r.operation_id.empty())
    r.operation_id = state_.operation_id.empty() ? recovery_id() : state_.operation_id;
}

std::string ClusterEngine::recovery_id() const {
  if (!state_.failover) return "";
  const FailoverFacts& f = *state_.failover;
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  const std::string key = config_.name + '\n' + f.old_master + '\n' + f.new_master + '\n' +
                          std::to_string(f.detected_at.time_since_epoch().count());
  for (unsigned char c : key) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  (void)std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));  // 16 hex digits fit
  return buf;
}

void ClusterEngine::audit(AuditKind kind, AuditPriority priority, std::string message, std::string server,
                          std::map<std::string, std::string> fields) {
  AuditRecord r;
  r.kind = kind;
  r.priority = priority;
  r.message = std::move(message);
  r.server = std::move(server);
  r.fields = std::move(fields);
  stamp(r);
  ports_.audit.record(r);
}

// A state file that cannot be read or verified (torn write, flipped byte, other format, empty, not a
// file) is never trusted: it is moved aside for inspection, the cluster is re-derived from what the
// next snapshot shows, and the reason goes to the journal and into the status (last error).
void ClusterEngine::load() {
  state_.cluster = config_.name;
  state_.state_since = ports_.clock.now();
  auto info = ports_.files.stat(state_path());
  if (info && !info->exists) return;
  std::string why;
  if (!info) {
    why = info.error().message;
  } else if (auto text = ports_.files.read_tail(state_path(), kStateFileLimit); !text) {
    why = text.error().message;
  } else if (text->size() >= kStateFileLimit) {
    why = "it is larger than " + std::to_string(kStateFileLimit) + " bytes";
  } else if (auto parsed = deserialize_state(*text); !parsed) {
    why = parsed.error().message;
  } else {
    state_ = std::move(parsed).value();
    state_.cluster = config_.name;
    audit(AuditKind::Decision, AuditPriority::Info,
          "resumed from " + state_path() + " in state " + std::string(to_string(state_.state)) +
              (state_.step_in_progress.empty() ? "" : ", step in progress: " + state_.step_in_progress));
    return;
  }
  std::string kept;
  if (info) {
    std::string aside = state_path() + ".ignored-" + utc_stamp(ports_.clock.now());
    auto moved = ports_.files.move(state_path(), aside);
    kept = moved ? " (kept as " + aside + ")" : " (could not be moved aside: " + moved.error().message + ")";
  }
  state_.last_error = "state file " + state_path() + " ignored: " + why + "; re-deriving from the cluster";
  audit(AuditKind::Warning, AuditPriority::Err, state_.last_error + kept, {},
        {{"STATE_FILE", state_path()}, {"STATE_FILE_ERROR", why}});
}

Status ClusterEngine::persist() {
  auto saved = ports_.files.write_atomic(state_path(), serialize_state(state_), 0600);
  if (!saved)
    audit(AuditKind::Warning, AuditPriority::Err,
          "cannot write the state file " + state_path() + ": " + saved.error().message);
  return saved;
}

std::string ClusterEngine::new_operation_id() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  (void)std::snprintf(buf, sizeof buf, "%016llx",
                      static_cast<unsigned long long>(rng() ^ ++op_counter_));  // 16 hex digits fit
  return buf;
}

void ClusterEngine::publish(const ClusterSnapshot* snap, const std::string& sentence,
                            const std::string& server) {
  if (sentence != last_sentence_) {
    last_sentence_ = sentence;
    audit(AuditKind::Decision, AuditPriority::Info, sentence, server);
  }
  ClusterView v;
  {
    std::lock_guard lock(view_mutex_);
    view_.state = state_.state;
    view_.status = sentence;
    view_.mode = effective_mode(config_, state_);
    if (snap) {
      auto masters = snap->masters();
      view_.master = masters.size() == 1 ? masters[0]->hostname : "";
    }
    view_.last_error = state_.last_error;
    view_.blocked_reason = state_.blocked_reason;
    view_.suggested_action = state_.suggested_action;
    view_.operation = state_.operation_id.empty() ? "" : state_.operation_kind + " " + state_.operation_id;
    v = view_;
  }
  if (events_.view_changed) events_.view_changed(v);
}

void ClusterEngine::finish_failback(Status result) {
  if (!failback_done_) return;
  auto done = std::move(*failback_done_);
  failback_done_.reset();
  done(std::move(result));
}

void ClusterEngine::enter(ClusterState to, const std::string& reason, const std::string& suggestion,
                          StepId step) {
  ClusterState from = state_.state;
  if (from != to && !find_transition(from, to, step) && !transition_allowed(from, to)) {
    audit(AuditKind::Warning, AuditPriority::Err,
          "refused a transition the table does not have: " + std::string(to_string(from)) + " -> " +
              std::string(to_string(to)) + " (" + reason + ")");
    return;
  }
  if (to == ClusterState::Blocked) {
    state_.blocked_reason = reason;
    state_.suggested_action = suggestion;
    state_.blocked_from = from;
    state_.last_error = reason;
  }
  // The record of this transition belongs to the operation it ends, even when entering healthy
  // forgets the procedure.
  const std::string op = state_.operation_id.empty() ? recovery_id() : state_.operation_id;
  if (to == ClusterState::Healthy) {
    state_.reset_procedure();  // keeps handled_flag_mtime and the mode override
    state_.last_error.clear();
  }
  if (to == ClusterState::SlaveRejoined && from != ClusterState::Validated) state_.healthy_since.reset();
  state_.switch_held_since.reset();  // a hold belongs to one attempt at the switch
  state_.state = to;
  state_.state_since = ports_.clock.now();
  bool operation_over =
      to == ClusterState::SwitchedBack || to == ClusterState::Blocked || to == ClusterState::Healthy;
  if (operation_over && state_.operation_kind == "failback" && to != ClusterState::SwitchedBack) {
    state_.operation_id.clear();
    state_.operation_kind.clear();
  }
  (void)persisted(std::string(to_string(to)), [&] { return persist(); });
  AuditRecord r;
  r.kind = to == ClusterState::Blocked ? AuditKind::Blocked : AuditKind::Transition;
  r.priority = to == ClusterState::Blocked ? AuditPriority::Err : AuditPriority::Notice;
  r.message = std::string(to_string(from)) + " -> " + std::string(to_string(to)) + ": " + reason +
              (suggestion.empty() ? "" : "; suggested: " + suggestion);
  r.operation_id = op;
  stamp(r);
  r.state_from = std::string(to_string(from));
  r.fields["STEP"] = std::string(to_string(step));
  ports_.audit.record(r);
  if (events_.state_changed) events_.state_changed(from, to, reason);
  if (to == ClusterState::SwitchedBack) finish_failback({});
  if (to == ClusterState::Blocked)
    finish_failback(Error::failed(reason + (suggestion.empty() ? "" : "; suggested: " + suggestion)));
  if (to == ClusterState::Healthy && failback_done_)
    finish_failback(Error::failed("the cluster became healthy without a switch by mha-failback"));
}

StepOutcome ClusterEngine::run_step(StepId step, const ClusterSnapshot& snap, Ports ports, PersistedState& st,
                                    bool planning) {
  StopPointStep points(to_string(step), !planning);
  StopPointFiles files(ports.files);
  FilesPort& step_files = planning ? ports.files : static_cast<FilesPort&>(files);
  Ports step_ports{ports.sql, ports.commands, ports.remote, ports.clock, step_files, ports.audit};
  StepIo io(
      config_, step_ports,
      planning ? std::function<Status()>([] { return Status{}; })
               : [this] { return persisted(stop_point_effect("checkpoint"), [this] { return persist(); }); },
      [this](AuditRecord& r) { stamp(r); });
  StepContext ctx{config_, snap, st, io, abort_, state_dir_, planning, started_at_};
  switch (step) {
    case StepId::DetectFailover:
      return detect_failover(ctx);
    case StepId::BringBackOldMaster:
      return bring_back_old_master(ctx);
    case StepId::Fence:
      return fence(ctx);
    case StepId::DivergenceGate:
      return divergence_gate(ctx);
    case StepId::Rejoin:
      return rejoin(ctx);
    case StepId::SkipSqlError:
      return skip_sql_error(ctx);
    case StepId::Validate:
      return validate(ctx);
    case StepId::SwitchBack:
      return switch_back(ctx);
    case StepId::Restore:
      return restore(ctx);
    case StepId::None:
    case StepId::Acknowledge:
      break;
  }
  return StepOutcome::wait("nothing to do");
}

std::chrono::milliseconds ClusterEngine::tick() {
  const auto idle = config_.timeouts.probe_interval;
  if (stop_) return idle;
  const TimePoint now = ports_.clock.now();
  ClusterSnapshot snap = discover(config_, ports_.sql, ports_.files, now);

  const PersistedState before = state_;
  track(snap, config_, state_, now);
  if (state_ != before) (void)persisted("track", [&] { return persist(); });

  Decision d = decide(snap, config_, state_, now);
  publish(&snap, d.sentence, d.server);
  if (d.transition_to) {
    enter(*d.transition_to, d.sentence, d.suggested_action, StepId::None);
    publish(&snap, d.sentence, d.server);
    return std::chrono::milliseconds{0};
  }
  if (d.step == StepId::None) return idle;

  const bool mutates = step_mutates(d.step);
  if (mutates) {
    if (d.step == StepId::SwitchBack && state_.operation_id.empty()) {
      state_.operation_id = new_operation_id();
      state_.operation_kind = "failback";
    }
    state_.step_in_progress = std::string(to_string(d.step));
    // A side effect whose intent is not on disk could be repeated or forgotten after a restart: it
    // does not run until the state file can be written again.
    if (Status saved = persisted("start:" + state_.step_in_progress, [&] { return persist(); }); !saved) {
      state_.step_in_progress.clear();
      const std::string step_name(to_string(d.step));
      state_.last_error =
          "cannot persist state before " + step_name + " (" + saved.error().message + "); not running it";
      audit(AuditKind::StepFinished, AuditPriority::Warning, step_name + ": " + state_.last_error, d.server,
            {{"STEP", step_name}});
      publish(&snap, "retrying: " + state_.last_error, d.server);
      return idle;
    }
    audit(AuditKind::StepStarted, AuditPriority::Notice, std::string(to_string(d.step)) + ": " + d.sentence,
          d.server, {{"STEP", std::string(to_string(d.step))}});
  }
  StepOutcome out = run_step(d.step, snap, ports_, state_, false);
  state_.step_in_progress.clear();
  if (mutates || out.kind == StepOutcome::Kind::Retry)
    audit(AuditKind::StepFinished,
          out.kind == StepOutcome::Kind::Retry || out.kind == StepOutcome::Kind::Block
              ? AuditPriority::Warning
              : AuditPriority::Info,
          std::string(to_string(d.step)) + ": " + out.sentence, d.server,
          {{"STEP", std::string(to_string(d.step))}});
  switch (out.kind) {
    case StepOutcome::Kind::Progress:
      state_.last_error.clear();
      (void)persisted(std::string(to_string(d.step)) + ":progress", [&] { return persist(); });
      publish(&snap, out.sentence, d.server);
      return std::chrono::milliseconds{0};
    case StepOutcome::Kind::Wait:
      (void)persisted(std::string(to_string(d.step)) + ":wait", [&] { return persist(); });
      publish(&snap, out.sentence, d.server);
      return idle;
    case StepOutcome::Kind::Retry:
      state_.last_error = out.sentence;
      (void)persisted(std::string(to_string(d.step)) + ":retry", [&] { return persist(); });
      publish(&snap, "retrying: " + out.sentence, d.server);
      return idle;
    case StepOutcome::Kind::Transition:
      state_.last_error.clear();
      enter(*out.to, out.sentence, {}, d.step);
      publish(&snap, out.sentence, d.server);
      return std::chrono::milliseconds{0};
    case StepOutcome::Kind::Block:
      enter(ClusterState::Blocked, out.sentence, out.suggestion, d.step);
      publish(&snap, "blocked: " + out.sentence + "; suggested: " + out.suggestion, d.server);
      return idle;
  }
  return idle;
}

ClusterView ClusterEngine::view() const {
  std::lock_guard lock(view_mutex_);
  return view_;
}

void ClusterEngine::request_failback(std::string reason, ClusterSupervisor::Completion done) {
  auto refuse = [&](Error e) {
    audit(AuditKind::Operation, AuditPriority::Warning, "failback refused: " + e.message);
    done(std::move(e));
  };
  if (effective_mode(config_, state_) == Mode::Observe)
    return refuse(Error{ErrorKind::Refused, "cluster " + config_.name +
                                                " is in observe mode; set it to approve or auto first "
                                                "(`mha-failbackctl mode " +
                                                config_.name + " approve`)"});
  if (failback_done_ || state_.switch_approved || !state_.operation_id.empty())
    return refuse(Error{ErrorKind::Busy,
                        "a failback is already requested for cluster " + config_.name +
                            (state_.operation_id.empty() ? "" : " (operation " + state_.operation_id + ")")});
  switch (state_.state) {
    case ClusterState::Healthy:
      return refuse(Error{ErrorKind::NotReady, "nothing to fail back: cluster " + config_.name +
                                                   " is healthy (no failover being handled)"});
    case ClusterState::Blocked:
      return refuse(Error{ErrorKind::NotReady,
                          "cluster " + config_.name + " is blocked: " + state_.blocked_reason +
                              "; fix it and run `mha-failbackctl ack " + config_.name + "` first"});
    case ClusterState::SwitchedBack:
      return refuse(
          Error{ErrorKind::NotReady, "the master role is already switched back; MHA is being restored"});
    case ClusterState::Degraded:
    case ClusterState::SlaveRejoined:
    case ClusterState::Validated:
      break;
  }
  state_.switch_approved = true;
  state_.approval_reason = reason.empty() ? std::string("requested by an operator") : std::move(reason);
  state_.operation_id = new_operation_id();
  state_.operation_kind = "failback";
  failback_done_ = std::move(done);
  abort_ = false;
  (void)persisted("approval", [&] { return persist(); });
  audit(AuditKind::Operation, AuditPriority::Notice,
        "failback approved (" + state_.approval_reason + "); the switch runs once the cluster is validated");
  publish(nullptr, last_sentence_, {});
}

Status ClusterEngine::request_rejoin() {
  if (effective_mode(config_, state_) == Mode::Observe)
    return Error{ErrorKind::Refused, "cluster " + config_.name + " is in observe mode; it never acts"};
  if (state_.state == ClusterState::Blocked) return acknowledge();
  if (state_.state != ClusterState::Healthy)
    return Error{ErrorKind::NotReady, "cluster " + config_.name + " is already failing back (state " +
                                          std::string(to_string(state_.state)) + ")"};
  ClusterSnapshot snap = discover(config_, ports_.sql, ports_.files, ports_.clock.now());
  auto masters = snap.masters();
  if (masters.size() != 1)
    return Error{ErrorKind::NotReady, "cannot start a rejoin: " + std::to_string(masters.size()) +
                                          " servers act as master; exactly one must"};
  if (masters[0]->hostname == config_.preferred_master)
    return Error{ErrorKind::NotReady,
                 "nothing to rejoin: preferred master " + config_.preferred_master + " is master"};
  FailoverFacts f;
  f.old_master = config_.preferred_master;
  f.new_master = masters[0]->hostname;
  f.outcome = "manual";
  f.detected_at = ports_.clock.now();
  f.flag_mtime = snap.mha.failover_complete_mtime.value_or(TimePoint{});
  state_.handled_flag_mtime = std::max(state_.handled_flag_mtime, f.flag_mtime);
  state_.failover = f;
  audit(AuditKind::Operation, AuditPriority::Notice,
        "rejoin requested: " + f.old_master + " will rejoin as a replica of " + f.new_master);
  enter(ClusterState::Degraded, "operator requested a rejoin of " + f.old_master, {}, StepId::DetectFailover);
  return {};
}

// On the supervisor's thread, after the step in flight (which saw signal_abort() in time to stop
// before its point of no return) has ended.
Status ClusterEngine::request_abort() {
  // Consumed here: a stale flag would abort the next switch (e.g. an auto-mode one) by itself.
  abort_ = false;
  if (state_.switch_started)
    return Error{ErrorKind::Refused, "the switch passed its point of no return; it will finish"};
  bool had = state_.switch_approved || failback_done_.has_value();
  state_.switch_approved = false;
  state_.approval_reason.clear();
  if (state_.operation_kind == "failback" && state_.state != ClusterState::SwitchedBack) {
    state_.operation_id.clear();
    state_.operation_kind.clear();
  }
  (void)persisted("abort", [&] { return persist(); });
  audit(AuditKind::Operation, AuditPriority::Notice,
        had ? "failback aborted by an operator" : "abort: no operation was running");
  finish_failback(Error{ErrorKind::Cancelled, "the failback was aborted by an operator"});
  if (!had) return Error{ErrorKind::NotReady, "no operation is running on cluster " + config_.name};
  return {};
}

Status ClusterEngine::set_mode(Mode mode) {
  state_.mode_override = mode;
  (void)persisted("mode", [&] { return persist(); });
  audit(AuditKind::Operation, AuditPriority::Notice, "mode set to " + std::string(to_string(mode)));
  publish(nullptr, last_sentence_, {});
  return {};
}

Status ClusterEngine::acknowledge() {
  if (state_.state != ClusterState::Blocked)
    return Error{ErrorKind::NotReady, "cluster " + config_.name + " is not blocked (state " +
                                          std::string(to_string(state_.state)) + "); nothing to acknowledge"};
  ClusterSnapshot snap = discover(config_, ports_.sql, ports_.files, ports_.clock.now());
  const ServerSnapshot* pref = snap.find(config_.preferred_master);
  bool preferred_is_master = pref && pref->acts_as_master() && snap.masters().size() == 1;
  std::string reason = state_.blocked_reason;
  audit(AuditKind::Operation, AuditPriority::Notice, "acknowledged by an operator: " + reason);
  auto failover = state_.failover;
  state_.blocked_reason.clear();
  state_.suggested_action.clear();
  // A flag newer than the handled one (or any flag once the handled one was removed) is another
  // failover: the facts kept name the servers of the earlier one (after db1 -> db2 then db2 -> db1,
  // they are reversed). They are dropped and the failover is detected anew from the present flag.
  using std::chrono::floor;
  using std::chrono::milliseconds;
  if (failover && snap.mha.failover_complete_mtime &&
      (failover->flag_mtime == TimePoint{} ||
       floor<milliseconds>(*snap.mha.failover_complete_mtime) > floor<milliseconds>(failover->flag_mtime))) {
    state_.handled_flag_mtime = TimePoint{};
    enter(ClusterState::Healthy,
          "acknowledged: another failover happened (a newer failover flag is present); the facts of the "
          "one handled are dropped and the new failover is detected from its flag",
          {}, StepId::Acknowledge);
    return {};
  }
  if (preferred_is_master && !snap.mha.failover_complete_mtime && failover) {
    // A procedure was underway and the role is back: MHA's manager and checks still need restoring.
    state_.reset_procedure();
    state_.failover = failover;
    enter(ClusterState::SwitchedBack,
          "acknowledged: preferred master " + config_.preferred_master + " is master; restoring MHA", {},
          StepId::Acknowledge);
    return {};
  }
  if (preferred_is_master && !snap.mha.failover_complete_mtime) {
    enter(ClusterState::Healthy, "acknowledged: preferred master " + config_.preferred_master + " is master",
          {}, StepId::Acknowledge);
    return {};
  }
  if (!failover) {
    // Nothing being handled: look again from healthy (a present flag is detected anew).
    state_.handled_flag_mtime = TimePoint{};
    enter(ClusterState::Healthy, "acknowledged: re-deriving the state from the cluster", {},
          StepId::Acknowledge);
    return {};
  }
  state_.reset_procedure();
  state_.failover = failover;
  enter(ClusterState::Degraded, "acknowledged: the failback starts over, every check re-run", {},
        StepId::Acknowledge);
  return {};
}

Result<std::vector<std::string>> ClusterEngine::plan() {
  DryRunLog log;
  DryRunSqlPort sql(ports_.sql, log);
  DryRunCommandPort commands(ports_.commands, log);
  DryRunRemoteShellPort remote(ports_.remote, log);
  PlanFiles files(ports_.files, log);
  struct NullAudit final : AuditSink {
    void record(const AuditRecord&) override {}
  } null_audit;
  Ports plan_ports{sql, commands, remote, ports_.clock, files, null_audit};

  const TimePoint now = ports_.clock.now();
  ClusterSnapshot snap = discover(config_, ports_.sql, ports_.files, now);
  PersistedState st = state_;
  track(snap, config_, st, now);
  // Plan the failback as if approved: that is what an operator asks Plan() before calling Failback().
  if (st.state == ClusterState::Validated) st.switch_approved = true;
  Decision d = decide(snap, config_, st, now);
  std::vector<std::string> out;
  out.push_back("state " + std::string(to_string(st.state)) + ": " + d.sentence);
  if (d.step == StepId::None) {
    if (d.transition_to)
      out.push_back("next: " + std::string(to_string(st.state)) + " -> " +
                    std::string(to_string(*d.transition_to)));
    return out;
  }
  StepOutcome o = run_step(d.step, snap, plan_ports, st, true);
  out.push_back("step " + std::string(to_string(d.step)) + ":");
  for (auto& e : log.entries())
    out.push_back("  " + e);
  if (o.kind == StepOutcome::Kind::Block) out.push_back("would block: " + o.sentence);
  return out;
}

}  // namespace mhafb

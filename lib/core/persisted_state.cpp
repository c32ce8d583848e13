// JSON form of PersistedState: {"format": N, "checksum": "<fnv1a64 of the body>", "body": {...}}.
// Times are stored as milliseconds since the epoch.
#include "core/persisted_state.hpp"

#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

namespace mhafb {

using nlohmann::json;

void PersistedState::reset_procedure() {
  step_in_progress.clear();
  operation_id.clear();
  operation_kind.clear();
  failover.reset();
  old_master_missing_since.reset();
  database_start_requested_at.reset();
  divergence_checked = false;
  rejoined_at.reset();
  healthy_since.reset();
  new_master_missing_since.reset();
  switch_approved = false;
  approval_reason.clear();
  manager_stopped = false;
  archived_flag_path.clear();
  switch_started = false;
  switch_held_since.reset();
  manager_restart_requested_at.reset();
  blocked_reason.clear();
  suggested_action.clear();
  blocked_from.reset();
  skipped_events.clear();
}

namespace {

std::int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Numbers from the file are range-checked before they are converted: nlohmann/json's get<T>() casts,
// and a float or an integer that does not fit T would be undefined behaviour or a silently wrong
// value. A bad number is refused like any other bad field.
template <class T>
T integer(const json& j) {
  if (j.is_number_unsigned()) {
    auto v = j.get<std::uint64_t>();
    if (std::in_range<T>(v)) return static_cast<T>(v);
  } else if (j.is_number_integer()) {
    auto v = j.get<std::int64_t>();
    if (std::in_range<T>(v)) return static_cast<T>(v);
  }
  throw std::runtime_error("a field holds " + j.dump() + " where an integer in range belongs");
}

// system_clock counts nanoseconds in 64 bits: milliseconds beyond about ±292 years from 1970 would
// overflow the conversion.
TimePoint from_ms(const json& j) {
  constexpr std::int64_t kMaxMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(TimePoint::duration::max()).count();
  auto ms = integer<std::int64_t>(j);
  if (ms > kMaxMs || ms < -kMaxMs) throw std::runtime_error("a time is out of range: " + j.dump());
  return TimePoint(std::chrono::milliseconds(ms));
}

json opt_time(const std::optional<TimePoint>& t) {
  return t ? json(to_ms(*t)) : json(nullptr);
}
std::optional<TimePoint> get_opt_time(const json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return from_ms(j.at(key));
}

std::string fnv1a64(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  // Exactly sixteen hex digits of a 64-bit value plus the terminator: cannot be truncated or fail.
  (void)std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

json position_json(const BinlogPosition& p) {
  return json{{"file", p.file}, {"pos", p.pos}};
}
BinlogPosition position_from(const json& j) {
  return {j.at("file").get<std::string>(), integer<std::uint64_t>(j.at("pos"))};
}

json body_of(const PersistedState& s) {
  json b;
  b["cluster"] = s.cluster;
  b["state"] = std::string(to_string(s.state));
  b["state_since"] = to_ms(s.state_since);
  b["mode_override"] = s.mode_override ? json(std::string(to_string(*s.mode_override))) : json(nullptr);
  b["step_in_progress"] = s.step_in_progress;
  b["operation_id"] = s.operation_id;
  b["operation_kind"] = s.operation_kind;
  if (s.failover) {
    const auto& f = *s.failover;
    b["failover"] = json{{"flag_mtime", to_ms(f.flag_mtime)},
                         {"detected_at", to_ms(f.detected_at)},
                         {"old_master", f.old_master},
                         {"new_master", f.new_master},
                         {"outcome", f.outcome},
                         {"has_promotion", f.has_promotion},
                         {"promotion_host", f.promotion_host},
                         {"promotion_port", f.promotion_port},
                         {"promotion", position_json(f.promotion)},
                         {"latest_replica_read", position_json(f.latest_replica_read)},
                         {"dead_master_ssh_reachable", f.dead_master_ssh_reachable}};
  } else {
    b["failover"] = nullptr;
  }
  b["handled_flag_mtime"] = to_ms(s.handled_flag_mtime);
  b["old_master_missing_since"] = opt_time(s.old_master_missing_since);
  b["database_start_requested_at"] = opt_time(s.database_start_requested_at);
  b["divergence_checked"] = s.divergence_checked;
  b["rejoined_at"] = opt_time(s.rejoined_at);
  b["healthy_since"] = opt_time(s.healthy_since);
  b["new_master_missing_since"] = opt_time(s.new_master_missing_since);
  b["switch_approved"] = s.switch_approved;
  b["approval_reason"] = s.approval_reason;
  b["manager_stopped"] = s.manager_stopped;
  b["archived_flag_path"] = s.archived_flag_path;
  b["switch_started"] = s.switch_started;
  b["switch_held_since"] = opt_time(s.switch_held_since);
  b["manager_restart_requested_at"] = opt_time(s.manager_restart_requested_at);
  b["blocked_reason"] = s.blocked_reason;
  b["suggested_action"] = s.suggested_action;
  b["blocked_from"] = s.blocked_from ? json(std::string(to_string(*s.blocked_from))) : json(nullptr);
  json skipped = json::array();
  for (const auto& e : s.skipped_events)
    skipped.push_back(json{{"at", to_ms(e.at)},
                           {"server", e.server},
                           {"position", e.position},
                           {"error_number", e.error_number},
                           {"error", e.error}});
  b["skipped_events"] = skipped;
  b["last_error"] = s.last_error;
  return b;
}

PersistedState state_of(const json& b) {
  PersistedState s;
  s.cluster = b.at("cluster").get<std::string>();
  auto st = parse_state(b.at("state").get<std::string>());
  if (!st) throw std::runtime_error("unknown state '" + b.at("state").get<std::string>() + "'");
  s.state = *st;
  s.state_since = from_ms(b.at("state_since"));
  if (!b.at("mode_override").is_null()) {
    auto m = parse_mode(b.at("mode_override").get<std::string>());
    if (!m) throw std::runtime_error("unknown mode");
    s.mode_override = *m;
  }
  s.step_in_progress = b.at("step_in_progress").get<std::string>();
  s.operation_id = b.at("operation_id").get<std::string>();
  s.operation_kind = b.at("operation_kind").get<std::string>();
  if (!b.at("failover").is_null()) {
    const auto& f = b.at("failover");
    FailoverFacts x;
    x.flag_mtime = from_ms(f.at("flag_mtime"));
    x.detected_at = from_ms(f.at("detected_at"));
    x.old_master = f.at("old_master").get<std::string>();
    x.new_master = f.at("new_master").get<std::string>();
    x.outcome = f.at("outcome").get<std::string>();
    x.has_promotion = f.at("has_promotion").get<bool>();
    x.promotion_host = f.at("promotion_host").get<std::string>();
    x.promotion_port = integer<int>(f.at("promotion_port"));
    x.promotion = position_from(f.at("promotion"));
    x.latest_replica_read = position_from(f.at("latest_replica_read"));
    x.dead_master_ssh_reachable = f.at("dead_master_ssh_reachable").get<bool>();
    s.failover = x;
  }
  s.handled_flag_mtime = from_ms(b.at("handled_flag_mtime"));
  s.old_master_missing_since = get_opt_time(b, "old_master_missing_since");
  s.database_start_requested_at = get_opt_time(b, "database_start_requested_at");
  s.divergence_checked = b.at("divergence_checked").get<bool>();
  s.rejoined_at = get_opt_time(b, "rejoined_at");
  s.healthy_since = get_opt_time(b, "healthy_since");
  s.new_master_missing_since = get_opt_time(b, "new_master_missing_since");
  s.switch_approved = b.at("switch_approved").get<bool>();
  s.approval_reason = b.at("approval_reason").get<std::string>();
  s.manager_stopped = b.at("manager_stopped").get<bool>();
  s.archived_flag_path = b.at("archived_flag_path").get<std::string>();
  s.switch_started = b.at("switch_started").get<bool>();
  s.switch_held_since = get_opt_time(b, "switch_held_since");  // absent in files of earlier releases
  s.manager_restart_requested_at = get_opt_time(b, "manager_restart_requested_at");
  s.blocked_reason = b.at("blocked_reason").get<std::string>();
  s.suggested_action = b.at("suggested_action").get<std::string>();
  if (!b.at("blocked_from").is_null()) {
    auto bf = parse_state(b.at("blocked_from").get<std::string>());
    if (!bf) throw std::runtime_error("unknown blocked_from state");
    s.blocked_from = *bf;
  }
  for (const auto& e : b.at("skipped_events")) {
    s.skipped_events.push_back(SkippedEvent{
        from_ms(e.at("at")), e.at("server").get<std::string>(), e.at("position").get<std::string>(),
        integer<int>(e.at("error_number")), e.at("error").get<std::string>()});
  }
  s.last_error = b.at("last_error").get<std::string>();
  return s;
}

}  // namespace

std::string serialize_state(const PersistedState& state) {
  json body = body_of(state);
  std::string body_text = body.dump();
  json doc{{"format", PersistedState::kFormatVersion}, {"checksum", fnv1a64(body_text)}, {"body", body}};
  return doc.dump(2) + "\n";
}

Result<PersistedState> deserialize_state(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Error::invalid("the state file is not valid JSON");
  if (!doc.contains("format") || !doc["format"].is_number_integer())
    return Error::invalid("the state file has no format version");
  if (doc["format"] != PersistedState::kFormatVersion)
    return Error::invalid("the state file has format " + doc["format"].dump() +
                          ", this daemon reads format " + std::to_string(PersistedState::kFormatVersion));
  if (!doc.contains("body") || !doc.contains("checksum") || !doc["checksum"].is_string())
    return Error::invalid("the state file has no body or checksum");
  if (fnv1a64(doc["body"].dump()) != doc["checksum"].get<std::string>())
    return Error::invalid("the state file's checksum does not match its content (torn or corrupted write)");
  try {
    return state_of(doc["body"]);
  } catch (const std::exception& e) {
    return Error::invalid(std::string("the state file is missing or has a bad field: ") + e.what());
  }
}

}  // namespace mhafb

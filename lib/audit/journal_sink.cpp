// JournalAuditSink and MultiAuditSink (see the header).
#include "audit/journal_sink.hpp"

namespace mhafb {

JournalAuditSink::JournalAuditSink(std::shared_ptr<JournalWriter> writer) : writer_(std::move(writer)) {}

std::vector<JournalField> JournalAuditSink::fields_of(const AuditRecord& r) {
  std::vector<JournalField> f;
  f.reserve(7 + r.fields.size());
  f.push_back({"MESSAGE_ID", message_id(r.kind)});
  f.push_back({"AUDIT_KIND", to_string(r.kind)});
  f.push_back({"CLUSTER", r.cluster});
  f.push_back({"STATE", r.state});
  f.push_back({"STATE_FROM", r.state_from});
  f.push_back({"OPERATION_ID", r.operation_id});
  f.push_back({"SERVER", r.server});
  for (const auto& [name, value] : r.fields) {
    // The fixed fields above win: an extra field cannot forge the record's identity.
    auto clean = JournalWriter::sanitize_field_name(name);
    bool fixed = false;
    for (std::size_t i = 0; i < 7; ++i)
      fixed = fixed || f[i].name == clean;
    if (!fixed) f.push_back({name, value});
  }
  return f;
}

void JournalAuditSink::record(const AuditRecord& r) {
  writer_->write(static_cast<int>(r.priority), r.message, fields_of(r));
}

void MultiAuditSink::add(std::shared_ptr<AuditSink> sink) {
  std::lock_guard lock(mutex_);
  sinks_.push_back(std::move(sink));
}

void MultiAuditSink::record(const AuditRecord& r) {
  std::vector<std::shared_ptr<AuditSink>> sinks;
  {
    std::lock_guard lock(mutex_);
    sinks = sinks_;
  }
  for (auto& s : sinks)
    s->record(r);
}

}  // namespace mhafb

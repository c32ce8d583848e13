// Audit sinks of the daemon: JournalAuditSink turns each AuditRecord into one structured journal
// entry (or a stderr line without journald, see JournalWriter); MultiAuditSink tees records to
// several sinks (the journal plus an in-process observer, for example). Both are thread-safe:
// supervisors record from their own strands.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "audit/journal_writer.hpp"
#include "ports/audit_sink.hpp"

namespace mhafb {

class JournalAuditSink final : public AuditSink {
 public:
  explicit JournalAuditSink(std::shared_ptr<JournalWriter> writer);
  void record(const AuditRecord& record) override;

  // The journal fields of a record besides MESSAGE/PRIORITY/SYSLOG_IDENTIFIER: MESSAGE_ID,
  // AUDIT_KIND, CLUSTER, STATE, STATE_FROM, OPERATION_ID, SERVER, then the extra fields.
  static std::vector<JournalField> fields_of(const AuditRecord& record);

 private:
  std::shared_ptr<JournalWriter> writer_;
};

class MultiAuditSink final : public AuditSink {
 public:
  void add(std::shared_ptr<AuditSink> sink);
  void record(const AuditRecord& record) override;

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<AuditSink>> sinks_;
};

}  // namespace mhafb

// Names and fixed journal MESSAGE_IDs of the audit record kinds. The ids were generated once
// (uuid4, written as 32 hex digits) and must never change: operators filter on them.
#include "ports/audit_sink.hpp"

namespace mhafb {

const char* to_string(AuditKind kind) {
  switch (kind) {
    case AuditKind::Decision:
      return "decision";
    case AuditKind::Transition:
      return "transition";
    case AuditKind::Sql:
      return "sql";
    case AuditKind::Command:
      return "command";
    case AuditKind::RemoteCommand:
      return "remote-command";
    case AuditKind::StepStarted:
      return "step-started";
    case AuditKind::StepFinished:
      return "step-finished";
    case AuditKind::Blocked:
      return "blocked";
    case AuditKind::Operation:
      return "operation";
    case AuditKind::Divergence:
      return "divergence";
    case AuditKind::SkippedEvent:
      return "skipped-event";
    case AuditKind::Warning:
      return "warning";
  }
  return "decision";
}

const char* message_id(AuditKind kind) {
  switch (kind) {
    case AuditKind::Decision:
      return "e9ac3103c7e144c3849af21e139fdd39";
    case AuditKind::Transition:
      return "417ae298bf064d4e9b76a886cafb2bb9";
    case AuditKind::Sql:
      return "0bc0e34008514699a603d539c27a4d06";
    case AuditKind::Command:
      return "a8b15c64692f45b984dbe1a51302fcfd";
    case AuditKind::RemoteCommand:
      return "b6f321b336aa4d3fbe486aaa423acbeb";
    case AuditKind::StepStarted:
      return "abb0a20a016449b3b7f45aa01e91dfbf";
    case AuditKind::StepFinished:
      return "6964b60026714e718c373c2532b9f509";
    case AuditKind::Blocked:
      return "14ef5793fdd14d9cb3a4efd664e6b984";
    case AuditKind::Operation:
      return "b401cb4855f944798f18b4f76898d690";
    case AuditKind::Divergence:
      return "dbba0a78409d4fb49987bb9dcdc71911";
    case AuditKind::SkippedEvent:
      return "e22a87ff37d2439f8505712cb8623705";
    case AuditKind::Warning:
      return "cc2f33dc27a74186b63da0153b0985c5";
  }
  return "e9ac3103c7e144c3849af21e139fdd39";
}

}  // namespace mhafb

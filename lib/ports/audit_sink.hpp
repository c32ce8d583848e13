// AuditSink: every decision and side effect becomes one structured record. The daemon's sink writes
// journal records (MESSAGE, PRIORITY, CLUSTER, STATE, STATE_FROM, OPERATION_ID, SERVER, MESSAGE_ID);
// tests collect records in memory and assert on them.
#pragma once

#include <map>
#include <string>

namespace mhafb {

enum class AuditKind {
  Decision,       // the one-sentence decision of a tick, when it changed
  Transition,     // a state change, STATE_FROM -> STATE
  Sql,            // a statement that changed something (audit text, never secrets)
  Command,        // a local command run, with exit code and duration
  RemoteCommand,  // a command run over SSH
  StepStarted,    // a procedure step began
  StepFinished,   // a procedure step ended (ok or not)
  Blocked,        // the cluster needs an operator: reason and suggested action
  Operation,      // an operator request (failback, rejoin, abort, mode, acknowledge)
  Divergence,     // extra transactions found on the old master
  SkippedEvent,   // a replication event skipped under the opt-in policy
  Warning,        // something odd that did not change the decision
};

// Syslog priorities, as the journal wants them.
enum class AuditPriority { Err = 3, Warning = 4, Notice = 5, Info = 6, Debug = 7 };

const char* to_string(AuditKind kind);
// A fixed 128-bit id per kind (32 hex digits) for the journal's MESSAGE_ID and message catalog.
const char* message_id(AuditKind kind);

struct AuditRecord {
  AuditKind kind = AuditKind::Decision;
  AuditPriority priority = AuditPriority::Info;
  std::string message;
  std::string cluster;
  std::string state;
  std::string state_from;
  std::string operation_id;
  std::string server;
  std::map<std::string, std::string> fields;  // extra fields, upper-case names (EXIT_CODE, DURATION_MS…)
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual void record(const AuditRecord& record) = 0;
};

}  // namespace mhafb

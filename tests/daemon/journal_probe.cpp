// journal_probe: writes a known set of records through JournalAuditSink and the spdlog journal
// sink, so a test can read them back from a real journald (or from stderr without one) and check
// every field. Usage: journal_probe [auto|stderr]
#include <spdlog/spdlog.h>

#include <cstring>

#include "audit/journal_sink.hpp"
#include "audit/spdlog_journal_sink.hpp"

int main(int argc, char** argv) {
  mhafb::JournalWriter::Options o;
  if (argc > 1 && std::strcmp(argv[1], "stderr") == 0) o.target = mhafb::JournalWriter::Target::Stderr;
  auto writer = std::make_shared<mhafb::JournalWriter>(o);
  mhafb::JournalAuditSink sink(writer);

  mhafb::AuditRecord t;
  t.kind = mhafb::AuditKind::Transition;
  t.priority = mhafb::AuditPriority::Notice;
  t.message = "degraded -> slave-rejoined: the old master replicates from the new master";
  t.cluster = "probe1";
  t.state = "slave-rejoined";
  t.state_from = "degraded";
  t.operation_id = "op-1234";
  t.server = "db1:3306";
  sink.record(t);

  mhafb::AuditRecord c;
  c.kind = mhafb::AuditKind::Command;
  c.priority = mhafb::AuditPriority::Info;
  c.message = "masterha_check_repl --conf=/etc/mha/probe1.cnf exited 0";
  c.cluster = "probe1";
  c.state = "validated";
  c.fields = {{"EXIT_CODE", "0"},
              {"DURATION_MS", "5321"},
              {"argv", "masterha_check_repl --conf=x"},
              {"CLUSTER", "forged"},
              {"_PID", "1"}};
  sink.record(c);

  mhafb::AuditRecord s;
  s.kind = mhafb::AuditKind::Sql;
  s.priority = mhafb::AuditPriority::Warning;
  s.message = "CHANGE MASTER TO master_host='db2', master_password='***'\nSTART SLAVE";
  s.cluster = "probe1";
  s.server = "db1:3306";
  sink.record(s);

  auto logger = mhafb::make_journal_logger("probe1", writer);
  logger->error("a plain log line with {} fields", 1);
  return 0;
}

// JournalWriter and JournalAuditSink without journald: field names, the stderr line, and that
// nothing is dropped when the journal socket is missing.
#include <gtest/gtest.h>

#include <cstdio>

#include "audit/journal_sink.hpp"
#include "audit/spdlog_journal_sink.hpp"

namespace mhafb {
namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  while (auto n = std::fread(buf, 1, sizeof buf, f))
    out.append(buf, n);
  return out;
}

TEST(JournalWriter, SanitizesFieldNames) {
  EXPECT_EQ(JournalWriter::sanitize_field_name("exit_code"), "EXIT_CODE");
  EXPECT_EQ(JournalWriter::sanitize_field_name("duration-ms"), "DURATION_MS");
  EXPECT_EQ(JournalWriter::sanitize_field_name("_PID"), "PID");
  EXPECT_EQ(JournalWriter::sanitize_field_name("3rd"), "RD");
  EXPECT_EQ(JournalWriter::sanitize_field_name("__"), "");
  EXPECT_EQ(JournalWriter::sanitize_field_name(std::string(80, 'a')).size(), 64u);
}

TEST(JournalWriter, StderrLineCarriesLevelIdentifierMessageAndFields) {
  auto line = JournalWriter::format_line(
      4, "mha-failbackd", "two\nlines", {{"CLUSTER", "app1"}, {"EMPTY", ""}, {"REASON", "has spaces \"q\""}});
  EXPECT_EQ(line, "warning mha-failbackd: two lines CLUSTER=app1 REASON=\"has spaces \\\"q\\\"\"\n");
}

TEST(JournalWriter, FallsBackToStderrWhenTheSocketIsMissing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  JournalWriter::Options o;
  o.socket_path = "/nonexistent/journal/socket";
  o.fallback = f;
  auto writer = std::make_shared<JournalWriter>(o);
  JournalAuditSink sink(writer);
  AuditRecord r;
  r.kind = AuditKind::Transition;
  r.priority = AuditPriority::Notice;
  r.message = "degraded -> slave-rejoined";
  r.cluster = "app1";
  r.state = "slave-rejoined";
  r.state_from = "degraded";
  r.operation_id = "op1";
  r.server = "db1:3306";
  r.fields = {{"EXIT_CODE", "0"}, {"CLUSTER", "forged"}};
  sink.record(r);
  EXPECT_FALSE(writer->journal_available());
  auto out = read_all(f);
  EXPECT_EQ(out, std::string("notice mha-failbackd: degraded -> slave-rejoined MESSAGE_ID=") +
                     message_id(AuditKind::Transition) +
                     " AUDIT_KIND=transition CLUSTER=app1 STATE=slave-rejoined STATE_FROM=degraded "
                     "OPERATION_ID=op1 SERVER=db1:3306 EXIT_CODE=0\n");
  EXPECT_EQ(std::fclose(f), 0);
}

TEST(JournalWriter, SpdlogLinesUseTheSameFallback) {
  std::FILE* f = std::tmpfile();
  JournalWriter::Options o;
  o.target = JournalWriter::Target::Stderr;
  o.fallback = f;
  auto logger = make_journal_logger("app2", std::make_shared<JournalWriter>(o));
  logger->warn("lag {} s", 7);
  logger->debug("not shown at info");
  EXPECT_EQ(read_all(f), "warning mha-failbackd: lag 7 s CLUSTER=app2\n");
  EXPECT_EQ(std::fclose(f), 0);
}

TEST(JournalWriter, TeeSinkDeliversToEverySink) {
  struct Collect : AuditSink {
    std::vector<std::string> got;
    void record(const AuditRecord& r) override { got.push_back(r.message); }
  };
  auto a = std::make_shared<Collect>();
  auto b = std::make_shared<Collect>();
  MultiAuditSink tee;
  tee.add(a);
  tee.add(b);
  AuditRecord r;
  r.message = "m";
  tee.record(r);
  EXPECT_EQ(a->got, std::vector<std::string>{"m"});
  EXPECT_EQ(b->got, std::vector<std::string>{"m"});
}

}  // namespace
}  // namespace mhafb

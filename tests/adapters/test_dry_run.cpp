// Dry-run decorators: read-only work goes through to the wrapped port (a real ProcessRunner for
// commands), mutating work is recorded in order, with audit texts only, and answered with success.
#include "exec/dry_run.hpp"

#include <gtest/gtest.h>

#include "exec/process_runner.hpp"

namespace mhafb {
namespace {

class RecordingSql final : public SqlPort {
 public:
  Result<ResultSet> query(const Endpoint& server, const SqlStatement& statement) override {
    calls.push_back(server.label() + " " + statement.text);
    ResultSet rs;
    rs.columns = {"v"};
    rs.rows = {{std::string("1")}};
    return rs;
  }
  std::vector<std::string> calls;
};

class RecordingRemote final : public RemoteShellPort {
 public:
  Result<CommandOutput> run(const RemoteTarget& target, const CommandSpec& spec) override {
    calls.push_back(target.label() + " " + spec.display());
    CommandOutput out;
    out.exit_code = 0;
    out.out = "remote-ran";
    return out;
  }
  Status probe(const RemoteTarget& target, std::chrono::milliseconds) override {
    calls.push_back("probe " + target.label());
    return Error::unreachable("no route to " + target.host);
  }
  std::vector<std::string> calls;
};

TEST(DryRun, CommandsThatOnlyLookRunForRealAndMutatingOnesAreRecorded) {
  ProcessRunner runner;
  DryRunLog log;
  DryRunCommandPort dry(runner, log);

  CommandSpec check;
  check.argv = {"echo", "checked"};
  check.mutates = false;
  auto checked = dry.run(check);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->out, "checked\n");

  CommandSpec switch_cmd;
  switch_cmd.argv = {"masterha_master_switch", "--master_state=alive", "--conf=/etc/mha.conf",
                     "--new_master_host=db 1"};
  auto skipped = dry.run(switch_cmd);
  ASSERT_TRUE(skipped.ok());  // would be NotFound if it had really been started
  EXPECT_TRUE(skipped->succeeded());
  EXPECT_EQ(skipped->out, "");

  EXPECT_EQ(log.entries(),
            (std::vector<std::string>{"masterha_master_switch --master_state=alive --conf=/etc/mha.conf "
                                      "'--new_master_host=db 1'"}));
}

TEST(DryRun, SqlWritesAreRecordedWithTheAuditTextNeverTheSecret) {
  RecordingSql sql;
  DryRunLog log;
  DryRunSqlPort dry(sql, log);
  Endpoint old_master{"192.168.10.1", 3306};

  auto read = dry.query(old_master, SqlStatement::read("SELECT @@gtid_binlog_pos"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->scalar(), "1");

  SqlStatement change{"CHANGE MASTER TO master_password='s3cret'", "CHANGE MASTER TO master_password='***'",
                      true};
  auto written = dry.query(old_master, change);
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(written->empty());
  EXPECT_TRUE(written->columns.empty());

  EXPECT_EQ(sql.calls, (std::vector<std::string>{"192.168.10.1:3306 SELECT @@gtid_binlog_pos"}));
  EXPECT_EQ(log.entries(),
            (std::vector<std::string>{"192.168.10.1:3306: CHANGE MASTER TO master_password='***'"}));
}

TEST(DryRun, RemoteProbesPassThroughAndMutatingCommandsAreRecordedInOrderInASharedLog) {
  RecordingRemote remote;
  RecordingSql sql;
  DryRunLog log;
  DryRunRemoteShellPort dry_remote(remote, log);
  DryRunSqlPort dry_sql(sql, log);
  RemoteTarget target{"192.168.10.1", 22, "root"};

  auto probe = dry_remote.probe(target, std::chrono::milliseconds(1000));
  ASSERT_FALSE(probe.ok());  // the real answer, not a made-up success
  EXPECT_EQ(probe.error().kind, ErrorKind::Unreachable);

  CommandSpec look;
  look.argv = {"systemctl", "is-active", "mariadb"};
  look.mutates = false;
  auto looked = dry_remote.run(target, look);
  ASSERT_TRUE(looked.ok());
  EXPECT_EQ(looked->out, "remote-ran");

  CommandSpec start;
  start.argv = {"systemctl", "start", "mariadb"};
  ASSERT_TRUE(dry_remote.run(target, start).ok());
  ASSERT_TRUE(dry_sql.query({"192.168.10.2", 3306}, SqlStatement::write("SET GLOBAL read_only=1")).ok());

  EXPECT_EQ(remote.calls, (std::vector<std::string>{"probe root@192.168.10.1:22",
                                                    "root@192.168.10.1:22 systemctl is-active mariadb"}));
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"root@192.168.10.1:22: systemctl start mariadb",
                                                     "192.168.10.2:3306: SET GLOBAL read_only=1"}));
  log.clear();
  EXPECT_TRUE(log.entries().empty());
}

}  // namespace
}  // namespace mhafb

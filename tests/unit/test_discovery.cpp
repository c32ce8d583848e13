// Discovery: read-only probes of every server (facts, GTID state, binlog end, replication status) and
// of MHA's files into the snapshot. Result sets carry the real column names of MariaDB 10.11 (captured
// from a real server) and MySQL 8.0; the health file is the one captured in the lab.
#include <gtest/gtest.h>

#include "supervisor/discovery.hpp"
#include "support/step_harness.hpp"

namespace mhafb::test {
namespace {

const std::string kGtidMaria =
    "SELECT @@GLOBAL.gtid_binlog_pos AS gtid_binlog_pos, @@GLOBAL.gtid_binlog_state AS gtid_binlog_state, "
    "@@GLOBAL.gtid_slave_pos AS gtid_slave_pos, @@GLOBAL.gtid_current_pos AS gtid_current_pos";
const std::string kGtidMysql = "SELECT @@GLOBAL.gtid_executed AS gtid_executed";
const std::string kFacts =
    "SELECT @@GLOBAL.version AS version, @@GLOBAL.server_id AS server_id, @@GLOBAL.read_only AS read_only, "
    "@@GLOBAL.log_bin AS log_bin";

struct Disc {
  CallScript script;
  ScriptedSql sql{script};
  FakeClock clock{kT0};
  MemoryFiles files{clock, script};
  ClusterConfig cfg = lab_config();
};

void expect_maria_old_replica(Disc& d, const Columns& status = {}) {
  d.sql.expect(kOld, kFacts, facts_rows(true, 1))
      .expect(kOld, kGtidMaria, maria_gtid_rows("0-1-13", "0-1-13", "0-2-20", "0-2-20"))
      .expect(kOld, "SHOW MASTER STATUS", master_status_rows("mysql-bin.000002", 385))
      .expect(kOld, "SHOW SLAVE STATUS", maria_slave_status(status));
}

void expect_maria_new_master(Disc& d) {
  d.sql.expect(kNew, kFacts, facts_rows(false, 2))
      .expect(kNew, kGtidMaria, maria_gtid_rows("0-2-20", "0-1-13,0-2-20", "0-1-13", "0-2-20"))
      .expect(kNew, "SHOW MASTER STATUS", master_status_rows("mysql-bin.000001", 4711))
      .expect(kNew, "SHOW SLAVE STATUS", no_rows());
}

TEST(Discovery, MariaDbReplicaAndMaster) {
  Disc d;
  expect_maria_old_replica(d);
  expect_maria_new_master(d);
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
  d.script.verify();

  EXPECT_EQ(s.taken_at, kT0);
  ASSERT_EQ(s.servers.size(), 2u);
  const ServerSnapshot& old = s.servers[0];
  EXPECT_EQ(old.hostname, kOld);
  EXPECT_TRUE(old.sql_reachable);
  EXPECT_EQ(old.version, kMariaVersion);
  EXPECT_EQ(old.flavor, Flavor::MariaDB);
  EXPECT_EQ(old.server_id, 1u);
  EXPECT_TRUE(old.read_only);
  EXPECT_TRUE(old.log_bin);
  EXPECT_EQ(old.gtid_binlog_pos, "0-1-13");
  EXPECT_EQ(old.gtid_binlog_state, "0-1-13");
  EXPECT_EQ(old.gtid_slave_pos, "0-2-20");
  EXPECT_EQ(old.gtid_current_pos, "0-2-20");
  EXPECT_EQ(old.binlog_end, (BinlogPosition{"mysql-bin.000002", 385}));
  ASSERT_TRUE(old.replica);
  const ReplicaStatus& r = *old.replica;
  EXPECT_EQ(r.source_host, kNew);
  EXPECT_EQ(r.source_port, 3306);
  EXPECT_EQ(r.source_user, "repl");
  EXPECT_TRUE(r.io_running);
  EXPECT_FALSE(r.io_connecting);
  EXPECT_TRUE(r.sql_running);
  EXPECT_EQ(r.seconds_behind, 0);
  EXPECT_EQ(r.last_io_errno, 0);
  EXPECT_EQ(r.last_sql_errno, 0);
  EXPECT_TRUE(r.using_gtid);
  EXPECT_EQ(r.gtid_io_pos, "0-2-20");
  EXPECT_EQ(r.source_read, (BinlogPosition{"mysql-bin.000001", 4711}));
  EXPECT_EQ(r.source_executed, (BinlogPosition{"mysql-bin.000001", 4711}));
  EXPECT_FALSE(old.acts_as_master());

  const ServerSnapshot& neu = s.servers[1];
  EXPECT_FALSE(neu.replica);
  EXPECT_FALSE(neu.read_only);
  EXPECT_TRUE(neu.acts_as_master());
  ASSERT_EQ(s.masters().size(), 1u);
  EXPECT_EQ(s.masters()[0]->hostname, kNew);

  for (const auto& st : d.sql.issued())
    EXPECT_FALSE(st.mutates) << "discovery must never change anything: " << st.text;
}

TEST(Discovery, ReplicaConnectingWithAnIoErrorAndNullLag) {
  // The values a real MariaDB 10.11 showed with its source unreachable.
  Disc d;
  expect_maria_old_replica(
      d, {{"Slave_IO_State", "Connecting to master"},
          {"Slave_IO_Running", "Connecting"},
          {"Seconds_Behind_Master", std::nullopt},
          {"Last_IO_Errno", "2003"},
          {"Last_IO_Error",
           "error connecting to master 'repl@127.0.0.12:3306' - retry-time: 60  maximum-retries: "
           "100000  message: Can't connect to server on '127.0.0.12' (111 \"Connection refused\")"}});
  expect_maria_new_master(d);
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
  d.script.verify();
  const ReplicaStatus& r = *s.servers[0].replica;
  EXPECT_FALSE(r.io_running);
  EXPECT_TRUE(r.io_connecting);
  EXPECT_TRUE(r.sql_running);
  EXPECT_FALSE(r.seconds_behind) << "NULL lag is unknown, not zero";
  EXPECT_EQ(r.last_io_errno, 2003);
  EXPECT_NE(r.last_io_error.find("Connection refused"), std::string::npos);
}

TEST(Discovery, SqlErrorAndStoppedThreads) {
  Disc d;
  expect_maria_old_replica(
      d,
      {{"Slave_SQL_Running", "No"},
       {"Seconds_Behind_Master", std::nullopt},
       {"Last_Errno", "1062"},
       {"Last_SQL_Errno", "1062"},
       {"Last_SQL_Error", "Could not execute Write_rows_v1 event on table app.orders; Duplicate entry '42'"},
       {"Relay_Master_Log_File", "mysql-bin.000001"},
       {"Exec_Master_Log_Pos", "2941"},
       {"Using_Gtid", "No"}});
  expect_maria_new_master(d);
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
  const ReplicaStatus& r = *s.servers[0].replica;
  EXPECT_FALSE(r.sql_running);
  EXPECT_EQ(r.last_sql_errno, 1062);
  EXPECT_NE(r.last_sql_error.find("Duplicate entry"), std::string::npos);
  EXPECT_EQ(r.source_executed, (BinlogPosition{"mysql-bin.000001", 2941}));
  EXPECT_FALSE(r.using_gtid);
}

TEST(Discovery, ResetSlaveLeavesNoReplica) {
  // RESET SLAVE (without ALL) keeps a row with an empty Master_Host: not a replica.
  Disc d;
  expect_maria_old_replica(d, {{"Master_Host", ""}, {"Slave_IO_Running", "No"}, {"Slave_SQL_Running", "No"}});
  expect_maria_new_master(d);
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
  EXPECT_FALSE(s.servers[0].replica);
}

TEST(Discovery, UnreachableServerIsMarkedAndNotQueriedFurther) {
  Disc d;
  d.sql.expect(kOld, kFacts,
               Error{ErrorKind::Unreachable,
                     "Can't connect to server on '127.0.0.11' (111 \"Connection refused\")", 2002});
  expect_maria_new_master(d);
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
  d.script.verify();
  const ServerSnapshot& old = s.servers[0];
  EXPECT_FALSE(old.sql_reachable);
  EXPECT_EQ(old.sql_error, "Can't connect to server on '127.0.0.11' (111 \"Connection refused\")");
  EXPECT_EQ(old.hostname, kOld);
  EXPECT_EQ(old.flavor, Flavor::Unknown);
  EXPECT_FALSE(old.replica);
  EXPECT_FALSE(old.acts_as_master());
  EXPECT_TRUE(s.servers[1].sql_reachable);
}

TEST(Discovery, FailureHalfWayMarksTheServerUnreachable) {
  // A server that stops answering mid-probe gives no half-true snapshot.
  for (int at = 1; at <= 3; ++at) {
    SCOPED_TRACE(at);
    Disc d;
    Error lost{ErrorKind::Unreachable, "Lost connection to server during query", 2013};
    d.sql.expect(kOld, kFacts, facts_rows(true, 1));
    if (at == 1) {
      d.sql.expect(kOld, kGtidMaria, lost);
    } else {
      d.sql.expect(kOld, kGtidMaria, maria_gtid_rows("0-1-13", "0-1-13", "", "0-1-13"));
      if (at == 2) {
        d.sql.expect(kOld, "SHOW MASTER STATUS", lost);
      } else {
        d.sql.expect(kOld, "SHOW MASTER STATUS", master_status_rows("mysql-bin.000002", 385));
        d.sql.expect(kOld, "SHOW SLAVE STATUS", lost);
      }
    }
    expect_maria_new_master(d);
    ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
    d.script.verify();
    EXPECT_FALSE(s.servers[0].sql_reachable);
    EXPECT_EQ(s.servers[0].sql_error, "Lost connection to server during query");
  }
}

TEST(Discovery, Mysql8UsesReplicaStatusAndGtidExecuted) {
  Disc d;
  const std::string executed =
      "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-13,\n4a7b1c2d-0000-11ee-8000-00163e000002:1-7";
  d.sql.expect(kOld, kFacts, facts_rows(true, 1, kMysqlVersion))
      .expect(kOld, kGtidMysql, rows({"gtid_executed"}, {{executed}}))
      .expect(kOld, "SHOW MASTER STATUS", master_status_rows("binlog.000004", 157))
      .expect(kOld, "SHOW REPLICA STATUS", mysql_replica_status({{"Seconds_Behind_Source", "3"}}));
  d.sql.expect(kNew, kFacts, facts_rows(false, 2, kMysqlVersion))
      .expect(kNew, kGtidMysql, rows({"gtid_executed"}, {{executed}}))
      .expect(kNew, "SHOW MASTER STATUS", master_status_rows("binlog.000003", 1577))
      .expect(kNew, "SHOW REPLICA STATUS", no_rows());
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
  d.script.verify();
  const ServerSnapshot& old = s.servers[0];
  EXPECT_EQ(old.flavor, Flavor::MySQL);
  EXPECT_EQ(old.gtid_executed, executed);
  EXPECT_TRUE(old.gtid_binlog_state.empty());
  ASSERT_TRUE(old.replica);
  const ReplicaStatus& r = *old.replica;
  EXPECT_EQ(r.source_host, kNew);
  EXPECT_EQ(r.source_port, 3306);
  EXPECT_EQ(r.source_user, "repl");
  EXPECT_TRUE(r.io_running);
  EXPECT_TRUE(r.sql_running);
  EXPECT_EQ(r.seconds_behind, 3);
  EXPECT_TRUE(r.using_gtid) << "Auto_Position=1";
  EXPECT_EQ(r.source_read, (BinlogPosition{"binlog.000003", 1577}));
  EXPECT_EQ(r.source_executed, (BinlogPosition{"binlog.000003", 1577}));
  EXPECT_TRUE(s.servers[1].acts_as_master());
}

TEST(Discovery, OlderMysqlUsesSlaveStatus) {
  Disc d;
  d.cfg.mha.servers.pop_back();
  d.sql.expect(kOld, kFacts, facts_rows(false, 1, "5.7.44-log"))
      .expect(kOld, kGtidMysql, rows({"gtid_executed"}, {{""}}))
      .expect(kOld, "SHOW MASTER STATUS", master_status_rows("mysql-bin.000009", 120))
      .expect(kOld, "SHOW SLAVE STATUS", no_rows());
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
  d.script.verify();
  EXPECT_EQ(s.servers[0].flavor, Flavor::MySQL);
}

TEST(Discovery, ConnectsToTheIpAndPortButKeepsTheConfigHostname) {
  Disc d;
  d.cfg.mha.servers[0].hostname = "db1.example";
  d.cfg.mha.servers[0].ip = "10.1.2.11";
  d.cfg.mha.servers[0].port = 3307;
  d.cfg.mha.servers.pop_back();
  d.sql.expect("10.1.2.11:3307", kFacts, facts_rows(false, 1))
      .expect("10.1.2.11:3307", kGtidMaria, maria_gtid_rows("", "", "", ""))
      .expect("10.1.2.11:3307", "SHOW MASTER STATUS", no_rows())
      .expect("10.1.2.11:3307", "SHOW SLAVE STATUS", no_rows());
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0);
  d.script.verify();
  EXPECT_EQ(s.servers[0].hostname, "db1.example");
  EXPECT_EQ(s.servers[0].port, 3307);
  EXPECT_TRUE(s.servers[0].binlog_end.empty()) << "log_bin off: SHOW MASTER STATUS is empty";
  EXPECT_NE(s.find("db1.example"), nullptr);
}

TEST(Discovery, MhaFilesFlagErrorFlagAndHealth) {
  Disc d;
  const std::string work = "/var/lib/mha/app1/";
  d.files.put(work + "app1.failover.complete", "", kT0 - std::chrono::minutes(7));
  d.files.put(work + "app1.failover.error", "");
  d.files.put(work + "app1.master_status.health", captured("health.ping-ok.txt"));
  MhaSnapshot m = probe_mha_files(d.cfg.mha, d.files);
  ASSERT_TRUE(m.failover_complete_mtime);
  EXPECT_EQ(*m.failover_complete_mtime, kT0 - std::chrono::minutes(7));
  EXPECT_TRUE(m.failover_error);
  ASSERT_TRUE(m.health);
  EXPECT_EQ(m.health->pid, 21484);
  EXPECT_EQ(m.health->code, 0);
  EXPECT_EQ(m.health->name, "PING_OK");
  EXPECT_EQ(m.health->master, kOld);
  for (const auto& c : d.script.calls())
    EXPECT_FALSE(c.mutates()) << c.describe();
}

TEST(Discovery, HealthFilesCapturedDuringAFailover) {
  struct Case {
    const char* file;
    int code;
    const char* name;
  };
  for (const Case& c : {Case{"health.during-failover-2-ping-failing.txt", 20, "PING_FAILING"},
                        Case{"health.during-failover-3-ping-failed.txt", 21, "PING_FAILED"},
                        Case{"health.during-failover-4-failover-running.txt", 50, "FAILOVER_RUNNING"}}) {
    SCOPED_TRACE(c.file);
    Disc d;
    d.files.put("/var/lib/mha/app1/app1.master_status.health", captured(c.file));
    MhaSnapshot m = probe_mha_files(d.cfg.mha, d.files);
    ASSERT_TRUE(m.health);
    EXPECT_EQ(m.health->code, c.code);
    EXPECT_EQ(m.health->name, c.name);
  }
}

TEST(Discovery, MissingOrUnreadableMhaFilesAreAbsentNotErrors) {
  Disc d;
  MhaSnapshot none = probe_mha_files(d.cfg.mha, d.files);
  EXPECT_FALSE(none.failover_complete_mtime);
  EXPECT_FALSE(none.failover_error);
  EXPECT_FALSE(none.health);

  d.files.put("/var/lib/mha/app1/app1.master_status.health", "garbage\x01\x02");
  d.files.fail_next("stat", "/var/lib/mha/app1/app1.failover.complete", Error::failed("Permission denied"));
  MhaSnapshot bad = probe_mha_files(d.cfg.mha, d.files);
  EXPECT_FALSE(bad.failover_complete_mtime);
  EXPECT_FALSE(bad.health) << "an unparsable health file is no health";
}

TEST(Discovery, WholeClusterSnapshotIncludesTheFiles) {
  Disc d;
  expect_maria_old_replica(d);
  expect_maria_new_master(d);
  d.files.put("/var/lib/mha/app1/app1.failover.complete", "", kT0);
  ClusterSnapshot s = discover(d.cfg, d.sql, d.files, kT0 + std::chrono::seconds(3));
  d.script.verify();
  EXPECT_EQ(s.mha.failover_complete_mtime, kT0);
  EXPECT_EQ(s.taken_at, kT0 + std::chrono::seconds(3));
  // Servers first, then the files (a snapshot of the servers is never taken after a newer flag).
  const auto& calls = d.script.calls();
  ASSERT_GE(calls.size(), 9u);
  EXPECT_EQ(calls[8].kind, CallKind::File);
}

}  // namespace
}  // namespace mhafb::test

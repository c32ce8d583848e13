// The daemon's JSON configuration: schema and defaults, the defaults layer, MHA-derived values,
// secret files (type, mode, owner, content), cross-checks within and across clusters, collection
// of every error at once, and that no error ever contains a password. Each test builds its files in
// a fresh temporary directory.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/daemon_config.hpp"
#include "config/daemon_config_options.hpp"
#include "config/secret_file.hpp"

namespace mhafb {
namespace {

namespace fs = std::filesystem;

const std::string kApp1 =
    "[server default]\nuser=mhaadmin\npassword=Mha-Admin-Pw-1\nrepl_user=repl\nrepl_password=Mha-Repl-Pw-2\n"
    "manager_workdir=/var/tmp/mha\nssh_user=dba\n[server1]\nhostname=db1\nip=127.0.0.11\n[server2]\n"
    "hostname=db2\nip=127.0.0.12\n";

class DaemonConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mhafb-config-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir = tmpl;
    write("mha/app1.cnf", kApp1);
    write("repl.pw", "Repl-File-Pw-9\n");
    write("admin.pw", "Admin-File-Pw-8\n");
    write("id_ed25519", "not a real key\n");
    options.default_mha_global_conf = dir + "/absent-masterha_default.cnf";
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string write(const std::string& rel, const std::string& content, mode_t mode = 0600) {
    std::string p = dir + "/" + rel;
    fs::create_directories(fs::path(p).parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    EXPECT_EQ(chmod(p.c_str(), mode), 0);
    return p;
  }

  std::string expand(std::string text) const {
    for (size_t pos; (pos = text.find("@DIR@")) != std::string::npos;)
      text.replace(pos, 5, dir);
    return text;
  }

  LoadedConfig load(const std::string& json) {
    return parse_daemon_config_text(expand(json), dir + "/mha-failback.json", options);
  }

  // A minimal valid cluster object's members, to extend.
  std::string cluster(const std::string& extra = "") const {
    std::string s = R"("mha_conf": "@DIR@/mha/app1.cnf")";
    if (extra.find("\"ssh\":") == std::string::npos) s += R"(, "ssh": {"identity_file": "@DIR@/id_ed25519"})";
    return extra.empty() ? s : s + ", " + extra;
  }
  LoadedConfig load_cluster(const std::string& extra = "") {
    return load("{\"clusters\": [{" + cluster(extra) + "}]}");
  }

  std::string dir;
  DaemonConfigOptions options;
};

std::string all(const LoadedConfig& c) {
  std::string s;
  for (const auto& e : c.errors)
    s += e.to_string() + "\n";
  return s;
}

const ConfigError* find(const LoadedConfig& c, const std::string& key) {
  for (const auto& e : c.errors)
    if (e.key == key) return &e;
  return nullptr;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// ---------------------------------------------------------------- good configurations

TEST_F(DaemonConfigTest, MinimalClusterTakesEverythingElseFromDefaultsAndMha) {
  auto c = load_cluster();
  ASSERT_TRUE(c.ok()) << all(c);
  EXPECT_EQ(c.config.source, dir + "/mha-failback.json");
  EXPECT_EQ(c.config.state_dir, "/var/lib/mha-failback");
  EXPECT_EQ(c.config.log_level, "info");
  ASSERT_EQ(c.config.clusters.size(), 1u);
  const ClusterConfig& k = c.config.clusters[0];
  EXPECT_EQ(k.name, "app1");
  EXPECT_EQ(k.source, dir + "/mha-failback.json: clusters[0]");
  EXPECT_EQ(k.mode, Mode::Approve);
  EXPECT_EQ(k.preferred_master, "db1");
  ASSERT_NE(k.preferred(), nullptr);
  EXPECT_EQ(k.preferred()->ip, "127.0.0.11");
  EXPECT_EQ(k.mha.conf_path, dir + "/mha/app1.cnf");
  EXPECT_EQ(k.mha.global_conf_path, "");
  EXPECT_EQ(k.mha.failover_complete_flag(), "/var/tmp/mha/app1.failover.complete");
  EXPECT_EQ(k.admin.user, "mhaadmin");
  EXPECT_EQ(k.admin.password.value, "Mha-Admin-Pw-1");
  EXPECT_EQ(k.admin.password.source, "password in " + dir + "/mha/app1.cnf [server default] line 3");
  EXPECT_EQ(k.replication.user, "repl");
  EXPECT_EQ(k.replication.password.value, "Mha-Repl-Pw-2");
  EXPECT_EQ(k.ssh.user, "dba");  // the MHA servers' ssh_user
  EXPECT_FALSE(k.ssh.port.has_value());
  EXPECT_EQ(k.ssh.identity_file, dir + "/id_ed25519");
  EXPECT_EQ(k.ssh.known_hosts, "/etc/ssh/ssh_known_hosts");
  EXPECT_EQ(k.ssh.connect_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(k.commands.start_database, (std::vector<std::string>{"systemctl", "start", "mariadb"}));
  EXPECT_EQ(k.commands.manager_start,
            (std::vector<std::string>{"systemctl", "start", "mha-manager@app1.service"}));
  EXPECT_EQ(k.commands.manager_stop,
            (std::vector<std::string>{"masterha_stop", "--conf=" + dir + "/mha/app1.cnf"}));
  EXPECT_TRUE(k.commands.companion_start.empty());
  EXPECT_TRUE(k.commands.mha_tool_env.empty());
  EXPECT_EQ(k.commands.mysqlbinlog, "mysqlbinlog");
  EXPECT_EQ(k.validation.max_lag_seconds, 5);
  EXPECT_EQ(k.validation.stable_window, std::chrono::seconds(30));
  EXPECT_TRUE(k.validation.run_mha_checks);
  EXPECT_EQ(k.sql_error_policy.action, SqlErrorAction::Block);
  EXPECT_EQ(k.timeouts.tool, std::chrono::seconds(180));
}

TEST_F(DaemonConfigTest, EveryKeyIsRead) {
  fs::create_directories(dir + "/bin");
  auto c = load(R"(
    // a comment
    {
      "state_dir": "/srv/state", /* block comment */ "log_level": "debug",
      "clusters": [{
        "name": "pair-1", "mha_conf": "@DIR@/mha/app1.cnf", "mode": "auto", "preferred_master": "db2",
        "admin": {"user": "fbadmin", "password_file": "@DIR@/admin.pw"},
        "replication": {"user": "repl2", "password_file": "@DIR@/repl.pw"},
        "ssh": {"user": "ops", "port": 2222, "identity_file": "@DIR@/id_ed25519", "known_hosts": "@DIR@/kh",
                "connect_timeout_ms": 1500},
        "commands": {"start_database": ["/usr/sbin/service", "mysql", "start"],
                     "manager_start": ["/bin/true"], "manager_stop": ["/bin/false", "x"],
                     "companion_start": ["systemctl", "start", "zabbix-server"],
                     "companion_stop": ["systemctl", "stop", "zabbix-server"],
                     "mha_tool_env": ["PERL5LIB=/opt/lib", "LANG=C"], "mha_bin_dir": "@DIR@/bin",
                     "mysqlbinlog": "/usr/bin/mariadb-binlog"},
        "validation": {"max_lag_seconds": 0, "stable_seconds": 90, "run_mha_checks": false},
        "sql_error_policy": {"action": "skip", "max_skips": 3},
        "timeouts": {"probe_interval_ms": 250, "sql_timeout_ms": 900, "old_master_return_seconds": 60,
                     "database_start_seconds": 61, "catch_up_seconds": 62, "switch_budget_seconds": 63,
                     "manager_restart_seconds": 64, "tool_seconds": 65}
      }]
    })");
  ASSERT_TRUE(c.ok()) << all(c);
  const ClusterConfig& k = c.config.clusters[0];
  EXPECT_EQ(c.config.state_dir, "/srv/state");
  EXPECT_EQ(c.config.log_level, "debug");
  EXPECT_EQ(k.name, "pair-1");
  EXPECT_EQ(k.mode, Mode::Auto);
  EXPECT_EQ(k.preferred_master, "db2");
  EXPECT_EQ(k.admin.user, "fbadmin");
  EXPECT_EQ(k.admin.password.value, "Admin-File-Pw-8");  // the trailing newline is not part of it
  EXPECT_EQ(k.admin.password.source, "file " + dir + "/admin.pw");
  EXPECT_EQ(k.replication.user, "repl2");
  EXPECT_EQ(k.replication.password.value, "Repl-File-Pw-9");
  EXPECT_EQ(k.ssh.user, "ops");
  EXPECT_EQ(k.ssh.port, 2222);
  EXPECT_EQ(k.ssh.known_hosts, dir + "/kh");
  EXPECT_EQ(k.ssh.connect_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(k.commands.start_database, (std::vector<std::string>{"/usr/sbin/service", "mysql", "start"}));
  EXPECT_EQ(k.commands.manager_start, (std::vector<std::string>{"/bin/true"}));
  EXPECT_EQ(k.commands.manager_stop, (std::vector<std::string>{"/bin/false", "x"}));
  EXPECT_EQ(k.commands.companion_stop, (std::vector<std::string>{"systemctl", "stop", "zabbix-server"}));
  EXPECT_EQ(k.commands.mha_tool_env, (std::vector<std::string>{"PERL5LIB=/opt/lib", "LANG=C"}));
  EXPECT_EQ(k.commands.mha_bin_dir, dir + "/bin");
  EXPECT_EQ(k.commands.mysqlbinlog, "/usr/bin/mariadb-binlog");
  EXPECT_EQ(k.validation.max_lag_seconds, 0);
  EXPECT_EQ(k.validation.stable_window, std::chrono::seconds(90));
  EXPECT_FALSE(k.validation.run_mha_checks);
  EXPECT_EQ(k.sql_error_policy.action, SqlErrorAction::Skip);
  EXPECT_EQ(k.sql_error_policy.max_skips, 3);
  EXPECT_EQ(k.timeouts.probe_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(k.timeouts.sql_timeout, std::chrono::milliseconds(900));
  EXPECT_EQ(k.timeouts.old_master_return, std::chrono::seconds(60));
  EXPECT_EQ(k.timeouts.database_start, std::chrono::seconds(61));
  EXPECT_EQ(k.timeouts.catch_up, std::chrono::seconds(62));
  EXPECT_EQ(k.timeouts.switch_budget, std::chrono::seconds(63));
  EXPECT_EQ(k.timeouts.manager_restart, std::chrono::seconds(64));
  EXPECT_EQ(k.timeouts.tool, std::chrono::seconds(65));
}

TEST_F(DaemonConfigTest, DefaultsApplyToEveryClusterAndClustersOverrideKeyByKey) {
  write("mha/app2.cnf", kApp1);
  auto c = load(R"({
    "defaults": {"mode": "observe", "ssh": {"identity_file": "@DIR@/id_ed25519", "port": 2200},
                 "replication": {"password_file": "@DIR@/repl.pw"}, "timeouts": {"tool_seconds": 30}},
    "clusters": [
      {"mha_conf": "@DIR@/mha/app1.cnf"},
      {"mha_conf": "@DIR@/mha/app2.cnf", "mode": "auto", "ssh": {"port": 2201}, "timeouts": {"catch_up_seconds": 5}}
    ]})");
  ASSERT_TRUE(c.ok()) << all(c);
  ASSERT_EQ(c.config.clusters.size(), 2u);
  const auto& a = c.config.clusters[0];
  const auto& b = c.config.clusters[1];
  EXPECT_EQ(a.name, "app1");
  EXPECT_EQ(b.name, "app2");
  EXPECT_EQ(a.mode, Mode::Observe);
  EXPECT_EQ(b.mode, Mode::Auto);
  EXPECT_EQ(a.ssh.port, 2200);
  EXPECT_EQ(b.ssh.port, 2201);
  EXPECT_EQ(b.ssh.identity_file, dir + "/id_ed25519");  // kept from defaults.ssh
  EXPECT_EQ(a.replication.password.value, "Repl-File-Pw-9");
  EXPECT_EQ(b.replication.password.value, "Repl-File-Pw-9");
  EXPECT_EQ(a.timeouts.tool, std::chrono::seconds(30));
  EXPECT_EQ(b.timeouts.tool, std::chrono::seconds(30));
  EXPECT_EQ(b.timeouts.catch_up, std::chrono::seconds(5));
  EXPECT_EQ(a.timeouts.catch_up, std::chrono::seconds(600));
}

TEST_F(DaemonConfigTest, ErrorsInDefaultsAreReportedOnceUnderDefaults) {
  write("mha/app2.cnf", kApp1);
  auto c = load(R"({"defaults": {"mode": "automatic", "name": "x"},
    "clusters": [{)" +
                cluster() +
                R"(}, {"mha_conf": "@DIR@/mha/app2.cnf", "ssh": {"identity_file": "@DIR@/id_ed25519"}}]})");
  ASSERT_EQ(c.errors.size(), 2u) << all(c);
  const ConfigError* mode = find(c, "defaults.mode");
  ASSERT_NE(mode, nullptr);
  EXPECT_EQ(mode->file, dir + "/mha-failback.json");
  EXPECT_EQ(mode->expected, "observe, approve or auto");
  EXPECT_TRUE(contains(mode->found, "\"automatic\"")) << mode->found;
  EXPECT_TRUE(contains(mode->found, "did you mean \"auto\"")) << mode->found;
  EXPECT_NE(find(c, "defaults.name"), nullptr);
}

TEST_F(DaemonConfigTest, MhaGlobalConfIsUsedWhenNamedOrWhenTheDefaultExists) {
  std::string global = write("global.cnf", "[server default]\nmanager_workdir=/var/tmp/global\nport=3310\n");
  auto c = load_cluster(R"("mha_default_conf": "@DIR@/global.cnf")");
  ASSERT_TRUE(c.ok()) << all(c);
  EXPECT_EQ(c.config.clusters[0].mha.global_conf_path, global);
  EXPECT_EQ(c.config.clusters[0].mha.servers[0].port, 3310);
  EXPECT_EQ(c.config.clusters[0].mha.manager_workdir, "/var/tmp/mha");  // the app file wins
  // A global file other than MHA's default must reach masterha_stop too.
  EXPECT_EQ(c.config.clusters[0].commands.manager_stop.back(), "--global_conf=" + global);

  options.default_mha_global_conf = global;  // present: used without being named, like MHA's -f
  c = load_cluster();
  ASSERT_TRUE(c.ok()) << all(c);
  EXPECT_EQ(c.config.clusters[0].mha.global_conf_path, global);

  c = load_cluster(R"("mha_default_conf": "@DIR@/missing.cnf")");
  ASSERT_EQ(c.errors.size(), 1u) << all(c);
  EXPECT_EQ(c.errors[0].file, dir + "/missing.cnf");
}

TEST_F(DaemonConfigTest, ManagerDefaultsEscapeTheAppNameAndUseTheToolDirectory) {
  write("mha/db-prod.cnf", kApp1);
  fs::create_directories(dir + "/mha-bin");
  auto c = load(
      R"({"clusters": [{"mha_conf": "@DIR@/mha/db-prod.cnf", "ssh": {"identity_file": "@DIR@/id_ed25519"},
    "commands": {"mha_bin_dir": "@DIR@/mha-bin"}}]})");
  ASSERT_TRUE(c.ok()) << all(c);
  const auto& k = c.config.clusters[0];
  EXPECT_EQ(k.name, "db-prod");
  EXPECT_EQ(k.commands.manager_start[2], "mha-manager@db\\x2dprod.service");  // as systemd-escape
  EXPECT_EQ(k.commands.manager_stop[0], dir + "/mha-bin/masterha_stop");
}

TEST_F(DaemonConfigTest, ShippedExampleIsValidOnceItsFilesExist) {
  std::ifstream in(std::string(MHAFB_SOURCE_DIR) + "/etc/mha-failback.json");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  ASSERT_FALSE(text.empty());
  for (const std::string from : {"/etc/mha-failback/", "/etc/mha/"}) {
    std::string to = dir + from.substr(4);
    for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
      text.replace(pos, from.size(), to);
  }
  std::ifstream app(std::string(MHAFB_SOURCE_DIR) + "/etc/mha/app1.cnf.example");
  std::stringstream app_text;
  app_text << app.rdbuf();
  write("mha/app1.cnf", app_text.str());
  write("mha-failback/app1-repl.password", "x-repl-password\n");
  write("mha-failback/id_ed25519", "key\n");
  auto c = parse_daemon_config_text(text, dir + "/mha-failback/mha-failback.json", options);
  ASSERT_TRUE(c.ok()) << all(c);
  ASSERT_EQ(c.config.clusters.size(), 1u);
  EXPECT_EQ(c.config.clusters[0].preferred_master, "192.168.10.1");
  EXPECT_EQ(c.config.clusters[0].commands.companion_start.back(), "zabbix-server");
}

// ---------------------------------------------------------------- schema errors

TEST_F(DaemonConfigTest, UnknownKeysAtEveryLevelAreErrorsWithSuggestions) {
  auto c = load(R"({"state_dri": "/x", "defaults": {"timeout": {}},
    "clusters": [{)" +
                cluster(R"("mod": "auto", "replication": {"password": "Pasted-Pw-77"},
      "ssh": {"identity_file": "@DIR@/id_ed25519", "connect_timeout": 5}, "commands": {"manager_strat": ["x"]},
      "validation": {"max_lag": 1}, "sql_error_policy": {"actoin": "skip"}, "timeouts": {"tool": 1})") +
                R"(}]})");
  struct Want {
    const char* key;
    const char* suggestion;
  } wants[] = {{"state_dri", "state_dir"},
               {"defaults.timeout", "timeouts"},
               {"clusters[0].mod", "mode"},
               {"clusters[0].replication.password", "password_file"},
               {"clusters[0].ssh.connect_timeout", "connect_timeout_ms"},
               {"clusters[0].commands.manager_strat", "manager_start"},
               {"clusters[0].validation.max_lag", "max_lag_seconds"},
               {"clusters[0].sql_error_policy.actoin", "action"},
               {"clusters[0].timeouts.tool", "tool_seconds"}};
  for (const auto& w : wants) {
    const ConfigError* e = find(c, w.key);
    ASSERT_NE(e, nullptr) << w.key << "\n" << all(c);
    EXPECT_TRUE(contains(e->found, "unknown key")) << e->found;
    EXPECT_TRUE(contains(e->found, std::string("did you mean \"") + w.suggestion + "\"")) << e->found;
  }
  EXPECT_FALSE(contains(all(c), "Pasted-Pw-77"));
}

TEST_F(DaemonConfigTest, WrongTypesAndRanges) {
  auto c = load(R"({"state_dir": "relative/dir", "log_level": "verbose", "clusters": [{)" +
                cluster(R"("name": 5, "mode": "Auto",
      "ssh": {"identity_file": "@DIR@/id_ed25519", "port": "22", "connect_timeout_ms": 0},
      "validation": {"max_lag_seconds": -1, "stable_seconds": 1.5, "run_mha_checks": "yes"},
      "sql_error_policy": {"action": "ignore", "max_skips": 18446744073709551615},
      "timeouts": {"tool_seconds": 0, "probe_interval_ms": null})") +
                R"(}]})");
  auto expect = [&](const std::string& key, const std::string& expected_part, const std::string& found_part) {
    const ConfigError* e = find(c, key);
    ASSERT_NE(e, nullptr) << key << "\n" << all(c);
    EXPECT_TRUE(contains(e->expected, expected_part)) << key << ": " << e->expected;
    EXPECT_TRUE(contains(e->found, found_part)) << key << ": " << e->found;
  };
  expect("state_dir", "absolute path", "\"relative/dir\"");
  expect("log_level", "trace, debug, info", "\"verbose\"");
  expect("clusters[0].name", "a string", "the number 5");
  expect("clusters[0].mode", "observe, approve or auto", "did you mean \"auto\"");
  expect("clusters[0].ssh.port", "from 1 to 65535", "without quotes");
  expect("clusters[0].ssh.connect_timeout_ms", "from 1 to", "the number 0");
  expect("clusters[0].validation.max_lag_seconds", "from 0 to", "-1");
  expect("clusters[0].validation.stable_seconds", "integer", "1.5");
  expect("clusters[0].validation.run_mha_checks", "true or false", "\"yes\"");
  expect("clusters[0].sql_error_policy.action", "block or skip", "\"ignore\"");
  expect("clusters[0].sql_error_policy.max_skips", "from 0 to", "18446744073709551615");
  expect("clusters[0].timeouts.tool_seconds", "from 1 to", "0");
  expect("clusters[0].timeouts.probe_interval_ms", "integer", "null");
  EXPECT_EQ(c.errors.size(), 13u) << all(c);
}

TEST_F(DaemonConfigTest, TopLevelShape) {
  auto c = load("[1, 2]");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].expected, "an object { ... }");
  c = load("{}");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].key, "clusters");
  c = load(R"({"clusters": []})");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].found, "an empty array");
  c = load(R"({"clusters": {"mha_conf": "/x"}})");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].found, "an object");
  c = load(R"({"clusters": [{}]})");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].key, "clusters[0].mha_conf");
}

TEST_F(DaemonConfigTest, InvalidJsonNamesThePositionButNotTheText) {
  auto c = load("{\n  \"clusters\": [\n    {\"mha_conf\": Unquoted-Secret-Pw}\n  ]\n}\n");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(contains(c.errors[0].found, "line 3")) << c.errors[0].found;
  EXPECT_FALSE(contains(c.errors[0].to_string(), "Unquoted-Secret-Pw")) << c.errors[0].to_string();
  EXPECT_TRUE(contains(c.errors[0].expected, "comments are allowed"));
}

TEST_F(DaemonConfigTest, DuplicateJsonKeysAreErrors) {
  auto c = load(R"({"clusters": [{)" + cluster(R"("mode": "auto", "mode": "observe")") +
                R"(}], "log_level": "info"})");
  const ConfigError* e = find(c, "clusters[0].mode");
  ASSERT_NE(e, nullptr) << all(c);
  EXPECT_EQ(e->found, "a duplicate key");
  EXPECT_EQ(c.errors.size(), 1u) << all(c);
}

TEST_F(DaemonConfigTest, CommandsAreArgvArraysNeverShellStrings) {
  auto c = load_cluster(R"("commands": {"start_database": "systemctl start  mariadb",
    "manager_start": [], "manager_stop": ["", "x"], "companion_start": ["sh", "&&", "x"],
    "companion_stop": ["ok", 3]})");
  const ConfigError* s = find(c, "clusters[0].commands.start_database");
  ASSERT_NE(s, nullptr) << all(c);
  EXPECT_TRUE(contains(s->found, "[\"systemctl\", \"start\", \"mariadb\"]")) << s->found;
  EXPECT_TRUE(contains(s->found, "never given to a shell")) << s->found;
  EXPECT_NE(find(c, "clusters[0].commands.manager_start"), nullptr);
  EXPECT_NE(find(c, "clusters[0].commands.manager_stop[0]"), nullptr);
  EXPECT_NE(find(c, "clusters[0].commands.companion_start[1]"), nullptr);
  EXPECT_NE(find(c, "clusters[0].commands.companion_stop[1]"), nullptr);
  EXPECT_EQ(c.errors.size(), 5u) << all(c);

  c = load_cluster(R"("commands": {"companion_start": [], "companion_stop": []})");  // [] = none
  EXPECT_TRUE(c.ok()) << all(c);
}

TEST_F(DaemonConfigTest, ToolEnvironmentEntries) {
  auto c = load_cluster(
      R"("commands": {"mha_tool_env": ["PERL5LIB=/a", "NOEQUALS", "1BAD=x", "MYSQL_PWD=Env-Secret-1",
    "DB_PASSWORD=Env-Secret-2", "API_TOKEN=Env-Secret-3", "PERL5LIB=/b", "PWD=/tmp", 7]})");
  EXPECT_NE(find(c, "clusters[0].commands.mha_tool_env[1]"), nullptr) << all(c);
  EXPECT_NE(find(c, "clusters[0].commands.mha_tool_env[2]"), nullptr);
  EXPECT_NE(find(c, "clusters[0].commands.mha_tool_env[3]"), nullptr);
  EXPECT_NE(find(c, "clusters[0].commands.mha_tool_env[4]"), nullptr);
  EXPECT_NE(find(c, "clusters[0].commands.mha_tool_env[5]"), nullptr);
  const ConfigError* dup = find(c, "clusters[0].commands.mha_tool_env[6]");
  ASSERT_NE(dup, nullptr);
  EXPECT_TRUE(contains(dup->found, "PERL5LIB"));
  EXPECT_EQ(find(c, "clusters[0].commands.mha_tool_env[7]"), nullptr);  // PWD is the working directory
  EXPECT_NE(find(c, "clusters[0].commands.mha_tool_env[8]"), nullptr);
  EXPECT_EQ(c.errors.size(), 7u) << all(c);
  for (const char* s : {"Env-Secret-1", "Env-Secret-2", "Env-Secret-3"})
    EXPECT_FALSE(contains(all(c), s));
}

TEST_F(DaemonConfigTest, PathsMustBeAbsoluteAndToolLocationsMustExist) {
  auto c = load_cluster(R"("mha_default_conf": "masterha_default.cnf",
    "commands": {"mha_bin_dir": "@DIR@/no-such-dir", "mysqlbinlog": "bin/mysqlbinlog"})");
  EXPECT_NE(find(c, "clusters[0].mha_default_conf"), nullptr) << all(c);
  EXPECT_NE(find(c, "clusters[0].commands.mha_bin_dir"), nullptr);
  EXPECT_NE(find(c, "clusters[0].commands.mysqlbinlog"), nullptr);
  EXPECT_EQ(c.errors.size(), 3u) << all(c);
}

// ---------------------------------------------------------------- cross-checks with the MHA config

TEST_F(DaemonConfigTest, PreferredMasterMustBeAServerHostnameExactly) {
  auto c = load_cluster(R"("preferred_master": "db01")");
  const ConfigError* e = find(c, "clusters[0].preferred_master");
  ASSERT_NE(e, nullptr) << all(c);
  EXPECT_TRUE(contains(e->found, "\"db01\"; the servers are db1, db2")) << e->found;
  EXPECT_TRUE(contains(e->found, "did you mean \"db1\"")) << e->found;

  c = load_cluster(R"("preferred_master": "127.0.0.11")");  // the ip is not the hostname
  EXPECT_NE(find(c, "clusters[0].preferred_master"), nullptr);

  write("mha/app1.cnf", kApp1 + "no_master=1\n");  // on server2
  c = load_cluster(R"("preferred_master": "db2")");
  e = find(c, "clusters[0].preferred_master");
  ASSERT_NE(e, nullptr) << all(c);
  EXPECT_TRUE(contains(e->found, "no_master")) << e->found;
}

TEST_F(DaemonConfigTest, AtLeastTwoServers) {
  write("mha/app1.cnf",
        "[server default]\nrepl_user=r\nrepl_password=Pw-Single-1\n[server1]\nhostname=db1\n");
  auto c = load_cluster();
  const ConfigError* e = find(c, "clusters[0].mha_conf");
  ASSERT_NE(e, nullptr) << all(c);
  EXPECT_TRUE(contains(e->expected, "at least 2")) << e->expected;
  EXPECT_EQ(c.errors.size(), 1u) << all(c);
}

TEST_F(DaemonConfigTest, MhaErrorsNameTheMhaFile) {
  write("mha/app1.cnf", kApp1 + "port=abc\nfoo=bar\n");
  auto c = load_cluster();
  ASSERT_EQ(c.errors.size(), 2u) << all(c);
  for (const auto& e : c.errors)
    EXPECT_EQ(e.file, dir + "/mha/app1.cnf");
  EXPECT_NE(find(c, "[server2] port"), nullptr);
  EXPECT_NE(find(c, "[server2] foo"), nullptr);

  auto missing = load(
      R"({"clusters": [{"mha_conf": "@DIR@/mha/nope.cnf", "ssh": {"identity_file": "@DIR@/id_ed25519"}}]})");
  ASSERT_EQ(missing.errors.size(), 1u) << all(missing);
  EXPECT_EQ(missing.errors[0].file, dir + "/mha/nope.cnf");
}

TEST_F(DaemonConfigTest, ReplicationAccountMustExistInOneOfTheSources) {
  write("mha/app1.cnf", "[server1]\nhostname=db1\n[server2]\nhostname=db2\n");
  auto c = load_cluster();
  EXPECT_NE(find(c, "clusters[0].replication.user"), nullptr) << all(c);
  EXPECT_NE(find(c, "clusters[0].replication.password_file"), nullptr);
  EXPECT_EQ(c.errors.size(), 2u) << all(c);

  c = load_cluster(R"("replication": {"user": "repl", "password_file": "@DIR@/repl.pw"})");
  ASSERT_TRUE(c.ok()) << all(c);
  EXPECT_EQ(c.config.clusters[0].admin.user, "root");  // MHA's default admin user
  EXPECT_EQ(c.config.clusters[0].admin.password.value, "");
  EXPECT_EQ(c.config.clusters[0].admin.password.source, "password in MHA's default");
}

TEST_F(DaemonConfigTest, AccountsMustBeTheSameOnEveryServerUnlessTheJsonGivesThem) {
  write("mha/app1.cnf", kApp1 + "password=Other-Admin-Pw-3\nrepl_user=repl_b\n");  // on server2
  auto c = load_cluster();
  const ConfigError* pw = find(c, "clusters[0].admin.password_file");
  ASSERT_NE(pw, nullptr) << all(c);
  EXPECT_EQ(pw->found, "[server1] and [server2] differ");
  EXPECT_NE(find(c, "clusters[0].replication.user"), nullptr);
  EXPECT_EQ(c.errors.size(), 2u) << all(c);
  EXPECT_FALSE(contains(all(c), "Other-Admin-Pw-3"));

  c = load_cluster(R"("admin": {"password_file": "@DIR@/admin.pw"}, "replication": {"user": "repl"})");
  EXPECT_TRUE(c.ok()) << all(c);
}

TEST_F(DaemonConfigTest, InitConfLoadScriptRequiresPasswordFiles) {
  write("mha/app1.cnf", kApp1 + "[server default]\ninit_conf_load_script=/usr/local/bin/mha-secrets\n");
  auto c = load_cluster();
  EXPECT_NE(find(c, "clusters[0].admin.password_file"), nullptr) << all(c);
  EXPECT_NE(find(c, "clusters[0].replication.password_file"), nullptr);
  EXPECT_EQ(c.errors.size(), 2u) << all(c);
  c = load_cluster(
      R"("admin": {"password_file": "@DIR@/admin.pw"}, "replication": {"password_file": "@DIR@/repl.pw"})");
  EXPECT_TRUE(c.ok()) << all(c);
}

TEST_F(DaemonConfigTest, SshUserAndIdentity) {
  write("mha/app1.cnf", kApp1 + "ssh_user=other\n");  // on server2
  auto c = load_cluster();
  EXPECT_NE(find(c, "clusters[0].ssh.user"), nullptr) << all(c);
  c = load_cluster(R"("ssh": {"user": "root", "identity_file": "@DIR@/id_ed25519"})");
  EXPECT_TRUE(c.ok()) << all(c);

  write("mha/app1.cnf", kApp1);
  c = load(R"({"clusters": [{"mha_conf": "@DIR@/mha/app1.cnf"}]})");
  EXPECT_NE(find(c, "clusters[0].ssh.identity_file"), nullptr) << all(c);
  c = load(R"({"clusters": [{"mha_conf": "@DIR@/mha/app1.cnf", "mode": "observe"}]})");
  EXPECT_TRUE(c.ok()) << all(c);  // observing needs no SSH

  write("id_ed25519", "key\n", 0644);
  c = load_cluster();
  const ConfigError* e = find(c, "clusters[0].ssh.identity_file");
  ASSERT_NE(e, nullptr) << all(c);
  EXPECT_TRUE(contains(e->found, "mode 0644")) << e->found;
}

TEST_F(DaemonConfigTest, ClusterNames) {
  write("mha/my app.cnf", kApp1);
  auto c = load(R"({"clusters": [{"mha_conf": "@DIR@/mha/my app.cnf", "mode": "observe"}]})");
  const ConfigError* e = find(c, "clusters[0].name");
  ASSERT_NE(e, nullptr) << all(c);
  EXPECT_TRUE(contains(e->expected, "set \"name\"")) << e->expected;

  for (const char* bad : {"", ".hidden", "-opt", "a/b", "a b", "x\u00e9"}) {
    c = load_cluster(std::string("\"name\": \"") + bad + "\"");
    EXPECT_NE(find(c, "clusters[0].name"), nullptr) << bad;
  }
  c = load_cluster(R"("name": "Prod_db-1.eu")");
  EXPECT_TRUE(c.ok()) << all(c);
}

// ---------------------------------------------------------------- across clusters

TEST_F(DaemonConfigTest, ClustersMustNotShareNamesConfsOrFlagFiles) {
  fs::create_directories(dir + "/other");
  write("other/app1.cnf", kApp1);  // another app1 in the same manager_workdir
  fs::create_symlink(dir + "/mha/app1.cnf", dir + "/link.cnf");
  write("mha/app3.cnf", kApp1);
  auto c = load(R"({"defaults": {"mode": "observe"}, "clusters": [
      {"mha_conf": "@DIR@/mha/app1.cnf"},
      {"mha_conf": "@DIR@/link.cnf", "name": "via-link"},
      {"mha_conf": "@DIR@/other/app1.cnf", "name": "other"},
      {"mha_conf": "@DIR@/mha/app3.cnf", "name": "app1"}]})");
  const ConfigError* same_conf = find(c, "clusters[1].mha_conf");
  ASSERT_NE(same_conf, nullptr) << all(c);
  EXPECT_TRUE(contains(same_conf->found, "as clusters[0]"));
  const ConfigError* flag = find(c, "clusters[2].mha_conf");
  ASSERT_NE(flag, nullptr) << all(c);
  EXPECT_TRUE(contains(flag->found, "/var/tmp/mha/app1.failover.complete")) << flag->found;
  const ConfigError* name = find(c, "clusters[3].name");
  ASSERT_NE(name, nullptr) << all(c);
  EXPECT_TRUE(contains(name->found, "\"app1\", as clusters[0]"));
  EXPECT_EQ(c.errors.size(), 3u) << all(c);
}

// ---------------------------------------------------------------- secret files

TEST_F(DaemonConfigTest, PasswordFileRules) {
  struct Case {
    const char* what;
    std::function<void()> prepare;
    const char* expected_part;
    const char* found_part;
  } cases[] = {
      {"0644", [&] { write("repl.pw", "Pw-A-1\n", 0644); }, "0600 or stricter", "mode 0644"},
      {"0640", [&] { write("repl.pw", "Pw-A-1\n", 0640); }, "0600 or stricter", "mode 0640"},
      {"0604", [&] { write("repl.pw", "Pw-A-1\n", 0604); }, "0600 or stricter", "mode 0604"},
      {"missing", [&] { fs::remove(dir + "/repl.pw"); }, "existing secret file", "No such file"},
      {"directory",
       [&] {
         fs::remove(dir + "/repl.pw");
         fs::create_directory(dir + "/repl.pw");
         chmod((dir + "/repl.pw").c_str(), 0700);
       },
       "a regular file", "a directory"},
      {"owner",
       [&] {
         write("repl.pw", "Pw-A-1\n");
         ASSERT_EQ(chown((dir + "/repl.pw").c_str(), geteuid() + 1, static_cast<gid_t>(-1)), 0);
       },
       "owned by uid", "owner uid"},
      {"empty", [&] { write("repl.pw", "\n"); }, "password on the file's first line", "an empty file"},
      {"two lines", [&] { write("repl.pw", "Pw-A-1\nPw-B-2\n"); }, "alone on one line", "more than one line"},
  };
  for (auto& k : cases) {
    if (std::string(k.what) == "owner" && geteuid() != 0) continue;  // chown needs root
    k.prepare();
    auto c = load_cluster(R"("replication": {"password_file": "@DIR@/repl.pw"})");
    ASSERT_EQ(c.errors.size(), 1u) << k.what << "\n" << all(c);
    EXPECT_EQ(c.errors[0].key, "clusters[0].replication.password_file") << k.what;
    EXPECT_TRUE(contains(c.errors[0].expected, k.expected_part)) << k.what << ": " << c.errors[0].expected;
    EXPECT_TRUE(contains(c.errors[0].found, k.found_part)) << k.what << ": " << c.errors[0].found;
    EXPECT_TRUE(contains(c.errors[0].found, dir + "/repl.pw")) << k.what;
    EXPECT_FALSE(contains(all(c), "Pw-A-1")) << k.what;
    fs::remove_all(dir + "/repl.pw");
  }
}

TEST_F(DaemonConfigTest, PasswordFileContent) {
  for (auto [content, mode, want] :
       std::vector<std::tuple<std::string, mode_t, std::string>>{{"Plain-1", 0600, "Plain-1"},
                                                                 {"Newline-2\n", 0400, "Newline-2"},
                                                                 {"Crlf-3\r\n", 0600, "Crlf-3"},
                                                                 {" spaced 4 ", 0600, " spaced 4 "}}) {
    write("repl.pw", content, mode);
    auto c = load_cluster(R"("replication": {"password_file": "@DIR@/repl.pw"})");
    ASSERT_TRUE(c.ok()) << all(c);
    EXPECT_EQ(c.config.clusters[0].replication.password.value, want);
  }
  auto direct = read_secret_file(dir + "/nope");
  EXPECT_FALSE(direct.ok());
  write("big.pw", std::string(5000, 'x'));
  EXPECT_FALSE(read_secret_file(dir + "/big.pw").ok());
}

TEST_F(DaemonConfigTest, APasswordWhereItsFileBelongsIsNotEchoed) {
  auto c = load_cluster(
      R"("replication": {"password_file": "Pasted-Repl-Pw-5"}, "admin": {"password_file": 987654321})");
  ASSERT_EQ(c.errors.size(), 2u) << all(c);
  EXPECT_FALSE(contains(all(c), "Pasted-Repl-Pw-5"));
  EXPECT_FALSE(contains(all(c), "987654321"));
}

// ---------------------------------------------------------------- all errors at once, no secrets

TEST_F(DaemonConfigTest, ManyErrorsAreReportedTogetherAndNoneContainsAPassword) {
  write("repl.pw", "File-Repl-Pw-6\n", 0644);  // wrong mode: its content must not leak either
  write("mha/app1.cnf", kApp1 + "pasword=Typo-Pw-7\n");
  auto c = load(R"({"log_level": "loud", "bogus": 1, "clusters": [
    {"mha_conf": "@DIR@/mha/app1.cnf", "mode": "sometimes", "preferred_master": "Mha-Admin-Pw-1",
     "replication": {"password_file": "@DIR@/repl.pw"},
     "commands": {"start_database": "mysqld --password=Mha-Repl-Pw-2"},
     "ssh": {"port": 0}, "timeouts": {"tool_seconds": -5}},
    {"mha_conf": "@DIR@/mha/app1.cnf", "name": "app1"}]})");
  EXPECT_GE(c.errors.size(), 10u) << all(c);
  for (const char* key : {"log_level", "bogus", "clusters[0].mode", "clusters[0].preferred_master",
                          "clusters[0].replication.password_file", "clusters[0].commands.start_database",
                          "clusters[0].ssh.port", "clusters[0].timeouts.tool_seconds", "[server2] pasword",
                          "clusters[1].name", "clusters[1].mha_conf"})
    EXPECT_NE(find(c, key), nullptr) << key << "\n" << all(c);
  for (const auto& e : c.errors)
    for (const char* secret : {"Mha-Admin-Pw-1", "Mha-Repl-Pw-2", "File-Repl-Pw-6", "Typo-Pw-7"})
      EXPECT_FALSE(contains(e.to_string(), secret)) << e.to_string();
  // The scrubbed value is still recognisable as having been there.
  EXPECT_TRUE(contains(find(c, "clusters[0].commands.start_database")->found, "<redacted>"));
}

TEST_F(DaemonConfigTest, LoadFromFile) {
  std::string path = write("mha-failback.json", expand("{\"clusters\": [{" + cluster() + "}]}"));
  auto c = load_daemon_config(path, options);
  ASSERT_TRUE(c.ok()) << all(c);
  EXPECT_EQ(c.config.source, path);
  EXPECT_EQ(c.config.clusters[0].source, path + ": clusters[0]");

  auto missing = load_daemon_config(dir + "/nope.json");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].file, dir + "/nope.json");
  EXPECT_EQ(missing.errors[0].found, "No such file or directory");
}

// MHA pastes hostname, ip and ssh_host unquoted into shell command lines: a value that is not a
// plain host name or address is refused against the MHA config file and the block's key.
TEST_F(DaemonConfigTest, HostileHostsInTheMhaConfigAreRejectedNamingFileAndKey) {
  const std::string app = dir + "/mha/app1.cnf";
  const std::vector<std::string> hostile{"db2;touch /tmp/pwned",
                                         "$(touch pwned)",
                                         "`id`",
                                         "db2|x",
                                         "db2&x",
                                         "db2>x",
                                         "db2*",
                                         "(db2)",
                                         "db 2",
                                         "db'2",
                                         "db\"2",
                                         "db\\2",
                                         "-oProxyCommand=x",
                                         "dbü",
                                         "db#2",
                                         "db2\x01"};
  for (const std::string key : {"hostname", "ip", "ssh_host"}) {
    for (const auto& h : hostile) {
      std::string text =
          "[server default]\nuser=a\npassword=Admin-Pw-77\nrepl_user=r\nrepl_password=Repl-Pw-78\n"
          "[server1]\nhostname=db1\n[server2]\nhostname=db2\n" +
          key + "=" + h + "\n";
      if (key == std::string("hostname"))
        text.replace(text.find("hostname=db2\n"), std::string::npos, "hostname=" + h + "\n");
      write("mha/app1.cnf", text);
      auto c = load_cluster();
      SCOPED_TRACE(key + "=" + h + "\n" + all(c));
      ASSERT_FALSE(c.ok());
      auto it = std::find_if(c.errors.begin(), c.errors.end(),
                             [&](const ConfigError& e) { return e.key == "[server2] " + key; });
      ASSERT_NE(it, c.errors.end());
      EXPECT_EQ(it->file, app);
      EXPECT_NE(it->expected.find("host name or IP address"), std::string::npos);
      EXPECT_TRUE(it->found.find("which holds") != std::string::npos ||
                  it->found.find("starts with '-'") != std::string::npos);
      EXPECT_EQ(it->to_string().rfind(app + ": [server2] " + key + ": expected ", 0), 0u);
    }
  }
}

TEST_F(DaemonConfigTest, PlainHostsAndAddressesAreAccepted) {
  for (const std::string h : {"db-2.example.com", "127.0.0.12", "::1", "fe80::2", "db_2", "DB2"}) {
    write("mha/app1.cnf",
          "[server default]\nuser=a\npassword=Admin-Pw-77\nrepl_user=r\nrepl_password=Repl-Pw-78\n"
          "[server1]\nhostname=db1\n[server2]\nhostname=" +
              h + "\nssh_host=" + h + "\n");
    auto c = load_cluster();
    EXPECT_TRUE(c.ok()) << h << "\n" << all(c);
  }
}

// A hostile preferred_master matches no server and is refused against the JSON key.
TEST_F(DaemonConfigTest, HostilePreferredMasterIsRejectedNamingTheJsonKey) {
  auto c = load_cluster(R"("preferred_master": "db1; touch /tmp/pwned")");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.errors[0].file, dir + "/mha-failback.json");
  EXPECT_EQ(c.errors[0].key, "clusters[0].preferred_master");
}

TEST(ConfigErrorFormat, NamesFileKeyExpectationAndFinding) {
  ConfigError e{"/etc/x.json", "clusters[0].mode", "observe, approve or auto", "\"fast\""};
  EXPECT_EQ(e.to_string(),
            "/etc/x.json: clusters[0].mode: expected observe, approve or auto, found \"fast\"");
}

}  // namespace
}  // namespace mhafb

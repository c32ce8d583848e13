// MHA app config loading: Config::Tiny's syntax rules, MHA::Config's inheritance, defaults, quote
// stripping and checks, the errors (file, block+key, expectation, never a password), and a
// comparison with the real MHA 0.58 parser (perl + /usr/share/perl5/MHA) on the fixtures.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "config/config_tiny.hpp"
#include "config/mha_config_detail.hpp"
#include "mha/mha_config.hpp"

extern char** environ;

namespace mhafb {
namespace {

const std::string kData = std::string(MHAFB_TEST_DATA_DIR) + "/config";

MhaAppConfig parse(const std::string& text, std::vector<ConfigError>& errors,
                   const std::string& path = "/etc/mha/app1.cnf", const std::string& global_text = "",
                   const std::string& global_path = "") {
  return parse_mha_config_text(text, path, global_text, global_path, errors);
}

std::string all_errors(const std::vector<ConfigError>& errors) {
  std::string s;
  for (const auto& e : errors)
    s += e.to_string() + "\n";
  return s;
}

const ConfigError* find_error(const std::vector<ConfigError>& errors, const std::string& key) {
  for (const auto& e : errors)
    if (e.key == key) return &e;
  return nullptr;
}

const std::string kTwoServers = "[server1]\nhostname=h1\n[server2]\nhostname=h2\n";

// ---------------------------------------------------------------- Config::Tiny syntax

TEST(ConfigTiny, SkipsCommentsAndBlankLines) {
  auto doc = parse_config_tiny("# c\n; c\n   # indented\n\t; tab\n\n   \n[s]\nk=v\n");
  EXPECT_TRUE(doc.errors.empty());
  ASSERT_NE(doc.find("s"), nullptr);
  EXPECT_EQ(doc.find("s")->keys.at("k").value, "v");
  EXPECT_EQ(doc.find("s")->keys.at("k").line, 8);
}

TEST(ConfigTiny, InlineCommentNeedsSpaceSemicolonSpaceAndSomethingAfter) {
  auto doc = parse_config_tiny(
      "[s]\na=x ; comment\nb=x;y\nc=x ;y\nd=x ; \ne=x # not a comment\nf=x ;  \ng=p ; q ; r\n");
  const auto& k = doc.find("s")->keys;
  EXPECT_EQ(k.at("a").value, "x");
  EXPECT_EQ(k.at("b").value, "x;y");
  EXPECT_EQ(k.at("c").value, "x ;y");
  EXPECT_EQ(k.at("d").value, "x ;");  // " ; " with nothing after is kept (then trimmed)
  EXPECT_EQ(k.at("e").value, "x # not a comment");
  EXPECT_EQ(k.at("f").value, "x");  // " ;  ": the second space is the "something after"
  EXPECT_EQ(k.at("g").value, "p");  // the leftmost comment wins
}

TEST(ConfigTiny, SectionNamesAreTrimmedAndMayFollowComments) {
  auto doc = parse_config_tiny("  [  server 1  ]  \nk=1\n[a]b] ; c\nk=2\n[ ]\nk=3\n");
  EXPECT_TRUE(doc.errors.empty());
  EXPECT_NE(doc.find("server 1"), nullptr);
  EXPECT_NE(doc.find("a]b"), nullptr);  // from the first '[' to the last ']'
  EXPECT_NE(doc.find(" "), nullptr);    // (.+?) needs one character: an all-blank name keeps one
}

TEST(ConfigTiny, KeysAndValuesAreTrimmedAndValuesKeepEqualsAndQuotes) {
  auto doc = parse_config_tiny("[s]\n  key one  =  a = b  \nq = \"quoted\" \nr='x'\nempty=\n  e2  =   \n");
  const auto& k = doc.find("s")->keys;
  EXPECT_EQ(k.at("key one").value, "a = b");
  EXPECT_EQ(k.at("q").value, "\"quoted\"");  // Config::Tiny keeps quotes verbatim
  EXPECT_EQ(k.at("r").value, "'x'");
  EXPECT_EQ(k.at("empty").value, "");
  EXPECT_EQ(k.at("e2").value, "");
}

TEST(ConfigTiny, LaterDuplicatesWinAndReopenedSectionsMerge) {
  auto doc = parse_config_tiny("[s]\na=1\nb=1\n[t]\nx=1\n[s]\na=2\n");
  const auto& k = doc.find("s")->keys;
  EXPECT_EQ(k.at("a").value, "2");
  EXPECT_EQ(k.at("a").line, 7);
  EXPECT_EQ(k.at("b").value, "1");
  EXPECT_EQ(doc.find("s")->line, 1);
}

TEST(ConfigTiny, KeysBeforeAnySectionGoToTheRootSection) {
  auto doc = parse_config_tiny("a=1\n[s]\n");
  ASSERT_NE(doc.find("_"), nullptr);
  EXPECT_EQ(doc.find("_")->keys.at("a").value, "1");
  EXPECT_NE(doc.find("s"), nullptr);  // a section without keys still exists
}

TEST(ConfigTiny, AllLineEndingsCount) {
  auto doc = parse_config_tiny("[s]\r\na=1\r\r\nb=2\rc=3\nbad line\n");
  const auto& k = doc.find("s")->keys;
  EXPECT_EQ(k.at("a").value, "1");
  EXPECT_EQ(k.at("b").value, "2");
  EXPECT_EQ(k.at("c").value, "3");
  ASSERT_EQ(doc.errors.size(), 1u);
  EXPECT_EQ(doc.errors[0].line, 5);
}

TEST(ConfigTiny, SyntaxErrorsAreAllReportedWithoutTheLineText) {
  auto doc = parse_config_tiny("[s]\npassword TopSecret-1\n=novalue\n[]\nok=1\nalso bad\n");
  ASSERT_EQ(doc.errors.size(), 4u);
  EXPECT_EQ(doc.errors[0].line, 2);
  EXPECT_EQ(doc.errors[1].line, 3);
  EXPECT_EQ(doc.errors[2].line, 4);
  EXPECT_EQ(doc.errors[3].line, 6);
  for (const auto& e : doc.errors)
    EXPECT_EQ(e.description.find("TopSecret"), std::string::npos);
  EXPECT_EQ(doc.find("s")->keys.at("ok").value, "1");
}

TEST(ConfigTiny, ByteOrderMarkIsExplained) {
  auto doc = parse_config_tiny("\xEF\xBB\xBF[server1]\nhostname=h\n");
  ASSERT_EQ(doc.errors.size(), 1u);
  EXPECT_NE(doc.errors[0].description.find("byte-order mark"), std::string::npos);
}

TEST(ConfigTiny, LongLinesDoNotRecurse) {
  std::string v(200'000, 'x');
  auto doc = parse_config_tiny("[s]\nk=" + v + " ; c\n");
  EXPECT_EQ(doc.find("s")->keys.at("k").value, v);
}

// ---------------------------------------------------------------- MHA defaults and inheritance

TEST(MhaConfig, DefaultsAreMhas) {
  std::vector<ConfigError> errors;
  auto app = parse(kTwoServers, errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_EQ(app.app_name, "app1");
  EXPECT_EQ(app.manager_workdir, "/var/tmp");
  EXPECT_EQ(app.manager_log, "");
  EXPECT_EQ(app.user, "root");
  EXPECT_EQ(app.password, "");
  EXPECT_EQ(app.repl_user, "");
  EXPECT_TRUE(app.use_gtid_auto_pos);  // MHA's default is 1
  ASSERT_EQ(app.servers.size(), 2u);
  const auto& s = app.servers[0];
  EXPECT_EQ(s.block, "server1");
  EXPECT_EQ(s.hostname, "h1");
  EXPECT_EQ(s.ip, "");
  EXPECT_EQ(s.port, 3306);
  EXPECT_EQ(s.ssh_host, "h1");
  EXPECT_EQ(s.ssh_port, 22);
  EXPECT_FALSE(s.ssh_user.empty());  // the effective user, as MHA's getpwuid($>)
  EXPECT_FALSE(s.candidate_master);
  EXPECT_FALSE(s.no_master);
  EXPECT_FALSE(s.ignore_fail);
  EXPECT_EQ(s.master_binlog_dir, "/var/lib/mysql,/var/log/mysql");
  EXPECT_EQ(s.remote_workdir, "/var/tmp");
  EXPECT_EQ(app.failover_complete_flag(), "/var/tmp/app1.failover.complete");
  EXPECT_EQ(app.failover_error_flag(), "/var/tmp/app1.failover.error");
  EXPECT_EQ(app.health_file(), "/var/tmp/app1.master_status.health");
}

TEST(MhaConfig, AppNameIsTheBasenameWithoutItsLastExtension) {
  struct Case {
    std::string path, name;
  } cases[] = {{"/etc/mha.conf", "mha"},  {"/etc/mha/app1.cnf", "app1"}, {"/etc/a.b.cnf", "a.b"},
               {"/etc/mha/app", "app"},   {"app2.cnf", "app2"},          {"/etc/x.", "x"},
               {"/etc/.cnf", "/etc/.cnf"}};  // nothing left: MHA uses the whole --conf value
  for (const auto& c : cases) {
    std::vector<ConfigError> errors;
    EXPECT_EQ(parse(kTwoServers, errors, c.path).app_name, c.name) << c.path;
  }
}

TEST(MhaConfig, GlobalThenAppDefaultThenServer) {
  const std::string global =
      "root_key=ignored\n[server default]\nuser=g_user\npassword=G-Pass-1\nssh_port=2222\nport=3310\n"
      "manager_workdir=/var/tmp/g\n[other]\nnot_a_param=ignored by MHA\n";
  const std::string app_text =
      "[server default]\nuser=a_user\nrepl_user=repl\n[server1]\nhostname=h1\nport=3320\n[server2]\n"
      "hostname=h2\nuser=s_user\n";
  std::vector<ConfigError> errors;
  MhaConfigDetail d =
      parse_mha_config_detail(app_text, "/etc/app1.cnf", global, "/etc/masterha_default.cnf", errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_EQ(d.app.global_conf_path, "/etc/masterha_default.cnf");
  EXPECT_EQ(d.app.servers[0].port, 3320);
  EXPECT_EQ(d.app.servers[1].port, 3310);
  EXPECT_EQ(d.app.servers[0].ssh_port, 2222);
  EXPECT_EQ(d.app.manager_workdir, "/var/tmp/g");
  EXPECT_EQ(d.app.user, "a_user");
  EXPECT_EQ(d.app.password, "G-Pass-1");
  ASSERT_EQ(d.accounts.size(), 2u);
  EXPECT_EQ(d.accounts[0].user.value, "a_user");
  EXPECT_EQ(d.accounts[0].user.origin.describe(), "/etc/app1.cnf [server default] line 2");
  EXPECT_EQ(d.accounts[1].user.value, "s_user");
  EXPECT_EQ(d.accounts[1].user.origin.block, "server2");
  EXPECT_EQ(d.accounts[0].password.origin.file, "/etc/masterha_default.cnf");
  EXPECT_TRUE(d.accounts[0].repl_user.set);
  EXPECT_FALSE(d.accounts[0].repl_password.set);
}

TEST(MhaConfig, SomeParametersAreNeverInherited) {
  std::vector<ConfigError> errors;
  auto app = parse(
      "[server default]\nhostname=hx\ncandidate_master=1\nno_master=1\nignore_fail=1\nip=1.2.3.4\n"
      "ssh_host=sx\n" +
          kTwoServers,
      errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  for (const auto& s : app.servers) {
    EXPECT_FALSE(s.candidate_master);
    EXPECT_FALSE(s.no_master);
    EXPECT_FALSE(s.ignore_fail);
    EXPECT_EQ(s.ip, "");
    EXPECT_EQ(s.ssh_host, s.hostname);  // ssh_host defaults to the block's own hostname
  }
}

TEST(MhaConfig, FalsyDefaultsFallBackToMhasConstants) {
  // `port = 3306 unless ($port)`: a [server default] port of 0 or "" gives servers 3306.
  std::vector<ConfigError> errors;
  auto app = parse("[server default]\nport=0\nssh_port=\nmanager_workdir=0\n" + kTwoServers, errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_EQ(app.servers[0].port, 3306);
  EXPECT_EQ(app.servers[0].ssh_port, 22);
  EXPECT_EQ(app.manager_workdir, "/var/tmp");
}

TEST(MhaConfig, QuotesAreStrippedByMhasRuleOncePerLevel) {
  std::vector<ConfigError> errors;
  MhaConfigDetail d = parse_mha_config_detail(
      "[server "
      "default]\nrepl_password=\"'twice'\"\nrepl_user=repl\"\nuser='open\nmanager_log='/var/log/m.log'\n"
      "[server1]\nhostname=\"h1\"\npassword='own'\n[server2]\nhostname=h2\npassword=\"0\"\n",
      "/etc/app1.cnf", "", "", errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_EQ(d.app.servers[0].hostname, "h1");
  EXPECT_EQ(d.app.repl_password, "twice");  // stripped in [server default], again in [server1]
  EXPECT_EQ(d.app.repl_user, "repl");       // a trailing quote alone is removed
  EXPECT_EQ(d.app.user, "'open");           // a leading quote alone is kept
  EXPECT_EQ(d.app.manager_log, "/var/log/m.log");
  EXPECT_EQ(d.accounts[0].password.value, "own");
  EXPECT_EQ(d.accounts[1].password.value, "0");
}

TEST(MhaConfig, BinlogDirLosesWhitespaceAndPingTypeIsCaseInsensitive) {
  std::vector<ConfigError> errors;
  auto app = parse("[server default]\nmaster_binlog_dir = /a , /b\nping_type=insert\n" + kTwoServers, errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_EQ(app.servers[0].master_binlog_dir, "/a,/b");
}

TEST(MhaConfig, ServersAreSortedByNumberWhenAllHaveOne) {
  std::vector<ConfigError> errors;
  auto app = parse("[server10]\nhostname=c\n[server2]\nhostname=b\n[server_1x]\nhostname=a\n", errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  ASSERT_EQ(app.servers.size(), 3u);
  EXPECT_EQ(app.servers[0].block, "server_1x");
  EXPECT_EQ(app.servers[1].block, "server2");
  EXPECT_EQ(app.servers[2].block, "server10");

  errors.clear();
  app = parse("[server10]\nhostname=c\n[server2]\nhostname=b\n[serverB]\nhostname=a\n", errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_EQ(app.servers[0].block, "server10");  // string order: not every block has a number
  EXPECT_EQ(app.servers[1].block, "server2");
  EXPECT_EQ(app.servers[2].block, "serverB");
}

TEST(MhaConfig, ManagerSettingsComeFromTheFirstServer) {
  std::vector<ConfigError> errors;
  auto app = parse(
      "[server2]\nhostname=b\nmanager_workdir=/w2\n[server1]\nhostname=a\nmanager_workdir=/w1\n"
      "manager_log=/l1\nuse_gtid_auto_pos=0\n",
      errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_EQ(app.manager_workdir, "/w1");
  EXPECT_EQ(app.manager_log, "/l1");
  EXPECT_FALSE(app.use_gtid_auto_pos);
}

TEST(MhaConfig, BinlogBlocksAreCheckedButNotServers) {
  std::vector<ConfigError> errors;
  auto app = parse(kTwoServers + "[binlog1]\nhostname=b1\nbogus=1\n", errors);
  EXPECT_EQ(app.servers.size(), 2u);
  ASSERT_EQ(errors.size(), 1u) << all_errors(errors);
  EXPECT_EQ(errors[0].key, "[binlog1] bogus");
}

TEST(MhaConfig, FlagsAreNumeric) {
  std::vector<ConfigError> errors;
  auto app =
      parse("[server1]\nhostname=a\ncandidate_master=2\nno_master=00\n[server2]\nhostname=b\n", errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_TRUE(app.servers[0].candidate_master);  // MHA compares `>= 1`
  EXPECT_FALSE(app.servers[0].no_master);
}

// ---------------------------------------------------------------- errors

TEST(MhaConfigErrors, UnknownParameterNamesFileBlockKeyAndSuggestsButNeverEchoesTheValue) {
  std::vector<ConfigError> errors;
  parse("[server default]\npasword=Hidden-Value-1\n" + kTwoServers, errors, "/etc/mha/x.cnf");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "/etc/mha/x.cnf");
  EXPECT_EQ(errors[0].key, "[server default] pasword");
  EXPECT_NE(errors[0].expected.find("MHA parameter name"), std::string::npos);
  EXPECT_NE(errors[0].found.find("did you mean \"password\""), std::string::npos);
  EXPECT_NE(errors[0].found.find("line 2"), std::string::npos);
  EXPECT_EQ(errors[0].to_string().find("Hidden-Value-1"), std::string::npos);
}

TEST(MhaConfigErrors, BlockNames) {
  std::vector<ConfigError> errors;
  parse("[server]\nhostname=x\n[Server default]\nuser=a\n[binlog]\n[server 1]\n[foo]\n" + kTwoServers,
        errors);
  for (const char* key : {"[server]", "[Server default]", "[binlog]", "[server 1]", "[foo]"})
    EXPECT_NE(find_error(errors, key), nullptr) << key << "\n" << all_errors(errors);
  EXPECT_NE(find_error(errors, "[Server default]")->found.find("did you mean \"server default\""),
            std::string::npos);
  EXPECT_EQ(errors.size(), 5u) << all_errors(errors);
}

TEST(MhaConfigErrors, KeysBeforeAnyBlockAreRejectedInTheAppFileOnly) {
  std::vector<ConfigError> errors;
  parse("user=root\n" + kTwoServers, errors, "/etc/a.cnf", "stray=1\n[server default]\n", "/etc/g.cnf");
  ASSERT_EQ(errors.size(), 1u) << all_errors(errors);
  EXPECT_EQ(errors[0].file, "/etc/a.cnf");
  EXPECT_EQ(errors[0].key, "user (before any block)");
}

TEST(MhaConfigErrors, ServerWithoutHostname) {
  std::vector<ConfigError> errors;
  parse(
      "[server default]\nhostname=inherited-not\n[server1]\nhostname=a\n[server2]\nport=3307\n"
      "[servers default]\nuser=x\n[server3]\nhostname=0\n",
      errors);
  ASSERT_NE(find_error(errors, "[server2] hostname"), nullptr) << all_errors(errors);
  ASSERT_NE(find_error(errors, "[server3] hostname"), nullptr);  // "0" is false to Perl
  const ConfigError* typo = find_error(errors, "[servers default] hostname");
  ASSERT_NE(typo, nullptr);
  EXPECT_NE(typo->found.find("did you mean \"server default\""), std::string::npos);
}

TEST(MhaConfigErrors, NoServers) {
  std::vector<ConfigError> errors;
  auto app = parse("[server default]\nuser=root\n[binlog1]\nhostname=b\n", errors);
  EXPECT_TRUE(app.servers.empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "");
  EXPECT_NE(errors[0].expected.find("at least one [server*] block"), std::string::npos);
}

TEST(MhaConfigErrors, DuplicateAddressAndPort) {
  std::vector<ConfigError> errors;
  parse(
      "[server1]\nhostname=a\nip=127.0.0.1\n[server2]\nhostname=127.0.0.1\n[server3]\nhostname=a\nport="
      "3307\n",
      errors);
  ASSERT_EQ(errors.size(), 1u) << all_errors(errors);
  EXPECT_EQ(errors[0].key, "[server2] hostname");
  EXPECT_NE(errors[0].found.find("127.0.0.1:3306, as [server1]"), std::string::npos);
}

TEST(MhaConfigErrors, NumbersAreCheckedWhereTheyWereWrittenAndReportedOnce) {
  std::vector<ConfigError> errors;
  parse(
      "[server default]\nport=33o6\nssh_port=70000\n[server1]\nhostname=a\ncandidate_master=yes\n"
      "[server2]\nhostname=b\nno_master=\n[server3]\nhostname=c\nport=3307\nssh_port=22\n",
      errors);
  const ConfigError* port = find_error(errors, "[server default] port");
  ASSERT_NE(port, nullptr) << all_errors(errors);
  EXPECT_EQ(port->found, "\"33o6\" at line 2");
  EXPECT_NE(port->expected.find("1 to 65535"), std::string::npos);
  EXPECT_NE(find_error(errors, "[server default] ssh_port"), nullptr);
  EXPECT_NE(find_error(errors, "[server1] candidate_master"), nullptr);
  EXPECT_NE(find_error(errors, "[server2] no_master"), nullptr);
  EXPECT_EQ(errors.size(), 4u) << all_errors(errors);
}

TEST(MhaConfigErrors, MhasOwnPositiveIntegerAndPingTypeChecks) {
  std::vector<ConfigError> errors;
  parse("[server default]\nping_interval=0\nssh_connection_timeout=\"5\"\nping_type=ping\n" + kTwoServers,
        errors);
  EXPECT_NE(find_error(errors, "[server default] ping_interval"), nullptr) << all_errors(errors);
  // MHA checks before stripping quotes, so a quoted number is refused as by MHA.
  EXPECT_NE(find_error(errors, "[server default] ssh_connection_timeout"), nullptr);
  const ConfigError* pt = find_error(errors, "[server default] ping_type");
  ASSERT_NE(pt, nullptr);
  EXPECT_EQ(pt->found, "\"PING\"");
  EXPECT_EQ(errors.size(), 3u) << all_errors(errors);
}

TEST(MhaConfigErrors, EveryProblemIsReportedAtOnce) {
  std::vector<ConfigError> errors;
  auto app = parse(
      "root=1\n[server default]\nbad_name=1\nport=x\nthis line is broken\n[server1]\nhostname=a\n[server2]\n"
      "[oops]\n",
      errors);
  EXPECT_NE(find_error(errors, "root (before any block)"), nullptr) << all_errors(errors);
  EXPECT_NE(find_error(errors, "[server default] bad_name"), nullptr);
  EXPECT_NE(find_error(errors, "[server default] port"), nullptr);
  EXPECT_NE(find_error(errors, "line 5"), nullptr);
  EXPECT_NE(find_error(errors, "[server2] hostname"), nullptr);
  EXPECT_NE(find_error(errors, "[oops]"), nullptr);
  EXPECT_EQ(errors.size(), 6u) << all_errors(errors);
  ASSERT_EQ(app.servers.size(), 1u);  // as complete as the input allowed: [server2] has no hostname
  EXPECT_EQ(app.servers[0].hostname, "a");
}

TEST(MhaConfigErrors, PasswordsNeverAppearInErrors) {
  std::vector<ConfigError> errors;
  MhaConfigDetail d = parse_mha_config_detail(
      "[server default]\npassword Broken-Secret-1\npasword=Typo-Secret-2\nrepl_password=Repl-Secret-3\n"
      "password=Admin-Secret-4\nport=Admin-Secret-4\n[server1]\nrepl_password Broken-Secret-5\n",
      "/etc/app1.cnf", "", "", errors);
  ASSERT_GE(errors.size(), 4u);
  for (const auto& e : errors)
    for (const char* secret :
         {"Broken-Secret-1", "Typo-Secret-2", "Repl-Secret-3", "Admin-Secret-4", "Broken-Secret-5"})
      EXPECT_EQ(e.to_string().find(secret), std::string::npos) << e.to_string();
  const ConfigError* port = find_error(errors, "[server default] port");  // the password typed as a port
  ASSERT_NE(port, nullptr) << all_errors(errors);
  EXPECT_EQ(port->found, "\"<redacted>\" at line 6");
  // The loader hands every password it saw to its callers, for scrubbing.
  EXPECT_NE(std::find(d.secrets.begin(), d.secrets.end(), "Repl-Secret-3"), d.secrets.end());
  EXPECT_NE(std::find(d.secrets.begin(), d.secrets.end(), "Typo-Secret-2"), d.secrets.end());
}

TEST(MhaConfigErrors, AFloodOfUnknownKeysIsCutShortAndStillRedacted) {
  std::string text = "[server default]\npassword=Flood-Secret-9\n[server1]\nhostname=a\n";
  for (int i = 0; i < 1000; ++i)
    text += "unknown_key_" + std::to_string(i) + "=Flood-Secret-9\n";
  std::vector<ConfigError> errors;
  auto app = parse(text, errors);
  // The first hundred are reported as they are, then one sentence counts the rest.
  ASSERT_EQ(errors.size(), 101u);
  EXPECT_NE(find_error(errors, "[server1] unknown_key_0"), nullptr) << errors.front().to_string();
  EXPECT_EQ(errors.back().found, "900 more errors not shown; fix the ones above first");
  for (const auto& e : errors)
    EXPECT_EQ(e.to_string().find("Flood-Secret-9"), std::string::npos) << e.to_string();
  ASSERT_EQ(app.servers.size(), 1u);
}

// ---------------------------------------------------------------- files

TEST(MhaConfigFiles, LoadsTheFixtureWithItsGlobalFile) {
  std::vector<ConfigError> errors;
  auto app = load_mha_config(kData + "/mha/app1.cnf", kData + "/mha/masterha_default.cnf", errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_EQ(app.app_name, "app1");
  EXPECT_EQ(app.user, "mhaadmin");
  EXPECT_EQ(app.password, "AdminPw-4711");
  EXPECT_EQ(app.repl_user, "repl");
  EXPECT_EQ(app.repl_password, "ReplPw-0815");
  EXPECT_EQ(app.manager_workdir, "/var/tmp/mha");  // the app file overrides the global one
  EXPECT_EQ(app.manager_log, "/var/log/mha/app1.log");
  ASSERT_EQ(app.servers.size(), 2u);
  EXPECT_EQ(app.servers[0].hostname, "db1.example.com");
  EXPECT_EQ(app.servers[0].ip, "127.0.0.11");
  EXPECT_EQ(app.servers[0].sql_address(), "127.0.0.11");
  EXPECT_EQ(app.servers[0].ssh_port, 2222);  // from the global file
  EXPECT_EQ(app.servers[0].remote_workdir, "/var/tmp/remote");
  EXPECT_TRUE(app.servers[1].candidate_master);
  EXPECT_EQ(app.servers[1].master_binlog_dir, "/var/lib/mysql");
}

TEST(MhaConfigFiles, ShippedExampleLoads) {
  std::vector<ConfigError> errors;
  auto app = load_mha_config(std::string(MHAFB_SOURCE_DIR) + "/etc/mha/app1.cnf.example", "", errors);
  ASSERT_TRUE(errors.empty()) << all_errors(errors);
  EXPECT_GE(app.servers.size(), 2u);
  EXPECT_FALSE(app.repl_user.empty());
}

TEST(MhaConfigFiles, UnreadableFilesAreErrors) {
  std::vector<ConfigError> errors;
  load_mha_config("/nonexistent/app.cnf", "/nonexistent/global.cnf", errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].file, "/nonexistent/app.cnf");
  EXPECT_EQ(errors[0].found, "No such file or directory");
  EXPECT_EQ(errors[1].file, "/nonexistent/global.cnf");
}

TEST(MhaConfigFiles, AFifoOrADirectoryIsRefusedWithoutBlocking) {
  const std::string dir = ::testing::TempDir() + "mha-config-fifo-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string fifo = dir + "/app1.cnf";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::vector<ConfigError> errors;
  load_mha_config(fifo, dir, errors);  // would hang forever on the FIFO if it were opened
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].file, fifo);
  EXPECT_EQ(errors[0].found, "not a regular file");
  EXPECT_EQ(errors[1].file, dir);
  EXPECT_EQ(errors[1].found, "not a regular file");
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------- against the real MHA 0.58 parser

// Runs the real MHA parser over every case in one perl process (MHA's modules take ~0.3 s to load).
std::string run_perl_dump(const std::vector<std::string>& cases) {
  int out[2];
  if (pipe(out) != 0) return "pipe failed";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  std::vector<std::string> args{"perl", kData + "/mha_dump.pl"};
  args.insert(args.end(), cases.begin(), cases.end());
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "perl", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0)
    text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  if (rc != 0) return "spawn failed";
  int status = 0;
  waitpid(pid, &status, 0);
  return text;
}

std::string our_dump(const std::string& conf, const std::string& global) {
  std::vector<ConfigError> errors;
  MhaConfigDetail d = load_mha_config_detail(conf, global, errors);
  if (!errors.empty()) return "ERROR\n";
  std::string s;
  for (size_t i = 0; i < d.app.servers.size(); ++i) {
    const MhaServer& m = d.app.servers[i];
    const MhaServerAccounts& a = d.accounts[i];
    auto f = [](const char* k, const std::string& v) { return std::string("\t") + k + "=" + v; };
    s += "server\t" + m.block + f("hostname", m.hostname) + f("port", std::to_string(m.port)) +
         f("ssh_host", m.ssh_host) + f("ssh_port", std::to_string(m.ssh_port)) + f("ssh_user", m.ssh_user) +
         f("candidate_master", m.candidate_master ? "1" : "0") + f("no_master", m.no_master ? "1" : "0") +
         f("ignore_fail", m.ignore_fail ? "1" : "0") + f("master_binlog_dir", m.master_binlog_dir) +
         f("remote_workdir", m.remote_workdir) + f("manager_workdir", d.app.manager_workdir) +
         f("manager_log", d.app.manager_log) + f("user", a.user.value) + f("password", a.password.value) +
         f("repl_user", a.repl_user.value) + f("repl_password", a.repl_password.value) +
         f("use_gtid_auto_pos", d.app.use_gtid_auto_pos ? "1" : "0") + "\n";
  }
  return s;
}

TEST(MhaConfigAgainstMha, FixturesReadAsMha058ReadsThem) {
  if (!std::filesystem::exists("/usr/share/perl5/MHA/Config.pm"))
    GTEST_SKIP() << "mha4mysql-manager is not installed";
  std::vector<std::string> cases;  // "conf" or "conf:global"
  for (const auto& e : std::filesystem::directory_iterator(kData + "/mha/diff"))
    cases.push_back(e.path().string());
  cases.push_back(kData + "/mha/diff/binlog_and_global.cnf:" + kData + "/mha/masterha_default.cnf");
  cases.push_back(kData + "/mha/app1.cnf:" + kData + "/mha/masterha_default.cnf");
  std::sort(cases.begin(), cases.end());
  ASSERT_GE(cases.size(), 10u);

  std::string theirs_all = run_perl_dump(cases);
  std::map<std::string, std::string> theirs;
  std::string current;
  std::istringstream in(theirs_all);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("== ", 0) == 0)
      current = line.substr(3);
    else
      theirs[current] += line + "\n";
  }
  int errors_seen = 0;
  for (const auto& c : cases) {
    size_t colon = c.find(':');
    std::string conf = c.substr(0, colon);
    std::string global = colon == std::string::npos ? "" : c.substr(colon + 1);
    ASSERT_TRUE(theirs.count(c)) << "no output from MHA for " << c << ":\n" << theirs_all;
    EXPECT_EQ(our_dump(conf, global), theirs[c]) << c;
    if (theirs[c] == "ERROR\n") ++errors_seen;
  }
  EXPECT_GE(errors_seen, 5);  // the fixtures exercise both outcomes
}

}  // namespace
}  // namespace mhafb

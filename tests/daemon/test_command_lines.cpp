// The command lines of mha-failbackd and mha-failbackctl.
#include <gtest/gtest.h>

#include "ctl_args.hpp"
#include "options.hpp"

namespace mhafb {
namespace {

TEST(DaemonOptions, DefaultsAndValues) {
  auto o = parse_daemon_options({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->config_path, "/etc/mha-failback/mha-failback.json");
  EXPECT_EQ(o->bus, "system");
  auto p = parse_daemon_options({"--config", "/x.json", "--bus=unix:path=/tmp/b", "--dry-run"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config_path, "/x.json");
  EXPECT_EQ(p->bus, "unix:path=/tmp/b");
  EXPECT_TRUE(p->dry_run);
}

TEST(DaemonOptions, Errors) {
  EXPECT_FALSE(parse_daemon_options({"--config"}).ok());
  EXPECT_FALSE(parse_daemon_options({"--frobnicate"}).ok());
  EXPECT_FALSE(parse_daemon_options({"--dry-run=yes"}).ok());
  EXPECT_FALSE(parse_daemon_options({"--bus="}).ok());
}

TEST(CtlArgs, Commands) {
  auto a = ctl::parse_ctl_args({"--bus", "session", "failback", "app1", "--wait", "--reason", "ticket 12"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->command, "failback");
  EXPECT_EQ(a->cluster, "app1");
  EXPECT_TRUE(a->wait);
  EXPECT_EQ(a->reason, "ticket 12");
  EXPECT_EQ(a->bus, "session");
  auto m = ctl::parse_ctl_args({"mode", "app1", "auto"});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->mode, "auto");
  auto w = ctl::parse_ctl_args({"watch"});
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->cluster.empty());
  auto h = ctl::parse_ctl_args({"history", "app1", "-n", "5", "-D", "/tmp/j"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->lines, 5);
  EXPECT_EQ(h->journal_directory, "/tmp/j");
}

TEST(CtlArgs, UsageErrors) {
  EXPECT_FALSE(ctl::parse_ctl_args({}).ok());
  EXPECT_FALSE(ctl::parse_ctl_args({"explode"}).ok());
  EXPECT_FALSE(ctl::parse_ctl_args({"failback"}).ok());
  EXPECT_FALSE(ctl::parse_ctl_args({"mode", "app1"}).ok());
  EXPECT_FALSE(ctl::parse_ctl_args({"status", "extra"}).ok());
  EXPECT_FALSE(ctl::parse_ctl_args({"history", "a", "-n", "0"}).ok());
  EXPECT_FALSE(ctl::parse_ctl_args({"status", "--nope"}).ok());
}

}  // namespace
}  // namespace mhafb

// The daemon's JSON configuration: schema, defaults and cross-checks (docs/CONFIGURATION.md is the
// operator's view of the same rules). Loading happens in layers: built-in defaults, then the
// top-level `defaults` object (checked once, its errors keyed "defaults.…"), then each cluster's own
// object; then each cluster's MHA config is loaded with MHA's rules and the two are checked against
// each other, and finally the clusters against each other. Every error is collected. Secrets are
// never echoed: password values are not put into messages, and as a last guard every message is
// scrubbed of every password value the loader has seen.
#include "config/daemon_config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "common/errno_text.hpp"
#include "config/daemon_config_options.hpp"
#include "config/json_fields.hpp"
#include "config/mha_config_detail.hpp"
#include "config/secret_file.hpp"
#include "config/suggest.hpp"

namespace mhafb {
namespace {

using nlohmann::json;

const std::vector<std::string> kTopKeys{"state_dir", "log_level", "defaults", "clusters"};
const std::vector<std::string> kClusterKeys{
    "name",        "mha_conf", "mha_default_conf", "mode",       "preferred_master", "admin",
    "replication", "ssh",      "commands",         "validation", "sql_error_policy", "timeouts"};
const std::vector<std::string> kPerClusterOnly{"name", "mha_conf", "preferred_master"};
const std::vector<std::string> kAccountKeys{"user", "password_file"};
const std::vector<std::string> kSshKeys{"user", "port", "identity_file", "known_hosts", "connect_timeout_ms"};
const std::vector<std::string> kCommandKeys{"start_database",  "manager_start",  "manager_stop",
                                            "companion_start", "companion_stop", "mha_tool_env",
                                            "mha_bin_dir",     "mysqlbinlog"};
const std::vector<std::string> kValidationKeys{"max_lag_seconds", "stable_seconds", "run_mha_checks"};
const std::vector<std::string> kPolicyKeys{"action", "max_skips"};
const std::vector<std::string> kTimeoutKeys{
    "probe_interval_ms", "sql_timeout_ms",        "old_master_return_seconds", "database_start_seconds",
    "catch_up_seconds",  "switch_budget_seconds", "manager_restart_seconds",   "tool_seconds"};
const std::vector<std::string> kLogLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};
const std::vector<std::string> kModes{"observe", "approve", "auto"};

constexpr long long kDay = 86'400;
constexpr long long kWeek = 7 * kDay;

// A value the JSON gave, with the key path it was given at (a default's errors name "defaults.…").
struct Given {
  std::string value;
  std::string key;
};

// One cluster while its layers are applied.
struct Draft {
  ClusterConfig cfg;
  std::optional<Given> name, mha_conf, mha_default_conf, preferred_master;
  std::optional<Given> admin_user, admin_password_file, repl_user, repl_password_file;
  std::optional<Given> ssh_user, identity_file;
  bool manager_start_set = false;
  bool manager_stop_set = false;
};

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

bool is_directory(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Environment keys that look like they carry a secret. Children's environments are readable through
// /proc by the same user and end up in crash reports; MHA takes its passwords from its config.
bool secret_looking_env_key(const std::string& key) {
  std::string up;
  for (char c : key)
    up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const char* word : {"PASS", "SECRET", "TOKEN", "CREDENTIAL", "APIKEY", "API_KEY", "PRIVATE_KEY"})
    if (up.find(word) != std::string::npos) return true;
  return up != "PWD" && up.size() >= 3 && up.compare(up.size() - 3, 3, "PWD") == 0;
}

bool valid_env_key(const std::string& k) {
  if (k.empty() || std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  return std::all_of(k.begin(), k.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Cluster names become D-Bus object path elements, state file names and journal fields: letters,
// digits, '_', '.', '-', not starting with '.' or '-' (a file name, an option), at most 64 bytes.
bool valid_cluster_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  if (n[0] == '.' || n[0] == '-') return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

// A host as the daemon and MHA use it: a DNS name or an IPv4/IPv6 address. MHA 0.58 pastes hostname,
// ip and ssh_host unquoted into the shell command lines it runs locally and over SSH, and ssh/mysql
// read a leading '-' as an option: anything beyond these characters is an injection, never a host.
// Returns what is wrong, empty when the value is acceptable.
std::string host_problem(const std::string& h) {
  if (h.size() > 253) return "longer than 253 bytes";
  if (h.front() == '-') return "starts with '-' (a command-line option to ssh and mysql)";
  for (char c : h) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == ':'))
      return u < 0x20 || u == 0x7f || u >= 0x80 ? "holds a control or non-ASCII byte"
                                                : std::string("holds '") + c + "'";
  }
  return "";
}

// systemd-escape (string mode) for the app name in the default manager unit instance.
std::string systemd_escape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '/') {
      out += '-';
    } else if (std::isalnum(c) || c == ':' || c == '_' || (c == '.' && i > 0)) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      // Four characters plus the terminator always fit: the result cannot be truncated or fail.
      (void)std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

class Loader {
 public:
  Loader(const std::string& file, const DaemonConfigOptions& options, std::vector<ConfigError>& errors)
      : f_(file, errors), options_(options), errors_(errors) {}

  DaemonConfig load(const json& root) {
    DaemonConfig out;
    out.source = f_.file();
    if (!f_.object(root, "(top level)")) return out;
    f_.check_keys(root, "", kTopKeys);
    if (root.contains("state_dir"))
      if (auto v = f_.absolute_path(root["state_dir"], "state_dir")) out.state_dir = *v;
    if (root.contains("log_level"))
      if (auto v = f_.choice(root["log_level"], "log_level", kLogLevels)) out.log_level = *v;

    Draft base;
    if (root.contains("defaults") && f_.object(root["defaults"], "defaults")) {
      const json& d = root["defaults"];
      for (const auto& key : kPerClusterOnly)
        if (d.contains(key))
          f_.error("defaults." + key,
                   "a key shared by all clusters (name, mha_conf and preferred_master belong "
                   "in each cluster)",
                   describe_json(d[key]));
      f_.check_keys(d, "defaults", kClusterKeys);  // per-cluster keys were reported just above
      apply_layer(d, "defaults", base);
    }

    if (!root.contains("clusters")) {
      f_.error("clusters", "an array of clusters (at least one)", "nothing");
      return out;
    }
    const json& clusters = root["clusters"];
    if (!clusters.is_array()) {
      f_.error("clusters", "an array of clusters", describe_json(clusters));
      return out;
    }
    if (clusters.empty()) f_.error("clusters", "at least one cluster", "an empty array");
    for (size_t i = 0; i < clusters.size(); ++i) {
      std::string path = "clusters[" + std::to_string(i) + "]";
      if (!f_.object(clusters[i], path)) continue;
      f_.check_keys(clusters[i], path, kClusterKeys);
      Draft d = base;
      apply_layer(clusters[i], path, d);
      if (finalize(d, path)) {
        paths_.push_back(path);
        out.clusters.push_back(std::move(d.cfg));
      }
    }
    check_across_clusters(out);
    return out;
  }

  std::vector<std::string> secrets;

 private:
  void apply_layer(const json& obj, const std::string& path, Draft& d) {
    auto given = [&](const char* key, std::optional<Given>& slot, bool is_path, bool allow_empty = false) {
      if (!obj.contains(key)) return;
      std::string k = join(path, key);
      std::optional<std::string> v =
          is_path ? f_.absolute_path(obj[key], k) : f_.string(obj[key], k, allow_empty);
      if (v) slot = Given{*v, k};
    };
    if (path != "defaults") {
      given("name", d.name, false);
      given("mha_conf", d.mha_conf, true);
      given("preferred_master", d.preferred_master, false);
    }
    given("mha_default_conf", d.mha_default_conf, true);
    if (obj.contains("mode"))
      if (auto v = f_.choice(obj["mode"], join(path, "mode"), kModes)) d.cfg.mode = *parse_mode(*v);
    apply_account(obj, join(path, "admin"), d.admin_user, d.admin_password_file);
    apply_account(obj, join(path, "replication"), d.repl_user, d.repl_password_file);
    apply_ssh(obj, join(path, "ssh"), d);
    apply_commands(obj, join(path, "commands"), d);
    apply_validation(obj, join(path, "validation"), d.cfg.validation);
    apply_policy(obj, join(path, "sql_error_policy"), d.cfg.sql_error_policy);
    apply_timeouts(obj, join(path, "timeouts"), d.cfg.timeouts);
  }

  // The sub-object at `path`'s last component, when present and an object (its keys checked).
  const json* section(const json& parent, const std::string& path, const std::vector<std::string>& keys) {
    std::string key = path.substr(path.find_last_of('.') + 1);
    if (!parent.contains(key)) return nullptr;
    const json& v = parent[key];
    if (!f_.object(v, path)) return nullptr;
    f_.check_keys(v, path, keys);
    return &v;
  }

  void apply_account(const json& parent, const std::string& path, std::optional<Given>& user,
                     std::optional<Given>& password_file) {
    const json* o = section(parent, path, kAccountKeys);
    if (!o) return;
    if (o->contains("user"))
      if (auto v = f_.string((*o)["user"], path + ".user")) user = Given{*v, path + ".user"};
    if (o->contains("password_file"))
      if (auto v = f_.absolute_path((*o)["password_file"], path + ".password_file", true))
        password_file = Given{*v, path + ".password_file"};
  }

  void apply_ssh(const json& parent, const std::string& path, Draft& d) {
    const json* o = section(parent, path, kSshKeys);
    if (!o) return;
    SshSettings& s = d.cfg.ssh;
    if (o->contains("user"))
      if (auto v = f_.string((*o)["user"], path + ".user")) d.ssh_user = Given{*v, path + ".user"};
    if (o->contains("port"))
      if (auto v = f_.integer((*o)["port"], path + ".port", 1, 65535)) s.port = static_cast<int>(*v);
    if (o->contains("identity_file"))
      if (auto v = f_.absolute_path((*o)["identity_file"], path + ".identity_file"))
        d.identity_file = Given{*v, path + ".identity_file"};
    if (o->contains("known_hosts"))
      if (auto v = f_.absolute_path((*o)["known_hosts"], path + ".known_hosts")) s.known_hosts = *v;
    if (o->contains("connect_timeout_ms"))
      if (auto v = f_.integer((*o)["connect_timeout_ms"], path + ".connect_timeout_ms", 1, 600'000,
                              "milliseconds"))
        s.connect_timeout = std::chrono::milliseconds(*v);
  }

  void apply_commands(const json& parent, const std::string& path, Draft& d) {
    const json* o = section(parent, path, kCommandKeys);
    if (!o) return;
    ClusterCommands& c = d.cfg.commands;
    auto argv = [&](const char* key, std::vector<std::string>& slot, bool allow_empty, bool* set = nullptr) {
      if (!o->contains(key)) return;
      if (auto v = f_.argv((*o)[key], path + "." + key, allow_empty)) {
        slot = *v;
        if (set) *set = true;
      }
    };
    argv("start_database", c.start_database, false);
    argv("manager_start", c.manager_start, false, &d.manager_start_set);
    argv("manager_stop", c.manager_stop, false, &d.manager_stop_set);
    argv("companion_start", c.companion_start, true);
    argv("companion_stop", c.companion_stop, true);
    if (o->contains("mha_tool_env")) apply_env((*o)["mha_tool_env"], path + ".mha_tool_env", c.mha_tool_env);
    if (o->contains("mha_bin_dir")) {
      std::string k = path + ".mha_bin_dir";
      if (auto v = f_.absolute_path((*o)["mha_bin_dir"], k)) {
        if (is_directory(*v))
          c.mha_bin_dir = *v;
        else
          f_.error(k, "an existing directory holding the masterha_* tools",
                   quoted_value(*v) + ", not a directory");
      }
    }
    if (o->contains("mysqlbinlog")) {
      std::string k = path + ".mysqlbinlog";
      if (auto v = f_.string((*o)["mysqlbinlog"], k)) {
        if (v->find('/') != std::string::npos && v->front() != '/')
          f_.error(k, "a program name looked up in PATH, or an absolute path", quoted_value(*v));
        else
          c.mysqlbinlog = *v;
      }
    }
  }

  void apply_env(const json& v, const std::string& path, std::vector<std::string>& out) {
    if (!v.is_array()) {
      f_.error(path, "an array of \"KEY=VALUE\" strings", describe_json(v));
      return;
    }
    std::vector<std::string> env;
    std::set<std::string> keys;
    bool ok = true;
    for (size_t i = 0; i < v.size(); ++i) {
      std::string p = path + "[" + std::to_string(i) + "]";
      if (!v[i].is_string()) {
        f_.error(p, "a \"KEY=VALUE\" string", json_kind(v[i]));
        ok = false;
        continue;
      }
      const auto& s = v[i].get_ref<const std::string&>();
      size_t eq = s.find('=');
      // Values are never echoed: if a secret was put here, the message must not repeat it.
      if (eq == std::string::npos) {
        f_.error(p, "a \"KEY=VALUE\" string", "a string without '='");
        ok = false;
        continue;
      }
      std::string key = s.substr(0, eq);
      if (!valid_env_key(key) || s.find('\0') != std::string::npos) {
        f_.error(p, "a variable name of letters, digits and '_' (not starting with a digit) before '='",
                 valid_env_key(key) ? "a value containing \\u0000" : "the name " + quoted_value(key, 40));
        ok = false;
      } else if (secret_looking_env_key(key)) {
        f_.error(p, "no secret in the MHA tools' environment (MHA reads its passwords from its own config)",
                 "the variable " + key + ", whose name looks like it holds a secret");
        ok = false;
      } else if (!keys.insert(key).second) {
        f_.error(p, "each variable once", "a second " + key);
        ok = false;
      }
      env.push_back(s);
    }
    if (ok) out = std::move(env);
  }

  void apply_validation(const json& parent, const std::string& path, ValidationSettings& s) {
    const json* o = section(parent, path, kValidationKeys);
    if (!o) return;
    if (o->contains("max_lag_seconds"))
      if (auto v = f_.integer((*o)["max_lag_seconds"], path + ".max_lag_seconds", 0, kDay, "seconds"))
        s.max_lag_seconds = static_cast<int>(*v);
    if (o->contains("stable_seconds"))
      if (auto v = f_.integer((*o)["stable_seconds"], path + ".stable_seconds", 0, kDay, "seconds"))
        s.stable_window = std::chrono::seconds(*v);
    if (o->contains("run_mha_checks"))
      if (auto v = f_.boolean((*o)["run_mha_checks"], path + ".run_mha_checks")) s.run_mha_checks = *v;
  }

  void apply_policy(const json& parent, const std::string& path, SqlErrorPolicy& p) {
    const json* o = section(parent, path, kPolicyKeys);
    if (!o) return;
    if (o->contains("action"))
      if (auto v = f_.choice((*o)["action"], path + ".action", {"block", "skip"}))
        p.action = *v == "skip" ? SqlErrorAction::Skip : SqlErrorAction::Block;
    if (o->contains("max_skips"))
      if (auto v = f_.integer((*o)["max_skips"], path + ".max_skips", 0, 1'000'000))
        p.max_skips = static_cast<int>(*v);
  }

  void apply_timeouts(const json& parent, const std::string& path, Timeouts& t) {
    const json* o = section(parent, path, kTimeoutKeys);
    if (!o) return;
    auto ms = [&](const char* key, std::chrono::milliseconds& slot) {
      if (o->contains(key))
        if (auto v = f_.integer((*o)[key], path + "." + key, 1, kDay * 1000, "milliseconds"))
          slot = std::chrono::milliseconds(*v);
    };
    auto sec = [&](const char* key, std::chrono::seconds& slot) {
      if (o->contains(key))
        if (auto v = f_.integer((*o)[key], path + "." + key, 1, kWeek, "seconds"))
          slot = std::chrono::seconds(*v);
    };
    ms("probe_interval_ms", t.probe_interval);
    ms("sql_timeout_ms", t.sql_timeout);
    sec("old_master_return_seconds", t.old_master_return);
    sec("database_start_seconds", t.database_start);
    sec("catch_up_seconds", t.catch_up);
    sec("switch_budget_seconds", t.switch_budget);
    sec("manager_restart_seconds", t.manager_restart);
    sec("tool_seconds", t.tool);
  }

  // Loads the MHA config and resolves everything that defaults from it. False: no usable cluster.
  bool finalize(Draft& d, const std::string& path) {
    ClusterConfig& c = d.cfg;
    c.source = f_.file() + ": " + path;
    if (!d.mha_conf) {
      // A missing key is reported here; a wrong one was reported when read.
      if (!had_error_at(path + ".mha_conf"))
        f_.error(path + ".mha_conf", "the path of the cluster's MHA application config (required)",
                 "nothing");
      return false;
    }
    std::string global;
    if (d.mha_default_conf) {
      global = d.mha_default_conf->value;
    } else if (is_regular_file(options_.default_mha_global_conf)) {
      global = options_.default_mha_global_conf;  // MHA's tools read it when it exists (`-f`)
    }
    MhaConfigDetail mha = load_mha_config_detail(d.mha_conf->value, global, errors_);
    secrets.insert(secrets.end(), mha.secrets.begin(), mha.secrets.end());
    c.mha = mha.app;
    check_hosts(c.mha);

    // Name.
    if (d.name) {
      c.name = d.name->value;
      if (!valid_cluster_name(c.name))
        f_.error(
            d.name->key,
            "a name of letters, digits, '_', '.' and '-', not starting with '.' or '-', at most 64 bytes",
            quoted_value(c.name));
    } else {
      c.name = c.mha.app_name;
      if (!valid_cluster_name(c.name))
        f_.error(
            path + ".name",
            "a name of letters, digits, '_', '.' and '-' (set \"name\": the MHA app name does not qualify)",
            "the MHA app name " + quoted_value(c.name) + " derived from mha_conf");
    }

    const auto& servers = c.mha.servers;
    if (mha.read_ok && servers.size() == 1)
      f_.error(d.mha_conf->key,
               "an MHA config with at least 2 [server*] blocks (a master and the server to fail back to)",
               "only [" + servers[0].block + "] in " + d.mha_conf->value);

    // Preferred master.
    if (d.preferred_master) {
      c.preferred_master = d.preferred_master->value;
      const MhaServer* s = c.mha.find_server(c.preferred_master);
      if (!s && !servers.empty()) {
        std::vector<std::string> hosts;
        std::string list;
        for (const auto& sv : servers) {
          hosts.push_back(sv.hostname);
          list += (list.empty() ? "" : ", ") + sv.hostname;
        }
        f_.error(d.preferred_master->key,
                 "the hostname of one of the MHA config's servers, written exactly as there ("
                 "masterha_master_switch compares it as a string)",
                 quoted_value(c.preferred_master) + "; the servers are " + list +
                     did_you_mean(c.preferred_master, hosts));
      } else if (s && s->no_master) {
        f_.error(d.preferred_master->key,
                 "a server MHA may promote (MHA refuses to switch to a no_master server)",
                 quoted_value(c.preferred_master) + ", which has no_master set in [" + s->block + "]");
      }
    } else if (!servers.empty()) {
      c.preferred_master = servers.front().hostname;
    }

    resolve_account(path, "admin", "user", "password", d.admin_user, d.admin_password_file, mha, c.admin,
                    false);
    resolve_account(path, "replication", "repl_user", "repl_password", d.repl_user, d.repl_password_file, mha,
                    c.replication, true);

    // SSH.
    if (d.ssh_user) {
      c.ssh.user = d.ssh_user->value;
    } else if (!servers.empty()) {
      bool same = std::all_of(servers.begin(), servers.end(),
                              [&](const MhaServer& s) { return s.ssh_user == servers.front().ssh_user; });
      if (same && !servers.front().ssh_user.empty())
        c.ssh.user = servers.front().ssh_user;
      else if (!same)
        f_.error(path + ".ssh.user", "ssh.user in the JSON (the MHA servers use different ssh_user values)",
                 "nothing");
    }
    if (d.identity_file) {
      c.ssh.identity_file = d.identity_file->value;
      SecretFileCheck chk = check_secret_file(c.ssh.identity_file);
      if (!chk.ok())
        f_.error(d.identity_file->key, chk.expected, quoted_value(c.ssh.identity_file) + ": " + chk.found);
    } else if (c.mode != Mode::Observe) {
      f_.error(
          path + ".ssh.identity_file",
          "the SSH private key the daemon uses to start databases and companion services (required unless "
          "mode is observe)",
          "nothing");
    }

    // Commands that default from the MHA app.
    auto tool = [&](const std::string& name) {
      return c.commands.mha_bin_dir.empty() ? name : c.commands.mha_bin_dir + "/" + name;
    };
    if (!d.manager_start_set)
      c.commands.manager_start = {"systemctl", "start",
                                  "mha-manager@" + systemd_escape(c.mha.app_name) + ".service"};
    if (!d.manager_stop_set) {
      c.commands.manager_stop = {tool("masterha_stop"), "--conf=" + d.mha_conf->value};
      if (!global.empty() && global != "/etc/masterha_default.cnf")
        c.commands.manager_stop.push_back("--global_conf=" + global);
    }

    if (c.sql_error_policy.action == SqlErrorAction::Skip && c.sql_error_policy.max_skips == 0)
      f_.error(path + ".sql_error_policy.max_skips",
               "at least 1 with action \"skip\" (0 skips nothing: use action \"block\")", "0");
    return true;
  }

  // Every host the MHA config names, reported against the MHA config file and the block's key.
  void check_hosts(const MhaAppConfig& mha) {
    for (const auto& s : mha.servers) {
      for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"hostname", s.hostname},
                                       {"ip", s.ip},
                                       {"ssh_host", s.ssh_host}}) {
        // Unset (a missing hostname is reported by the MHA loader), or ssh_host defaulted to hostname.
        if (value.empty() || (key == std::string("ssh_host") && value == s.hostname)) continue;
        std::string why = host_problem(value);
        if (!why.empty())
          errors_.push_back(ConfigError{mha.conf_path, "[" + s.block + "] " + key,
                                        "a host name or IP address of letters, digits, '.', '-', '_' and ':' "
                                        "(MHA pastes it into shell command lines)",
                                        quoted_value(value) + ", which " + why});
      }
    }
  }

  // An account: user and password each from the JSON when given, else from the MHA config (where
  // every server must agree: mha-failback uses one account per cluster).
  void resolve_account(const std::string& path, const std::string& kind, const std::string& mha_user_key,
                       const std::string& mha_password_key, const std::optional<Given>& user,
                       const std::optional<Given>& password_file, const MhaConfigDetail& mha, SqlAccount& out,
                       bool password_required) {
    const std::string base = path + "." + kind;
    auto pick = [&](const MhaServerAccounts& a, bool password) -> const MhaSetting& {
      if (kind == "admin") return password ? a.password : a.user;
      return password ? a.repl_password : a.repl_user;
    };
    // The servers' common setting; nullopt when they differ (reported).
    auto common = [&](bool password, const std::string& json_key) -> std::optional<MhaSetting> {
      if (mha.accounts.empty()) return std::nullopt;
      const MhaSetting& first = pick(mha.accounts.front(), password);
      for (const auto& a : mha.accounts) {
        const MhaSetting& s = pick(a, password);
        if (s.set != first.set || s.value != first.value) {
          f_.error(base + "." + json_key,
                   "one " + (password ? mha_password_key : mha_user_key) +
                       " for every server in the MHA config, or " + base + "." + json_key +
                       " (mha-failback uses one account per cluster)",
                   "[" + mha.accounts.front().block + "] and [" + a.block + "] differ");
          return std::nullopt;
        }
      }
      return first;
    };

    if (user) {
      out.user = user->value;
    } else if (auto s = common(false, "user")) {
      out.user = s->value;
      if (out.user.empty())
        f_.error(base + ".user",
                 "a " + kind + " user: " + base + ".user, or " + mha_user_key + " in the MHA config",
                 "neither");
    }

    if (password_file) {
      SecretFileCheck chk = read_secret_file(password_file->value);
      if (!chk.ok()) {
        f_.error(password_file->key, chk.expected, quoted_value(password_file->value) + ": " + chk.found);
      } else {
        secrets.push_back(chk.value);
        out.password = Secret{std::move(chk.value), "file " + password_file->value};
      }
      return;
    }
    if (mha.init_conf_load_script.set && !mha.init_conf_load_script.value.empty()) {
      f_.error(base + ".password_file",
               "a password file for the " + kind +
                   " account: the MHA config sets init_conf_load_script, which may supply the password and "
                   "which mha-failback does not run",
               "nothing");
      return;
    }
    if (auto s = common(true, "password_file")) {
      if (password_required && s->value.empty()) {
        f_.error(base + ".password_file",
                 "a " + kind + " password: " + base + ".password_file, or " + mha_password_key +
                     " in the MHA config",
                 "neither");
        return;
      }
      out.password = Secret{s->value, mha_password_key + " in " + s->origin.describe()};
    }
  }

  void check_across_clusters(const DaemonConfig& cfg) {
    std::map<std::string, size_t> names, confs, flags;
    for (size_t i = 0; i < cfg.clusters.size(); ++i) {
      const ClusterConfig& c = cfg.clusters[i];
      const std::string& path = paths_[i];
      if (auto [it, fresh] = names.emplace(c.name, i); !fresh)
        f_.error(path + ".name", "a cluster name no other cluster uses",
                 quoted_value(c.name) + ", as " + paths_[it->second]);
      std::string conf = c.mha.conf_path;
      if (char* real = ::realpath(conf.c_str(), nullptr)) {
        conf = real;
        std::free(real);
      }
      if (auto [it, fresh] = confs.emplace(conf, i); !fresh) {
        f_.error(path + ".mha_conf",
                 "an MHA config no other cluster uses (two supervisors of one MHA app would fight)",
                 quoted_value(c.mha.conf_path) + ", as " + paths_[it->second]);
        continue;
      }
      if (c.mha.app_name.empty()) continue;
      std::string flag = c.mha.failover_complete_flag();
      if (auto [it, fresh] = flags.emplace(flag, i); !fresh)
        f_.error(
            path + ".mha_conf",
            "an MHA app whose failover flag file is its own (same app name and manager_workdir as another "
            "cluster: MHA would mix their failovers up)",
            flag + ", as " + paths_[it->second]);
    }
  }

  bool had_error_at(const std::string& key) const {
    return std::any_of(errors_.begin(), errors_.end(), [&](const ConfigError& e) { return e.key == key; });
  }

  JsonFields f_;
  const DaemonConfigOptions& options_;
  std::vector<ConfigError>& errors_;
  std::vector<std::string> paths_;  // key path of each accepted cluster, parallel to the output
};

// Reports duplicate keys (nlohmann keeps the last one silently; in an HA config that hides a typo).
class DuplicateKeyFinder {
 public:
  DuplicateKeyFinder(JsonFields& f) : f_(f) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        frames_.emplace_back().array = false;
        break;
      case json::parse_event_t::array_start:
        frames_.emplace_back().array = true;
        break;
      case json::parse_event_t::key:
        if (!frames_.empty()) {
          Frame& top = frames_.back();
          top.key = parsed.get<std::string>();
          if (!top.keys.insert(top.key).second)
            f_.error(path(), "each key once per object (JSON parsers keep only the last)", "a duplicate key");
        }
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames_.empty()) frames_.pop_back();
        completed();
        break;
      case json::parse_event_t::value:
        completed();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool array = false;
    size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };

  void completed() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }

  std::string path() const {
    std::string p;
    for (const auto& f : frames_) {
      if (f.array)
        p += "[" + std::to_string(f.index) + "]";
      else
        p += (p.empty() ? "" : ".") + f.key;
    }
    return p;
  }

  JsonFields& f_;
  std::vector<Frame> frames_;
};

// "line 3, column 7" for a byte offset (nlohmann reports the offset one past the bad character).
std::string position_of(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// nlohmann's message without its "last read: '…'" excerpt, which may quote a secret pasted into the file.
std::string parse_error_reason(const std::string& what) {
  std::string s = what;
  size_t lr = s.find("; last read:");
  if (lr != std::string::npos) s.resize(lr);
  size_t colon = s.find(": ");
  size_t at = s.find(" - ");
  if (at != std::string::npos) return s.substr(at + 3);
  if (colon != std::string::npos) return s.substr(colon + 2);
  return s;
}

}  // namespace

LoadedConfig parse_daemon_config_text(const std::string& json_text, const std::string& json_path,
                                      const DaemonConfigOptions& options) {
  LoadedConfig out;
  out.config.source = json_path;
  JsonFields f(json_path, out.errors);
  json root;
  try {
    DuplicateKeyFinder dups(f);
    root = json::parse(json_text, std::ref(dups), /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    out.errors.push_back(ConfigError{json_path, "", "valid JSON (// and /* */ comments are allowed)",
                                     parse_error_reason(e.what()) + " at " + position_of(json_text, e.byte)});
    return out;
  } catch (const json::exception&) {
    // out_of_range 406: a number too large for a double ("1e400"). The number is not quoted back:
    // where a password file's path belongs it may be the password itself.
    out.errors.push_back(ConfigError{json_path, "", "valid JSON with numbers a double can hold",
                                     "a number too large to represent"});
    return out;
  }
  Loader loader(json_path, options, out.errors);
  out.config = loader.load(root);
  redact_secrets(out.errors, loader.secrets);
  return out;
}

LoadedConfig load_daemon_config(const std::string& json_path, const DaemonConfigOptions& options) {
  std::ifstream in(json_path, std::ios::binary);
  if (!in) {
    LoadedConfig out;
    out.config.source = json_path;
    out.errors.push_back(ConfigError{json_path, "", "a readable configuration file", errno_text(errno)});
    return out;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_daemon_config_text(ss.str(), json_path, options);
}

LoadedConfig parse_daemon_config_text(const std::string& json_text, const std::string& json_path) {
  return parse_daemon_config_text(json_text, json_path, DaemonConfigOptions{});
}

LoadedConfig load_daemon_config(const std::string& json_path) {
  return load_daemon_config(json_path, DaemonConfigOptions{});
}

}  // namespace mhafb

// MHA 0.58's MHA::Config::read_config and parse_server, reproduced rule by rule on top of the
// Config::Tiny reader, so that the daemon sees the same servers, ports, accounts and work directory
// as the masterha_* tools it drives. Where MHA croaks at the first problem, this collects them all.
// Deliberate differences, each because the daemon must not guess: no DNS lookups (MHA resolves
// `hostname` to `ip`; duplicates are compared on ip-or-hostname), no init_conf_load_script (it is a
// shell command; the caller is told it is set), and numeric parameters must be integers (MHA compares
// them numerically under fatal warnings, so a non-number kills the tools later anyway).
#include "mha/mha_config.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "common/errno_text.hpp"
#include "config/config_tiny.hpp"
#include "config/mha_config_detail.hpp"
#include "config/secret_file.hpp"
#include "config/suggest.hpp"

namespace mhafb {

std::string MhaOrigin::describe() const {
  if (file.empty()) return "MHA's default";
  std::string s = file + " [" + block + "]";
  if (line > 0) s += " line " + std::to_string(line);
  return s;
}

namespace {

// More errors than this in one MHA config are summed up in one last error.
constexpr size_t kMaxReportedErrors = 100;

// MHA::Config's @PARAM_ARRAY: every name MHA accepts; anything else makes it croak.
const std::vector<std::string>& param_names() {
  static const std::vector<std::string> names{"hostname",
                                              "ip",
                                              "port",
                                              "ssh_host",
                                              "ssh_ip",
                                              "ssh_port",
                                              "ssh_connection_timeout",
                                              "ssh_options",
                                              "node_label",
                                              "candidate_master",
                                              "no_master",
                                              "ignore_fail",
                                              "skip_init_ssh_check",
                                              "skip_reset_slave",
                                              "user",
                                              "password",
                                              "repl_user",
                                              "repl_password",
                                              "disable_log_bin",
                                              "master_pid_file",
                                              "handle_raw_binlog",
                                              "ssh_user",
                                              "remote_workdir",
                                              "master_binlog_dir",
                                              "log_level",
                                              "manager_workdir",
                                              "manager_log",
                                              "check_repl_delay",
                                              "check_repl_filter",
                                              "latest_priority",
                                              "multi_tier_slave",
                                              "ping_interval",
                                              "ping_type",
                                              "secondary_check_script",
                                              "master_ip_failover_script",
                                              "master_ip_online_change_script",
                                              "shutdown_script",
                                              "report_script",
                                              "init_conf_load_script",
                                              "client_bindir",
                                              "client_libdir",
                                              "use_gtid_auto_pos"};
  return names;
}

bool is_param(const std::string& key) {
  const auto& n = param_names();
  return std::find(n.begin(), n.end(), key) != n.end();
}

// How parse_server fills one parameter when the block does not set it.
enum class Fill {
  OwnOnly,         // never inherited (hostname, ip, node_label, ssh_options)
  OwnOrConst,      // not inherited; `= X if !defined` (candidate_master, no_master, …)
  Inherit,         // the default's value, possibly undefined
  InheritTruthy,   // the default's value; `= X unless (value)` (port, user, manager_workdir, …)
  InheritDefined,  // the default's value; `= X if !defined(value)` (password, ping_interval, …)
};

struct FillRule {
  const char* key;
  Fill fill;
  const char* fallback;  // nullptr: none
};

// The defaulting in MHA::Config::parse_server, in its order.
const std::vector<FillRule>& fill_rules() {
  static const std::vector<FillRule> rules{
      {"hostname", Fill::OwnOnly, nullptr},
      {"ip", Fill::OwnOnly, nullptr},
      {"node_label", Fill::OwnOnly, nullptr},
      {"port", Fill::InheritTruthy, "3306"},
      {"ssh_port", Fill::InheritTruthy, "22"},
      {"ssh_options", Fill::OwnOnly, nullptr},
      {"ssh_connection_timeout", Fill::InheritTruthy, "5"},
      {"user", Fill::InheritTruthy, "root"},
      {"password", Fill::InheritDefined, ""},
      {"repl_user", Fill::Inherit, nullptr},
      {"repl_password", Fill::Inherit, nullptr},
      {"master_pid_file", Fill::Inherit, nullptr},
      {"log_level", Fill::InheritTruthy, "info"},
      {"init_conf_load_script", Fill::Inherit, nullptr},
      {"secondary_check_script", Fill::Inherit, nullptr},
      {"shutdown_script", Fill::Inherit, nullptr},
      {"report_script", Fill::Inherit, nullptr},
      {"master_ip_failover_script", Fill::Inherit, nullptr},
      {"master_ip_online_change_script", Fill::Inherit, nullptr},
      {"disable_log_bin", Fill::InheritDefined, "0"},
      {"handle_raw_binlog", Fill::InheritDefined, "1"},
      {"check_repl_delay", Fill::InheritDefined, "1"},
      {"check_repl_filter", Fill::InheritDefined, "1"},
      {"latest_priority", Fill::InheritDefined, "1"},
      {"multi_tier_slave", Fill::InheritDefined, "0"},
      {"skip_reset_slave", Fill::InheritDefined, "0"},
      {"use_gtid_auto_pos", Fill::InheritDefined, "1"},
      {"master_binlog_dir", Fill::InheritTruthy, "/var/lib/mysql,/var/log/mysql"},
      {"manager_workdir", Fill::InheritTruthy, "/var/tmp"},
      {"manager_log", Fill::Inherit, nullptr},
      {"remote_workdir", Fill::InheritTruthy, "/var/tmp"},
      {"ssh_user", Fill::InheritTruthy, nullptr},  // fallback: the effective user's name
      {"candidate_master", Fill::OwnOrConst, "0"},
      {"no_master", Fill::OwnOrConst, "0"},
      {"ignore_fail", Fill::OwnOrConst, "0"},
      {"skip_init_ssh_check", Fill::OwnOrConst, "0"},
      {"ping_type", Fill::InheritDefined, "SELECT"},
      {"ping_interval", Fill::InheritDefined, "3"},
      {"client_bindir", Fill::Inherit, nullptr},
      {"client_libdir", Fill::Inherit, nullptr},
  };
  return rules;
}

// Integer parameters MHA compares numerically (candidate_master >= 1, …) or passes as ports.
const std::vector<std::string>& flag_params() {
  static const std::vector<std::string> f{"candidate_master",    "no_master",        "ignore_fail",
                                          "skip_init_ssh_check", "skip_reset_slave", "disable_log_bin",
                                          "handle_raw_binlog",   "check_repl_delay", "check_repl_filter",
                                          "latest_priority",     "multi_tier_slave", "use_gtid_auto_pos"};
  return f;
}

struct Val {
  std::optional<std::string> v;  // undefined in Perl when empty
  MhaOrigin origin;
};
using Server = std::map<std::string, Val>;

bool truthy(const std::optional<std::string>& v) {
  return v && !v->empty() && *v != "0";
}

std::string effective_user_name() {
  std::vector<char> buf(16384);
  struct passwd pw {};
  struct passwd* res = nullptr;
  if (getpwuid_r(geteuid(), &pw, buf.data(), buf.size(), &res) == 0 && res != nullptr) return pw.pw_name;
  return "root";
}

// s/^['"]?(.*)['"]$/$1/ — a trailing quote is removed, and a leading one with it when present.
void strip_quotes(std::string& s) {
  if (s.empty() || (s.back() != '\'' && s.back() != '"')) return;
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"'))
    s = s.substr(1, s.size() - 2);
  else
    s.pop_back();
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Numeric value of a digit string, saturating (only compared with small bounds).
long long digits_value(const std::string& s) {
  long long v = 0;
  for (char c : s) {
    v = v * 10 + (c - '0');
    if (v > 1'000'000'000) return v;
  }
  return v;
}

class Parser {
 public:
  Parser(std::vector<ConfigError>& errors, MhaConfigDetail& detail) : errors_(errors), detail_(detail) {}

  void syntax_errors(const std::string& file, const TinyDocument& doc) {
    for (const auto& e : doc.errors)
      add(file, "line " + std::to_string(e.line),
          "a [section] header, a key=value line, a comment (# or ;) or a blank line", e.description);
  }

  void collect_secrets(const TinyDocument& doc) {
    for (const auto& [name, section] : doc.sections)
      for (const auto& [key, val] : section.keys) {
        // An unknown name may be a misspelt password ("pasword"): its value counts as one too.
        bool secretish =
            key.find("pas") != std::string::npos || key.find("pw") != std::string::npos || !is_param(key);
        if (!secretish || val.value.empty()) continue;
        detail_.secrets.push_back(val.value);
        std::string s = val.value;
        for (int i = 0; i < 3; ++i) {  // MHA strips quotes once per inheritance level
          strip_quotes(s);
          if (!s.empty()) detail_.secrets.push_back(s);
        }
      }
  }

  // MHA::Config::parse_server.
  Server parse_server(const std::string& file, const std::string& block, const TinySection* section,
                      const Server* def) {
    static const TinySection empty;
    const TinySection& sec = section ? *section : empty;
    for (const auto& [key, val] : sec.keys) {
      if (is_param(key)) continue;
      add(file, "[" + block + "] " + key, "an MHA parameter name (MHA refuses unknown names)",
          "an unknown name at line " + std::to_string(val.line) + did_you_mean(key, param_names()));
    }

    Server out;
    auto own = [&](const std::string& key) -> std::optional<Val> {
      auto it = sec.keys.find(key);
      if (it == sec.keys.end()) return std::nullopt;
      return Val{it->second.value, MhaOrigin{file, block, it->second.line}};
    };
    auto inherited = [&](const std::string& key) -> Val {
      if (def) {
        auto it = def->find(key);
        if (it != def->end()) return it->second;
      }
      return Val{};
    };
    for (const auto& rule : fill_rules()) {
      const std::string key = rule.key;
      std::optional<Val> mine = own(key);
      Val v;
      switch (rule.fill) {
        case Fill::OwnOnly:
          if (mine) v = *mine;
          break;
        case Fill::OwnOrConst:
          v = mine ? *mine : Val{std::string(rule.fallback), {}};
          break;
        case Fill::Inherit:
          v = mine ? *mine : inherited(key);
          break;
        case Fill::InheritTruthy:
          if (mine) {
            v = *mine;
          } else {
            v = inherited(key);
            if (!truthy(v.v)) v = Val{rule.fallback ? std::string(rule.fallback) : effective_user_name(), {}};
          }
          break;
        case Fill::InheritDefined:
          if (mine) {
            v = *mine;
          } else {
            v = inherited(key);
            if (!v.v) v = Val{std::string(rule.fallback), {}};
          }
          break;
      }
      out[key] = std::move(v);
    }
    // ssh_host defaults to this block's own hostname (never to an inherited one: hostname is not).
    if (auto mine = own("ssh_host")) {
      out["ssh_host"] = *mine;
    } else {
      out["ssh_host"] = out["hostname"];
    }
    if (truthy(out["ssh_options"].v)) {
      std::string& s = *out["ssh_options"].v;
      s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '\'' || c == '"'; }), s.end());
    }

    // MHA's own checks, made before quote stripping (so a quoted number fails, as in MHA).
    check_positive_int("ssh_connection_timeout", out["ssh_connection_timeout"]);
    {
      Val& pt = out["ping_type"];
      std::string up = pt.v.value_or("");
      for (auto& c : up)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      pt.v = up;
      if (up != "CONNECT" && up != "SELECT" && up != "INSERT")
        add_at(pt.origin, "ping_type", "CONNECT, SELECT or INSERT", quoted_value(up));
    }
    check_positive_int("ping_interval", out["ping_interval"]);

    if (truthy(out["master_binlog_dir"].v)) {
      std::string& s = *out["master_binlog_dir"].v;
      s.erase(std::remove_if(s.begin(), s.end(), perl_space), s.end());
    }
    for (auto& [key, val] : out)
      if (truthy(val.v)) strip_quotes(*val.v);
    return out;
  }

  // The integer checks MHA leaves to a fatal warning at run time; made on the values a server
  // actually uses, and reported where each value was written.
  void check_server_numbers(Server& s) {
    check_port("port", s["port"]);
    check_port("ssh_port", s["ssh_port"]);
    for (const auto& key : flag_params()) {
      Val& v = s[key];
      if (!v.v || all_digits(*v.v)) continue;
      add_at(v.origin, key, "an integer (0 = no, 1 = yes)", found_at(*v.v, v.origin));
    }
  }

  void add(const std::string& file, const std::string& key, const std::string& expected,
           const std::string& found) {
    if (!reported_.insert(file + "\n" + key + "\n" + expected).second) return;
    errors_.push_back(ConfigError{file, key, expected, found});
  }

 private:
  static std::string found_at(const std::string& value, const MhaOrigin& o) {
    std::string s = quoted_value(value);
    if (o.line > 0) s += " at line " + std::to_string(o.line);
    return s;
  }

  void add_at(const MhaOrigin& o, const std::string& key, const std::string& expected,
              const std::string& found) {
    add(o.file, "[" + o.block + "] " + key, expected, found);
  }

  // MHA::Config::check_positive_int: /\d/, no /\D/, and >= 1.
  void check_positive_int(const std::string& key, const Val& v) {
    std::string s = v.v.value_or("");
    if (all_digits(s) && digits_value(s) >= 1) return;
    add_at(v.origin, key, "a positive integer (MHA refuses anything else)", found_at(s, v.origin));
  }

  void check_port(const std::string& key, const Val& v) {
    std::string s = v.v.value_or("");
    if (all_digits(s) && digits_value(s) >= 1 && digits_value(s) <= 65535) return;
    add_at(v.origin, key, "a port number from 1 to 65535", found_at(s, v.origin));
  }

  std::vector<ConfigError>& errors_;
  MhaConfigDetail& detail_;
  std::set<std::string> reported_;
};

MhaSetting setting(const Server& s, const std::string& key) {
  auto it = s.find(key);
  if (it == s.end() || !it->second.v) return {};
  return MhaSetting{true, *it->second.v, it->second.origin};
}

std::string str(const Server& s, const std::string& key) {
  auto it = s.find(key);
  return it == s.end() || !it->second.v ? std::string() : *it->second.v;
}

int number(const Server& s, const std::string& key, int fallback) {
  std::string v = str(s, key);
  if (!all_digits(v)) return fallback;
  return static_cast<int>(std::min<long long>(digits_value(v), 1'000'000'000));
}

bool flag(const Server& s, const std::string& key) {
  return number(s, key, 0) >= 1;
}

// /^server\S+/ and /^binlog\S+/: the prefix and at least one non-space character right after it.
bool block_is(const std::string& block, std::string_view prefix) {
  return block.size() > prefix.size() && block.compare(0, prefix.size(), prefix) == 0 &&
         !perl_space(block[prefix.size()]);
}

// /^server\D*([\d]+).*/ — the number MHA sorts server blocks by when every block has one.
std::optional<double> server_number(const std::string& id) {
  size_t i = 6;  // after "server"
  while (i < id.size() && !(id[i] >= '0' && id[i] <= '9'))
    ++i;
  if (i == id.size()) return std::nullopt;
  size_t j = i;
  while (j < id.size() && id[j] >= '0' && id[j] <= '9')
    ++j;
  return std::strtod(id.substr(i, j - i).c_str(), nullptr);  // Perl's <=> compares as doubles
}

// MHA::FileStatus::get_basename: File::Basename's basename, then s/(.*)\..*?$/$1/ (drop the last
// dot and what follows); when nothing is left, the whole --conf value.
std::string mha_app_name(const std::string& conf) {
  std::string path = conf;
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  if (dot != std::string::npos) base.resize(dot);
  return base.empty() ? conf : base;
}

}  // namespace

MhaConfigDetail parse_mha_config_detail(const std::string& app_text, const std::string& app_path,
                                        const std::string& global_text, const std::string& global_path,
                                        std::vector<ConfigError>& errors) {
  MhaConfigDetail detail;
  const size_t first_error = errors.size();
  Parser p(errors, detail);
  MhaAppConfig& app = detail.app;
  app.conf_path = app_path;
  app.global_conf_path = global_path;
  app.app_name = mha_app_name(app_path);

  std::optional<Server> global_sd;
  if (!global_path.empty()) {
    TinyDocument gdoc = parse_config_tiny(global_text);
    p.syntax_errors(global_path, gdoc);
    p.collect_secrets(gdoc);
    // Only [server default] of the global file matters to MHA; its other blocks are ignored.
    global_sd = p.parse_server(global_path, "server default", gdoc.find("server default"), nullptr);
  }

  TinyDocument doc = parse_config_tiny(app_text);
  p.syntax_errors(app_path, doc);
  p.collect_secrets(doc);
  Server sd = p.parse_server(app_path, "server default", doc.find("server default"),
                             global_sd ? &*global_sd : nullptr);
  detail.init_conf_load_script = setting(sd, "init_conf_load_script");

  struct Parsed {
    std::string id;
    int line;
    Server s;
  };
  std::vector<Parsed> servers;
  for (const auto& [block, section] : doc.sections) {
    if (block == "server default") continue;
    if (block == "_") {
      const auto& first = *section.keys.begin();
      p.add(app_path, first.first + " (before any block)",
            "every parameter inside a [server default], [server*] or [binlog*] block (MHA rejects the file)",
            std::to_string(section.keys.size()) + " parameter(s) from line " +
                std::to_string(first.second.line));
      continue;
    }
    bool is_server = block_is(block, "server");
    if (!is_server && !block_is(block, "binlog")) {
      p.add(app_path, "[" + block + "]",
            "a block named [server default], or starting with \"server\" or \"binlog\" followed by "
            "non-space characters",
            "a block at line " + std::to_string(section.line) +
                did_you_mean(block, {"server default", "server1", "binlog1"}));
      continue;
    }
    Server s = p.parse_server(app_path, block, &section, &sd);
    if (is_server) servers.push_back({block, section.line, std::move(s)});
    // [binlog*] servers are validated like MHA does, but the daemon has no use for them.
  }

  bool all_numbered = std::all_of(servers.begin(), servers.end(),
                                  [](const Parsed& s) { return server_number(s.id).has_value(); });
  if (all_numbered)
    std::stable_sort(servers.begin(), servers.end(), [](const Parsed& a, const Parsed& b) {
      return *server_number(a.id) < *server_number(b.id);
    });

  if (servers.empty())
    p.add(app_path, "", "at least one [server*] block (e.g. [server1] with hostname=...)", "none");

  for (auto& ps : servers) {
    p.check_server_numbers(ps.s);
    if (!truthy(ps.s["hostname"].v)) {
      // "[servers default]" or "[server_default]" is a server block to MHA, not a typo it reports.
      std::string hint = did_you_mean(ps.id, {"server default"});
      p.add(app_path, "[" + ps.id + "] hostname",
            "a hostname (each [server*] block needs its own; it is not inherited from [server default])",
            "none in the block at line " + std::to_string(ps.line) + hint);
    }
  }

  for (const auto& ps : servers) {
    // A server without a hostname is reported above; listing it would only breed follow-on errors.
    if (!truthy(ps.s.at("hostname").v)) continue;
    MhaServer m;
    m.block = ps.id;
    m.hostname = str(ps.s, "hostname");
    m.ip = str(ps.s, "ip");
    m.port = number(ps.s, "port", 3306);
    m.ssh_host = str(ps.s, "ssh_host");
    m.ssh_port = number(ps.s, "ssh_port", 22);
    m.ssh_user = str(ps.s, "ssh_user");
    m.candidate_master = flag(ps.s, "candidate_master");
    m.no_master = flag(ps.s, "no_master");
    m.ignore_fail = flag(ps.s, "ignore_fail");
    m.master_binlog_dir = str(ps.s, "master_binlog_dir");
    m.remote_workdir = str(ps.s, "remote_workdir");
    app.servers.push_back(std::move(m));
    detail.accounts.push_back(MhaServerAccounts{ps.id, setting(ps.s, "user"), setting(ps.s, "password"),
                                                setting(ps.s, "repl_user"), setting(ps.s, "repl_password")});
  }

  // MHA checks ip:port after resolving names; without DNS, the address written is compared.
  for (size_t i = 0; i < app.servers.size(); ++i)
    for (size_t j = i + 1; j < app.servers.size(); ++j) {
      const auto& a = app.servers[i];
      const auto& b = app.servers[j];
      if (a.hostname.empty() || b.hostname.empty()) continue;
      if (a.sql_address() == b.sql_address() && a.port == b.port)
        p.add(app_path, "[" + b.block + "] hostname", "an address and port no other server uses",
              a.sql_address() + ":" + std::to_string(a.port) + ", as [" + a.block + "]");
    }

  // The manager-wide settings: MHA's tools read them from the first server (after sorting).
  const Server& first = servers.empty() ? sd : servers.front().s;
  app.manager_workdir = str(first, "manager_workdir");
  app.manager_log = str(first, "manager_log");
  app.user = str(first, "user");
  app.password = str(first, "password");
  app.repl_user = str(first, "repl_user");
  app.repl_password = str(first, "repl_password");
  app.use_gtid_auto_pos = flag(first, "use_gtid_auto_pos");
  // A file full of unknown keys would otherwise bury the first, useful errors and make the
  // redaction below (errors x secrets) quadratic: keep the first ones and count the rest.
  if (errors.size() - first_error > kMaxReportedErrors) {
    const size_t more = errors.size() - first_error - kMaxReportedErrors;
    errors.resize(first_error + kMaxReportedErrors);
    errors.push_back({app_path, "", "fewer errors",
                      std::to_string(more) + " more errors not shown; fix the ones above first"});
  }
  std::sort(detail.secrets.begin(), detail.secrets.end());
  detail.secrets.erase(std::unique(detail.secrets.begin(), detail.secrets.end()), detail.secrets.end());
  // A password typed into a numeric field would otherwise be quoted back.
  redact_secrets(errors, detail.secrets, first_error);
  return detail;
}

namespace {

bool read_whole_file(const std::string& path, std::string& out, std::string& why) {
  // A FIFO or a device would block the reader (and the daemon's reload) forever.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    why = errno_text(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = errno_text(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    why = "read error";
    return false;
  }
  out = ss.str();
  return true;
}

}  // namespace

MhaConfigDetail load_mha_config_detail(const std::string& app_conf, const std::string& global_conf,
                                       std::vector<ConfigError>& errors) {
  std::string app_text, global_text, why;
  bool ok = true;
  if (!read_whole_file(app_conf, app_text, why)) {
    errors.push_back({app_conf, "", "a readable MHA application configuration file", why});
    ok = false;
  }
  if (!global_conf.empty() && !read_whole_file(global_conf, global_text, why)) {
    errors.push_back({global_conf, "", "a readable MHA global configuration file", why});
    ok = false;
  }
  if (!ok) {
    MhaConfigDetail d;
    d.read_ok = false;
    d.app.conf_path = app_conf;
    d.app.global_conf_path = global_conf;
    d.app.app_name = mha_app_name(app_conf);
    return d;
  }
  return parse_mha_config_detail(app_text, app_conf, global_text, global_conf, errors);
}

MhaAppConfig load_mha_config(const std::string& app_conf, const std::string& global_conf,
                             std::vector<ConfigError>& errors) {
  return load_mha_config_detail(app_conf, global_conf, errors).app;
}

MhaAppConfig parse_mha_config_text(const std::string& app_text, const std::string& app_path,
                                   const std::string& global_text, const std::string& global_path,
                                   std::vector<ConfigError>& errors) {
  return parse_mha_config_detail(app_text, app_path, global_text, global_path, errors).app;
}

}  // namespace mhafb

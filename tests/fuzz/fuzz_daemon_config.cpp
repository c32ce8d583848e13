// Fuzz target: the daemon's JSON configuration loader (parse_daemon_config_text), which also reads
// the MHA configs and secret files the JSON names. Those reads must stay inside a sandbox: at start
// the target creates a temporary directory holding the project's real MHA configs, password files
// (good and bad ones) and an identity file, and every absolute path in the input is mapped into it
// (by its last component: "/etc/mha/app1.cnf" -> "<sandbox>/app1.cnf"), so no input can make the
// loader open a FIFO, a device or anything outside. The loader itself never writes; the sandbox is
// written once before fuzzing and removed at exit.
//
// Inputs without absolute paths reach the loader byte for byte (comments, duplicate keys, syntax
// errors); inputs with some are re-serialized after the mapping.
//
// Properties beyond "no crash, hang or leak": no error message contains a password the loader read
// (from a password file or the MHA config), and a config without errors has at least one cluster.
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "config/daemon_config.hpp"
#include "config/daemon_config_options.hpp"
#include "fuzz_support.hpp"

namespace {

using nlohmann::json;

std::string g_sandbox;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put(const std::string& name, const std::string& content, mode_t mode = 0600) {
  std::string p = g_sandbox + "/" + name;
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  if (::chmod(p.c_str(), mode) != 0) mhafb::fuzz::fail("sandbox set-up", "chmod " + p);
}

void put_dir(const std::string& name) {
  std::string p = g_sandbox + "/" + name;
  if (::mkdir(p.c_str(), 0700) != 0) mhafb::fuzz::fail("sandbox set-up", "mkdir " + p);
}

int remove_entry(const char* path, const struct stat*, int, struct FTW*) {
  return ::remove(path);
}

void remove_sandbox() {
  if (!g_sandbox.empty()) ::nftw(g_sandbox.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void make_sandbox() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/mhafb-fuzz-config-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) mhafb::fuzz::fail("sandbox set-up", "mkdtemp " + tmpl);
  g_sandbox = buf.data();
  std::atexit(remove_sandbox);

  // The project's real MHA configs, under their own names.
  const std::string src = MHAFB_SOURCE_DIR;
  for (const char* rel : {"tests/data/config/mha/app1.cnf", "tests/data/config/mha/masterha_default.cnf",
                          "etc/mha/app1.cnf.example"}) {
    std::string r = rel;
    put(r.substr(r.rfind('/') + 1), read_file(src + "/" + r), 0644);
  }
  for (const char* name :
       {"bad_block", "bad_ping_interval", "bad_ping_type", "binlog_and_global", "duplicate_address", "empty",
        "line_endings", "no_hostname", "not_inherited", "quoted_timeout", "quotes_and_comments", "root_keys",
        "syntax_error", "unknown_param", "unsorted_names"})
    put(std::string(name) + ".cnf", read_file(src + "/tests/data/config/mha/diff/" + name + ".cnf"), 0644);
  // Shapes the cross-checks care about.
  put("differ.cnf",
      "[server default]\nrepl_user=repl\nmanager_workdir=/var/tmp/mha\n[server1]\nhostname=db1\nuser=a\n"
      "password=Differ-Pw-1\nssh_user=root\n[server2]\nhostname=db2\nuser=b\npassword=Differ-Pw-2\n"
      "ssh_user=dba\nno_master=1\n",
      0644);
  put("init_script.cnf",
      "[server default]\ninit_conf_load_script=/usr/local/bin/mha-secrets\nrepl_user=repl\n[server1]\n"
      "hostname=db1\n[server2]\nhostname=db2\n",
      0644);
  put("three.cnf",
      "[server default]\nuser=mha\npassword='Three-Pw-3'\nrepl_user=repl\nrepl_password=\"Three-Repl-4\"\n"
      "ssh_user=root\n[server1]\nhostname=192.168.10.1\ncandidate_master=1\n[server2]\nhostname=192.168.10."
      "2\n"
      "port=3307\n[server3]\nhostname=192.168.10.3\nno_master=1\n",
      0644);
  // Password files: good ones, and every way one can be wrong.
  put("app1-repl.password", "Sandbox-Repl-Pw-1\n");
  put("app1-admin.password", "Sandbox-Admin-Pw-2\n");
  put("repl.pw", "Sandbox-Repl-Pw-3\r\n");
  put("admin.pw", "Sandbox-Admin-Pw-4");
  put("loose.password", "Sandbox-Loose-Pw-5\n", 0644);
  put("empty.password", "");
  put("two-lines.password", "Sandbox-Two-Pw-6\nsecond line\n");
  put("big.password", std::string(5000, 'x'));
  put("id_ed25519",
      "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n");
  put("id_loose", "not a real key\n", 0644);
  put("ssh_known_hosts", "db1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA\n", 0644);
  put_dir("bin");
  put_dir("mha");
  put_dir("mha-failback");
}

// "<sandbox>/<last component, reduced to [A-Za-z0-9._-]>" for any absolute path.
std::string sandboxed(const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1), clean;
  for (char c : base)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') clean += c;
  if (clean.size() > 64) clean.resize(64);
  if (clean.empty() || clean == "." || clean == "..") clean = "missing";
  return g_sandbox + "/" + clean;
}

// Maps every absolute path in the document; true when one was found. Strings the loader rejects as
// paths (relative, or with a NUL byte) never reach the file system and are left alone.
bool map_paths(json& j) {
  bool mapped = false;
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    if (!s.empty() && s.front() == '/' && s.find('\0') == std::string::npos) {
      s = sandboxed(s);
      mapped = true;
    }
  } else if (j.is_structured()) {
    for (auto& v : j)
      mapped = map_paths(v) || mapped;
  }
  return mapped;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  make_sandbox();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mhafb;
  std::string text(fuzz::as_text(data, size));
  // The loader parses with the same library and options (comments allowed): when this parse fails,
  // so does the loader's, before it reads any file.
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (!doc.is_discarded() && map_paths(doc)) text = doc.dump(-1, ' ', false, json::error_handler_t::replace);

  DaemonConfigOptions options;
  options.default_mha_global_conf = g_sandbox + "/masterha_default.cnf";
  LoadedConfig loaded = parse_daemon_config_text(text, g_sandbox + "/mha-failback.json", options);

  std::vector<std::string> secrets;
  for (const auto& c : loaded.config.clusters)
    for (const std::string* s :
         {&c.admin.password.value, &c.replication.password.value, &c.mha.password, &c.mha.repl_password})
      if (!s->empty()) secrets.push_back(*s);
  fuzz::check_no_secret(loaded.errors, secrets);
  if (loaded.ok() && loaded.config.clusters.empty())
    fuzz::fail("a configuration without errors supervises at least one cluster", text.substr(0, 500));
  return 0;
}

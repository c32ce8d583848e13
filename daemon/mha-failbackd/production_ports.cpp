// make_production_ports / make_file_watcher: the production adapters for one cluster.
#include "production_ports.hpp"

#include "exec/dry_run.hpp"
#include "exec/process_runner.hpp"
#include "exec/ssh_remote_shell.hpp"
#include "sql/mariadb_sql_port.hpp"
#if __has_include("exec/posix_files.hpp")
#include "exec/posix_files.hpp"
#define MHAFBD_HAVE_POSIX_FILES 1
#endif
#if __has_include("exec/inotify_watcher.hpp")
#include "exec/inotify_watcher.hpp"
#define MHAFBD_HAVE_INOTIFY 1
#endif

namespace mhafb {

namespace {

#ifdef MHAFBD_HAVE_POSIX_FILES
MariaDbOptions sql_options(const ClusterConfig& config) {
  MariaDbOptions o;
  o.connect_timeout = config.timeouts.sql_timeout;
  o.read_timeout = config.timeouts.sql_timeout;
  o.write_timeout = config.timeouts.sql_timeout;
  return o;
}

class ProductionPorts final : public ClusterPorts {
 public:
  ProductionPorts(const ClusterConfig& config, AuditSink& audit, bool dry_run)
      : sql_(MariaDbCredentials{config.admin.user, config.admin.password.value}, sql_options(config)),
        remote_(
            SshClientOptions{config.ssh.identity_file, config.ssh.known_hosts, config.ssh.connect_timeout}),
        audit_(audit),
        dry_run_(dry_run),
        dry_sql_(sql_, dry_log_),
        dry_commands_(commands_, dry_log_),
        dry_remote_(remote_, dry_log_) {}

  Ports ports() override {
    if (dry_run_) return Ports{dry_sql_, dry_commands_, dry_remote_, clock_, files_, audit_};
    return Ports{sql_, commands_, remote_, clock_, files_, audit_};
  }

  std::vector<std::string> drain_dry_run() override {
    auto entries = dry_log_.entries();
    dry_log_.clear();
    return entries;
  }

 private:
  MariaDbSqlPort sql_;
  ProcessRunner commands_;
  SshRemoteShell remote_;
  SystemClock clock_;
  PosixFiles files_;
  AuditSink& audit_;
  bool dry_run_;
  DryRunLog dry_log_;
  DryRunSqlPort dry_sql_;
  DryRunCommandPort dry_commands_;
  DryRunRemoteShellPort dry_remote_;
};
#endif

}  // namespace

Result<std::unique_ptr<ClusterPorts>> make_production_ports(const ClusterConfig& config, AuditSink& audit,
                                                            bool dry_run) {
#ifdef MHAFBD_HAVE_POSIX_FILES
  return std::unique_ptr<ClusterPorts>(std::make_unique<ProductionPorts>(config, audit, dry_run));
#else
  (void)config;
  (void)audit;
  (void)dry_run;
  return Error::failed("This build of mha-failbackd has no POSIX files adapter (lib/exec/posix_files.hpp).");
#endif
}

std::unique_ptr<FileWatchPort> make_file_watcher(boost::asio::io_context& loop) {
#ifdef MHAFBD_HAVE_INOTIFY
  return std::make_unique<InotifyWatcher>(loop);
#else
  (void)loop;
  return nullptr;  // ticks still come from the timers; the watch only makes them sooner
#endif
}

}  // namespace mhafb

// Daemon: the running mha-failbackd. One Boost.Asio io_context on the main thread owns every
// timer, the signals, the file watches and the D-Bus connection; each cluster's blocking work runs
// on its own strand of a small worker pool (SupervisedCluster). Also owns the systemd
// notifications (READY, STATUS, WATCHDOG, STOPPING) and configuration reloads on SIGHUP.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "audit/journal_sink.hpp"
#include "config/daemon_config.hpp"
#include "dbus_loop.hpp"
#include "dbus_objects.hpp"
#include "notifier.hpp"
#include "options.hpp"
#include "production_ports.hpp"
#include "supervised_cluster.hpp"

namespace mhafb {

class Daemon {
 public:
  Daemon(DaemonOptions options, DaemonConfig config, std::shared_ptr<JournalWriter> writer);
  ~Daemon();
  // Runs until SIGTERM/SIGINT (exit 0) or a fatal error (non-zero).
  int run();

 private:
  struct Entry {
    std::unique_ptr<SupervisedCluster> cluster;
    std::unique_ptr<ClusterObject> object;
    bool stopping = false;
  };

  Status connect_bus();
  Status add_cluster(const ClusterConfig& cfg);
  void remove_entry(const std::string& name);
  Entry* find(const std::string& name);
  void publish_clusters();
  void on_view_changed(const std::string& name, const ClusterView& view);
  void maybe_ready();
  void update_status();   // re-reads every cluster's view
  void compose_status();  // STATUS= from status_sentences_
  static std::string status_sentence(const ClusterView& view);
  void wait_signals();
  void on_signal(int signo);
  void reload();
  void shutdown();
  void arm_watchdog();
  void audit(AuditKind kind, AuditPriority priority, const std::string& message,
             const std::string& cluster = {});

  DaemonOptions options_;
  DaemonConfig config_;
  std::shared_ptr<JournalWriter> writer_;
  std::shared_ptr<MultiAuditSink> audit_;
  boost::asio::io_context loop_;
  boost::asio::thread_pool pool_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer watchdog_timer_;
  SystemdNotifier notifier_;
  std::unique_ptr<sdbus::IConnection> bus_;
  std::unique_ptr<DbusLoop> dbus_loop_;
  std::unique_ptr<ManagerObject> manager_;
  std::unique_ptr<FileWatchPort> watcher_;
  std::set<std::string> watched_;
  std::vector<std::pair<std::string, Entry>> clusters_;  // in configuration order
  bool name_owned_ = false;
  bool ready_sent_ = false;
  bool stopping_ = false;
  bool reload_pending_ = false;
  int exit_code_ = 0;
  std::string last_status_;
  std::map<std::string, std::string> status_sentences_;  // each cluster's part of STATUS=
  std::set<std::string> stalled_;                        // clusters whose stall was already logged
};

}  // namespace mhafb

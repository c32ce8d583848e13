// Daemon (see the header).
#include "daemon.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <csignal>

namespace mhafb {

namespace {

std::size_t pool_size(std::size_t clusters) {
  return std::clamp<std::size_t>(clusters, 1, 4);
}

}  // namespace

Daemon::Daemon(DaemonOptions options, DaemonConfig config, std::shared_ptr<JournalWriter> writer)
    : options_(std::move(options)),
      config_(std::move(config)),
      writer_(std::move(writer)),
      audit_(std::make_shared<MultiAuditSink>()),
      pool_(pool_size(config_.clusters.size())),
      signals_(loop_),
      watchdog_timer_(loop_),
      notifier_(SystemdNotifier::from_environment()) {
  audit_->add(std::make_shared<JournalAuditSink>(writer_));
}

Daemon::~Daemon() {
  pool_.join();
  // D-Bus objects go before the connection they are registered on.
  clusters_.clear();
  manager_.reset();
  dbus_loop_.reset();
}

void Daemon::audit(AuditKind kind, AuditPriority priority, const std::string& message,
                   const std::string& cluster) {
  AuditRecord r;
  r.kind = kind;
  r.priority = priority;
  r.message = message;
  r.cluster = cluster;
  audit_->record(r);
}

Status Daemon::connect_bus() {
  try {
    if (options_.bus == "system")
      bus_ = sdbus::createSystemBusConnection();
    else if (options_.bus == "session")
      bus_ = sdbus::createSessionBusConnection();
    else
      bus_ = sdbus::createSessionBusConnectionWithAddress(options_.bus);
  } catch (const sdbus::Error& e) {
    return Error::unreachable("Cannot connect to the D-Bus bus '" + options_.bus + "': " + e.getMessage());
  }
  return {};
}

Daemon::Entry* Daemon::find(const std::string& name) {
  for (auto& [n, e] : clusters_)
    if (n == name) return &e;
  return nullptr;
}

Status Daemon::add_cluster(const ClusterConfig& cfg) {
  auto ports = make_production_ports(cfg, *audit_, options_.dry_run);
  if (!ports) return ports.error();
  const std::string name = cfg.name;
  // The old object must leave the path before the replacement registers on it.
  if (auto* existing = find(name)) existing->object.reset();
  ClusterCallbacks cb;
  cb.state_changed = [this, name](const std::string& from, const std::string& to, const std::string& reason) {
    if (auto* e = find(name); e && e->object) e->object->state_changed(from, to, reason);
  };
  cb.view_changed = [this, name](const ClusterView& view) { on_view_changed(name, view); };
  cb.first_tick_done = [this] { maybe_ready(); };
  Entry entry;
  entry.cluster = std::make_unique<SupervisedCluster>(loop_, pool_, cfg, std::move(*ports), config_.state_dir,
                                                      std::move(cb));
  entry.object = std::make_unique<ClusterObject>(*bus_, *entry.cluster, [this] {
    if (dbus_loop_) dbus_loop_->kick();
  });
  auto flag = cfg.mha.failover_complete_flag();
  if (watcher_ && watched_.insert(flag).second) {
    // Looked up by name at call time: a reload may have replaced the cluster since.
    watcher_->watch(flag, [this, name] {
      if (auto* e = find(name); e && !e->stopping) e->cluster->tick_soon();
    });
  }
  if (auto* existing = find(name))
    *existing = std::move(entry);
  else
    clusters_.emplace_back(name, std::move(entry));
  return {};
}

void Daemon::remove_entry(const std::string& name) {
  std::erase_if(clusters_, [&](const auto& p) { return p.first == name; });
}

void Daemon::publish_clusters() {
  if (!manager_) return;
  std::vector<std::string> names;
  for (const auto& [n, e] : clusters_)
    names.push_back(n);
  manager_->set_clusters(std::move(names));
  if (dbus_loop_) dbus_loop_->kick();
}

void Daemon::on_view_changed(const std::string& name, const ClusterView& view) {
  if (auto* e = find(name); e && e->object) e->object->publish(view);
  // Every tick of every cluster lands here: rebuilding the line from all clusters each time made
  // the status O(N) per tick. Only a cluster whose sentence changed costs a rebuild.
  if (!notifier_.enabled()) return;
  auto sentence = status_sentence(view);
  auto it = status_sentences_.find(name);
  if (it != status_sentences_.end() && it->second == sentence) return;
  status_sentences_[name] = std::move(sentence);
  compose_status();
}

std::string Daemon::status_sentence(const ClusterView& view) {
  return view.status.empty() ? std::string(to_string(view.state)) : view.status;
}

void Daemon::update_status() {
  if (!notifier_.enabled()) return;
  status_sentences_.clear();
  for (const auto& [n, e] : clusters_)
    status_sentences_[n] = status_sentence(e.cluster->view());
  compose_status();
}

void Daemon::compose_status() {
  std::string s;
  for (const auto& [n, e] : clusters_) {
    auto it = status_sentences_.find(n);
    if (it == status_sentences_.end())
      it = status_sentences_.emplace(n, status_sentence(e.cluster->view())).first;
    if (!s.empty()) s += "; ";
    s += n + ": " + it->second;
  }
  if (clusters_.empty()) s = "no cluster is configured";
  if (s == last_status_) return;
  last_status_ = s;
  notifier_.status(s);
}

void Daemon::maybe_ready() {
  update_status();
  if (ready_sent_ || !name_owned_ || stopping_) return;
  for (const auto& [n, e] : clusters_)
    if (!e.cluster->ready()) return;
  ready_sent_ = true;
  notifier_.ready();
  spdlog::info("ready: {} cluster(s) supervised, bus name {} owned", clusters_.size(), kBusName);
}

void Daemon::wait_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    on_signal(signo);
    if (!stopping_ || signo != SIGHUP) wait_signals();
  });
}

void Daemon::on_signal(int signo) {
  if (signo == SIGHUP) {
    if (stopping_) return;
    reload();
  } else {
    shutdown();
  }
}

void Daemon::reload() {
  // RELOADING=1 must be followed by READY=1; before the first READY=1 neither is sent.
  const bool notify_reload = ready_sent_;
  if (notify_reload) notifier_.reloading();
  spdlog::info("reloading the configuration from {}", options_.config_path);
  auto loaded = load_daemon_config(options_.config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors)
      spdlog::error("configuration reload rejected: {}", e.to_string());
    audit(AuditKind::Warning, AuditPriority::Err,
          "Configuration reload rejected: " + std::to_string(loaded.errors.size()) + " error(s) in " +
              options_.config_path + "; the configuration in force stays unchanged.");
    if (notify_reload) notifier_.ready();
    return;
  }
  DaemonConfig next = std::move(loaded.config);
  if (next.state_dir != config_.state_dir) {
    spdlog::warn("state_dir changed from {} to {}: this takes effect only after a restart", config_.state_dir,
                 next.state_dir);
    next.state_dir = config_.state_dir;
  }
  auto find_new = [&](const std::string& name) -> const ClusterConfig* {
    for (const auto& c : next.clusters)
      if (c.name == name) return &c;
    return nullptr;
  };
  std::vector<std::string> existing;
  for (const auto& [n, e] : clusters_)
    existing.push_back(n);
  for (const auto& name : existing) {
    auto* e = find(name);
    if (e == nullptr || e->stopping) continue;
    auto view = e->cluster->view();
    if (!view.operation.empty()) {
      // Never swap the engine under a running operation: its steps rely on the config they began with.
      spdlog::warn("cluster {} keeps its current configuration until {} ends; send SIGHUP again afterwards",
                   name, view.operation);
      continue;
    }
    const ClusterConfig* replacement = find_new(name);
    std::optional<ClusterConfig> copy;
    if (replacement) copy = *replacement;
    e->stopping = true;
    e->cluster->stop([this, name, copy] {
      if (stopping_) return;
      if (copy) {
        if (auto st = add_cluster(*copy); !st) {
          spdlog::error("cluster {}: {}", name, st.error().message);
          remove_entry(name);
        } else {
          find(name)->cluster->start();
        }
      } else {
        spdlog::info("cluster {} is no longer configured; its supervision stopped", name);
        remove_entry(name);
      }
      publish_clusters();
    });
  }
  for (const auto& c : next.clusters) {
    if (find(c.name)) continue;
    if (auto st = add_cluster(c); !st) {
      spdlog::error("cluster {}: {}", c.name, st.error().message);
      continue;
    }
    find(c.name)->cluster->start();
    spdlog::info("cluster {} is now supervised", c.name);
  }
  config_ = std::move(next);
  publish_clusters();
  if (notify_reload) notifier_.ready();
}

void Daemon::shutdown() {
  if (stopping_) {
    std::string waiting;
    for (const auto& [n, e] : clusters_)
      waiting += (waiting.empty() ? "" : ", ") + n;
    spdlog::warn("already stopping; still waiting for the step in flight to finish on: {}", waiting);
    return;
  }
  stopping_ = true;
  notifier_.stopping();
  spdlog::info("stopping: letting the step in flight finish on every cluster");
  auto remaining = std::make_shared<std::size_t>(clusters_.size());
  auto finish = [this] {
    for (auto& [n, e] : clusters_)
      e.object->fail_pending(
          "mha-failbackd stopped before the operation ended; the operation resumes from "
          "its persisted state when the daemon starts again.");
    if (dbus_loop_) dbus_loop_->stop();
    signals_.cancel();
    watchdog_timer_.cancel();
    spdlog::info("stopped");
    loop_.stop();
  };
  if (clusters_.empty()) return finish();
  for (auto& [n, e] : clusters_) {
    e.stopping = true;
    e.cluster->stop([this, remaining, finish, name = n] {
      spdlog::info("cluster {}: stopped", name);
      if (--*remaining == 0) finish();
    });
  }
}

void Daemon::arm_watchdog() {
  auto interval = notifier_.watchdog_interval();
  if (!interval) return;
  watchdog_timer_.expires_after(*interval / 2);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    // This handler running proves the loop turns; each cluster must not be stuck in one tick.
    auto now = SupervisedCluster::SteadyClock::now();
    bool healthy = true;
    for (const auto& [n, e] : clusters_) {
      if (e.cluster->making_progress(now)) {
        stalled_.erase(n);
        continue;
      }
      healthy = false;
      if (stalled_.insert(n).second)
        spdlog::error("cluster {}: one tick has run longer than {} s; withholding the watchdog ping", n,
                      std::chrono::duration_cast<std::chrono::seconds>(e.cluster->stall_limit()).count());
    }
    if (healthy) notifier_.watchdog();
    arm_watchdog();
  });
}

int Daemon::run() {
  // First of all: a SIGTERM from now on must mean "stop cleanly", never the default action.
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGHUP);
  if (auto st = connect_bus(); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  manager_ = std::make_unique<ManagerObject>(*bus_);
  dbus_loop_ = std::make_unique<DbusLoop>(loop_, *bus_, [this](const std::string& why) {
    spdlog::error("lost the D-Bus connection: {}; stopping", why);
    exit_code_ = 1;
    shutdown();
  });
  watcher_ = make_file_watcher(loop_);
  for (const auto& c : config_.clusters) {
    if (auto st = add_cluster(c); !st) {
      spdlog::error("cluster {}: {}", c.name, st.error().message);
      return 1;
    }
  }
  publish_clusters();
  try {
    bus_->requestName(kBusName);
  } catch (const sdbus::Error& e) {
    spdlog::error("cannot own the bus name {} on the {} bus: {}", kBusName, options_.bus, e.getMessage());
    return 1;
  }
  name_owned_ = true;
  spdlog::info("mha-failbackd {} started{}: {} cluster(s), bus name {} on the {} bus", MHAFB_VERSION,
               options_.dry_run ? " in dry-run mode" : "", clusters_.size(), kBusName, options_.bus);
  dbus_loop_->start();
  wait_signals();
  arm_watchdog();
  for (auto& [n, e] : clusters_)
    e.cluster->start();
  maybe_ready();
  loop_.run();
  pool_.join();
  return exit_code_;
}

}  // namespace mhafb

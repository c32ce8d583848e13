// The production adapters one cluster's engine runs on (MariaDB Connector/C, local processes,
// SSH, POSIX files, the system clock, the shared audit sink), wrapped in the dry-run decorators
// with --dry-run. Each cluster owns its own adapters: a cluster's calls all come from its strand,
// so no adapter is shared between threads except the audit sink, which is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/cluster_config.hpp"
#include "supervisor/ports.hpp"

namespace mhafb {

class ClusterPorts {
 public:
  virtual ~ClusterPorts() = default;
  virtual Ports ports() = 0;
  // With --dry-run: what the decorators kept from running since the last call (then forgotten, so
  // a long dry run does not grow without bound). Called on the cluster's strand.
  virtual std::vector<std::string> drain_dry_run() { return {}; }
};

Result<std::unique_ptr<ClusterPorts>> make_production_ports(const ClusterConfig& config, AuditSink& audit,
                                                            bool dry_run);

}  // namespace mhafb

#include <boost/asio/io_context.hpp>

#include "ports/file_watch_port.hpp"

namespace mhafb {

// The inotify watcher on the loop: callbacks run on the loop thread.
std::unique_ptr<FileWatchPort> make_file_watcher(boost::asio::io_context& loop);

}  // namespace mhafb

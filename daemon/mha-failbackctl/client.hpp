// The command line's D-Bus side: connecting to the bus the daemon is on, finding a cluster's
// object, reading properties, and turning D-Bus errors into the documented exit codes.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ctl_args.hpp"

namespace mhafb::ctl {

inline constexpr const char* kBusName = "org.mhafailback.Supervisor1";
inline constexpr const char* kManagerPath = "/org/mhafailback/Supervisor1";
inline constexpr const char* kManagerInterface = "org.mhafailback.Supervisor1.Manager";
inline constexpr const char* kClusterInterface = "org.mhafailback.Supervisor1.Cluster";
inline constexpr const char* kErrorPrefix = "org.mhafailback.Supervisor1.Error.";

// A failure of the command: the sentence to print and the exit code.
struct Failure {
  int exit_code = kFailed;
  std::string message;
};

Failure failure_from(const sdbus::Error& e);

// The object path of a cluster: the same escaping as the daemon (sd_bus_path_encode).
std::string cluster_path(const std::string& name);

struct ClusterInfo {
  std::string name;
  std::string path;
};

class Client {
 public:
  // Throws sdbus::Error when the bus cannot be reached.
  explicit Client(const std::string& bus);

  sdbus::IConnection& connection() { return *connection_; }
  std::vector<ClusterInfo> clusters();
  // Throws Failure (kUnknownCluster) when no such cluster is supervised.
  ClusterInfo find(const std::string& name);
  std::map<std::string, sdbus::Variant> properties(const std::string& path);
  std::unique_ptr<sdbus::IProxy> proxy(const std::string& path);

 private:
  std::unique_ptr<sdbus::IConnection> connection_;
};

}  // namespace mhafb::ctl

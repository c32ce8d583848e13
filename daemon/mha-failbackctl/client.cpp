// Client (see the header).
#include "client.hpp"

#include <systemd/sd-bus.h>

#include <cstdlib>

namespace mhafb::ctl {

Failure failure_from(const sdbus::Error& e) {
  const std::string& name = e.getName();
  const std::string& msg = e.getMessage();
  if (name.rfind(kErrorPrefix, 0) == 0) {
    if (name == std::string(kErrorPrefix) + "UnknownCluster") return {kUnknownCluster, msg};
    return {kFailed, msg};
  }
  if (name == "org.freedesktop.DBus.Error.AccessDenied")
    return {kDenied, "Access denied: " + msg +
                         " (calling mha-failbackd's methods needs root or the mha-failback group)"};
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
      name == "org.freedesktop.DBus.Error.NameHasNoOwner")
    return {kUnreachable, "mha-failbackd is not running on this bus (" + msg + ")"};
  if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Disconnected" ||
      name == "org.freedesktop.DBus.Error.NoServer" || name == "org.freedesktop.DBus.Error.FileNotFound" ||
      name == "org.freedesktop.DBus.Error.TimedOut" || name.rfind("System.Error.", 0) == 0)
    return {kUnreachable, "Cannot talk to mha-failbackd: " + msg};
  if (name == "org.freedesktop.DBus.Error.UnknownObject") return {kUnknownCluster, "No such cluster: " + msg};
  return {kFailed, msg.empty() ? name : msg};
}

Client::Client(const std::string& bus) {
  if (bus == "system")
    connection_ = sdbus::createSystemBusConnection();
  else if (bus == "session")
    connection_ = sdbus::createSessionBusConnection();
  else
    connection_ = sdbus::createSessionBusConnectionWithAddress(bus);
}

std::unique_ptr<sdbus::IProxy> Client::proxy(const std::string& path) {
  return sdbus::createProxy(*connection_, kBusName, path);
}

std::string cluster_path(const std::string& name) {
  char* out = nullptr;
  std::string prefix = std::string(kManagerPath) + "/cluster";
  if (sd_bus_path_encode(prefix.c_str(), name.c_str(), &out) < 0 || out == nullptr) return prefix + "/_";
  std::string path(out);
  std::free(out);
  return path;
}

std::vector<ClusterInfo> Client::clusters() {
  // The Clusters property, not ListClusters: the bus policy lets everyone read properties but only
  // root and the mha-failback group call methods, and `status` is for everyone.
  auto p = proxy(kManagerPath);
  std::vector<std::string> names = p->getProperty("Clusters").onInterface(kManagerInterface);
  std::vector<ClusterInfo> out;
  for (const auto& n : names)
    out.push_back({n, cluster_path(n)});
  return out;
}

ClusterInfo Client::find(const std::string& name) {
  auto all = clusters();
  std::string known;
  for (const auto& c : all) {
    if (c.name == name) return c;
    known += (known.empty() ? "" : ", ") + c.name;
  }
  throw Failure{kUnknownCluster, "No cluster named '" + name + "' is supervised" +
                                     (known.empty() ? std::string(" (none is configured).")
                                                    : " (supervised: " + known + ").")};
}

std::map<std::string, sdbus::Variant> Client::properties(const std::string& path) {
  auto p = proxy(path);
  std::map<std::string, sdbus::Variant> props;
  p->callMethod("GetAll")
      .onInterface("org.freedesktop.DBus.Properties")
      .withArguments(std::string(kClusterInterface))
      .storeResultsTo(props);
  return props;
}

}  // namespace mhafb::ctl

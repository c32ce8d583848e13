// The daemon's D-Bus objects (interfaces generated from daemon/org.mhafailback.Supervisor1.xml):
// ManagerObject at /org/mhafailback/Supervisor1 lists clusters; one ClusterObject per cluster at
// /org/mhafailback/Supervisor1/cluster/<escaped name> exposes its view as properties, its requests
// as methods and its transitions as StateChanged. All of it runs on the loop thread.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster_control.hpp"
#include "supervisor1_adaptor.h"

namespace mhafb {

inline constexpr const char* kBusName = "org.mhafailback.Supervisor1";
inline constexpr const char* kManagerPath = "/org/mhafailback/Supervisor1";
inline constexpr const char* kErrorPrefix = "org.mhafailback.Supervisor1.Error.";

// "/org/mhafailback/Supervisor1/cluster/" + the name escaped like systemd does (sd_bus_path_encode:
// every byte outside [A-Za-z0-9] becomes _XX; the empty name becomes "_").
std::string cluster_object_path(const std::string& cluster_name);

// The D-Bus error for an engine error: Invalid → InvalidArgument; Refused, Timeout, Cancelled,
// NotReady and Busy keep their names; everything else → Failed. The message is the engine's sentence.
sdbus::Error to_dbus_error(const Error& error);
sdbus::Error dbus_error(const std::string& name, const std::string& message);

class ClusterObject final : public sdbus::AdaptorInterfaces<org::mhafailback::Supervisor1::Cluster_adaptor> {
 public:
  // `kick` tells the loop that something was queued on the connection outside a D-Bus callback.
  ClusterObject(sdbus::IConnection& connection, ClusterControl& control, std::function<void()> kick);
  ~ClusterObject();

  const std::string& path() const { return path_; }
  // The engine's view changed: emits PropertiesChanged for the properties that differ.
  void publish(const ClusterView& view);
  void state_changed(const std::string& from, const std::string& to, const std::string& reason);
  // Replies to every Failback still waiting with a NotReady error (the daemon is stopping).
  void fail_pending(const std::string& sentence);

 private:
  void Failback(sdbus::Result<>&& result, std::string reason) override;
  void Plan(sdbus::Result<std::vector<std::string>>&& result) override;
  void Rejoin(sdbus::Result<>&& result) override;
  void Abort(sdbus::Result<>&& result) override;
  void SetMode(sdbus::Result<>&& result, std::string mode) override;
  void Acknowledge(sdbus::Result<>&& result) override;

  std::string Name() override;
  std::string State() override;
  std::string Status() override;
  std::string Mode() override;
  std::string Master() override;
  std::string PreferredMaster() override;
  std::string LastError() override;
  std::string Operation() override;

  using Done = ClusterControl::Done;
  // Throws NotReady while the cluster has not finished its first look.
  void require_ready() const;
  // A completion that replies on `result` (kept alive until the engine answers).
  Done reply_to(sdbus::Result<>&& result);

  ClusterControl& control_;
  std::function<void()> kick_;
  std::string path_;
  std::string name_;
  std::optional<ClusterView> published_;
  struct Pending;
  std::shared_ptr<Pending> pending_;  // Failback replies waiting for the operation to end
};

class ManagerObject final : public sdbus::AdaptorInterfaces<org::mhafailback::Supervisor1::Manager_adaptor> {
 public:
  explicit ManagerObject(sdbus::IConnection& connection);
  ~ManagerObject();

  void set_clusters(std::vector<std::string> names);

 private:
  std::vector<sdbus::Struct<std::string, sdbus::ObjectPath>> ListClusters() override;
  std::vector<std::string> Clusters() override;

  std::vector<std::string> names_;
};

}  // namespace mhafb

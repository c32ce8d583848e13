// ClusterObject and ManagerObject (see the header). Handlers throw only sdbus::Error: anything
// else would unwind through sd-bus's C frames and the caller would get NoReply.
#include "dbus_objects.hpp"

#include <systemd/sd-bus.h>

#include <cstdlib>

namespace mhafb {

std::string cluster_object_path(const std::string& cluster_name) {
  char* out = nullptr;
  std::string prefix = std::string(kManagerPath) + "/cluster";
  if (sd_bus_path_encode(prefix.c_str(), cluster_name.c_str(), &out) < 0 || out == nullptr)
    return prefix + "/_";
  std::string path(out);
  std::free(out);
  return path;
}

sdbus::Error dbus_error(const std::string& name, const std::string& message) {
  return sdbus::Error(kErrorPrefix + name, message);
}

sdbus::Error to_dbus_error(const Error& error) {
  switch (error.kind) {
    case ErrorKind::Invalid:
      return dbus_error("InvalidArgument", error.message);
    case ErrorKind::Refused:
      return dbus_error("Refused", error.message);
    case ErrorKind::Timeout:
      return dbus_error("Timeout", error.message);
    case ErrorKind::Cancelled:
      return dbus_error("Cancelled", error.message);
    case ErrorKind::NotReady:
      return dbus_error("NotReady", error.message);
    case ErrorKind::Busy:
      return dbus_error("Busy", error.message);
    default:
      return dbus_error("Failed", error.message);
  }
}

// Failback replies outlive the handler: they wait for the operation to end.
struct ClusterObject::Pending {
  struct Slot {
    std::optional<sdbus::Result<>> result;
  };
  std::vector<std::shared_ptr<Slot>> slots;

  void prune() {
    std::erase_if(slots, [](const auto& s) { return !s->result.has_value(); });
  }
};

ClusterObject::ClusterObject(sdbus::IConnection& connection, ClusterControl& control,
                             std::function<void()> kick)
    : AdaptorInterfaces(connection, cluster_object_path(control.view().name)),
      control_(control),
      kick_(std::move(kick)),
      path_(cluster_object_path(control.view().name)),
      name_(control.view().name),
      pending_(std::make_shared<Pending>()) {
  registerAdaptor();
}

ClusterObject::~ClusterObject() {
  unregisterAdaptor();
}

void ClusterObject::require_ready() const {
  if (!control_.ready())
    throw dbus_error("NotReady", "Cluster " + name_ +
                                     " is still being looked at for the first time since the daemon started; "
                                     "try again in a few seconds.");
}

ClusterObject::Done ClusterObject::reply_to(sdbus::Result<>&& result) {
  auto slot = std::make_shared<Pending::Slot>();
  slot->result.emplace(std::move(result));
  pending_->prune();
  pending_->slots.push_back(slot);
  return [slot, kick = kick_](const mhafb::Status& st) {
    if (!slot->result) return;  // already answered (the daemon is stopping)
    if (st)
      slot->result->returnResults();
    else
      slot->result->returnError(to_dbus_error(st.error()));
    slot->result.reset();
    kick();
  };
}

void ClusterObject::fail_pending(const std::string& sentence) {
  for (auto& slot : pending_->slots) {
    if (!slot->result) continue;
    slot->result->returnError(dbus_error("NotReady", sentence));
    slot->result.reset();
  }
  pending_->slots.clear();
  kick_();
}

void ClusterObject::Failback(sdbus::Result<>&& result, std::string reason) {
  require_ready();
  auto view = control_.view();
  // Refused here, never queued: the slot is taken until the running operation ends.
  if (!view.operation.empty())
    throw dbus_error("Busy", "Cluster " + name_ + " is running " + view.operation +
                                 "; wait for it to end or abort it, then try again.");
  control_.failback(std::move(reason), reply_to(std::move(result)));
}

void ClusterObject::Plan(sdbus::Result<std::vector<std::string>>&& result) {
  require_ready();
  auto shared = std::make_shared<sdbus::Result<std::vector<std::string>>>(std::move(result));
  control_.plan([shared, kick = kick_](mhafb::Result<std::vector<std::string>> steps) {
    if (steps)
      shared->returnResults(*steps);
    else
      shared->returnError(to_dbus_error(steps.error()));
    kick();
  });
}

void ClusterObject::Rejoin(sdbus::Result<>&& result) {
  require_ready();
  auto view = control_.view();
  if (!view.operation.empty())
    throw dbus_error("Busy", "Cluster " + name_ + " is running " + view.operation +
                                 "; wait for it to end or abort it, then try again.");
  auto shared = std::make_shared<sdbus::Result<>>(std::move(result));
  control_.rejoin([shared, kick = kick_](const mhafb::Status& st) {
    if (st)
      shared->returnResults();
    else
      shared->returnError(to_dbus_error(st.error()));
    kick();
  });
}

void ClusterObject::Abort(sdbus::Result<>&& result) {
  require_ready();
  auto shared = std::make_shared<sdbus::Result<>>(std::move(result));
  control_.abort([shared, kick = kick_](const mhafb::Status& st) {
    if (st)
      shared->returnResults();
    else
      shared->returnError(to_dbus_error(st.error()));
    kick();
  });
}

void ClusterObject::SetMode(sdbus::Result<>&& result, std::string mode) {
  require_ready();
  auto parsed = parse_mode(mode);
  if (!parsed)
    throw dbus_error("InvalidArgument", "Mode '" + mode + "' is not one of observe, approve or auto.");
  auto shared = std::make_shared<sdbus::Result<>>(std::move(result));
  control_.set_mode(*parsed, [shared, kick = kick_](const mhafb::Status& st) {
    if (st)
      shared->returnResults();
    else
      shared->returnError(to_dbus_error(st.error()));
    kick();
  });
}

void ClusterObject::Acknowledge(sdbus::Result<>&& result) {
  require_ready();
  auto shared = std::make_shared<sdbus::Result<>>(std::move(result));
  control_.acknowledge([shared, kick = kick_](const mhafb::Status& st) {
    if (st)
      shared->returnResults();
    else
      shared->returnError(to_dbus_error(st.error()));
    kick();
  });
}

std::string ClusterObject::Name() {
  return name_;
}
std::string ClusterObject::State() {
  return std::string(to_string(control_.view().state));
}
std::string ClusterObject::Status() {
  return control_.view().status;
}
std::string ClusterObject::Mode() {
  return std::string(to_string(control_.view().mode));
}
std::string ClusterObject::Master() {
  return control_.view().master;
}
std::string ClusterObject::PreferredMaster() {
  return control_.view().preferred_master;
}
std::string ClusterObject::LastError() {
  return control_.view().last_error;
}
std::string ClusterObject::Operation() {
  return control_.view().operation;
}

void ClusterObject::publish(const ClusterView& v) {
  std::vector<std::string> changed;
  const ClusterView* old = published_ ? &*published_ : nullptr;
  if (!old || old->state != v.state) changed.emplace_back("State");
  if (!old || old->status != v.status) changed.emplace_back("Status");
  if (!old || old->mode != v.mode) changed.emplace_back("Mode");
  if (!old || old->master != v.master) changed.emplace_back("Master");
  if (!old || old->preferred_master != v.preferred_master) changed.emplace_back("PreferredMaster");
  if (!old || old->last_error != v.last_error) changed.emplace_back("LastError");
  if (!old || old->operation != v.operation) changed.emplace_back("Operation");
  published_ = v;
  if (changed.empty()) return;
  getObject().emitPropertiesChangedSignal(INTERFACE_NAME, changed);
  kick_();
}

void ClusterObject::state_changed(const std::string& from, const std::string& to, const std::string& reason) {
  emitStateChanged(from, to, reason);
  kick_();
}

ManagerObject::ManagerObject(sdbus::IConnection& connection) : AdaptorInterfaces(connection, kManagerPath) {
  registerAdaptor();
}

ManagerObject::~ManagerObject() {
  unregisterAdaptor();
}

void ManagerObject::set_clusters(std::vector<std::string> names) {
  if (names == names_) return;
  names_ = std::move(names);
  getObject().emitPropertiesChangedSignal(INTERFACE_NAME, {"Clusters"});
}

std::vector<sdbus::Struct<std::string, sdbus::ObjectPath>> ManagerObject::ListClusters() {
  std::vector<sdbus::Struct<std::string, sdbus::ObjectPath>> out;
  for (const auto& n : names_)
    out.emplace_back(n, sdbus::ObjectPath(cluster_object_path(n)));
  return out;
}

std::vector<std::string> ManagerObject::Clusters() {
  return names_;
}

}  // namespace mhafb

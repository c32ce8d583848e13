// The D-Bus commands of mha-failbackctl (history is in history.cpp).
#include "commands.hpp"

#include <chrono>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

namespace mhafb::ctl {

namespace {

// Requests wait for the tick in flight on the daemon side (a tool run may take minutes).
constexpr auto kRequestTimeout = std::chrono::minutes(10);
// A switch back never runs this long; --wait gives up only then.
constexpr auto kFailbackTimeout = std::chrono::hours(24);

std::string prop(const std::map<std::string, sdbus::Variant>& props, const char* name) {
  auto it = props.find(name);
  if (it == props.end()) return {};
  try {
    return it->second.get<std::string>();
  } catch (const sdbus::Error&) {
    return {};
  }
}

std::string now_text() {
  std::time_t t = std::time(nullptr);
  std::tm local{};
  char buf[32];
  if (::localtime_r(&t, &local) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local) == 0)
    return "?";
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

int cmd_status(Client& client, const CtlArgs& args) {
  static const char* keys[][2] = {{"name", "Name"},
                                  {"state", "State"},
                                  {"mode", "Mode"},
                                  {"master", "Master"},
                                  {"preferred_master", "PreferredMaster"},
                                  {"operation", "Operation"},
                                  {"status", "Status"},
                                  {"last_error", "LastError"}};
  std::vector<std::map<std::string, std::string>> rows;
  for (const auto& c : client.clusters()) {
    std::map<std::string, sdbus::Variant> props;
    try {
      props = client.properties(c.path);
    } catch (const sdbus::Error& e) {
      // Removed by a reload between listing and reading: it is not supervised any more.
      if (e.getName() == "org.freedesktop.DBus.Error.UnknownObject" ||
          e.getName() == "org.freedesktop.DBus.Error.UnknownInterface")
        continue;
      throw;
    }
    std::map<std::string, std::string> row;
    for (const auto& k : keys)
      row[k[0]] = prop(props, k[1]);
    row["name"] = c.name;
    rows.push_back(std::move(row));
  }
  if (args.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows)
      out.push_back(r);
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  if (rows.empty()) {
    std::cout << "No cluster is supervised.\n";
    return kOk;
  }
  const char* heads[] = {"CLUSTER", "STATE", "MODE", "MASTER", "PREFERRED", "OPERATION"};
  const char* cols[] = {"name", "state", "mode", "master", "preferred_master", "operation"};
  std::size_t width[6];
  for (int i = 0; i < 6; ++i) {
    width[i] = std::string(heads[i]).size();
    for (auto& r : rows)
      width[i] = std::max(width[i], (r[cols[i]].empty() ? 1 : r[cols[i]].size()));
  }
  for (int i = 0; i < 6; ++i)
    std::cout << pad(heads[i], width[i] + 2);
  std::cout << "STATUS\n";
  for (auto& r : rows) {
    for (int i = 0; i < 6; ++i)
      std::cout << pad(r[cols[i]].empty() ? "-" : r[cols[i]], width[i] + 2);
    std::cout << r["status"] << "\n";
    if (!r["last_error"].empty()) std::cout << "  last error: " << r["last_error"] << "\n";
  }
  return kOk;
}

int cmd_failback(Client& client, const CtlArgs& args) {
  auto info = client.find(args.cluster);
  auto proxy = client.proxy(info.path);
  auto& conn = client.connection();
  int exit_code = kFailed;
  proxy->uponSignal("StateChanged")
      .onInterface(kClusterInterface)
      .call([&](const std::string& from, const std::string& to, const std::string& reason) {
        std::cout << now_text() << " " << args.cluster << ": " << from << " -> " << to << ": " << reason
                  << std::endl;
      });
  proxy->uponSignal("PropertiesChanged")
      .onInterface("org.freedesktop.DBus.Properties")
      .call([&](const std::string& iface, const std::map<std::string, sdbus::Variant>& changed,
                const std::vector<std::string>&) {
        if (iface != kClusterInterface || args.wait) return;
        auto op = prop(changed, "Operation");
        if (op.empty()) return;
        std::cout << "Failback of " << args.cluster << " started (" << op
                  << "); follow it with: mha-failbackctl watch " << args.cluster << std::endl;
        exit_code = kOk;
        conn.leaveEventLoop();
      });
  proxy->finishRegistration();
  proxy->callMethodAsync("Failback")
      .onInterface(kClusterInterface)
      .withTimeout(kFailbackTimeout)
      .withArguments(args.reason)
      .uponReplyInvoke([&](const sdbus::Error* error) {
        if (error) {
          auto f = failure_from(*error);
          std::cerr << "mha-failbackctl: " << f.message << std::endl;
          exit_code = f.exit_code;
        } else {
          std::cout << "Failback of " << args.cluster
                    << " completed: the master role is back on the preferred "
                    << "master." << std::endl;
          exit_code = kOk;
        }
        conn.leaveEventLoop();
      });
  conn.enterEventLoop();
  return exit_code;
}

int cmd_plan(Client& client, const CtlArgs& args) {
  auto info = client.find(args.cluster);
  auto proxy = client.proxy(info.path);
  std::vector<std::string> steps;
  proxy->callMethod("Plan").onInterface(kClusterInterface).withTimeout(kRequestTimeout).storeResultsTo(steps);
  if (args.json) {
    std::cout << nlohmann::json(steps).dump(2) << "\n";
    return kOk;
  }
  if (steps.empty()) std::cout << "Nothing to do for " << args.cluster << ".\n";
  for (std::size_t i = 0; i < steps.size(); ++i)
    std::cout << pad(std::to_string(i + 1) + ".", 4) << steps[i] << "\n";
  return kOk;
}

int cmd_simple(Client& client, const CtlArgs& args) {
  auto info = client.find(args.cluster);
  auto proxy = client.proxy(info.path);
  std::string done;
  if (args.command == "rejoin") {
    proxy->callMethod("Rejoin").onInterface(kClusterInterface).withTimeout(kRequestTimeout);
    done = "Rejoin of the old master of " + args.cluster + " requested.";
  } else if (args.command == "abort") {
    proxy->callMethod("Abort").onInterface(kClusterInterface).withTimeout(kRequestTimeout);
    done = "Abort requested: the operation on " + args.cluster +
           " stops at its next safe point, before the point of no return.";
  } else if (args.command == "mode") {
    proxy->callMethod("SetMode")
        .onInterface(kClusterInterface)
        .withTimeout(kRequestTimeout)
        .withArguments(args.mode);
    done = "Mode of " + args.cluster + " set to " + args.mode + ".";
  } else {
    proxy->callMethod("Acknowledge").onInterface(kClusterInterface).withTimeout(kRequestTimeout);
    done = args.cluster + " acknowledged: its state is derived again from what is observed.";
  }
  std::cout << done << "\n";
  return kOk;
}

int cmd_watch(Client& client, const CtlArgs& args) {
  std::vector<ClusterInfo> targets;
  if (!args.cluster.empty())
    targets.push_back(client.find(args.cluster));
  else
    targets = client.clusters();
  std::vector<std::unique_ptr<sdbus::IProxy>> proxies;
  for (const auto& t : targets) {
    auto p = client.proxy(t.path);
    std::string name = t.name;
    p->uponSignal("StateChanged")
        .onInterface(kClusterInterface)
        .call([name](const std::string& from, const std::string& to, const std::string& reason) {
          std::cout << now_text() << " " << name << ": state " << from << " -> " << to << ": " << reason
                    << std::endl;
        });
    p->uponSignal("PropertiesChanged")
        .onInterface("org.freedesktop.DBus.Properties")
        .call([name](const std::string& iface, const std::map<std::string, sdbus::Variant>& changed,
                     const std::vector<std::string>&) {
          if (iface != kClusterInterface) return;
          for (const auto& [key, value] : changed) {
            if (key == "State") continue;  // StateChanged says it with the reason
            std::string v;
            try {
              v = value.get<std::string>();
            } catch (const sdbus::Error&) {
              continue;
            }
            std::cout << now_text() << " " << name << ": " << key << " = " << (v.empty() ? "(none)" : v)
                      << std::endl;
          }
        });
    p->finishRegistration();
    proxies.push_back(std::move(p));
  }
  auto manager = client.proxy(kManagerPath);
  manager->uponSignal("PropertiesChanged")
      .onInterface("org.freedesktop.DBus.Properties")
      .call([](const std::string& iface, const std::map<std::string, sdbus::Variant>& changed,
               const std::vector<std::string>&) {
        if (iface != kManagerInterface || !changed.count("Clusters")) return;
        std::string names;
        for (const auto& n : changed.at("Clusters").get<std::vector<std::string>>())
          names += (names.empty() ? "" : ", ") + n;
        std::cout << now_text() << " clusters now supervised: " << (names.empty() ? "(none)" : names)
                  << " (restart watch to follow new ones)" << std::endl;
      });
  manager->finishRegistration();
  // Leave with exit code 3 when the daemon leaves the bus (stopped or crashed).
  int exit_code = kOk;
  auto& conn = client.connection();
  auto bus_proxy = sdbus::createProxy(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  bus_proxy->uponSignal("NameOwnerChanged")
      .onInterface("org.freedesktop.DBus")
      .call([&](const std::string& name, const std::string&, const std::string& new_owner) {
        if (name != kBusName || !new_owner.empty()) return;
        std::cout << now_text() << " mha-failbackd left the bus" << std::endl;
        exit_code = kUnreachable;
        conn.leaveEventLoop();
      });
  bus_proxy->finishRegistration();
  std::cout << "Watching " << (args.cluster.empty() ? "every cluster" : args.cluster) << " (Ctrl-C to stop)."
            << std::endl;
  conn.enterEventLoop();
  return exit_code;
}

}  // namespace mhafb::ctl

// The daemon's D-Bus layer (ClusterObject, ManagerObject, DbusLoop on an asio loop) on a private
// dbus-daemon, driven by a scripted ClusterControl: properties, named errors, the asynchronous
// Failback reply, Busy/NotReady refusals, PropertiesChanged/StateChanged and complete introspection.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include "dbus_loop.hpp"
#include "dbus_objects.hpp"
#include "private_bus.hpp"

namespace mhafb {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

class ScriptedControl final : public ClusterControl {
 public:
  explicit ScriptedControl(ClusterView v) : view_(std::move(v)) {}
  ClusterView view() const override {
    std::lock_guard l(m_);
    return view_;
  }
  void set_view(ClusterView v) {
    std::lock_guard l(m_);
    view_ = std::move(v);
  }
  bool ready() const override { return ready_; }
  void failback(std::string reason, Done done) override {
    std::lock_guard l(m_);
    last_reason = reason;
    pending_failback = std::move(done);
  }
  void plan(PlanDone done) override {
    done(std::vector<std::string>{"SELECT 1 on a:3306", "masterha_check_repl"});
  }
  void rejoin(Done done) override {
    done(Error::refused("Rejoin refused: the old master is not reachable."));
  }
  void abort(Done done) override { done(Error::not_found("No operation is running on cluster c1.")); }
  void set_mode(Mode mode, Done done) override {
    last_mode = mode;
    done({});
  }
  void acknowledge(Done done) override {
    done(Error{ErrorKind::Busy, "Cluster c1 is running failback 42.", 0});
  }

  mutable std::mutex m_;
  ClusterView view_;
  std::atomic<bool> ready_{true};
  std::string last_reason;
  Done pending_failback;
  std::optional<Mode> last_mode;
};

ClusterView base_view(const std::string& name) {
  ClusterView v;
  v.name = name;
  v.state = ClusterState::Validated;
  v.status = "waiting for approval to switch back to db1";
  v.mode = Mode::Approve;
  v.master = "db2";
  v.preferred_master = "db1";
  return v;
}

class DbusObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    control_ = std::make_unique<ScriptedControl>(base_view("c1"));
    server_ = sdbus::createSessionBusConnectionWithAddress(bus_.address());
    manager_ = std::make_unique<ManagerObject>(*server_);
    object_ = std::make_unique<ClusterObject>(*server_, *control_, [this] { loop_->kick(); });
    manager_->set_clusters({"c1"});
    loop_ = std::make_unique<DbusLoop>(io_, *server_, [](const std::string&) {});
    server_->requestName(kBusName);
    loop_->start();
    thread_ = std::thread([this] { io_.run(); });
    client_ = sdbus::createSessionBusConnectionWithAddress(bus_.address());
  }
  void TearDown() override {
    on_loop([this] { loop_->stop(); });
    work_.reset();
    io_.stop();
    thread_.join();
    object_.reset();
    manager_.reset();
  }
  // Runs `f` on the server's loop thread and waits for it.
  void on_loop(std::function<void()> f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }
  std::unique_ptr<sdbus::IProxy> proxy(const std::string& path) {
    return sdbus::createProxy(*client_, kBusName, path);
  }
  std::string path() const { return cluster_object_path("c1"); }

  // Calls `member` synchronously; returns the D-Bus error name ("" on success) and its message.
  std::pair<std::string, std::string> call(const std::string& member, std::optional<std::string> arg = {}) {
    auto p = proxy(path());
    try {
      auto m = p->createMethodCall(ClusterObject::INTERFACE_NAME, member);
      if (arg) m << *arg;
      p->callMethod(m);
      return {"", ""};
    } catch (const sdbus::Error& e) {
      return {e.getName(), e.getMessage()};
    }
  }

  test::PrivateBus bus_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::unique_ptr<ScriptedControl> control_;
  std::unique_ptr<sdbus::IConnection> server_;
  std::unique_ptr<ManagerObject> manager_;
  std::unique_ptr<ClusterObject> object_;
  std::unique_ptr<DbusLoop> loop_;
  std::thread thread_;
  std::unique_ptr<sdbus::IConnection> client_;
};

TEST(ClusterObjectPath, EscapesLikeSystemd) {
  EXPECT_EQ(cluster_object_path("mha"), "/org/mhafailback/Supervisor1/cluster/mha");
  EXPECT_EQ(cluster_object_path("my-app.1"), "/org/mhafailback/Supervisor1/cluster/my_2dapp_2e1");
  EXPECT_EQ(cluster_object_path(""), "/org/mhafailback/Supervisor1/cluster/_");
}

TEST(DbusErrors, EngineKindsMapToNamedErrors) {
  EXPECT_EQ(to_dbus_error(Error::refused("x")).getName(), "org.mhafailback.Supervisor1.Error.Refused");
  EXPECT_EQ(to_dbus_error(Error{ErrorKind::Busy, "x", 0}).getName(),
            "org.mhafailback.Supervisor1.Error.Busy");
  EXPECT_EQ(to_dbus_error(Error{ErrorKind::NotReady, "x", 0}).getName(),
            "org.mhafailback.Supervisor1.Error.NotReady");
  EXPECT_EQ(to_dbus_error(Error::invalid("x")).getName(),
            "org.mhafailback.Supervisor1.Error.InvalidArgument");
  EXPECT_EQ(to_dbus_error(Error::unreachable("x")).getName(), "org.mhafailback.Supervisor1.Error.Failed");
  EXPECT_EQ(to_dbus_error(Error::timeout("late")).getMessage(), "late");
}

TEST_F(DbusObjectsTest, PropertiesReflectTheView) {
  auto p = proxy(path());
  std::map<std::string, sdbus::Variant> props;
  p->callMethod("GetAll")
      .onInterface("org.freedesktop.DBus.Properties")
      .withArguments(std::string(ClusterObject::INTERFACE_NAME))
      .storeResultsTo(props);
  EXPECT_EQ(props.at("Name").get<std::string>(), "c1");
  EXPECT_EQ(props.at("State").get<std::string>(), "validated");
  EXPECT_EQ(props.at("Status").get<std::string>(), "waiting for approval to switch back to db1");
  EXPECT_EQ(props.at("Mode").get<std::string>(), "approve");
  EXPECT_EQ(props.at("Master").get<std::string>(), "db2");
  EXPECT_EQ(props.at("PreferredMaster").get<std::string>(), "db1");
  EXPECT_EQ(props.at("Operation").get<std::string>(), "");
  auto m = proxy(kManagerPath);
  std::vector<std::string> names = m->getProperty("Clusters").onInterface(ManagerObject::INTERFACE_NAME);
  EXPECT_EQ(names, std::vector<std::string>{"c1"});
  std::vector<sdbus::Struct<std::string, sdbus::ObjectPath>> list;
  m->callMethod("ListClusters").onInterface(ManagerObject::INTERFACE_NAME).storeResultsTo(list);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].get<1>(), path());
}

TEST_F(DbusObjectsTest, FailbackRepliesWhenTheOperationEnds) {
  auto async_conn = sdbus::createSessionBusConnectionWithAddress(bus_.address());
  auto p = sdbus::createProxy(*async_conn, kBusName, path());
  p->finishRegistration();
  std::promise<std::string> reply;
  async_conn->enterEventLoopAsync();
  p->callMethodAsync("Failback")
      .onInterface(ClusterObject::INTERFACE_NAME)
      .withArguments(std::string("ticket 7"))
      .uponReplyInvoke([&](const sdbus::Error* e) { reply.set_value(e ? e->getName() : "ok"); });
  auto fut = reply.get_future();
  // The call reached the engine but no reply goes out while the switch runs.
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard l(control_->m_);
      if (control_->pending_failback) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(fut.wait_for(200ms), std::future_status::timeout);
  EXPECT_EQ(control_->last_reason, "ticket 7");
  on_loop([&] { control_->pending_failback({}); });
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get(), "ok");
  async_conn->leaveEventLoop();
}

TEST_F(DbusObjectsTest, FailbackFailureCarriesTheEngineSentence) {
  auto async_conn = sdbus::createSessionBusConnectionWithAddress(bus_.address());
  auto p = sdbus::createProxy(*async_conn, kBusName, path());
  p->finishRegistration();
  std::promise<std::pair<std::string, std::string>> reply;
  async_conn->enterEventLoopAsync();
  p->callMethodAsync("Failback")
      .onInterface(ClusterObject::INTERFACE_NAME)
      .withArguments(std::string(""))
      .uponReplyInvoke([&](const sdbus::Error* e) {
        reply.set_value(e ? std::make_pair(e->getName(), e->getMessage())
                          : std::make_pair(std::string("ok"), std::string()));
      });
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard l(control_->m_);
      if (control_->pending_failback) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  on_loop([&] {
    control_->pending_failback(Error::failed("The switch failed: masterha_master_switch exited 1."));
  });
  auto fut = reply.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  auto [name, message] = fut.get();
  EXPECT_EQ(name, "org.mhafailback.Supervisor1.Error.Failed");
  EXPECT_EQ(message, "The switch failed: masterha_master_switch exited 1.");
  async_conn->leaveEventLoop();
}

TEST_F(DbusObjectsTest, PendingFailbackIsAnsweredWhenTheDaemonStops) {
  auto async_conn = sdbus::createSessionBusConnectionWithAddress(bus_.address());
  auto p = sdbus::createProxy(*async_conn, kBusName, path());
  p->finishRegistration();
  std::promise<std::string> reply;
  async_conn->enterEventLoopAsync();
  p->callMethodAsync("Failback")
      .onInterface(ClusterObject::INTERFACE_NAME)
      .withArguments(std::string("x"))
      .uponReplyInvoke([&](const sdbus::Error* e) { reply.set_value(e ? e->getName() : "ok"); });
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard l(control_->m_);
      if (control_->pending_failback) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  on_loop([&] { object_->fail_pending("mha-failbackd stopped."); });
  auto fut = reply.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get(), "org.mhafailback.Supervisor1.Error.NotReady");
  // The engine's late completion must not reply twice (or crash).
  on_loop([&] { control_->pending_failback({}); });
  async_conn->leaveEventLoop();
}

TEST_F(DbusObjectsTest, SecondTriggerWhileAnOperationRunsIsRefusedAsBusy) {
  auto v = base_view("c1");
  v.operation = "failback 2f3c";
  control_->set_view(v);
  auto [name, message] = call("Failback", std::string("again"));
  EXPECT_EQ(name, "org.mhafailback.Supervisor1.Error.Busy");
  EXPECT_NE(message.find("failback 2f3c"), std::string::npos) << message;
  std::lock_guard l(control_->m_);
  EXPECT_FALSE(control_->pending_failback) << "a refused trigger must never reach the engine";
}

TEST_F(DbusObjectsTest, RequestsBeforeTheFirstLookAreNotReady) {
  control_->ready_ = false;
  for (auto member : {"Failback", "Rejoin", "Abort", "Acknowledge", "Plan"}) {
    auto [name, message] = std::string(member) == "Failback" ? call(member, std::string("r")) : call(member);
    EXPECT_EQ(name, "org.mhafailback.Supervisor1.Error.NotReady") << member;
    EXPECT_FALSE(message.empty());
  }
}

TEST_F(DbusObjectsTest, MethodsAnswerWithTheEngineOutcome) {
  EXPECT_EQ(call("Rejoin").first, "org.mhafailback.Supervisor1.Error.Refused");
  EXPECT_EQ(call("Rejoin").second, "Rejoin refused: the old master is not reachable.");
  EXPECT_EQ(call("Abort").first, "org.mhafailback.Supervisor1.Error.Failed");
  EXPECT_EQ(call("Acknowledge").first, "org.mhafailback.Supervisor1.Error.Busy");
  EXPECT_EQ(call("SetMode", std::string("sometimes")).first,
            "org.mhafailback.Supervisor1.Error.InvalidArgument");
  EXPECT_FALSE(control_->last_mode.has_value());
  EXPECT_EQ(call("SetMode", std::string("auto")).first, "");
  EXPECT_EQ(control_->last_mode, Mode::Auto);
  auto p = proxy(path());
  std::vector<std::string> steps;
  p->callMethod("Plan").onInterface(ClusterObject::INTERFACE_NAME).storeResultsTo(steps);
  EXPECT_EQ(steps, (std::vector<std::string>{"SELECT 1 on a:3306", "masterha_check_repl"}));
}

TEST_F(DbusObjectsTest, ViewChangesAndTransitionsAreSignalled) {
  auto sig_conn = sdbus::createSessionBusConnectionWithAddress(bus_.address());
  auto p = sdbus::createProxy(*sig_conn, kBusName, path());
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> changed_names;
  std::string changed_status;
  std::vector<std::string> transition;
  p->uponSignal("PropertiesChanged")
      .onInterface("org.freedesktop.DBus.Properties")
      .call([&](const std::string& iface, const std::map<std::string, sdbus::Variant>& changed,
                const std::vector<std::string>&) {
        std::lock_guard l(m);
        if (iface != ClusterObject::INTERFACE_NAME) return;
        for (const auto& [k, v] : changed)
          changed_names.push_back(k);
        if (changed.count("Status")) changed_status = changed.at("Status").get<std::string>();
        cv.notify_all();
      });
  p->uponSignal("StateChanged")
      .onInterface(ClusterObject::INTERFACE_NAME)
      .call([&](const std::string& from, const std::string& to, const std::string& reason) {
        std::lock_guard l(m);
        transition = {from, to, reason};
        cv.notify_all();
      });
  p->finishRegistration();
  sig_conn->enterEventLoopAsync();
  std::this_thread::sleep_for(100ms);  // the match rules reach the bus
  auto v = base_view("c1");
  on_loop([&] { object_->publish(v); });  // first publish: everything
  {
    std::unique_lock l(m);
    ASSERT_TRUE(cv.wait_for(l, 5s, [&] { return changed_names.size() >= 7; }));
    changed_names.clear();
  }
  v.status = "switching back to db1";
  v.operation = "failback 99";
  control_->set_view(v);  // PropertiesChanged carries what the getters read now
  on_loop([&] { object_->publish(v); });
  on_loop([&] { object_->state_changed("validated", "switched-back", "masterha_master_switch completed"); });
  std::unique_lock l(m);
  ASSERT_TRUE(cv.wait_for(l, 5s, [&] { return !transition.empty() && !changed_names.empty(); }));
  std::sort(changed_names.begin(), changed_names.end());
  EXPECT_EQ(changed_names, (std::vector<std::string>{"Operation", "Status"}));
  EXPECT_EQ(changed_status, "switching back to db1");
  EXPECT_EQ(transition,
            (std::vector<std::string>{"validated", "switched-back", "masterha_master_switch completed"}));
  l.unlock();
  sig_conn->leaveEventLoop();
}

TEST_F(DbusObjectsTest, IntrospectionNamesEveryMemberAndArgumentOfTheXml) {
  std::ifstream in(MHAFB_SOURCE_DIR "/daemon/org.mhafailback.Supervisor1.xml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string xml = ss.str();
  auto introspect = [&](const std::string& object) {
    auto p = proxy(object);
    std::string out;
    p->callMethod("Introspect").onInterface("org.freedesktop.DBus.Introspectable").storeResultsTo(out);
    return out;
  };
  std::string served = introspect(path()) + introspect(kManagerPath);
  // Every member and argument, in order, as "kind name"; attributes may come in any order.
  auto declarations = [](const std::string& text) {
    std::regex decl(R"re(<(interface|method|property|signal|arg)\b[^>]*\bname="([A-Za-z0-9.]+)")re");
    std::vector<std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), decl), end; it != end; ++it)
      out.push_back((*it)[1].str() + " " + (*it)[2].str());
    return out;
  };
  auto wanted = declarations(xml);
  auto got = declarations(served);
  EXPECT_GE(wanted.size(), 26u);  // 2 interfaces, 9 properties, 7 methods, 1 signal, 7 arguments
  for (const auto& w : wanted)
    EXPECT_NE(std::find(got.begin(), got.end(), w), got.end()) << "not served: " << w;
  // Argument names in the order of the file, per method/signal.
  auto args_of = [](const std::vector<std::string>& decls, const std::string& member) {
    std::vector<std::string> out;
    bool in = false;
    for (const auto& d : decls) {
      if (d.rfind("arg ", 0) == 0) {
        if (in) out.push_back(d);
      } else {
        in = d == member;
      }
    }
    return out;
  };
  for (auto m :
       {"method Failback", "method Plan", "method SetMode", "signal StateChanged", "method ListClusters"})
    EXPECT_EQ(args_of(got, m), args_of(wanted, m)) << m;
}

}  // namespace
}  // namespace mhafb

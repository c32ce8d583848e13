// SupervisedCluster: one ClusterSupervisor driven by the daemon. Its tick() and requests run on the
// cluster's own strand of the worker pool (they block on SQL, SSH and the MHA tools); scheduling,
// results and events come back to the loop thread. The next tick is scheduled after the delay
// tick() returned (0 = at once); a file-watch event or a request asks for one right away.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "cluster_control.hpp"
#include "production_ports.hpp"

namespace mhafb {

struct ClusterCallbacks {
  // All run on the loop thread.
  std::function<void(const std::string& from, const std::string& to, const std::string& reason)>
      state_changed;
  std::function<void(const ClusterView& view)> view_changed;
  std::function<void()> first_tick_done;
};

class SupervisedCluster final : public ClusterControl {
 public:
  using SteadyClock = std::chrono::steady_clock;

  SupervisedCluster(boost::asio::io_context& loop, boost::asio::thread_pool& pool, ClusterConfig config,
                    std::unique_ptr<ClusterPorts> ports, const std::string& state_dir,
                    ClusterCallbacks callbacks);
  ~SupervisedCluster() override;

  const std::string& name() const { return name_; }
  const ClusterConfig& config() const { return config_; }

  void start();
  // The flag file changed (or anything else worth a look): tick as soon as possible.
  void tick_soon();
  // Stops ticking, lets the step in flight finish, persists (request_stop on the strand), then
  // runs `stopped` on the loop thread.
  void stop(std::function<void()> stopped);

  // Watchdog: false when a tick has been running for longer than any step may take.
  bool making_progress(SteadyClock::time_point now) const;
  std::chrono::milliseconds stall_limit() const;

  // ClusterControl
  ClusterView view() const override;
  bool ready() const override { return first_tick_done_; }
  void failback(std::string reason, Done done) override;
  void plan(PlanDone done) override;
  void rejoin(Done done) override;
  void abort(Done done) override;
  void set_mode(Mode mode, Done done) override;
  void acknowledge(Done done) override;

 private:
  void schedule(std::chrono::milliseconds delay);
  void run_tick();
  void tick_finished(std::chrono::milliseconds next);
  // Runs `work` on the strand and `then` with its result on the loop.
  template <class Work>
  void on_strand(Work work);

  boost::asio::io_context& loop_;
  boost::asio::strand<boost::asio::thread_pool::executor_type> strand_;
  boost::asio::steady_timer timer_;
  ClusterConfig config_;
  std::string name_;
  std::unique_ptr<ClusterPorts> ports_;
  ClusterCallbacks callbacks_;
  std::unique_ptr<ClusterSupervisor> supervisor_;
  // Loop-thread state.
  bool ticking_ = false;
  bool tick_again_ = false;
  bool stopping_ = false;
  bool first_tick_done_ = false;
  std::optional<SteadyClock::time_point> tick_started_;
  // Tells callbacks posted from the strand that this object is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mhafb

// SupervisedCluster (see the header).
#include "supervised_cluster.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <exception>

namespace mhafb {

namespace asio = boost::asio;

SupervisedCluster::SupervisedCluster(asio::io_context& loop, asio::thread_pool& pool, ClusterConfig config,
                                     std::unique_ptr<ClusterPorts> ports, const std::string& state_dir,
                                     ClusterCallbacks callbacks)
    : loop_(loop),
      strand_(asio::make_strand(pool.get_executor())),
      timer_(loop),
      config_(std::move(config)),
      name_(config_.name),
      ports_(std::move(ports)),
      callbacks_(std::move(callbacks)) {
  // Engine events fire on the strand; hop to the loop, where the D-Bus objects live.
  SupervisorEvents events;
  std::weak_ptr<bool> alive = alive_;
  events.state_changed = [this, alive](ClusterState from, ClusterState to, const std::string& reason) {
    asio::post(loop_, [this, alive, from, to, reason] {
      if (alive.lock() && callbacks_.state_changed)
        callbacks_.state_changed(std::string(to_string(from)), std::string(to_string(to)), reason);
    });
  };
  events.view_changed = [this, alive](const ClusterView& view) {
    asio::post(loop_, [this, alive, view] {
      if (alive.lock() && callbacks_.view_changed) callbacks_.view_changed(view);
    });
  };
  supervisor_ = std::make_unique<ClusterSupervisor>(config_, ports_->ports(), state_dir, std::move(events));
}

SupervisedCluster::~SupervisedCluster() {
  *alive_ = false;
}

template <class Work>
void SupervisedCluster::on_strand(Work work) {
  asio::post(strand_, [this, work = std::move(work)]() mutable {
    try {
      work();
    } catch (const std::exception& e) {
      // A programming error in the engine: keep the daemon alive, the next tick re-reads everything.
      spdlog::error("cluster {}: unexpected exception: {}", name_, e.what());
    }
  });
}

void SupervisedCluster::start() {
  schedule(std::chrono::milliseconds(0));
}

void SupervisedCluster::schedule(std::chrono::milliseconds delay) {
  if (stopping_) return;
  timer_.expires_after(delay);
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && alive.lock()) run_tick();
  });
}

void SupervisedCluster::tick_soon() {
  if (stopping_) return;
  if (ticking_) {
    tick_again_ = true;
    return;
  }
  schedule(std::chrono::milliseconds(0));
}

void SupervisedCluster::run_tick() {
  if (stopping_) return;
  if (ticking_) {
    tick_again_ = true;
    return;
  }
  ticking_ = true;
  tick_started_ = SteadyClock::now();
  std::weak_ptr<bool> alive = alive_;
  on_strand([this, alive] {
    std::chrono::milliseconds next = config_.timeouts.probe_interval;
    try {
      next = supervisor_->tick();
    } catch (const std::exception& e) {
      spdlog::error("cluster {}: tick failed with an unexpected exception: {}", name_, e.what());
    }
    for (const auto& action : ports_->drain_dry_run())
      spdlog::info("cluster {}: dry run: not executed: {}", name_, action);
    asio::post(loop_, [this, alive, next] {
      if (alive.lock()) tick_finished(next);
    });
  });
}

void SupervisedCluster::tick_finished(std::chrono::milliseconds next) {
  ticking_ = false;
  tick_started_.reset();
  if (!first_tick_done_) {
    first_tick_done_ = true;
    if (callbacks_.first_tick_done) callbacks_.first_tick_done();
  }
  if (tick_again_) {
    tick_again_ = false;
    next = std::chrono::milliseconds(0);
  }
  schedule(next);
}

std::chrono::milliseconds SupervisedCluster::stall_limit() const {
  // The longest a single step may legitimately block: one MHA tool run plus a few SQL round trips
  // and an SSH connect, with a generous margin.
  const auto& t = config_.timeouts;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.tool) + 8 * t.sql_timeout +
         2 * config_.ssh.connect_timeout + std::chrono::milliseconds(60'000);
}

bool SupervisedCluster::making_progress(SteadyClock::time_point now) const {
  return !tick_started_ || now - *tick_started_ < stall_limit();
}

ClusterView SupervisedCluster::view() const {
  return supervisor_->view();
}

namespace {

Error stopping_error(const std::string& name) {
  return Error::refused("mha-failbackd is stopping; cluster " + name + " takes no requests now.");
}

}  // namespace

void SupervisedCluster::failback(std::string reason, Done done) {
  if (stopping_) return done(stopping_error(name_));
  on_strand([this, reason = std::move(reason), done = std::move(done)]() mutable {
    supervisor_->request_failback(
        std::move(reason), [this, done](const Status& st) { asio::post(loop_, [done, st] { done(st); }); });
  });
  tick_soon();
}

void SupervisedCluster::plan(PlanDone done) {
  if (stopping_) return done(stopping_error(name_));
  on_strand([this, done = std::move(done)] {
    auto steps = supervisor_->plan();
    asio::post(loop_, [done, steps = std::move(steps)]() mutable { done(std::move(steps)); });
  });
}

void SupervisedCluster::rejoin(Done done) {
  if (stopping_) return done(stopping_error(name_));
  on_strand([this, done = std::move(done)] {
    auto st = supervisor_->request_rejoin();
    asio::post(loop_, [done, st] { done(st); });
  });
  tick_soon();
}

void SupervisedCluster::abort(Done done) {
  if (stopping_) return done(stopping_error(name_));
  supervisor_->signal_abort();  // any thread: a step in flight stops before its point of no return
  on_strand([this, done = std::move(done)] {
    auto st = supervisor_->request_abort();
    asio::post(loop_, [done, st] { done(st); });
  });
  tick_soon();
}

void SupervisedCluster::set_mode(Mode mode, Done done) {
  if (stopping_) return done(stopping_error(name_));
  on_strand([this, mode, done = std::move(done)] {
    auto st = supervisor_->set_mode(mode);
    asio::post(loop_, [done, st] { done(st); });
  });
  tick_soon();
}

void SupervisedCluster::acknowledge(Done done) {
  if (stopping_) return done(stopping_error(name_));
  on_strand([this, done = std::move(done)] {
    auto st = supervisor_->acknowledge();
    asio::post(loop_, [done, st] { done(st); });
  });
  tick_soon();
}

void SupervisedCluster::stop(std::function<void()> stopped) {
  stopping_ = true;
  timer_.cancel();
  // The strand runs this after the tick in flight: the step finishes, the engine persists.
  on_strand([this, stopped = std::move(stopped)] {
    try {
      supervisor_->request_stop();
    } catch (const std::exception& e) {
      spdlog::error("cluster {}: stopping failed with an unexpected exception: {}", name_, e.what());
    }
    asio::post(loop_, stopped);
  });
}

}  // namespace mhafb

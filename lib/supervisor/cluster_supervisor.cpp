// ClusterSupervisor forwards to ClusterEngine (kept out of the public header).
#include "supervisor/cluster_supervisor.hpp"

#include "supervisor/cluster_engine.hpp"

namespace mhafb {

// Ports is six references (a view of the adapters), cheap to copy and kept by value.
// cppcheck-suppress passedByValue
ClusterSupervisor::ClusterSupervisor(ClusterConfig config, Ports ports, std::string state_dir,
                                     SupervisorEvents events)
    : engine_(std::make_unique<ClusterEngine>(std::move(config), ports, std::move(state_dir),
                                              std::move(events))) {}
ClusterSupervisor::~ClusterSupervisor() = default;

const std::string& ClusterSupervisor::name() const {
  return engine_->config().name;
}
const ClusterConfig& ClusterSupervisor::config() const {
  return engine_->config();
}
std::chrono::milliseconds ClusterSupervisor::tick() {
  return engine_->tick();
}
ClusterView ClusterSupervisor::view() const {
  return engine_->view();
}
void ClusterSupervisor::request_failback(std::string reason, Completion done) {
  engine_->request_failback(std::move(reason), std::move(done));
}
Status ClusterSupervisor::request_rejoin() {
  return engine_->request_rejoin();
}
void ClusterSupervisor::signal_abort() {
  engine_->signal_abort();
}

Status ClusterSupervisor::request_abort() {
  return engine_->request_abort();
}
Status ClusterSupervisor::set_mode(Mode mode) {
  return engine_->set_mode(mode);
}
Status ClusterSupervisor::acknowledge() {
  return engine_->acknowledge();
}
Result<std::vector<std::string>> ClusterSupervisor::plan() {
  return engine_->plan();
}
void ClusterSupervisor::request_stop() {
  engine_->request_stop();
}

}  // namespace mhafb

// ClusterControl: what the D-Bus layer asks of one supervised cluster. Every method is called on
// the loop thread and every callback is delivered on the loop thread, so the D-Bus objects never
// touch a supervisor directly (its ticks run on a thread pool and block on SQL, SSH and tools).
// The daemon implements it over ClusterSupervisor; tests of the D-Bus layer use a scripted one.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "core/state.hpp"
#include "supervisor/cluster_supervisor.hpp"

namespace mhafb {

class ClusterControl {
 public:
  using Done = std::function<void(Status)>;
  using PlanDone = std::function<void(Result<std::vector<std::string>>)>;

  virtual ~ClusterControl() = default;

  virtual ClusterView view() const = 0;
  // False until the first tick finished: requests are refused with NotReady before that.
  virtual bool ready() const = 0;
  // `done` runs when the switch-back operation ends, or at once with a refusal.
  virtual void failback(std::string reason, Done done) = 0;
  virtual void plan(PlanDone done) = 0;
  virtual void rejoin(Done done) = 0;
  // A step in flight sees the abort at once (before its point of no return); the operation is
  // withdrawn on the cluster's own thread and `done` says how it ended.
  virtual void abort(Done done) = 0;
  virtual void set_mode(Mode mode, Done done) = 0;
  virtual void acknowledge(Done done) = 0;
};

}  // namespace mhafb

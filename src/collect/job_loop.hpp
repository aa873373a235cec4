#pragma once
// One job on its schedule (what `serve` runs per job): a cycle at each of the job's starts, never
// two at once, each cycle's calls expiring when the next start comes. A cycle closes at that
// deadline at the latest, so the next start is kept; only a cycle that ends later than that (the
// loop was held up) skips the starts it missed, and says so.
//
// Thread-safety: one executor; Run and Stop from it only. Wall time from the system clock (the
// gateway's calls run on real time too).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "collect/collector.hpp"
#include "collect/schedule.hpp"

namespace kisgate::collect {

// The start to run after a cycle whose successor was due at `following`, now that it ended at
// `now`: `following` itself when the cycle ended by then or within `tolerance` after it (a cycle
// closes at its deadline, which is `following`: that is on time, not an overrun), else the first
// start after `now`.
std::optional<common::WallTime> NextAfterCycle(
    const Schedule& schedule, const config::JobConfig& job, common::WallTime following,
    common::WallTime now, common::Duration tolerance = std::chrono::seconds(1));

struct JobLoopHooks {
  std::function<void(common::WallTime next)> scheduled;
  std::function<void()> started;
  std::function<void(const CycleReport&)> finished;
};

class JobLoop {
 public:
  JobLoop(boost::asio::any_io_executor executor, gate::Gateway& gateway, store::Store* store,
          const Schedule& schedule, const config::JobConfig& job, std::vector<std::string> codes,
          gate::FlowId flow, JobLoopHooks hooks = {});
  ~JobLoop();

  // Until Stop(), or until the job's sessions do not occur in the next 14 days.
  boost::asio::awaitable<void> Run();
  // No new cycle starts; a cycle in progress closes by `close_by` (its codes still running then
  // count as dropped), and Run returns.
  void Stop(common::SteadyTime close_by);

  const config::JobConfig& job() const { return job_; }

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
  const config::JobConfig& job_;
};

}  // namespace kisgate::collect

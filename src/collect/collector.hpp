#pragma once
// One collection cycle of one job: every code's call through the gate (in the job's lane, one
// flow per job), with a deadline at the next cycle's start so superseded work is dropped rather
// than queued; replies become records for the store. And the budget plan: whether the jobs fit
// the keys' rates at all, said plainly.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "store/store.hpp"

namespace kisgate::collect {

struct CycleReport {
  std::string job;
  std::string cycle_time;  // KST YYYYMMDDHHMMSS of the cycle's start
  int planned = 0;
  int ok = 0;
  int failed = 0;
  int dropped = 0;                      // superseded: the next cycle's start came first
  std::map<std::string, int> failures;  // by error code
  std::size_t rows = 0;                 // records handed to the store
  int upstream_calls = 0;               // including the pages of paged data sets
  double seconds = 0;
};

// Lets whoever started a cycle close it before its deadline (shutdown). Thread-safety: the
// cycle's executor only.
class CycleControl {
 public:
  // Codes still running at `by` count as dropped and the cycle returns then (at once when every
  // code has finished before).
  void CloseBy(common::SteadyTime by) {
    close_by_ = by;
    if (on_close_) on_close_(by);
  }
  // For RunEachCode: what to do when asked to close, while a cycle runs.
  void Attach(std::function<void(common::SteadyTime)> on_close) { on_close_ = std::move(on_close); }
  std::optional<common::SteadyTime> close_by() const { return close_by_; }

 private:
  std::optional<common::SteadyTime> close_by_;
  std::function<void(common::SteadyTime)> on_close_;
};

struct CycleSpec {
  const config::JobConfig* job;
  gate::FlowId flow = 0;
  common::WallTime start;                   // the cycle's scheduled start (wall clock, for keys)
  common::SteadyTime deadline;              // the next cycle's start
  std::shared_ptr<CycleControl> control{};  // optional: to close the cycle early
};

using Progress = std::function<void(int done, int planned)>;

// Always finishes: when every code has finished, or at `spec.deadline` at the latest (codes still
// running then count as dropped; their calls expire at that same deadline). A code whose coroutine
// throws counts as failed ("exception"). Paged data sets store each page as it arrives and resume
// from what is stored.
boost::asio::awaitable<CycleReport> RunCycle(gate::Gateway& gateway, store::Store* store,
                                             const std::vector<std::string>& codes, CycleSpec spec,
                                             Progress progress = nullptr);

// The join under RunCycle, for tests: starts `task` for every code at once and returns when each
// has finished (whether it suspended or not) or `deadline` passed, whichever is first. A task
// returns "" on success or an error code; the report it gets outlives a cycle that returned at
// the deadline. A task that throws is logged and counts as failed with code "exception".
using CodeTask = std::function<boost::asio::awaitable<std::string>(
    std::string code, std::shared_ptr<CycleReport> report)>;
boost::asio::awaitable<CycleReport> RunEachCode(const std::vector<std::string>& codes,
                                                CycleReport report, common::SteadyTime deadline,
                                                CodeTask task, Progress progress = nullptr,
                                                std::shared_ptr<CycleControl> control = nullptr);

// Calls per second the jobs need against what the keys give; a message when they do not fit,
// e.g. "2,700 codes x 4 data sets every 5 min needs 36/s; 1 key gives 17.5/s: ...".
struct Plan {
  double needed_per_s = 0;
  double available_per_s = 0;
  bool fits = true;
  std::string message;
};
Plan PlanBudget(const config::Config& config, std::size_t codes);

// The config's jobs against KIS's catalogue of TRs, which config/ does not see: a job on a
// real-only TR (the after-hours prices) with only mock keys would be answered EGW02006 for every
// code of every cycle. The commands that run jobs call it right after loading the config and
// refuse to start on a problem, which names the job's config key ("jobs[0] 'after': data set
// overtime_price (FHPST02300000) is real-only, and key 'paper' is a mock key ..."); nullopt when
// every job can work.
std::optional<std::string> CheckJobs(const config::Config& config);

}  // namespace kisgate::collect

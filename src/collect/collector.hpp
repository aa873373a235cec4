#pragma once
// One collection cycle of one job: every code's call through the gate (in the job's lane, one
// flow per job), with a deadline at the next cycle's start so superseded work is dropped rather
// than queued; replies become records for the store. And the budget plan: whether the jobs fit
// the keys' rates at all, said plainly.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "store/sqlite_store.hpp"

namespace kisgate::collect {

struct CycleReport {
  std::string job;
  std::string cycle_time;  // KST YYYYMMDDHHMMSS of the cycle's start
  int planned = 0;
  int ok = 0;
  int failed = 0;
  int dropped = 0;  // superseded: the next cycle's start came first
  std::map<std::string, int> failures;  // by error code
  std::size_t rows = 0;  // records handed to the store
  int upstream_calls = 0;  // including the pages of paged data sets
  double seconds = 0;
};

struct CycleSpec {
  const config::JobConfig* job;
  gate::FlowId flow = 0;
  common::WallTime start;          // the cycle's scheduled start (wall clock, for keys)
  common::SteadyTime deadline;     // the next cycle's start
};

using Progress = std::function<void(int done, int planned)>;

boost::asio::awaitable<CycleReport> RunCycle(gate::Gateway& gateway, store::SqliteStore* store,
                                             const std::vector<std::string>& codes, CycleSpec spec,
                                             Progress progress = nullptr);

// Calls per second the jobs need against what the keys give; a message when they do not fit,
// e.g. "2,700 codes x 4 data sets every 5 min needs 36/s; 1 key gives 17.5/s: ...".
struct Plan {
  double needed_per_s = 0;
  double available_per_s = 0;
  bool fits = true;
  std::string message;
};
Plan PlanBudget(const config::Config& config, std::size_t codes);

}  // namespace kisgate::collect

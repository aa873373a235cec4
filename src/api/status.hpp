#pragma once
// What /v1/jobs, /v1/budget, /metrics and the dashboard show: each job's recent cycles (JobsBoard,
// fed by the scheduler) and the gate's recent rates and waits (Sampler, one snapshot a second:
// counters are cumulative, so calls/s and wait percentiles come from differences).
//
// Thread-safety: none; both live on the io_context's thread, like the gateway.

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "collect/collector.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "store/sqlite_store.hpp"

namespace kisgate::api {

struct JobTotals {
  std::uint64_t cycles = 0, ok = 0, failed = 0, dropped = 0, rows = 0;
};

struct JobStatus {
  config::JobConfig job;
  std::size_t codes = 0;
  bool running = false;
  std::optional<common::WallTime> next_run;
  std::optional<common::WallTime> last_finished;
  JobTotals totals;
  std::deque<collect::CycleReport> recent;  // oldest first
};

class JobsBoard {
 public:
  static constexpr std::size_t kRecent = 20;

  void Register(const config::JobConfig& job, std::size_t codes);
  void Scheduled(const std::string& job, common::WallTime next_run);
  void Started(const std::string& job);
  void Finished(const collect::CycleReport& report, common::WallTime now);

  const std::vector<JobStatus>& jobs() const { return jobs_; }
  // What keeps collection from being ready, for /readyz: each job whose last kDeadCycles cycles
  // all failed every code (a dead key, a refused token), named with its most frequent error.
  static constexpr std::size_t kDeadCycles = 3;
  std::vector<std::string> Problems() const;
  // The /v1/jobs document; freshness per data set from the store's ages.
  boost::json::object Json(common::WallTime now, const std::vector<store::Freshness>& ages) const;

 private:
  JobStatus* Find(const std::string& name);
  std::vector<JobStatus> jobs_;
};

// Freshness of one data set: how many values are held and how old they are.
struct DatasetFreshness {
  std::string dataset;
  std::size_t values = 0;
  double oldest_s = 0, median_s = 0, newest_s = 0;
};
std::vector<DatasetFreshness> SummariseFreshness(const std::vector<store::Freshness>& ages);

// Rates and wait percentiles over recent seconds, per key and lane.
struct LaneRecent {
  double calls_per_second = 0;  // admitted over the last second
  std::optional<double> wait_p50_ms, wait_p99_ms;  // over the last 10 s; none without admissions
};
struct KeyRecent {
  double calls_per_second = 0;  // upstream requests over the last second
  std::array<LaneRecent, gate::kLaneCount> lanes;
};

class Sampler {
 public:
  static constexpr std::size_t kWindow = 10;  // seconds of wait history

  // Records one snapshot; call about once a second.
  void Sample(const gate::GatewayStats& stats, common::SteadyTime now);
  // Per key, in the gateway's key order; empty before two samples.
  const std::vector<KeyRecent>& recent() const { return recent_; }

 private:
  struct Point {
    common::SteadyTime at;
    gate::GatewayStats stats;
  };
  std::deque<Point> points_;
  std::vector<KeyRecent> recent_;
};

// The value at quantile q (0..1) of a wait histogram (kWaitBucketsMs bounds, not cumulative),
// interpolated inside its bucket; nullopt when empty.
std::optional<double> HistogramQuantileMs(const std::array<std::uint64_t, gate::kWaitBucketCount>& buckets,
                                          double q);

// The /v1/budget document.
boost::json::object BudgetJson(const config::Config& config, const gate::GatewayStats& stats,
                               const std::vector<KeyRecent>& recent, common::WallTime now, double uptime_s);

}  // namespace kisgate::api

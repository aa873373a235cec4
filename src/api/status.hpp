#pragma once
// What /v1/budget, /metrics and the dashboard show of the gate: its recent rates and waits
// (Sampler, one snapshot a second: counters are cumulative, so calls/s and wait percentiles come
// from differences). The jobs' side (/v1/jobs) is api/jobs_document.hpp, from the scheduler's
// state.
//
// Thread-safety: none; it lives on the io_context's thread, like the gateway.

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include <boost/json/object.hpp>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"

namespace kisgate::api {

// Rates and wait percentiles over recent seconds, per key and lane.
struct LaneRecent {
  double calls_per_second = 0;                     // admitted over the last second
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
std::optional<double> HistogramQuantileMs(
    const std::array<std::uint64_t, gate::kWaitBucketCount>& buckets, double q);

// The /v1/budget document.
boost::json::object BudgetJson(const config::Config& config, const gate::GatewayStats& stats,
                               const std::vector<KeyRecent>& recent, common::WallTime now,
                               double uptime_s);

}  // namespace kisgate::api

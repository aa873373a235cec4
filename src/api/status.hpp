#pragma once
// The status routes (StatusHandler): /healthz, /readyz, /v1/budget, /v1/jobs, /metrics and
// /openapi.json. What /v1/budget and the dashboard show of the gate: its recent rates and waits
// (Sampler, one snapshot a second: counters are cumulative, so calls/s and wait percentiles come
// from differences). The jobs' side (/v1/jobs) is api/jobs_document.hpp, from the scheduler's
// state; each module's families of /metrics come from that module (MetricsSource).
//
// Thread-safety: none; it lives on the io_context's thread, like the gateway.

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include <functional>
#include <string>

#include <boost/json/object.hpp>

#include "api/metrics.hpp"
#include "common/clock.hpp"
#include "common/jobs_snapshot.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "http/message.hpp"
#include "store/store.hpp"
#include "stream/hub.hpp"

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

struct Route;

struct StatusDeps {
  const config::Config* config = nullptr;
  gate::Gateway* gateway = nullptr;
  store::Store* store = nullptr;  // may be null
  // The scheduled jobs' state, taken at each request; may be empty: /v1/jobs then lists none.
  std::function<common::JobsSnapshot()> jobs;
  const common::Clock* clock = nullptr;
  // The other modules' families of /metrics, before the API's own and the process's (the
  // service's list: sources are added after the handler is made).
  const std::vector<MetricsSource>* metrics = nullptr;
  const ApiCounters* counters = nullptr;
  stream::Hub* hub = nullptr;  // may be null: /v1/budget then has no `stream`
  // /v1/budget: the `stream` object of each key by key name; may be empty.
  std::function<boost::json::object(const std::string& key)> stream_status;
};

class StatusHandler {
 public:
  explicit StatusHandler(StatusDeps deps);
  // The answer of a status route (routes.hpp: kHealth, kReady, kMetrics, kOpenApi, kJobs,
  // kBudget).
  http::Response Handle(const Route& route);
  // Takes one snapshot of the gate for /v1/budget's rates; the app calls it every second.
  void Sample();

 private:
  http::Response Ready() const;
  http::Response Metrics() const;
  http::Response Budget() const;

  StatusDeps deps_;
  Sampler sampler_;
  common::SteadyTime started_;
};

}  // namespace kisgate::api

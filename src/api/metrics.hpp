#pragma once
// GET /metrics: the API's own counters and the process's, and how the other modules' families
// reach the handler. Each module writes the families of the stats it owns into one
// common::MetricsWriter (gate/metrics.hpp, collect/metrics.hpp, store/metrics.hpp,
// http/metrics.hpp, stream/metrics.hpp); the app hands the service one MetricsSource per module
// (ServiceDeps::metrics), so the API names none of the modules it does not call.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/metrics_writer.hpp"
#include "gate/gateway.hpp"

namespace kisgate::api {

// Upper bounds (seconds) of the API latency histogram.
inline constexpr std::array<double, 12> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

struct RouteStats {
  std::map<int, std::uint64_t> by_status;
  std::array<std::uint64_t, kLatencyBuckets.size() + 1> latency{};  // not cumulative; last = +Inf
  double latency_sum_s = 0;
  std::uint64_t count = 0;
};

struct ApiCounters {
  std::map<std::string, RouteStats, std::less<>>
      routes;  // by route template ("/v1/stocks/{code}/price")
  std::map<std::string, std::uint64_t, std::less<>> by_source;  // cache, stream, store, kis
  std::uint64_t stale = 0;                                      // answered with a stale value
  std::uint64_t malformed_replies = 0;   // KIS replies that could not be read
  std::uint64_t unreadable_values = 0;   // stored values that could not be read (502)
  std::uint64_t handler_exceptions = 0;  // requests whose handler threw (answered 500)
  std::uint64_t recent_values = 0;       // gauge: values held for codes outside the universe
  std::map<std::string, std::uint64_t> passthrough;  // forwarded, refused, unauthorized, tokens

  void Record(std::string_view route, int status, double seconds);
};

struct ProcessStats {
  double cpu_seconds = 0;
  std::uint64_t resident_bytes = 0;
  double start_time_s = 0;  // unix time
  std::uint64_t open_fds = 0;
};
ProcessStats ReadProcessStats();  // from /proc/self; zeros where unreadable

// Writes one module's families of /metrics, read at the time of the scrape.
using MetricsSource = std::function<void(common::MetricsWriter&)>;

// kisgate_api_*, kisgate_passthrough_requests_total and kisgate_kis_malformed_replies_total: the
// replies the gate classified as malformed (`gate`) plus the ones the API could not read after an
// ok.
void WriteMetrics(common::MetricsWriter& w, const ApiCounters& api, const gate::GatewayStats& gate);
// kisgate_process_*.
void WriteMetrics(common::MetricsWriter& w, const ProcessStats& process);

}  // namespace kisgate::api

#pragma once
// GET /metrics: Prometheus text exposition format 0.0.4 of the gate, collection, freshness, store,
// API and process. Names follow Prometheus conventions: a kisgate_ prefix, base units (seconds,
// bytes) in the name, _total on counters. Written by hand: it is a line format with one escaping
// rule, and no Debian package provides a C++ client for it.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api/status.hpp"
#include "collect/jobs_board.hpp"
#include "http/server.hpp"
#include "store/store.hpp"
#include "stream/hub.hpp"

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

struct MetricsInput {
  const config::Config* config = nullptr;
  const gate::GatewayStats* gate = nullptr;
  const collect::JobsBoard* jobs = nullptr;
  const std::vector<store::Freshness>* ages = nullptr;
  const store::StoreCounters* store = nullptr;
  const ApiCounters* api = nullptr;
  const http::ServerCounters* http = nullptr;
  const stream::HubCounters* hub = nullptr;  // null: no real-time fan-out in this process
  ProcessStats process;
};

std::string RenderMetrics(const MetricsInput& in);

// Label value escaping of the text format: backslash, double quote and newline.
std::string EscapeLabel(std::string_view value);

}  // namespace kisgate::api

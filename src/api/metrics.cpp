#include "api/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace kisgate::api {

void ApiCounters::Record(std::string_view route, int status, double seconds) {
  auto it = routes.find(route);
  if (it == routes.end()) it = routes.emplace(std::string(route), RouteStats{}).first;
  auto& r = it->second;
  r.by_status[status]++;
  r.count++;
  r.latency_sum_s += seconds;
  std::size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  r.latency[i]++;
}

ProcessStats ReadProcessStats() {
  ProcessStats p;
  const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name (which may hold spaces) start at the last ')'.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::vector<std::string> f;
    for (std::string x; rest >> x;) f.push_back(x);
    // f[0] is field 3 (state): utime = field 14, stime = 15, starttime = 22, rss = 24.
    if (f.size() > 21) {
      p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      p.resident_bytes = std::stoull(f[21]) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
      std::ifstream uptime_file("/proc/uptime");
      double uptime = 0;
      uptime_file >> uptime;
      const double boot = static_cast<double>(::time(nullptr)) - uptime;
      p.start_time_s = boot + std::stod(f[19]) / ticks;
    }
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (auto* e = ::readdir(d)) {
      if (e->d_name[0] != '.') p.open_fds++;
    }
    ::closedir(d);
    if (p.open_fds > 0) p.open_fds--;  // the directory stream itself
  }
  return p;
}

void WriteMetrics(common::MetricsWriter& w, const ApiCounters& api,
                  const gate::GatewayStats& gate) {
  using common::MetricType;
  w.Family("kisgate_api_requests_total", MetricType::kCounter,
           "API requests by route and HTTP status.");
  for (const auto& [route, r] : api.routes) {
    for (const auto& [status, n] : r.by_status) {
      w.Sample("kisgate_api_requests_total", {{"route", route}, {"status", std::to_string(status)}},
               static_cast<double>(n));
    }
  }
  w.Family("kisgate_api_request_duration_seconds", MetricType::kHistogram,
           "Time from request to response, by route.");
  for (const auto& [route, r] : api.routes) {
    w.Histogram("kisgate_api_request_duration_seconds", {{"route", route}}, kLatencyBuckets,
                r.latency, r.latency_sum_s);
  }
  w.Family("kisgate_api_responses_by_source_total", MetricType::kCounter,
           "Stock data answers by where the value came from.");
  for (const auto& [source, n] : api.by_source)
    w.Sample("kisgate_api_responses_by_source_total", {{"source", source}}, static_cast<double>(n));
  w.Counter("kisgate_api_stale_responses_total",
            "Answers that served a stale value because KIS could not answer in time.",
            static_cast<double>(api.stale));
  w.Counter(
      "kisgate_api_handler_exceptions_total",
      "Requests whose handler failed with an exception (answered 500; the server kept serving).",
      static_cast<double>(api.handler_exceptions));
  w.Gauge("kisgate_api_recent_values",
          "Values of codes outside the universe held in memory (bounded; never stored).",
          static_cast<double>(api.recent_values));
  // Replies the gate classified as malformed, plus the ones the API could not parse after an ok.
  std::uint64_t malformed = api.malformed_replies;
  for (const auto& s : gate.keys) {
    auto it = s.errors.find(std::string(common::Name(common::Errc::kMalformedReply)));
    if (it != s.errors.end()) malformed += it->second;
  }
  w.Counter("kisgate_kis_malformed_replies_total", "KIS replies kisgate could not read.",
            static_cast<double>(malformed));
  w.Counter("kisgate_api_unreadable_values_total",
            "Stored values the API could not read (answered 502).",
            static_cast<double>(api.unreadable_values));
  w.Family("kisgate_passthrough_requests_total", MetricType::kCounter,
           "Passthrough requests by outcome.");
  for (const auto& [outcome, n] : api.passthrough)
    w.Sample("kisgate_passthrough_requests_total", {{"outcome", outcome}}, static_cast<double>(n));
}

void WriteMetrics(common::MetricsWriter& w, const ProcessStats& process) {
  w.Counter("kisgate_process_cpu_seconds_total", "User and system CPU time of the process.",
            process.cpu_seconds);
  w.Gauge("kisgate_process_resident_memory_bytes", "Resident memory of the process.",
          static_cast<double>(process.resident_bytes));
  w.Gauge("kisgate_process_start_time_seconds", "When the process started (unix time).",
          process.start_time_s);
  w.Gauge("kisgate_process_open_fds", "Open file descriptors.",
          static_cast<double>(process.open_fds));
}

}  // namespace kisgate::api

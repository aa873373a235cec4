#include "api/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "common/error.hpp"
#include "gate/budget.hpp"
#include "kis/errors.hpp"

namespace kisgate::api {

namespace {

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// One metric family at a time: HELP and TYPE once, then samples.
class Writer {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void Sample(std::string_view name, const Labels& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i != 0) out_ += ',';
        out_ += fmt::format("{}=\"{}\"", labels[i].first, EscapeLabel(labels[i].second));
      }
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string Le(double bound) { return fmt::format("{}", bound); }

}  // namespace

std::string EscapeLabel(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

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

std::string RenderMetrics(const MetricsInput& in) {
  Writer w;
  if (in.gate != nullptr && in.config != nullptr) {
    const auto& keys = in.gate->keys;
    auto per_key = [&](std::string_view name, std::string_view type, std::string_view help,
                       auto value) {
      w.Family(name, type, help);
      for (std::size_t k = 0; k < keys.size(); ++k)
        w.Sample(name, {{"key", keys[k].name}}, value(k, keys[k]));
    };
    per_key("kisgate_gate_rate_limit_calls_per_second", "gauge",
            "Calls per second KIS allows the key (configured).",
            [&](std::size_t k, const gate::KeyStats&) {
              return k < in.config->keys.size() ? in.config->keys[k].rate : 0;
            });
    per_key("kisgate_gate_planned_rate_calls_per_second", "gauge",
            "Rate the gate plans for (limit x safety).",
            [](std::size_t, const gate::KeyStats& s) { return s.budget.max_rate; });
    per_key("kisgate_gate_current_rate_calls_per_second", "gauge",
            "Rate the gate admits now (after AIMD cuts).",
            [](std::size_t, const gate::KeyStats& s) { return s.budget.rate; });
    per_key("kisgate_gate_in_flight_calls", "gauge", "Calls sent to KIS and not yet answered.",
            [](std::size_t, const gate::KeyStats& s) {
              return static_cast<double>(s.budget.in_flight);
            });
    per_key("kisgate_gate_in_flight_limit_calls", "gauge", "The adaptive in-flight cap.",
            [](std::size_t, const gate::KeyStats& s) {
              return static_cast<double>(s.budget.in_flight_limit);
            });
    per_key("kisgate_gate_cooldowns_total", "counter", "Cooldowns of the key after EGW00201.",
            [](std::size_t, const gate::KeyStats& s) {
              return static_cast<double>(s.budget.cooldowns);
            });
    per_key("kisgate_gate_calls_total", "counter",
            "Calls routed to the key (one per caller request).",
            [](std::size_t, const gate::KeyStats& s) { return static_cast<double>(s.calls); });
    per_key("kisgate_gate_upstream_requests_total", "counter",
            "HTTP requests sent to KIS (retries and tokens included).",
            [](std::size_t, const gate::KeyStats& s) { return static_cast<double>(s.upstream); });
    per_key("kisgate_gate_ok_total", "counter", "Calls answered successfully.",
            [](std::size_t, const gate::KeyStats& s) { return static_cast<double>(s.ok); });
    per_key("kisgate_gate_retries_total", "counter", "Retries sent after a retryable error.",
            [](std::size_t, const gate::KeyStats& s) { return static_cast<double>(s.retries); });
    per_key("kisgate_gate_failed_total", "counter", "Calls that ended in an error.",
            [](std::size_t, const gate::KeyStats& s) { return static_cast<double>(s.failed); });
    per_key("kisgate_token_valid", "gauge", "1 when the key holds an unexpired access token.",
            [](std::size_t, const gate::KeyStats& s) { return s.token_valid ? 1.0 : 0.0; });
    per_key(
        "kisgate_token_expiry_timestamp_seconds", "gauge",
        "When the key's token expires (unix time).", [](std::size_t, const gate::KeyStats& s) {
          return s.token_valid
                     ? std::chrono::duration<double>(s.token_expires_at.time_since_epoch()).count()
                     : 0.0;
        });
    per_key(
        "kisgate_tokens_issued_total", "counter", "Access tokens issued by KIS for the key.",
        [](std::size_t, const gate::KeyStats& s) { return static_cast<double>(s.tokens_issued); });

    w.Family("kisgate_gate_errors_total", "counter", "Errors by KIS code or transport error.");
    for (const auto& s : keys) {
      // Unknown KIS codes share one "other" series (kis::MetricCode): KIS cannot add series.
      std::map<std::string_view, std::uint64_t> bounded;
      for (const auto& [code, n] : s.errors) bounded[kis::MetricCode(code)] += n;
      for (const auto& [code, n] : bounded)
        w.Sample("kisgate_gate_errors_total", {{"key", s.name}, {"code", std::string(code)}},
                 static_cast<double>(n));
    }
    auto per_lane = [&](std::string_view name, std::string_view type, std::string_view help,
                        auto value) {
      w.Family(name, type, help);
      for (const auto& s : keys) {
        for (std::size_t lane = 0; lane < gate::kLaneCount; ++lane) {
          w.Sample(name,
                   {{"key", s.name},
                    {"lane", std::string(gate::LaneName(static_cast<gate::Lane>(lane)))}},
                   value(s.budget.lanes[lane]));
        }
      }
    };
    per_lane("kisgate_gate_queued_calls", "gauge", "Calls waiting for admission.",
             [](const gate::LaneSnapshot& l) { return static_cast<double>(l.queued); });
    per_lane("kisgate_gate_admitted_total", "counter", "Calls admitted (dispatched) by the gate.",
             [](const gate::LaneSnapshot& l) { return static_cast<double>(l.admitted); });
    per_lane("kisgate_gate_expired_total", "counter",
             "Calls whose deadline passed before admission (no budget spent).",
             [](const gate::LaneSnapshot& l) { return static_cast<double>(l.expired); });
    per_lane("kisgate_gate_promoted_total", "counter",
             "Queued calls promoted into this lane by an interactive joiner.",
             [](const gate::LaneSnapshot& l) { return static_cast<double>(l.promoted_in); });

    w.Family("kisgate_gate_wait_seconds", "histogram",
             "Time calls waited in the gate before dispatch.");
    for (const auto& s : keys) {
      for (std::size_t lane = 0; lane < gate::kLaneCount; ++lane) {
        const auto& l = s.budget.lanes[lane];
        const std::string lane_name(gate::LaneName(static_cast<gate::Lane>(lane)));
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < gate::kWaitBucketsMs.size(); ++b) {
          cumulative += l.wait_buckets[b];
          w.Sample(
              "kisgate_gate_wait_seconds_bucket",
              {{"key", s.name}, {"lane", lane_name}, {"le", Le(gate::kWaitBucketsMs[b] / 1000.0)}},
              static_cast<double>(cumulative));
        }
        cumulative += l.wait_buckets.back();
        w.Sample("kisgate_gate_wait_seconds_bucket",
                 {{"key", s.name}, {"lane", lane_name}, {"le", "+Inf"}},
                 static_cast<double>(cumulative));
        w.Sample("kisgate_gate_wait_seconds_sum", {{"key", s.name}, {"lane", lane_name}},
                 std::chrono::duration<double>(l.wait_sum).count());
        w.Sample("kisgate_gate_wait_seconds_count", {{"key", s.name}, {"lane", lane_name}},
                 static_cast<double>(cumulative));
      }
    }
    w.Family("kisgate_gate_coalesced_total", "counter",
             "Calls that shared an identical call already in flight.");
    w.Sample("kisgate_gate_coalesced_total", {}, static_cast<double>(in.gate->coalesced));
    w.Family("kisgate_gate_retry_budget_exhausted_total", "counter",
             "Retries refused by the retry budget.");
    w.Sample("kisgate_gate_retry_budget_exhausted_total", {},
             static_cast<double>(in.gate->retry_budget_exhausted));

    const auto& co = in.gate->coordination;
    w.Family("kisgate_coordination_mode", "gauge",
             "1 for the mode this instance is in: single (no [coordination]), shared (the keys' "
             "budgets in Redis) or fallback (Redis unreachable or slow: a local share).");
    for (auto mode :
         {gate::CoordinationStats::Mode::kSingle, gate::CoordinationStats::Mode::kShared,
          gate::CoordinationStats::Mode::kFallback}) {
      w.Sample("kisgate_coordination_mode", {{"mode", std::string(gate::ModeName(mode))}},
               co.mode == mode ? 1 : 0);
    }
    w.Family("kisgate_coordination_instances", "gauge",
             "kisgate instances last seen alive on the shared keys, this one included.");
    w.Sample("kisgate_coordination_instances", {}, co.instances);
    w.Family("kisgate_coordination_fallbacks_total", "counter",
             "Times this instance fell back to its local share of the keys' rates.");
    w.Sample("kisgate_coordination_fallbacks_total", {}, static_cast<double>(co.fallbacks));
  }

  if (in.jobs != nullptr) {
    const auto& jobs = in.jobs->jobs();
    auto per_job = [&](std::string_view name, std::string_view type, std::string_view help,
                       auto value) {
      w.Family(name, type, help);
      for (const auto& j : jobs)
        w.Sample(name, {{"job", j.job.name}, {"dataset", j.job.dataset}}, value(j));
    };
    per_job("kisgate_collect_cycles_total", "counter", "Collection cycles finished.",
            [](const collect::JobStatus& j) { return static_cast<double>(j.totals.cycles); });
    per_job("kisgate_collect_rows_total", "counter", "Records handed to the store.",
            [](const collect::JobStatus& j) { return static_cast<double>(j.totals.rows); });
    per_job(
        "kisgate_collect_skipped_starts_total", "counter",
        "Starts skipped because the job's previous cycle ran past them.",
        [](const collect::JobStatus& j) { return static_cast<double>(j.totals.skipped_starts); });
    per_job("kisgate_collect_running", "gauge", "1 while a cycle of the job runs.",
            [](const collect::JobStatus& j) { return j.running ? 1.0 : 0.0; });
    per_job("kisgate_collect_last_cycle_duration_seconds", "gauge",
            "Duration of the job's last cycle.", [](const collect::JobStatus& j) {
              return j.recent.empty() ? 0.0 : j.recent.back().seconds;
            });
    per_job(
        "kisgate_collect_last_cycle_end_timestamp_seconds", "gauge",
        "When the job's last cycle ended (unix time).", [](const collect::JobStatus& j) {
          return j.last_finished
                     ? std::chrono::duration<double>(j.last_finished->time_since_epoch()).count()
                     : 0.0;
        });
    w.Family("kisgate_collect_calls_total", "counter",
             "Per-code calls of collection cycles by result.");
    for (const auto& j : jobs) {
      for (auto [result, n] : {std::pair{"ok", j.totals.ok},
                               {"failed", j.totals.failed},
                               {"dropped", j.totals.dropped}}) {
        w.Sample("kisgate_collect_calls_total",
                 {{"job", j.job.name}, {"dataset", j.job.dataset}, {"result", result}},
                 static_cast<double>(n));
      }
    }
  }

  if (in.ages != nullptr) {
    const auto summary = collect::SummariseFreshness(*in.ages);
    w.Family("kisgate_data_values", "gauge", "Values held per data set (one per code).");
    for (const auto& f : summary)
      w.Sample("kisgate_data_values", {{"dataset", f.dataset}}, static_cast<double>(f.values));
    w.Family("kisgate_data_age_seconds", "gauge",
             "Age of the held values per data set: oldest, median, newest.");
    for (const auto& f : summary) {
      w.Sample("kisgate_data_age_seconds", {{"dataset", f.dataset}, {"stat", "oldest"}},
               f.oldest_s);
      w.Sample("kisgate_data_age_seconds", {{"dataset", f.dataset}, {"stat", "median"}},
               f.median_s);
      w.Sample("kisgate_data_age_seconds", {{"dataset", f.dataset}, {"stat", "newest"}},
               f.newest_s);
    }
  }

  if (in.store != nullptr) {
    w.Family("kisgate_store_records_written_total", "counter", "Records committed to the store.");
    w.Sample("kisgate_store_records_written_total", {}, static_cast<double>(in.store->written));
    w.Family("kisgate_store_transactions_total", "counter", "Store transactions by result.");
    w.Sample("kisgate_store_transactions_total", {{"result", "ok"}},
             static_cast<double>(in.store->transactions));
    w.Sample("kisgate_store_transactions_total", {{"result", "failed"}},
             static_cast<double>(in.store->failed_transactions));
    w.Family("kisgate_store_queued_records", "gauge", "Records waiting for the store's writer.");
    w.Sample("kisgate_store_queued_records", {}, static_cast<double>(in.store->queued));
    w.Family("kisgate_store_dropped_records_total", "counter",
             "Records given up beyond the write buffer while the database was unreachable.");
    w.Sample("kisgate_store_dropped_records_total", {}, static_cast<double>(in.store->dropped));
    w.Family("kisgate_store_connected", "gauge",
             "1 while the database answers (always 1 for SQLite), else 0.");
    w.Sample("kisgate_store_connected", {}, in.store->connected ? 1 : 0);
  }

  if (in.api != nullptr) {
    w.Family("kisgate_api_requests_total", "counter", "API requests by route and HTTP status.");
    for (const auto& [route, r] : in.api->routes) {
      for (const auto& [status, n] : r.by_status) {
        w.Sample("kisgate_api_requests_total",
                 {{"route", route}, {"status", std::to_string(status)}}, static_cast<double>(n));
      }
    }
    w.Family("kisgate_api_request_duration_seconds", "histogram",
             "Time from request to response, by route.");
    for (const auto& [route, r] : in.api->routes) {
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
        cumulative += r.latency[b];
        w.Sample("kisgate_api_request_duration_seconds_bucket",
                 {{"route", route}, {"le", Le(kLatencyBuckets[b])}},
                 static_cast<double>(cumulative));
      }
      w.Sample("kisgate_api_request_duration_seconds_bucket", {{"route", route}, {"le", "+Inf"}},
               static_cast<double>(r.count));
      w.Sample("kisgate_api_request_duration_seconds_sum", {{"route", route}}, r.latency_sum_s);
      w.Sample("kisgate_api_request_duration_seconds_count", {{"route", route}},
               static_cast<double>(r.count));
    }
    w.Family("kisgate_api_responses_by_source_total", "counter",
             "Stock data answers by where the value came from.");
    for (const auto& [source, n] : in.api->by_source)
      w.Sample("kisgate_api_responses_by_source_total", {{"source", source}},
               static_cast<double>(n));
    w.Family("kisgate_api_stale_responses_total", "counter",
             "Answers that served a stale value because KIS could not answer in time.");
    w.Sample("kisgate_api_stale_responses_total", {}, static_cast<double>(in.api->stale));
    w.Family(
        "kisgate_api_handler_exceptions_total", "counter",
        "Requests whose handler failed with an exception (answered 500; the server kept serving).");
    w.Sample("kisgate_api_handler_exceptions_total", {},
             static_cast<double>(in.api->handler_exceptions));
    w.Family("kisgate_api_recent_values", "gauge",
             "Values of codes outside the universe held in memory (bounded; never stored).");
    w.Sample("kisgate_api_recent_values", {}, static_cast<double>(in.api->recent_values));
    w.Family("kisgate_kis_malformed_replies_total", "counter",
             "KIS replies kisgate could not read.");
    // Replies the gate classified as malformed, plus the ones the API could not parse after an ok.
    std::uint64_t malformed = in.api->malformed_replies;
    if (in.gate != nullptr) {
      for (const auto& s : in.gate->keys) {
        auto it = s.errors.find(std::string(common::Name(common::Errc::kMalformedReply)));
        if (it != s.errors.end()) malformed += it->second;
      }
    }
    w.Sample("kisgate_kis_malformed_replies_total", {}, static_cast<double>(malformed));
    w.Family("kisgate_api_unreadable_values_total", "counter",
             "Stored values the API could not read (answered 502).");
    w.Sample("kisgate_api_unreadable_values_total", {},
             static_cast<double>(in.api->unreadable_values));
    w.Family("kisgate_passthrough_requests_total", "counter", "Passthrough requests by outcome.");
    for (const auto& [outcome, n] : in.api->passthrough)
      w.Sample("kisgate_passthrough_requests_total", {{"outcome", outcome}},
               static_cast<double>(n));
  }

  if (in.http != nullptr) {
    w.Family("kisgate_http_connections", "gauge", "Open API connections.");
    w.Sample("kisgate_http_connections", {}, static_cast<double>(in.http->active));
    w.Family("kisgate_http_connections_accepted_total", "counter", "API connections accepted.");
    w.Sample("kisgate_http_connections_accepted_total", {}, static_cast<double>(in.http->accepted));
    w.Family("kisgate_http_connections_rejected_total", "counter",
             "API connections closed at accept (over server.max_connections).");
    w.Sample("kisgate_http_connections_rejected_total", {},
             static_cast<double>(in.http->rejected_over_cap));
    w.Family("kisgate_http_malformed_requests_total", "counter",
             "Unparsable or oversized requests.");
    w.Sample("kisgate_http_malformed_requests_total", {}, static_cast<double>(in.http->malformed));
    w.Family("kisgate_http_timeouts_total", "counter",
             "Connections closed by a read or write deadline (slow clients).");
    w.Sample("kisgate_http_timeouts_total", {}, static_cast<double>(in.http->timeouts));
    w.Family(
        "kisgate_http_connections_evicted_total", "counter",
        "Connections waiting for a request closed to admit a new one at server.max_connections.");
    w.Sample("kisgate_http_connections_evicted_total", {},
             static_cast<double>(in.http->evicted_idle));
    w.Family("kisgate_http_handler_exceptions_total", "counter",
             "Requests whose handler threw past the API's own boundary (answered 500).");
    w.Sample("kisgate_http_handler_exceptions_total", {},
             static_cast<double>(in.http->handler_exceptions));
    w.Family("kisgate_http_session_exceptions_total", "counter",
             "Connections or the accept loop ended by an exception (logged).");
    w.Sample("kisgate_http_session_exceptions_total", {},
             static_cast<double>(in.http->session_exceptions));
  }

  if (in.hub != nullptr) {
    w.Family("kisgate_stream_subscribers", "gauge",
             "API clients subscribed to real-time events (/v1/stream, /v1/ws).");
    w.Sample("kisgate_stream_subscribers", {}, static_cast<double>(in.hub->subscribers));
    w.Family("kisgate_stream_events_published_total", "counter",
             "Real-time events (trades, books, polled prices) published to the fan-out.");
    w.Sample("kisgate_stream_events_published_total", {}, static_cast<double>(in.hub->published));
    w.Family("kisgate_stream_events_delivered_total", "counter",
             "Events handed to subscribers' connections (one per event and subscriber).");
    w.Sample("kisgate_stream_events_delivered_total", {}, static_cast<double>(in.hub->delivered));
    w.Family("kisgate_stream_clients_cut_total", "counter",
             "Subscribers cut because they did not keep up (their queue was full).");
    w.Sample("kisgate_stream_clients_cut_total", {}, static_cast<double>(in.hub->cut));
  }

  w.Family("kisgate_process_cpu_seconds_total", "counter",
           "User and system CPU time of the process.");
  w.Sample("kisgate_process_cpu_seconds_total", {}, in.process.cpu_seconds);
  w.Family("kisgate_process_resident_memory_bytes", "gauge", "Resident memory of the process.");
  w.Sample("kisgate_process_resident_memory_bytes", {},
           static_cast<double>(in.process.resident_bytes));
  w.Family("kisgate_process_start_time_seconds", "gauge", "When the process started (unix time).");
  w.Sample("kisgate_process_start_time_seconds", {}, in.process.start_time_s);
  w.Family("kisgate_process_open_fds", "gauge", "Open file descriptors.");
  w.Sample("kisgate_process_open_fds", {}, static_cast<double>(in.process.open_fds));
  return w.Take();
}

}  // namespace kisgate::api

#include "api/status.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "api/jobs_document.hpp"
#include "api/routes.hpp"
#include "api/service.hpp"
#include "common/kst.hpp"
#include "store/freshness.hpp"
#include "views/market.hpp"

namespace kisgate::api {

namespace json = boost::json;

namespace {

json::value Optional(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

std::optional<double> HistogramQuantileMs(
    const std::array<std::uint64_t, gate::kWaitBucketCount>& buckets, double q) {
  std::uint64_t total = 0;
  for (auto n : buckets) total += n;
  if (total == 0) return std::nullopt;
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0) continue;
    const double lower = i == 0 ? 0.0 : gate::kWaitBucketsMs[i - 1];
    // The overflow bucket has no upper bound: report its lower bound, the most that is known.
    if (i == gate::kWaitBucketsMs.size()) return lower;
    const double upper = gate::kWaitBucketsMs[i];
    if (seen + static_cast<double>(buckets[i]) >= rank) {
      return lower + (upper - lower) * (rank - seen) / static_cast<double>(buckets[i]);
    }
    seen += static_cast<double>(buckets[i]);
  }
  return gate::kWaitBucketsMs.back();
}

void Sampler::Sample(const gate::GatewayStats& stats, common::SteadyTime now) {
  points_.push_back(Point{now, stats});
  while (points_.size() > kWindow + 1) points_.pop_front();
  if (points_.size() < 2) return;
  const auto& last = points_.back();
  const auto& prev = points_[points_.size() - 2];
  const auto& oldest = points_.front();
  const double dt = std::max(1e-3, std::chrono::duration<double>(last.at - prev.at).count());
  recent_.assign(last.stats.keys.size(), KeyRecent{});
  for (std::size_t k = 0; k < last.stats.keys.size(); ++k) {
    if (k >= prev.stats.keys.size() || k >= oldest.stats.keys.size()) break;
    const auto& now_key = last.stats.keys[k];
    recent_[k].calls_per_second =
        static_cast<double>(now_key.upstream - prev.stats.keys[k].upstream) / dt;
    for (std::size_t lane = 0; lane < gate::kLaneCount; ++lane) {
      const auto& cur = now_key.budget.lanes[lane];
      recent_[k].lanes[lane].calls_per_second =
          static_cast<double>(cur.admitted - prev.stats.keys[k].budget.lanes[lane].admitted) / dt;
      std::array<std::uint64_t, gate::kWaitBucketCount> window{};
      const auto& base = oldest.stats.keys[k].budget.lanes[lane].wait_buckets;
      for (std::size_t b = 0; b < window.size(); ++b) window[b] = cur.wait_buckets[b] - base[b];
      recent_[k].lanes[lane].wait_p50_ms = HistogramQuantileMs(window, 0.5);
      recent_[k].lanes[lane].wait_p99_ms = HistogramQuantileMs(window, 0.99);
    }
  }
}

json::object BudgetJson(const config::Config& config, const gate::GatewayStats& stats,
                        const std::vector<KeyRecent>& recent, common::WallTime now,
                        double uptime_s) {
  json::array keys;
  for (std::size_t k = 0; k < stats.keys.size(); ++k) {
    const auto& s = stats.keys[k];
    const KeyRecent r = k < recent.size() ? recent[k] : KeyRecent{};
    json::object lanes;
    for (std::size_t lane = 0; lane < gate::kLaneCount; ++lane) {
      const auto& l = s.budget.lanes[lane];
      lanes[gate::LaneName(static_cast<gate::Lane>(lane))] =
          json::object{{"calls_per_second", r.lanes[lane].calls_per_second},
                       {"queued", l.queued},
                       {"admitted", l.admitted},
                       {"retries", l.retries_admitted},
                       {"expired", l.expired},
                       {"promoted_in", l.promoted_in},
                       {"wait_p50_ms", Optional(r.lanes[lane].wait_p50_ms)},
                       {"wait_p99_ms", Optional(r.lanes[lane].wait_p99_ms)}};
    }
    json::object errors;
    for (const auto& [code, n] : s.errors) errors[code] = n;
    const double expires_in =
        s.token_valid ? std::chrono::duration<double>(s.token_expires_at - now).count() : 0.0;
    keys.push_back(json::object{{"name", s.name},
                                {"rate_limit", k < config.keys.size() ? config.keys[k].rate : 0.0},
                                {"planned_rate", s.budget.max_rate},
                                {"current_rate", s.budget.rate},
                                {"calls_per_second", r.calls_per_second},
                                {"in_flight", s.budget.in_flight},
                                {"in_flight_limit", s.budget.in_flight_limit},
                                {"cooling_down", s.budget.cooling_down},
                                {"cooldowns", s.budget.cooldowns},
                                {"token", json::object{{"valid", s.token_valid},
                                                       {"expires_in_s", expires_in},
                                                       {"issued", s.tokens_issued}}},
                                {"calls", s.calls},
                                {"upstream", s.upstream},
                                {"ok", s.ok},
                                {"retries", s.retries},
                                {"failed", s.failed},
                                {"errors", std::move(errors)},
                                {"lanes", std::move(lanes)}});
  }
  return {{"time", views::Time(now)},
          {"uptime_s", uptime_s},
          {"coalesced", stats.coalesced},
          {"retry_budget_exhausted", stats.retry_budget_exhausted},
          {"keys", std::move(keys)}};
}

StatusHandler::StatusHandler(StatusDeps deps)
    : deps_(std::move(deps)), started_(deps_.clock->Now()) {}

void StatusHandler::Sample() { sampler_.Sample(deps_.gateway->Stats(), deps_.clock->Now()); }

http::Response StatusHandler::Handle(const Route& route) {
  switch (route.handler) {
    case Handler::kHealth:
      return JsonResponse(200, json::object{{"status", "ok"}});
    case Handler::kReady:
      return Ready();
    case Handler::kMetrics:
      return Metrics();
    case Handler::kOpenApi: {
      http::Response r;
      r.SetHeader("content-type", "application/json; charset=utf-8");
      r.body = std::string(OpenApiDocument());
      return r;
    }
    case Handler::kJobs: {
      const auto now = deps_.clock->WallNow();
      const auto ages = deps_.store ? deps_.store->Ages(now) : std::vector<store::Freshness>{};
      return JsonResponse(200, JobsDocument(deps_.jobs ? deps_.jobs() : common::JobsSnapshot{}, now,
                                            store::SummariseFreshness(ages)));
    }
    case Handler::kBudget:
      return Budget();
    default:
      return JsonError(500, "internal_error", "not a status route");
  }
}

http::Response StatusHandler::Budget() const {
  const double uptime = std::chrono::duration<double>(deps_.clock->Now() - started_).count();
  auto budget = BudgetJson(*deps_.config, deps_.gateway->Stats(), sampler_.recent(),
                           deps_.clock->WallNow(), uptime);
  if (deps_.hub) {  // the fan-out to API clients (its presence tells the dashboard too)
    const auto c = deps_.hub->Counters();
    budget["stream"] = json::object{{"subscribers", c.subscribers},
                                    {"events_published", c.published},
                                    {"events_delivered", c.delivered},
                                    {"clients_cut", c.cut},
                                    {"last_event_id", deps_.hub->LastId()}};
  }
  if (deps_.stream_status) {
    // Each key's real-time session, as the app reports it.
    if (auto* keys = budget.if_contains("keys"); keys && keys->is_array()) {
      for (auto& key : keys->as_array()) {
        auto& k = key.as_object();
        if (const auto* name = k.if_contains("name"); name && name->is_string()) {
          k["stream"] = deps_.stream_status(std::string(name->as_string()));
        }
      }
    }
  }
  return JsonResponse(200, budget);
}

http::Response StatusHandler::Ready() const {
  json::array problems;
  const auto stats = deps_.gateway->Stats();
  bool any_token = false;
  for (const auto& k : stats.keys) any_token = any_token || k.token_valid;
  if (!any_token) problems.push_back(json::string("no key holds a valid KIS access token yet"));
  if (deps_.jobs) {
    for (auto& problem : deps_.jobs().problems) problems.push_back(json::string(problem));
  }
  if (deps_.store) {
    const auto c = deps_.store->Counters();
    if (c.last_write_failed)
      problems.push_back(json::string(fmt::format("the store cannot write: {}", c.last_error)));
    if (c.dropped > 0) {
      problems.push_back(json::string(
          fmt::format("the store gave up {} records beyond its write buffer while the database was "
                      "unreachable",
                      c.dropped)));
    }
  }
  // Falling back is not a reason to take the instance out of service (every instance would be,
  // while Redis is down): it is shown, not counted as a problem.
  const auto& co = stats.coordination;
  json::object coordination{{"mode", gate::ModeName(co.mode)}, {"instances", co.instances}};
  if (!co.instance.empty()) coordination["instance"] = co.instance;
  if (!co.error.empty()) coordination["error"] = co.error;
  json::object body{{"ready", problems.empty()},
                    {"problems", std::move(problems)},
                    {"coordination", std::move(coordination)}};
  return JsonResponse(body.at("ready").as_bool() ? 200 : 503, body);
}

http::Response StatusHandler::Metrics() const {
  common::MetricsWriter w;
  for (const auto& source : *deps_.metrics) source(w);
  WriteMetrics(w, *deps_.counters, deps_.gateway->Stats());
  WriteMetrics(w, ReadProcessStats());
  http::Response r;
  r.SetHeader("content-type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = w.Take();
  return r;
}

}  // namespace kisgate::api

#include "api/status.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/kst.hpp"
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

}  // namespace kisgate::api

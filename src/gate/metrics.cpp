#include "gate/metrics.hpp"

#include <array>
#include <chrono>
#include <map>
#include <string>

#include "kis/errors.hpp"

namespace kisgate::gate {

namespace {

using common::MetricType;

// The wait histogram's upper bounds in seconds (the gate counts in milliseconds).
constexpr std::array<double, kWaitBucketsMs.size()> WaitBoundsSeconds() {
  std::array<double, kWaitBucketsMs.size()> out{};
  for (std::size_t b = 0; b < kWaitBucketsMs.size(); ++b) out[b] = kWaitBucketsMs[b] / 1000.0;
  return out;
}

}  // namespace

void WriteMetrics(common::MetricsWriter& w, const GatewayStats& stats,
                  const config::Config& config) {
  const auto& keys = stats.keys;
  auto per_key = [&](std::string_view name, MetricType type, std::string_view help, auto value) {
    w.Family(name, type, help);
    for (std::size_t k = 0; k < keys.size(); ++k)
      w.Sample(name, {{"key", keys[k].name}}, value(k, keys[k]));
  };
  per_key("kisgate_gate_rate_limit_calls_per_second", MetricType::kGauge,
          "Calls per second KIS allows the key (configured).", [&](std::size_t k, const KeyStats&) {
            return k < config.keys.size() ? config.keys[k].rate : 0;
          });
  per_key("kisgate_gate_planned_rate_calls_per_second", MetricType::kGauge,
          "Rate the gate plans for (limit x safety).",
          [](std::size_t, const KeyStats& s) { return s.budget.max_rate; });
  per_key("kisgate_gate_current_rate_calls_per_second", MetricType::kGauge,
          "Rate the gate admits now (after AIMD cuts).",
          [](std::size_t, const KeyStats& s) { return s.budget.rate; });
  per_key("kisgate_gate_in_flight_calls", MetricType::kGauge,
          "Calls sent to KIS and not yet answered.",
          [](std::size_t, const KeyStats& s) { return static_cast<double>(s.budget.in_flight); });
  per_key(
      "kisgate_gate_in_flight_limit_calls", MetricType::kGauge, "The adaptive in-flight cap.",
      [](std::size_t, const KeyStats& s) { return static_cast<double>(s.budget.in_flight_limit); });
  per_key("kisgate_gate_cooldowns_total", MetricType::kCounter,
          "Cooldowns of the key after EGW00201.",
          [](std::size_t, const KeyStats& s) { return static_cast<double>(s.budget.cooldowns); });
  per_key("kisgate_gate_calls_total", MetricType::kCounter,
          "Calls routed to the key (one per caller request).",
          [](std::size_t, const KeyStats& s) { return static_cast<double>(s.calls); });
  per_key("kisgate_gate_upstream_requests_total", MetricType::kCounter,
          "HTTP requests sent to KIS (retries and tokens included).",
          [](std::size_t, const KeyStats& s) { return static_cast<double>(s.upstream); });
  per_key("kisgate_gate_ok_total", MetricType::kCounter, "Calls answered successfully.",
          [](std::size_t, const KeyStats& s) { return static_cast<double>(s.ok); });
  per_key("kisgate_gate_retries_total", MetricType::kCounter,
          "Retries sent after a retryable error.",
          [](std::size_t, const KeyStats& s) { return static_cast<double>(s.retries); });
  per_key("kisgate_gate_failed_total", MetricType::kCounter, "Calls that ended in an error.",
          [](std::size_t, const KeyStats& s) { return static_cast<double>(s.failed); });
  per_key("kisgate_token_valid", MetricType::kGauge,
          "1 when the key holds an unexpired access token.",
          [](std::size_t, const KeyStats& s) { return s.token_valid ? 1.0 : 0.0; });
  per_key(
      "kisgate_token_expiry_timestamp_seconds", MetricType::kGauge,
      "When the key's token expires (unix time).", [](std::size_t, const KeyStats& s) {
        return s.token_valid
                   ? std::chrono::duration<double>(s.token_expires_at.time_since_epoch()).count()
                   : 0.0;
      });
  per_key("kisgate_tokens_issued_total", MetricType::kCounter,
          "Access tokens issued by KIS for the key.",
          [](std::size_t, const KeyStats& s) { return static_cast<double>(s.tokens_issued); });

  w.Family("kisgate_gate_errors_total", MetricType::kCounter,
           "Errors by KIS code or transport error.");
  for (const auto& s : keys) {
    // Unknown KIS codes share one "other" series (kis::MetricCode): KIS cannot add series.
    std::map<std::string_view, std::uint64_t> bounded;
    for (const auto& [code, n] : s.errors) bounded[kis::MetricCode(code)] += n;
    for (const auto& [code, n] : bounded)
      w.Sample("kisgate_gate_errors_total", {{"key", s.name}, {"code", code}},
               static_cast<double>(n));
  }
  auto per_lane = [&](std::string_view name, MetricType type, std::string_view help, auto value) {
    w.Family(name, type, help);
    for (const auto& s : keys) {
      for (std::size_t lane = 0; lane < kLaneCount; ++lane) {
        w.Sample(name, {{"key", s.name}, {"lane", LaneName(static_cast<Lane>(lane))}},
                 value(s.budget.lanes[lane]));
      }
    }
  };
  per_lane("kisgate_gate_queued_calls", MetricType::kGauge, "Calls waiting for admission.",
           [](const LaneSnapshot& l) { return static_cast<double>(l.queued); });
  per_lane("kisgate_gate_admitted_total", MetricType::kCounter,
           "Calls admitted (dispatched) by the gate.",
           [](const LaneSnapshot& l) { return static_cast<double>(l.admitted); });
  per_lane("kisgate_gate_expired_total", MetricType::kCounter,
           "Calls whose deadline passed before admission (no budget spent).",
           [](const LaneSnapshot& l) { return static_cast<double>(l.expired); });
  per_lane("kisgate_gate_promoted_total", MetricType::kCounter,
           "Queued calls promoted into this lane by an interactive joiner.",
           [](const LaneSnapshot& l) { return static_cast<double>(l.promoted_in); });

  static constexpr auto kWaitBounds = WaitBoundsSeconds();
  w.Family("kisgate_gate_wait_seconds", MetricType::kHistogram,
           "Time calls waited in the gate before dispatch.");
  for (const auto& s : keys) {
    for (std::size_t lane = 0; lane < kLaneCount; ++lane) {
      const auto& l = s.budget.lanes[lane];
      w.Histogram("kisgate_gate_wait_seconds",
                  {{"key", s.name}, {"lane", LaneName(static_cast<Lane>(lane))}}, kWaitBounds,
                  l.wait_buckets, std::chrono::duration<double>(l.wait_sum).count());
    }
  }
  w.Counter("kisgate_gate_coalesced_total",
            "Calls that shared an identical call already in flight.",
            static_cast<double>(stats.coalesced));
  w.Counter("kisgate_gate_retry_budget_exhausted_total", "Retries refused by the retry budget.",
            static_cast<double>(stats.retry_budget_exhausted));

  const auto& co = stats.coordination;
  w.Family("kisgate_coordination_mode", MetricType::kGauge,
           "1 for the mode this instance is in: single (no [coordination]), shared (the keys' "
           "budgets in Redis) or fallback (Redis unreachable or slow: a local share).");
  for (auto mode : {CoordinationStats::Mode::kSingle, CoordinationStats::Mode::kShared,
                    CoordinationStats::Mode::kFallback}) {
    w.Sample("kisgate_coordination_mode", {{"mode", ModeName(mode)}}, co.mode == mode ? 1 : 0);
  }
  w.Gauge("kisgate_coordination_instances",
          "kisgate instances last seen alive on the shared keys, this one included.", co.instances);
  w.Counter("kisgate_coordination_fallbacks_total",
            "Times this instance fell back to its local share of the keys' rates.",
            static_cast<double>(co.fallbacks));
}

}  // namespace kisgate::gate

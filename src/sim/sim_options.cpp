#include "sim/sim_options.hpp"

#include <fmt/format.h>

#include "common/kst.hpp"

namespace kisgate::sim {

std::string DemoAppSecret() {
  // 180 characters like a real secret; deterministic so docs and tests can name it.
  std::string secret;
  static constexpr std::string_view kPattern = "kisgateDemoSecret0123456789+/";
  while (secret.size() < 180) secret += kPattern;
  secret.resize(180);
  return secret;
}

std::optional<SimKey> ParseSimKey(std::string_view spec, std::string& error) {
  auto first = spec.find(':');
  if (first == std::string_view::npos || first == 0) {
    error = fmt::format("--key '{}' must be APPKEY:SECRET[:real|mock]", spec);
    return std::nullopt;
  }
  SimKey key;
  key.app_key = std::string(spec.substr(0, first));
  std::string_view rest = spec.substr(first + 1);
  auto second = rest.rfind(':');
  if (second != std::string_view::npos &&
      (rest.substr(second + 1) == "real" || rest.substr(second + 1) == "mock")) {
    key.environment = rest.substr(second + 1) == "mock" ? Environment::kMock : Environment::kReal;
    rest = rest.substr(0, second);
  }
  if (rest.empty()) {
    error = fmt::format("--key '{}' has an empty secret", key.app_key);
    return std::nullopt;
  }
  key.app_secret = std::string(rest);
  return key;
}

std::optional<std::string> SimOptions::Validate() const {
  auto probability = [](double p) { return p >= 0 && p <= 1; };
  if (!(rate >= 1)) return fmt::format("--rate must be at least 1 call/s, got {}", rate);
  if (!(mock_rate >= 1))
    return fmt::format("--mock-rate must be at least 1 call/s, got {}", mock_rate);
  if (!(latency_ms >= 0)) return fmt::format("--latency-ms must be >= 0, got {}", latency_ms);
  if (!(latency_sigma >= 0 && latency_sigma <= 3)) {
    return fmt::format("--latency-sigma must be in [0, 3], got {}", latency_sigma);
  }
  if (!(latency_max_ms >= latency_ms)) {
    return fmt::format("--latency-max-ms ({}) must be >= --latency-ms ({})", latency_max_ms,
                       latency_ms);
  }
  if (!probability(fault_disconnect)) {
    return fmt::format("--fault-disconnect must be a probability in [0, 1], got {}",
                       fault_disconnect);
  }
  if (!probability(fault_error)) {
    return fmt::format("--fault-error must be a probability in [0, 1], got {}", fault_error);
  }
  if (!probability(fault_slow)) {
    return fmt::format("--fault-slow must be a probability in [0, 1], got {}", fault_slow);
  }
  if (!(slow_ms >= 0)) return fmt::format("--slow-ms must be >= 0, got {}", slow_ms);
  if (!(speed > 0 && speed <= 100000))
    return fmt::format("--speed must be in (0, 100000], got {}", speed);
  if (clock != "now" && !common::ParseKstDateTime(clock)) {
    return fmt::format("--clock '{}' must be 'now' or a KST time like 2026-11-24T10:30:00", clock);
  }
  if (tokens.ttl.count() <= 0) return std::string("--token-ttl must be positive");
  if (tokens.reuse_window.count() < 0) return std::string("--token-reuse must be >= 0");
  if (tokens.issue_interval.count() < 0) return std::string("--token-interval must be >= 0");
  if (ws.hold.count() < 0) return std::string("--ws-hold-s must be >= 0");
  if (ws.max_subs < 1) return std::string("--ws-max-subs must be at least 1");
  if (ws.ping_interval.count() <= 0) return std::string("--ws-ping-s must be positive");
  if (ws.ping_missed < 1) return std::string("--ws-ping-missed must be at least 1");
  if (!(ws.trades_per_s > 0 && ws.trades_per_s <= 100000)) {
    return fmt::format("--ws-trades-per-s must be in (0, 100000], got {}", ws.trades_per_s);
  }
  if (!(ws.fault_drop_per_min >= 0)) {
    return fmt::format("--ws-fault-drop must be >= 0, got {}", ws.fault_drop_per_min);
  }
  if (ws.queue_frames < 1) return std::string("--ws-queue-frames must be at least 1");
  if (tls_cert.empty() != tls_key.empty()) {
    return std::string("--tls-cert and --tls-key must be given together");
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    for (std::size_t j = i + 1; j < keys.size(); ++j) {
      if (keys[i].app_key == keys[j].app_key) {
        return fmt::format("--key '{}' is given twice", keys[i].app_key);
      }
    }
  }
  return std::nullopt;
}

std::vector<SimKey> SimOptions::EffectiveKeys() const {
  if (!keys.empty()) return keys;
  return {SimKey{std::string(kDemoAppKey), DemoAppSecret(), Environment::kReal}};
}

}  // namespace kisgate::sim

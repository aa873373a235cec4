#pragma once
// The gate's families of GET /metrics (kisgate_gate_*, kisgate_token_*, kisgate_coordination_*),
// from one GatewayStats: per key, per key and lane, the wait histogram, coalescing and the
// coordination mode.

#include "common/metrics_writer.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"

namespace kisgate::gate {

// `config` gives each key's configured rate (kisgate_gate_rate_limit_calls_per_second), by the
// position of the key in `stats`.
void WriteMetrics(common::MetricsWriter& w, const GatewayStats& stats,
                  const config::Config& config);

}  // namespace kisgate::gate

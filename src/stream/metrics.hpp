#pragma once
// The real-time fan-out's families of GET /metrics (kisgate_stream_*), from the hub's counters.

#include "common/metrics_writer.hpp"
#include "stream/hub.hpp"

namespace kisgate::stream {

void WriteMetrics(common::MetricsWriter& w, const HubCounters& counters);

}  // namespace kisgate::stream

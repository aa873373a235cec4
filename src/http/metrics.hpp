#pragma once
// The HTTP server's families of GET /metrics (kisgate_http_*), from its counters.

#include "common/metrics_writer.hpp"
#include "http/server.hpp"

namespace kisgate::http {

void WriteMetrics(common::MetricsWriter& w, const ServerCounters& counters);

}  // namespace kisgate::http

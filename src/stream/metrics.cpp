#include "stream/metrics.hpp"

namespace kisgate::stream {

void WriteMetrics(common::MetricsWriter& w, const HubCounters& counters) {
  w.Gauge("kisgate_stream_subscribers",
          "API clients subscribed to real-time events (/v1/stream, /v1/ws).",
          static_cast<double>(counters.subscribers));
  w.Counter("kisgate_stream_events_published_total",
            "Real-time events (trades, books, polled prices) published to the fan-out.",
            static_cast<double>(counters.published));
  w.Counter("kisgate_stream_events_delivered_total",
            "Events handed to subscribers' connections (one per event and subscriber).",
            static_cast<double>(counters.delivered));
  w.Counter("kisgate_stream_clients_cut_total",
            "Subscribers cut because they did not keep up (their queue was full).",
            static_cast<double>(counters.cut));
}

}  // namespace kisgate::stream

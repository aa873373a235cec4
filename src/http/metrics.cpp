#include "http/metrics.hpp"

namespace kisgate::http {

void WriteMetrics(common::MetricsWriter& w, const ServerCounters& counters) {
  w.Gauge("kisgate_http_connections", "Open API connections.",
          static_cast<double>(counters.active));
  w.Counter("kisgate_http_connections_accepted_total", "API connections accepted.",
            static_cast<double>(counters.accepted));
  w.Counter("kisgate_http_connections_rejected_total",
            "API connections closed at accept (over server.max_connections).",
            static_cast<double>(counters.rejected_over_cap));
  w.Counter("kisgate_http_malformed_requests_total", "Unparsable or oversized requests.",
            static_cast<double>(counters.malformed));
  w.Counter("kisgate_http_timeouts_total",
            "Connections closed by a read or write deadline (slow clients).",
            static_cast<double>(counters.timeouts));
  w.Counter(
      "kisgate_http_connections_evicted_total",
      "Connections waiting for a request closed to admit a new one at server.max_connections.",
      static_cast<double>(counters.evicted_idle));
  w.Counter("kisgate_http_streams_refused_total",
            "Event streams and WebSockets answered 503: the room for long-lived connections "
            "(server.max_connections less an eighth) was full.",
            static_cast<double>(counters.refused_long_lived));
  w.Counter("kisgate_http_handler_exceptions_total",
            "Requests whose handler threw past the API's own boundary (answered 500).",
            static_cast<double>(counters.handler_exceptions));
  w.Counter("kisgate_http_session_exceptions_total",
            "Connections or the accept loop ended by an exception (logged).",
            static_cast<double>(counters.session_exceptions));
}

}  // namespace kisgate::http

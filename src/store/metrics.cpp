#include "store/metrics.hpp"

namespace kisgate::store {

using common::MetricType;

void WriteMetrics(common::MetricsWriter& w, const StoreCounters& counters) {
  w.Counter("kisgate_store_records_written_total", "Records committed to the store.",
            static_cast<double>(counters.written));
  w.Family("kisgate_store_transactions_total", MetricType::kCounter,
           "Store transactions by result.");
  w.Sample("kisgate_store_transactions_total", {{"result", "ok"}},
           static_cast<double>(counters.transactions));
  w.Sample("kisgate_store_transactions_total", {{"result", "failed"}},
           static_cast<double>(counters.failed_transactions));
  w.Gauge("kisgate_store_queued_records", "Records waiting for the store's writer.",
          static_cast<double>(counters.queued));
  w.Counter("kisgate_store_dropped_records_total",
            "Records given up beyond the write buffer while the database was unreachable.",
            static_cast<double>(counters.dropped));
  w.Counter("kisgate_store_refused_records_total",
            "Records, trades and snapshots the database refused for their values (too long, "
            "invalid bytes), dropped and logged; the rest of their batch was written.",
            static_cast<double>(counters.refused));
  w.Counter("kisgate_store_invalid_records_total",
            "Records, trades and snapshots not stored: a code that is not a stock code, a date "
            "that is not a date.",
            static_cast<double>(counters.invalid));
  w.Counter("kisgate_store_read_timeouts_total",
            "Reads the database did not answer within storage.timeout (an API reply of 503 "
            "store_timeout, or a code failed in a cycle).",
            static_cast<double>(counters.read_timeouts));
  w.Gauge("kisgate_store_connected", "1 while the database answers (always 1 for SQLite), else 0.",
          counters.connected ? 1 : 0);
}

void WriteFreshnessMetrics(common::MetricsWriter& w,
                           const std::vector<DatasetFreshness>& freshness) {
  w.Family("kisgate_data_values", MetricType::kGauge, "Values held per data set (one per code).");
  for (const auto& f : freshness)
    w.Sample("kisgate_data_values", {{"dataset", f.dataset}}, static_cast<double>(f.values));
  w.Family("kisgate_data_age_seconds", MetricType::kGauge,
           "Age of the held values per data set: oldest, median, newest.");
  for (const auto& f : freshness) {
    w.Sample("kisgate_data_age_seconds", {{"dataset", f.dataset}, {"stat", "oldest"}}, f.oldest_s);
    w.Sample("kisgate_data_age_seconds", {{"dataset", f.dataset}, {"stat", "median"}}, f.median_s);
    w.Sample("kisgate_data_age_seconds", {{"dataset", f.dataset}, {"stat", "newest"}}, f.newest_s);
  }
}

}  // namespace kisgate::store

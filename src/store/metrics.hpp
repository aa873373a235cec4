#pragma once
// The store's families of GET /metrics: its writer's counters (kisgate_store_*) and the freshness
// of the values it holds (kisgate_data_*).

#include <vector>

#include "common/metrics_writer.hpp"
#include "store/freshness.hpp"
#include "store/store.hpp"

namespace kisgate::store {

void WriteMetrics(common::MetricsWriter& w, const StoreCounters& counters);
// The families are declared even with no data set held (then without samples).
void WriteFreshnessMetrics(common::MetricsWriter& w,
                           const std::vector<DatasetFreshness>& freshness);

}  // namespace kisgate::store

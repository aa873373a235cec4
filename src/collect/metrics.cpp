#include "collect/metrics.hpp"

#include <chrono>
#include <utility>

namespace kisgate::collect {

using common::MetricType;

void WriteMetrics(common::MetricsWriter& w, const JobsBoard& board) {
  const auto& jobs = board.jobs();
  auto per_job = [&](std::string_view name, MetricType type, std::string_view help, auto value) {
    w.Family(name, type, help);
    for (const auto& j : jobs)
      w.Sample(name, {{"job", j.job.name}, {"dataset", j.job.dataset}}, value(j));
  };
  per_job("kisgate_collect_cycles_total", MetricType::kCounter, "Collection cycles finished.",
          [](const JobStatus& j) { return static_cast<double>(j.totals.cycles); });
  per_job("kisgate_collect_rows_total", MetricType::kCounter, "Records handed to the store.",
          [](const JobStatus& j) { return static_cast<double>(j.totals.rows); });
  per_job("kisgate_collect_skipped_starts_total", MetricType::kCounter,
          "Starts skipped because the job's previous cycle ran past them.",
          [](const JobStatus& j) { return static_cast<double>(j.totals.skipped_starts); });
  per_job("kisgate_collect_running", MetricType::kGauge, "1 while a cycle of the job runs.",
          [](const JobStatus& j) { return j.running ? 1.0 : 0.0; });
  per_job("kisgate_collect_last_cycle_duration_seconds", MetricType::kGauge,
          "Duration of the job's last cycle.",
          [](const JobStatus& j) { return j.recent.empty() ? 0.0 : j.recent.back().seconds; });
  per_job("kisgate_collect_last_cycle_end_timestamp_seconds", MetricType::kGauge,
          "When the job's last cycle ended (unix time).", [](const JobStatus& j) {
            return j.last_finished
                       ? std::chrono::duration<double>(j.last_finished->time_since_epoch()).count()
                       : 0.0;
          });
  w.Family("kisgate_collect_calls_total", MetricType::kCounter,
           "Per-code calls of collection cycles by result.");
  for (const auto& j : jobs) {
    for (auto [result, n] : {std::pair{"ok", j.totals.ok},
                             {"failed", j.totals.failed},
                             {"dropped", j.totals.dropped}}) {
      w.Sample("kisgate_collect_calls_total",
               {{"job", j.job.name}, {"dataset", j.job.dataset}, {"result", result}},
               static_cast<double>(n));
    }
  }
}

}  // namespace kisgate::collect

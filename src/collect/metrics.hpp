#pragma once
// The jobs' families of GET /metrics (kisgate_collect_*), from the scheduler's board: per job,
// labelled with its name and data set.

#include "collect/jobs_board.hpp"
#include "common/metrics_writer.hpp"

namespace kisgate::collect {

void WriteMetrics(common::MetricsWriter& w, const JobsBoard& board);

}  // namespace kisgate::collect

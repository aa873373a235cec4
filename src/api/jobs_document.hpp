#pragma once
// The /v1/jobs document, as the dashboard and API clients read it, from a snapshot of the jobs
// (common/jobs_snapshot.hpp; collect::JobsBoard fills it) and the store's freshness per data set:
//   {"time", ["instance",] "jobs": [{"name", "dataset", "lane", "every_s", "codes", "running",
//    "next_run", "cycles", ["cycles_elsewhere",] "last", "recent"}], "freshness": [...]}
// With an instance name in the snapshot (instances share jobs), the document names it, each job
// counts the cycles other instances held, and "recent" and "last" merge both kinds of cycle in
// order of start, each with its "instance" (an other instance's cycle has only "cycle_time" and
// "instance", null when unknown). Times are KST in ISO 8601.

#include <vector>

#include <boost/json/object.hpp>

#include "common/clock.hpp"
#include "common/jobs_snapshot.hpp"
#include "store/freshness.hpp"

namespace kisgate::api {

boost::json::object JobsDocument(const common::JobsSnapshot& snapshot, common::WallTime now,
                                 const std::vector<store::DatasetFreshness>& freshness);

}  // namespace kisgate::api

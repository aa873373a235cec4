#include "api/jobs_document.hpp"

#include <algorithm>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>

#include "views/market.hpp"

namespace kisgate::api {

namespace json = boost::json;

namespace {

// A cycle's KST "YYYYMMDDHHMMSS" as the API writes moments (views::MarketTime; the day alone
// without a time of day).
std::string CycleTimeIso(std::string_view t) {
  return views::MarketTime(t.substr(0, 8), t.substr(std::min<std::size_t>(8, t.size())));
}

// One cycle: this instance's with its figures (and `instance`, its name, only when instances share
// jobs), or another instance's with only who held it (null when unknown).
json::object CycleJson(const common::CycleSnapshot& c, const std::string& instance) {
  if (c.elsewhere) {
    return {{"cycle_time", CycleTimeIso(c.cycle_time)},
            {"instance", c.instance.empty() ? json::value(nullptr) : json::value(c.instance)}};
  }
  json::object failures;
  for (const auto& [code, n] : c.failures) failures[code] = n;
  json::object out{{"cycle_time", CycleTimeIso(c.cycle_time)},
                   {"seconds", c.seconds},
                   {"planned", c.planned},
                   {"ok", c.ok},
                   {"failed", c.failed},
                   {"dropped", c.dropped},
                   {"rows", c.rows},
                   {"upstream_calls", c.upstream_calls},
                   {"failures", std::move(failures)}};
  if (!instance.empty()) out["instance"] = instance;
  return out;
}

}  // namespace

json::object JobsDocument(const common::JobsSnapshot& snapshot, common::WallTime now,
                          const std::vector<store::DatasetFreshness>& freshness) {
  json::array jobs;
  for (const auto& j : snapshot.jobs) {
    json::array recent;
    for (const auto& c : j.recent) recent.push_back(CycleJson(c, snapshot.instance));
    json::object job{
        {"name", j.name},
        {"dataset", j.dataset},
        {"lane", j.lane},
        {"every_s", std::chrono::duration<double>(j.every).count()},
        {"codes", j.codes},
        {"running", j.running},
        {"next_run", j.next_run ? json::value(views::Time(*j.next_run)) : json::value(nullptr)},
        {"cycles", j.cycles}};
    if (!snapshot.instance.empty()) job["cycles_elsewhere"] = j.cycles_elsewhere;
    job["last"] = recent.empty() ? json::value(nullptr) : recent.back();
    job["recent"] = std::move(recent);
    jobs.push_back(std::move(job));
  }
  json::array fresh;
  for (const auto& f : freshness) {
    fresh.push_back(json::object{{"dataset", f.dataset},
                                 {"values", f.values},
                                 {"oldest_age_s", f.oldest_s},
                                 {"median_age_s", f.median_s},
                                 {"newest_age_s", f.newest_s}});
  }
  json::object doc{{"time", views::Time(now)}};
  if (!snapshot.instance.empty()) doc["instance"] = snapshot.instance;
  doc["jobs"] = std::move(jobs);
  doc["freshness"] = std::move(fresh);
  return doc;
}

}  // namespace kisgate::api

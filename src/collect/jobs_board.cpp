#include "collect/jobs_board.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/json/array.hpp>

#include "common/kst.hpp"

namespace kisgate::collect {

namespace json = boost::json;

namespace {

// A cycle's KST "YYYYMMDDHHMMSS" as "YYYY-MM-DDTHH:MM:SS+09:00" (the date alone without a time of
// day), as the API writes market times.
std::string CycleTimeIso(std::string_view t) {
  const auto ymd = t.substr(0, 8);
  const auto hms = t.substr(std::min<std::size_t>(8, t.size()));
  std::string date = ymd.size() == 8 ? fmt::format("{}-{}-{}", ymd.substr(0, 4), ymd.substr(4, 2),
                                                   ymd.substr(6, 2))
                                     : std::string(ymd);
  if (hms.size() != 6) return date;
  return fmt::format("{}T{}:{}:{}+09:00", date, hms.substr(0, 2), hms.substr(2, 2),
                     hms.substr(4, 2));
}

// One of this instance's cycles; `instance` (its name) only when instances share jobs.
json::object CycleJson(const CycleReport& r, const std::string& instance) {
  json::object failures;
  for (const auto& [code, n] : r.failures) failures[code] = n;
  json::object out{{"cycle_time", CycleTimeIso(r.cycle_time)},
                   {"seconds", r.seconds},
                   {"planned", r.planned},
                   {"ok", r.ok},
                   {"failed", r.failed},
                   {"dropped", r.dropped},
                   {"rows", r.rows},
                   {"upstream_calls", r.upstream_calls},
                   {"failures", std::move(failures)}};
  if (!instance.empty()) out["instance"] = instance;
  return out;
}

// A cycle another instance held: no figures of ours, only who held it (null when unknown).
json::object ElsewhereJson(const ElsewhereCycle& c) {
  return {{"cycle_time", CycleTimeIso(c.cycle_time)},
          {"instance", c.instance.empty() ? json::value(nullptr) : json::value(c.instance)}};
}

// The last kRecent cycles of `j`, this instance's and others', oldest first (by start; at equal
// starts this instance's first).
json::array RecentJson(const JobStatus& j, const std::string& instance, std::size_t keep) {
  std::vector<json::object> merged;
  auto ours = j.recent.begin();
  auto theirs = j.elsewhere.begin();
  while (ours != j.recent.end() || theirs != j.elsewhere.end()) {
    if (theirs == j.elsewhere.end() ||
        (ours != j.recent.end() && ours->cycle_time <= theirs->cycle_time)) {
      merged.push_back(CycleJson(*ours++, instance));
    } else {
      merged.push_back(ElsewhereJson(*theirs++));
    }
  }
  json::array out;
  const auto skip = merged.size() > keep ? merged.size() - keep : 0;
  for (auto it = merged.begin() + static_cast<std::ptrdiff_t>(skip); it != merged.end(); ++it) {
    out.push_back(std::move(*it));
  }
  return out;
}

}  // namespace

void JobsBoard::Register(const config::JobConfig& job, std::size_t codes) {
  JobStatus s;
  s.job = job;
  s.codes = codes;
  jobs_.push_back(std::move(s));
}

JobStatus* JobsBoard::Find(const std::string& name) {
  for (auto& j : jobs_) {
    if (j.job.name == name) return &j;
  }
  return nullptr;
}

void JobsBoard::Scheduled(const std::string& job, common::WallTime next_run) {
  if (auto* j = Find(job)) j->next_run = next_run;
}

void JobsBoard::Started(const std::string& job) {
  if (auto* j = Find(job)) j->running = true;
}

void JobsBoard::Finished(const CycleReport& report, common::WallTime now) {
  auto* j = Find(report.job);
  if (j == nullptr) return;
  j->running = false;
  j->last_finished = now;
  j->totals.cycles++;
  j->totals.ok += static_cast<std::uint64_t>(report.ok);
  j->totals.failed += static_cast<std::uint64_t>(report.failed);
  j->totals.dropped += static_cast<std::uint64_t>(report.dropped);
  j->totals.rows += report.rows;
  j->recent.push_back(report);
  if (j->recent.size() > kRecent) j->recent.pop_front();
}

void JobsBoard::Skipped(const std::string& job, std::uint64_t starts) {
  if (auto* j = Find(job)) j->totals.skipped_starts += starts;
}

void JobsBoard::RanElsewhere(const std::string& job, common::WallTime start, std::string instance) {
  auto* j = Find(job);
  if (j == nullptr) return;
  j->totals.elsewhere++;
  j->elsewhere.push_back({common::FormatCompactKst(start), std::move(instance)});
  if (j->elsewhere.size() > kRecent) j->elsewhere.pop_front();
}

std::vector<std::string> JobsBoard::Problems() const {
  std::vector<std::string> out;
  for (const auto& j : jobs_) {
    if (j.recent.size() < kDeadCycles) continue;
    std::map<std::string, int> errors;
    bool dead = true;
    for (auto it = j.recent.end() - kDeadCycles; it != j.recent.end(); ++it) {
      dead = dead && it->planned > 0 && it->ok == 0 && it->failed > 0;
      for (const auto& [code, n] : it->failures) errors[code] += n;
    }
    if (!dead) continue;
    auto top = std::max_element(errors.begin(), errors.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
    out.push_back(fmt::format("job {}: its last {} cycles collected nothing{}", j.job.name,
                              kDeadCycles,
                              top == errors.end() ? "" : fmt::format(" (mostly {})", top->first)));
  }
  return out;
}

std::vector<DatasetFreshness> SummariseFreshness(const std::vector<store::Freshness>& ages) {
  std::map<std::string, std::vector<double>> by_dataset;
  for (const auto& a : ages) by_dataset[a.dataset].push_back(a.age_s);
  std::vector<DatasetFreshness> out;
  for (auto& [dataset, values] : by_dataset) {
    std::sort(values.begin(), values.end());
    out.push_back(
        {dataset, values.size(), values.back(), values[values.size() / 2], values.front()});
  }
  return out;
}

json::object JobsBoard::Json(common::WallTime now,
                             const std::vector<store::Freshness>& ages) const {
  json::array jobs;
  for (const auto& j : jobs_) {
    json::array recent = RecentJson(j, instance_, kRecent);
    json::object job{{"name", j.job.name},
                     {"dataset", j.job.dataset},
                     {"lane", j.job.lane},
                     {"every_s", std::chrono::duration<double>(j.job.every).count()},
                     {"codes", j.codes},
                     {"running", j.running},
                     {"next_run", j.next_run ? json::value(common::FormatIsoKst(*j.next_run))
                                             : json::value(nullptr)},
                     {"cycles", j.totals.cycles}};
    if (!instance_.empty()) job["cycles_elsewhere"] = j.totals.elsewhere;
    job["last"] = recent.empty() ? json::value(nullptr) : recent.back();
    job["recent"] = std::move(recent);
    jobs.push_back(std::move(job));
  }
  json::array freshness;
  for (const auto& f : SummariseFreshness(ages)) {
    freshness.push_back(json::object{{"dataset", f.dataset},
                                     {"values", f.values},
                                     {"oldest_age_s", f.oldest_s},
                                     {"median_age_s", f.median_s},
                                     {"newest_age_s", f.newest_s}});
  }
  json::object doc{{"time", common::FormatIsoKst(now)}};
  if (!instance_.empty()) doc["instance"] = instance_;
  doc["jobs"] = std::move(jobs);
  doc["freshness"] = std::move(freshness);
  return doc;
}

}  // namespace kisgate::collect

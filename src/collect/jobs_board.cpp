#include "collect/jobs_board.hpp"

#include <algorithm>
#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/kst.hpp"

namespace kisgate::collect {

namespace {

common::CycleSnapshot Ours(const CycleReport& r) {
  common::CycleSnapshot c;
  c.cycle_time = r.cycle_time;
  c.seconds = r.seconds;
  c.planned = r.planned;
  c.ok = r.ok;
  c.failed = r.failed;
  c.dropped = r.dropped;
  c.rows = r.rows;
  c.upstream_calls = r.upstream_calls;
  c.failures = r.failures;
  return c;
}

common::CycleSnapshot Theirs(const ElsewhereCycle& e) {
  common::CycleSnapshot c;
  c.cycle_time = e.cycle_time;
  c.elsewhere = true;
  c.instance = e.instance;
  return c;
}

// The last `keep` cycles of `j`, this instance's and others', oldest first (by start; at equal
// starts this instance's first).
std::vector<common::CycleSnapshot> Recent(const JobStatus& j, std::size_t keep) {
  std::vector<common::CycleSnapshot> merged;
  merged.reserve(j.recent.size() + j.elsewhere.size());
  auto ours = j.recent.begin();
  auto theirs = j.elsewhere.begin();
  while (ours != j.recent.end() || theirs != j.elsewhere.end()) {
    if (theirs == j.elsewhere.end() ||
        (ours != j.recent.end() && ours->cycle_time <= theirs->cycle_time)) {
      merged.push_back(Ours(*ours++));
    } else {
      merged.push_back(Theirs(*theirs++));
    }
  }
  if (merged.size() > keep) {
    merged.erase(merged.begin(), merged.end() - static_cast<std::ptrdiff_t>(keep));
  }
  return merged;
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

common::JobsSnapshot JobsBoard::Snapshot() const {
  common::JobsSnapshot out;
  out.instance = instance_;
  for (const auto& j : jobs_) {
    common::JobSnapshot job;
    job.name = j.job.name;
    job.dataset = j.job.dataset;
    job.lane = j.job.lane;
    job.every = j.job.every;
    job.codes = j.codes;
    job.running = j.running;
    job.next_run = j.next_run;
    job.cycles = j.totals.cycles;
    job.cycles_elsewhere = j.totals.elsewhere;
    job.recent = Recent(j, kRecent);
    out.jobs.push_back(std::move(job));
  }
  out.problems = Problems();
  return out;
}

}  // namespace kisgate::collect

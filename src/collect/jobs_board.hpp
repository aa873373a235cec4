#pragma once
// The scheduler's state as /v1/jobs, /readyz, /metrics and the dashboard show it: each registered
// job, its next run, whether a cycle runs now, its totals and its recent cycles. The Scheduler
// writes it; the API reads a plain copy (Snapshot: common/jobs_snapshot.hpp) through a function
// the app gives it, and /metrics gets the jobs' families from collect/metrics.hpp.
//
// Several instances sharing jobs (issue 13): each cycle runs on one instance. The board then
// carries this instance's name (SetInstance) beside each cycle it ran, and records each cycle
// another instance held (RanElsewhere: its start and that instance's name, no rows of ours), so
// /v1/jobs on any instance says which instance ran each cycle. With no name set (one instance)
// the snapshot has no instance and every cycle is this one's.
//
// Thread-safety: none; it lives on the io_context's thread, like the scheduler and the API.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "collect/collector.hpp"
#include "common/clock.hpp"
#include "common/jobs_snapshot.hpp"
#include "config/config.hpp"

namespace kisgate::collect {

struct JobTotals {
  std::uint64_t cycles = 0, ok = 0, failed = 0, dropped = 0, rows = 0;
  // Starts not run because the cycle before ended too late (held up past the next start).
  std::uint64_t skipped_starts = 0;
  // Cycles another instance held (not counted in `cycles`).
  std::uint64_t elsewhere = 0;
};

// A cycle another instance held: when it started and which instance held it ("" when unknown).
struct ElsewhereCycle {
  std::string cycle_time;  // KST YYYYMMDDHHMMSS of the cycle's start, as CycleReport's
  std::string instance;
};

struct JobStatus {
  config::JobConfig job;
  std::size_t codes = 0;
  bool running = false;
  std::optional<common::WallTime> next_run;
  std::optional<common::WallTime> last_finished;
  JobTotals totals;
  std::deque<CycleReport> recent;        // this instance's cycles, oldest first
  std::deque<ElsewhereCycle> elsewhere;  // other instances' cycles, oldest first
};

class JobsBoard {
 public:
  static constexpr std::size_t kRecent = 20;

  void Register(const config::JobConfig& job, std::size_t codes);
  void Scheduled(const std::string& job, common::WallTime next_run);
  void Started(const std::string& job);
  void Finished(const CycleReport& report, common::WallTime now);
  void Skipped(const std::string& job, std::uint64_t starts);
  // The cycle of `job` at `start` is `instance`'s, not this one's.
  void RanElsewhere(const std::string& job, common::WallTime start, std::string instance);
  // This instance's name when instances share jobs; empty alone.
  void SetInstance(std::string instance) { instance_ = std::move(instance); }
  const std::string& instance() const { return instance_; }

  const std::vector<JobStatus>& jobs() const { return jobs_; }
  // What keeps collection from being ready, for /readyz: each job whose last kDeadCycles cycles
  // all failed every code (a dead key, a refused token), named with its most frequent error.
  static constexpr std::size_t kDeadCycles = 3;
  std::vector<std::string> Problems() const;
  // A copy for /v1/jobs and /readyz: each job's "recent" merges this instance's cycles and the
  // ones other instances held, in order of start (at equal starts this instance's first), the
  // newest kRecent of them; and Problems().
  common::JobsSnapshot Snapshot() const;

 private:
  JobStatus* Find(const std::string& name);
  std::vector<JobStatus> jobs_;
  std::string instance_;
};

}  // namespace kisgate::collect

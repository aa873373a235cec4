#pragma once
// JobsSnapshot: the scheduled jobs' state at one moment, as plain data, for the readers that must
// not depend on the scheduler (the API's /v1/jobs and /readyz). collect::JobsBoard fills it
// (JobsBoard::Snapshot); the app hands the API a function that takes one.
//
// Several instances sharing jobs (issue 13): `instance` names this one, and each job's `recent`
// holds both this instance's cycles (with their figures) and the cycles other instances held
// (only their start and instance). With one instance `instance` is empty and every cycle is ours.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace kisgate::common {

struct CycleSnapshot {
  std::string cycle_time;  // KST YYYYMMDDHHMMSS of the cycle's start ("YYYYMMDD" for a date alone)
  // Held by another instance: then only `instance` ("" when unknown) is known, not the figures.
  bool elsewhere = false;
  std::string instance;
  double seconds = 0;
  int planned = 0, ok = 0, failed = 0, dropped = 0;
  std::size_t rows = 0;
  int upstream_calls = 0;
  std::map<std::string, int> failures;  // by error code
};

struct JobSnapshot {
  std::string name;
  std::string dataset;
  std::string lane;
  std::chrono::milliseconds every{};
  std::size_t codes = 0;
  bool running = false;
  std::optional<WallTime> next_run;
  std::uint64_t cycles = 0;            // this instance's
  std::uint64_t cycles_elsewhere = 0;  // other instances'
  std::vector<CycleSnapshot> recent;   // the newest of both kinds, oldest first
};

struct JobsSnapshot {
  std::string instance;  // this instance's name when instances share jobs; empty alone
  std::vector<JobSnapshot> jobs;
  // What keeps collection from being ready (for /readyz), each a sentence naming the job.
  std::vector<std::string> problems;
};

}  // namespace kisgate::common

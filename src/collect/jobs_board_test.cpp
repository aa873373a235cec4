#include "collect/jobs_board.hpp"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "collect/metrics.hpp"
#include "common/kst.hpp"

namespace kisgate::collect {
namespace {

using namespace std::chrono_literals;

TEST(JobsBoard, KeepsRecentCyclesAndTotals) {
  config::JobConfig job;
  job.name = "price";
  job.dataset = "price";
  JobsBoard board;
  board.Register(job, 53);
  const auto now = *common::ParseKstDateTime("2026-11-24 10:00:30");
  board.Scheduled("price", now + 30s);
  board.Started("price");
  EXPECT_TRUE(board.jobs()[0].running);
  for (int i = 0; i < 25; ++i) {
    CycleReport r;
    r.job = "price";
    r.cycle_time = "20261124100000";
    r.planned = 53;
    r.ok = 52;
    r.failed = 1;
    r.failures["EGW00201"] = 1;
    board.Finished(r, now);
  }
  const auto snapshot = board.Snapshot();
  EXPECT_TRUE(snapshot.instance.empty());
  ASSERT_EQ(snapshot.jobs.size(), 1u);
  const auto& j = snapshot.jobs[0];
  EXPECT_EQ(j.cycles, 25u);
  EXPECT_FALSE(j.running);
  EXPECT_EQ(j.codes, 53u);
  ASSERT_EQ(j.recent.size(), JobsBoard::kRecent);
  EXPECT_EQ(j.recent.back().cycle_time, "20261124100000");
  EXPECT_FALSE(j.recent.back().elsewhere);
  EXPECT_EQ(j.recent.back().failures.at("EGW00201"), 1);
  EXPECT_EQ(j.next_run, now + 30s);
}

// /readyz must not say ready while collection is dead (issue 11: the API re-issued the token while
// every job failed): three cycles in a row that collected nothing make a problem; one good one
// clears it.
TEST(JobsBoard, NamesDeadJobs) {
  config::JobConfig job;
  job.name = "price";
  job.dataset = "price";
  JobsBoard board;
  board.Register(job, 4);
  const auto now = *common::ParseKstDateTime("2026-11-24 10:00:30");
  auto cycle = [&](int ok, const std::string& error) {
    CycleReport r;
    r.job = "price";
    r.planned = 4;
    r.ok = ok;
    r.failed = 4 - ok;
    if (ok < 4) r.failures[error] = 4 - ok;
    board.Finished(r, now);
  };
  cycle(0, "EGW00133");
  cycle(0, "EGW00133");
  EXPECT_TRUE(board.Problems().empty());  // two failed cycles are bad luck, not yet dead
  cycle(0, "connect_refused");
  ASSERT_EQ(board.Problems().size(), 1u);
  EXPECT_EQ(board.Problems()[0],
            "job price: its last 3 cycles collected nothing (mostly EGW00133)");
  EXPECT_EQ(board.Snapshot().problems, board.Problems());  // what /readyz reads
  cycle(1, "timeout");
  EXPECT_TRUE(board.Problems().empty());
}

// The snapshot /v1/jobs is written from (api/jobs_document.cpp): each job's settings and totals,
// and its cycles with their figures, oldest first.
TEST(JobsBoard, SnapshotCopiesJobsAndCycles) {
  JobsBoard board;
  config::JobConfig a;
  a.name = "price";
  a.dataset = "price";
  a.every = 30s;
  a.lane = "interactive";
  config::JobConfig b;
  b.name = "bars";
  b.dataset = "bars_minute";
  b.every = 1500ms;
  board.Register(a, 53);
  board.Register(b, 2);
  const auto now = *common::ParseKstDateTime("2026-11-24 10:00:30");
  board.Scheduled("price", now + 30s);
  board.Started("bars");
  for (const char* cycle_time : {"20261124100000", "20261124"}) {
    CycleReport r;
    r.job = "price";
    r.cycle_time = cycle_time;
    r.planned = 53;
    r.ok = 50;
    r.failed = 2;
    r.dropped = 1;
    r.failures["timeout"] = 2;
    r.rows = 49;
    r.upstream_calls = 55;
    r.seconds = 12.25;
    board.Finished(r, now);
  }
  const auto s = board.Snapshot();
  ASSERT_EQ(s.jobs.size(), 2u);
  const auto& price = s.jobs[0];
  EXPECT_EQ(price.name, "price");
  EXPECT_EQ(price.dataset, "price");
  EXPECT_EQ(price.lane, "interactive");
  EXPECT_EQ(price.every, 30s);
  EXPECT_EQ(price.codes, 53u);
  EXPECT_FALSE(price.running);
  EXPECT_EQ(price.next_run, now + 30s);
  EXPECT_EQ(price.cycles, 2u);
  ASSERT_EQ(price.recent.size(), 2u);
  EXPECT_EQ(price.recent[0].cycle_time, "20261124100000");
  EXPECT_EQ(price.recent[1].cycle_time, "20261124");
  const auto& c = price.recent[1];
  EXPECT_FALSE(c.elsewhere);
  EXPECT_EQ(c.planned, 53);
  EXPECT_EQ(c.ok, 50);
  EXPECT_EQ(c.failed, 2);
  EXPECT_EQ(c.dropped, 1);
  EXPECT_EQ(c.rows, 49u);
  EXPECT_EQ(c.upstream_calls, 55);
  EXPECT_DOUBLE_EQ(c.seconds, 12.25);
  EXPECT_EQ(c.failures, (std::map<std::string, int>{{"timeout", 2}}));
  const auto& bars = s.jobs[1];
  EXPECT_TRUE(bars.running);
  EXPECT_FALSE(bars.next_run);
  EXPECT_EQ(bars.every, 1500ms);
  EXPECT_TRUE(bars.recent.empty());
}

// When instances share jobs the snapshot names this instance, counts the cycles others held, and
// "recent" interleaves this instance's cycles and the others' (their name, or "" when unknown) by
// start.
TEST(JobsBoard, SnapshotNamesTheInstanceOfEachCycle) {
  JobsBoard board;
  board.SetInstance("kisgate-a");
  config::JobConfig a;
  a.name = "price";
  a.dataset = "price";
  board.Register(a, 53);
  const auto now = *common::ParseKstDateTime("2026-11-24 10:01:40");
  for (const char* cycle_time : {"20261124100000", "20261124100100"}) {
    CycleReport r;
    r.job = "price";
    r.cycle_time = cycle_time;
    r.ok = 53;
    board.Finished(r, now);
  }
  board.RanElsewhere("price", *common::ParseKstDateTime("2026-11-24 10:00:30"), "kisgate-b");
  board.RanElsewhere("price", *common::ParseKstDateTime("2026-11-24 10:01:30"), "");
  const auto s = board.Snapshot();
  EXPECT_EQ(s.instance, "kisgate-a");
  const auto& j = s.jobs.at(0);
  EXPECT_EQ(j.cycles, 2u);
  EXPECT_EQ(j.cycles_elsewhere, 2u);
  std::vector<std::string> who;
  for (const auto& c : j.recent) {
    who.push_back(c.cycle_time + " " + (c.elsewhere ? c.instance : "ours"));
  }
  EXPECT_EQ(who, (std::vector<std::string>{"20261124100000 ours", "20261124100030 kisgate-b",
                                           "20261124100100 ours", "20261124100130 "}));
  EXPECT_EQ(j.recent[2].ok, 53);
}

// "recent" stays the last kRecent cycles whoever ran them.
TEST(JobsBoard, RecentKeepsTheNewestCyclesOfEveryInstance) {
  JobsBoard board;
  board.SetInstance("kisgate-a");
  config::JobConfig job;
  job.name = "price";
  job.dataset = "price";
  board.Register(job, 1);
  auto t = *common::ParseKstDateTime("2026-11-24 10:00:00");
  for (int i = 0; i < 30; ++i, t += 10s) {
    if (i % 3 == 0) {
      CycleReport r;
      r.job = "price";
      r.cycle_time = common::FormatCompactKst(t);
      board.Finished(r, t);
    } else {
      board.RanElsewhere("price", t, "kisgate-b");
    }
  }
  const auto s = board.Snapshot();
  const auto& j = s.jobs.at(0);
  ASSERT_EQ(j.recent.size(), JobsBoard::kRecent);
  EXPECT_EQ(j.recent.front().cycle_time, "20261124100140");
  EXPECT_EQ(j.recent.back().cycle_time, "20261124100450");
  EXPECT_TRUE(j.recent.back().elsewhere);
  EXPECT_EQ(j.recent.back().instance, "kisgate-b");
  EXPECT_EQ(j.cycles, 10u);
  EXPECT_EQ(j.cycles_elsewhere, 20u);
}

// Each job's counters are exported, the starts it skipped (a cycle ran past them) among them.
TEST(JobsBoard, MetricsExportEachJobsCounters) {
  config::JobConfig job;
  job.name = "bars";
  job.dataset = "bars_minute";
  JobsBoard board;
  board.Register(job, 2);
  CycleReport r;
  r.job = "bars";
  r.planned = 2;
  r.ok = 2;
  r.rows = 7;
  board.Finished(r, common::WallTime{});
  board.Skipped("bars", 2);
  common::MetricsWriter w;
  WriteMetrics(w, board);
  const auto& text = w.text();
  EXPECT_NE(
      text.find("kisgate_collect_skipped_starts_total{job=\"bars\",dataset=\"bars_minute\"} 2\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("kisgate_collect_cycles_total{job=\"bars\",dataset=\"bars_minute\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("kisgate_collect_rows_total{job=\"bars\",dataset=\"bars_minute\"} 7\n"),
            std::string::npos);
  EXPECT_NE(text.find("kisgate_collect_calls_total{job=\"bars\",dataset=\"bars_minute\","
                      "result=\"ok\"} 2\n"),
            std::string::npos);
}

}  // namespace
}  // namespace kisgate::collect

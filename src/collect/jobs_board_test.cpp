#include "collect/jobs_board.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

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
  std::vector<store::Freshness> ages = {
      {"price", "005930", {}, 3}, {"price", "000660", {}, 1}, {"price", "035420", {}, 2}};
  auto doc = board.Json(now, ages);
  const auto& j = doc.at("jobs").as_array()[0];
  EXPECT_EQ(j.at("cycles").as_uint64(), 25u);
  EXPECT_FALSE(j.at("running").as_bool());
  EXPECT_EQ(j.at("recent").as_array().size(), JobsBoard::kRecent);
  EXPECT_EQ(j.at("last").at("cycle_time").as_string(), "2026-11-24T10:00:00+09:00");
  EXPECT_EQ(j.at("last").at("failures").at("EGW00201").as_int64(), 1);
  EXPECT_EQ(j.at("next_run").as_string(), "2026-11-24T10:01:00+09:00");
  const auto& f = doc.at("freshness").as_array()[0];
  EXPECT_EQ(f.at("values").as_uint64(), 3u);
  EXPECT_DOUBLE_EQ(f.at("oldest_age_s").as_double(), 3);
  EXPECT_DOUBLE_EQ(f.at("median_age_s").as_double(), 2);
  EXPECT_DOUBLE_EQ(f.at("newest_age_s").as_double(), 1);
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
  cycle(1, "timeout");
  EXPECT_TRUE(board.Problems().empty());
}

// The /v1/jobs document byte for byte, as the dashboard and API clients read it (it was api's
// before the board moved to collect/; this is that version's output).
TEST(JobsBoard, JsonDocumentIsStable) {
  JobsBoard board;
  config::JobConfig a;
  a.name = "price";
  a.dataset = "price";
  a.every = 30s;
  a.lane = "batch";
  config::JobConfig b;
  b.name = "bars";
  b.dataset = "bars_minute";
  b.every = 1500ms;
  board.Register(a, 53);
  board.Register(b, 2);
  const auto now = *common::ParseKstDateTime("2026-11-24 10:00:30");
  board.Scheduled("price", now + 30s);
  board.Started("bars");
  for (const char* cycle_time : {"20261124100000", "20261124", "2026112410"}) {
    CycleReport r;
    r.job = "price";
    r.cycle_time = cycle_time;
    r.planned = 53;
    r.ok = 50;
    r.failed = 2;
    r.dropped = 1;
    r.failures["EGW00201"] = 1;
    r.failures["timeout"] = 1;
    r.rows = 50;
    r.upstream_calls = 55;
    r.seconds = 12.25;
    board.Finished(r, now);
  }
  std::vector<store::Freshness> ages = {
      {"price", "005930", {}, 3.5}, {"price", "000660", {}, 1}, {"bars_minute", "005930", {}, 2}};
  EXPECT_EQ(
      boost::json::serialize(board.Json(now, ages)),
      R"json({"time":"2026-11-24T10:00:30+09:00","jobs":[{"name":"price","dataset":"price","lane":"batch","every_s":3E1,"codes":53,"running":false,"next_run":"2026-11-24T10:01:00+09:00","cycles":3,"last":{"cycle_time":"2026-11-24","seconds":1.225E1,"planned":53,"ok":50,"failed":2,"dropped":1,"rows":50,"upstream_calls":55,"failures":{"EGW00201":1,"timeout":1}},"recent":[{"cycle_time":"2026-11-24T10:00:00+09:00","seconds":1.225E1,"planned":53,"ok":50,"failed":2,"dropped":1,"rows":50,"upstream_calls":55,"failures":{"EGW00201":1,"timeout":1}},{"cycle_time":"2026-11-24","seconds":1.225E1,"planned":53,"ok":50,"failed":2,"dropped":1,"rows":50,"upstream_calls":55,"failures":{"EGW00201":1,"timeout":1}},{"cycle_time":"2026-11-24","seconds":1.225E1,"planned":53,"ok":50,"failed":2,"dropped":1,"rows":50,"upstream_calls":55,"failures":{"EGW00201":1,"timeout":1}}]},{"name":"bars","dataset":"bars_minute","lane":"batch","every_s":1.5E0,"codes":2,"running":true,"next_run":null,"cycles":0,"last":null,"recent":[]}],"freshness":[{"dataset":"bars_minute","values":1,"oldest_age_s":2E0,"median_age_s":2E0,"newest_age_s":2E0},{"dataset":"price","values":2,"oldest_age_s":3.5E0,"median_age_s":3.5E0,"newest_age_s":1E0}]})json");
}

// The same document when instances share jobs: it names this instance, each job counts the
// cycles others held, and "recent" interleaves this instance's cycles (with its name) and the
// others' (their name, or null when unknown) by start, the newest being "last".
TEST(JobsBoard, JsonDocumentNamesTheInstanceOfEachCycle) {
  JobsBoard board;
  board.SetInstance("kisgate-a");
  config::JobConfig a;
  a.name = "price";
  a.dataset = "price";
  a.every = 30s;
  a.lane = "batch";
  board.Register(a, 53);
  const auto now = *common::ParseKstDateTime("2026-11-24 10:01:40");
  board.Scheduled("price", now + 20s);
  for (const char* cycle_time : {"20261124100000", "20261124100100"}) {
    CycleReport r;
    r.job = "price";
    r.cycle_time = cycle_time;
    r.planned = 53;
    r.ok = 53;
    r.rows = 53;
    r.upstream_calls = 53;
    r.seconds = 2.5;
    board.Finished(r, now);
  }
  board.RanElsewhere("price", *common::ParseKstDateTime("2026-11-24 10:00:30"), "kisgate-b");
  board.RanElsewhere("price", *common::ParseKstDateTime("2026-11-24 10:01:30"), "");
  EXPECT_EQ(
      boost::json::serialize(board.Json(now, {})),
      R"json({"time":"2026-11-24T10:01:40+09:00","instance":"kisgate-a","jobs":[{"name":"price","dataset":"price","lane":"batch","every_s":3E1,"codes":53,"running":false,"next_run":"2026-11-24T10:02:00+09:00","cycles":2,"cycles_elsewhere":2,"last":{"cycle_time":"2026-11-24T10:01:30+09:00","instance":null},"recent":[{"cycle_time":"2026-11-24T10:00:00+09:00","seconds":2.5E0,"planned":53,"ok":53,"failed":0,"dropped":0,"rows":53,"upstream_calls":53,"failures":{},"instance":"kisgate-a"},{"cycle_time":"2026-11-24T10:00:30+09:00","instance":"kisgate-b"},{"cycle_time":"2026-11-24T10:01:00+09:00","seconds":2.5E0,"planned":53,"ok":53,"failed":0,"dropped":0,"rows":53,"upstream_calls":53,"failures":{},"instance":"kisgate-a"},{"cycle_time":"2026-11-24T10:01:30+09:00","instance":null}]}],"freshness":[]})json");
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
  const auto doc = board.Json(t, {});
  const auto& j = doc.at("jobs").as_array()[0];
  const auto& recent = j.at("recent").as_array();
  ASSERT_EQ(recent.size(), JobsBoard::kRecent);
  EXPECT_EQ(recent.front().at("cycle_time").as_string(), "2026-11-24T10:01:40+09:00");
  EXPECT_EQ(j.at("last").at("cycle_time").as_string(), "2026-11-24T10:04:50+09:00");
  EXPECT_EQ(j.at("last").at("instance").as_string(), "kisgate-b");
  EXPECT_EQ(j.at("cycles").as_uint64(), 10u);
  EXPECT_EQ(j.at("cycles_elsewhere").as_uint64(), 20u);
}

}  // namespace
}  // namespace kisgate::collect

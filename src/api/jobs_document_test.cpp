#include "api/jobs_document.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/kst.hpp"

namespace kisgate::api {
namespace {

using namespace std::chrono_literals;

common::CycleSnapshot Ours(std::string cycle_time) {
  common::CycleSnapshot c;
  c.cycle_time = std::move(cycle_time);
  return c;
}

common::CycleSnapshot Theirs(std::string cycle_time, std::string instance) {
  common::CycleSnapshot c;
  c.cycle_time = std::move(cycle_time);
  c.elsewhere = true;
  c.instance = std::move(instance);
  return c;
}

// The /v1/jobs document byte for byte, as the dashboard and API clients read it (it was
// collect::JobsBoard's before the API rendered it from a snapshot; this is that version's output).
TEST(JobsDocument, IsStable) {
  common::JobsSnapshot s;
  common::JobSnapshot price;
  price.name = "price";
  price.dataset = "price";
  price.lane = "batch";
  price.every = 30s;
  price.codes = 53;
  const auto now = *common::ParseKstDateTime("2026-11-24 10:00:30");
  price.next_run = now + 30s;
  price.cycles = 3;
  for (const char* cycle_time : {"20261124100000", "20261124", "2026112410"}) {
    auto c = Ours(cycle_time);
    c.planned = 53;
    c.ok = 50;
    c.failed = 2;
    c.dropped = 1;
    c.failures["EGW00201"] = 1;
    c.failures["timeout"] = 1;
    c.rows = 50;
    c.upstream_calls = 55;
    c.seconds = 12.25;
    price.recent.push_back(c);
  }
  common::JobSnapshot bars;
  bars.name = "bars";
  bars.dataset = "bars_minute";
  bars.lane = "batch";
  bars.every = 1500ms;
  bars.codes = 2;
  bars.running = true;
  s.jobs = {price, bars};
  const std::vector<store::Freshness> ages = {
      {"price", "005930", {}, 3.5}, {"price", "000660", {}, 1}, {"bars_minute", "005930", {}, 2}};
  EXPECT_EQ(
      boost::json::serialize(JobsDocument(s, now, store::SummariseFreshness(ages))),
      R"json({"time":"2026-11-24T10:00:30.000+09:00","jobs":[{"name":"price","dataset":"price","lane":"batch","every_s":3E1,"codes":53,"running":false,"next_run":"2026-11-24T10:01:00.000+09:00","cycles":3,"last":{"cycle_time":"2026-11-24","seconds":1.225E1,"planned":53,"ok":50,"failed":2,"dropped":1,"rows":50,"upstream_calls":55,"failures":{"EGW00201":1,"timeout":1}},"recent":[{"cycle_time":"2026-11-24T10:00:00.000+09:00","seconds":1.225E1,"planned":53,"ok":50,"failed":2,"dropped":1,"rows":50,"upstream_calls":55,"failures":{"EGW00201":1,"timeout":1}},{"cycle_time":"2026-11-24","seconds":1.225E1,"planned":53,"ok":50,"failed":2,"dropped":1,"rows":50,"upstream_calls":55,"failures":{"EGW00201":1,"timeout":1}},{"cycle_time":"2026-11-24","seconds":1.225E1,"planned":53,"ok":50,"failed":2,"dropped":1,"rows":50,"upstream_calls":55,"failures":{"EGW00201":1,"timeout":1}}]},{"name":"bars","dataset":"bars_minute","lane":"batch","every_s":1.5E0,"codes":2,"running":true,"next_run":null,"cycles":0,"last":null,"recent":[]}],"freshness":[{"dataset":"bars_minute","values":1,"oldest_age_s":2E0,"median_age_s":2E0,"newest_age_s":2E0},{"dataset":"price","values":2,"oldest_age_s":3.5E0,"median_age_s":3.5E0,"newest_age_s":1E0}]})json");
}

// The same document when instances share jobs: it names this instance, each job counts the
// cycles others held, and "recent" holds this instance's cycles (with its name) and the others'
// (their name, or null when unknown) in the snapshot's order, the newest being "last".
TEST(JobsDocument, NamesTheInstanceOfEachCycle) {
  common::JobsSnapshot s;
  s.instance = "kisgate-a";
  common::JobSnapshot price;
  price.name = "price";
  price.dataset = "price";
  price.lane = "batch";
  price.every = 30s;
  price.codes = 53;
  const auto now = *common::ParseKstDateTime("2026-11-24 10:01:40");
  price.next_run = now + 20s;
  price.cycles = 2;
  price.cycles_elsewhere = 2;
  for (const char* cycle_time : {"20261124100000", "20261124100100"}) {
    auto c = Ours(cycle_time);
    c.planned = 53;
    c.ok = 53;
    c.rows = 53;
    c.upstream_calls = 53;
    c.seconds = 2.5;
    price.recent.push_back(c);
  }
  price.recent.insert(price.recent.begin() + 1, Theirs("20261124100030", "kisgate-b"));
  price.recent.push_back(Theirs("20261124100130", ""));
  s.jobs = {price};
  EXPECT_EQ(
      boost::json::serialize(JobsDocument(s, now, {})),
      R"json({"time":"2026-11-24T10:01:40.000+09:00","instance":"kisgate-a","jobs":[{"name":"price","dataset":"price","lane":"batch","every_s":3E1,"codes":53,"running":false,"next_run":"2026-11-24T10:02:00.000+09:00","cycles":2,"cycles_elsewhere":2,"last":{"cycle_time":"2026-11-24T10:01:30.000+09:00","instance":null},"recent":[{"cycle_time":"2026-11-24T10:00:00.000+09:00","seconds":2.5E0,"planned":53,"ok":53,"failed":0,"dropped":0,"rows":53,"upstream_calls":53,"failures":{},"instance":"kisgate-a"},{"cycle_time":"2026-11-24T10:00:30.000+09:00","instance":"kisgate-b"},{"cycle_time":"2026-11-24T10:01:00.000+09:00","seconds":2.5E0,"planned":53,"ok":53,"failed":0,"dropped":0,"rows":53,"upstream_calls":53,"failures":{},"instance":"kisgate-a"},{"cycle_time":"2026-11-24T10:01:30.000+09:00","instance":null}]}],"freshness":[]})json");
}

// Freshness per data set: how many values, and the oldest, median and newest age.
TEST(JobsDocument, FreshnessSummarisesTheAgesPerDataSet) {
  const std::vector<store::Freshness> ages = {
      {"price", "005930", {}, 3}, {"price", "000660", {}, 1}, {"price", "035420", {}, 2}};
  const auto doc = JobsDocument({}, common::WallTime{}, store::SummariseFreshness(ages));
  EXPECT_TRUE(doc.at("jobs").as_array().empty());
  const auto& f = doc.at("freshness").as_array().at(0);
  EXPECT_EQ(f.at("dataset").as_string(), "price");
  EXPECT_EQ(f.at("values").as_uint64(), 3u);
  EXPECT_DOUBLE_EQ(f.at("oldest_age_s").as_double(), 3);
  EXPECT_DOUBLE_EQ(f.at("median_age_s").as_double(), 2);
  EXPECT_DOUBLE_EQ(f.at("newest_age_s").as_double(), 1);
}

}  // namespace
}  // namespace kisgate::api

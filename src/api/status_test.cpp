#include "api/status.hpp"

#include <algorithm>
#include <sstream>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "api/metrics.hpp"
#include "common/kst.hpp"
#include "gate/metrics.hpp"

namespace kisgate::api {
namespace {

using namespace std::chrono_literals;

TEST(Status, HistogramQuantilesInterpolateInsideBuckets) {
  std::array<std::uint64_t, gate::kWaitBucketCount> b{};
  EXPECT_FALSE(HistogramQuantileMs(b, 0.5));
  b[7] = 100;  // all in (40, 50] ms
  EXPECT_DOUBLE_EQ(*HistogramQuantileMs(b, 0.5), 45.0);
  EXPECT_DOUBLE_EQ(*HistogramQuantileMs(b, 0.99), 49.9);
  b[0] = 100;  // and as many in [0, 1] ms
  EXPECT_LE(*HistogramQuantileMs(b, 0.5), 1.0);
  b = {};
  b.back() = 3;  // beyond the last bound: its lower bound is all that is known
  EXPECT_DOUBLE_EQ(*HistogramQuantileMs(b, 0.99), 60000.0);
}

// A batch call queued behind a 15-s cycle reads as about 15 s, not as the old top bound of 5 s.
TEST(Status, LongBatchWaitsKeepTheirSize) {
  std::array<std::uint64_t, gate::kWaitBucketCount> b{};
  // (10, 15] s, where the gate counts a 15-s wait.
  const auto bucket = std::find(gate::kWaitBucketsMs.begin(), gate::kWaitBucketsMs.end(), 15'000);
  ASSERT_NE(bucket, gate::kWaitBucketsMs.end());
  b[static_cast<std::size_t>(bucket - gate::kWaitBucketsMs.begin())] = 10;
  EXPECT_GT(*HistogramQuantileMs(b, 0.5), 10'000.0);
  EXPECT_LE(*HistogramQuantileMs(b, 0.99), 15'000.0);
}

gate::GatewayStats Stats(std::uint64_t upstream, std::uint64_t admitted, std::size_t bucket,
                         std::uint64_t in_bucket) {
  gate::GatewayStats s;
  gate::KeyStats k;
  k.name = "main";
  k.upstream = upstream;
  k.budget.lanes[1].admitted = admitted;
  k.budget.lanes[1].wait_buckets[bucket] = in_bucket;
  s.keys.push_back(k);
  return s;
}

TEST(Status, SamplerRatesFromDifferences) {
  Sampler sampler;
  common::SteadyTime t{};
  sampler.Sample(Stats(0, 0, 3, 0), t);
  EXPECT_TRUE(sampler.recent().empty());
  sampler.Sample(Stats(18, 17, 3, 17), t + 1s);
  ASSERT_EQ(sampler.recent().size(), 1u);
  EXPECT_DOUBLE_EQ(sampler.recent()[0].calls_per_second, 18.0);
  EXPECT_DOUBLE_EQ(sampler.recent()[0].lanes[1].calls_per_second, 17.0);
  ASSERT_TRUE(sampler.recent()[0].lanes[1].wait_p50_ms);
  EXPECT_GT(*sampler.recent()[0].lanes[1].wait_p50_ms, 5.0);  // bucket (5, 10]
  EXPECT_LE(*sampler.recent()[0].lanes[1].wait_p50_ms, 10.0);
  EXPECT_FALSE(sampler.recent()[0].lanes[0].wait_p50_ms);  // nothing interactive admitted
}

// The gate's families and the API's, as /metrics writes them one after the other.
std::string GateAndApiMetrics(const config::Config& c, const gate::GatewayStats& stats,
                              const ApiCounters& api) {
  common::MetricsWriter w;
  gate::WriteMetrics(w, stats, c);
  WriteMetrics(w, api, stats);
  return w.Take();
}

TEST(Metrics, TextFormatFamiliesAndProcessStats) {
  config::Config c;
  c.keys.push_back(config::KeyConfig{});
  c.keys[0].name = "main";
  auto stats = Stats(10, 9, 2, 9);
  stats.keys[0].errors["EGW00201"] = 2;
  ApiCounters api;
  api.Record("/v1/stocks/{code}/price", 200, 0.0004);
  api.Record("/v1/stocks/{code}/price", 400, 0.002);
  const auto process = ReadProcessStats();
  EXPECT_GT(process.resident_bytes, 0u);
  EXPECT_GT(process.start_time_s, 1.6e9);  // a unix time, not seconds since boot
  EXPECT_GE(process.open_fds, 3u);         // stdin, stdout, stderr at least
  common::MetricsWriter w;
  gate::WriteMetrics(w, stats, c);
  WriteMetrics(w, api, stats);
  WriteMetrics(w, process);
  const auto text = w.Take();
  EXPECT_NE(text.find("# TYPE kisgate_gate_upstream_requests_total "
                      "counter\nkisgate_gate_upstream_requests_total{key=\"main\"} 10\n"),
            std::string::npos);
  EXPECT_NE(text.find("kisgate_gate_errors_total{key=\"main\",code=\"EGW00201\"} 2"),
            std::string::npos);
  EXPECT_NE(
      text.find("kisgate_gate_wait_seconds_bucket{key=\"main\",lane=\"batch\",le=\"+Inf\"} 9"),
      std::string::npos);
  EXPECT_NE(
      text.find("kisgate_api_requests_total{route=\"/v1/stocks/{code}/price\",status=\"400\"} 1"),
      std::string::npos);
  // Cumulative buckets: the 0.4 ms request is under every bound from 0.0005 s on.
  EXPECT_NE(text.find("kisgate_api_request_duration_seconds_bucket{route=\"/v1/stocks/{code}/"
                      "price\",le=\"0.0005\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("kisgate_api_request_duration_seconds_bucket{route=\"/v1/stocks/{code}/"
                      "price\",le=\"0.0025\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE kisgate_process_open_fds gauge\nkisgate_process_open_fds "),
            std::string::npos);
  // Every sample line belongs to a family declared with # TYPE before it.
  std::string family;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.starts_with("#")) continue;
    EXPECT_TRUE(line.starts_with(family)) << line << " outside family " << family;
    EXPECT_TRUE(line.starts_with("kisgate_")) << line;
  }
}

// Unknown KIS codes share one "other" series, and the malformed replies the gate counted show in
// kisgate_kis_malformed_replies_total (it stayed 0 while the gate counted them).
TEST(Metrics, ErrorCodesBoundedAndMalformedRepliesAgree) {
  config::Config c;
  c.keys.push_back(config::KeyConfig{});
  c.keys[0].name = "main";
  auto stats = Stats(10, 9, 2, 9);
  stats.keys[0].errors["EGW00201"] = 2;
  stats.keys[0].errors["malformed_reply"] = 3;
  stats.keys[0].errors["ZZZ00001"] = 1;
  stats.keys[0].errors["ZZZ00002"] = 4;
  ApiCounters api;
  api.malformed_replies = 1;
  const auto text = GateAndApiMetrics(c, stats, api);
  EXPECT_NE(text.find("kisgate_gate_errors_total{key=\"main\",code=\"other\"} 5"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("ZZZ0000"), std::string::npos);
  EXPECT_NE(text.find("kisgate_gate_errors_total{key=\"main\",code=\"EGW00201\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("kisgate_kis_malformed_replies_total 4\n"), std::string::npos);
}

// A key name is a label value: written escaped, so a quote in it cannot break the text.
TEST(Metrics, KeyNamesAreEscaped) {
  config::Config c;
  c.keys.push_back(config::KeyConfig{});
  c.keys[0].name = "a\"b";
  c.keys[0].rate = 18;
  auto stats = Stats(1, 1, 0, 1);
  stats.keys[0].name = "a\"b";
  const auto text = GateAndApiMetrics(c, stats, ApiCounters{});
  EXPECT_NE(text.find("kisgate_gate_rate_limit_calls_per_second{key=\"a\\\"b\"} 18\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace kisgate::api

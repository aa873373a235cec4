#include "api/latest_cache.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/kst.hpp"

namespace kisgate::api {
namespace {

namespace json = boost::json;
using common::Dataset;
using namespace std::chrono_literals;

common::WallTime At(const char* kst) { return *common::ParseKstDateTime(kst); }

LatestValue Price(std::int64_t price, common::WallTime as_of) {
  kis::PriceQuote q;
  q.price = price;
  q.upper_limit = 92900;
  q.per = 12.5;
  return LatestValue{q, as_of, as_of};
}

TEST(LatestCache, AnswersWithTheBytesRenderedOnceAndTheirAge) {
  LatestCache cache(10);
  const auto t = At("2026-11-24 10:00:00") + 250ms;
  const auto& entry = cache.Put(Dataset::kPrice, "005930", Price(71500, t), false);
  EXPECT_EQ(cache.Find(Dataset::kPrice, "005930"), &entry);
  EXPECT_EQ(cache.Find(Dataset::kOrderBook, "005930"), nullptr);  // another data set
  EXPECT_EQ(cache.Find(Dataset::kPrice, "000660"), nullptr);
  const auto body = LatestCache::Body(entry, t + 1500ms, "cache");
  ASSERT_TRUE(body.ends_with("}\n")) << body;
  const auto o = json::parse(body).as_object();
  EXPECT_EQ(o.at("price").as_int64(), 71500);
  EXPECT_EQ(o.at("upper_limit").as_int64(), 92900);
  EXPECT_EQ(o.at("code").as_string(), "005930");
  EXPECT_EQ(o.at("as_of").as_string(), "2026-11-24T10:00:00.250+09:00");
  EXPECT_EQ(o.at("age_ms").as_int64(), 1500);
  EXPECT_EQ(o.at("source").as_string(), "cache");
  EXPECT_FALSE(o.at("stale").as_bool());
  EXPECT_FALSE(o.contains("stale_reason"));
  // The same bytes again, a later age: nothing rendered but the age.
  EXPECT_EQ(json::parse(LatestCache::Body(entry, t + 2s, "cache")).at("age_ms").as_int64(), 2000);
}

TEST(LatestCache, AStaleAnswerSaysWhyAndQuotesItSafely) {
  LatestCache cache(10);
  const auto t = At("2026-11-24 10:00:00");
  const auto& entry = cache.Put(Dataset::kPrice, "005930", Price(71500, t), false);
  const auto o =
      json::parse(LatestCache::Body(entry, t + 60s, "cache", true, "timeout: \"no\" answer"))
          .as_object();
  EXPECT_TRUE(o.at("stale").as_bool());
  EXPECT_EQ(o.at("stale_reason").as_string(), "timeout: \"no\" answer");
}

TEST(LatestCache, ReplacingAValueReplacesItsBytesWhole) {
  LatestCache cache(10);
  const auto t = At("2026-11-24 10:00:00");
  cache.Put(Dataset::kPrice, "005930", Price(71500, t), false);
  const auto& newer = cache.Put(Dataset::kPrice, "005930", Price(71600, t + 5s), false);
  EXPECT_EQ(cache.size(), 1u);
  const auto o = json::parse(LatestCache::Body(newer, t + 5s, "cache")).as_object();
  EXPECT_EQ(o.at("price").as_int64(), 71600);
  EXPECT_EQ(o.at("as_of").as_string(), "2026-11-24T10:00:05.000+09:00");
}

TEST(LatestCache, CodesOutsideTheUniverseAreBoundedLeastRecentlyUsedFirst) {
  LatestCache cache(2);
  const auto t = At("2026-11-24 10:00:00");
  cache.Put(Dataset::kPrice, "000001", Price(1, t), true);
  cache.Put(Dataset::kPrice, "000002", Price(2, t), true);
  ASSERT_NE(cache.Find(Dataset::kPrice, "000001"), nullptr);  // used: 000002 is now the oldest
  cache.Put(Dataset::kPrice, "000003", Price(3, t), true);
  EXPECT_EQ(cache.outside(), 2u);
  EXPECT_NE(cache.Find(Dataset::kPrice, "000001"), nullptr);
  EXPECT_EQ(cache.Find(Dataset::kPrice, "000002"), nullptr);
  EXPECT_NE(cache.Find(Dataset::kPrice, "000003"), nullptr);
  // Values of the universe do not count against it, nor are they evicted by it.
  for (int i = 0; i < 5; ++i) {
    cache.Put(Dataset::kPrice, "1" + std::string(5, static_cast<char>('0' + i)), Price(i, t),
              false);
  }
  cache.Put(Dataset::kPrice, "000004", Price(4, t), true);
  EXPECT_EQ(cache.outside(), 2u);
  EXPECT_EQ(cache.size(), 7u);
  EXPECT_NE(cache.Find(Dataset::kPrice, "100000"), nullptr);
}

TEST(LatestCache, NoRoomOutsideStillAnswersOnce) {
  LatestCache cache(0);
  const auto t = At("2026-11-24 10:00:00");
  const auto& entry = cache.Put(Dataset::kPrice, "000001", Price(7, t), true);
  EXPECT_EQ(json::parse(LatestCache::Body(entry, t, "kis")).at("price").as_int64(), 7);
  EXPECT_EQ(cache.Find(Dataset::kPrice, "000001"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(LatestCache, AnOrderBookIsDatedByTheDayItWasFetched) {
  LatestCache cache(10);
  kis::OrderBook b;
  b.time = "153000";
  b.asks[0] = {71600, 100, 0};
  const auto t = At("2026-11-24 15:30:01");
  const auto& entry = cache.Put(Dataset::kOrderBook, "005930", LatestValue{b, t, t}, false);
  const auto o = json::parse(LatestCache::Body(entry, t, "kis")).as_object();
  EXPECT_EQ(o.at("time").as_string(), "2026-11-24T15:30:00.000+09:00");
  EXPECT_EQ(o.at("asks").as_array().size(), 1u);
}

}  // namespace
}  // namespace kisgate::api

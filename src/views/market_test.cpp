#include "views/market.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "kis/records.hpp"

namespace kisgate::views {
namespace {

namespace json = boost::json;

// The object `fields` writes, parsed back.
template <class Fields>
json::object Written(Fields fields) {
  std::string out;
  JsonWriter w(out);
  w.Begin();
  fields(w);
  w.End();
  return json::parse(out).as_object();
}

common::WallTime At(const char* kst) { return *common::ParseKstDateTime(kst); }

TEST(Views, TimesAreKstWithMilliseconds) {
  const auto t = At("2026-11-24 09:30:05") + std::chrono::milliseconds(7);
  EXPECT_EQ(Time(t), "2026-11-24T09:30:05.007+09:00");
  EXPECT_EQ(MarketTime("20261124", "093005"), "2026-11-24T09:30:05.000+09:00");
  EXPECT_EQ(MarketTime("20261124", ""), "2026-11-24");  // a daily bar: the day alone
  EXPECT_EQ(Date("20261124"), "2026-11-24");
}

TEST(Views, PriceHasPlainNamesAndNumbers) {
  kis::PriceQuote q;
  q.price = 71500;
  q.change = -500;
  q.sign = kis::Sign::kDown;
  q.change_pct = -0.69;
  q.volume = 1234567;
  q.per = 2.15;
  std::string out;
  JsonWriter w(out);
  w.Begin();
  PriceFields(w, q);
  w.End();
  // Numbers as people write them, never Boost.JSON's "2.15E0".
  EXPECT_NE(out.find(R"("change_pct":-0.69,)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("per":2.15,)"), std::string::npos) << out;
  const auto o = json::parse(out).as_object();
  EXPECT_EQ(o.at("price").as_int64(), 71500);
  EXPECT_EQ(o.at("change_sign").as_string(), "down");
  EXPECT_EQ(o.at("volume").as_int64(), 1234567);
  EXPECT_FALSE(o.contains("stck_prpr"));  // KIS's names stay at the wire
}

// The pin of "one view": a trade of the stream and a price of the REST API name the same figures
// the same way (the day's totals are `volume` and `traded_value_krw` in both), and write them the
// same way.
TEST(Views, AStreamTradeAndARestPriceShowTheSameFiguresAlike) {
  kis::Tick t;
  t.code = "005930";
  t.date = "20261124";
  t.time = "093005";
  t.price = 71500;
  t.change = -500;
  t.sign = kis::Sign::kDown;
  t.change_pct = -0.69;
  t.open = 72000;
  t.high = 72100;
  t.low = 71400;
  t.volume = 10;  // this trade
  t.cum_volume = 1234567;
  t.cum_value = 88400000000;
  t.received_at = At("2026-11-24 09:30:05") + std::chrono::milliseconds(120);
  kis::PriceQuote q;
  kis::ApplyTrade(q, t);  // the quote a trade makes: its price fields
  const auto trade = Written([&](JsonWriter& w) { TradeFields(w, t); });
  const auto price = Written([&](JsonWriter& w) { PriceFields(w, q); });
  const auto polled = Written([&](JsonWriter& w) { PolledPriceFields(w, q, t.received_at); });
  for (const auto* field : {"price", "change", "change_sign", "change_pct", "open", "high", "low",
                            "volume", "traded_value_krw"}) {
    ASSERT_TRUE(trade.contains(field)) << field;
    EXPECT_EQ(json::serialize(trade.at(field)), json::serialize(price.at(field))) << field;
    EXPECT_EQ(json::serialize(polled.at(field)), json::serialize(price.at(field))) << field;
  }
  EXPECT_EQ(trade.at("volume").as_int64(), 1234567);  // the day's, as in the REST price
  EXPECT_EQ(trade.at("trade_volume").as_int64(), 10);
  EXPECT_FALSE(trade.contains("cum_volume"));
  EXPECT_EQ(trade.at("time").as_string(), "2026-11-24T09:30:05.000+09:00");
  EXPECT_EQ(trade.at("received_at").as_string(), "2026-11-24T09:30:05.120+09:00");
  EXPECT_EQ(polled.at("time").as_string(), "2026-11-24T09:30:05.120+09:00");
  // Every field of the polled price event is a field of the REST price, or says what it is.
  for (const auto& [field, value] : polled) {
    EXPECT_TRUE(price.contains(field) || field == "code" || field == "time" || field == "polled")
        << field;
  }
}

TEST(Views, BooksSkipPaddingTheSameWayInTheStreamAndTheApi) {
  kis::OrderBook b;
  b.time = "093015";
  b.asks[0] = {71600, 100, 5};
  b.asks[2] = {71800, 50, 0};  // a gap: the level between is padding
  b.bids[0] = {71500, 200, -3};
  const auto rest = Written([&](JsonWriter& w) { OrderBookFields(w, b, "20261124"); });
  EXPECT_EQ(rest.at("time").as_string(), "2026-11-24T09:30:15.000+09:00");
  ASSERT_EQ(rest.at("asks").as_array().size(), 2u);
  EXPECT_EQ(rest.at("bids").as_array()[0].at("quantity_change").as_int64(), -3);
  kis::BookSnapshot s;
  s.code = "005930";
  s.date = "20261124";
  s.time = "093015";
  s.asks = b.asks;
  s.bids = b.bids;
  const auto event = Written([&](JsonWriter& w) { BookFields(w, s); });
  EXPECT_EQ(event.at("time"), rest.at("time"));
  ASSERT_EQ(event.at("asks").as_array().size(), 2u);
  EXPECT_EQ(event.at("asks").as_array()[1], (json::object{{"price", 71800}, {"quantity", 50}}));
}

// A reply shaped like the simulator's (and KIS's) FHPST02300400: strings for numbers, ten levels
// a side of which a thin book fills two, change fields KIS sends as zeros.
TEST(Views, OvertimeBookFromAReplyHasTheOrderBookShape) {
  json::object output{{"ovtm_untp_last_hour", "162000"},
                      {"ovtm_untp_total_askp_rsqn", "350"},
                      {"ovtm_untp_total_bidp_rsqn", "420"},
                      {"ovtm_untp_total_askp_rsqn_icdc", "0"},
                      {"ovtm_untp_total_bidp_rsqn_icdc", "0"},
                      {"ovtm_untp_ntby_bidp_rsqn", "70"},
                      {"total_askp_rsqn", "0"},
                      {"total_bidp_rsqn", "0"}};
  for (int i = 1; i <= 10; ++i) {
    const bool filled = i <= 2;
    output[fmt::format("ovtm_untp_askp{}", i)] = filled ? std::to_string(71600 + 100 * i) : "0";
    output[fmt::format("ovtm_untp_bidp{}", i)] = filled ? std::to_string(71600 - 100 * i) : "0";
    output[fmt::format("ovtm_untp_askp_rsqn{}", i)] = filled ? std::to_string(150 + 50 * i) : "0";
    output[fmt::format("ovtm_untp_bidp_rsqn{}", i)] = filled ? std::to_string(140 * i) : "0";
    output[fmt::format("ovtm_untp_askp_icdc{}", i)] = "0";
    output[fmt::format("ovtm_untp_bidp_icdc{}", i)] = "0";
  }
  const json::object reply{
      {"rt_cd", "0"}, {"msg_cd", "MCA00000"}, {"msg1", "ok"}, {"output", std::move(output)}};
  // Through the record it is stored as, and read back like the route reads it.
  auto records = kis::ToRecords(kis::Tr::kOvertimeOrderBook, "005930", json::serialize(reply),
                                "20261124163000", common::WallTime{});
  ASSERT_TRUE(std::holds_alternative<std::vector<kis::Record>>(records));
  const auto& stored = std::get<std::vector<kis::Record>>(records);
  ASSERT_EQ(stored.size(), 1u);
  auto book = kis::OvertimeBookOf(stored.front());
  ASSERT_TRUE(std::holds_alternative<kis::OvertimeBook>(book));
  const auto o = Written(
      [&](JsonWriter& w) { OvertimeBookFields(w, std::get<kis::OvertimeBook>(book), "20261124"); });
  EXPECT_EQ(o.at("time").as_string(), "2026-11-24T16:20:00.000+09:00");
  const auto& asks = o.at("asks").as_array();
  const auto& bids = o.at("bids").as_array();
  ASSERT_EQ(asks.size(), 2u);  // eight zero levels a side left out
  ASSERT_EQ(bids.size(), 2u);
  EXPECT_EQ(asks[0], (json::object{{"price", 71700}, {"quantity", 200}}));
  EXPECT_EQ(asks[1], (json::object{{"price", 71800}, {"quantity", 250}}));
  EXPECT_EQ(bids[0], (json::object{{"price", 71500}, {"quantity", 140}}));
  EXPECT_EQ(bids[1], (json::object{{"price", 71400}, {"quantity", 280}}));
  EXPECT_EQ(o.at("total_ask_quantity").as_int64(), 350);
  EXPECT_EQ(o.at("total_bid_quantity").as_int64(), 420);
  // The order book's field names where the after-hours book has the field, and no others.
  const auto day =
      Written([&](JsonWriter& w) { OrderBookFields(w, kis::OrderBook{}, "20261124"); });
  for (const auto& [field, value] : o) EXPECT_TRUE(day.contains(field)) << field;
  EXPECT_FALSE(o.contains("expected_price"));
  EXPECT_FALSE(o.contains("ovtm_untp_askp1"));  // KIS's names stay at the wire
}

TEST(Views, BarsAsJsonAndCsv) {
  std::vector<kis::Bar> bars = {{"20261124", "090000", 100, 110, 90, 105, 1000, 105000},
                                {"20261124", "090100", 105, 106, 104, 106, 500, 53000}};
  const auto bar = Written([&](JsonWriter& w) {
    w.Key("bar");
    Bar(w, bars[0]);
  });
  EXPECT_EQ(bar.at("bar").at("time").as_string(), "2026-11-24T09:00:00.000+09:00");
  kis::Bar daily{"20261120", "", 1, 2, 1, 2, 3, 4};
  EXPECT_EQ(BarTime(daily), "2026-11-20");
  EXPECT_EQ(BarsCsv(bars),
            "time,open,high,low,close,volume,traded_value_krw\r\n"
            "2026-11-24T09:00:00.000+09:00,100,110,90,105,1000,105000\r\n"
            "2026-11-24T09:01:00.000+09:00,105,106,104,106,500,53000\r\n");
  EXPECT_EQ(BarsCsv({}), "time,open,high,low,close,volume,traded_value_krw\r\n");
}

TEST(Views, InvestorFlowsByGroup) {
  kis::InvestorDay d;
  d.date = "20261124";
  d.close = 71500;
  d.foreigners.net_quantity = -1200;
  const auto o = Written([&](JsonWriter& w) {
                   w.Key("day");
                   InvestorDay(w, d);
                 }).at("day");
  EXPECT_EQ(o.at("date").as_string(), "2026-11-24");
  EXPECT_EQ(o.at("foreigners").at("net_quantity").as_int64(), -1200);
  EXPECT_TRUE(o.at("individuals").as_object().contains("net_value_mkrw"));
}

}  // namespace
}  // namespace kisgate::views

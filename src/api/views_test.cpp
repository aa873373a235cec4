#include "api/views.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "kis/records.hpp"

namespace kisgate::api {
namespace {

namespace json = boost::json;

TEST(Views, PriceHasPlainNamesAndNumbers) {
  kis::PriceQuote q;
  q.price = 71500;
  q.change = -500;
  q.sign = kis::Sign::kDown;
  q.change_pct = -0.69;
  q.volume = 1234567;
  auto o = PriceJson(q);
  EXPECT_EQ(o.at("price").as_int64(), 71500);
  EXPECT_EQ(o.at("change").as_int64(), -500);
  EXPECT_EQ(o.at("change_sign").as_string(), "down");
  EXPECT_DOUBLE_EQ(o.at("change_pct").as_double(), -0.69);
  EXPECT_EQ(o.at("volume").as_int64(), 1234567);
  EXPECT_FALSE(o.contains("stck_prpr"));  // KIS's names stay at the wire
}

TEST(Views, OrderBookSkipsPaddingAndDatesTheTime) {
  kis::OrderBook b;
  b.time = "093015";
  b.asks[0] = {71600, 100, 5};
  b.bids[0] = {71500, 200, -3};
  auto o = OrderBookJson(b, "20261124");
  EXPECT_EQ(o.at("time").as_string(), "2026-11-24T09:30:15+09:00");
  ASSERT_EQ(o.at("asks").as_array().size(), 1u);  // nine zero levels left out
  EXPECT_EQ(o.at("bids").as_array()[0].at("quantity_change").as_int64(), -3);
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
  auto o = OvertimeBookJson(std::get<kis::OvertimeBook>(book), "20261124");
  EXPECT_EQ(o.at("time").as_string(), "2026-11-24T16:20:00+09:00");
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
  const auto day = OrderBookJson(kis::OrderBook{}, "20261124");
  for (const auto& [field, value] : o) EXPECT_TRUE(day.contains(field)) << field;
  EXPECT_FALSE(o.contains("expected_price"));
  EXPECT_FALSE(o.contains("ovtm_untp_askp1"));  // KIS's names stay at the wire
}

TEST(Views, BarsAsJsonAndCsv) {
  std::vector<kis::Bar> bars = {{"20261124", "090000", 100, 110, 90, 105, 1000, 105000},
                                {"20261124", "090100", 105, 106, 104, 106, 500, 53000}};
  EXPECT_EQ(BarJson(bars[0]).at("time").as_string(), "2026-11-24T09:00:00+09:00");
  kis::Bar daily{"20261120", "", 1, 2, 1, 2, 3, 4};
  EXPECT_EQ(BarTime(daily), "2026-11-20");
  EXPECT_EQ(BarsCsv(bars),
            "time,open,high,low,close,volume,traded_value_krw\r\n"
            "2026-11-24T09:00:00+09:00,100,110,90,105,1000,105000\r\n"
            "2026-11-24T09:01:00+09:00,105,106,104,106,500,53000\r\n");
  EXPECT_EQ(BarsCsv({}), "time,open,high,low,close,volume,traded_value_krw\r\n");
}

TEST(Views, InvestorFlowsByGroup) {
  kis::InvestorDay d;
  d.date = "20261124";
  d.close = 71500;
  d.foreigners.net_quantity = -1200;
  auto o = InvestorDayJson(d);
  EXPECT_EQ(o.at("date").as_string(), "2026-11-24");
  EXPECT_EQ(o.at("foreigners").at("net_quantity").as_int64(), -1200);
  EXPECT_TRUE(o.at("individuals").as_object().contains("net_value_mkrw"));
}

}  // namespace
}  // namespace kisgate::api

#include "api/json_text.hpp"

namespace kisgate::api {
namespace {

TEST(JsonText, PlainNumbersAndEscapedStrings) {
  json::value v = json::object{{"pct", -0.78},
                               {"n", 17},
                               {"big", 1e21},
                               {"whole", 2.0},
                               {"nan", std::nan("")},
                               {"s", "a\"b\n"},
                               {"list", json::array{1.5, true, nullptr}}};
  const auto text = ToJsonText(v);
  EXPECT_EQ(
      text,
      R"({"pct":-0.78,"n":17,"big":1e+21,"whole":2,"nan":null,"s":"a\"b\n","list":[1.5,true,null]})");
  // What we write is JSON that reads back to the same values.
  auto back = json::parse(text);
  EXPECT_DOUBLE_EQ(back.at("pct").as_double(), -0.78);
  EXPECT_EQ(back.at("s").as_string(), "a\"b\n");
}

}  // namespace
}  // namespace kisgate::api

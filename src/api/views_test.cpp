#include "api/views.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

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

#include "kis/quotes.hpp"

#include <gtest/gtest.h>

namespace kisgate::kis {
namespace {

TEST(ParsePrice, StringsBecomeNumbers) {
  auto r = ParsePrice(R"({"rt_cd":"0","msg_cd":"MCA00000","msg1":"ok","output":{
      "stck_shrn_iscd":"005930","stck_prpr":"71500","prdy_vrss":"-500","prdy_vrss_sign":"5",
      "prdy_ctrt":"-0.69","stck_oprc":"72000","stck_hgpr":"72300","stck_lwpr":"71200",
      "stck_mxpr":"93600","stck_llam":"50400","stck_sdpr":"72000","acml_vol":"12345678",
      "acml_tr_pbmn":"885000000000","hts_frgn_ehrt":"53.21","per":"13.5","pbr":"1.21",
      "hts_avls":"4268000","aspr_unit":"100","temp_stop_yn":"N","bstp_kor_isnm":"전기전자"}})");
  ASSERT_TRUE(std::holds_alternative<PriceQuote>(r)) << std::get<Classification>(r).message;
  const auto& q = std::get<PriceQuote>(r);
  EXPECT_EQ(q.code, "005930");
  EXPECT_EQ(q.price, 71500);
  EXPECT_EQ(q.change, -500);
  EXPECT_EQ(q.sign, Sign::kDown);
  EXPECT_DOUBLE_EQ(q.change_pct, -0.69);
  EXPECT_EQ(q.traded_value, 885000000000);
  EXPECT_EQ(q.tick_size, 100);
  EXPECT_EQ(q.sector, "전기전자");
  EXPECT_FALSE(q.halted);
  EXPECT_EQ(q.eps, 0);  // absent: zero
}

TEST(ParsePrice, MalformedRepliesAreClassified) {
  for (auto body : {"", "not json", R"({"rt_cd":"0"})", R"({"rt_cd":"0","output":[]})",
                    R"({"rt_cd":"0","output":{"stck_prpr":"7l500"}})",
                    R"({"rt_cd":"0","output":{"stck_prpr":71500}})"}) {
    auto r = ParsePrice(body);
    ASSERT_TRUE(std::holds_alternative<Classification>(r)) << body;
    EXPECT_EQ(std::get<Classification>(r).code, "malformed_reply") << body;
  }
}

TEST(ParseOrderBook, TenLevelsAndExpectedExecution) {
  std::string out1 = R"("aspr_acpt_hour":"101500","total_askp_rsqn":"550","total_bidp_rsqn":"650")";
  for (int i = 1; i <= 10; ++i) {
    out1 += ",\"askp" + std::to_string(i) + "\":\"" + std::to_string(71500 + 100 * i) + "\"";
    out1 += ",\"bidp" + std::to_string(i) + "\":\"" + std::to_string(71500 - 100 * (i - 1)) + "\"";
    out1 += ",\"askp_rsqn" + std::to_string(i) + "\":\"" + std::to_string(10 * i) + "\"";
    out1 += ",\"bidp_rsqn" + std::to_string(i) + "\":\"" + std::to_string(10 * i + 10) + "\"";
  }
  auto r = ParseOrderBook(
      "{\"rt_cd\":\"0\",\"output1\":{" + out1 +
      R"(},"output2":{"antc_cnpr":"71600","antc_vol":"1200","antc_cntg_vrss_sign":"2"}})");
  ASSERT_TRUE(std::holds_alternative<OrderBook>(r)) << std::get<Classification>(r).message;
  const auto& b = std::get<OrderBook>(r);
  EXPECT_EQ(b.time, "101500");
  EXPECT_EQ(b.asks[0].price, 71600);
  EXPECT_EQ(b.bids[0].price, 71500);
  EXPECT_EQ(b.asks[9].quantity, 100);
  EXPECT_EQ(b.total_bid_quantity, 650);
  EXPECT_EQ(b.expected_price, 71600);
  EXPECT_EQ(b.expected_sign, Sign::kUp);
}

TEST(ParseInvestors, RowsAndEmptyPadding) {
  auto r = ParseInvestors(R"({"rt_cd":"0","output":[
      {"stck_bsop_date":"20261124","stck_clpr":"71500","prsn_ntby_qty":"-100","frgn_ntby_qty":"60",
       "orgn_ntby_qty":"40","frgn_shnu_vol":"160","frgn_seln_vol":"100"},
      {"stck_bsop_date":"","stck_clpr":""}]})");
  ASSERT_TRUE(std::holds_alternative<std::vector<InvestorDay>>(r));
  const auto& days = std::get<std::vector<InvestorDay>>(r);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].individuals.net_quantity, -100);
  EXPECT_EQ(days[0].foreigners.buy_quantity, 160);
}

TEST(ParseBars, MinuteAndDaily) {
  auto minute = ParseMinuteBars(R"({"rt_cd":"0","output1":{},"output2":[
      {"stck_bsop_date":"20261124","stck_cntg_hour":"101500","stck_prpr":"71500","stck_oprc":"71400",
       "stck_hgpr":"71600","stck_lwpr":"71300","cntg_vol":"1500","acml_tr_pbmn":"123"}]})");
  ASSERT_TRUE(std::holds_alternative<std::vector<Bar>>(minute));
  const auto& m = std::get<std::vector<Bar>>(minute)[0];
  EXPECT_EQ(m.time, "101500");
  EXPECT_EQ(m.close, 71500);
  EXPECT_EQ(m.volume, 1500);
  auto daily = ParseDailyBars(R"({"rt_cd":"0","output1":{},"output2":[
      {"stck_bsop_date":"20261124","stck_clpr":"71500","stck_oprc":"72000","stck_hgpr":"72300",
       "stck_lwpr":"71200","acml_vol":"12345678","acml_tr_pbmn":"885000000000.00"}]})");
  ASSERT_TRUE(std::holds_alternative<std::vector<Bar>>(daily))
      << std::get<Classification>(daily).message;
  const auto& d = std::get<std::vector<Bar>>(daily)[0];
  EXPECT_EQ(d.time, "");
  EXPECT_EQ(d.volume, 12345678);
  EXPECT_EQ(d.traded_value, 885000000000);  // "…​.00" accepted
  EXPECT_TRUE(
      std::holds_alternative<Classification>(ParseDailyBars(R"({"rt_cd":"0","output2":{}})")));
}

}  // namespace
}  // namespace kisgate::kis

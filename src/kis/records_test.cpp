#include "kis/records.hpp"

#include <gtest/gtest.h>

#include "common/kst.hpp"

namespace kisgate::kis {
namespace {

const common::WallTime kAt = *common::ParseKstDateTime("2026-11-24 10:05:01");

TEST(Records, PriceIsOneRecordKeyedByTheCycle) {
  auto r = ToRecords(
      Tr::kPrice, "005930",
      R"({"rt_cd":"0","output":{"stck_prpr":"71500","prdy_vrss":"-500","acml_vol":"10"}})",
      "20261124100500", kAt);
  ASSERT_TRUE(std::holds_alternative<std::vector<Record>>(r));
  const auto& records = std::get<std::vector<Record>>(r);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].dataset, "price");
  EXPECT_EQ(records[0].market_time, "20261124100500");
  EXPECT_EQ(records[0].collected_at, kAt);
  EXPECT_EQ(std::get<std::int64_t>(records[0].columns[0].second), 71500);
  EXPECT_NE(records[0].raw.find("71500"), std::string::npos);
  // Read back from the record alone, as the API does with a stored value.
  auto quote = PriceOf(records[0]);
  ASSERT_TRUE(std::holds_alternative<PriceQuote>(quote));
  EXPECT_EQ(std::get<PriceQuote>(quote).change, -500);
}

TEST(Records, BarsAreOneRecordPerRowWithTheRowsJson) {
  auto r = ToRecords(Tr::kMinuteBars, "005930",
                     R"({"rt_cd":"0","output1":{},"output2":[
                        {"stck_bsop_date":"20261124","stck_cntg_hour":"101500","stck_prpr":"71500","cntg_vol":"5"},
                        {"stck_bsop_date":"","stck_cntg_hour":""},
                        {"stck_bsop_date":"20261124","stck_cntg_hour":"101400","stck_prpr":"71400","cntg_vol":"7"}]})",
                     "20261124101530", kAt);
  const auto& records = std::get<std::vector<Record>>(r);
  ASSERT_EQ(records.size(), 2u);  // the padding row is skipped
  EXPECT_EQ(records[0].market_time, "20261124101500");
  EXPECT_EQ(records[1].market_time, "20261124101400");
  EXPECT_NE(records[1].raw.find("71400"), std::string::npos);  // each row keeps its own JSON
  // The bar comes back from the key and the typed columns.
  const auto bar = BarOf(records[1]);
  EXPECT_EQ(bar.date, "20261124");
  EXPECT_EQ(bar.time, "101400");
  EXPECT_EQ(bar.close, 71400);
  EXPECT_EQ(bar.volume, 7);
}

TEST(Records, InvestorDaysComeBackFromTheirRows) {
  auto r = ToRecords(Tr::kInvestors, "005930",
                     R"({"rt_cd":"0","output":[
                        {"stck_bsop_date":"20261124","stck_clpr":"71500","prdy_vrss":"500","prdy_vrss_sign":"2",
                         "frgn_ntby_qty":"-1200","frgn_shnu_vol":"300"},
                        {"stck_bsop_date":"20261123","stck_clpr":"71000"}]})",
                     "20261124101530", kAt);
  const auto& records = std::get<std::vector<Record>>(r);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].market_time, "20261124");
  auto day = InvestorDayOf(records[0]);
  ASSERT_TRUE(std::holds_alternative<InvestorDay>(day));
  EXPECT_EQ(std::get<InvestorDay>(day).sign, Sign::kUp);
  EXPECT_EQ(std::get<InvestorDay>(day).foreigners.net_quantity, -1200);
  EXPECT_EQ(std::get<InvestorDay>(day).foreigners.buy_quantity, 300);  // not a typed column
  Record broken = records[1];
  broken.raw = "{}";
  EXPECT_TRUE(std::holds_alternative<Classification>(InvestorDayOf(broken)));
}

TEST(Records, MalformedReplyIsClassified) {
  auto r = ToRecords(Tr::kInvestors, "005930", R"({"rt_cd":"0","output":{}})", "x", kAt);
  ASSERT_TRUE(std::holds_alternative<Classification>(r));
  EXPECT_EQ(std::get<Classification>(r).code, "malformed_reply");
}

}  // namespace
}  // namespace kisgate::kis

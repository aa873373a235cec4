#include "collect/records.hpp"

#include <gtest/gtest.h>

namespace kisgate::collect {
namespace {

TEST(Records, PriceIsOneRecordKeyedByTheCycle) {
  auto r = ToRecords(kis::Tr::kPrice, "005930",
                     R"({"rt_cd":"0","output":{"stck_prpr":"71500","prdy_vrss":"-500","acml_vol":"10"}})",
                     "20261124100500", "2026-11-24T10:05:01+09:00");
  ASSERT_TRUE(std::holds_alternative<std::vector<store::Record>>(r));
  const auto& records = std::get<std::vector<store::Record>>(r);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].dataset, "price");
  EXPECT_EQ(records[0].market_time, "20261124100500");
  EXPECT_EQ(std::get<std::int64_t>(records[0].columns[0].second), 71500);
  EXPECT_NE(records[0].raw.find("71500"), std::string::npos);
}

TEST(Records, BarsAreOneRecordPerRowWithTheRowsJson) {
  auto r = ToRecords(kis::Tr::kMinuteBars, "005930",
                     R"({"rt_cd":"0","output1":{},"output2":[
                        {"stck_bsop_date":"20261124","stck_cntg_hour":"101500","stck_prpr":"71500","cntg_vol":"5"},
                        {"stck_bsop_date":"","stck_cntg_hour":""},
                        {"stck_bsop_date":"20261124","stck_cntg_hour":"101400","stck_prpr":"71400","cntg_vol":"7"}]})",
                     "20261124101530", "x");
  const auto& records = std::get<std::vector<store::Record>>(r);
  ASSERT_EQ(records.size(), 2u);  // the padding row is skipped
  EXPECT_EQ(records[0].market_time, "20261124101500");
  EXPECT_EQ(records[1].market_time, "20261124101400");
  EXPECT_NE(records[1].raw.find("71400"), std::string::npos);  // each row keeps its own JSON
}

TEST(Records, MalformedReplyIsClassified) {
  auto r = ToRecords(kis::Tr::kInvestors, "005930", R"({"rt_cd":"0","output":{}})", "x", "x");
  ASSERT_TRUE(std::holds_alternative<kis::Classification>(r));
  EXPECT_EQ(std::get<kis::Classification>(r).code, "malformed_reply");
}

}  // namespace
}  // namespace kisgate::collect

#include "kis/tr_catalogue.hpp"

#include <set>

#include <gtest/gtest.h>

namespace kisgate::kis {
namespace {

TEST(TrCatalogue, EveryTrHasOneDistinctRow) {
  std::set<std::string_view> paths, ids;
  std::set<common::Dataset> datasets;
  for (Tr tr : {Tr::kPrice, Tr::kOrderBook, Tr::kInvestors, Tr::kOvertimePrice,
                Tr::kOvertimeOrderBook, Tr::kMinuteBars, Tr::kDailyBars}) {
    const auto& info = TrInfoFor(tr);
    EXPECT_EQ(info.tr, tr);
    paths.insert(info.path);
    ids.insert(info.tr_id);
    datasets.insert(info.dataset);
    EXPECT_EQ(FindTrByPath(info.path), &info);
    EXPECT_EQ(&TrInfoFor(info.dataset), &info);
    EXPECT_EQ(FindTrByDataset(common::Name(info.dataset)), &info);
  }
  EXPECT_EQ(paths.size(), 7u);
  EXPECT_EQ(ids.size(), 7u);
  EXPECT_EQ(datasets.size(), 7u);
  EXPECT_EQ(AllTrs().size(), 7u);
}

// Each data set of the vocabulary is collected through exactly one TR, and the TR's row names it.
TEST(TrCatalogue, EveryDatasetHasItsTr) {
  std::set<Tr> trs;
  for (auto dataset : common::kAllDatasets) {
    const auto& info = TrInfoFor(dataset);
    EXPECT_EQ(info.dataset, dataset) << common::Name(dataset);
    trs.insert(info.tr);
  }
  EXPECT_EQ(trs.size(), common::kAllDatasets.size());
}

TEST(TrCatalogue, MatchesKisSpec) {
  EXPECT_EQ(TrInfoFor(Tr::kPrice).tr_id, "FHKST01010100");
  EXPECT_EQ(TrInfoFor(Tr::kPrice).path, "/uapi/domestic-stock/v1/quotations/inquire-price");
  EXPECT_TRUE(TrInfoFor(Tr::kOvertimePrice).real_only);
  EXPECT_TRUE(TrInfoFor(Tr::kOvertimeOrderBook).real_only);
  EXPECT_FALSE(TrInfoFor(Tr::kOrderBook).real_only);
  EXPECT_EQ(TrInfoFor(Tr::kMinuteBars).paging, Paging::kTimeCursor);
  EXPECT_EQ(TrInfoFor(Tr::kDailyBars).paging, Paging::kDateCursor);
  EXPECT_EQ(TrInfoFor(Tr::kDailyBars).required_params.size(), 6u);
  EXPECT_EQ(FindTrByPath("/uapi/domestic-stock/v1/trading/order-cash"), nullptr);
  EXPECT_EQ(FindTrByDataset("prices"), nullptr);
}

// Orders and account calls are recognised by tr_id, by path and by method, so that none of them
// is sent on another account's key; every quotation of the catalogue is not.
TEST(TrCatalogue, AccountBoundCallsAreRecognised) {
  const std::string_view order = "/uapi/domestic-stock/v1/trading/order-cash";
  EXPECT_TRUE(IsAccountBound("POST", order, "TTTC0802U"));
  EXPECT_TRUE(IsAccountBound("POST", order, ""));
  EXPECT_TRUE(IsAccountBound("GET", "/uapi/domestic-stock/v1/trading/inquire-balance", ""));
  EXPECT_TRUE(IsAccountBound("GET", "/uapi/overseas-stock/v1/trading/inquire-balance", "x"));
  EXPECT_TRUE(
      IsAccountBound("GET", "/uapi/domestic-stock/v1/quotations/inquire-price", "VTTC8434R"));
  EXPECT_TRUE(IsAccountBound("POST", "/uapi/hashkey", ""));
  EXPECT_FALSE(IsAccountBound("GET", "/uapi/domestic-stock/v1/quotations/trading-volume", "F"));
  for (const auto& info : AllTrs()) {
    EXPECT_FALSE(IsAccountBound("GET", info.path, info.tr_id)) << info.path;
  }
}

}  // namespace
}  // namespace kisgate::kis

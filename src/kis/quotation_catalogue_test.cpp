#include "kis/quotation_catalogue.hpp"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "kis/tr_catalogue.hpp"

namespace kisgate::kis {
namespace {

const QuotationCatalogue& Catalogue() { return QuotationCatalogue::Builtin(); }

// The number of quotation APIs of each market in KIS's per-API examples: a change here means the
// data file changed, which scripts/check_kis_catalogue.py should have been run for.
TEST(QuotationCatalogue, CountsPerMarket) {
  std::map<std::string, int> quotations, all;
  for (const auto& api : Catalogue().All()) {
    ++all[api.market];
    if (api.group == "quotations") ++quotations[api.market];
  }
  const std::map<std::string, int> expected_quotations = {
      {"domestic_bond", 8}, {"domestic_futureoption", 9},  {"domestic_stock", 67}, {"elw", 16},
      {"etfetn", 5},        {"overseas_futureoption", 20}, {"overseas_stock", 18}};
  EXPECT_EQ(quotations, expected_quotations);
  // Rankings, finance and KSD information of domestic stocks, ELW and overseas stocks.
  EXPECT_EQ(all["domestic_stock"], 67 + 22 + 7 + 12);
  EXPECT_EQ(all["elw"], 16 + 5);
  EXPECT_EQ(all["overseas_stock"], 18 + 10);
  EXPECT_EQ(Catalogue().All().size(), 199u);
}

TEST(QuotationCatalogue, EveryEntryIsWellFormed) {
  std::set<std::string> paths;
  for (const auto& api : Catalogue().All()) {
    const std::string where = api.market + "/" + api.api;
    EXPECT_TRUE(paths.insert(api.path).second) << where << " repeats " << api.path;
    EXPECT_TRUE(api.path.starts_with("/uapi/")) << where;
    EXPECT_NE(api.path.find("/v1/" + api.group + "/"), std::string::npos) << where;
    EXPECT_EQ(api.method, "GET") << where;
    EXPECT_GE(api.tr_id.size(), 8u) << where;
    EXPECT_EQ(Catalogue().FindByPath(api.path), &api) << where;
    EXPECT_EQ(Catalogue().Find(api.path, api.tr_id), &api) << where;
    ASSERT_FALSE(api.outputs.empty()) << where;
    std::set<std::string> names;
    for (const auto& out : api.outputs) {
      EXPECT_TRUE(names.insert(out.name).second) << where << " repeats " << out.name;
      EXPECT_FALSE(out.columns.empty()) << where << " " << out.name;
      std::set<std::string> columns;
      for (const auto& c : out.columns) {
        EXPECT_FALSE(c.name.empty()) << where;
        EXPECT_TRUE(columns.insert(c.name).second) << where << " repeats column " << c.name;
      }
    }
    std::set<std::string> params;
    for (const auto& p : api.params) {
      EXPECT_TRUE(params.insert(p.name).second) << where << " repeats parameter " << p.name;
    }
    for (const auto& [name, value] : api.example) {
      EXPECT_NE(api.FindParam(name), nullptr) << where << " example names " << name;
    }
  }
}

// The 11 APIs kisgate knew before the catalogue (tr_catalogue.cpp and the simulator's hand-written
// answers) are in it with the same tr_ids.
TEST(QuotationCatalogue, HoldsTheKnownApis) {
  for (const auto& tr : AllTrs()) {
    const auto* api = Catalogue().FindByPath(tr.path);
    ASSERT_NE(api, nullptr) << tr.path;
    EXPECT_EQ(api->tr_id, tr.tr_id) << tr.path;
    for (auto param : tr.required_params) {
      const auto* p = api->FindParam(param);
      ASSERT_NE(p, nullptr) << tr.path << " " << param;
      EXPECT_TRUE(p->required) << tr.path << " " << param;
    }
  }
  const std::map<std::string, std::string> more = {
      {"/uapi/domestic-stock/v1/quotations/search-info", "CTPF1604R"},
      {"/uapi/domestic-stock/v1/quotations/search-stock-info", "CTPF1002R"},
      {"/uapi/domestic-stock/v1/quotations/inquire-ccnl", "FHKST01010300"},
      {"/uapi/domestic-stock/v1/quotations/inquire-daily-price", "FHKST01010400"}};
  for (const auto& [path, tr_id] : more) {
    const auto* api = Catalogue().FindByPath(path);
    ASSERT_NE(api, nullptr) << path;
    EXPECT_EQ(api->tr_id, tr_id);
    EXPECT_EQ(Catalogue().FindByTrId(tr_id), api);
  }
}

TEST(QuotationCatalogue, LooksUpAsClientsSend) {
  const auto* price = Catalogue().FindByPath("//uapi/domestic-stock/v1/quotations/inquire-price");
  ASSERT_NE(price, nullptr);
  EXPECT_EQ(price->tr_id, "FHKST01010100");
  EXPECT_NE(price->FindParam("fid_input_iscd"), nullptr);
  ASSERT_EQ(price->outputs.size(), 1u);
  EXPECT_FALSE(price->outputs[0].is_array);
  EXPECT_EQ(price->outputs[0].columns.size(), 82u);  // kis-api.md: about 82 fields
  EXPECT_EQ(Catalogue().Find(price->path, "FHKST01010200"), nullptr);
  EXPECT_EQ(Catalogue().FindByPath("/uapi/domestic-stock/v1/trading/order-cash"), nullptr);
  const auto* us = Catalogue().FindByPath("/uapi/overseas-price/v1/quotations/price");
  ASSERT_NE(us, nullptr);
  EXPECT_EQ(us->tr_id, "HHDFS00000300");
  EXPECT_NE(us->FindParam("EXCD"), nullptr);
}

TEST(QuotationCatalogue, ColumnTypesAreInferred) {
  const auto* price = Catalogue().FindByPath("/uapi/domestic-stock/v1/quotations/inquire-price");
  ASSERT_NE(price, nullptr);
  std::map<std::string, ColumnType> types;
  for (const auto& c : price->outputs[0].columns) types[c.name] = c.type;
  EXPECT_EQ(types["stck_prpr"], ColumnType::kPrice);
  EXPECT_EQ(types["prdy_vrss_sign"], ColumnType::kSign);
  EXPECT_EQ(types["prdy_vrss"], ColumnType::kChange);
  EXPECT_EQ(types["prdy_ctrt"], ColumnType::kRate);
  EXPECT_EQ(types["acml_vol"], ColumnType::kVolume);
  EXPECT_EQ(types["acml_tr_pbmn"], ColumnType::kAmount);
  EXPECT_EQ(types["stck_shrn_iscd"], ColumnType::kCode);
}

TEST(QuotationCatalogue, ParseNamesTheFaultyEntry) {
  std::string error;
  EXPECT_FALSE(QuotationCatalogue::Parse("{", error));
  EXPECT_FALSE(error.empty());
  const auto* doc =
      R"({"apis":[{"market":"elw","api":"x","group":"quotations","path":"/uapi/elw/v1/quotations/x",
    "method":"GET","tr_id":"FHKEW000000","paged":false,"params":[],"outputs":[
    {"name":"output","shape":"object","columns":[{"name":"a","type":"colour"}]}]}]})";
  EXPECT_FALSE(QuotationCatalogue::Parse(doc, error));
  EXPECT_NE(error.find("elw/x output a"), std::string::npos) << error;
  EXPECT_NE(error.find("colour"), std::string::npos) << error;
}

}  // namespace
}  // namespace kisgate::kis

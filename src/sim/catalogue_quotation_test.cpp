#include "sim/catalogue_quotation.hpp"

#include <map>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "http/message.hpp"
#include "kis/tr_catalogue.hpp"
#include "sim/market_model.hpp"

namespace kisgate::sim {
namespace {

namespace json = boost::json;

class CatalogueQuotationTest : public ::testing::Test {
 protected:
  QuotationReply Build(const kis::QuotationApi& api,
                       const std::map<std::string, std::string>& params,
                       std::string_view tr_cont = "", const char* when = "2026-11-24 11:00:00") {
    ParamLookup lookup = [&params](std::string_view name) -> std::optional<std::string_view> {
      for (const auto& [k, v] : params) {
        if (http::EqualsIgnoreCase(k, name)) return std::string_view(v);
      }
      return std::nullopt;
    };
    return BuildCatalogueQuotation(api, market_, universe_, lookup, tr_cont,
                                   *common::ParseKstDateTime(when));
  }
  // KIS's sample arguments, and every parameter the sample leaves out as empty.
  static std::map<std::string, std::string> Example(const kis::QuotationApi& api) {
    std::map<std::string, std::string> params(api.example.begin(), api.example.end());
    for (const auto& p : api.params) params.emplace(p.name, p.default_value);
    return params;
  }
  static const kis::QuotationApi& Api(std::string_view path) {
    const auto* api = kis::QuotationCatalogue::Builtin().FindByPath(path);
    EXPECT_NE(api, nullptr) << path;
    return *api;
  }
  static double Number(const json::object& o, std::string_view key) {
    return std::stod(std::string(o.at(key).as_string()));
  }

  const Universe& universe_ = Universe::Default();
  common::MarketCalendar calendar_;
  MarketModel market_{1, universe_, calendar_};
};

// Every catalogued API answers its sample arguments with KIS's envelope and every column of every
// output block, in KIS's order, each value a string.
TEST_F(CatalogueQuotationTest, EveryApiAnswersWithEveryColumnInOrder) {
  for (const auto& api : kis::QuotationCatalogue::Builtin().All()) {
    const std::string where = api.market + "/" + api.api;
    auto reply = Build(api, Example(api));
    ASSERT_TRUE(reply.ok) << where << " " << reply.msg_cd << " " << reply.msg1;
    EXPECT_EQ(reply.body.at("rt_cd").as_string(), "0") << where;
    for (const auto& out : api.outputs) {
      const auto* value = reply.body.if_contains(out.name);
      ASSERT_NE(value, nullptr) << where << " " << out.name;
      std::vector<const json::object*> rows;
      if (out.is_array) {
        ASSERT_TRUE(value->is_array()) << where << " " << out.name;
        EXPECT_FALSE(value->as_array().empty()) << where;
        for (const auto& row : value->as_array()) rows.push_back(&row.as_object());
      } else {
        ASSERT_TRUE(value->is_object()) << where << " " << out.name;
        rows.push_back(&value->as_object());
      }
      for (const auto* row : rows) {
        ASSERT_EQ(row->size(), out.columns.size()) << where << " " << out.name;
        std::size_t i = 0;
        for (const auto& [key, v] : *row) {
          EXPECT_EQ(key, out.columns[i++].name) << where;
          EXPECT_TRUE(v.is_string()) << where << " " << key;
        }
      }
    }
  }
}

// The numbers hang together: a high is never under its low, a change never exceeds its price, the
// sign and the rate follow the change.
TEST_F(CatalogueQuotationTest, NumbersAreConsistent) {
  const auto& futures =
      Api("/uapi/domestic-futureoption/v1/quotations/inquire-daily-fuopchartprice");
  auto reply = Build(futures, Example(futures));
  ASSERT_TRUE(reply.ok);
  for (const auto& row : reply.body.at("output2").as_array()) {
    const auto& o = row.as_object();
    EXPECT_LE(Number(o, "futs_lwpr"), Number(o, "futs_hgpr"));
    EXPECT_LE(Number(o, "futs_lwpr"), Number(o, "futs_prpr"));
    EXPECT_GE(Number(o, "futs_hgpr"), Number(o, "futs_prpr"));
  }
  const auto& us = Api("/uapi/overseas-price/v1/quotations/price");
  auto price = Build(us, Example(us));
  ASSERT_TRUE(price.ok);
  const auto& o = price.body.at("output").as_object();
  const double last = Number(o, "last"), base = Number(o, "base"), diff = Number(o, "diff");
  EXPECT_LT(std::abs(diff), last);
  EXPECT_NEAR(last - base, diff, 0.0002);
  EXPECT_NEAR(Number(o, "rate"), 100 * diff / base, 0.01);
  EXPECT_EQ(std::string(o.at("sign").as_string()), diff > 0 ? "2" : diff < 0 ? "5" : "3");
  EXPECT_EQ(std::string(o.at("last").as_string()).find('.') + 5, o.at("last").as_string().size())
      << "overseas prices carry 4 decimals";
  EXPECT_EQ(o.at("rsym").as_string(), "DNASAAPL");
  // The currency follows KIS's exchange code.
  const auto& detail = Api("/uapi/overseas-price/v1/quotations/price-detail");
  auto params = Example(detail);
  params["EXCD"] = "TSE";
  auto tokyo = Build(detail, params);
  ASSERT_TRUE(tokyo.ok);
  EXPECT_EQ(tokyo.body.at("output").at("curr").as_string(), "JPY");
}

// A domestic stock's prices are the market model's: the same as the hand-written current price.
TEST_F(CatalogueQuotationTest, DomesticStockPricesComeFromTheModel) {
  const auto& etf = Api("/uapi/etfetn/v1/quotations/inquire-price");
  auto reply = Build(etf, {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", "005930"}});
  ASSERT_TRUE(reply.ok);
  const auto* stock = universe_.Find("005930");
  const auto q = market_.QuoteAt(*stock, *common::ParseKstDateTime("2026-11-24 11:00:00"));
  const auto& o = reply.body.at("output").as_object();
  EXPECT_EQ(o.at("stck_prpr").as_string(), std::to_string(q.price));
  EXPECT_EQ(o.at("prdy_vrss").as_string(), std::to_string(q.price - q.prev_close));
}

// KOSPI's level is its members' prices weighted by shares: it moves when they move, and its
// change, sign and rate follow.
TEST_F(CatalogueQuotationTest, IndexLevelMovesWithItsMembers) {
  const auto& index = Api("/uapi/domestic-stock/v1/quotations/inquire-index-price");
  auto level = [&](const char* when) {
    auto reply =
        Build(index, {{"FID_COND_MRKT_DIV_CODE", "U"}, {"FID_INPUT_ISCD", "0001"}}, "", when);
    EXPECT_TRUE(reply.ok);
    return reply.body.at("output").as_object();
  };
  const auto at10 = level("2026-11-24 10:00:00");
  const auto at14 = level("2026-11-24 14:00:00");
  const double l10 = Number(at10, "bstp_nmix_prpr"), l14 = Number(at14, "bstp_nmix_prpr");
  EXPECT_GT(l10, 500);
  EXPECT_NE(l10, l14);
  // The same day's previous close under both.
  EXPECT_NEAR(l10 - Number(at10, "bstp_nmix_prdy_vrss"), l14 - Number(at14, "bstp_nmix_prdy_vrss"),
              0.011);
  EXPECT_GE(Number(at14, "bstp_nmix_hgpr"), l14);
  EXPECT_LE(Number(at14, "bstp_nmix_lwpr"), l14);
  const double prev = l14 - Number(at14, "bstp_nmix_prdy_vrss");
  EXPECT_NEAR(Number(at14, "bstp_nmix_prdy_ctrt"), 100 * (l14 - prev) / prev, 0.01);
  // The daily bars walk back from today's level.
  const auto& daily = Api("/uapi/domestic-stock/v1/quotations/inquire-index-daily-price");
  auto bars = Build(daily, Example(daily), "", "2026-11-24 14:00:00");
  ASSERT_TRUE(bars.ok);
  const auto& rows = bars.body.at("output2").as_array();
  ASSERT_GE(rows.size(), 2u);
  EXPECT_NEAR(Number(rows[0].as_object(), "bstp_nmix_prpr"), l14, 0.011);
  EXPECT_NEAR(Number(rows[1].as_object(), "bstp_nmix_prpr"), l14, l14 * 0.05);
  // Its members: Samsung Electronics (the largest KOSPI member) moved between the two.
  const auto* samsung = universe_.Find("005930");
  EXPECT_NE(market_.QuoteAt(*samsung, *common::ParseKstDateTime("2026-11-24 10:00:00")).price,
            market_.QuoteAt(*samsung, *common::ParseKstDateTime("2026-11-24 14:00:00")).price);
}

// A ranking lists the model's stocks with their own prices, ranked from 1.
TEST_F(CatalogueQuotationTest, RankingsListTheModelsStocks) {
  const auto& ranking = Api("/uapi/domestic-stock/v1/ranking/fluctuation");
  auto reply = Build(ranking, Example(ranking));
  ASSERT_TRUE(reply.ok);
  const auto& rows = reply.body.at("output").as_array();
  ASSERT_FALSE(rows.empty());
  const auto now = *common::ParseKstDateTime("2026-11-24 11:00:00");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& o = rows[i].as_object();
    EXPECT_EQ(o.at("data_rank").as_string(), std::to_string(i + 1));
    const auto* stock = universe_.Find(o.at("stck_shrn_iscd").as_string());
    ASSERT_NE(stock, nullptr);
    EXPECT_EQ(o.at("stck_prpr").as_string(), std::to_string(market_.QuoteAt(*stock, now).price));
  }
}

// A missing required parameter gets KIS's error naming it.
TEST_F(CatalogueQuotationTest, MissingRequiredParameterIsRefused) {
  const auto& us = Api("/uapi/overseas-price/v1/quotations/price");
  auto reply = Build(us, {{"AUTH", ""}, {"EXCD", "NAS"}});
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.msg_cd, "OPSQ2001");
  EXPECT_EQ(reply.msg1, "ERROR : INPUT_FIELD_NAME SYMB");
}

// Where KIS pages, the first page says "more" (tr_cont M) and the next one is the last (D), with
// older rows on the second page.
TEST_F(CatalogueQuotationTest, PagesWhereKisPages) {
  const auto& daily = Api("/uapi/overseas-price/v1/quotations/period-rights");
  ASSERT_TRUE(daily.paged);
  auto first = Build(daily, Example(daily));
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(first.tr_cont, "M");
  auto second = Build(daily, Example(daily), "N");
  ASSERT_TRUE(second.ok);
  EXPECT_EQ(second.tr_cont, "D");
  const auto& a = first.body.at("output").as_array();
  const auto& b = second.body.at("output").as_array();
  EXPECT_GT(a.back().at("bass_dt").as_string(), b.front().at("bass_dt").as_string());
  // An API the samples page by tr_cont alone answers in one page.
  const auto& ranking = Api("/uapi/domestic-stock/v1/ranking/fluctuation");
  ASSERT_TRUE(ranking.paged);
  EXPECT_EQ(Build(ranking, Example(ranking)).tr_cont, "D");
}

// The continuation keys an API takes come back beside its outputs, empty on the last page; an API
// continued by KEYB answers in one page.
TEST_F(CatalogueQuotationTest, ReturnsContinuationKeys) {
  const auto& rights = Api("/uapi/overseas-price/v1/quotations/period-rights");
  auto first = Build(rights, Example(rights));
  ASSERT_TRUE(first.ok);
  EXPECT_NE(first.body.at("ctx_area_nk50").as_string(), "");
  EXPECT_EQ(Build(rights, Example(rights), "N").body.at("ctx_area_nk50").as_string(), "");
  const auto& theme = Api("/uapi/overseas-price/v1/quotations/industry-theme");
  auto one = Build(theme, Example(theme));
  ASSERT_TRUE(one.ok);
  EXPECT_EQ(one.tr_cont, "D");
  EXPECT_EQ(one.body.at("keyb").as_string(), "");
}

// The hand-written answers of the 11 TRs kisgate and common clients use (written from KIS's
// documented field lists) have the catalogue's blocks, shapes and columns, except where noted.
TEST_F(CatalogueQuotationTest, HandWrittenAnswersAgreeWithTheCatalogue) {
  // Where they differ, and why: KIS's sample lists one name of the after-hours book without its
  // level number; python-kis reads product-info fields beyond the sample's list.
  const std::map<std::string, std::string> known = {
      {"/uapi/domestic-stock/v1/quotations/inquire-overtime-asking-price", "ovtm_untp_bidp_rsqn"},
      {"/uapi/domestic-stock/v1/quotations/search-info", "more columns"}};
  const auto now = *common::ParseKstDateTime("2026-11-24 11:00:00");
  auto check = [&](const QuotationReply& reply, const kis::QuotationApi& api) {
    ASSERT_TRUE(reply.ok) << api.path << " " << reply.msg1;
    for (const auto& out : api.outputs) {
      const auto* value = reply.body.if_contains(out.name);
      ASSERT_NE(value, nullptr) << api.path << " " << out.name;
      EXPECT_EQ(value->is_array(), out.is_array) << api.path << " " << out.name;
      const json::object* row = nullptr;
      if (value->is_array() && !value->as_array().empty()) row = &value->as_array()[0].as_object();
      if (value->is_object()) row = &value->as_object();
      if (row == nullptr || known.contains(api.path)) continue;
      std::vector<std::string> names;
      for (const auto& [k, v] : *row) names.emplace_back(k);
      std::vector<std::string> expected;
      for (const auto& c : out.columns) expected.push_back(c.name);
      EXPECT_EQ(names, expected) << api.path << " " << out.name;
    }
  };
  for (const auto& tr : kis::AllTrs()) {
    const auto& api = Api(tr.path);
    auto params = Example(api);
    if (tr.paging == kis::Paging::kDateCursor) {  // inside the model's history
      params["FID_INPUT_DATE_1"] = "20261001";
      params["FID_INPUT_DATE_2"] = "20261120";
    }
    ParamLookup lookup = [&params](std::string_view name) -> std::optional<std::string_view> {
      for (const auto& [k, v] : params) {
        if (http::EqualsIgnoreCase(k, name)) return std::string_view(v);
      }
      return std::nullopt;
    };
    check(BuildQuotation(market_, universe_, tr.tr, lookup, now), api);
  }
  for (auto tr :
       {ClientTr::kProductInfo, ClientTr::kStockInfo, ClientTr::kTrades, ClientTr::kDailyPrices}) {
    const kis::QuotationApi* api = nullptr;
    for (const auto& candidate : kis::QuotationCatalogue::Builtin().All()) {
      const auto* info = FindClientTrByPath(candidate.path);
      if (info != nullptr && info->tr == tr) api = &candidate;
    }
    ASSERT_NE(api, nullptr);
    auto params = Example(*api);
    ParamLookup lookup = [&params](std::string_view name) -> std::optional<std::string_view> {
      for (const auto& [k, v] : params) {
        if (http::EqualsIgnoreCase(k, name)) return std::string_view(v);
      }
      return std::nullopt;
    };
    check(BuildClientQuotation(market_, universe_, tr, lookup, now), *api);
  }
}

}  // namespace
}  // namespace kisgate::sim

#include "sim/quotations.hpp"

#include <map>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "http/message.hpp"
#include "sim/market_model.hpp"

namespace kisgate::sim {
namespace {

namespace json = boost::json;

class QuotationsTest : public ::testing::Test {
 protected:
  QuotationReply Build(kis::Tr tr, std::map<std::string, std::string> params,
                       const char* when = "2026-11-24 11:00:00") {
    ParamLookup lookup = [&params](std::string_view name) -> std::optional<std::string_view> {
      for (const auto& [k, v] : params) {
        if (http::EqualsIgnoreCase(k, name)) return std::string_view(v);
      }
      return std::nullopt;
    };
    return BuildQuotation(market_, universe_, tr, lookup, *common::ParseKstDateTime(when));
  }
  static std::map<std::string, std::string> Stock(std::string code = "005930") {
    return {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", code}};
  }

  const Universe& universe_ = Universe::Default();
  common::MarketCalendar calendar_;
  MarketModel market_{1, universe_, calendar_};
};

// Foreigners' net buying is a share of the day's volume, of either sign, for every kind of stock.
TEST_F(QuotationsTest, ForeignNetBuyingIsAShareOfVolume) {
  for (const char* code : {"005930", "000660", "035420", "100000", "100030", "100060"}) {
    auto price = Build(kis::Tr::kPrice, Stock(code));
    ASSERT_TRUE(price.ok) << code;
    const auto& o = price.body.at("output").as_object();
    const auto net = std::stoll(std::string(o.at("frgn_ntby_qty").as_string()));
    const auto volume = std::stoll(std::string(o.at("acml_vol").as_string()));
    EXPECT_LE(std::llabs(net), volume) << code;
  }
}

// Every field kis-api.md §4 names is present, and every value is a JSON string.
TEST_F(QuotationsTest, EveryDocumentedFieldIsAString) {
  auto check = [](const json::object& o, std::initializer_list<std::string_view> fields) {
    for (auto f : fields) {
      ASSERT_TRUE(o.contains(f)) << f;
    }
    for (const auto& [k, v] : o) ASSERT_TRUE(v.is_string()) << k << " is not a string";
  };
  auto price = Build(kis::Tr::kPrice, Stock());
  ASSERT_TRUE(price.ok);
  check(price.body.at("output").as_object(), {"stck_prpr",
                                              "prdy_vrss",
                                              "prdy_vrss_sign",
                                              "prdy_ctrt",
                                              "stck_oprc",
                                              "stck_hgpr",
                                              "stck_lwpr",
                                              "stck_mxpr",
                                              "stck_llam",
                                              "stck_sdpr",
                                              "acml_vol",
                                              "acml_tr_pbmn",
                                              "hts_frgn_ehrt",
                                              "frgn_ntby_qty",
                                              "per",
                                              "pbr",
                                              "eps",
                                              "bps",
                                              "hts_avls",
                                              "w52_hgpr",
                                              "w52_lwpr",
                                              "iscd_stat_cls_code",
                                              "stck_shrn_iscd",
                                              "bstp_kor_isnm",
                                              "aspr_unit",
                                              "temp_stop_yn"});
  auto book = Build(kis::Tr::kOrderBook, Stock());
  check(book.body.at("output1").as_object(),
        {"aspr_acpt_hour", "askp1", "askp10", "bidp1", "bidp10", "askp_rsqn1", "bidp_rsqn10",
         "askp_rsqn_icdc1", "bidp_rsqn_icdc10", "total_askp_rsqn", "total_bidp_rsqn",
         "ntby_aspr_rsqn"});
  check(book.body.at("output2").as_object(),
        {"antc_cnpr", "antc_vol", "antc_cntg_vrss", "antc_cntg_vrss_sign", "antc_cntg_prdy_ctrt",
         "stck_prpr", "stck_shrn_iscd", "vi_cls_code"});
  auto investors = Build(kis::Tr::kInvestors, Stock());
  ASSERT_FALSE(investors.body.at("output").as_array().empty());
  check(investors.body.at("output").as_array()[0].as_object(),
        {"stck_bsop_date", "stck_clpr", "prdy_vrss", "prdy_vrss_sign", "prsn_ntby_qty",
         "frgn_ntby_tr_pbmn", "orgn_shnu_vol", "prsn_shnu_tr_pbmn", "frgn_seln_vol",
         "orgn_seln_tr_pbmn"});
  auto overtime = Build(kis::Tr::kOvertimePrice, Stock(), "2026-11-24 17:00:00");
  check(overtime.body.at("output").as_object(),
        {"ovtm_untp_prpr", "ovtm_untp_prdy_vrss", "ovtm_untp_prdy_vrss_sign", "ovtm_untp_prdy_ctrt",
         "ovtm_untp_vol", "ovtm_untp_tr_pbmn", "ovtm_untp_mxpr", "ovtm_untp_llam", "ovtm_untp_oprc",
         "ovtm_untp_hgpr", "ovtm_untp_lwpr", "ovtm_untp_antc_cnpr", "ovtm_untp_antc_cnqn",
         "ovtm_untp_sdpr", "bidp", "askp"});
  auto overtime_book = Build(kis::Tr::kOvertimeOrderBook, Stock(), "2026-11-24 17:00:00");
  check(overtime_book.body.at("output").as_object(),
        {"ovtm_untp_last_hour", "ovtm_untp_askp1", "ovtm_untp_bidp10", "ovtm_untp_askp_rsqn1",
         "ovtm_untp_bidp_rsqn10", "ovtm_untp_total_askp_rsqn", "ovtm_untp_total_bidp_rsqn"});
  auto minute_params = Stock();
  minute_params["FID_INPUT_HOUR_1"] = "110000";
  minute_params["FID_PW_DATA_INCU_YN"] = "N";
  minute_params["FID_ETC_CLS_CODE"] = "";
  auto minute = Build(kis::Tr::kMinuteBars, minute_params);
  ASSERT_EQ(minute.body.at("output2").as_array().size(), 30u);
  check(minute.body.at("output2").as_array()[0].as_object(),
        {"stck_bsop_date", "stck_cntg_hour", "stck_prpr", "stck_oprc", "stck_hgpr", "stck_lwpr",
         "cntg_vol", "acml_tr_pbmn"});
  EXPECT_EQ(minute.body.at("output2").as_array()[0].at("stck_cntg_hour").as_string(), "110000");
  EXPECT_EQ(minute.tr_cont, "M");
  auto daily_params = Stock();
  daily_params["FID_INPUT_DATE_1"] = "20260101";
  daily_params["FID_INPUT_DATE_2"] = "20261124";
  daily_params["FID_PERIOD_DIV_CODE"] = "D";
  daily_params["FID_ORG_ADJ_PRC"] = "0";
  auto daily = Build(kis::Tr::kDailyBars, daily_params);
  ASSERT_EQ(daily.body.at("output2").as_array().size(), 100u);
  check(daily.body.at("output2").as_array()[0].as_object(),
        {"stck_bsop_date", "stck_clpr", "stck_oprc", "stck_hgpr", "stck_lwpr", "acml_vol",
         "acml_tr_pbmn", "prdy_vrss", "prdy_vrss_sign", "flng_cls_code", "prtt_rate", "mod_yn"});
  EXPECT_EQ(daily.tr_cont, "M");
}

TEST_F(QuotationsTest, DeterministicForSeedAndTime) {
  auto a = json::serialize(Build(kis::Tr::kOrderBook, Stock()).body);
  auto b = json::serialize(Build(kis::Tr::kOrderBook, Stock()).body);
  EXPECT_EQ(a, b);
  MarketModel other(2, universe_, calendar_);
  ParamLookup lookup = [](std::string_view name) -> std::optional<std::string_view> {
    if (name == "FID_COND_MRKT_DIV_CODE") return "J";
    if (name == "FID_INPUT_ISCD") return "005930";
    return std::nullopt;
  };
  auto c = BuildQuotation(other, universe_, kis::Tr::kOrderBook, lookup,
                          *common::ParseKstDateTime("2026-11-24 11:00:00"));
  EXPECT_NE(a, json::serialize(c.body));
}

TEST_F(QuotationsTest, UnknownCodeIsZeroedLikeKis) {
  auto r = Build(kis::Tr::kPrice, Stock("999999"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.body.at("rt_cd").as_string(), "0");
  EXPECT_EQ(r.body.at("output").at("stck_prpr").as_string(), "0");
  EXPECT_EQ(r.body.at("output").at("stck_shrn_iscd").as_string(), "");
}

TEST_F(QuotationsTest, BadParametersNameTheField) {
  auto no_market = Build(kis::Tr::kPrice, {{"FID_INPUT_ISCD", "005930"}});
  EXPECT_FALSE(no_market.ok);
  EXPECT_EQ(no_market.msg_cd, "OPSQ2001");
  EXPECT_NE(no_market.msg1.find("FID_COND_MRKT_DIV_CODE"), std::string::npos);
  auto short_code = Build(kis::Tr::kPrice, Stock("5930"));
  EXPECT_EQ(short_code.msg_cd, "OPSQ2002");
  auto p = Stock();
  p["FID_INPUT_HOUR_1"] = "11:00";
  p["FID_PW_DATA_INCU_YN"] = "N";
  auto bad_hour = Build(kis::Tr::kMinuteBars, p);
  EXPECT_FALSE(bad_hour.ok);
  EXPECT_NE(bad_hour.msg1.find("FID_INPUT_HOUR_1"), std::string::npos);
  auto d = Stock();
  d["FID_INPUT_DATE_1"] = "20261301";
  d["FID_INPUT_DATE_2"] = "20261124";
  d["FID_PERIOD_DIV_CODE"] = "D";
  d["FID_ORG_ADJ_PRC"] = "0";
  EXPECT_NE(Build(kis::Tr::kDailyBars, d).msg1.find("FID_INPUT_DATE_1"), std::string::npos);
  d["FID_INPUT_DATE_1"] = "20260101";
  d["FID_PERIOD_DIV_CODE"] = "X";
  EXPECT_NE(Build(kis::Tr::kDailyBars, d).msg1.find("FID_PERIOD_DIV_CODE"), std::string::npos);
}

// A time later than the data means "now": the first bar is the minute in progress.
TEST_F(QuotationsTest, FutureHourMeansNow) {
  auto p = Stock();
  p["FID_INPUT_HOUR_1"] = "235959";
  p["FID_PW_DATA_INCU_YN"] = "N";
  auto r = Build(kis::Tr::kMinuteBars, p, "2026-11-24 10:15:20");
  EXPECT_EQ(r.body.at("output2").as_array()[0].at("stck_cntg_hour").as_string(), "101500");
  // python-kis's first page asks "000000": the same as "now".
  p["FID_INPUT_HOUR_1"] = "000000";
  EXPECT_EQ(json::serialize(Build(kis::Tr::kMinuteBars, p, "2026-11-24 10:15:20").body),
            json::serialize(r.body));
  p["FID_INPUT_HOUR_1"] = "085900";  // before the open: nothing
  EXPECT_TRUE(
      Build(kis::Tr::kMinuteBars, p, "2026-11-24 10:15:20").body.at("output2").as_array().empty());
}

std::int64_t Int(const json::object& o, std::string_view field) {
  return std::stoll(std::string(o.at(field).as_string()));
}

// inquire-price carries KIS's 82 fields, with values that agree with the market model: pivot
// points on the tick grid around yesterday's range, 52-week and year dates that are trading days.
TEST_F(QuotationsTest, PriceHasEveryFieldConsistentWithTheModel) {
  auto r = Build(kis::Tr::kPrice, Stock());
  ASSERT_TRUE(r.ok);
  const auto& o = r.body.at("output").as_object();
  EXPECT_EQ(o.size(), 82u);
  EXPECT_EQ(o.begin()->key(), "iscd_stat_cls_code");
  EXPECT_EQ((o.end() - 1)->key(), "mang_issu_cls_code");
  for (const auto* field :
       {"pvt_scnd_dmrs_prc", "pvt_frst_dmrs_prc", "pvt_pont_val", "pvt_frst_dmsp_prc",
        "pvt_scnd_dmsp_prc", "dmrs_val", "dmsp_val", "stck_sspr", "d250_hgpr", "stck_dryy_lwpr"}) {
    const auto v = Int(o, field);
    ASSERT_GT(v, 0) << field;
    EXPECT_EQ(v % TickSize(v), 0) << field;
  }
  EXPECT_GT(Int(o, "pvt_frst_dmrs_prc"), Int(o, "pvt_pont_val"));
  EXPECT_LT(Int(o, "pvt_frst_dmsp_prc"), Int(o, "pvt_pont_val"));
  for (const auto* field :
       {"w52_hgpr_date", "w52_lwpr_date", "d250_hgpr_date", "dryy_hgpr_date", "dryy_lwpr_date"}) {
    auto date = common::ParseYmd(o.at(field).as_string());
    ASSERT_TRUE(date) << field;
    EXPECT_TRUE(calendar_.IsTradingDay(*date)) << field;
  }
  EXPECT_EQ(o.at("w52_hgpr"), o.at("d250_hgpr"));
  EXPECT_GE(Int(o, "w52_hgpr"), Int(o, "stck_dryy_hgpr"));
  EXPECT_EQ(Int(o, "rstc_wdth_prc"), Int(o, "stck_mxpr") - Int(o, "stck_sdpr"));
  // python-kis derives yesterday's volume as volume / (1 + rate / 100).
  const double rate = std::stod(std::string(o.at("prdy_vrss_vol_rate").as_string()));
  const auto quote =
      market_.QuoteAt(*universe_.Find("005930"), *common::ParseKstDateTime("2026-11-24 11:00:00"));
  EXPECT_NEAR(static_cast<double>(Int(o, "acml_vol")) / (1 + rate / 100),
              static_cast<double>(quote.prev_volume),
              static_cast<double>(quote.prev_volume) * 0.001);
}

TEST(Isin, CheckDigit) {
  EXPECT_EQ(IsinOf("005930"), "KR7005930003");
  EXPECT_EQ(IsinOf("000660"), "KR7000660001");
  EXPECT_EQ(IsinOf("035420"), "KR7035420009");
}

class ClientTrTest : public QuotationsTest {
 protected:
  QuotationReply BuildClient(ClientTr tr, std::map<std::string, std::string> params,
                             const char* when = "2026-11-24 11:00:00") {
    ParamLookup lookup = [&params](std::string_view name) -> std::optional<std::string_view> {
      for (const auto& [k, v] : params) {
        if (http::EqualsIgnoreCase(k, name)) return std::string_view(v);
      }
      return std::nullopt;
    };
    return BuildClientQuotation(market_, universe_, tr, lookup, *common::ParseKstDateTime(when));
  }
};

// search-info / search-stock-info: what python-kis's kis.stock(code) and the official samples read.
TEST_F(ClientTrTest, ProductInfoNamesTheStock) {
  auto r = BuildClient(ClientTr::kProductInfo, {{"PDNO", "005930"}, {"PRDT_TYPE_CD", "300"}});
  ASSERT_TRUE(r.ok);
  const auto& o = r.body.at("output").as_object();
  EXPECT_EQ(o.at("shtn_pdno").as_string(), "005930");
  EXPECT_EQ(o.at("std_pdno").as_string(), "KR7005930003");
  EXPECT_EQ(o.at("prdt_abrv_name").as_string(), "삼성전자");
  EXPECT_EQ(o.at("prdt_eng_abrv_name").as_string(), "Samsung Electronics");
  EXPECT_EQ(o.at("prdt_type_cd").as_string(), "300");
  auto info =
      BuildClient(ClientTr::kStockInfo, {{"PDNO", "00000A005930"}, {"PRDT_TYPE_CD", "300"}});
  ASSERT_TRUE(info.ok);
  const auto& i = info.body.at("output").as_object();
  EXPECT_EQ(i.size(), 67u);
  EXPECT_EQ(i.at("lstg_stqt").as_string(), "5969000000");
  EXPECT_EQ(i.at("mket_id_cd").as_string(), "STK");
  // A product that does not exist: KIS's business answer, not a gateway error.
  auto none = BuildClient(ClientTr::kProductInfo, {{"PDNO", "999999"}, {"PRDT_TYPE_CD", "300"}});
  EXPECT_FALSE(none.ok);
  EXPECT_TRUE(none.business);
  auto missing = BuildClient(ClientTr::kStockInfo, {{"PDNO", "005930"}});
  EXPECT_FALSE(missing.business);
  EXPECT_NE(missing.msg1.find("PRDT_TYPE_CD"), std::string::npos);
}

// inquire-ccnl: the latest trades, newest first, the first at the quote's price.
TEST_F(ClientTrTest, TradesEndAtTheQuote) {
  auto r = BuildClient(ClientTr::kTrades, Stock(), "2026-11-24 10:15:20");
  ASSERT_TRUE(r.ok);
  const auto& rows = r.body.at("output").as_array();
  ASSERT_EQ(rows.size(), 30u);
  auto price = Build(kis::Tr::kPrice, Stock(), "2026-11-24 10:15:20");
  const auto& first = rows[0].as_object();
  EXPECT_EQ(first.at("stck_cntg_hour").as_string(), "101520");
  EXPECT_EQ(first.at("stck_prpr"), price.body.at("output").at("stck_prpr"));
  EXPECT_EQ(first.at("prdy_vrss"), price.body.at("output").at("prdy_vrss"));
  for (const auto* f : {"stck_cntg_hour", "stck_prpr", "prdy_vrss", "prdy_vrss_sign", "cntg_vol",
                        "tday_rltv", "prdy_ctrt"}) {
    EXPECT_TRUE(first.contains(f)) << f;
  }
  EXPECT_TRUE(BuildClient(ClientTr::kTrades, Stock("999999")).body.at("output").as_array().empty());
}

// inquire-daily-price: 30 rows newest first, the same days and prices as the daily bars.
TEST_F(ClientTrTest, DailyPricesAreTheDailyBars) {
  auto p = Stock();
  p["FID_PERIOD_DIV_CODE"] = "D";
  p["FID_ORG_ADJ_PRC"] = "1";
  auto r = BuildClient(ClientTr::kDailyPrices, p);
  ASSERT_TRUE(r.ok);
  const auto& rows = r.body.at("output").as_array();
  ASSERT_EQ(rows.size(), 30u);
  auto d = Stock();
  d["FID_INPUT_DATE_1"] = "20260101";
  d["FID_INPUT_DATE_2"] = "20261124";
  d["FID_PERIOD_DIV_CODE"] = "D";
  d["FID_ORG_ADJ_PRC"] = "1";
  auto bars = Build(kis::Tr::kDailyBars, d);
  const auto& b = bars.body.at("output2").as_array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i].as_object();
    EXPECT_EQ(row.at("stck_bsop_date"), b[i].at("stck_bsop_date"));
    EXPECT_EQ(row.at("stck_clpr"), b[i].at("stck_clpr"));
    EXPECT_EQ(row.at("acml_vol"), b[i].at("acml_vol"));
  }
  EXPECT_EQ(rows[0].at("stck_bsop_date").as_string(), "20261124");
  p["FID_PERIOD_DIV_CODE"] = "Y";
  EXPECT_NE(BuildClient(ClientTr::kDailyPrices, p).msg1.find("FID_PERIOD_DIV_CODE"),
            std::string::npos);
}

}  // namespace
}  // namespace kisgate::sim

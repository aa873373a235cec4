#include "sim/quotations.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/kst.hpp"
#include "sim/market_model.hpp"

namespace kisgate::sim {

namespace json = boost::json;
using std::chrono::seconds;

namespace {

std::string Num(std::int64_t v) { return std::to_string(v); }
std::string Pct(double v) { return fmt::format("{:.2f}", v); }

double ChangePct(std::int64_t price, std::int64_t base) {
  return base == 0 ? 0.0 : 100.0 * static_cast<double>(price - base) / static_cast<double>(base);
}

// prdy_vrss_sign: 1 limit-up, 2 up, 3 flat, 4 limit-down, 5 down.
std::string Sign(std::int64_t price, std::int64_t base, std::int64_t upper, std::int64_t lower) {
  if (price == 0 || base == 0) return "3";
  if (upper != 0 && price >= upper) return "1";
  if (lower != 0 && price <= lower) return "4";
  if (price > base) return "2";
  if (price < base) return "5";
  return "3";
}

json::object Envelope() {
  json::object body;
  body["rt_cd"] = "0";
  body["msg_cd"] = "MCA00000";
  body["msg1"] = "정상처리 되었습니다.";
  return body;
}

QuotationReply Error(std::string code, std::string message) {
  QuotationReply r;
  r.ok = false;
  r.msg_cd = std::move(code);
  r.msg1 = std::move(message);
  return r;
}

QuotationReply Ok(json::object body, std::string tr_cont = "") {
  QuotationReply r;
  r.ok = true;
  r.body = std::move(body);
  r.tr_cont = std::move(tr_cont);
  return r;
}

// Fundamentals that do not move with the price: derived from the stock's seed, stable per stock.
struct Fundamentals {
  double eps = 0, bps = 0, foreign_pct = 0;
};

Fundamentals FundamentalsOf(const StockInfo& s) {
  const double per = 6 + static_cast<double>((s.index * 2654435761u) % 2400) / 100.0;  // 6–30
  const double pbr = 0.4 + static_cast<double>((s.index * 40503u) % 260) / 100.0;      // 0.4–3
  Fundamentals f;
  f.eps = static_cast<double>(s.base_price) / per;
  f.bps = static_cast<double>(s.base_price) / pbr;
  f.foreign_pct = 2 + static_cast<double>((s.index * 97u) % 5300) / 100.0;
  return f;
}

json::object PriceOutput(const StockInfo* s, const Snapshot& q) {
  const Fundamentals f = s ? FundamentalsOf(*s) : Fundamentals{};
  const auto shares = s ? s->listed_shares : 0;
  json::object o;
  o["iscd_stat_cls_code"] = s ? "55" : "";
  o["marg_rate"] = s ? "20.00" : "0.00";
  o["rprs_mrkt_kor_name"] = s ? (s->kosdaq ? "KOSDAQ" : "KOSPI") : "";
  o["bstp_kor_isnm"] = s ? s->sector : "";
  o["temp_stop_yn"] = "N";
  o["oprc_rang_cont_yn"] = "N";
  o["clpr_rang_cont_yn"] = "N";
  o["crdt_able_yn"] = s ? "Y" : "N";
  o["elw_pblc_yn"] = "N";
  o["stck_prpr"] = Num(q.price);
  o["prdy_vrss"] = Num(q.price == 0 ? 0 : q.price - q.prev_close);
  o["prdy_vrss_sign"] = Sign(q.price, q.prev_close, q.upper_limit, q.lower_limit);
  o["prdy_ctrt"] = Pct(ChangePct(q.price, q.prev_close));
  o["acml_tr_pbmn"] = Num(q.value);
  o["acml_vol"] = Num(q.volume);
  o["stck_oprc"] = Num(q.open);
  o["stck_hgpr"] = Num(q.high);
  o["stck_lwpr"] = Num(q.low);
  o["stck_mxpr"] = Num(q.upper_limit);
  o["stck_llam"] = Num(q.lower_limit);
  o["stck_sdpr"] = Num(q.prev_close);
  o["wghn_avrg_stck_prc"] = q.volume ? fmt::format("{:.2f}", static_cast<double>(q.value) / static_cast<double>(q.volume)) : "0.00";
  o["hts_frgn_ehrt"] = Pct(f.foreign_pct);
  // Foreigners net buyers, sellers or flat by stock (-1, 0, +1); index is unsigned, so the sign is
  // taken in signed arithmetic.
  o["frgn_ntby_qty"] = Num(s ? (q.volume / 10) * (static_cast<std::int64_t>(s->index % 3) - 1) : 0);
  o["pgtr_ntby_qty"] = "0";
  o["aspr_unit"] = Num(q.price ? TickSize(q.price) : 0);
  o["hts_deal_qty_unit_val"] = s ? "1" : "0";
  o["lstn_stcn"] = Num(shares);
  o["hts_avls"] = Num(q.price * shares / 100'000'000);
  o["per"] = f.eps > 0 ? Pct(static_cast<double>(q.price) / f.eps) : "0.00";
  o["pbr"] = f.bps > 0 ? Pct(static_cast<double>(q.price) / f.bps) : "0.00";
  o["eps"] = Pct(f.eps);
  o["bps"] = Pct(f.bps);
  o["stac_month"] = s ? "12" : "";
  o["vol_tnrt"] = Pct(shares ? 100.0 * static_cast<double>(q.volume) / static_cast<double>(shares) : 0);
  o["w52_hgpr"] = Num(q.high_52w);
  o["w52_lwpr"] = Num(q.low_52w);
  o["w52_hgpr_vrss_prpr_ctrt"] = Pct(ChangePct(q.price, q.high_52w));
  o["w52_lwpr_vrss_prpr_ctrt"] = Pct(ChangePct(q.price, q.low_52w));
  o["stck_fcam"] = s ? "100" : "0";
  o["frgn_hldn_qty"] = Num(static_cast<std::int64_t>(static_cast<double>(shares) * f.foreign_pct / 100));
  o["vi_cls_code"] = "N";
  o["ovtm_vi_cls_code"] = "N";
  o["invt_caful_yn"] = "N";
  o["mrkt_warn_cls_code"] = "00";
  o["short_over_yn"] = "N";
  o["sltr_yn"] = "N";
  o["stck_shrn_iscd"] = s ? s->code : "";
  return o;
}

bool IsCode(std::string_view c) {
  return c.size() == 6 && std::all_of(c.begin(), c.end(), [](char ch) {
           return std::isdigit(static_cast<unsigned char>(ch)) || std::isupper(static_cast<unsigned char>(ch));
         });
}

// Checks the parameters every quotation TR shares; returns an error reply or nullopt.
std::optional<QuotationReply> CheckStockParams(const ParamLookup& params) {
  auto market = params("FID_COND_MRKT_DIV_CODE");
  if (!market || (*market != "J" && *market != "NX" && *market != "UN")) {
    return Error("OPSQ2001", "ERROR : INPUT_FIELD_NAME FID_COND_MRKT_DIV_CODE");
  }
  auto code = params("FID_INPUT_ISCD");
  if (!code || !IsCode(*code)) return Error("OPSQ2002", "ERROR : INPUT_FIELD_SIZE FID_INPUT_ISCD");
  return std::nullopt;
}

json::object OrderBookReply(const StockInfo* s, const Book& b, const Snapshot& q,
                            common::WallTime now) {
  json::object out1;
  const auto kst = common::ToKst(now);
  out1["aspr_acpt_hour"] = q.live ? common::FormatHms(kst.time_of_day) : "153000";
  std::int64_t ask_change = 0, bid_change = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    const auto n = std::to_string(i + 1);
    out1["askp" + n] = Num(b.ask_price[i]);
    out1["bidp" + n] = Num(b.bid_price[i]);
    out1["askp_rsqn" + n] = Num(b.ask_qty[i]);
    out1["bidp_rsqn" + n] = Num(b.bid_qty[i]);
    out1["askp_rsqn_icdc" + n] = Num(b.ask_change[i]);
    out1["bidp_rsqn_icdc" + n] = Num(b.bid_change[i]);
    ask_change += b.ask_change[i];
    bid_change += b.bid_change[i];
  }
  out1["total_askp_rsqn"] = Num(b.total_ask);
  out1["total_bidp_rsqn"] = Num(b.total_bid);
  out1["total_askp_rsqn_icdc"] = Num(ask_change);
  out1["total_bidp_rsqn_icdc"] = Num(bid_change);
  out1["ntby_aspr_rsqn"] = Num(b.total_bid - b.total_ask);
  out1["new_mkop_cls_code"] = s ? "20" : "";
  json::object out2;
  out2["antc_mkop_cls_code"] = s ? "311" : "";
  out2["stck_prpr"] = Num(q.price);
  out2["stck_oprc"] = Num(q.open);
  out2["stck_hgpr"] = Num(q.high);
  out2["stck_lwpr"] = Num(q.low);
  out2["stck_sdpr"] = Num(q.prev_close);
  out2["antc_cnpr"] = Num(b.expected_price);
  out2["antc_cntg_vrss_sign"] = Sign(b.expected_price, q.prev_close, q.upper_limit, q.lower_limit);
  out2["antc_cntg_vrss"] = Num(b.expected_price ? b.expected_price - q.prev_close : 0);
  out2["antc_cntg_prdy_ctrt"] = Pct(b.expected_price ? ChangePct(b.expected_price, q.prev_close) : 0);
  out2["antc_vol"] = Num(b.expected_volume);
  out2["stck_shrn_iscd"] = s ? s->code : "";
  out2["vi_cls_code"] = "N";
  auto body = Envelope();
  body["output1"] = std::move(out1);
  body["output2"] = std::move(out2);
  return body;
}

json::object InvestorRow(const InvestorDay& d) {
  json::object r;
  r["stck_bsop_date"] = common::FormatYmd(d.date);
  r["stck_clpr"] = Num(d.close);
  r["prdy_vrss"] = Num(d.close - d.prev_close);
  r["prdy_vrss_sign"] = Sign(d.close, d.prev_close, 0, 0);
  const std::pair<const char*, const InvestorGroup*> groups[] = {
      {"prsn", &d.individuals}, {"frgn", &d.foreigners}, {"orgn", &d.institutions}};
  // Traded values are in million KRW.
  for (const auto& [name, g] : groups) {
    const std::string p = name;
    r[p + "_ntby_qty"] = Num(g->buy_qty - g->sell_qty);
    r[p + "_ntby_tr_pbmn"] = Num((g->buy_value - g->sell_value) / 1'000'000);
    r[p + "_shnu_vol"] = Num(g->buy_qty);
    r[p + "_shnu_tr_pbmn"] = Num(g->buy_value / 1'000'000);
    r[p + "_seln_vol"] = Num(g->sell_qty);
    r[p + "_seln_tr_pbmn"] = Num(g->sell_value / 1'000'000);
  }
  return r;
}

json::object OvertimePriceOutput(const StockInfo* s, const Overtime& o) {
  json::object r;
  r["bstp_kor_isnm"] = s ? s->sector : "";
  r["mang_issu_cls_name"] = "";
  r["ovtm_untp_prpr"] = Num(o.price);
  r["ovtm_untp_prdy_vrss"] = Num(o.price - o.base);
  r["ovtm_untp_prdy_vrss_sign"] = Sign(o.price, o.base, o.upper_limit, o.lower_limit);
  r["ovtm_untp_prdy_ctrt"] = Pct(ChangePct(o.price, o.base));
  r["ovtm_untp_vol"] = Num(o.volume);
  r["ovtm_untp_tr_pbmn"] = Num(o.value);
  r["ovtm_untp_mxpr"] = Num(o.upper_limit);
  r["ovtm_untp_llam"] = Num(o.lower_limit);
  r["ovtm_untp_oprc"] = Num(o.open);
  r["ovtm_untp_hgpr"] = Num(o.high);
  r["ovtm_untp_lwpr"] = Num(o.low);
  r["marg_rate"] = s ? "20.00" : "0.00";
  r["ovtm_untp_antc_cnpr"] = Num(o.expected_price);
  r["ovtm_untp_antc_cntg_vrss"] = Num(o.expected_price ? o.expected_price - o.base : 0);
  r["ovtm_untp_antc_cntg_vrss_sign"] = Sign(o.expected_price, o.base, o.upper_limit, o.lower_limit);
  r["ovtm_untp_antc_cntg_ctrt"] = Pct(o.expected_price ? ChangePct(o.expected_price, o.base) : 0);
  r["ovtm_untp_antc_cnqn"] = Num(o.expected_qty);
  r["ovtm_untp_sdpr"] = Num(o.base);
  r["crdt_able_yn"] = s ? "Y" : "N";
  r["rprs_mrkt_kor_name"] = s ? (s->kosdaq ? "KOSDAQ" : "KOSPI") : "";
  r["ovtm_vi_cls_code"] = "N";
  r["bidp"] = Num(o.bid_price[0]);
  r["askp"] = Num(o.ask_price[0]);
  return r;
}

json::object OvertimeBookOutput(const Overtime& o) {
  json::object r;
  r["ovtm_untp_last_hour"] = o.last_match_hhmmss ? fmt::format("{:06d}", o.last_match_hhmmss) : "";
  std::int64_t total_ask = 0, total_bid = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    const auto n = std::to_string(i + 1);
    r["ovtm_untp_askp" + n] = Num(o.ask_price[i]);
    r["ovtm_untp_bidp" + n] = Num(o.bid_price[i]);
    r["ovtm_untp_askp_rsqn" + n] = Num(o.ask_qty[i]);
    r["ovtm_untp_bidp_rsqn" + n] = Num(o.bid_qty[i]);
    total_ask += o.ask_qty[i];
    total_bid += o.bid_qty[i];
  }
  r["ovtm_untp_total_askp_rsqn"] = Num(total_ask);
  r["ovtm_untp_total_bidp_rsqn"] = Num(total_bid);
  r["ovtm_untp_ntby_bidp_rsqn"] = Num(total_bid - total_ask);
  return r;
}

// The summary (output1) the chart TRs put before their rows.
json::object ChartSummary(const StockInfo* s, const Snapshot& q) {
  json::object r;
  r["prdy_vrss"] = Num(q.price ? q.price - q.prev_close : 0);
  r["prdy_vrss_sign"] = Sign(q.price, q.prev_close, q.upper_limit, q.lower_limit);
  r["prdy_ctrt"] = Pct(ChangePct(q.price, q.prev_close));
  r["stck_prdy_clpr"] = Num(q.prev_close);
  r["acml_vol"] = Num(q.volume);
  r["acml_tr_pbmn"] = Num(q.value);
  r["hts_kor_isnm"] = s ? s->name : "";
  r["stck_prpr"] = Num(q.price);
  r["stck_shrn_iscd"] = s ? s->code : "";
  r["stck_oprc"] = Num(q.open);
  r["stck_hgpr"] = Num(q.high);
  r["stck_lwpr"] = Num(q.low);
  r["stck_mxpr"] = Num(q.upper_limit);
  r["stck_llam"] = Num(q.lower_limit);
  return r;
}

QuotationReply MinuteBarsReply(const MarketModel& market, const StockInfo* s,
                               const ParamLookup& params, common::WallTime now) {
  auto hour = params("FID_INPUT_HOUR_1");
  if (!hour || hour->size() != 6 ||
      !std::all_of(hour->begin(), hour->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error("OPSQ2002", "ERROR : INPUT_FIELD_SIZE FID_INPUT_HOUR_1");
  }
  auto include_past = params("FID_PW_DATA_INCU_YN");
  if (!include_past || (*include_past != "Y" && *include_past != "N")) {
    return Error("OPSQ2001", "ERROR : INPUT_FIELD_NAME FID_PW_DATA_INCU_YN");
  }
  // HHMMSS as a number of seconds; anything past the day (e.g. "999999") means "now".
  const int hh = std::stoi(std::string(hour->substr(0, 2)));
  const int mm = std::stoi(std::string(hour->substr(2, 2)));
  const int ss = std::stoi(std::string(hour->substr(4, 2)));
  const seconds at{hh * 3600 + mm * 60 + ss};
  Snapshot q{};
  std::vector<MinuteBar> bars;
  if (s) {
    q = market.QuoteAt(*s, now);
    bars = market.MinuteBars(*s, now, at, 30);
  }
  json::array rows;
  for (const auto& b : bars) {
    json::object r;
    r["stck_bsop_date"] = common::FormatYmd(b.date);
    r["stck_cntg_hour"] = common::FormatHms(seconds{9 * 3600 + b.minute * 60});
    r["stck_prpr"] = Num(b.close);
    r["stck_oprc"] = Num(b.open);
    r["stck_hgpr"] = Num(b.high);
    r["stck_lwpr"] = Num(b.low);
    r["cntg_vol"] = Num(b.volume);
    r["acml_tr_pbmn"] = Num(b.cum_value);
    rows.push_back(std::move(r));
  }
  const bool more = bars.size() == 30 && bars.back().minute > 0;
  auto body = Envelope();
  body["output1"] = ChartSummary(s, q);
  body["output2"] = std::move(rows);
  return Ok(std::move(body), more ? "M" : "D");
}

QuotationReply DailyBarsReply(const MarketModel& market, const StockInfo* s,
                              const ParamLookup& params, common::WallTime now) {
  auto from_text = params("FID_INPUT_DATE_1");
  auto to_text = params("FID_INPUT_DATE_2");
  auto from = from_text ? common::ParseYmd(*from_text) : std::nullopt;
  auto to = to_text ? common::ParseYmd(*to_text) : std::nullopt;
  if (!from) return Error("OPSQ2002", "ERROR : INPUT_FIELD_SIZE FID_INPUT_DATE_1");
  if (!to) return Error("OPSQ2002", "ERROR : INPUT_FIELD_SIZE FID_INPUT_DATE_2");
  auto period = params("FID_PERIOD_DIV_CODE");
  if (!period || period->size() != 1 || std::string_view("DWMY").find((*period)[0]) == std::string_view::npos) {
    return Error("OPSQ2001", "ERROR : INPUT_FIELD_NAME FID_PERIOD_DIV_CODE");
  }
  auto adjusted = params("FID_ORG_ADJ_PRC");
  if (!adjusted || (*adjusted != "0" && *adjusted != "1")) {
    return Error("OPSQ2001", "ERROR : INPUT_FIELD_NAME FID_ORG_ADJ_PRC");
  }
  Snapshot q{};
  std::vector<DayBar> bars;
  if (s) {
    q = market.QuoteAt(*s, now);
    bars = market.DailyBars(*s, *from, *to, (*period)[0], now, 100);
  }
  json::array rows;
  for (const auto& b : bars) {
    json::object r;
    r["stck_bsop_date"] = common::FormatYmd(b.date);
    r["stck_clpr"] = Num(b.close);
    r["stck_oprc"] = Num(b.open);
    r["stck_hgpr"] = Num(b.high);
    r["stck_lwpr"] = Num(b.low);
    r["acml_vol"] = Num(b.volume);
    r["acml_tr_pbmn"] = Num(b.value);
    r["flng_cls_code"] = "00";
    r["prtt_rate"] = "0.00";
    r["mod_yn"] = "N";
    r["prdy_vrss_sign"] = Sign(b.close, b.prev_close, 0, 0);
    r["prdy_vrss"] = Num(b.close - b.prev_close);
    r["revl_issu_reas"] = "";
    rows.push_back(std::move(r));
  }
  const bool more = bars.size() == 100 && bars.back().date > *from;
  auto body = Envelope();
  body["output1"] = ChartSummary(s, q);
  body["output2"] = std::move(rows);
  return Ok(std::move(body), more ? "M" : "D");
}

}  // namespace

QuotationReply BuildQuotation(const MarketModel& market, const Universe& universe, kis::Tr tr,
                              const ParamLookup& params, common::WallTime now) {
  if (auto error = CheckStockParams(params)) return *error;
  // A well-formed code that is not listed answers like KIS: success with zeroed fields.
  const StockInfo* stock = universe.Find(*params("FID_INPUT_ISCD"));
  switch (tr) {
    case kis::Tr::kPrice: {
      auto body = Envelope();
      body["output"] = PriceOutput(stock, stock ? market.QuoteAt(*stock, now) : Snapshot{});
      return Ok(std::move(body));
    }
    case kis::Tr::kOrderBook:
      return Ok(OrderBookReply(stock, stock ? market.BookAt(*stock, now) : Book{},
                               stock ? market.QuoteAt(*stock, now) : Snapshot{}, now));
    case kis::Tr::kInvestors: {
      json::array rows;
      if (stock) {
        for (const auto& d : market.Investors(*stock, now, 30)) rows.push_back(InvestorRow(d));
      }
      auto body = Envelope();
      body["output"] = std::move(rows);
      return Ok(std::move(body));
    }
    case kis::Tr::kOvertimePrice: {
      auto body = Envelope();
      body["output"] = OvertimePriceOutput(stock, stock ? market.OvertimeAt(*stock, now) : Overtime{});
      return Ok(std::move(body));
    }
    case kis::Tr::kOvertimeOrderBook: {
      auto body = Envelope();
      body["output"] = OvertimeBookOutput(stock ? market.OvertimeAt(*stock, now) : Overtime{});
      return Ok(std::move(body));
    }
    case kis::Tr::kMinuteBars:
      return MinuteBarsReply(market, stock, params, now);
    case kis::Tr::kDailyBars:
      return DailyBarsReply(market, stock, params, now);
  }
  return Error("OPSQ0002", "없는 서비스 코드 입니다");
}

}  // namespace kisgate::sim

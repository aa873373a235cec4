#include "sim/quotations.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

#include "common/kst.hpp"
#include "sim/kis_text.hpp"
#include "sim/market_model.hpp"
#include "sim/random.hpp"
#include "sim/universe.hpp"

namespace kisgate::sim {

namespace json = boost::json;
using std::chrono::seconds;

namespace {

std::string Num(std::int64_t v) { return std::to_string(v); }

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

// What does not move with the price: derived from the stock's seed, stable per stock.
struct Profile {
  double eps = 0, bps = 0, foreign_pct = 0, loan_pct = 0;
  std::int64_t par = 0;      // face value, KRW
  std::int64_t capital = 0;  // KRW
  std::string listed_on;     // YYYYMMDD
};

Profile ProfileOf(const StockInfo& s) {
  const double per = 6 + static_cast<double>((s.index * 2654435761U) % 2400) / 100.0;  // 6–30
  const double pbr = 0.4 + static_cast<double>((s.index * 40503U) % 260) / 100.0;      // 0.4–3
  Profile p;
  p.eps = static_cast<double>(s.base_price) / per;
  p.bps = static_cast<double>(s.base_price) / pbr;
  p.foreign_pct = 2 + static_cast<double>((s.index * 97U) % 5300) / 100.0;
  p.loan_pct = 0.05 + static_cast<double>((s.index * 131U) % 150) / 100.0;  // 0.05–1.5
  p.par = s.kosdaq ? 500 : 5000;
  p.capital = s.listed_shares * p.par;
  // Listed on a weekday between 1975 and 2020.
  const auto h = Mix(0x6c697374ULL, s.index);
  std::chrono::sys_days d{std::chrono::year{1975 + static_cast<int>(h % 46)} /
                          std::chrono::month{static_cast<unsigned>(1 + (h >> 8) % 12)} /
                          std::chrono::day{static_cast<unsigned>(1 + (h >> 16) % 28)}};
  while (std::chrono::weekday{d}.iso_encoding() > 5) d += std::chrono::days{1};
  p.listed_on = common::FormatYmd(std::chrono::year_month_day{d});
  return p;
}

std::string Ymd(const Date& d) { return d.ok() ? common::FormatYmd(d) : ""; }

// A value shown on the price grid (pivot points and the like); 0 stays 0.
std::int64_t OnGrid(double v) { return v < 1 ? 0 : RoundToTick(v); }

// KIS's inquire-price output: every field, in KIS's order (the official repository's
// chk_inquire_price.py lists them). A code that is not listed gets zeroes, as KIS does.
json::object PriceOutput(const StockInfo* s, const Snapshot& q) {
  const Profile f = s ? ProfileOf(*s) : Profile{};
  const auto shares = s ? s->listed_shares : 0;
  // Pivot points from the previous day (classic floor pivots and DeMark's), on the price grid.
  const auto ph = static_cast<double>(q.prev_high);
  const auto pl = static_cast<double>(q.prev_low);
  const auto pc = static_cast<double>(q.prev_close);
  const auto po = static_cast<double>(q.prev_open);
  const double pivot = (ph + pl + pc) / 3;
  const double demark = pc < po ? ph + 2 * pl + pc : pc > po ? 2 * ph + pl + pc : ph + pl + 2 * pc;
  const auto y = [&](bool yes) { return s && yes ? "Y" : "N"; };
  json::object o;
  o["iscd_stat_cls_code"] = s ? "55" : "";
  o["marg_rate"] = s ? "20.00" : "0.00";
  o["rprs_mrkt_kor_name"] = s ? (s->kosdaq ? "KOSDAQ" : "KOSPI") : "";
  o["new_hgpr_lwpr_cls_code"] = "";
  o["bstp_kor_isnm"] = s ? s->sector : "";
  o["temp_stop_yn"] = "N";
  o["oprc_rang_cont_yn"] = "N";
  o["clpr_rang_cont_yn"] = "N";
  o["crdt_able_yn"] = y(true);
  o["grmn_rate_cls_code"] = s ? "40" : "";
  o["elw_pblc_yn"] = "N";
  o["stck_prpr"] = Num(q.price);
  o["prdy_vrss"] = Num(q.price == 0 ? 0 : q.price - q.prev_close);
  o["prdy_vrss_sign"] = Sign(q.price, q.prev_close, q.upper_limit, q.lower_limit);
  o["prdy_ctrt"] = Pct(ChangePct(q.price, q.prev_close));
  o["acml_tr_pbmn"] = Num(q.value);
  o["acml_vol"] = Num(q.volume);
  // Today's volume against yesterday's, as a change in percent (python-kis derives yesterday's
  // volume from it as volume / (1 + rate / 100)).
  o["prdy_vrss_vol_rate"] = Pct(q.prev_volume != 0 ? ChangePct(q.volume, q.prev_volume) : 0);
  o["stck_oprc"] = Num(q.open);
  o["stck_hgpr"] = Num(q.high);
  o["stck_lwpr"] = Num(q.low);
  o["stck_mxpr"] = Num(q.upper_limit);
  o["stck_llam"] = Num(q.lower_limit);
  o["stck_sdpr"] = Num(q.prev_close);
  o["wghn_avrg_stck_prc"] =
      q.volume != 0
          ? fmt::format("{:.2f}", static_cast<double>(q.value) / static_cast<double>(q.volume))
          : "0.00";
  o["hts_frgn_ehrt"] = Pct(f.foreign_pct);
  // Foreigners net buyers, sellers or flat by stock (-1, 0, +1); index is unsigned, so the sign is
  // taken in signed arithmetic.
  o["frgn_ntby_qty"] = Num(s ? (q.volume / 10) * (static_cast<std::int64_t>(s->index % 3) - 1) : 0);
  o["pgtr_ntby_qty"] = "0";
  o["pvt_scnd_dmrs_prc"] = Num(OnGrid(pivot + (ph - pl)));
  o["pvt_frst_dmrs_prc"] = Num(OnGrid(2 * pivot - pl));
  o["pvt_pont_val"] = Num(OnGrid(pivot));
  o["pvt_frst_dmsp_prc"] = Num(OnGrid(2 * pivot - ph));
  o["pvt_scnd_dmsp_prc"] = Num(OnGrid(pivot - (ph - pl)));
  o["dmrs_val"] = Num(OnGrid(demark / 2 - pl));
  o["dmsp_val"] = Num(OnGrid(demark / 2 - ph));
  o["cpfn"] = Num(f.capital / 100'000'000);  // 억원
  o["rstc_wdth_prc"] = Num(q.upper_limit != 0 ? q.upper_limit - q.prev_close : 0);
  o["stck_fcam"] = Num(f.par);
  o["stck_sspr"] =
      Num(q.prev_close != 0 ? FloorToTick(static_cast<double>(q.prev_close) * 0.8) : 0);
  o["aspr_unit"] = Num(q.price != 0 ? TickSize(q.price) : 0);
  o["hts_deal_qty_unit_val"] = s ? "1" : "0";
  o["lstn_stcn"] = Num(shares);
  o["hts_avls"] = Num(q.price * shares / 100'000'000);  // 억원
  o["per"] = f.eps > 0 ? Pct(static_cast<double>(q.price) / f.eps) : "0.00";
  o["pbr"] = f.bps > 0 ? Pct(static_cast<double>(q.price) / f.bps) : "0.00";
  o["stac_month"] = s ? "12" : "";
  o["vol_tnrt"] =
      Pct(shares != 0 ? 100.0 * static_cast<double>(q.volume) / static_cast<double>(shares) : 0);
  o["eps"] = Pct(f.eps);
  o["bps"] = Pct(f.bps);
  // The model's 52 weeks are its last 250 trading days, so the two ranges coincide.
  o["d250_hgpr"] = Num(q.high_52w);
  o["d250_hgpr_date"] = Ymd(q.high_52w_day);
  o["d250_hgpr_vrss_prpr_rate"] = Pct(ChangePct(q.price, q.high_52w));
  o["d250_lwpr"] = Num(q.low_52w);
  o["d250_lwpr_date"] = Ymd(q.low_52w_day);
  o["d250_lwpr_vrss_prpr_rate"] = Pct(ChangePct(q.price, q.low_52w));
  o["stck_dryy_hgpr"] = Num(q.year_high);
  o["dryy_hgpr_vrss_prpr_rate"] = Pct(ChangePct(q.price, q.year_high));
  o["dryy_hgpr_date"] = Ymd(q.year_high_day);
  o["stck_dryy_lwpr"] = Num(q.year_low);
  o["dryy_lwpr_vrss_prpr_rate"] = Pct(ChangePct(q.price, q.year_low));
  o["dryy_lwpr_date"] = Ymd(q.year_low_day);
  o["w52_hgpr"] = Num(q.high_52w);
  o["w52_hgpr_vrss_prpr_ctrt"] = Pct(ChangePct(q.price, q.high_52w));
  o["w52_hgpr_date"] = Ymd(q.high_52w_day);
  o["w52_lwpr"] = Num(q.low_52w);
  o["w52_lwpr_vrss_prpr_ctrt"] = Pct(ChangePct(q.price, q.low_52w));
  o["w52_lwpr_date"] = Ymd(q.low_52w_day);
  o["whol_loan_rmnd_rate"] = Pct(f.loan_pct);
  o["ssts_yn"] = y(true);
  o["stck_shrn_iscd"] = s ? s->code : "";
  o["fcam_cnnm"] = s ? "원" : "";
  o["cpfn_cnnm"] = s ? "억" : "";
  o["apprch_rate"] = "0.00";
  o["frgn_hldn_qty"] =
      Num(static_cast<std::int64_t>(static_cast<double>(shares) * f.foreign_pct / 100));
  o["vi_cls_code"] = "N";
  o["ovtm_vi_cls_code"] = "N";
  o["last_ssts_cntg_qty"] = Num(q.volume / 500);
  o["invt_caful_yn"] = "N";
  o["mrkt_warn_cls_code"] = "00";
  o["short_over_yn"] = "N";
  o["sltr_yn"] = "N";
  o["mang_issu_cls_code"] = "N";
  return o;
}

bool IsCode(std::string_view c) {
  return c.size() == 6 && std::all_of(c.begin(), c.end(), [](char ch) {
           return std::isdigit(static_cast<unsigned char>(ch)) != 0 ||
                  std::isupper(static_cast<unsigned char>(ch)) != 0;
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

// Fields in KIS's order: each kind for the ten levels in turn (askp1..10, bidp1..10, ...).
json::object OrderBookReply(const StockInfo* s, const Book& b, const Snapshot& q,
                            common::WallTime now) {
  json::object out1;
  const auto kst = common::ToKst(now);
  out1["aspr_acpt_hour"] = q.live ? common::FormatHms(kst.time_of_day) : "153000";
  const auto levels = std::to_array<std::pair<const char*, const std::array<std::int64_t, 10>*>>(
      {{"askp", &b.ask_price},
       {"bidp", &b.bid_price},
       {"askp_rsqn", &b.ask_qty},
       {"bidp_rsqn", &b.bid_qty},
       {"askp_rsqn_icdc", &b.ask_change},
       {"bidp_rsqn_icdc", &b.bid_change}});
  for (const auto& [name, values] : levels) {
    for (std::size_t i = 0; i < 10; ++i) out1[fmt::format("{}{}", name, i + 1)] = Num((*values)[i]);
  }
  std::int64_t ask_change = 0;
  std::int64_t bid_change = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    ask_change += b.ask_change[i];
    bid_change += b.bid_change[i];
  }
  out1["total_askp_rsqn"] = Num(b.total_ask);
  out1["total_bidp_rsqn"] = Num(b.total_bid);
  out1["total_askp_rsqn_icdc"] = Num(ask_change);
  out1["total_bidp_rsqn_icdc"] = Num(bid_change);
  // The after-hours book is a separate TR; KIS reports it empty here during the day.
  out1["ovtm_total_askp_icdc"] = "0";
  out1["ovtm_total_bidp_icdc"] = "0";
  out1["ovtm_total_askp_rsqn"] = "0";
  out1["ovtm_total_bidp_rsqn"] = "0";
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
  out2["antc_cntg_vrss"] = Num(b.expected_price != 0 ? b.expected_price - q.prev_close : 0);
  out2["antc_cntg_prdy_ctrt"] =
      Pct(b.expected_price != 0 ? ChangePct(b.expected_price, q.prev_close) : 0);
  out2["antc_vol"] = Num(b.expected_volume);
  out2["stck_shrn_iscd"] = s ? s->code : "";
  out2["vi_cls_code"] = "N";
  auto body = Envelope();
  body["output1"] = std::move(out1);
  body["output2"] = std::move(out2);
  return body;
}

// Fields in KIS's order: each figure for individuals, foreigners and institutions in turn.
json::object InvestorRow(const InvestorDay& d) {
  json::object r;
  r["stck_bsop_date"] = common::FormatYmd(d.date);
  r["stck_clpr"] = Num(d.close);
  r["prdy_vrss"] = Num(d.close - d.prev_close);
  r["prdy_vrss_sign"] = Sign(d.close, d.prev_close, 0, 0);
  const auto groups = std::to_array<std::pair<const char*, const InvestorGroup*>>(
      {{"prsn", &d.individuals}, {"frgn", &d.foreigners}, {"orgn", &d.institutions}});
  // Traded values are in million KRW.
  using Figure = std::int64_t (*)(const InvestorGroup&);
  const auto figures = std::to_array<std::pair<const char*, Figure>>({
      {"_ntby_qty", [](const InvestorGroup& g) { return g.buy_qty - g.sell_qty; }},
      {"_ntby_tr_pbmn",
       [](const InvestorGroup& g) { return (g.buy_value - g.sell_value) / 1'000'000; }},
      {"_shnu_vol", [](const InvestorGroup& g) { return g.buy_qty; }},
      {"_shnu_tr_pbmn", [](const InvestorGroup& g) { return g.buy_value / 1'000'000; }},
      {"_seln_vol", [](const InvestorGroup& g) { return g.sell_qty; }},
      {"_seln_tr_pbmn", [](const InvestorGroup& g) { return g.sell_value / 1'000'000; }},
  });
  for (const auto& [suffix, figure] : figures) {
    for (const auto& [name, g] : groups) r[std::string(name) + suffix] = Num(figure(*g));
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
  r["ovtm_untp_antc_cntg_vrss"] = Num(o.expected_price != 0 ? o.expected_price - o.base : 0);
  r["ovtm_untp_antc_cntg_vrss_sign"] = Sign(o.expected_price, o.base, o.upper_limit, o.lower_limit);
  r["ovtm_untp_antc_cntg_ctrt"] =
      Pct(o.expected_price != 0 ? ChangePct(o.expected_price, o.base) : 0);
  r["ovtm_untp_antc_cnqn"] = Num(o.expected_qty);
  r["crdt_able_yn"] = s ? "Y" : "N";
  r["new_lstn_cls_name"] = "";
  r["sltr_yn"] = "N";
  r["mang_issu_yn"] = "N";
  r["mrkt_warn_cls_code"] = "00";
  r["trht_yn"] = "N";
  r["vlnt_deal_cls_name"] = "";
  r["ovtm_untp_sdpr"] = Num(o.base);
  r["mrkt_warn_cls_name"] = "";
  r["revl_issu_reas_name"] = "";
  r["insn_pbnt_yn"] = "N";
  r["flng_cls_name"] = "";
  r["rprs_mrkt_kor_name"] = s ? (s->kosdaq ? "KOSDAQ" : "KOSPI") : "";
  r["ovtm_vi_cls_code"] = "N";
  r["bidp"] = Num(o.bid_price[0]);
  r["askp"] = Num(o.ask_price[0]);
  return r;
}

// Fields in KIS's order. The model keeps no history of the after-hours book, so its changes are 0;
// the regular book's totals (total_*) are empty after hours, ovtm_total_* repeat this book's.
json::object OvertimeBookOutput(const Overtime& o) {
  json::object r;
  r["ovtm_untp_last_hour"] =
      o.last_match_hhmmss != 0 ? fmt::format("{:06d}", o.last_match_hhmmss) : "";
  const auto levels = std::to_array<std::pair<const char*, const std::array<std::int64_t, 10>*>>(
      {{"ovtm_untp_askp", &o.ask_price},
       {"ovtm_untp_bidp", &o.bid_price},
       {"ovtm_untp_askp_icdc", nullptr},
       {"ovtm_untp_bidp_icdc", nullptr},
       {"ovtm_untp_askp_rsqn", &o.ask_qty},
       {"ovtm_untp_bidp_rsqn", &o.bid_qty}});
  for (const auto& [name, values] : levels) {
    for (std::size_t i = 0; i < 10; ++i) {
      r[fmt::format("{}{}", name, i + 1)] = Num(values ? (*values)[i] : 0);
    }
  }
  std::int64_t total_ask = 0;
  std::int64_t total_bid = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    total_ask += o.ask_qty[i];
    total_bid += o.bid_qty[i];
  }
  r["ovtm_untp_total_askp_rsqn"] = Num(total_ask);
  r["ovtm_untp_total_bidp_rsqn"] = Num(total_bid);
  r["ovtm_untp_total_askp_rsqn_icdc"] = "0";
  r["ovtm_untp_total_bidp_rsqn_icdc"] = "0";
  r["ovtm_untp_ntby_bidp_rsqn"] = Num(total_bid - total_ask);
  r["total_askp_rsqn"] = "0";
  r["total_bidp_rsqn"] = "0";
  r["total_askp_rsqn_icdc"] = "0";
  r["total_bidp_rsqn_icdc"] = "0";
  r["ovtm_total_askp_rsqn"] = Num(total_ask);
  r["ovtm_total_bidp_rsqn"] = Num(total_bid);
  r["ovtm_total_askp_icdc"] = "0";
  r["ovtm_total_bidp_icdc"] = "0";
  return r;
}

// The summary (output1) of the minute-bar TR, KIS's eight fields in KIS's order.
json::object MinuteSummary(const StockInfo* s, const Snapshot& q) {
  json::object r;
  r["prdy_vrss"] = Num(q.price != 0 ? q.price - q.prev_close : 0);
  r["prdy_vrss_sign"] = Sign(q.price, q.prev_close, q.upper_limit, q.lower_limit);
  r["prdy_ctrt"] = Pct(ChangePct(q.price, q.prev_close));
  r["stck_prdy_clpr"] = Num(q.prev_close);
  r["acml_vol"] = Num(q.volume);
  r["acml_tr_pbmn"] = Num(q.value);
  r["hts_kor_isnm"] = s ? s->name : "";
  r["stck_prpr"] = Num(q.price);
  return r;
}

// The summary (output1) of the daily-bar TR, in KIS's order. (`itewhol_loan_rmnd_ratem` is spelt
// as KIS spells it.)
json::object DailySummary(const StockInfo* s, const Snapshot& q) {
  const Profile f = s ? ProfileOf(*s) : Profile{};
  const auto shares = s ? s->listed_shares : 0;
  json::object r = MinuteSummary(s, q);
  r["stck_shrn_iscd"] = s ? s->code : "";
  r["prdy_vol"] = Num(q.prev_volume);
  r["stck_mxpr"] = Num(q.upper_limit);
  r["stck_llam"] = Num(q.lower_limit);
  r["stck_oprc"] = Num(q.open);
  r["stck_hgpr"] = Num(q.high);
  r["stck_lwpr"] = Num(q.low);
  r["stck_prdy_oprc"] = Num(q.prev_open);
  r["stck_prdy_hgpr"] = Num(q.prev_high);
  r["stck_prdy_lwpr"] = Num(q.prev_low);
  // The best quotes of the model's book: bid at the price, ask one tick above.
  r["askp"] = Num(q.price != 0 ? std::min(q.upper_limit, q.price + TickSize(q.price)) : 0);
  r["bidp"] = Num(q.price);
  r["prdy_vrss_vol"] = Num(q.volume - q.prev_volume);
  r["vol_tnrt"] =
      Pct(shares != 0 ? 100.0 * static_cast<double>(q.volume) / static_cast<double>(shares) : 0);
  r["stck_fcam"] = Num(f.par);
  r["lstn_stcn"] = Num(shares);
  r["cpfn"] = Num(f.capital / 100'000'000);
  r["hts_avls"] = Num(q.price * shares / 100'000'000);
  r["per"] = f.eps > 0 ? Pct(static_cast<double>(q.price) / f.eps) : "0.00";
  r["eps"] = Pct(f.eps);
  r["pbr"] = f.bps > 0 ? Pct(static_cast<double>(q.price) / f.bps) : "0.00";
  r["itewhol_loan_rmnd_ratem"] = Pct(f.loan_pct);
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
  // HHMMSS as a number of seconds; anything past the day (e.g. "999999") means "now", and so does
  // "000000", which python-kis sends for its first page (kis-api.md §4).
  const int hh = std::stoi(std::string(hour->substr(0, 2)));
  const int mm = std::stoi(std::string(hour->substr(2, 2)));
  const int ss = std::stoi(std::string(hour->substr(4, 2)));
  const seconds at = *hour == "000000" ? seconds{24 * 3600} : seconds{hh * 3600 + mm * 60 + ss};
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
  body["output1"] = MinuteSummary(s, q);
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
  if (!period || period->size() != 1 ||
      std::string_view("DWMY").find((*period)[0]) == std::string_view::npos) {
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
  body["output1"] = DailySummary(s, q);
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
      body["output"] =
          OvertimePriceOutput(stock, stock ? market.OvertimeAt(*stock, now) : Overtime{});
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

std::string IsinOf(std::string_view code) {
  // KR + 7 (equities) + the short code + 00 (common share) + a check digit: ISO 6166, letters as
  // two-digit numbers (A = 10), then the Luhn sum. Hand-written: no Debian library computes it.
  const std::string body = "KR7" + std::string(code) + "00";
  std::string digits;
  for (char c : body) {
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      digits += c;
    } else {
      digits += std::to_string(c - 'A' + 10);
    }
  }
  int sum = 0;
  bool twice = true;  // from the right, the rightmost digit is doubled
  for (auto it = digits.rbegin(); it != digits.rend(); ++it, twice = !twice) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return body + static_cast<char>('0' + (10 - sum % 10) % 10);
}

namespace {

constexpr auto kClientTrs = std::to_array<ClientTrInfo>({
    {ClientTr::kProductInfo, "/uapi/domestic-stock/v1/quotations/search-info", "CTPF1604R"},
    {ClientTr::kStockInfo, "/uapi/domestic-stock/v1/quotations/search-stock-info", "CTPF1002R"},
    {ClientTr::kTrades, "/uapi/domestic-stock/v1/quotations/inquire-ccnl", "FHKST01010300"},
    {ClientTr::kDailyPrices, "/uapi/domestic-stock/v1/quotations/inquire-daily-price",
     "FHKST01010400"},
});

// KIS's answer when a product lookup finds nothing: a business answer, not a gateway error.
QuotationReply NoData() {
  QuotationReply r = Error("KIOK0560", "조회할 내용이 없습니다");
  r.business = true;
  return r;
}

// The product lookups (search-info, search-stock-info) name the stock by PDNO and its kind by
// PRDT_TYPE_CD ("300" stocks, ETFs and ETNs). PDNO may carry KIS's padding ("00000A005930").
QuotationReply ProductLookup(const Universe& universe, const ParamLookup& params,
                             const StockInfo*& stock) {
  auto type = params("PRDT_TYPE_CD");
  if (!type || type->empty()) return Error("OPSQ2001", "ERROR : INPUT_FIELD_NAME PRDT_TYPE_CD");
  auto pdno = params("PDNO");
  if (!pdno || pdno->empty() || pdno->size() > 12) {
    return Error("OPSQ2002", "ERROR : INPUT_FIELD_SIZE PDNO");
  }
  std::string_view code = *pdno;
  if (code.size() > 6) code = code.substr(code.size() - 6);
  stock = *type == "300" ? universe.Find(code) : nullptr;
  if (stock == nullptr) return NoData();
  return Ok({});
}

// search-info (CTPF1604R): python-kis reads the names and codes (shtn_pdno, std_pdno,
// prdt_abrv_name, prdt_name120, prdt_eng_abrv_name, prdt_eng_name120, prdt_type_cd).
json::object ProductInfoOutput(const StockInfo& s) {
  const Profile f = ProfileOf(s);
  json::object o;
  o["pdno"] = "00000A" + s.code;
  o["prdt_type_cd"] = "300";
  o["prdt_name"] = s.name;
  o["prdt_name120"] = s.name;
  o["prdt_abrv_name"] = s.name;
  o["prdt_eng_name"] = s.english;
  o["prdt_eng_name120"] = s.english;
  o["prdt_eng_abrv_name"] = s.english;
  o["std_pdno"] = IsinOf(s.code);
  o["shtn_pdno"] = s.code;
  o["prdt_sale_stat_cd"] = "";
  o["prdt_risk_grad_cd"] = "";
  o["prdt_clsf_cd"] = "101210";
  o["prdt_clsf_name"] = "주권";
  o["sale_strt_dt"] = "";
  o["sale_end_dt"] = "";
  o["wrap_asst_type_cd"] = "";
  o["ivst_prdt_type_cd"] = "";
  o["ivst_prdt_type_cd_name"] = "";
  o["frst_erlm_dt"] = f.listed_on;
  return o;
}

// search-stock-info (CTPF1002R): the official repository's 67 fields, in its order.
json::object StockInfoOutput(const StockInfo& s, const Snapshot& q) {
  const Profile f = ProfileOf(s);
  json::object o;
  o["pdno"] = "00000A" + s.code;
  o["prdt_type_cd"] = "300";
  o["prdt_name"] = s.name;
  o["prdt_name120"] = s.name;
  o["prdt_abrv_name"] = s.name;
  o["prdt_eng_name"] = s.english;
  o["prdt_eng_name120"] = s.english;
  o["prdt_eng_abrv_name"] = s.english;
  o["mket_id_cd"] = s.kosdaq ? "KSQ" : "STK";
  o["scty_grp_id_cd"] = "ST";
  o["excg_dvsn_cd"] = s.kosdaq ? "03" : "02";
  o["setl_mmdd"] = "1231";
  o["lstg_stqt"] = Num(s.listed_shares);
  o["lstg_cptl_amt"] = "0";
  o["cpta"] = Num(f.capital);
  o["papr"] = Num(f.par);
  o["issu_pric"] = Num(f.par);
  // The well-known KOSPI names (the universe's first ones) stand in for the KOSPI 200.
  o["kospi200_item_yn"] = !s.kosdaq && s.index < 45 ? "Y" : "N";
  o["scts_mket_lstg_dt"] = s.kosdaq ? "" : f.listed_on;
  o["scts_mket_lstg_abol_dt"] = "";
  o["kosdaq_mket_lstg_dt"] = s.kosdaq ? f.listed_on : "";
  o["kosdaq_mket_lstg_abol_dt"] = "";
  o["frbd_mket_lstg_dt"] = "";
  o["frbd_mket_lstg_abol_dt"] = "";
  o["reits_kind_cd"] = "";
  o["etf_dvsn_cd"] = "";
  o["oilf_fund_yn"] = "N";
  o["idx_bztp_lcls_cd"] = s.kosdaq ? "002" : "001";
  o["idx_bztp_mcls_cd"] = s.kosdaq ? "" : "013";
  o["idx_bztp_scls_cd"] = "";
  o["idx_bztp_lcls_cd_name"] = s.kosdaq ? "KOSDAQ" : "KOSPI";
  o["idx_bztp_mcls_cd_name"] = s.sector;
  o["idx_bztp_scls_cd_name"] = "";
  o["stck_kind_cd"] = "101";
  o["mfnd_opng_dt"] = "";
  o["mfnd_end_dt"] = "";
  o["dpsi_erlm_cncl_dt"] = "";
  o["etf_cu_qty"] = "0";
  o["std_pdno"] = IsinOf(s.code);
  o["dpsi_aptm_erlm_yn"] = "N";
  o["etf_txtn_type_cd"] = "";
  o["etf_type_cd"] = "";
  o["lstg_abol_dt"] = "";
  o["nwst_odst_dvsn_cd"] = "";
  const auto substitute = FloorToTick(static_cast<double>(q.prev_close) * 0.8);
  o["sbst_pric"] = Num(substitute);
  o["thco_sbst_pric"] = Num(substitute);
  o["thco_sbst_pric_chng_dt"] = Ymd(q.day);
  o["tr_stop_yn"] = "N";
  o["admn_item_yn"] = "N";
  o["thdt_clpr"] = Num(q.price);
  o["bfdy_clpr"] = Num(q.prev_close);
  o["clpr_chng_dt"] = Ymd(q.day);
  o["std_idst_clsf_cd"] = fmt::format("{:06d}", 10000 + Mix(0x696e64ULL, s.index) % 90000);
  o["std_idst_clsf_cd_name"] = s.sector;
  o["ocr_no"] = "";
  o["crfd_item_yn"] = "N";
  o["elec_scty_yn"] = "Y";
  o["issu_istt_cd"] = s.code.substr(0, 5);
  o["etf_chas_erng_rt_dbnb"] = "0";
  o["etf_etn_ivst_heed_item_yn"] = "N";
  o["stln_int_rt_dvsn_cd"] = "";
  o["frnr_psnl_lmt_rt"] = "0.00";
  o["lstg_rqsr_issu_istt_cd"] = "";
  o["lstg_rqsr_item_cd"] = "";
  o["trst_istt_issu_istt_cd"] = "";
  o["cptt_trad_tr_psbl_yn"] = "Y";
  o["nxt_tr_stop_yn"] = "N";
  return o;
}

// inquire-ccnl (FHKST01010300): the latest 30 trades, newest first.
json::array TradeRows(const MarketModel& market, const StockInfo* s, common::WallTime now) {
  json::array rows;
  if (s == nullptr) return rows;
  const auto q = market.QuoteAt(*s, now);
  for (const auto& t : market.RecentTrades(*s, now, 30)) {
    json::object r;
    r["stck_cntg_hour"] = common::FormatHms(seconds{9 * 3600 + t.second});
    r["stck_prpr"] = Num(t.price);
    r["prdy_vrss"] = Num(t.price - q.prev_close);
    r["prdy_vrss_sign"] = Sign(t.price, q.prev_close, q.upper_limit, q.lower_limit);
    r["cntg_vol"] = Num(t.volume);
    r["tday_rltv"] = Pct(t.strength);
    r["prdy_ctrt"] = Pct(ChangePct(t.price, q.prev_close));
    rows.push_back(std::move(r));
  }
  return rows;
}

// inquire-daily-price (FHKST01010400): the latest 30 days, weeks or months, newest first.
QuotationReply DailyPricesReply(const MarketModel& market, const StockInfo* s,
                                const ParamLookup& params, common::WallTime now) {
  auto period = params("FID_PERIOD_DIV_CODE");
  if (!period || period->size() != 1 ||
      std::string_view("DWM").find((*period)[0]) == std::string_view::npos) {
    return Error("OPSQ2001", "ERROR : INPUT_FIELD_NAME FID_PERIOD_DIV_CODE");
  }
  auto adjusted = params("FID_ORG_ADJ_PRC");
  if (!adjusted || (*adjusted != "0" && *adjusted != "1")) {
    return Error("OPSQ2001", "ERROR : INPUT_FIELD_NAME FID_ORG_ADJ_PRC");
  }
  json::array rows;
  if (s != nullptr) {
    const Profile f = ProfileOf(*s);
    const auto today = common::ToKst(now).date;
    // One more than shown: the oldest row's volume change needs the period before it.
    const auto bars = market.DailyBars(*s, market.FirstDay(), today, (*period)[0], now, 31);
    // Foreigners' net buying per day, from the investor flows (published after each close).
    std::vector<InvestorDay> flows;
    if ((*period)[0] == 'D') flows = market.Investors(*s, now, 31);
    for (std::size_t i = 0; i < bars.size() && i < 30; ++i) {
      const auto& b = bars[i];
      const std::int64_t prev_volume = i + 1 < bars.size() ? bars[i + 1].volume : 0;
      std::int64_t foreign_net = 0;
      for (const auto& d : flows) {
        if (d.date == b.date) foreign_net = d.foreigners.buy_qty - d.foreigners.sell_qty;
      }
      json::object r;
      r["stck_bsop_date"] = common::FormatYmd(b.date);
      r["stck_oprc"] = Num(b.open);
      r["stck_hgpr"] = Num(b.high);
      r["stck_lwpr"] = Num(b.low);
      r["stck_clpr"] = Num(b.close);
      r["acml_vol"] = Num(b.volume);
      r["prdy_vrss_vol_rate"] = Pct(prev_volume != 0 ? ChangePct(b.volume, prev_volume) : 0);
      r["prdy_vrss"] = Num(b.close - b.prev_close);
      r["prdy_vrss_sign"] = Sign(b.close, b.prev_close, 0, 0);
      r["prdy_ctrt"] = Pct(ChangePct(b.close, b.prev_close));
      r["hts_frgn_ehrt"] = Pct(f.foreign_pct);
      r["frgn_ntby_qty"] = Num(foreign_net);
      r["flng_cls_code"] = "00";
      r["acml_prtt_rate"] = "0.00";
      rows.push_back(std::move(r));
    }
  }
  auto body = Envelope();
  body["output"] = std::move(rows);
  return Ok(std::move(body));
}

}  // namespace

const ClientTrInfo* FindClientTrByPath(std::string_view path) {
  for (const auto& info : kClientTrs) {
    if (info.path == path) return &info;
  }
  return nullptr;
}

QuotationReply BuildClientQuotation(const MarketModel& market, const Universe& universe,
                                    ClientTr tr, const ParamLookup& params, common::WallTime now) {
  if (tr == ClientTr::kProductInfo || tr == ClientTr::kStockInfo) {
    const StockInfo* stock = nullptr;
    auto found = ProductLookup(universe, params, stock);
    if (!found.ok) return found;
    auto body = Envelope();
    body["output"] = tr == ClientTr::kProductInfo
                         ? ProductInfoOutput(*stock)
                         : StockInfoOutput(*stock, market.QuoteAt(*stock, now));
    return Ok(std::move(body));
  }
  if (auto error = CheckStockParams(params)) return *error;
  const StockInfo* stock = universe.Find(*params("FID_INPUT_ISCD"));
  if (tr == ClientTr::kTrades) {
    auto body = Envelope();
    body["output"] = TradeRows(market, stock, now);
    return Ok(std::move(body));
  }
  return DailyPricesReply(market, stock, params, now);
}

}  // namespace kisgate::sim

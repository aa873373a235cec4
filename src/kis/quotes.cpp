#include "kis/quotes.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace kisgate::kis {

std::string_view Name(Sign sign) {
  switch (sign) {
    case Sign::kLimitUp:
      return "limit_up";
    case Sign::kUp:
      return "up";
    case Sign::kFlat:
      return "flat";
    case Sign::kLimitDown:
      return "limit_down";
    case Sign::kDown:
      return "down";
    case Sign::kUnknown:
      break;
  }
  return "unknown";
}

namespace json = boost::json;

namespace {

struct Malformed {
  std::string message;
};

Classification ToClassification(const Malformed& m) {
  return Classification::Own(common::Errc::kMalformedReply, Action::kFail, m.message,
                             "the upstream is not speaking the KIS wire format");
}

// Reads KIS's string-typed fields. Absent fields read as zero / empty (KIS omits some fields for
// some instruments); a present field that is not a number is a malformed reply.
class Row {
 public:
  Row(const json::object& o, std::string_view where) : o_(o), where_(where) {}

  std::string_view Str(std::string_view key) const {
    const auto* v = o_.if_contains(key);
    if (v == nullptr) return {};
    if (!v->is_string()) throw Malformed{fmt::format("{}.{} is not a string", where_, key)};
    return v->get_string();
  }

  std::int64_t Int(std::string_view key) const {
    auto s = Str(key);
    if (s.empty()) return 0;
    std::int64_t value = 0;
    const char* begin = s.data();
    if (*begin == '+') ++begin;
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), value);
    // Some integer fields arrive as "123.00": accept an all-zero fraction.
    if (ec == std::errc{} && end != s.data() + s.size() && *end == '.') {
      const char* p = end + 1;
      while (p != s.data() + s.size() && *p == '0') ++p;
      if (p == s.data() + s.size()) return value;
    }
    if (ec != std::errc{} || end != s.data() + s.size()) {
      throw Malformed{fmt::format("{}.{} = \"{}\" is not an integer", where_, key, s)};
    }
    return value;
  }

  double Real(std::string_view key) const {
    auto s = Str(key);
    if (s.empty()) return 0;
    double value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) {
      throw Malformed{fmt::format("{}.{} = \"{}\" is not a number", where_, key, s)};
    }
    return value;
  }

  Sign SignOf(std::string_view key) const {
    auto v = Int(key);
    return v >= 1 && v <= 5 ? static_cast<Sign>(v) : Sign::kUnknown;
  }

 private:
  const json::object& o_;
  std::string_view where_;
};

const json::object& ObjectField(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || !v->is_object())
    throw Malformed{fmt::format("reply has no '{}' object", key)};
  return v->get_object();
}

const json::array& ArrayField(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr || !v->is_array()) throw Malformed{fmt::format("reply has no '{}' array", key)};
  return v->get_array();
}

// Parses the body once into this thread's parse buffer, reused from reply to reply (a reply's
// document takes no allocation of its own unless it outgrows the buffer, and then only a few), and
// reads it with `fn`. Nothing of the document outlives the call, so one buffer per thread will do.
template <class T, class Fn>
Parsed<T> Guarded(std::string_view body, Fn fn) {
  // A day of investor flows (30 rows) is about 17 KB of JSON and 60 KB of document.
  constexpr std::size_t kBufferBytes = 256 * 1024;
  thread_local const auto buffer = std::make_unique<std::array<unsigned char, kBufferBytes>>();
  try {
    json::monotonic_resource memory(buffer->data(), buffer->size());
    json::error_code ec;
    auto v = json::parse(body, ec, &memory);
    if (ec || !v.is_object()) throw Malformed{"reply is not a JSON object"};
    return fn(v.get_object());
  } catch (const Malformed& m) {
    return ToClassification(m);
  }
}

// Field names with a number in them, made once: the order book's ten levels and an investor
// group's six figures.
template <std::size_t N>
std::array<std::string, N> Numbered(std::string_view pattern) {
  std::array<std::string, N> names;
  for (std::size_t i = 0; i < N; ++i) names[i] = fmt::format(fmt::runtime(pattern), i + 1);
  return names;
}

template <class Levels>
void ReadLevels(const Row& r, Levels& asks, Levels& bids) {
  static const auto askp = Numbered<10>("askp{}");
  static const auto bidp = Numbered<10>("bidp{}");
  static const auto askp_rsqn = Numbered<10>("askp_rsqn{}");
  static const auto bidp_rsqn = Numbered<10>("bidp_rsqn{}");
  static const auto askp_rsqn_icdc = Numbered<10>("askp_rsqn_icdc{}");
  static const auto bidp_rsqn_icdc = Numbered<10>("bidp_rsqn_icdc{}");
  for (std::size_t i = 0; i < 10; ++i) {
    auto& a = asks[i];
    auto& b = bids[i];
    a.price = r.Int(askp[i]);
    b.price = r.Int(bidp[i]);
    a.quantity = r.Int(askp_rsqn[i]);
    b.quantity = r.Int(bidp_rsqn[i]);
    a.quantity_change = r.Int(askp_rsqn_icdc[i]);
    b.quantity_change = r.Int(bidp_rsqn_icdc[i]);
  }
}

// An investor group's figures: prsn (individuals), frgn (foreigners), orgn (institutions).
struct FlowKeys {
  explicit FlowKeys(std::string_view who)
      : net_quantity(fmt::format("{}_ntby_qty", who)),
        net_value(fmt::format("{}_ntby_tr_pbmn", who)),
        buy_quantity(fmt::format("{}_shnu_vol", who)),
        buy_value(fmt::format("{}_shnu_tr_pbmn", who)),
        sell_quantity(fmt::format("{}_seln_vol", who)),
        sell_value(fmt::format("{}_seln_tr_pbmn", who)) {}
  std::string net_quantity, net_value, buy_quantity, buy_value, sell_quantity, sell_value;
};

InvestorFlow Flow(const Row& r, const FlowKeys& k) {
  InvestorFlow f;
  f.net_quantity = r.Int(k.net_quantity);
  f.net_value = r.Int(k.net_value);
  f.buy_quantity = r.Int(k.buy_quantity);
  f.buy_value = r.Int(k.buy_value);
  f.sell_quantity = r.Int(k.sell_quantity);
  f.sell_value = r.Int(k.sell_value);
  return f;
}

}  // namespace

Parsed<PriceQuote> ParsePrice(std::string_view body) {
  return Guarded<PriceQuote>(body, [](const json::object& o) {
    Row r(ObjectField(o, "output"), "output");
    PriceQuote q;
    q.code = std::string(r.Str("stck_shrn_iscd"));
    q.price = r.Int("stck_prpr");
    q.change = r.Int("prdy_vrss");
    q.sign = r.SignOf("prdy_vrss_sign");
    q.change_pct = r.Real("prdy_ctrt");
    q.open = r.Int("stck_oprc");
    q.high = r.Int("stck_hgpr");
    q.low = r.Int("stck_lwpr");
    q.upper_limit = r.Int("stck_mxpr");
    q.lower_limit = r.Int("stck_llam");
    q.base_price = r.Int("stck_sdpr");
    q.volume = r.Int("acml_vol");
    q.traded_value = r.Int("acml_tr_pbmn");
    q.foreign_ownership_pct = r.Real("hts_frgn_ehrt");
    q.foreign_net_buy = r.Int("frgn_ntby_qty");
    q.per = r.Real("per");
    q.pbr = r.Real("pbr");
    q.eps = r.Real("eps");
    q.bps = r.Real("bps");
    q.market_cap_100m_krw = r.Int("hts_avls");
    q.high_52w = r.Int("w52_hgpr");
    q.low_52w = r.Int("w52_lwpr");
    q.tick_size = r.Int("aspr_unit");
    q.sector = std::string(r.Str("bstp_kor_isnm"));
    q.status_code = std::string(r.Str("iscd_stat_cls_code"));
    q.halted = r.Str("temp_stop_yn") == "Y";
    return q;
  });
}

Parsed<OrderBook> ParseOrderBook(std::string_view body) {
  return Guarded<OrderBook>(body, [](const json::object& o) {
    Row r(ObjectField(o, "output1"), "output1");
    OrderBook b;
    b.time = std::string(r.Str("aspr_acpt_hour"));
    ReadLevels(r, b.asks, b.bids);
    b.total_ask_quantity = r.Int("total_askp_rsqn");
    b.total_bid_quantity = r.Int("total_bidp_rsqn");
    if (const auto* out2 = o.if_contains("output2"); out2 != nullptr && out2->is_object()) {
      Row e(out2->get_object(), "output2");
      b.expected_price = e.Int("antc_cnpr");
      b.expected_volume = e.Int("antc_vol");
      b.expected_change = e.Int("antc_cntg_vrss");
      b.expected_sign = e.SignOf("antc_cntg_vrss_sign");
      b.expected_change_pct = e.Real("antc_cntg_prdy_ctrt");
    }
    return b;
  });
}

namespace {

InvestorDay ReadInvestorDay(const json::object& row) {
  Row r(row, "output[]");
  InvestorDay d;
  d.date = std::string(r.Str("stck_bsop_date"));
  if (d.date.empty()) return d;  // KIS pads with empty rows
  d.close = r.Int("stck_clpr");
  d.change = r.Int("prdy_vrss");
  d.sign = r.SignOf("prdy_vrss_sign");
  static const FlowKeys individuals("prsn");
  static const FlowKeys foreigners("frgn");
  static const FlowKeys institutions("orgn");
  d.individuals = Flow(r, individuals);
  d.foreigners = Flow(r, foreigners);
  d.institutions = Flow(r, institutions);
  return d;
}

}  // namespace

Parsed<std::vector<InvestorDay>> ParseInvestors(std::string_view body,
                                                std::vector<std::string>* rows) {
  return Guarded<std::vector<InvestorDay>>(body, [rows](const json::object& o) {
    std::vector<InvestorDay> days;
    std::vector<std::string> raw;
    for (const auto& item : ArrayField(o, "output")) {
      if (!item.is_object()) throw Malformed{"output[] holds a non-object"};
      auto d = ReadInvestorDay(item.get_object());
      if (d.date.empty()) continue;
      days.push_back(std::move(d));
      if (rows) raw.push_back(json::serialize(item));
    }
    if (rows) *rows = std::move(raw);
    return days;
  });
}

Parsed<InvestorDay> ParseInvestorRow(std::string_view row) {
  return Guarded<InvestorDay>(row, [](const json::object& o) {
    auto d = ReadInvestorDay(o);
    if (d.date.empty()) throw Malformed{"output[] row has no stck_bsop_date"};
    return d;
  });
}

Parsed<OvertimePrice> ParseOvertimePrice(std::string_view body) {
  return Guarded<OvertimePrice>(body, [](const json::object& o) {
    Row r(ObjectField(o, "output"), "output");
    OvertimePrice p;
    p.price = r.Int("ovtm_untp_prpr");
    p.change = r.Int("ovtm_untp_prdy_vrss");
    p.sign = r.SignOf("ovtm_untp_prdy_vrss_sign");
    p.change_pct = r.Real("ovtm_untp_prdy_ctrt");
    p.volume = r.Int("ovtm_untp_vol");
    p.traded_value = r.Int("ovtm_untp_tr_pbmn");
    p.upper_limit = r.Int("ovtm_untp_mxpr");
    p.lower_limit = r.Int("ovtm_untp_llam");
    p.open = r.Int("ovtm_untp_oprc");
    p.high = r.Int("ovtm_untp_hgpr");
    p.low = r.Int("ovtm_untp_lwpr");
    p.expected_price = r.Int("ovtm_untp_antc_cnpr");
    p.expected_quantity = r.Int("ovtm_untp_antc_cnqn");
    p.base_price = r.Int("ovtm_untp_sdpr");
    p.best_bid = r.Int("bidp");
    p.best_ask = r.Int("askp");
    return p;
  });
}

Parsed<OvertimeBook> ParseOvertimeBook(std::string_view body) {
  return Guarded<OvertimeBook>(body, [](const json::object& o) {
    Row r(ObjectField(o, "output"), "output");
    OvertimeBook b;
    b.time = std::string(r.Str("ovtm_untp_last_hour"));
    static const auto askp = Numbered<10>("ovtm_untp_askp{}");
    static const auto bidp = Numbered<10>("ovtm_untp_bidp{}");
    static const auto askp_rsqn = Numbered<10>("ovtm_untp_askp_rsqn{}");
    static const auto bidp_rsqn = Numbered<10>("ovtm_untp_bidp_rsqn{}");
    for (std::size_t idx = 0; idx < 10; ++idx) {
      b.asks[idx].price = r.Int(askp[idx]);
      b.bids[idx].price = r.Int(bidp[idx]);
      b.asks[idx].quantity = r.Int(askp_rsqn[idx]);
      b.bids[idx].quantity = r.Int(bidp_rsqn[idx]);
    }
    b.total_ask_quantity = r.Int("ovtm_untp_total_askp_rsqn");
    b.total_bid_quantity = r.Int("ovtm_untp_total_bidp_rsqn");
    return b;
  });
}

namespace {

std::vector<Bar> ReadBars(const json::object& o, bool minute, std::vector<std::string>* rows) {
  std::vector<Bar> bars;
  std::vector<std::string> raw;
  for (const auto& item : ArrayField(o, "output2")) {
    if (!item.is_object()) throw Malformed{"output2[] holds a non-object"};
    Row r(item.get_object(), "output2[]");
    Bar b;
    b.date = std::string(r.Str("stck_bsop_date"));
    if (b.date.empty()) continue;  // KIS pads short pages with empty rows
    if (minute) b.time = std::string(r.Str("stck_cntg_hour"));
    b.open = r.Int("stck_oprc");
    b.high = r.Int("stck_hgpr");
    b.low = r.Int("stck_lwpr");
    b.close = r.Int(minute ? "stck_prpr" : "stck_clpr");
    b.volume = r.Int(minute ? "cntg_vol" : "acml_vol");
    b.traded_value = r.Int("acml_tr_pbmn");
    bars.push_back(std::move(b));
    if (rows) raw.push_back(json::serialize(item));
  }
  if (rows) *rows = std::move(raw);
  return bars;
}

}  // namespace

Parsed<std::vector<Bar>> ParseMinuteBars(std::string_view body, std::vector<std::string>* rows) {
  return Guarded<std::vector<Bar>>(
      body, [rows](const json::object& o) { return ReadBars(o, true, rows); });
}

Parsed<std::vector<Bar>> ParseDailyBars(std::string_view body, std::vector<std::string>* rows) {
  return Guarded<std::vector<Bar>>(
      body, [rows](const json::object& o) { return ReadBars(o, false, rows); });
}

}  // namespace kisgate::kis

#include "api/views.hpp"

#include <fmt/format.h>

namespace kisgate::api {

namespace json = boost::json;

namespace {

std::string IsoDate(std::string_view ymd) {
  if (ymd.size() != 8) return std::string(ymd);
  return fmt::format("{}-{}-{}", ymd.substr(0, 4), ymd.substr(4, 2), ymd.substr(6, 2));
}

json::array Levels(const std::array<kis::BookLevel, 10>& levels, bool with_change = true) {
  json::array out;
  for (const auto& l : levels) {
    if (l.price == 0 && l.quantity == 0) continue;  // KIS pads a thin book with zeros
    json::object level{{"price", l.price}, {"quantity", l.quantity}};
    if (with_change) level["quantity_change"] = l.quantity_change;
    out.push_back(std::move(level));
  }
  return out;
}

json::object Flow(const kis::InvestorFlow& f) {
  return {{"net_quantity", f.net_quantity},   {"net_value_mkrw", f.net_value},
          {"buy_quantity", f.buy_quantity},   {"buy_value_mkrw", f.buy_value},
          {"sell_quantity", f.sell_quantity}, {"sell_value_mkrw", f.sell_value}};
}

}  // namespace

std::string IsoKst(std::string_view ymd, std::string_view hms) {
  if (hms.size() != 6) return IsoDate(ymd);
  return fmt::format("{}T{}:{}:{}+09:00", IsoDate(ymd), hms.substr(0, 2), hms.substr(2, 2),
                     hms.substr(4, 2));
}

json::object PriceJson(const kis::PriceQuote& q) {
  return {{"price", q.price},
          {"change", q.change},
          {"change_sign", kis::Name(q.sign)},
          {"change_pct", q.change_pct},
          {"open", q.open},
          {"high", q.high},
          {"low", q.low},
          {"base_price", q.base_price},
          {"upper_limit", q.upper_limit},
          {"lower_limit", q.lower_limit},
          {"volume", q.volume},
          {"traded_value_krw", q.traded_value},
          {"market_cap_100m_krw", q.market_cap_100m_krw},
          {"foreign_ownership_pct", q.foreign_ownership_pct},
          {"foreign_net_buy", q.foreign_net_buy},
          {"per", q.per},
          {"pbr", q.pbr},
          {"eps", q.eps},
          {"bps", q.bps},
          {"high_52w", q.high_52w},
          {"low_52w", q.low_52w},
          {"tick_size", q.tick_size},
          {"sector", q.sector},
          {"halted", q.halted}};
}

json::object OrderBookJson(const kis::OrderBook& b, std::string_view date) {
  return {{"time", IsoKst(date, b.time)},
          {"asks", Levels(b.asks)},
          {"bids", Levels(b.bids)},
          {"total_ask_quantity", b.total_ask_quantity},
          {"total_bid_quantity", b.total_bid_quantity},
          {"expected_price", b.expected_price},
          {"expected_volume", b.expected_volume},
          {"expected_change", b.expected_change},
          {"expected_change_pct", b.expected_change_pct}};
}

json::object InvestorDayJson(const kis::InvestorDay& d) {
  return {{"date", IsoDate(d.date)},
          {"close", d.close},
          {"change", d.change},
          {"change_sign", kis::Name(d.sign)},
          {"individuals", Flow(d.individuals)},
          {"foreigners", Flow(d.foreigners)},
          {"institutions", Flow(d.institutions)}};
}

json::object OvertimeJson(const kis::OvertimePrice& p) {
  return {{"price", p.price},
          {"change", p.change},
          {"change_sign", kis::Name(p.sign)},
          {"change_pct", p.change_pct},
          {"open", p.open},
          {"high", p.high},
          {"low", p.low},
          {"volume", p.volume},
          {"traded_value_krw", p.traded_value},
          {"upper_limit", p.upper_limit},
          {"lower_limit", p.lower_limit},
          {"base_price", p.base_price},
          {"expected_price", p.expected_price},
          {"expected_quantity", p.expected_quantity},
          {"best_bid", p.best_bid},
          {"best_ask", p.best_ask}};
}

json::object OvertimeBookJson(const kis::OvertimeBook& b, std::string_view date) {
  return {{"time", IsoKst(date, b.time)},
          {"asks", Levels(b.asks, false)},
          {"bids", Levels(b.bids, false)},
          {"total_ask_quantity", b.total_ask_quantity},
          {"total_bid_quantity", b.total_bid_quantity}};
}

std::string BarTime(const kis::Bar& b) { return IsoKst(b.date, b.time); }

json::object BarJson(const kis::Bar& b) {
  return {{"time", BarTime(b)},
          {"open", b.open},
          {"high", b.high},
          {"low", b.low},
          {"close", b.close},
          {"volume", b.volume},
          {"traded_value_krw", b.traded_value}};
}

std::string BarsCsv(const std::vector<kis::Bar>& bars) {
  std::string out = "time,open,high,low,close,volume,traded_value_krw\r\n";
  for (const auto& b : bars) {
    out += fmt::format("{},{},{},{},{},{},{}\r\n", BarTime(b), b.open, b.high, b.low, b.close,
                       b.volume, b.traded_value);
  }
  return out;
}

}  // namespace kisgate::api

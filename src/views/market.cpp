#include "views/market.hpp"

#include <array>

#include <fmt/format.h>

#include "common/kst.hpp"

namespace kisgate::views {

namespace {

void Levels(JsonWriter& w, const std::array<kis::BookLevel, 10>& levels, bool with_change) {
  w.BeginArray();
  for (const auto& l : levels) {
    if (l.price == 0 && l.quantity == 0) continue;  // KIS pads a thin book with zeros
    w.Begin().Field("price", l.price).Field("quantity", l.quantity);
    if (with_change) w.Field("quantity_change", l.quantity_change);
    w.End();
  }
  w.EndArray();
}

// What every book shows: its moment, its two sides best first, and their totals.
void Sides(JsonWriter& w, const std::string& time, const std::array<kis::BookLevel, 10>& asks,
           const std::array<kis::BookLevel, 10>& bids, bool with_change, std::int64_t total_ask,
           std::int64_t total_bid) {
  w.Field("time", time).Key("asks");
  Levels(w, asks, with_change);
  w.Key("bids");
  Levels(w, bids, with_change);
  w.Field("total_ask_quantity", total_ask).Field("total_bid_quantity", total_bid);
}

void Flow(JsonWriter& w, std::string_view name, const kis::InvestorFlow& f) {
  w.Key(name)
      .Begin()
      .Field("net_quantity", f.net_quantity)
      .Field("net_value_mkrw", f.net_value)
      .Field("buy_quantity", f.buy_quantity)
      .Field("buy_value_mkrw", f.buy_value)
      .Field("sell_quantity", f.sell_quantity)
      .Field("sell_value_mkrw", f.sell_value)
      .End();
}

// What a quote and a trade both say of the day so far.
struct DayFigures {
  std::int64_t price, change;
  kis::Sign sign;
  double change_pct;
  std::int64_t open, high, low, volume, traded_value;
};

void DayFields(JsonWriter& w, const DayFigures& d) {
  w.Field("price", d.price)
      .Field("change", d.change)
      .Field("change_sign", kis::Name(d.sign))
      .Field("change_pct", d.change_pct)
      .Field("open", d.open)
      .Field("high", d.high)
      .Field("low", d.low)
      .Field("volume", d.volume)
      .Field("traded_value_krw", d.traded_value);
}

}  // namespace

void AppendTime(std::string& out, common::WallTime t) {
  const auto iso = common::FormatIsoKst(t);  // "2026-11-24T09:30:00+09:00"
  const auto ms =
      std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  fmt::format_to(std::back_inserter(out), "{}.{:03}+09:00", std::string_view(iso).substr(0, 19),
                 ms < 0 ? ms + 1000 : ms);
}

std::string Time(common::WallTime t) {
  std::string out;
  AppendTime(out, t);
  return out;
}

std::string Date(std::string_view ymd) {
  if (ymd.size() != 8) return std::string(ymd);
  return fmt::format("{}-{}-{}", ymd.substr(0, 4), ymd.substr(4, 2), ymd.substr(6, 2));
}

std::string MarketTime(std::string_view ymd, std::string_view hms) {
  if (ymd.size() != 8 || hms.size() != 6) return Date(ymd);
  return fmt::format("{}T{}:{}:{}.000+09:00", Date(ymd), hms.substr(0, 2), hms.substr(2, 2),
                     hms.substr(4, 2));
}

void PriceFields(JsonWriter& w, const kis::PriceQuote& q) {
  DayFields(w, {q.price, q.change, q.sign, q.change_pct, q.open, q.high, q.low, q.volume,
                q.traded_value});
  w.Field("base_price", q.base_price)
      .Field("upper_limit", q.upper_limit)
      .Field("lower_limit", q.lower_limit)
      .Field("market_cap_100m_krw", q.market_cap_100m_krw)
      .Field("foreign_ownership_pct", q.foreign_ownership_pct)
      .Field("foreign_net_buy", q.foreign_net_buy)
      .Field("per", q.per)
      .Field("pbr", q.pbr)
      .Field("eps", q.eps)
      .Field("bps", q.bps)
      .Field("high_52w", q.high_52w)
      .Field("low_52w", q.low_52w)
      .Field("tick_size", q.tick_size)
      .Field("sector", q.sector)
      .Field("halted", q.halted);
}

void OrderBookFields(JsonWriter& w, const kis::OrderBook& b, std::string_view date) {
  Sides(w, MarketTime(date, b.time), b.asks, b.bids, true, b.total_ask_quantity,
        b.total_bid_quantity);
  w.Field("expected_price", b.expected_price)
      .Field("expected_volume", b.expected_volume)
      .Field("expected_change", b.expected_change)
      .Field("expected_change_pct", b.expected_change_pct);
}

void OvertimeFields(JsonWriter& w, const kis::OvertimePrice& p) {
  DayFields(w, {p.price, p.change, p.sign, p.change_pct, p.open, p.high, p.low, p.volume,
                p.traded_value});
  w.Field("upper_limit", p.upper_limit)
      .Field("lower_limit", p.lower_limit)
      .Field("base_price", p.base_price)
      .Field("expected_price", p.expected_price)
      .Field("expected_quantity", p.expected_quantity)
      .Field("best_bid", p.best_bid)
      .Field("best_ask", p.best_ask);
}

void OvertimeBookFields(JsonWriter& w, const kis::OvertimeBook& b, std::string_view date) {
  Sides(w, MarketTime(date, b.time), b.asks, b.bids, false, b.total_ask_quantity,
        b.total_bid_quantity);
}

void InvestorDay(JsonWriter& w, const kis::InvestorDay& d) {
  w.Begin()
      .Field("date", Date(d.date))
      .Field("close", d.close)
      .Field("change", d.change)
      .Field("change_sign", kis::Name(d.sign));
  Flow(w, "individuals", d.individuals);
  Flow(w, "foreigners", d.foreigners);
  Flow(w, "institutions", d.institutions);
  w.End();
}

std::string BarTime(const kis::Bar& b) { return MarketTime(b.date, b.time); }

void Bar(JsonWriter& w, const kis::Bar& b) {
  w.Begin()
      .Field("time", BarTime(b))
      .Field("open", b.open)
      .Field("high", b.high)
      .Field("low", b.low)
      .Field("close", b.close)
      .Field("volume", b.volume)
      .Field("traded_value_krw", b.traded_value)
      .End();
}

void TradeFields(JsonWriter& w, const kis::Tick& t) {
  w.Field("code", t.code)
      .Field("time", MarketTime(t.date, t.time))
      .Field("seq", t.seq)
      .Field("after_hours", t.after_hours);
  DayFields(w, {t.price, t.change, t.sign, t.change_pct, t.open, t.high, t.low, t.cum_volume,
                t.cum_value});
  w.Field("trade_volume", t.volume)
      .Field("vwap", t.vwap)
      .Field("best_ask", t.best_ask)
      .Field("best_bid", t.best_bid)
      .Field("received_at", Time(t.received_at));
}

void BookFields(JsonWriter& w, const kis::BookSnapshot& b) {
  w.Field("code", b.code);
  Sides(w, MarketTime(b.date, b.time), b.asks, b.bids, false, b.total_ask_quantity,
        b.total_bid_quantity);
  w.Field("after_hours", b.after_hours)
      .Field("expected_price", b.expected_price)
      .Field("expected_volume", b.expected_volume)
      .Field("volume", b.cum_volume)
      .Field("received_at", Time(b.received_at));
}

void PolledPriceFields(JsonWriter& w, const kis::PriceQuote& q, common::WallTime as_of) {
  w.Field("code", q.code).Field("time", Time(as_of));
  PriceFields(w, q);
  w.Field("polled", true);
}

std::string BarsCsv(const std::vector<kis::Bar>& bars) {
  std::string out = "time,open,high,low,close,volume,traded_value_krw\r\n";
  for (const auto& b : bars) {
    fmt::format_to(std::back_inserter(out), "{},{},{},{},{},{},{}\r\n", BarTime(b), b.open, b.high,
                   b.low, b.close, b.volume, b.traded_value);
  }
  return out;
}

}  // namespace kisgate::views

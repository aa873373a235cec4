#include "collect/records.hpp"

#include <boost/json.hpp>

#include "kis/quotes.hpp"

namespace kisgate::collect {

namespace json = boost::json;

namespace {

using Records = std::vector<store::Record>;
using Result = std::variant<Records, kis::Classification>;

store::Record Make(kis::Tr tr, const std::string& code, std::string market_time,
                   const std::string& collected_at, std::string raw) {
  std::string dataset(common::Name(kis::TrInfoFor(tr).dataset));
  return store::Record{std::move(dataset), code, std::move(market_time),
                       collected_at,       {},   std::move(raw)};
}

// The JSON rows of output2 (or output), one per bar or day, to keep beside each record; rows
// without a date are KIS's padding and are skipped, exactly as the parsers skip them.
std::vector<std::string> RawRows(const std::string& body, const char* field) {
  std::vector<std::string> rows;
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return rows;
  if (auto* a = v.get_object().if_contains(field); a && a->is_array()) {
    for (const auto& row : a->get_array()) {
      const auto* o = row.if_object();
      const auto* date = o ? o->if_contains("stck_bsop_date") : nullptr;
      if (date && date->is_string() && !date->get_string().empty()) rows.push_back(json::serialize(row));
    }
  }
  return rows;
}

template <class T, class Fn>
Result Convert(const kis::Parsed<T>& parsed, Fn fn) {
  if (auto* c = std::get_if<kis::Classification>(&parsed)) return *c;
  return fn(std::get<T>(parsed));
}

}  // namespace

Result ToRecords(kis::Tr tr, const std::string& code, const std::string& body,
                 const std::string& cycle_time, const std::string& collected_at) {
  using V = store::Value;
  switch (tr) {
    case kis::Tr::kPrice:
      return Convert(kis::ParsePrice(body), [&](const kis::PriceQuote& q) {
        auto r = Make(tr, code, cycle_time, collected_at, body);
        r.columns = {{"price", V{q.price}}, {"change", V{q.change}}, {"change_pct", V{q.change_pct}},
                     {"open", V{q.open}}, {"high", V{q.high}}, {"low", V{q.low}},
                     {"volume", V{q.volume}}, {"traded_value", V{q.traded_value}}};
        return Records{std::move(r)};
      });
    case kis::Tr::kOrderBook:
      return Convert(kis::ParseOrderBook(body), [&](const kis::OrderBook& b) {
        auto r = Make(tr, code, cycle_time, collected_at, body);
        r.columns = {{"best_ask", V{b.asks[0].price}}, {"best_bid", V{b.bids[0].price}},
                     {"total_ask_quantity", V{b.total_ask_quantity}},
                     {"total_bid_quantity", V{b.total_bid_quantity}},
                     {"expected_price", V{b.expected_price}}};
        return Records{std::move(r)};
      });
    case kis::Tr::kOvertimePrice:
      return Convert(kis::ParseOvertimePrice(body), [&](const kis::OvertimePrice& p) {
        auto r = Make(tr, code, cycle_time, collected_at, body);
        r.columns = {{"price", V{p.price}}, {"change", V{p.change}}, {"volume", V{p.volume}}};
        return Records{std::move(r)};
      });
    case kis::Tr::kOvertimeOrderBook:
      return Convert(kis::ParseOvertimeBook(body), [&](const kis::OvertimeBook& b) {
        auto r = Make(tr, code, cycle_time, collected_at, body);
        r.columns = {{"best_ask", V{b.asks[0].price}}, {"best_bid", V{b.bids[0].price}},
                     {"total_ask_quantity", V{b.total_ask_quantity}},
                     {"total_bid_quantity", V{b.total_bid_quantity}}};
        return Records{std::move(r)};
      });
    case kis::Tr::kInvestors:
      return Convert(kis::ParseInvestors(body), [&](const std::vector<kis::InvestorDay>& days) {
        auto raw = RawRows(body, "output");
        Records out;
        for (std::size_t i = 0; i < days.size(); ++i) {
          const auto& d = days[i];
          auto r = Make(tr, code, d.date, collected_at, i < raw.size() ? raw[i] : std::string("{}"));
          r.columns = {{"close", V{d.close}}, {"individuals_net", V{d.individuals.net_quantity}},
                       {"foreigners_net", V{d.foreigners.net_quantity}},
                       {"institutions_net", V{d.institutions.net_quantity}}};
          out.push_back(std::move(r));
        }
        return out;
      });
    case kis::Tr::kMinuteBars:
    case kis::Tr::kDailyBars: {
      auto parsed = tr == kis::Tr::kMinuteBars ? kis::ParseMinuteBars(body) : kis::ParseDailyBars(body);
      return Convert(parsed, [&](const std::vector<kis::Bar>& bars) {
        auto raw = RawRows(body, "output2");
        Records out;
        for (std::size_t i = 0; i < bars.size(); ++i) {
          const auto& b = bars[i];
          auto r = Make(tr, code, b.date + b.time, collected_at, i < raw.size() ? raw[i] : std::string("{}"));
          r.columns = {{"open", V{b.open}}, {"high", V{b.high}}, {"low", V{b.low}}, {"close", V{b.close}},
                       {"volume", V{b.volume}}, {"traded_value", V{b.traded_value}}};
          out.push_back(std::move(r));
        }
        return out;
      });
    }
  }
  return kis::Classification{kis::Action::kFail, "unknown_tr", "no conversion for this TR", ""};
}

}  // namespace kisgate::collect

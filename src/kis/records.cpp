#include "kis/records.hpp"

namespace kisgate::kis {

namespace {

using Records = std::vector<Record>;
using Result = std::variant<Records, Classification>;

Record Make(Tr tr, const std::string& code, std::string market_time, common::WallTime collected_at,
            std::string raw) {
  return Record{std::string(common::Name(TrInfoFor(tr).dataset)),
                code,
                std::move(market_time),
                collected_at,
                {},
                std::move(raw)};
}

template <class T, class Fn>
Result Convert(const Parsed<T>& parsed, Fn fn) {
  if (auto* c = std::get_if<Classification>(&parsed)) return *c;
  return fn(std::get<T>(parsed));
}

// The typed columns kept beside a single value's reply.
std::vector<std::pair<std::string, Value>> Columns(const PriceQuote& q) {
  using V = Value;
  return {{"price", V{q.price}},
          {"change", V{q.change}},
          {"change_pct", V{q.change_pct}},
          {"open", V{q.open}},
          {"high", V{q.high}},
          {"low", V{q.low}},
          {"volume", V{q.volume}},
          {"traded_value", V{q.traded_value}}};
}
std::vector<std::pair<std::string, Value>> Columns(const OrderBook& b) {
  using V = Value;
  return {{"best_ask", V{b.asks[0].price}},
          {"best_bid", V{b.bids[0].price}},
          {"total_ask_quantity", V{b.total_ask_quantity}},
          {"total_bid_quantity", V{b.total_bid_quantity}},
          {"expected_price", V{b.expected_price}}};
}
std::vector<std::pair<std::string, Value>> Columns(const OvertimePrice& p) {
  using V = Value;
  return {{"price", V{p.price}}, {"change", V{p.change}}, {"volume", V{p.volume}}};
}
std::vector<std::pair<std::string, Value>> Columns(const OvertimeBook& b) {
  using V = Value;
  return {{"best_ask", V{b.asks[0].price}},
          {"best_bid", V{b.bids[0].price}},
          {"total_ask_quantity", V{b.total_ask_quantity}},
          {"total_bid_quantity", V{b.total_bid_quantity}}};
}

template <class T>
Parsed<SingleValue> Widen(Parsed<T> parsed) {
  if (auto* c = std::get_if<Classification>(&parsed)) return *c;
  return SingleValue{std::get<T>(std::move(parsed))};
}

Parsed<SingleValue> ParseSingleValue(Tr tr, std::string_view body) {
  switch (tr) {
    case Tr::kPrice:
      return Widen(ParsePrice(body));
    case Tr::kOrderBook:
      return Widen(ParseOrderBook(body));
    case Tr::kOvertimePrice:
      return Widen(ParseOvertimePrice(body));
    case Tr::kOvertimeOrderBook:
      return Widen(ParseOvertimeBook(body));
    default:
      return Classification::Own(common::Errc::kMalformedReply, Action::kFail,
                                 "not a single-value TR", "");
  }
}

}  // namespace

Result ToRecords(Tr tr, const std::string& code, const std::string& body,
                 const std::string& market_time, common::WallTime collected_at) {
  using V = Value;
  switch (tr) {
    case Tr::kPrice:
    case Tr::kOrderBook:
    case Tr::kOvertimePrice:
    case Tr::kOvertimeOrderBook: {
      auto single = ToSingleValue(tr, code, body, market_time, collected_at);
      if (auto* c = std::get_if<Classification>(&single)) return *c;
      return Records{std::move(std::get<SingleValueRecord>(single).record)};
    }
    case Tr::kInvestors: {
      // Each row keeps its own JSON object, from the parse that read it.
      std::vector<std::string> raw;
      return Convert(ParseInvestors(body, &raw), [&](const std::vector<InvestorDay>& days) {
        Records out;
        out.reserve(days.size());
        for (std::size_t i = 0; i < days.size(); ++i) {
          const auto& d = days[i];
          auto r = Make(tr, code, d.date, collected_at, std::move(raw[i]));
          r.columns = {{"close", V{d.close}},
                       {"individuals_net", V{d.individuals.net_quantity}},
                       {"foreigners_net", V{d.foreigners.net_quantity}},
                       {"institutions_net", V{d.institutions.net_quantity}}};
          out.push_back(std::move(r));
        }
        return out;
      });
    }
    case Tr::kMinuteBars:
    case Tr::kDailyBars: {
      std::vector<std::string> raw;
      auto parsed =
          tr == Tr::kMinuteBars ? ParseMinuteBars(body, &raw) : ParseDailyBars(body, &raw);
      return Convert(parsed, [&](const std::vector<Bar>& bars) {
        Records out;
        out.reserve(bars.size());
        for (std::size_t i = 0; i < bars.size(); ++i) {
          const auto& b = bars[i];
          auto r = Make(tr, code, b.date + b.time, collected_at, std::move(raw[i]));
          r.columns = {{"open", V{b.open}},     {"high", V{b.high}},
                       {"low", V{b.low}},       {"close", V{b.close}},
                       {"volume", V{b.volume}}, {"traded_value", V{b.traded_value}}};
          out.push_back(std::move(r));
        }
        return out;
      });
    }
  }
  return Classification::Own(common::Errc::kUnknownTr, Action::kFail, "no conversion for this TR",
                             "");
}

Bar BarOf(const Record& record) {
  const auto integer = [&](std::string_view name) {
    const auto* v = record.Column(name);
    const auto* i = v ? std::get_if<std::int64_t>(v) : nullptr;
    return i ? *i : std::int64_t{0};
  };
  Bar b;
  b.date = record.market_time.substr(0, 8);
  if (record.market_time.size() > 8) b.time = record.market_time.substr(8);
  b.open = integer("open");
  b.high = integer("high");
  b.low = integer("low");
  b.close = integer("close");
  b.volume = integer("volume");
  b.traded_value = integer("traded_value");
  return b;
}

Parsed<InvestorDay> InvestorDayOf(const Record& record) { return ParseInvestorRow(record.raw); }
Parsed<PriceQuote> PriceOf(const Record& record) { return ParsePrice(record.raw); }
Parsed<OrderBook> OrderBookOf(const Record& record) { return ParseOrderBook(record.raw); }
Parsed<OvertimePrice> OvertimePriceOf(const Record& record) {
  return ParseOvertimePrice(record.raw);
}
Parsed<OvertimeBook> OvertimeBookOf(const Record& record) { return ParseOvertimeBook(record.raw); }

}  // namespace kisgate::kis

namespace kisgate::kis {

bool IsSingleValue(Tr tr) {
  return tr == Tr::kPrice || tr == Tr::kOrderBook || tr == Tr::kOvertimePrice ||
         tr == Tr::kOvertimeOrderBook;
}

Parsed<SingleValue> SingleValueOf(Tr tr, const Record& record) {
  return ParseSingleValue(tr, record.raw);
}

std::variant<SingleValueRecord, Classification> ToSingleValue(Tr tr, const std::string& code,
                                                              const std::string& body,
                                                              const std::string& market_time,
                                                              common::WallTime collected_at) {
  auto parsed = ParseSingleValue(tr, body);
  if (auto* c = std::get_if<Classification>(&parsed)) return *c;
  auto value = std::get<SingleValue>(std::move(parsed));
  auto record = Make(tr, code, market_time, collected_at, body);
  record.columns = std::visit([](const auto& v) { return Columns(v); }, value);
  return SingleValueRecord{std::move(record), std::move(value)};
}

}  // namespace kisgate::kis

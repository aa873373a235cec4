#include "sim/catalogue_quotation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "sim/market_model.hpp"
#include "sim/universe.hpp"

namespace kisgate::sim {

namespace json = boost::json;

namespace {

using kis::ColumnType;

constexpr int kRowsPerPage = 20;

std::uint64_t Mix(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t Mix(std::uint64_t h, std::uint64_t v) {
  v += 0x9e3779b97f4a7c15ULL + h;
  v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
  v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
  return v ^ (v >> 31);
}

// A number in [0, 1) drawn from `seed` and `salt`.
double Unit(std::uint64_t seed, std::uint64_t salt) {
  return static_cast<double>(Mix(seed, salt) >> 11) / 9007199254740992.0;
}

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The instrument a request names: the first parameter that carries a code.
std::string SubjectOf(const kis::QuotationApi& api, const ParamLookup& params) {
  constexpr auto kNames = std::to_array<std::string_view>(
      {"fid_input_iscd", "symb", "srs_cd", "pdno", "fid_input_iscd_1", "stnd_iscd", "sht_cd"});
  for (auto name : kNames) {
    if (api.FindParam(name) == nullptr) continue;
    if (auto v = params(name); v && !v->empty()) return std::string(*v);
  }
  return {};
}

// Decimals a market quotes its prices with: KRW stocks, ETFs and ELWs in whole won.
int PriceDecimals(std::string_view market, std::string_view column) {
  if (Contains(column, "nmix")) return 2;  // index levels
  if (market == "overseas_stock") return 4;
  if (market == "overseas_futureoption" || market == "domestic_futureoption" ||
      market == "domestic_bond") {
    return 2;
  }
  return 0;
}

// A level typical of the market, for instruments the model does not know.
double PriceScale(std::string_view market, std::uint64_t seed) {
  const double u = Unit(seed, 1);
  if (market == "domestic_bond") return 9500 + 1000 * u;
  if (market == "domestic_futureoption") return 50 + 400 * u;
  if (market == "elw") return 50 + 2000 * u;
  if (market == "etfetn") return 5000 + 45000 * u;
  if (market == "overseas_stock") return 10 + 490 * u;
  if (market == "overseas_futureoption") return 1 + 4999 * u;
  return 1000 + 199000 * u;
}

std::string Fixed(double v, int decimals) {
  if (decimals == 0) return fmt::format("{}", static_cast<std::int64_t>(std::llround(v)));
  return fmt::format("{:.{}f}", v, decimals);
}

// One instrument over one row (a day, a minute or a ranked stock): what its columns derive from.
struct RowValues {
  double close = 0, prev = 0, open = 0, high = 0, low = 0;
  double volume = 0;
  std::string code, name, date, time;
  std::string exchange;  // KIS's exchange code of an overseas request (NAS, NYS, HKS, TSE, ...)
  bool index = false;    // a KRX index level (two decimals), not a stock's price
  int rank = 1;          // the row's position in its list, from 1
};

// The currency an exchange quotes in, by KIS's exchange codes.
std::string_view CurrencyOf(std::string_view exchange) {
  struct Quote {
    std::string_view exchange, currency;
  };
  constexpr auto kCurrencies = std::to_array<Quote>({
      {"NAS", "USD"},
      {"NYS", "USD"},
      {"AMS", "USD"},
      {"BAQ", "USD"},
      {"BAY", "USD"},
      {"BAA", "USD"},
      {"HKS", "HKD"},
      {"TSE", "JPY"},
      {"SHS", "CNY"},
      {"SZS", "CNY"},
      {"SHI", "CNY"},
      {"SZI", "CNY"},
      {"HSX", "VND"},
      {"HNX", "VND"},
  });
  for (const auto& q : kCurrencies) {
    if (q.exchange == exchange) return q.currency;
  }
  return exchange.empty() ? "KRW" : "USD";
}

RowValues FromSnapshot(const StockInfo& stock, const Snapshot& q) {
  RowValues v;
  v.close = static_cast<double>(q.price);
  v.prev = static_cast<double>(q.prev_close);
  v.open = static_cast<double>(q.open);
  v.high = static_cast<double>(q.high);
  v.low = static_cast<double>(q.low);
  v.volume = static_cast<double>(q.volume);
  v.code = stock.code;
  v.name = stock.name;
  return v;
}

// A deterministic walk back from `start`: row r is r steps older.
RowValues Generated(double start, std::uint64_t seed, int row) {
  double close = start;
  for (int r = 0; r < row; ++r) close /= 1 + (Unit(seed, 100 + r) - 0.5) * 0.04;
  RowValues v;
  v.close = close;
  v.prev = close / (1 + (Unit(seed, 100 + row) - 0.5) * 0.04);
  v.open = v.prev * (1 + (Unit(seed, 200 + row) - 0.5) * 0.01);
  v.high = std::max(v.open, v.close) * (1 + Unit(seed, 300 + row) * 0.01);
  v.low = std::min(v.open, v.close) * (1 - Unit(seed, 400 + row) * 0.01);
  v.volume = std::floor(1000 + Unit(seed, 500 + row) * 5'000'000);
  return v;
}

std::string SignOf(double close, double prev) {
  if (close > prev) return "2";
  if (close < prev) return "5";
  return "3";
}

// A column's value in a row, in KIS's format for its type.
std::string Value(const kis::QuotationColumn& column, const RowValues& v, std::string_view market,
                  std::uint64_t seed) {
  const std::string n = Lower(column.name);
  const int decimals = v.index ? 2 : PriceDecimals(market, n);
  // An index column beside a stock's prices: a level of the same move.
  const double scale = Contains(n, "nmix") && !v.index && v.close > 0 ? 2500.0 / v.close : 1.0;
  const std::uint64_t salt = Mix(seed, n);
  auto price = [&](double p) { return Fixed(p * scale, decimals); };
  if (n == "excd" || n == "ovrs_excg_cd") return v.exchange;
  if (n == "rank" || n == "data_rank") return std::to_string(v.rank);
  if (n == "rsym") return "D" + v.exchange + v.code;  // KIS's real-time symbol: D + exchange + code
  if (n == "curr" || n.ends_with("crcy_cd")) return std::string(CurrencyOf(v.exchange));
  switch (column.type) {
    case ColumnType::kPrice:
      if (Contains(n, "mxpr") || Contains(n, "uplm")) return price(v.prev * 1.3);
      if (Contains(n, "llam") || Contains(n, "lslm")) return price(v.prev * 0.7);
      if (Contains(n, "hgpr") || Contains(n, "high")) return price(v.high);
      if (Contains(n, "lwpr") || Contains(n, "low")) return price(v.low);
      if (Contains(n, "oprc") || Contains(n, "open")) return price(v.open);
      if (Contains(n, "prdy") || Contains(n, "sdpr") || Contains(n, "base")) return price(v.prev);
      if (Contains(n, "askp")) return price(v.close * 1.001);
      if (Contains(n, "bidp")) return price(v.close * 0.999);
      return price(v.close);
    case ColumnType::kChange: {
      const double change = (v.close - v.prev) * scale;
      return Fixed(change, decimals);
    }
    case ColumnType::kSign:
      return SignOf(v.close, v.prev);
    case ColumnType::kRate:
      if (Contains(n, "ctrt") || Contains(n, "prdy") || Contains(n, "fluc") || n == "rate") {
        return Fixed(v.prev == 0 ? 0.0 : 100.0 * (v.close - v.prev) / v.prev, 2);
      }
      return Fixed(Unit(salt, 1) * 100, 2);
    case ColumnType::kVolume:
      if (Contains(n, "acml") || Contains(n, "tvol") || n == "vol") return Fixed(v.volume, 0);
      return Fixed(std::floor(v.volume * Unit(salt, 2)), 0);
    case ColumnType::kAmount:
      if (Contains(n, "acml") || Contains(n, "tamt")) return Fixed(v.volume * v.close, 0);
      return Fixed(std::floor(v.volume * v.close * Unit(salt, 3)), 0);
    case ColumnType::kDate:
      return v.date;
    case ColumnType::kTime:
      return v.time;
    case ColumnType::kCode:
      if (Contains(n, "iscd") || n == "symb" || n == "rsym" || n == "srs_cd" || n == "pdno") {
        return v.code;
      }
      return "0";
    case ColumnType::kText:
      if (Contains(n, "isnm") || Contains(n, "name") || Contains(n, "_nm")) return v.name;
      return "";
    case ColumnType::kFlag:
      return "N";
    case ColumnType::kInteger:
      return Fixed(std::floor(Unit(salt, 4) * 100), 0);
    case ColumnType::kDecimal:
      return Fixed(1 + Unit(salt, 5) * 30, 2);
    case ColumnType::kString:
      if (Contains(n, "iscd") || Contains(n, "symb") || Contains(n, "pdno")) return v.code;
      return "0";
  }
  return "";
}

bool IsDomestic(std::string_view market) {
  return market == "domestic_stock" || market == "etfetn" || market == "elw";
}

// Trading days (weekdays) back from `from`: 0 is `from` itself when it is a weekday.
std::chrono::year_month_day WeekdayBack(std::chrono::year_month_day from, int n) {
  std::chrono::sys_days d{from};
  auto is_weekend = [](std::chrono::sys_days x) {
    const auto wd = std::chrono::weekday{x};
    return wd == std::chrono::Saturday || wd == std::chrono::Sunday;
  };
  while (is_weekend(d)) d -= std::chrono::days{1};
  for (int i = 0; i < n; ++i) {
    do {
      d -= std::chrono::days{1};
    } while (is_weekend(d));
  }
  return std::chrono::year_month_day{d};
}

// A KRX index's level from its members' prices, weighted by listed shares: KOSPI ("0001", and the
// other "0xxx"/"2xxx" codes) over the first kIndexMembers KOSPI stocks of the universe, KOSDAQ
// ("1xxx") over its first ones; so the level moves with its members, tick by tick.
constexpr std::size_t kIndexMembers = 50;

RowValues IndexLevel(std::string_view code, const Universe& universe, const MarketModel& market,
                     common::WallTime now) {
  const bool kosdaq = code.starts_with('1');
  double base = 0;  // the members' value at the model's anchor prices
  RowValues v;      // sums of the members' values, then levels
  std::size_t members = 0;
  for (const auto& s : universe.All()) {
    if (s.kosdaq != kosdaq) continue;
    const auto q = market.QuoteAt(s, now);
    const auto shares = static_cast<double>(s.listed_shares);
    base += shares * static_cast<double>(s.base_price);
    v.close += shares * static_cast<double>(q.price);
    v.prev += shares * static_cast<double>(q.prev_close);
    v.open += shares * static_cast<double>(q.open);
    v.high += shares * static_cast<double>(q.high);
    v.low += shares * static_cast<double>(q.low);
    v.volume += static_cast<double>(q.volume);
    if (++members == kIndexMembers) break;
  }
  if (base <= 0) return RowValues{};
  const double divisor = base / (kosdaq ? 850.0 : 2500.0);
  for (double* level : {&v.close, &v.prev, &v.open, &v.high, &v.low}) *level /= divisor;
  v.code = std::string(code);
  v.name = kosdaq ? "코스닥" : "종합";
  v.index = true;
  return v;
}

bool IndexColumns(const kis::QuotationApi& api) {
  return std::ranges::any_of(api.outputs, [](const auto& out) {
    return std::ranges::any_of(out.columns, [](const auto& c) { return Contains(c.name, "nmix"); });
  });
}

bool HasColumn(const kis::QuotationOutput& out, ColumnType type) {
  return std::ranges::any_of(out.columns, [type](const auto& c) { return c.type == type; });
}

bool NamesStocks(const kis::QuotationOutput& out) {
  return std::ranges::any_of(out.columns, [](const auto& c) {
    return c.name.ends_with("shrn_iscd") || c.name == "stck_shrn_iscd" ||
           c.name == "mksc_shrn_iscd";
  });
}

}  // namespace

QuotationReply BuildCatalogueQuotation(const kis::QuotationApi& api, const MarketModel& market,
                                       const Universe& universe, const ParamLookup& params,
                                       std::string_view tr_cont, common::WallTime now) {
  for (const auto& p : api.params) {
    if (p.required && !params(p.name)) {
      QuotationReply r;
      r.msg_cd = "OPSQ2001";
      r.msg1 = "ERROR : INPUT_FIELD_NAME " + p.name;
      return r;
    }
  }
  const std::string subject = SubjectOf(api, params);
  const auto kst = common::ToKst(now);
  const std::string today = common::FormatYmd(kst.date);
  std::uint64_t seed = Mix(Mix(0xcbf29ce484222325ULL, api.path), subject);
  seed = Mix(seed, today);

  std::string exchange;
  for (std::string_view name : {"excd", "ovrs_excg_cd", "exch_cd"}) {
    if (auto v = params(name); v && !v->empty() && api.FindParam(name) != nullptr) {
      exchange = std::string(*v);
      break;
    }
  }
  const StockInfo* stock = IsDomestic(api.market) ? universe.Find(subject) : nullptr;
  RowValues base;
  if (stock != nullptr) {
    base = FromSnapshot(*stock, market.QuoteAt(*stock, now));
  } else if (api.market == "domestic_stock" && IndexColumns(api) && !subject.empty() &&
             std::ranges::all_of(subject, [](char c) { return c >= '0' && c <= '9'; })) {
    base = IndexLevel(subject, universe, market, now);
  } else {
    base = Generated(PriceScale(api.market, Mix(0, subject.empty() ? api.path : subject)), seed, 0);
    base.code = subject;
    base.name = subject.empty() ? std::string() : "SIM " + subject;
  }
  base.exchange = exchange;
  // Within the regular session a time is now's; outside it, the close.
  const auto seconds =
      std::clamp<std::int64_t>(kst.time_of_day.count(), 9 * 3600, 15 * 3600 + 1800);

  const bool next_page = tr_cont == "N";
  const bool has_array = std::ranges::any_of(api.outputs, [](const auto& o) { return o.is_array; });
  // Two pages where an API is continued by CTX_AREA_* keys. The others answer in one page: KIS's
  // samples of the APIs continued by tr_cont alone or by KEYB cannot follow a second page (their
  // recursive call shifts its arguments), so KIS must answer their sample calls in one.
  const bool continued = std::ranges::any_of(
      api.params, [](const auto& p) { return Lower(p.name).starts_with("ctx_area_"); });
  const bool more = api.paged && continued && has_array && !next_page;

  json::object body;
  body["rt_cd"] = "0";
  body["msg_cd"] = "MCA00000";
  body["msg1"] = "정상처리 되었습니다.";
  // The continuation fields KIS returns beside the outputs, under the request's names.
  for (const auto& p : api.params) {
    const std::string n = Lower(p.name);
    if (n.starts_with("ctx_area_") || n == "keyb") {
      body[n] = more ? fmt::format("SIM{}", Mix(seed, n) % 100000000) : std::string();
    }
  }
  const auto& stocks = universe.All();
  for (const auto& out : api.outputs) {
    auto row = [&](int r, bool by_stock) {
      RowValues v;
      if (by_stock && !stocks.empty()) {
        const auto& s = stocks[static_cast<std::size_t>(r) % stocks.size()];
        v = FromSnapshot(s, market.QuoteAt(s, now));
      } else if (r == 0) {
        v = base;
      } else {
        v = stock != nullptr || base.index
                ? Generated(base.close, seed, r)
                : Generated(PriceScale(api.market, Mix(0, subject.empty() ? api.path : subject)),
                            seed, r);
        v.code = base.code;
        v.name = base.name;
        v.index = base.index;
      }
      v.exchange = exchange;
      v.rank = r + 1;
      // Rows of a series step back a day when they carry a date, else a minute.
      const bool daily = HasColumn(out, ColumnType::kDate) && !by_stock;
      const bool intraday = HasColumn(out, ColumnType::kTime);
      v.date = common::FormatYmd(daily && !intraday ? WeekdayBack(kst.date, r) : kst.date);
      v.time = common::FormatHms(
          std::chrono::seconds((intraday && !by_stock ? seconds - 60 * r : seconds) / 60 * 60));
      if (seconds - 60 * r < 9 * 3600 && intraday) v.time = "090000";
      return v;
    };
    auto fill = [&](const RowValues& v) {
      json::object o;
      for (const auto& c : out.columns) o[c.name] = Value(c, v, api.market, seed);
      return o;
    };
    if (!out.is_array) {
      body[out.name] = fill(base);
      continue;
    }
    const bool by_stock =
        api.market == "domestic_stock" && api.group == "ranking" && NamesStocks(out);
    json::array rows;
    const int first = next_page ? kRowsPerPage : 0;
    for (int r = first; r < first + kRowsPerPage; ++r) rows.push_back(fill(row(r, by_stock)));
    body[out.name] = std::move(rows);
  }
  QuotationReply reply;
  reply.ok = true;
  reply.body = std::move(body);
  reply.tr_cont = more ? "M" : (api.paged ? "D" : "");
  return reply;
}

}  // namespace kisgate::sim

#include "api/stock_routes.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "api/json_text.hpp"
#include "api/service.hpp"
#include "api/views.hpp"
#include "common/kst.hpp"
#include "common/stock_code.hpp"
#include "gate/paging.hpp"
#include "kis/quotes.hpp"
#include "kis/records.hpp"
#include "kis/request.hpp"

namespace kisgate::api {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

std::optional<std::string> ParseDateParam(std::string_view v) {
  std::string compact(v);
  if (v.size() == 10 && v[4] == '-' && v[7] == '-') {
    compact = fmt::format("{}{}{}", v.substr(0, 4), v.substr(5, 2), v.substr(8, 2));
  }
  if (!common::ParseYmd(compact)) return std::nullopt;
  return compact;
}

namespace {

std::string DaysBefore(const std::string& ymd, int days) {
  return common::FormatYmd(std::chrono::year_month_day{
      std::chrono::sys_days{*common::ParseYmd(ymd)} - std::chrono::days{days}});
}

}  // namespace

std::variant<StockQuery, QueryError> ParseStockQuery(const http::Request& request,
                                                     const config::ApiConfig& api,
                                                     const std::string& today) {
  const auto path = request.Path().substr(std::string_view("/v1/stocks/").size());
  const auto slash = path.find('/');
  StockQuery q;
  q.code = std::string(path.substr(0, slash));
  const std::string_view kind_name =
      slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  for (const auto& k : StockKinds()) {
    if (k.name == kind_name) q.kind = &k;
  }
  if (q.kind == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& k : StockKinds()) names.push_back(k.name);
    return QueryError{404, "not_found", fmt::format("no stock data '{}'", kind_name),
                      fmt::format("use {}", fmt::join(names, ", ")), "not_found"};
  }
  const std::string route(q.kind->route);
  auto fail = [&](int status, std::string code, std::string message, std::string hint = {}) {
    return QueryError{status, std::move(code), std::move(message), std::move(hint), route};
  };
  if (!common::IsStockCode(q.code)) {
    return fail(400, "invalid_stock_code", fmt::format("'{}' is not a stock code", q.code),
                "use six digits or capital letters, e.g. 005930");
  }
  auto query = http::ParseQuery(request.Query());
  if (!query) return fail(400, "bad_query", "the query string has a malformed %-escape");
  std::map<std::string, std::string> params;
  for (auto& [name, value] : *query) {
    if (std::find(q.kind->params.begin(), q.kind->params.end(), name) == q.kind->params.end()) {
      return fail(400, "unknown_parameter", fmt::format("unknown query parameter '{}'", name),
                  fmt::format("{} takes: {}", route, fmt::join(q.kind->params, ", ")));
    }
    params[name] = std::move(value);
  }
  q.dataset = std::string(common::Name(q.kind->dataset));
  const auto configured = api.max_age.find(q.dataset);
  q.max_age = std::chrono::duration_cast<common::Duration>(
      configured != api.max_age.end() ? configured->second
                                      : config::ApiConfig::DefaultMaxAge(q.kind->dataset));
  if (auto it = params.find("max_age"); it != params.end()) {
    char* end = nullptr;
    const double seconds = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || end != it->second.c_str() + it->second.size() ||
        !std::isfinite(seconds) || seconds < 0 || seconds > 1e7) {
      return fail(400, "bad_max_age",
                  fmt::format("max_age '{}' is not a number of seconds", it->second),
                  "e.g. max_age=0 (always ask KIS) or max_age=30");
    }
    q.max_age =
        std::chrono::duration_cast<common::Duration>(std::chrono::duration<double>(seconds));
  }
  if (auto it = params.find("format"); it != params.end()) {
    if (it->second != "csv" && it->second != "json") {
      return fail(400, "bad_format", fmt::format("format '{}' is not json or csv", it->second));
    }
    q.csv = it->second == "csv";
  }
  // Dates: each parameter checked, then the range.
  for (auto [name, out] : {std::pair{"date", &q.date}, {"from", &q.from}, {"to", &q.to}}) {
    if (auto it = params.find(name); it != params.end()) {
      auto parsed = ParseDateParam(it->second);
      if (!parsed)
        return fail(400, "bad_date",
                    fmt::format("{} '{}' is not a date like 2026-11-24", name, it->second));
      *out = *parsed;
    }
  }
  if (q.kind->tr == kis::Tr::kDailyBars) {
    if (q.to.empty()) q.to = today;
    if (q.from.empty()) q.from = DaysBefore(q.to, 140);
    if (q.from > q.to)
      return fail(400, "bad_range", fmt::format("from {} is after to {}", q.from, q.to));
    if (q.from < DaysBefore(q.to, 3660)) {
      return fail(400, "bad_range", "the range is longer than 10 years", "ask for it in parts");
    }
  }
  return q;
}

namespace {

std::string IsoMillis(common::WallTime t) {
  const auto iso = common::FormatIsoKst(t);  // "...T10:00:01+09:00"
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  return fmt::format("{}.{:03}+09:00", iso.substr(0, 19), ms);
}

std::vector<kis::Bar> OldestFirst(std::vector<kis::Bar> bars) {
  std::sort(bars.begin(), bars.end(),
            [](const kis::Bar& a, const kis::Bar& b) { return a.date + a.time < b.date + b.time; });
  return bars;
}

http::Response UpstreamError(const kis::Classification& c) {
  const int status = UpstreamStatus(c);
  std::string message = c.message.empty() ? c.code : c.message;
  if (status == 504) {
    message = fmt::format(
        "KIS did not answer within the API deadline ({}), and no value is stored yet", message);
  }
  return JsonError(status, c.code, message, c.hint);
}

}  // namespace

// Where an answer came from and how old it is.
struct Provenance {
  std::string source;                     // cache | store | kis
  std::optional<common::WallTime> as_of;  // when the value was fetched from KIS
  double age_ms = 0;
  bool stale = false;
  std::string stale_reason;
};

// What is held for one request: newest records first (one for single-value data sets).
struct Held {
  std::vector<store::Record> records;
  std::string source;
  std::optional<common::WallTime> collected;  // the newest collected_at among them
};

// One stock request on its way: the query, the clock reading it is judged by, and its call options.
struct Service::StockContext {
  StockQuery query;
  common::WallTime now;
  std::string today;              // KST YYYYMMDD
  gate::CallOptions options;      // interactive lane, this client's flow, the API deadline
  common::WallTime collected_at;  // stamped on what this request fetches (whole milliseconds)
  // Where values of this code are kept: the store for codes of the universe, null for any other
  // code, whose single values are held only in the service's bounded RecentValues (so asking for
  // arbitrary codes grows neither the store nor the memory, nor ages the freshness figures).
  store::Store* store = nullptr;

  bool Fresh(const Held& h) const {
    return !h.records.empty() && h.collected && now - *h.collected <= query.max_age;
  }
  Provenance Of(const Held& h) const {
    Provenance p;
    p.source = h.source;
    if (!h.records.empty()) p.as_of = h.records.front().collected_at;
    if (h.collected)
      p.age_ms = std::chrono::duration<double, std::milli>(now - *h.collected).count();
    return p;
  }
  Provenance Stale(const Held& h, const kis::Classification& why) const {
    auto p = Of(h);
    p.stale = true;
    p.stale_reason = fmt::format("{}: {}", why.code, why.message);
    return p;
  }
  Provenance Fetched() const { return Provenance{"kis", collected_at, 0, false, {}}; }
};

namespace {

// The data sets that are one value per code (the latest reply), as opposed to rows of days or bars.
bool IsOneValue(kis::Tr tr) {
  return tr == kis::Tr::kPrice || tr == kis::Tr::kOrderBook || tr == kis::Tr::kOvertimePrice ||
         tr == kis::Tr::kOvertimeOrderBook;
}

Held Lookup(store::Store* store, const std::string& dataset, const std::string& code,
            const std::string& from, const std::string& to, std::size_t limit) {
  Held h;
  if (store == nullptr) return h;
  auto latest = store->Latest(dataset, code);
  h.source = latest ? "cache" : "store";
  if (latest && limit == 1 && from.empty() && to.empty()) {
    h.records.push_back(std::move(*latest));  // the newest value is the one held in memory
  } else {
    h.records = store->Range(dataset, code, from, to, limit);
  }
  for (const auto& r : h.records) {
    if (!h.collected || r.collected_at > *h.collected) h.collected = r.collected_at;
  }
  return h;
}

// The typed JSON of a single value (one record) or of investor days (a record per day, newest
// first); nullopt when a record cannot be read.
std::optional<json::object> SingleValueJson(kis::Tr tr, const std::vector<store::Record>& records,
                                            const std::string& day) {
  if (records.empty()) return std::nullopt;
  json::object out;
  const auto merge = [&](const json::object& o) {
    for (const auto& [k, v] : o) out[k] = v;
  };
  switch (tr) {
    case kis::Tr::kPrice: {
      auto q = kis::PriceOf(records.front());
      if (std::holds_alternative<kis::Classification>(q)) return std::nullopt;
      merge(PriceJson(std::get<kis::PriceQuote>(q)));
      break;
    }
    case kis::Tr::kOrderBook: {
      auto b = kis::OrderBookOf(records.front());
      if (std::holds_alternative<kis::Classification>(b)) return std::nullopt;
      merge(OrderBookJson(std::get<kis::OrderBook>(b), day));
      break;
    }
    case kis::Tr::kOvertimePrice: {
      auto o = kis::OvertimePriceOf(records.front());
      if (std::holds_alternative<kis::Classification>(o)) return std::nullopt;
      merge(OvertimeJson(std::get<kis::OvertimePrice>(o)));
      break;
    }
    case kis::Tr::kOvertimeOrderBook: {
      auto b = kis::OvertimeBookOf(records.front());
      if (std::holds_alternative<kis::Classification>(b)) return std::nullopt;
      merge(OvertimeBookJson(std::get<kis::OvertimeBook>(b), day));
      break;
    }
    default: {
      json::array days;
      for (const auto& r : records) {
        auto d = kis::InvestorDayOf(r);
        if (std::holds_alternative<kis::Classification>(d)) return std::nullopt;
        days.push_back(InvestorDayJson(std::get<kis::InvestorDay>(d)));
      }
      out["days"] = std::move(days);
    }
  }
  return out;
}

std::vector<kis::Bar> StoredBars(const Held& held) {
  std::vector<kis::Bar> bars;
  bars.reserve(held.records.size());
  for (const auto& r : held.records) bars.push_back(kis::BarOf(r));
  return OldestFirst(std::move(bars));
}

}  // namespace

asio::awaitable<http::Response> Service::Stock(const http::Request& request, std::string& route) {
  const auto now = deps_.clock->WallNow();
  const auto today = common::FormatYmd(common::ToKst(now).date);
  auto parsed = ParseStockQuery(request, deps_.config->api, today);
  if (auto* e = std::get_if<QueryError>(&parsed)) {
    route = e->route;
    co_return JsonError(e->status, e->code, e->message, e->hint);
  }
  StockContext ctx{
      std::get<StockQuery>(std::move(parsed)), now, today,
      gate::CallOptions{gate::Lane::kInteractive, ClientFlow(request.remote, 1'000'000),
                        deps_.clock->Now() + deps_.config->api.deadline},
      std::chrono::floor<std::chrono::milliseconds>(now)};
  if (!deps_.universe || deps_.universe->contains(ctx.query.code)) ctx.store = deps_.store;
  route = std::string(ctx.query.kind->route);
  switch (ctx.query.kind->tr) {
    case kis::Tr::kMinuteBars: {
      auto bars = MinuteBars(ctx);
      co_return co_await std::move(bars);
    }
    case kis::Tr::kDailyBars: {
      auto bars = DailyBars(ctx);
      co_return co_await std::move(bars);
    }
    default: {
      auto value = SingleValue(ctx);
      co_return co_await std::move(value);
    }
  }
}

std::optional<std::vector<store::Record>> Service::Keep(const StockContext& ctx,
                                                        const std::vector<std::string>& bodies,
                                                        kis::Classification& problem) {
  // Stored, so the next reader finds it; a reply that cannot be read is counted and logged, and
  // the request then fails as if KIS had not answered.
  std::vector<store::Record> records;
  for (const auto& body : bodies) {
    auto converted = kis::ToRecords(ctx.query.kind->tr, ctx.query.code, body,
                                    common::FormatCompactKst(ctx.now), ctx.collected_at);
    if (auto* c = std::get_if<kis::Classification>(&converted)) {
      counters_.malformed_replies++;
      spdlog::warn("api: unreadable KIS reply for {} {}: {}", ctx.query.dataset, ctx.query.code,
                   c->message);
      problem = *c;
      return std::nullopt;
    }
    auto& more = std::get<std::vector<store::Record>>(converted);
    std::move(more.begin(), more.end(), std::back_inserter(records));
  }
  const auto tr = ctx.query.kind->tr;
  if (ctx.store) {
    ctx.store->Write(records);
  } else if (records.size() == 1 && IsOneValue(tr)) {
    recent_.Put(ctx.query.dataset + "/" + ctx.query.code, records.front());
    counters_.recent_values = recent_.size();
  }
  return records;
}

void Service::CountAnswer(const std::string& source, bool stale) {
  counters_.by_source[source]++;
  if (stale) counters_.stale++;
}

http::Response Service::Answer(const StockContext& ctx, json::object body, const Provenance& p) {
  body["code"] = ctx.query.code;
  const auto tr = ctx.query.kind->tr;
  if (ctx.store && !p.stale && p.as_of && IsOneValue(tr) && p.source != "stream") {
    if (rendered_.size() >= 100'000)
      rendered_.clear();  // bounds memory; refilled on the next reads
    auto prefix = ToJsonText(body);
    prefix.pop_back();  // the closing brace: provenance fields follow
    rendered_[ctx.query.dataset + "/" + ctx.query.code] = Rendered{*p.as_of, std::move(prefix)};
  }
  body["as_of"] = p.as_of ? IsoMillis(*p.as_of) : std::string();
  body["age_ms"] = static_cast<std::int64_t>(std::llround(p.age_ms));
  body["source"] = p.source;
  body["stale"] = p.stale;
  if (p.stale) body["stale_reason"] = p.stale_reason;
  CountAnswer(p.source, p.stale);
  auto r = JsonResponse(200, body);
  r.SetHeader("x-kisgate-source", p.source);
  return r;
}

std::optional<http::Response> Service::StreamedPrice(const StockContext& ctx) {
  const auto* tick = deps_.hub ? deps_.hub->LatestTick(ctx.query.code) : nullptr;
  if (tick == nullptr || ctx.now - tick->received_at > ctx.query.max_age) return std::nullopt;
  // The held value, if any: the trade answers only when it is the newer of the two, and lends the
  // fields a trade does not carry (limits, PER, ...) from it.
  std::optional<store::Record> held;
  if (ctx.store) {
    held = ctx.store->Latest(ctx.query.dataset, ctx.query.code);
  } else if (const auto* r = recent_.Find(ctx.query.dataset + "/" + ctx.query.code)) {
    held = *r;
  }
  if (held && held->collected_at >= tick->received_at) return std::nullopt;
  json::object body;
  if (held) {
    if (auto json = SingleValueJson(kis::Tr::kPrice, {*held}, ctx.today)) body = std::move(*json);
  }
  if (body.empty()) {  // nothing held: the fields of a price, those a trade has not left at 0
    kis::PriceQuote none;
    body = PriceJson(none);
  }
  body["price"] = tick->price;
  body["change"] = tick->change;
  body["change_sign"] = kis::Name(tick->sign);
  body["change_pct"] = tick->change_pct;
  body["open"] = tick->open;
  body["high"] = tick->high;
  body["low"] = tick->low;
  body["volume"] = tick->cum_volume;
  body["traded_value_krw"] = tick->cum_value;
  Provenance p{
      "stream",
      tick->received_at,
      std::max(0.0, std::chrono::duration<double, std::milli>(ctx.now - tick->received_at).count()),
      false,
      {}};
  return Answer(ctx, std::move(body), p);
}

asio::awaitable<http::Response> Service::SingleValue(const StockContext& ctx) {
  const auto tr = ctx.query.kind->tr;
  const bool list = tr == kis::Tr::kInvestors;  // 30 days, stored one row per day
  if (tr == kis::Tr::kPrice) {
    if (auto streamed = StreamedPrice(ctx)) co_return std::move(*streamed);
  }
  if (!list && ctx.store) {
    // The fast path of a cached read: the latest value is fresh and already rendered.
    const auto collected = ctx.store->LatestCollectedAt(ctx.query.dataset, ctx.query.code);
    auto it = rendered_.find(ctx.query.dataset + "/" + ctx.query.code);
    if (collected && ctx.now - *collected <= ctx.query.max_age && it != rendered_.end() &&
        it->second.collected_at == *collected) {
      const auto age_ms =
          std::llround(std::chrono::duration<double, std::milli>(ctx.now - *collected).count());
      auto r = JsonTextResponse(
          200, fmt::format(R"({},"as_of":"{}","age_ms":{},"source":"cache","stale":false}})",
                           it->second.prefix, IsoMillis(*collected), age_ms));
      r.SetHeader("x-kisgate-source", "cache");
      CountAnswer("cache", false);
      co_return r;
    }
  }
  const Held held = [&] {
    if (ctx.store || list)
      return Lookup(ctx.store, ctx.query.dataset, ctx.query.code, "", "", list ? 30 : 1);
    // A code outside the universe: what memory holds of it, if anything.
    Held h;
    if (const auto* r = recent_.Find(ctx.query.dataset + "/" + ctx.query.code)) {
      h.records.push_back(*r);
      h.source = "cache";
      h.collected = r->collected_at;
    }
    return h;
  }();
  // An order book's time is a time of day; its day is the day it was fetched.
  const auto day_of = [&](const Provenance& p) {
    return p.as_of ? common::FormatYmd(common::ToKst(*p.as_of).date) : ctx.today;
  };
  if (ctx.Fresh(held)) {
    const auto p = ctx.Of(held);
    if (auto body = SingleValueJson(tr, held.records, day_of(p)))
      co_return Answer(ctx, std::move(*body), p);
  }
  auto call = deps_.gateway->Call(kis::QuoteRequest(tr, ctx.query.code), ctx.options);
  gate::CallResult result = co_await std::move(call);
  kis::Classification problem = result.error;
  if (result.ok) {
    if (auto kept = Keep(ctx, {result.body}, problem)) {
      if (auto body = SingleValueJson(tr, *kept, ctx.today))
        co_return Answer(ctx, std::move(*body), ctx.Fetched());
    }
  }
  // KIS could not answer in time (or not sensibly): the last stored value, marked stale.
  if (!held.records.empty() && UpstreamStatus(problem) != 400) {
    const auto p = ctx.Stale(held, problem);
    if (auto body = SingleValueJson(tr, held.records, day_of(p)))
      co_return Answer(ctx, std::move(*body), p);
  }
  co_return UpstreamError(problem);
}

asio::awaitable<http::Response> Service::MinuteBars(const StockContext& ctx) {
  std::string date = ctx.query.date.empty() ? ctx.today : ctx.query.date;
  if (ctx.query.date.empty() && ctx.store) {
    // Without a date: the latest day held (the market's "today", which a simulator may move).
    const auto last = ctx.store->LatestMarketTime(ctx.query.dataset, ctx.query.code);
    if (last.size() >= 8) date = last.substr(0, 8);
  }
  const Held held =
      Lookup(ctx.store, ctx.query.dataset, ctx.query.code, date + "000000", date + "235959", 1000);
  // KIS serves only today's minute bars: another day is what the store holds, or nothing.
  const bool today_asked = ctx.query.date.empty() || date == ctx.today;
  if (ctx.Fresh(held) || (!today_asked && !held.records.empty())) {
    co_return BarsResponse(ctx, StoredBars(held), ctx.Of(held), date);
  }
  if (!today_asked) {
    co_return JsonError(
        404, "no_data", fmt::format("no minute bars stored for {} {}", ctx.query.code, date),
        "KIS serves only today's minute bars; a bars_minute job collects them for later");
  }
  // Only the bars newer than the last one held.
  std::optional<std::string> after;
  if (!held.records.empty()) after = held.records.front().market_time.substr(8);
  auto fetch = gate::FetchMinuteBars(*deps_.gateway, ctx.query.code, ctx.options, "153000", after);
  auto paged = co_await std::move(fetch);
  kis::Classification problem;
  if (auto* pages = std::get_if<gate::PagedBars>(&paged);
      (pages != nullptr) && Keep(ctx, pages->bodies, problem)) {
    std::map<std::string, kis::Bar> merged;
    for (auto& b : StoredBars(held)) merged[b.date + b.time] = b;
    for (auto& b : pages->bars) merged[b.date + b.time] = b;
    const std::string day = pages->bars.empty() ? date : pages->bars.back().date;
    std::vector<kis::Bar> bars;
    for (auto& [t, b] : merged) {
      if (b.date == day) bars.push_back(b);
    }
    co_return BarsResponse(ctx, bars, ctx.Fetched(), day);
  }
  if (auto* failed = std::get_if<gate::CallResult>(&paged)) problem = failed->error;
  if (held.records.empty() || UpstreamStatus(problem) == 400) co_return UpstreamError(problem);
  co_return BarsResponse(ctx, StoredBars(held), ctx.Stale(held, problem), date);
}

asio::awaitable<http::Response> Service::DailyBars(const StockContext& ctx) {
  const auto& q = ctx.query;
  const Held held = Lookup(ctx.store, q.dataset, q.code, q.from, q.to, 5000);
  // Complete when a bar is held for every trading day up to today; a range that reaches today
  // must also be fresh.
  common::MarketCalendar calendar(deps_.config->calendar.holidays);
  std::size_t expected = 0;
  const auto last_day = std::chrono::sys_days{*common::ParseYmd(std::min(q.to, ctx.today))};
  for (auto d = std::chrono::sys_days{*common::ParseYmd(q.from)}; d <= last_day;
       d += std::chrono::days{1}) {
    if (calendar.IsTradingDay(std::chrono::year_month_day{d})) ++expected;
  }
  const std::string label = q.from + "-" + q.to;
  if (!held.records.empty() && held.records.size() >= expected &&
      (q.to < ctx.today || ctx.Fresh(held))) {
    co_return BarsResponse(ctx, StoredBars(held), ctx.Of(held), label);
  }
  auto fetch = gate::FetchDailyBars(*deps_.gateway, q.code, q.from, q.to, ctx.options);
  auto paged = co_await std::move(fetch);
  kis::Classification problem;
  if (auto* pages = std::get_if<gate::PagedBars>(&paged);
      (pages != nullptr) && Keep(ctx, pages->bodies, problem)) {
    co_return BarsResponse(ctx, pages->bars, ctx.Fetched(), label);
  }
  if (auto* failed = std::get_if<gate::CallResult>(&paged)) problem = failed->error;
  if (held.records.empty() || UpstreamStatus(problem) == 400) co_return UpstreamError(problem);
  co_return BarsResponse(ctx, StoredBars(held), ctx.Stale(held, problem), label);
}

http::Response Service::BarsResponse(const StockContext& ctx, const std::vector<kis::Bar>& bars,
                                     const Provenance& p, const std::string& label) {
  if (ctx.query.csv) {
    CountAnswer(p.source, p.stale);
    http::Response r;
    r.SetHeader("content-type", "text/csv; charset=utf-8");
    r.SetHeader("content-disposition", fmt::format("inline; filename=\"{}_{}_{}.csv\"",
                                                   ctx.query.code, ctx.query.dataset, label));
    r.SetHeader("x-kisgate-source", p.source);
    r.SetHeader("x-kisgate-as-of", p.as_of ? IsoMillis(*p.as_of) : std::string());
    r.SetHeader("x-kisgate-stale", p.stale ? "true" : "false");
    r.body = BarsCsv(bars);
    return r;
  }
  json::array rows;
  for (const auto& b : bars) rows.push_back(BarJson(b));
  json::object out;
  if (ctx.query.kind->tr == kis::Tr::kMinuteBars && label.size() == 8) {
    out["date"] =
        fmt::format("{}-{}-{}", label.substr(0, 4), label.substr(4, 2), label.substr(6, 2));
  }
  out["bars"] = std::move(rows);
  return Answer(ctx, std::move(out), p);
}

}  // namespace kisgate::api

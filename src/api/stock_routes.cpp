#include "api/stock_routes.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/service.hpp"
#include "common/kst.hpp"
#include "common/stock_code.hpp"
#include "gate/paging.hpp"
#include "kis/records.hpp"
#include "kis/request.hpp"
#include "views/json_writer.hpp"
#include "views/market.hpp"

namespace kisgate::api {

namespace asio = boost::asio;
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
                                                     const Route& route,
                                                     const config::ApiConfig& api,
                                                     const std::string& today) {
  constexpr std::string_view kPrefix = "/v1/stocks/";
  StockQuery q;
  q.route = &route;
  q.dataset = route.dataset.value_or(common::Dataset::kPrice);
  q.tr = kis::TrInfoFor(q.dataset).tr;
  q.dataset_name = std::string(common::Name(q.dataset));
  const auto path = request.Path();
  if (path.starts_with(kPrefix)) {
    const auto rest = path.substr(kPrefix.size());
    q.code = std::string(rest.substr(0, rest.find('/')));
  }
  auto fail = [](int status, std::string code, std::string message, std::string hint = {}) {
    return QueryError{status, std::move(code), std::move(message), std::move(hint)};
  };
  if (!common::IsStockCode(q.code)) {
    return fail(400, "invalid_stock_code", fmt::format("'{}' is not a stock code", q.code),
                "use six digits or capital letters, e.g. 005930");
  }
  const auto configured = api.max_age.find(q.dataset_name);
  q.max_age = std::chrono::duration_cast<common::Duration>(
      configured != api.max_age.end() ? configured->second
                                      : config::ApiConfig::DefaultMaxAge(q.dataset));
  if (request.Query().empty()) {
    if (q.dataset != common::Dataset::kDailyBars) return q;  // the common case: nothing to read
  }
  auto query = http::ParseQuery(request.Query());
  if (!query) return fail(400, "bad_query", "the query string has a malformed %-escape");
  for (auto& [name, value] : *query) {
    if (std::find(route.query.begin(), route.query.end(), name) == route.query.end()) {
      return fail(400, "unknown_parameter", fmt::format("unknown query parameter '{}'", name),
                  fmt::format("{} takes: {}", route.pattern, fmt::join(route.query, ", ")));
    }
    if (name == "max_age") {
      double seconds = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (value.empty() || ec != std::errc{} || end != value.data() + value.size() ||
          !std::isfinite(seconds) || seconds < 0 || seconds > 1e7) {
        return fail(400, "bad_max_age",
                    fmt::format("max_age '{}' is not a number of seconds", value),
                    "e.g. max_age=0 (always ask KIS) or max_age=30");
      }
      q.max_age =
          std::chrono::duration_cast<common::Duration>(std::chrono::duration<double>(seconds));
    } else if (name == "format") {
      if (value != "csv" && value != "json") {
        return fail(400, "bad_format", fmt::format("format '{}' is not json or csv", value));
      }
      q.csv = value == "csv";
    } else {  // date, from, to
      auto parsed = ParseDateParam(value);
      if (!parsed) {
        return fail(400, "bad_date",
                    fmt::format("{} '{}' is not a date like 2026-11-24", name, value));
      }
      (name == "date" ? q.date : name == "from" ? q.from : q.to) = *parsed;
    }
  }
  if (q.dataset == common::Dataset::kDailyBars) {
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

// Where an answer of rows (investor days, bars) came from and how old it is.
struct Provenance {
  std::string_view source;                // cache | store | kis
  std::optional<common::WallTime> as_of;  // when the value was fetched from KIS
  common::WallTime now;
  bool stale = false;
  std::string stale_reason;
};

namespace {

// ,"as_of":"...","age_ms":N,"source":"...","stale":false} after an object's own fields.
void AppendProvenance(std::string& out, const Provenance& p) {
  out += ",\"as_of\":\"";
  if (p.as_of) views::AppendTime(out, *p.as_of);
  out += "\",\"age_ms\":";
  const auto age =
      p.as_of ? std::chrono::duration<double, std::milli>(p.now - *p.as_of).count() : 0;
  views::AppendNumber(out, static_cast<std::int64_t>(std::llround(std::max(0.0, age))));
  out += ",\"source\":";
  views::AppendString(out, p.source);
  out += p.stale ? ",\"stale\":true" : ",\"stale\":false";
  if (p.stale) {
    out += ",\"stale_reason\":";
    views::AppendString(out, p.stale_reason);
  }
  out += "}\n";
}

// What is held of a data set of rows: newest first.
struct Held {
  std::vector<store::Record> records;
  std::string_view source = "store";
  std::optional<common::WallTime> collected;  // the newest collected_at among them
  std::string timed_out;  // the database did not answer in time: why (the reply is an error)
};

// Read on the store's reader thread (the database may be slow or stalled: never on this one).
asio::awaitable<Held> Lookup(store::Store* store, std::string dataset, std::string code,
                             std::string from, std::string to, std::size_t limit) {
  Held h;
  if (store == nullptr) co_return h;
  if (store->LatestCollectedAt(dataset, code)) h.source = "cache";
  auto read =
      store->RangeAsync(std::move(dataset), std::move(code), std::move(from), std::move(to), limit);
  auto result = co_await std::move(read);
  if (result.error == store::ReadError::kTimeout) {
    h.timed_out = result.message;
    co_return h;
  }
  h.records = std::move(result.value);
  for (const auto& r : h.records) {
    if (!h.collected || r.collected_at > *h.collected) h.collected = r.collected_at;
  }
  co_return h;
}

// A read the database did not answer within storage.timeout (counted by the store:
// kisgate_store_read_timeouts_total).
http::Response StoreTimeout(const std::string& why) {
  return JsonError(503, "store_timeout", why,
                   "the database is slow or not answering; try again shortly");
}

std::vector<kis::Bar> StoredBars(const Held& held) {
  std::vector<kis::Bar> bars;
  bars.reserve(held.records.size());
  for (const auto& r : held.records) bars.push_back(kis::BarOf(r));
  return OldestFirst(std::move(bars));
}

std::string_view SourceOf(const LatestValue& v) {
  return v.streamed ? "stream" : v.from_table ? "store" : "cache";
}

}  // namespace

// One stock request on its way: the query, the clock reading it is judged by, and its call options.
struct StockHandler::Context {
  StockQuery query;
  common::WallTime now;
  std::string today;              // KST YYYYMMDD
  gate::CallOptions options;      // interactive lane, this client's flow, the API deadline
  common::WallTime collected_at;  // stamped on what this request fetches (whole milliseconds)
  // Where values of this code are kept: the store for codes of the universe, null for any other
  // code, whose single values are held only in the latest-value cache (so asking for arbitrary
  // codes grows neither the store nor the memory, nor ages the freshness figures).
  store::Store* store = nullptr;

  bool Fresh(const Held& h) const {
    return !h.records.empty() && h.collected && now - *h.collected <= query.max_age;
  }
  Provenance Of(const Held& h) const {
    return Provenance{h.source, h.records.empty() ? std::nullopt : h.collected, now, false, {}};
  }
  Provenance Stale(const Held& h, const kis::Classification& why) const {
    auto p = Of(h);
    p.stale = true;
    p.stale_reason = fmt::format("{}: {}", why.code, why.message);
    return p;
  }
  Provenance Fetched() const { return Provenance{"kis", collected_at, now, false, {}}; }
};

StockHandler::StockHandler(StockDeps deps) : deps_(std::move(deps)), latest_(deps_.recent_values) {}

asio::awaitable<http::Response> StockHandler::Handle(const http::Request& request,
                                                     const Route& route) {
  const auto now = deps_.clock->WallNow();
  // KST's today, for the routes whose answer depends on the day (not a cached read's).
  const bool by_day =
      route.dataset == common::Dataset::kMinuteBars || route.dataset == common::Dataset::kDailyBars;
  auto today = by_day ? common::FormatYmd(common::ToKst(now).date) : std::string();
  auto parsed = ParseStockQuery(request, route, deps_.config->api, today);
  if (auto* e = std::get_if<QueryError>(&parsed)) {
    return AnswerNow(JsonError(e->status, e->code, e->message, e->hint));
  }
  Context ctx{std::get<StockQuery>(std::move(parsed)), now, std::move(today),
              gate::CallOptions{gate::Lane::kInteractive, ClientFlow(request.remote, 1'000'000),
                                deps_.clock->Now() + deps_.config->api.deadline},
              std::chrono::floor<std::chrono::milliseconds>(now)};
  if (!deps_.universe || deps_.universe->contains(ctx.query.code)) ctx.store = deps_.store;
  // The answering coroutine takes the context by value: this function returns before it runs.
  switch (ctx.query.dataset) {
    case common::Dataset::kMinuteBars:
      return MinuteBars(std::move(ctx));
    case common::Dataset::kDailyBars:
      return DailyBars(std::move(ctx));
    case common::Dataset::kInvestors:
      return Investors(std::move(ctx));
    default:
      return SingleValue(std::move(ctx));
  }
}

std::optional<std::vector<store::Record>> StockHandler::Keep(const Context& ctx,
                                                             const std::vector<std::string>& bodies,
                                                             kis::Classification& problem) {
  // Stored, so the next reader finds it; a reply that cannot be read is counted and logged, and
  // the request then fails as if KIS had not answered.
  std::vector<store::Record> records;
  for (const auto& body : bodies) {
    auto converted = kis::ToRecords(ctx.query.tr, ctx.query.code, body,
                                    common::FormatCompactKst(ctx.now), ctx.collected_at);
    if (auto* c = std::get_if<kis::Classification>(&converted)) {
      deps_.counters->malformed_replies++;
      spdlog::warn("api: unreadable KIS reply for {} {}: {}", ctx.query.dataset_name,
                   ctx.query.code, c->message);
      problem = *c;
      return std::nullopt;
    }
    auto& more = std::get<std::vector<store::Record>>(converted);
    std::move(more.begin(), more.end(), std::back_inserter(records));
  }
  if (ctx.store) ctx.store->Write(records);
  return records;
}

http::Response StockHandler::Answer(const Context& /*ctx*/, std::string body,
                                    std::string_view source, bool stale) {
  auto counted = deps_.counters->by_source.find(source);
  if (counted == deps_.counters->by_source.end())
    counted = deps_.counters->by_source.emplace(std::string(source), 0).first;
  counted->second++;
  if (stale) deps_.counters->stale++;
  http::Response r;
  r.headers.reserve(3);
  r.SetHeader("content-type", "application/json; charset=utf-8");
  r.SetHeader("cache-control", "no-store");
  r.SetHeader("x-kisgate-source", std::string(source));
  r.body = std::move(body);
  return r;
}

const LatestValue* StockHandler::Latest(const Context& ctx, std::optional<store::Record> newest_row,
                                        bool& unreadable) {
  const auto& q = ctx.query;
  const LatestValue* entry = latest_.Find(q.dataset, q.code);
  if (ctx.store) {
    // The store's latest value, if this is not its rendering already.
    std::optional<store::Record> record;
    bool from_table = false;
    if (const auto stored_at = ctx.store->LatestCollectedAt(q.dataset_name, q.code)) {
      if (!entry || entry->from_table || entry->stored_at != *stored_at)
        record = ctx.store->Latest(q.dataset_name, q.code);
    } else if ((!entry || !entry->from_table) && newest_row) {
      // Nothing written since the store was opened: the newest row of its table.
      record = std::move(newest_row);
      from_table = true;
    }
    if (record) {
      auto value = kis::SingleValueOf(q.tr, *record);
      if (auto* c = std::get_if<kis::Classification>(&value)) {
        deps_.counters->unreadable_values++;
        spdlog::error("api: the stored {} of {} cannot be read: {}", q.dataset_name, q.code,
                      c->message);
        unreadable = true;
        return nullptr;
      }
      entry = &latest_.Put(q.dataset, q.code,
                           LatestValue{std::get<kis::SingleValue>(std::move(value)),
                                       record->collected_at, record->collected_at, from_table},
                           false);
    }
  }
  // A price moves with the stream's trades: the newest trade, when it is newer than the value.
  const auto* tick = deps_.hub != nullptr && q.dataset == common::Dataset::kPrice
                         ? deps_.hub->LatestTick(q.code)
                         : nullptr;
  if (tick != nullptr && (entry == nullptr || tick->received_at > entry->as_of)) {
    kis::PriceQuote quote;
    common::WallTime stored_at{};
    bool from_table = false;
    if (entry != nullptr) {
      if (const auto* held = std::get_if<kis::PriceQuote>(&entry->value)) quote = *held;
      stored_at = entry->stored_at;
      from_table = entry->from_table;
    }
    kis::ApplyTrade(quote, *tick);
    LatestValue moved{std::move(quote), tick->received_at, stored_at, from_table};
    moved.streamed = true;
    entry = &latest_.Put(q.dataset, q.code, std::move(moved), ctx.store == nullptr);
  }
  return entry;
}

asio::awaitable<http::Response> StockHandler::SingleValue(Context ctx) {
  const auto& q = ctx.query;
  // Nothing written since the store was opened: the newest row of its table, if any, read on the
  // store's reader thread.
  std::optional<store::Record> newest_row;
  if (ctx.store != nullptr && !ctx.store->LatestCollectedAt(q.dataset_name, q.code)) {
    const LatestValue* entry = latest_.Find(q.dataset, q.code);
    if (!entry || !entry->from_table) {
      auto read = ctx.store->RangeAsync(q.dataset_name, q.code, "", "", 1);
      auto rows = co_await std::move(read);
      if (rows.error == store::ReadError::kTimeout) co_return StoreTimeout(rows.message);
      if (!rows.value.empty()) newest_row = std::move(rows.value.front());
    }
  }
  bool unreadable = false;
  const LatestValue* held = Latest(ctx, std::move(newest_row), unreadable);
  if (unreadable) {
    co_return JsonError(502, "unreadable_value",
                        fmt::format("the stored {} of {} cannot be read", q.dataset_name, q.code),
                        "it is logged and counted (kisgate_api_unreadable_values_total); the next "
                        "value collected replaces it");
  }
  // The fast path of a cached read: the latest value is fresh and already rendered.
  if (held != nullptr && ctx.now - held->as_of <= q.max_age) {
    const auto source = SourceOf(*held);
    co_return Answer(ctx, LatestCache::Body(*held, ctx.now, source), source, false);
  }
  // Kept as the stale answer if KIS cannot give a new one (the entry may be replaced below).
  std::optional<LatestValue> before;
  if (held != nullptr) before = *held;
  auto call = deps_.gateway->Call(kis::QuoteRequest(q.tr, q.code), ctx.options);
  gate::CallResult result = co_await std::move(call);
  kis::Classification problem = result.error;
  if (result.ok) {
    auto converted = kis::ToSingleValue(q.tr, q.code, result.body,
                                        common::FormatCompactKst(ctx.now), ctx.collected_at);
    if (auto* c = std::get_if<kis::Classification>(&converted)) {
      deps_.counters->malformed_replies++;
      spdlog::warn("api: unreadable KIS reply for {} {}: {}", q.dataset_name, q.code, c->message);
      problem = *c;
    } else {
      auto& fetched = std::get<kis::SingleValueRecord>(converted);
      if (ctx.store) ctx.store->Write({fetched.record});
      const auto& entry = latest_.Put(
          q.dataset, q.code,
          LatestValue{std::move(fetched.value), ctx.collected_at, ctx.collected_at, false},
          ctx.store == nullptr);
      deps_.counters->recent_values = latest_.outside();
      co_return Answer(ctx, LatestCache::Body(entry, ctx.now, "kis"), "kis", false);
    }
  }
  // KIS could not answer in time (or not sensibly): the last value held, marked stale.
  if (before && UpstreamStatus(problem) != 400) {
    const auto source = SourceOf(*before);
    co_return Answer(ctx,
                     LatestCache::Body(*before, ctx.now, source, true,
                                       fmt::format("{}: {}", problem.code, problem.message)),
                     source, true);
  }
  co_return UpstreamError(problem);
}

asio::awaitable<http::Response> StockHandler::Investors(Context ctx) {
  const auto& q = ctx.query;
  // 30 days, stored one row per day; a code outside the universe is asked of KIS each time.
  auto lookup = Lookup(ctx.store, q.dataset_name, q.code, "", "", 30);
  const Held held = co_await std::move(lookup);
  if (!held.timed_out.empty()) co_return StoreTimeout(held.timed_out);
  const auto render = [&](const std::vector<store::Record>& records,
                          const Provenance& p) -> std::optional<http::Response> {
    std::string out;
    views::JsonWriter w(out);
    w.Begin().Key("days").BeginArray();
    for (const auto& r : records) {
      auto day = kis::InvestorDayOf(r);
      if (std::holds_alternative<kis::Classification>(day)) return std::nullopt;
      views::InvestorDay(w, std::get<kis::InvestorDay>(day));
    }
    w.EndArray().Field("code", q.code);  // the object stays open: the provenance follows
    AppendProvenance(out, p);
    return Answer(ctx, std::move(out), p.source, p.stale);
  };
  if (ctx.Fresh(held)) {
    if (auto r = render(held.records, ctx.Of(held))) co_return std::move(*r);
  }
  auto call = deps_.gateway->Call(kis::QuoteRequest(q.tr, q.code), ctx.options);
  gate::CallResult result = co_await std::move(call);
  kis::Classification problem = result.error;
  if (result.ok) {
    if (auto kept = Keep(ctx, {result.body}, problem)) {
      if (auto r = render(*kept, ctx.Fetched())) co_return std::move(*r);
    }
  }
  if (!held.records.empty() && UpstreamStatus(problem) != 400) {
    if (auto r = render(held.records, ctx.Stale(held, problem))) co_return std::move(*r);
  }
  co_return UpstreamError(problem);
}

asio::awaitable<http::Response> StockHandler::MinuteBars(Context ctx) {
  std::string date = ctx.query.date.empty() ? ctx.today : ctx.query.date;
  if (ctx.query.date.empty() && ctx.store) {
    // Without a date: the latest day held (the market's "today", which a simulator may move).
    auto read = ctx.store->LatestMarketTimeAsync(ctx.query.dataset_name, ctx.query.code);
    const auto last = co_await std::move(read);
    if (last.error == store::ReadError::kTimeout) co_return StoreTimeout(last.message);
    if (last.value.size() >= 8) date = last.value.substr(0, 8);
  }
  auto lookup = Lookup(ctx.store, ctx.query.dataset_name, ctx.query.code, date + "000000",
                       date + "235959", 1000);
  const Held held = co_await std::move(lookup);
  if (!held.timed_out.empty()) co_return StoreTimeout(held.timed_out);
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

asio::awaitable<http::Response> StockHandler::DailyBars(Context ctx) {
  const auto& q = ctx.query;
  auto lookup = Lookup(ctx.store, q.dataset_name, q.code, q.from, q.to, 5000);
  const Held held = co_await std::move(lookup);
  if (!held.timed_out.empty()) co_return StoreTimeout(held.timed_out);
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

http::Response StockHandler::BarsResponse(const Context& ctx, const std::vector<kis::Bar>& bars,
                                          const Provenance& p, const std::string& label) {
  if (ctx.query.csv) {
    auto r = Answer(ctx, views::BarsCsv(bars), p.source, p.stale);
    r.SetHeader("content-type", "text/csv; charset=utf-8");
    r.SetHeader("content-disposition", fmt::format("inline; filename=\"{}_{}_{}.csv\"",
                                                   ctx.query.code, ctx.query.dataset_name, label));
    r.SetHeader("x-kisgate-as-of", p.as_of ? views::Time(*p.as_of) : std::string());
    r.SetHeader("x-kisgate-stale", p.stale ? "true" : "false");
    return r;
  }
  std::string out;
  views::JsonWriter w(out);
  w.Begin();
  if (ctx.query.dataset == common::Dataset::kMinuteBars && label.size() == 8) {
    w.Field("date", views::Date(label));
  }
  w.Key("bars").BeginArray();
  for (const auto& b : bars) views::Bar(w, b);
  w.EndArray().Field("code", ctx.query.code);  // the object stays open: the provenance follows
  AppendProvenance(out, p);
  return Answer(ctx, std::move(out), p.source, p.stale);
}

}  // namespace kisgate::api

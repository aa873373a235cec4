#include "api/service.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "api/passthrough.hpp"
#include "api/views.hpp"
#include "collect/records.hpp"
#include "common/kst.hpp"
#include "gate/paging.hpp"
#include "http/message.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::api {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

http::Response JsonResponse(int status, const json::value& body) {
  http::Response r;
  r.status = status;
  r.SetHeader("content-type", "application/json; charset=utf-8");
  r.SetHeader("cache-control", "no-store");
  r.body = json::serialize(body);
  r.body.push_back('\n');
  return r;
}

http::Response JsonError(int status, std::string_view code, std::string_view message, std::string_view hint) {
  json::object error{{"status", status}, {"code", code}, {"message", message}};
  if (!hint.empty()) error["hint"] = hint;
  return JsonResponse(status, json::object{{"error", std::move(error)}});
}

bool SecretEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

namespace {

bool IsStockCode(std::string_view code) {
  return code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
         });
}

// One kind of stock data: the URL's name, the TR, the data set (and so the config's max_age key).
struct Kind {
  std::string_view name;
  kis::Tr tr;
  std::string_view route;
  std::initializer_list<std::string_view> params;  // query parameters accepted
};
const Kind kKinds[] = {
    {"price", kis::Tr::kPrice, "/v1/stocks/{code}/price", {"max_age"}},
    {"orderbook", kis::Tr::kOrderBook, "/v1/stocks/{code}/orderbook", {"max_age"}},
    {"investors", kis::Tr::kInvestors, "/v1/stocks/{code}/investors", {"max_age"}},
    {"overtime", kis::Tr::kOvertimePrice, "/v1/stocks/{code}/overtime", {"max_age"}},
    {"bars/minute", kis::Tr::kMinuteBars, "/v1/stocks/{code}/bars/minute", {"max_age", "date", "format"}},
    {"bars/daily", kis::Tr::kDailyBars, "/v1/stocks/{code}/bars/daily", {"max_age", "from", "to", "format"}},
};

// A KST timestamp as stored ("2026-11-24T10:00:01+09:00", optionally with ".123").
std::optional<common::WallTime> ParseCollectedAt(std::string_view s) {
  if (s.size() < 19) return std::nullopt;
  auto t = common::ParseKstDateTime(s.substr(0, 19));
  if (!t) return std::nullopt;
  if (s.size() > 20 && s[19] == '.') {
    int ms = 0;
    std::size_t i = 20;
    for (int digits = 0; i < s.size() && digits < 3 && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
      ms = ms * 10 + (s[i] - '0');
    }
    *t += std::chrono::milliseconds(ms);
  }
  return t;
}

std::string IsoMillis(common::WallTime t) {
  auto iso = common::FormatIsoKst(t);  // "...T10:00:01+09:00"
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  return fmt::format("{}.{:03}+09:00", iso.substr(0, 19), ms);
}

std::string CompactKst(common::WallTime t) {
  const auto kst = common::ToKst(t);
  return common::FormatYmd(kst.date) + common::FormatHms(kst.time_of_day);
}

// "20261124" or "2026-11-24" -> "20261124".
std::optional<std::string> ParseDateParam(std::string_view v) {
  std::string compact(v);
  if (v.size() == 10 && v[4] == '-' && v[7] == '-') compact = fmt::format("{}{}{}", v.substr(0, 4), v.substr(5, 2), v.substr(8, 2));
  if (!common::ParseYmd(compact)) return std::nullopt;
  return compact;
}

// How one answer came about.
struct Provenance {
  std::string source;  // cache | store | kis
  std::string as_of;   // when the value was fetched from KIS (ISO 8601)
  double age_ms = 0;
  bool stale = false;
  std::string stale_reason;
};

void Stamp(json::object& o, const Provenance& p) {
  o["as_of"] = p.as_of;
  o["age_ms"] = static_cast<std::int64_t>(std::llround(p.age_ms));
  o["source"] = p.source;
  o["stale"] = p.stale;
  if (p.stale) o["stale_reason"] = p.stale_reason;
}

// The held value of a data set: newest records first (one for single-value data sets).
struct Held {
  std::vector<store::Record> records;
  std::string source;
  std::optional<common::WallTime> collected;  // newest collected_at among them
};

Held Lookup(store::SqliteStore* store, const std::string& dataset, const std::string& code, const std::string& from,
            const std::string& to, std::size_t limit) {
  Held h;
  if (store == nullptr) return h;
  h.source = store->Latest(dataset, code) ? "cache" : "store";
  h.records = store->Range(dataset, code, from, to, limit);
  for (const auto& r : h.records) {
    auto t = ParseCollectedAt(r.collected_at);
    if (t && (!h.collected || *t > *h.collected)) h.collected = t;
  }
  return h;
}

// A list body KIS's parsers read, from stored rows (each row's own JSON), newest first as KIS
// sends lists.
std::string RowsBody(const std::vector<store::Record>& rows, std::string_view field) {
  std::string body = fmt::format(R"({{"rt_cd":"0","{}":[)", field);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) body.push_back(',');
    body += rows[i].raw;
  }
  body += "]}";
  return body;
}

std::vector<kis::Bar> OldestFirst(std::vector<kis::Bar> bars) {
  std::sort(bars.begin(), bars.end(), [](const kis::Bar& a, const kis::Bar& b) {
    return a.date + a.time < b.date + b.time;
  });
  return bars;
}

int StatusFor(const kis::Classification& c) {
  if (c.code == "invalid_stock_code" || c.code.starts_with("OPSQ2")) return 400;
  if (c.code == "deadline_exceeded" || c.code == "gate_deadline" || c.code == "timeout" ||
      c.code == "connect_timeout" || c.code == "token_timeout") {
    return 504;
  }
  return 502;
}

http::Response UpstreamError(const kis::Classification& c) {
  const int status = StatusFor(c);
  std::string message = c.message.empty() ? c.code : c.message;
  if (status == 504) message = fmt::format("KIS did not answer within the API deadline ({}), and no value is stored yet", message);
  return JsonError(status, c.code, message, c.hint);
}

}  // namespace

std::vector<RouteInfo> Routes() {
  std::vector<RouteInfo> routes;
  for (const auto& k : kKinds) {
    routes.push_back({std::string(k.route), "get", std::vector<std::string>(k.params.begin(), k.params.end())});
  }
  for (const char* path : {"/v1/jobs", "/v1/budget", "/metrics", "/healthz", "/readyz", "/openapi.json", "/"}) {
    routes.push_back({path, "get", {}});
  }
  routes.push_back({"/oauth2/tokenP", "post", {}});
  routes.push_back({"/uapi/{path}", "get", {}});
  return routes;
}

Service::Service(ServiceDeps deps)
    : deps_(std::move(deps)), started_(deps_.clock->Now()),
      passthrough_(std::make_unique<Passthrough>(*deps_.config, *deps_.gateway, *deps_.clock, counters_)) {}

Service::~Service() = default;

void Service::Sample() { sampler_.Sample(deps_.gateway->Stats(), deps_.clock->Now()); }

asio::awaitable<http::Reply> Service::Handle(http::Request request) {
  const auto started = std::chrono::steady_clock::now();
  std::string route = "other";
  auto routed = Route(request, route);
  http::Response response = co_await std::move(routed);
  counters_.Record(route, response.status,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return http::Reply{std::move(response), false};
}

asio::awaitable<http::Response> Service::Route(const http::Request& request, std::string& route) {
  const auto path = request.Path();
  if (path.starts_with("/uapi/") || path == "/oauth2/tokenP" || path.starts_with("/oauth2/")) {
    route = "passthrough";
    auto forwarded = passthrough_->Handle(request);
    co_return co_await std::move(forwarded);
  }
  if (request.method != "GET" && request.method != "HEAD") {
    route = "other";
    auto r = JsonError(405, "method_not_allowed", fmt::format("{} is not allowed on {}; use GET", request.method, path));
    r.SetHeader("allow", "GET, HEAD");
    co_return r;
  }
  if (path == "/healthz") {
    route = "/healthz";
    co_return JsonResponse(200, json::object{{"status", "ok"}});
  }
  if (path == "/readyz") {
    route = "/readyz";
    co_return Ready();
  }
  if (path == "/metrics") {
    route = "/metrics";
    co_return Metrics();
  }
  if (path == "/openapi.json") {
    route = "/openapi.json";
    http::Response r;
    r.SetHeader("content-type", "application/json; charset=utf-8");
    r.body = std::string(OpenApiDocument());
    co_return r;
  }
  if (path.starts_with("/v1/")) {
    if (!deps_.config->server.api_token.empty()) {
      const auto auth = request.Header("authorization").value_or("");
      const std::string expected = "Bearer " + deps_.config->server.api_token;
      if (!SecretEquals(auth, expected)) {
        route = "unauthorized";
        auto r = JsonError(401, "unauthorized", "this kisgate requires a bearer token for /v1/",
                           "send the header 'Authorization: Bearer <server.api_token>'");
        r.SetHeader("www-authenticate", "Bearer");
        co_return r;
      }
    }
    if (path == "/v1/jobs") {
      route = "/v1/jobs";
      const auto ages = deps_.store ? deps_.store->Ages(deps_.clock->WallNow()) : std::vector<store::Freshness>{};
      co_return JsonResponse(200, deps_.jobs ? deps_.jobs->Json(deps_.clock->WallNow(), ages)
                                             : JobsBoard{}.Json(deps_.clock->WallNow(), ages));
    }
    if (path == "/v1/budget") {
      route = "/v1/budget";
      const double uptime = std::chrono::duration<double>(deps_.clock->Now() - started_).count();
      co_return JsonResponse(200, BudgetJson(*deps_.config, deps_.gateway->Stats(), sampler_.recent(),
                                             deps_.clock->WallNow(), uptime));
    }
    if (path.starts_with("/v1/stocks/")) {
      auto stock = Stock(request, route);
      co_return co_await std::move(stock);
    }
    route = "not_found";
    co_return JsonError(404, "not_found", fmt::format("no route {}", path),
                        "see /openapi.json for the routes: /v1/stocks/{code}/price, /v1/jobs, /v1/budget, ...");
  }
  if (deps_.assets) {
    if (auto asset = deps_.assets(path)) {
      route = "dashboard";
      co_return *asset;
    }
  }
  route = "not_found";
  co_return JsonError(404, "not_found", fmt::format("no route {}", path), "see /openapi.json for the routes");
}

http::Response Service::Ready() const {
  json::array problems;
  const auto stats = deps_.gateway->Stats();
  bool any_token = false;
  for (const auto& k : stats.keys) any_token = any_token || k.token_valid;
  if (!any_token) problems.push_back(json::string("no key holds a valid KIS access token yet"));
  if (deps_.store) {
    const auto c = deps_.store->Counters();
    if (c.last_write_failed) problems.push_back(json::string(fmt::format("the store cannot write: {}", c.last_error)));
  }
  json::object body{{"ready", problems.empty()}, {"problems", std::move(problems)}};
  return JsonResponse(body.at("ready").as_bool() ? 200 : 503, body);
}

http::Response Service::Metrics() const {
  const auto gate = deps_.gateway->Stats();
  const auto ages = deps_.store ? deps_.store->Ages(deps_.clock->WallNow()) : std::vector<store::Freshness>{};
  const auto store_counters = deps_.store ? deps_.store->Counters() : store::StoreCounters{};
  const auto http_counters = deps_.http_counters ? deps_.http_counters() : http::ServerCounters{};
  MetricsInput in;
  in.config = deps_.config;
  in.gate = &gate;
  in.jobs = deps_.jobs;
  in.ages = &ages;
  in.store = deps_.store ? &store_counters : nullptr;
  in.api = &counters_;
  in.http = deps_.http_counters ? &http_counters : nullptr;
  in.process = ReadProcessStats();
  http::Response r;
  r.SetHeader("content-type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = RenderMetrics(in);
  return r;
}

asio::awaitable<http::Response> Service::Stock(const http::Request& request, std::string& route) {
  // /v1/stocks/{code}/{kind...}
  const auto path = request.Path().substr(std::string_view("/v1/stocks/").size());
  const auto slash = path.find('/');
  const std::string code(path.substr(0, slash));
  const std::string_view kind_name = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  const Kind* kind = nullptr;
  for (const auto& k : kKinds) {
    if (k.name == kind_name) kind = &k;
  }
  if (kind == nullptr) {
    route = "not_found";
    co_return JsonError(404, "not_found", fmt::format("no stock data '{}'", kind_name),
                        "use price, orderbook, investors, overtime, bars/minute or bars/daily");
  }
  route = std::string(kind->route);
  if (!IsStockCode(code)) {
    co_return JsonError(400, "invalid_stock_code", fmt::format("'{}' is not a stock code", code),
                        "use six digits or capital letters, e.g. 005930");
  }
  auto query = http::ParseQuery(request.Query());
  if (!query) co_return JsonError(400, "bad_query", "the query string has a malformed %-escape");
  std::map<std::string, std::string> params;
  for (auto& [name, value] : *query) {
    if (std::find(kind->params.begin(), kind->params.end(), name) == kind->params.end()) {
      co_return JsonError(400, "unknown_parameter", fmt::format("unknown query parameter '{}'", name),
                          fmt::format("{} takes: {}", kind->route, fmt::join(kind->params, ", ")));
    }
    params[name] = std::move(value);
  }
  const auto& info = kis::TrInfoFor(kind->tr);
  const std::string dataset(info.dataset);
  common::Duration max_age = deps_.config->api.max_age.count(dataset)
                                 ? std::chrono::duration_cast<common::Duration>(deps_.config->api.max_age.at(dataset))
                                 : common::Duration(5s);
  if (auto it = params.find("max_age"); it != params.end()) {
    char* end = nullptr;
    const double seconds = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || end != it->second.c_str() + it->second.size() || !std::isfinite(seconds) ||
        seconds < 0 || seconds > 1e7) {
      co_return JsonError(400, "bad_max_age", fmt::format("max_age '{}' is not a number of seconds", it->second),
                          "e.g. max_age=0 (always ask KIS) or max_age=30");
    }
    max_age = std::chrono::duration_cast<common::Duration>(std::chrono::duration<double>(seconds));
  }
  bool csv = false;
  if (auto it = params.find("format"); it != params.end()) {
    if (it->second == "csv") {
      csv = true;
    } else if (it->second != "json") {
      co_return JsonError(400, "bad_format", fmt::format("format '{}' is not json or csv", it->second));
    }
  }

  const auto now = deps_.clock->WallNow();
  const auto today = common::FormatYmd(common::ToKst(now).date);
  const auto fresh = [&](const Held& h) {
    return !h.records.empty() && h.collected && now - *h.collected <= max_age;
  };
  const auto provenance = [&](const Held& h) {
    Provenance p;
    p.source = h.source;
    p.as_of = h.records.empty() ? std::string() : h.records.front().collected_at;
    if (h.collected) p.age_ms = std::chrono::duration<double, std::milli>(now - *h.collected).count();
    return p;
  };
  const gate::CallOptions options{gate::Lane::kInteractive,
                                  (std::hash<std::string>{}(request.remote) % 1'000'000) + 1'000'000,
                                  deps_.clock->Now() + deps_.config->api.deadline};
  const std::string collected_at = IsoMillis(now);
  Provenance fetched{"kis", collected_at, 0, false, {}};

  // Stores what KIS sent (one reply, or every page), so the next reader finds it; a reply that
  // cannot be read is counted and logged, and the request fails as if KIS had not answered.
  auto keep = [&](const std::vector<std::string>& bodies, kis::Classification& problem) {
    std::vector<store::Record> records;
    for (const auto& body : bodies) {
      auto converted = collect::ToRecords(kind->tr, code, body, CompactKst(now), collected_at);
      if (auto* c = std::get_if<kis::Classification>(&converted)) {
        counters_.malformed_replies++;
        spdlog::warn("api: unreadable KIS reply for {} {}: {}", dataset, code, c->message);
        problem = *c;
        return false;
      }
      auto& more = std::get<std::vector<store::Record>>(converted);
      std::move(more.begin(), more.end(), std::back_inserter(records));
    }
    if (deps_.store) deps_.store->Write(std::move(records));
    return true;
  };
  const auto answer = [&](json::object body, const Provenance& p) {
    Stamp(body, p);
    counters_.by_source[p.source]++;
    if (p.stale) counters_.stale++;
    auto r = JsonResponse(200, body);
    r.SetHeader("x-kisgate-source", p.source);
    return r;
  };
  const auto stale_of = [&](const Held& h, const kis::Classification& why) {
    auto p = provenance(h);
    p.stale = true;
    p.stale_reason = fmt::format("{}: {}", why.code, why.message);
    return p;
  };

  // Single-value data sets: one reply is the whole value.
  if (kind->tr == kis::Tr::kPrice || kind->tr == kis::Tr::kOrderBook || kind->tr == kis::Tr::kOvertimePrice ||
      kind->tr == kis::Tr::kInvestors) {
    const bool list = kind->tr == kis::Tr::kInvestors;
    Held held = Lookup(deps_.store, dataset, code, "", "", list ? 30 : 1);
    const auto render = [&](const std::string& body, const Provenance& p) -> std::optional<http::Response> {
      json::object out{{"code", code}};
      switch (kind->tr) {
        case kis::Tr::kPrice: {
          auto q = kis::ParsePrice(body);
          if (std::holds_alternative<kis::Classification>(q)) return std::nullopt;
          for (auto& [k, v] : PriceJson(std::get<kis::PriceQuote>(q))) out[k] = v;
          break;
        }
        case kis::Tr::kOrderBook: {
          auto b = kis::ParseOrderBook(body);
          if (std::holds_alternative<kis::Classification>(b)) return std::nullopt;
          // The book's time is a time of day; its day is the day it was fetched.
          const auto day = p.as_of.size() >= 10 ? ParseDateParam(p.as_of.substr(0, 10)) : std::nullopt;
          for (auto& [k, v] : OrderBookJson(std::get<kis::OrderBook>(b), day.value_or(today))) out[k] = v;
          break;
        }
        case kis::Tr::kOvertimePrice: {
          auto o = kis::ParseOvertimePrice(body);
          if (std::holds_alternative<kis::Classification>(o)) return std::nullopt;
          for (auto& [k, v] : OvertimeJson(std::get<kis::OvertimePrice>(o))) out[k] = v;
          break;
        }
        default: {
          auto d = kis::ParseInvestors(body);
          if (std::holds_alternative<kis::Classification>(d)) return std::nullopt;
          json::array days;
          for (const auto& day : std::get<std::vector<kis::InvestorDay>>(d)) days.push_back(InvestorDayJson(day));
          out["days"] = std::move(days);
        }
      }
      return answer(std::move(out), p);
    };
    const auto held_body = [&] { return list ? RowsBody(held.records, "output") : held.records.front().raw; };
    if (fresh(held)) {
      if (auto r = render(held_body(), provenance(held))) co_return *r;
    }
    auto call = deps_.gateway->Call(
        gate::KisRequest{kind->tr, {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", code}}, ""}, options);
    gate::CallResult result = co_await std::move(call);
    kis::Classification problem = result.error;
    if (result.ok && keep({result.body}, problem)) {
      if (auto r = render(result.body, fetched)) co_return *r;
    }
    if (!held.records.empty() && StatusFor(problem) != 400) {
      if (auto r = render(held_body(), stale_of(held, problem))) co_return *r;
    }
    co_return UpstreamError(problem);
  }

  // Bars: a day of minute bars, or daily bars over a range.
  std::vector<kis::Bar> bars;
  Provenance p;
  std::string label;
  if (kind->tr == kis::Tr::kMinuteBars) {
    std::string date = today;
    bool explicit_date = false;
    if (auto it = params.find("date"); it != params.end()) {
      auto parsed = ParseDateParam(it->second);
      if (!parsed) co_return JsonError(400, "bad_date", fmt::format("date '{}' is not a date like 2026-11-24", it->second));
      date = *parsed;
      explicit_date = true;
    } else if (deps_.store) {
      // Without a date: the latest day held (the market's "today", which a simulator may move).
      const auto last = deps_.store->LatestMarketTime(dataset, code);
      if (last.size() >= 8) date = last.substr(0, 8);
    }
    Held held = Lookup(deps_.store, dataset, code, date + "000000", date + "235959", 1000);
    const auto parse_held = [&] {
      auto parsed = kis::ParseMinuteBars(RowsBody(held.records, "output2"));
      return std::holds_alternative<kis::Classification>(parsed) ? std::vector<kis::Bar>{}
                                                                 : OldestFirst(std::get<std::vector<kis::Bar>>(parsed));
    };
    label = date;
    const bool today_asked = !explicit_date || date == today;
    if (fresh(held) || (!today_asked && !held.records.empty())) {
      bars = parse_held();
      p = provenance(held);
    } else if (!today_asked) {
      co_return JsonError(404, "no_data", fmt::format("no minute bars stored for {} {}", code, date),
                          "KIS serves only today's minute bars; a bars_minute job collects them for later");
    } else {
      std::optional<std::string> after;
      if (!held.records.empty()) after = held.records.front().market_time.substr(8);
      auto fetch = gate::FetchMinuteBars(*deps_.gateway, code, options, "153000", after);
      auto paged = co_await std::move(fetch);
      kis::Classification problem;
      if (auto* pages = std::get_if<gate::PagedBars>(&paged); pages && keep(pages->bodies, problem)) {
        std::map<std::string, kis::Bar> merged;
        for (auto& b : parse_held()) merged[b.date + b.time] = b;
        for (auto& b : pages->bars) merged[b.date + b.time] = b;
        const std::string day = pages->bars.empty() ? date : pages->bars.back().date;
        for (auto& [t, b] : merged) {
          if (b.date == day) bars.push_back(b);
        }
        label = day;
        p = fetched;
      } else {
        if (auto* failed = std::get_if<gate::CallResult>(&paged)) problem = failed->error;
        if (held.records.empty() || StatusFor(problem) == 400) co_return UpstreamError(problem);
        bars = parse_held();
        p = stale_of(held, problem);
      }
    }
  } else {
    std::string to = today;
    if (auto it = params.find("to"); it != params.end()) {
      auto parsed = ParseDateParam(it->second);
      if (!parsed) co_return JsonError(400, "bad_date", fmt::format("to '{}' is not a date like 2026-11-24", it->second));
      to = *parsed;
    }
    std::string from = common::FormatYmd(
        std::chrono::year_month_day{std::chrono::sys_days{*common::ParseYmd(to)} - std::chrono::days{140}});
    if (auto it = params.find("from"); it != params.end()) {
      auto parsed = ParseDateParam(it->second);
      if (!parsed) co_return JsonError(400, "bad_date", fmt::format("from '{}' is not a date like 2026-11-24", it->second));
      from = *parsed;
    }
    if (from > to) co_return JsonError(400, "bad_range", fmt::format("from {} is after to {}", from, to));
    const auto span = std::chrono::sys_days{*common::ParseYmd(to)} - std::chrono::sys_days{*common::ParseYmd(from)};
    if (span > std::chrono::days{3660}) {
      co_return JsonError(400, "bad_range", "the range is longer than 10 years", "ask for it in parts");
    }
    label = from + "-" + to;
    Held held = Lookup(deps_.store, dataset, code, from, to, 5000);
    // Complete when every trading day up to today is held; a range reaching today must be fresh too.
    common::MarketCalendar calendar(deps_.config->calendar.holidays);
    std::size_t expected = 0;
    const auto last_day = std::min(to, today);
    for (auto d = std::chrono::sys_days{*common::ParseYmd(from)}; d <= std::chrono::sys_days{*common::ParseYmd(last_day)};
         d += std::chrono::days{1}) {
      if (calendar.IsTradingDay(std::chrono::year_month_day{d})) ++expected;
    }
    const auto parse_held = [&] {
      auto parsed = kis::ParseDailyBars(RowsBody(held.records, "output2"));
      return std::holds_alternative<kis::Classification>(parsed) ? std::vector<kis::Bar>{}
                                                                 : OldestFirst(std::get<std::vector<kis::Bar>>(parsed));
    };
    const bool complete = !held.records.empty() && held.records.size() >= expected && (to < today || fresh(held));
    if (complete) {
      bars = parse_held();
      p = provenance(held);
    } else {
      auto fetch = gate::FetchDailyBars(*deps_.gateway, code, from, to, options);
      auto paged = co_await std::move(fetch);
      kis::Classification problem;
      if (auto* pages = std::get_if<gate::PagedBars>(&paged); pages && keep(pages->bodies, problem)) {
        bars = pages->bars;
        p = fetched;
      } else {
        if (auto* failed = std::get_if<gate::CallResult>(&paged)) problem = failed->error;
        if (held.records.empty() || StatusFor(problem) == 400) co_return UpstreamError(problem);
        bars = parse_held();
        p = stale_of(held, problem);
      }
    }
  }
  counters_.by_source[p.source]++;
  if (p.stale) counters_.stale++;
  if (csv) {
    http::Response r;
    r.SetHeader("content-type", "text/csv; charset=utf-8");
    r.SetHeader("content-disposition", fmt::format("inline; filename=\"{}_{}_{}.csv\"", code, dataset, label));
    r.SetHeader("x-kisgate-source", p.source);
    r.SetHeader("x-kisgate-as-of", p.as_of);
    r.SetHeader("x-kisgate-stale", p.stale ? "true" : "false");
    r.body = BarsCsv(bars);
    co_return r;
  }
  json::array rows;
  for (const auto& b : bars) rows.push_back(BarJson(b));
  json::object out{{"code", code}};
  if (kind->tr == kis::Tr::kMinuteBars) {
    out["date"] = label.size() == 8 ? fmt::format("{}-{}-{}", label.substr(0, 4), label.substr(4, 2), label.substr(6, 2)) : label;
  }
  out["bars"] = std::move(rows);
  Stamp(out, p);
  auto r = JsonResponse(200, out);
  r.SetHeader("x-kisgate-source", p.source);
  co_return r;
}

}  // namespace kisgate::api

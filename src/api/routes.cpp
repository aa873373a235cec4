#include "api/routes.hpp"

#include <algorithm>
#include <cctype>

#include "api/service.hpp"

namespace kisgate::api {

namespace {

using D = common::Dataset;

// The table. Order matters only where patterns overlap: /oauth2/tokenP and /oauth2/revokeP
// before the rest of /oauth2/.
const std::vector<Route>& Table() {
  static const std::vector<Route> kRoutes = {
      {"GET",
       "/v1/stocks/{code}/price",
       Handler::kStock,
       Access::kApiToken,
       "/v1/stocks/{code}/price",
       "Current price (FHKST01010100)",
       D::kPrice,
       {"max_age"}},
      {"GET",
       "/v1/stocks/{code}/orderbook",
       Handler::kStock,
       Access::kApiToken,
       "/v1/stocks/{code}/orderbook",
       "Order book, 10 levels a side (FHKST01010200)",
       D::kOrderBook,
       {"max_age"}},
      {"GET",
       "/v1/stocks/{code}/investors",
       Handler::kStock,
       Access::kApiToken,
       "/v1/stocks/{code}/investors",
       "Investor flows, last 30 days (FHKST01010900)",
       D::kInvestors,
       {"max_age"}},
      {"GET",
       "/v1/stocks/{code}/overtime",
       Handler::kStock,
       Access::kApiToken,
       "/v1/stocks/{code}/overtime",
       "After-hours single price (FHPST02300000)",
       D::kOvertimePrice,
       {"max_age"}},
      {"GET",
       "/v1/stocks/{code}/overtime-orderbook",
       Handler::kStock,
       Access::kApiToken,
       "/v1/stocks/{code}/overtime-orderbook",
       "After-hours single-price order book, 10 levels a side (FHPST02300400)",
       D::kOvertimeOrderBook,
       {"max_age"}},
      {"GET",
       "/v1/stocks/{code}/bars/minute",
       Handler::kStock,
       Access::kApiToken,
       "/v1/stocks/{code}/bars/minute",
       "One day of minute bars, oldest first (FHKST03010200)",
       D::kMinuteBars,
       {"max_age", "date", "format"}},
      {"GET",
       "/v1/stocks/{code}/bars/daily",
       Handler::kStock,
       Access::kApiToken,
       "/v1/stocks/{code}/bars/daily",
       "Daily bars over a range, oldest first (FHKST03010100)",
       D::kDailyBars,
       {"max_age", "from", "to", "format"}},
      {"GET",
       "/v1/stream",
       Handler::kStream,
       Access::kApiToken,
       "/v1/stream",
       "Server-Sent Events: trades, order books and polled prices of the codes asked for",
       std::nullopt,
       {"codes", "data", "last_event_id", "token"}},
      {"GET",
       "/v1/ws",
       Handler::kWebSocket,
       Access::kApiToken,
       "/v1/ws",
       "WebSocket: the events of /v1/stream as JSON messages; send {\"codes\":[...],\"data\":"
       "[...]} to change them",
       std::nullopt,
       {"codes", "data", "token"}},
      {"GET", "/v1/jobs", Handler::kJobs, Access::kApiToken, "/v1/jobs",
       "Each collection job: recent cycles, next run; data freshness"},
      {"GET", "/v1/budget", Handler::kBudget, Access::kApiToken, "/v1/budget",
       "Each key and lane: limit, use, in flight, queue, waits, cooldowns, errors"},
      {"GET", "/metrics", Handler::kMetrics, Access::kApiToken, "/metrics",
       "Prometheus text format (kisgate_* metrics)"},
      {"GET", "/healthz", Handler::kHealth, Access::kOpen, "/healthz", "The process is up"},
      {"GET", "/readyz", Handler::kReady, Access::kApiToken, "/readyz",
       "Ready: a key holds a valid token and the store can write"},
      {"GET", "/openapi.json", Handler::kOpenApi, Access::kApiToken, "/openapi.json",
       "This document"},
      // The dashboard's page; its other static files are served after every route.
      {"GET", "/", Handler::kDashboard, Access::kApiToken, "dashboard", "The dashboard (HTML)"},
      {"POST", "/oauth2/tokenP", Handler::kPassthrough, Access::kOwnCredentials, "passthrough",
       "KIS token endpoint: kisgate issues its own token for the passthrough (no KIS issuance "
       "spent)"},
      {"POST", "/oauth2/revokeP", Handler::kPassthrough, Access::kOwnCredentials, "passthrough",
       "KIS token revocation: revokes a token kisgate issued for the passthrough (kisgate's own "
       "KIS token is untouched)"},
      {"GET",
       "/oauth2/{path}",
       Handler::kPassthrough,
       Access::kOwnCredentials,
       "passthrough",
       "Anything else under /oauth2/: the passthrough answers it in KIS's format",
       std::nullopt,
       {},
       false},
      {"GET", "/uapi/{path}", Handler::kPassthrough, Access::kOwnCredentials, "passthrough",
       "KIS quotation calls through the gate, in KIS's wire format (tr_id, appkey, appsecret, "
       "authorization headers)"},
  };
  return kRoutes;
}

}  // namespace

std::span<const Route> RouteTable() { return Table(); }

bool PatternMatches(std::string_view pattern, std::string_view path) {
  // Segment by segment; both start with '/'.
  for (;;) {
    const auto pattern_end = pattern.find('/', 1);
    const auto segment = pattern.substr(0, pattern_end);  // "/v1", "/{code}"
    if (segment == "/{path}" && pattern_end == std::string_view::npos) return path.starts_with('/');
    const auto path_end = path.find('/', 1);
    const auto part = path.substr(0, path_end);
    const bool wildcard = segment.size() > 3 && segment[1] == '{' && segment.back() == '}';
    if (part.empty() || (!wildcard && segment != part)) return false;
    if (pattern_end == std::string_view::npos || path_end == std::string_view::npos) {
      return pattern_end == std::string_view::npos && path_end == std::string_view::npos;
    }
    pattern.remove_prefix(pattern_end);
    path.remove_prefix(path_end);
  }
}

const Route* MatchRoute(std::string_view path) {
  for (const auto& route : Table()) {
    if (PatternMatches(route.pattern, path)) return &route;
  }
  // A KIS client whose base URL ends in '/' asks for "//uapi/...": KIS serves it, and so does the
  // passthrough, which collapses the slashes. No other route takes such a path.
  if (const auto first = path.find_first_not_of('/');
      first > 1 && first != std::string_view::npos) {
    const auto* route = MatchRoute(path.substr(first - 1));
    if (route != nullptr && route->handler == Handler::kPassthrough) return route;
  }
  return nullptr;
}

const Route* StockRoute(common::Dataset dataset) {
  for (const auto& route : Table()) {
    if (route.dataset == dataset) return &route;
  }
  return nullptr;
}

std::string RouteList(std::string_view prefix) {
  std::string out;
  for (const auto& route : Table()) {
    if (!route.listed || !route.pattern.starts_with(prefix)) continue;
    if (!out.empty()) out += ", ";
    out += route.pattern;
  }
  return out;
}

std::vector<RouteInfo> Routes() {
  std::vector<RouteInfo> routes;
  for (const auto& route : Table()) {
    if (!route.listed) continue;
    std::string method(route.method);
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    routes.push_back({std::string(route.pattern), std::move(method),
                      std::vector<std::string>(route.query.begin(), route.query.end()),
                      std::string(route.summary)});
  }
  return routes;
}

}  // namespace kisgate::api

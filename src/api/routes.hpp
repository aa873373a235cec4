#pragma once
// The routes kisgate's HTTP API answers, as one table (DESIGN.md "Interfaces"). Service::Route
// dispatches by it, Routes() lists it (openapi.json is tested equal to that list, summaries
// included, and the 404 help names its routes), and each entry's label is the `route` label of
// the kisgate_api_* metrics. The stock data routes name their data set: a test proves every data
// set of the vocabulary (common/vocabulary.hpp) has one.
//
// Not in the table: the dashboard's static files other than "/" (the app supplies them, Service
// serves them after every route, label "dashboard"), and the answers that match no route
// (405 "other", 401 "unauthorized", 404 "not_found").

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/vocabulary.hpp"

namespace kisgate::api {

// Who may call a route, which also orders dispatch (Service::Route).
enum class Access {
  kOwnCredentials,  // the KIS passthrough: KIS's credentials, any method, KIS's error format
  kOpen,            // never needs server.api_token: /healthz, for probes
  kApiToken,        // /v1/ needs server.api_token when one is set; others only with protect_all
};

// What answers a route: Service::Call switches over it.
enum class Handler {
  kPassthrough,
  kHealth,
  kReady,
  kMetrics,
  kOpenApi,
  kJobs,
  kBudget,
  kStock,
  kStream,     // /v1/stream, Server-Sent Events
  kWebSocket,  // /v1/ws
  kDashboard,
};

struct Route {
  std::string_view method;  // as openapi.json documents it: "GET", "POST"
  // An OpenAPI path template: "{name}" matches one path segment, a final "{path}" all the rest.
  std::string_view pattern;
  Handler handler;
  Access access;
  std::string_view label;    // the `route` label of kisgate_api_* (the pattern, or a group name)
  std::string_view summary;  // one line; openapi.json's summary for the operation
  std::optional<common::Dataset> dataset = std::nullopt;  // the stock data routes
  std::vector<std::string_view> query = {};               // query parameters taken
  bool listed = true;  // false: dispatched but not a documented route (the rest of /oauth2/)
};

// Every route, in dispatch order (the first match wins).
std::span<const Route> RouteTable();
// The first route whose pattern matches `path`, whatever the method; null when none does.
const Route* MatchRoute(std::string_view path);
bool PatternMatches(std::string_view pattern, std::string_view path);
// The stock data route of `dataset`; null when the data set is collected but not served.
const Route* StockRoute(common::Dataset dataset);
// "/v1/stocks/{code}/price, ..., /v1/budget": the listed routes under `prefix`, for 404 help.
std::string RouteList(std::string_view prefix);

}  // namespace kisgate::api

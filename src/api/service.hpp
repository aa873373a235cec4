#pragma once
// kisgate's HTTP surface (DESIGN.md "Interfaces"), one handler behind http::Server. Service is the
// boundary: it matches the route table (routes.hpp), checks the API token, counts each answer by
// route and status, turns an exception into a 500 in the caller's format, and hands the matched
// route to the handler class of its kind, each with only its own dependencies:
//   StockHandler (stock_routes.hpp): /v1/stocks/{code}/... from the latest-value cache, the
//       store, or KIS on the interactive lane (identical requests share a call), else stale;
//   StreamHandler (stream_routes.hpp): /v1/stream and /v1/ws;
//   Passthrough (passthrough.hpp): /uapi/... and /oauth2/..., KIS's wire format through the gate;
//   StatusHandler (status.hpp): /healthz, /readyz, /v1/budget, /v1/jobs, /metrics, /openapi.json;
// and the dashboard's static files (supplied by the app).
// Every error is JSON naming the problem; secrets never appear in a reply.
//
// Thread-safety: one io_context thread, like the gateway it calls.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/awaitable.hpp>

#include "api/metrics.hpp"
#include "api/status.hpp"
#include "common/clock.hpp"
#include "common/jobs_snapshot.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "http/server.hpp"
#include "store/store.hpp"
#include "stream/hub.hpp"

namespace kisgate::api {

struct Route;
class StockHandler;
class StreamHandler;
class StatusHandler;

// A static file for a path ("/" included), or nullopt.
using AssetLookup = std::function<std::optional<http::Response>(std::string_view path)>;

struct ServiceDeps {
  const config::Config* config = nullptr;
  gate::Gateway* gateway = nullptr;
  store::Store* store = nullptr;  // may be null: then nothing is cached or stored
  // The scheduled jobs' state for /v1/jobs and /readyz, taken at each request; may be empty:
  // /v1/jobs then lists none.
  std::function<common::JobsSnapshot()> jobs;
  const common::Clock* clock = nullptr;
  // The other modules' families of /metrics (gate, jobs, store, ...), in this order, before the
  // API's own and the process's; may be empty.
  std::vector<MetricsSource> metrics;
  AssetLookup assets;  // may be empty: "/" is then a 404
  // The codes whose values /v1/stocks/ keeps in the store (the configured universe); a value of
  // any other code is fetched from KIS for each request and not kept. Null: every code is kept.
  std::shared_ptr<const std::unordered_set<std::string>> universe;
  // How many single values of codes outside the universe are held in memory (least recently
  // used first out), so that max_age holds for them without storing them.
  std::size_t recent_values = 1000;
  // The real-time fan-out behind /v1/stream and /v1/ws and price "source: stream"; may be null:
  // those routes then answer 503 and prices come from the cache, the store or KIS.
  stream::Hub* hub = nullptr;
  // How long an event stream stays silent before a heartbeat comment.
  std::chrono::milliseconds stream_heartbeat{15'000};
  // /v1/budget: the `stream` object of each key (its KIS WebSocket session and what it streams
  // and polls), by key name; may be empty: then keys have none.
  std::function<boost::json::object(const std::string& key)> stream_status;
  // Tests only: called before each request is routed, inside the handler boundary (a test makes it
  // throw to prove the boundary). Empty in the app.
  std::function<void(const http::Request&)> test_hook;
};

class Service {
 public:
  explicit Service(ServiceDeps deps);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  boost::asio::awaitable<http::Reply> Handle(http::Request request);

  // Takes one snapshot of the gate for /v1/budget's rates; the app calls it every second.
  void Sample();
  // One more source of /metrics families, after those of ServiceDeps::metrics: the HTTP
  // server's (the server is made after the service it calls).
  void AddMetrics(MetricsSource source) { deps_.metrics.push_back(std::move(source)); }

  const ApiCounters& counters() const { return counters_; }

  struct Passthrough;

 private:
  // Dispatch by the route table (routes.hpp): the answer of the route's handler, whose awaitable
  // is returned as it is (no coroutine frame of the dispatch's own between the server and the
  // handler). `label` gets the metric label of the answer; `reply` a long-lived connection's
  // function (/v1/stream, /v1/ws).
  boost::asio::awaitable<http::Response> Route(const http::Request& request,
                                               std::string_view& label, http::Reply& reply);
  boost::asio::awaitable<http::Response> Call(const api::Route& route, const http::Request& request,
                                              std::string_view& label, http::Reply& reply);
  // Whether the request carries the bearer token of server.api_token (any case of "Bearer").
  bool HasApiToken(const http::Request& request) const;

  ServiceDeps deps_;
  ApiCounters counters_;
  std::unique_ptr<StockHandler> stock_;    // /v1/stocks/... (stock_routes.hpp)
  std::unique_ptr<StreamHandler> stream_;  // /v1/stream, /v1/ws (stream_routes.hpp)
  std::unique_ptr<StatusHandler> status_;  // /readyz, /v1/budget, /v1/jobs, /metrics (status.hpp)
  std::unique_ptr<Passthrough> passthrough_;
};

// JSON error body: {"error": {"status": 400, "code": "invalid_stock_code", "message": ..., "hint":
// ...}}.
http::Response JsonError(int status, std::string_view code, std::string_view message,
                         std::string_view hint = {});
http::Response JsonResponse(int status, const boost::json::value& body);
// An answer already made, as the awaitable every route's handler returns.
boost::asio::awaitable<http::Response> AnswerNow(http::Response response);
// The same for JSON text already written (a kept rendering).
http::Response JsonTextResponse(int status, std::string text);

// Constant-time comparison for secrets (no early exit on the first differing byte).
bool SecretEquals(std::string_view a, std::string_view b);

// The HTTP status for a call that got no usable answer from KIS: 400 for a request KIS refuses
// as malformed, 504 when time ran out (a deadline or a timeout), 502 otherwise.
int UpstreamStatus(const kis::Classification& error);

// The host of a peer address "HOST:PORT" ("[::1]:PORT" or "::1:PORT" alike).
std::string_view ClientHost(std::string_view remote);

// The gate flow of an API client, for round robin between clients inside a lane: one per peer
// address ("HOST:PORT" without the port, so a client's many connections are one flow), offset by
// `base` to keep the API's flows apart from the passthrough's and the jobs'.
gate::FlowId ClientFlow(std::string_view remote, gate::FlowId base);

// The OpenAPI document served at /openapi.json (src/api/openapi.json, compiled in).
std::string_view OpenApiDocument();

// Every route the service answers (the listed entries of the route table, routes.hpp), as
// OpenAPI path templates with their methods ("get"), query parameters and summaries; a test keeps
// openapi.json equal to it.
struct RouteInfo {
  std::string path;
  std::string method;
  std::vector<std::string> query;
  std::string summary;
};
std::vector<RouteInfo> Routes();

}  // namespace kisgate::api

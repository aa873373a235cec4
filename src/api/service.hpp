#pragma once
// kisgate's HTTP surface (DESIGN.md "Interfaces"), one handler behind http::Server:
//   /v1/stocks/{code}/{price|orderbook|investors|overtime|bars/minute|bars/daily}
//       fresh collected data when there is some, else a call to KIS on the interactive lane
//       (identical requests share it), else the last stored value marked stale;
//   /v1/jobs, /v1/budget, /metrics, /healthz, /readyz, /openapi.json;
//   /uapi/... and /oauth2/tokenP: the KIS wire format through the gate (passthrough.cpp);
//   the dashboard's static files (supplied by the app).
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
#include "api/recent_values.hpp"
#include "api/status.hpp"
#include "common/clock.hpp"
#include "common/jobs_snapshot.hpp"
#include "config/config.hpp"
#include "gate/gateway.hpp"
#include "http/server.hpp"
#include "kis/quotes.hpp"
#include "store/store.hpp"
#include "stream/hub.hpp"

namespace kisgate::api {

struct Provenance;
struct Route;

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
  // Dispatch by the route table (routes.hpp); `label` gets the metric label of the answer.
  // `reply` gets a long-lived connection's function (/v1/stream, /v1/ws).
  boost::asio::awaitable<http::Response> Route(const http::Request& request, std::string& label,
                                               http::Reply& reply);
  boost::asio::awaitable<http::Response> Call(const api::Route& route, const http::Request& request,
                                              std::string& label, http::Reply& reply);
  // /v1/stream and /v1/ws (stream_routes.cpp): the headers, and the connection's function in
  // `reply`; or a JSON error.
  http::Response EventStream(const http::Request& request, http::Reply& reply, bool websocket);
  // Whether the request carries the bearer token of server.api_token (any case of "Bearer").
  bool HasApiToken(const http::Request& request) const;

  // /v1/stocks/... (stock_routes.cpp)
  struct StockContext;
  boost::asio::awaitable<http::Response> Stock(const http::Request& request, std::string& route);
  boost::asio::awaitable<http::Response> SingleValue(const StockContext& ctx);
  // A price from the hub's latest trade when it is fresher than the held value (source "stream").
  std::optional<http::Response> StreamedPrice(const StockContext& ctx);
  boost::asio::awaitable<http::Response> MinuteBars(const StockContext& ctx);
  boost::asio::awaitable<http::Response> DailyBars(const StockContext& ctx);
  // Stores (or holds) the records of KIS replies and returns them; nullopt when one is unreadable.
  std::optional<std::vector<store::Record>> Keep(const StockContext& ctx,
                                                 const std::vector<std::string>& bodies,
                                                 kis::Classification& problem);
  http::Response Answer(const StockContext& ctx, boost::json::object body, const Provenance& p);
  void CountAnswer(const std::string& source, bool stale);
  http::Response BarsResponse(const StockContext& ctx, const std::vector<kis::Bar>& bars,
                              const Provenance& p, const std::string& label);
  http::Response Ready() const;
  http::Response Metrics() const;

  ServiceDeps deps_;
  ApiCounters counters_;
  // The JSON of each single value served, without its trailing provenance fields, for as long as
  // it is the latest: a cached read then costs a lookup and a copy, not a parse and a render.
  struct Rendered {
    common::WallTime collected_at;
    std::string prefix;  // "{...,\"code\":\"005930\"" (no closing brace)
  };
  std::unordered_map<std::string, Rendered> rendered_;
  RecentValues recent_;
  Sampler sampler_;
  common::SteadyTime started_;
  std::unique_ptr<Passthrough> passthrough_;
};

// JSON error body: {"error": {"status": 400, "code": "invalid_stock_code", "message": ..., "hint":
// ...}}.
http::Response JsonError(int status, std::string_view code, std::string_view message,
                         std::string_view hint = {});
http::Response JsonResponse(int status, const boost::json::value& body);
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

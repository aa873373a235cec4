#include "api/service.hpp"

#include <openssl/crypto.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "api/passthrough.hpp"
#include "api/routes.hpp"
#include "api/status.hpp"
#include "api/stock_routes.hpp"
#include "api/stream_routes.hpp"
#include "common/error.hpp"
#include "common/kst.hpp"
#include "http/message.hpp"
#include "views/json_text.hpp"

namespace kisgate::api {

namespace asio = boost::asio;
namespace json = boost::json;

http::Response JsonTextResponse(int status, std::string text) {
  http::Response r;
  r.status = status;
  r.SetHeader("content-type", "application/json; charset=utf-8");
  r.SetHeader("cache-control", "no-store");
  r.body = std::move(text);
  r.body.push_back('\n');
  return r;
}

http::Response JsonResponse(int status, const json::value& body) {
  return JsonTextResponse(status, views::ToJsonText(body));
}

http::Response JsonError(int status, std::string_view code, std::string_view message,
                         std::string_view hint) {
  // Messages quote what the client sent (a path, a code): kept valid UTF-8, so the reply is JSON.
  json::object error{
      {"status", status}, {"code", views::ValidUtf8(code)}, {"message", views::ValidUtf8(message)}};
  if (!hint.empty()) error["hint"] = views::ValidUtf8(hint);
  return JsonResponse(status, json::object{{"error", std::move(error)}});
}

bool SecretEquals(std::string_view a, std::string_view b) {
  // The length is not secret; the bytes are compared in constant time (OpenSSL).
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

int UpstreamStatus(const kis::Classification& error) {
  const auto kind = error.Kind();
  if (!kind) return 502;  // not a failure: the caller asked about a reply it could not use
  switch (*kind) {
    case common::Errc::kInvalidStockCode:
    case common::Errc::kKisBadRequest:
      return 400;  // the request's parameters: the client's to fix
    case common::Errc::kDeadlineExceeded:
    case common::Errc::kGateDeadline:
    case common::Errc::kTokenTimeout:
    case common::Errc::kConnectTimeout:
    case common::Errc::kTimeout:
      return 504;
    case common::Errc::kRealOnlyTr:
    case common::Errc::kMalformedReply:
    case common::Errc::kTooManyRequests:
    case common::Errc::kUnavailable:
    case common::Errc::kCoordinationUnavailable:
    case common::Errc::kUnknownTr:
    case common::Errc::kKisRejected:
    case common::Errc::kBadUrl:
    case common::Errc::kResolve:
    case common::Errc::kConnectRefused:
    case common::Errc::kTlsHandshake:
    case common::Errc::kClosedWithoutResponse:
    case common::Errc::kReplyTooLarge:
    case common::Errc::kProtocol:
    case common::Errc::kException:
      return 502;
  }
  return 502;
}

std::string_view ClientHost(std::string_view remote) {
  const auto colon = remote.rfind(':');
  return colon == std::string_view::npos ? remote : remote.substr(0, colon);
}

gate::FlowId ClientFlow(std::string_view remote, gate::FlowId base) {
  return base + std::hash<std::string_view>{}(ClientHost(remote)) % 1'000'000;
}

asio::awaitable<http::Response> AnswerNow(http::Response response) { co_return response; }

Service::Service(ServiceDeps deps)
    : deps_(std::move(deps)),
      stock_(std::make_unique<StockHandler>(StockDeps{deps_.config, deps_.gateway, deps_.store,
                                                      deps_.clock, deps_.universe,
                                                      deps_.recent_values, deps_.hub, &counters_})),
      stream_(std::make_unique<StreamHandler>(
          StreamDeps{deps_.hub, deps_.clock, deps_.stream_heartbeat})),
      status_(std::make_unique<StatusHandler>(
          StatusDeps{deps_.config, deps_.gateway, deps_.store, deps_.jobs, deps_.clock,
                     &deps_.metrics, &counters_, deps_.hub, deps_.stream_status})),
      passthrough_(std::make_unique<Passthrough>(*deps_.config, *deps_.gateway, deps_.store,
                                                 *deps_.clock, counters_)) {}

Service::~Service() = default;

void Service::Sample() { status_->Sample(); }

asio::awaitable<http::Reply> Service::Handle(http::Request request) {
  const auto started = std::chrono::steady_clock::now();
  std::string_view route = "other";  // the metric label: the route table's, or a fixed name
  http::Response response;
  // The API handler boundary (STYLE.md "Errors"): whatever throws below answers 500 in the
  // caller's format, is logged and counted, and the connection and the server go on.
  std::optional<std::string> failure;
  http::Reply reply;
  try {
    if (deps_.test_hook) deps_.test_hook(request);
    auto routed = Route(request, route, reply);
    response = co_await std::move(routed);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "an exception that is not a std::exception";
  }
  if (failure) {
    reply = http::Reply{};
    counters_.handler_exceptions++;
    spdlog::error("api: {} {} failed: {}", views::ValidUtf8(request.method),
                  views::ValidUtf8(request.Path()), *failure);
    const auto* matched = MatchRoute(request.Path());
    if (matched && matched->access == Access::kOwnCredentials) {  // KIS's error format
      response = http::Response{};
      response.status = 500;
      response.SetHeader("Content-Type", "application/json; charset=utf-8");
      response.body = json::serialize(
          json::object{{"rt_cd", "1"},
                       {"msg_cd", "KISGATE500"},
                       {"msg1", "kisgate: an internal error; it is logged, retry later"}});
    } else {
      response = JsonError(500, "internal_error",
                           "kisgate failed while answering this request; the error is logged",
                           "retry later; if it persists, see kisgate's log and "
                           "kisgate_api_handler_exceptions_total");
    }
  }
  counters_.Record(
      route, response.status,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  reply.response = std::move(response);
  co_return reply;
}

asio::awaitable<http::Response> Service::Route(const http::Request& request,
                                               std::string_view& label, http::Reply& reply) {
  const auto path = request.Path();
  const auto* route = MatchRoute(path);
  if (route && route->access == Access::kOwnCredentials) {
    label = route->label;  // its own credentials: KIS's appkey/appsecret or a tokenP token
    return Call(*route, request, label, reply);
  }
  const std::string_view allowed = route ? route->method : std::string_view("GET");
  if (request.method != allowed) {
    label = "other";
    auto r =
        JsonError(405, "method_not_allowed",
                  fmt::format("{} is not allowed on {}; use {}", request.method, path, allowed));
    r.SetHeader("allow", std::string(allowed));
    return AnswerNow(std::move(r));
  }
  if (route && route->access == Access::kOpen) {
    label = route->label;
    return Call(*route, request, label, reply);
  }
  // /v1/ always needs server.api_token when one is set; with server.protect_all so do /metrics,
  // /readyz and /openapi.json (they show key names, token expiry and traffic). /healthz stays open
  // for probes, and so do the dashboard's static files: they hold no data (the page reads it
  // from /v1/ with the token) and a browser cannot send a bearer token when it opens a page.
  const bool guarded = path.starts_with("/v1/") ||
                       (deps_.config->server.protect_all && !(deps_.assets && deps_.assets(path)));
  // EventSource cannot send headers: the event routes also take ?token= (constant time too).
  const bool event_route = route != nullptr && (route->handler == Handler::kStream ||
                                                route->handler == Handler::kWebSocket);
  if (guarded && !deps_.config->server.api_token.empty() && !HasApiToken(request) &&
      !(event_route && SecretEquals(QueryToken(request), deps_.config->server.api_token))) {
    label = "unauthorized";
    auto r = JsonError(401, "unauthorized",
                       fmt::format("this kisgate requires a bearer token for {}",
                                   path.starts_with("/v1/") ? "/v1/" : "everything but /healthz"),
                       "send the header 'Authorization: Bearer <server.api_token>'");
    r.SetHeader("www-authenticate", "Bearer");
    return AnswerNow(std::move(r));
  }
  if (route) {
    label = route->label;
    return Call(*route, request, label, reply);
  }
  if (path.starts_with("/v1/")) {
    label = "not_found";
    return AnswerNow(
        JsonError(404, "not_found", fmt::format("no route {}", path),
                  fmt::format("the routes under /v1/: {} (see /openapi.json)", RouteList("/v1/"))));
  }
  // The dashboard's static files beside its page ("/", a route).
  if (deps_.assets) {
    if (auto asset = deps_.assets(path)) {
      label = "dashboard";
      return AnswerNow(std::move(*asset));
    }
  }
  label = "not_found";
  return AnswerNow(JsonError(404, "not_found", fmt::format("no route {}", path),
                             "see /openapi.json for the routes"));
}

asio::awaitable<http::Response> Service::Call(const api::Route& route, const http::Request& request,
                                              std::string_view& label, http::Reply& reply) {
  switch (route.handler) {
    case Handler::kPassthrough: {
      return passthrough_->Handle(request);
    }
    case Handler::kHealth:
    case Handler::kReady:
    case Handler::kMetrics:
    case Handler::kOpenApi:
    case Handler::kJobs:
    case Handler::kBudget:
      return AnswerNow(status_->Handle(route));
    case Handler::kStream:
    case Handler::kWebSocket:
      return AnswerNow(stream_->Handle(request, route, reply));
    case Handler::kStock:
      return stock_->Handle(request, route);
    case Handler::kDashboard:
      if (deps_.assets) {
        if (auto asset = deps_.assets(request.Path())) return AnswerNow(std::move(*asset));
      }
      label = "not_found";
      return AnswerNow(
          JsonError(404, "not_found", fmt::format("no route {}", request.Path()),
                    "this kisgate serves no dashboard; see /openapi.json for the routes"));
  }
  label = "other";  // unreachable: the switch covers every handler
  return AnswerNow(JsonError(500, "internal_error", "no handler for this route"));
}

bool Service::HasApiToken(const http::Request& request) const {
  // RFC 7235: the scheme name is case-insensitive ("bearer", "BEARER" alike).
  const auto auth = request.Header("authorization").value_or("");
  constexpr std::string_view kScheme = "bearer ";
  return auth.size() > kScheme.size() &&
         http::EqualsIgnoreCase(auth.substr(0, kScheme.size()), kScheme) &&
         SecretEquals(auth.substr(kScheme.size()), deps_.config->server.api_token);
}

}  // namespace kisgate::api

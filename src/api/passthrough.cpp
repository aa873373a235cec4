#include "api/passthrough.hpp"

#include <openssl/rand.h>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/kst.hpp"
#include "http/message.hpp"

namespace kisgate::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto kTokenLifetime = std::chrono::hours(24);
constexpr std::size_t kMaxTokens = 10'000;  // bounds memory against a client issuing in a loop

// KIS's quotation error envelope, so a KIS client reads our refusals the way it reads KIS's.
http::Response KisStyle(int status, std::string_view msg_cd, std::string_view message) {
  http::Response r;
  r.status = status;
  r.SetHeader("content-type", "application/json; charset=utf-8");
  r.body = json::serialize(json::object{{"rt_cd", "1"}, {"msg_cd", msg_cd}, {"msg1", message}});
  return r;
}

// The token endpoint's error shape (kis-api.md §2).
http::Response TokenError(int status, std::string_view code, std::string_view description) {
  http::Response r;
  r.status = status;
  r.SetHeader("content-type", "application/json; charset=utf-8");
  r.body = json::serialize(json::object{{"error_code", code}, {"error_description", description}});
  return r;
}

std::string RandomToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  std::string out = "kisgate.";
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace

PathDecision CheckPassthroughPath(const config::PassthroughConfig& config, std::string_view method,
                                  std::string_view path) {
  if (!config.enabled) return {false, "the passthrough is disabled in this kisgate (passthrough.enabled = false)"};
  if (path.find("..") != std::string_view::npos || path.find("//") != std::string_view::npos) {
    return {false, "the path is not in canonical form"};
  }
  if (config.allow_trading && path.starts_with("/uapi/")) return {true, {}};
  if (method != "GET") {
    return {false, fmt::format("{} {} is refused: kisgate forwards only GET quotation calls (set "
                               "passthrough.allow_trading = true to forward orders and account calls)",
                               method, path)};
  }
  for (auto prefix : kQuotationPrefixes) {
    if (path.starts_with(prefix)) return {true, {}};
  }
  for (const auto& prefix : config.allow_paths) {
    if (path.starts_with(prefix)) return {true, {}};
  }
  return {false, fmt::format("{} is not a quotation path: kisgate refuses trading and account calls unless "
                             "passthrough.allow_trading = true (or add its prefix to passthrough.allow_paths)",
                             path)};
}

Service::Passthrough::Passthrough(const config::Config& config, gate::Gateway& gateway, const common::Clock& clock,
                                  ApiCounters& counters)
    : config_(config), gateway_(gateway), clock_(clock), counters_(counters) {}

bool Service::Passthrough::Authorized(const http::Request& request, std::string& why) const {
  const auto app_key = request.Header("appkey").value_or("");
  const auto app_secret = request.Header("appsecret").value_or("");
  for (const auto& key : config_.keys) {
    if (!app_key.empty() && SecretEquals(app_key, key.app_key) && SecretEquals(app_secret, key.app_secret)) return true;
  }
  auto auth = request.Header("authorization").value_or("");
  if (auth.size() > 7 && http::EqualsIgnoreCase(auth.substr(0, 7), "bearer ")) {
    const std::string bearer(auth.substr(7));
    if (!config_.server.api_token.empty() && SecretEquals(bearer, config_.server.api_token)) return true;
    if (auto it = tokens_.find(bearer); it != tokens_.end() && it->second > clock_.WallNow()) return true;
  }
  why = app_key.empty() ? "send the appkey and appsecret headers of a key configured in kisgate, or a token from "
                          "kisgate's /oauth2/tokenP"
                        : "the appkey/appsecret pair is not one of kisgate's configured keys";
  return false;
}

http::Response Service::Passthrough::IssueToken(const http::Request& request) {
  json::error_code ec;
  auto body = json::parse(request.body, ec);
  const auto* o = ec ? nullptr : body.if_object();
  auto field = [&](std::string_view name) -> std::string {
    const auto* v = o ? o->if_contains(name) : nullptr;
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  if (o == nullptr || field("grant_type") != "client_credentials") {
    counters_.passthrough["token_refused"]++;
    return TokenError(403, "EGW00002", "kisgate: the body must be JSON with grant_type \"client_credentials\", appkey and appsecret");
  }
  const auto app_key = field("appkey");
  const auto app_secret = field("appsecret");
  const config::KeyConfig* match = nullptr;
  for (const auto& key : config_.keys) {
    if (SecretEquals(app_key, key.app_key)) match = &key;
  }
  if (match == nullptr) {
    counters_.passthrough["token_refused"]++;
    return TokenError(403, "EGW00103", "유효하지 않은 AppKey입니다. (kisgate: not one of the configured keys)");
  }
  if (!SecretEquals(app_secret, match->app_secret)) {
    counters_.passthrough["token_refused"]++;
    return TokenError(403, "EGW00105", "유효하지 않은 AppSecret입니다. (kisgate: wrong secret for this key)");
  }
  const auto now = clock_.WallNow();
  std::erase_if(tokens_, [&](const auto& t) { return t.second <= now; });
  if (tokens_.size() >= kMaxTokens) tokens_.erase(tokens_.begin());
  const auto token = RandomToken();
  const auto expires = now + kTokenLifetime;
  tokens_[token] = expires;
  counters_.passthrough["tokens_issued"]++;
  http::Response r;
  r.SetHeader("content-type", "application/json; charset=utf-8");
  r.body = json::serialize(json::object{
      {"access_token", token},
      {"access_token_token_expired", common::FormatKstDateTime(expires)},
      {"token_type", "Bearer"},
      {"expires_in", std::chrono::duration_cast<std::chrono::seconds>(kTokenLifetime).count()}});
  return r;
}

asio::awaitable<http::Response> Service::Passthrough::Handle(const http::Request& request) {
  const std::string path(request.Path());
  if (path == "/oauth2/tokenP" && request.method == "POST") {
    if (!config_.passthrough.enabled) {
      co_return TokenError(403, "EGW00002", "kisgate: the passthrough is disabled (passthrough.enabled = false)");
    }
    co_return IssueToken(request);
  }
  auto decision = CheckPassthroughPath(config_.passthrough, request.method, path);
  if (!decision.allowed) {
    counters_.passthrough["refused"]++;
    co_return KisStyle(403, "KISGATE403", "kisgate: " + decision.reason);
  }
  std::string why;
  if (!Authorized(request, why)) {
    counters_.passthrough["unauthorized"]++;
    auto r = KisStyle(401, "EGW00121", "유효하지 않은 token 입니다. (kisgate: " + why + ")");
    r.SetHeader("www-authenticate", "Bearer");
    co_return r;
  }
  const auto tr_id = request.Header("tr_id").value_or("");
  if (tr_id.empty()) {
    counters_.passthrough["bad_request"]++;
    co_return KisStyle(400, "KISGATE400", "kisgate: the tr_id header is required (KIS routes every call by it)");
  }
  const auto lane_header = request.Header("x-kisgate-lane");
  const auto lane =
      lane_header && !lane_header->empty() ? gate::ParseLane(*lane_header) : gate::Lane::kInteractive;
  if (!lane) {
    counters_.passthrough["bad_request"]++;
    co_return KisStyle(400, "KISGATE400", "kisgate: x-kisgate-lane must be interactive, batch or background");
  }
  auto query = http::ParseQuery(request.Query());
  if (!query) {
    counters_.passthrough["bad_request"]++;
    co_return KisStyle(400, "KISGATE400", "kisgate: the query string has a malformed %-escape");
  }
  gate::KisRequest forwarded{kis::Tr::kPrice, std::move(*query), std::string(request.Header("tr_cont").value_or(""))};
  forwarded.path = path;
  forwarded.tr_id = std::string(tr_id);
  forwarded.method = request.method;
  forwarded.body = request.body;
  for (auto name : {"hashkey", "gt_uid"}) {
    if (auto v = request.Header(name)) forwarded.headers.emplace_back(name, *v);
  }
  const auto flow = ClientFlow(request.remote, 2'000'000);
  auto call = gateway_.Call(std::move(forwarded),
                            gate::CallOptions{*lane, flow, clock_.Now() + config_.gate.default_deadline});
  gate::CallResult result = co_await std::move(call);
  counters_.passthrough[result.ok ? "forwarded" : "forwarded_error"]++;
  if (result.http_status != 0) {
    // KIS answered (successfully or with its own error): hand the reply over as it came.
    http::Response r;
    r.status = result.http_status;
    r.SetHeader("content-type", "application/json; charset=utf-8");
    r.SetHeader("tr_id", std::string(tr_id));
    r.SetHeader("tr_cont", result.tr_cont);
    r.body = std::move(result.body);
    co_return r;
  }
  // No reply from KIS (refused, dropped, timed out, or the gate's deadline): a KIS-style error.
  co_return KisStyle(UpstreamStatus(result.error), result.error.code,
                     fmt::format("kisgate: {}{}", result.error.message,
                                 result.error.hint.empty() ? "" : " (" + result.error.hint + ")"));
}

}  // namespace kisgate::api

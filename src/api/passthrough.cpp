#include "api/passthrough.hpp"

#include <algorithm>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "common/kst.hpp"
#include "http/message.hpp"
#include "kis/quotation_catalogue.hpp"
#include "kis/tr_catalogue.hpp"
#include "views/json_text.hpp"

namespace kisgate::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto kTokenLifetime = std::chrono::hours(24);
// Bounds memory against clients issuing in a loop; one client's loop evicts only its own tokens.
constexpr std::size_t kMaxTokensPerClient = 100;
constexpr std::size_t kMaxTokens = 10'000;

// KIS's header names and content type, exactly as KIS writes them (kis-api.md §3).
constexpr const char* kContentType = "Content-Type";
constexpr const char* kJson = "application/json; charset=UTF-8";

// KIS's quotation error envelope, so a KIS client reads our refusals the way it reads KIS's.
http::Response KisStyle(int status, std::string_view msg_cd, std::string_view message) {
  http::Response r;
  r.status = status;
  r.SetHeader(kContentType, kJson);
  r.body = json::serialize(json::object{
      {"rt_cd", "1"}, {"msg_cd", views::ValidUtf8(msg_cd)}, {"msg1", views::ValidUtf8(message)}});
  return r;
}

// The token endpoint's error shape (kis-api.md §2).
http::Response TokenError(int status, std::string_view code, std::string_view description) {
  http::Response r;
  r.status = status;
  r.SetHeader(kContentType, kJson);
  r.body = json::serialize(
      json::object{{"error_code", code}, {"error_description", views::ValidUtf8(description)}});
  return r;
}

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '/';
}

}  // namespace

NormalisedPath NormalisePassthroughPath(std::string_view raw_path) {
  // A run of slashes as the client wrote it is one ("//uapi/...": a base URL ending in '/' joined
  // with a path starting with one, which KIS serves). An escaped slash ("%2F") is not collapsed:
  // after decoding it is an empty segment, refused below.
  std::string collapsed;
  collapsed.reserve(raw_path.size());
  for (const char c : raw_path) {
    if (c == '/' && !collapsed.empty() && collapsed.back() == '/') continue;
    collapsed += c;
  }
  // Decoded once, by Boost.URL; a '%' left after that was encoded twice.
  auto parsed = boost::urls::parse_origin_form(collapsed);
  if (!parsed) return {std::nullopt, "the path is not a valid URL path (a malformed %-escape?)"};
  std::string path = parsed->path();
  if (!path.starts_with('/')) return {std::nullopt, "the path must start with '/'"};
  if (!std::all_of(path.begin(), path.end(), IsPathChar)) {
    return {std::nullopt,
            "the path has characters KIS paths do not have (after %-decoding: only letters, "
            "digits, '-', '_', '.', '/')"};
  }
  std::string_view rest(path);
  rest.remove_prefix(1);
  while (true) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..") {
      return {std::nullopt,
              "the path is not in canonical form (an empty, '.' or '..' segment after %-decoding)"};
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return {std::move(path), {}};
}

PathDecision CheckPassthroughCall(const config::PassthroughConfig& config, std::string_view method,
                                  std::string_view path, std::string_view tr_id) {
  if (!config.enabled)
    return {false, "the passthrough is disabled in this kisgate (passthrough.enabled = false)"};
  if (config.allow_trading && path.starts_with("/uapi/")) return {true, {}};
  // KIS's read-only APIs (quotations, rankings, finance, KSD information) of every market, each
  // with its own tr_ids only: an account TR on a quotation path is refused too.
  if (const auto* api = kis::QuotationCatalogue::Builtin().FindByPath(path);
      api != nullptr && http::EqualsIgnoreCase(method, api->method)) {
    std::vector<std::string_view> ids{api->tr_id};
    if (!api->tr_id_mock.empty()) ids.emplace_back(api->tr_id_mock);
    ids.insert(ids.end(), api->tr_id_other.begin(), api->tr_id_other.end());
    if (std::any_of(ids.begin(), ids.end(),
                    [&](std::string_view id) { return http::EqualsIgnoreCase(id, tr_id); })) {
      return {true, {}};
    }
    return {false,
            fmt::format("tr_id {} is not the TR of {} ({}): kisgate forwards KIS's read-only APIs "
                        "only with their own tr_ids (passthrough.allow_trading = true lifts this)",
                        tr_id, path, fmt::join(ids, " or "))};
  }
  if (method != "GET") {
    return {false,
            fmt::format("{} {} is refused: kisgate forwards only KIS's read-only calls (set "
                        "passthrough.allow_trading = true to forward orders and account calls)",
                        method, path)};
  }
  if (std::any_of(config.allow_paths.begin(), config.allow_paths.end(),
                  [&](const std::string& prefix) { return path.starts_with(prefix); })) {
    if (kis::IsOrderOrAccountTrId(tr_id)) {
      return {false,
              fmt::format("tr_id {} is an order or account TR: kisgate refuses it on {} unless "
                          "passthrough.allow_trading = true",
                          tr_id, path)};
    }
    return {true, {}};
  }
  if (kis::IsAccountBound(method, path, tr_id)) {
    return {false, fmt::format("{} (tr_id {}) is an order or account call: kisgate refuses them "
                               "unless passthrough.allow_trading = true",
                               path, tr_id)};
  }
  return {false,
          fmt::format("{} is not one of the {} read-only KIS APIs kisgate knows: add its prefix to "
                      "passthrough.allow_paths to forward it",
                      path, kis::QuotationCatalogue::Builtin().All().size())};
}

Service::Passthrough::Passthrough(const config::Config& config, gate::Gateway& gateway,
                                  store::Store* store, const common::Clock& clock,
                                  ApiCounters& counters)
    : config_(config),
      gateway_(gateway),
      store_(store),
      clock_(clock),
      counters_(counters),
      tokens_(kMaxTokensPerClient, kMaxTokens) {}

std::optional<std::string> Service::Passthrough::Authenticate(const http::Request& request,
                                                              std::string& why) const {
  const auto app_key = request.Header("appkey").value_or("");
  const auto app_secret = request.Header("appsecret").value_or("");
  for (const auto& key : config_.keys) {
    if (!app_key.empty() && SecretEquals(app_key, key.app_key) &&
        SecretEquals(app_secret, key.app_secret))
      return key.name;
  }
  auto auth = request.Header("authorization").value_or("");
  if (auth.size() > 7 && http::EqualsIgnoreCase(auth.substr(0, 7), "bearer ")) {
    const auto bearer = auth.substr(7);
    if (const auto* key_name = tokens_.KeyOf(bearer, clock_.WallNow())) return *key_name;
    if (!config_.server.api_token.empty() && SecretEquals(bearer, config_.server.api_token))
      return std::string();
  }
  why =
      app_key.empty()
          ? "send the appkey and appsecret headers of a key configured in kisgate, or a token from "
            "kisgate's /oauth2/tokenP"
          : "the appkey/appsecret pair is not one of kisgate's configured keys";
  return std::nullopt;
}

namespace {

// The body of tokenP and revokeP: JSON with string fields.
struct TokenRequest {
  bool ok = false;
  std::string grant_type, app_key, app_secret, token;
};

TokenRequest ParseTokenRequest(const std::string& text) {
  json::error_code ec;
  auto body = json::parse(text, ec);
  const auto* o = ec ? nullptr : body.if_object();
  if (o == nullptr) return {};
  auto field = [&](std::string_view name) -> std::string {
    const auto* v = o->if_contains(name);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  return {true, field("grant_type"), field("appkey"), field("appsecret"), field("token")};
}

// The configured key an appkey/appsecret pair names, or the token error to answer.
std::variant<const config::KeyConfig*, http::Response> MatchKey(const config::Config& config,
                                                                const TokenRequest& t) {
  const config::KeyConfig* match = nullptr;
  for (const auto& key : config.keys) {
    if (SecretEquals(t.app_key, key.app_key)) match = &key;
  }
  if (match == nullptr) {
    return TokenError(403, "EGW00103",
                      "유효하지 않은 AppKey입니다. (kisgate: not one of the configured keys)");
  }
  if (!SecretEquals(t.app_secret, match->app_secret)) {
    return TokenError(403, "EGW00105",
                      "유효하지 않은 AppSecret입니다. (kisgate: wrong secret for this key)");
  }
  return match;
}

}  // namespace

http::Response Service::Passthrough::IssueToken(const http::Request& request) {
  const auto t = ParseTokenRequest(request.body);
  if (!t.ok || t.grant_type != "client_credentials") {
    counters_.passthrough["token_refused"]++;
    return TokenError(403, "EGW00002",
                      "kisgate: the body must be JSON with grant_type \"client_credentials\", "
                      "appkey and appsecret");
  }
  auto key = MatchKey(config_, t);
  if (auto* refusal = std::get_if<http::Response>(&key)) {
    counters_.passthrough["token_refused"]++;
    return std::move(*refusal);
  }
  const auto now = clock_.WallNow();
  const auto expires = now + kTokenLifetime;
  const auto evicted_before = tokens_.evicted();
  const auto token = tokens_.Issue(std::get<const config::KeyConfig*>(key)->name,
                                   ClientHost(request.remote), now, expires);
  counters_.passthrough["tokens_issued"]++;
  if (tokens_.evicted() != evicted_before)
    counters_.passthrough["tokens_evicted"] += tokens_.evicted() - evicted_before;
  http::Response r;
  r.SetHeader(kContentType, kJson);
  r.body = json::serialize(json::object{
      {"access_token", token},
      {"access_token_token_expired", common::FormatKstDateTime(expires)},
      {"token_type", "Bearer"},
      {"expires_in", std::chrono::duration_cast<std::chrono::seconds>(kTokenLifetime).count()}});
  return r;
}

http::Response Service::Passthrough::RevokeToken(const http::Request& request) {
  const auto t = ParseTokenRequest(request.body);
  if (!t.ok || t.token.empty()) {
    counters_.passthrough["token_refused"]++;
    return TokenError(403, "EGW00002",
                      "kisgate: the body must be JSON with appkey, appsecret and token");
  }
  auto key = MatchKey(config_, t);
  if (auto* refusal = std::get_if<http::Response>(&key)) {
    counters_.passthrough["token_refused"]++;
    return std::move(*refusal);
  }
  // Only kisgate's own passthrough tokens: the real KIS token of the key stays the gateway's.
  const bool revoked = tokens_.Revoke(t.token, std::get<const config::KeyConfig*>(key)->name);
  if (revoked) counters_.passthrough["tokens_revoked"]++;
  http::Response r;
  r.SetHeader(kContentType, kJson);
  r.body = json::serialize(
      json::object{{"code", 200},
                   {"message", revoked ? "접근토큰 폐기에 성공하였습니다"
                                       : "kisgate: no such token is valid (nothing to revoke)"}});
  return r;
}

void Service::Passthrough::Audit(const http::Request& request, std::string_view path,
                                 std::string_view tr_id, const gate::CallResult& result) {
  store::AuditEntry entry;
  entry.at = clock_.WallNow();
  entry.method = request.method;
  entry.path = std::string(path);
  entry.tr_id = std::string(tr_id);
  entry.key_name = result.key_name;
  entry.http_status = result.http_status;
  entry.client = request.remote;
  if (result.http_status != 0) {
    // KIS's envelope and order number (output.ODNO); nothing else of the reply is kept.
    json::error_code ec;
    const auto reply = json::parse(result.body, ec);
    if (const auto* o = ec ? nullptr : reply.if_object()) {
      const auto text = [](const json::object& from, std::string_view name) {
        const auto* v = from.if_contains(name);
        return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
      };
      entry.rt_cd = text(*o, "rt_cd");
      entry.msg_cd = text(*o, "msg_cd");
      if (const auto* output = o->if_contains("output"); output && output->is_object())
        entry.order_no = text(output->get_object(), "ODNO");
    }
  } else {
    entry.error = result.error.code;
  }
  spdlog::info(
      "passthrough: account call {} {} tr_id {} from {} on key '{}': HTTP {} rt_cd '{}' msg_cd "
      "'{}'{}{}",
      entry.method, entry.path, entry.tr_id, entry.client, entry.key_name, entry.http_status,
      entry.rt_cd, entry.msg_cd, entry.order_no.empty() ? "" : " order " + entry.order_no,
      entry.error.empty() ? "" : " error " + entry.error);
  if (store_ != nullptr) store_->WriteAudit(std::move(entry));
}

asio::awaitable<http::Response> Service::Passthrough::Handle(const http::Request& request) {
  auto normalised = NormalisePassthroughPath(request.Path());
  if (normalised.path &&
      (*normalised.path == "/oauth2/tokenP" || *normalised.path == "/oauth2/revokeP") &&
      request.method == "POST") {
    if (!config_.passthrough.enabled) {
      co_return TokenError(403, "EGW00002",
                           "kisgate: the passthrough is disabled (passthrough.enabled = false)");
    }
    co_return *normalised.path == "/oauth2/tokenP" ? IssueToken(request) : RevokeToken(request);
  }
  if (!normalised.path) {
    counters_.passthrough["refused"]++;
    co_return KisStyle(403, "KISGATE403", "kisgate: " + normalised.reason);
  }
  const std::string& path = *normalised.path;
  const auto tr_id = request.Header("tr_id").value_or("");
  if (tr_id.empty() && path.starts_with("/uapi/")) {
    counters_.passthrough["bad_request"]++;
    co_return KisStyle(400, "KISGATE400",
                       "kisgate: the tr_id header is required (KIS routes every call by it)");
  }
  auto decision = CheckPassthroughCall(config_.passthrough, request.method, path, tr_id);
  if (!decision.allowed) {
    counters_.passthrough["refused"]++;
    co_return KisStyle(403, "KISGATE403", "kisgate: " + decision.reason);
  }
  std::string why;
  const auto identity = Authenticate(request, why);
  if (!identity) {
    counters_.passthrough["unauthorized"]++;
    auto r = KisStyle(401, "EGW00121", "유효하지 않은 token 입니다. (kisgate: " + why + ")");
    r.SetHeader("WWW-Authenticate", "Bearer");
    co_return r;
  }
  // An order or account call acts on the account of the key it is sent with: only the key the
  // client proved it holds will do.
  const bool account_bound = kis::IsAccountBound(request.method, path, tr_id);
  if (account_bound && identity->empty()) {
    counters_.passthrough["refused"]++;
    co_return KisStyle(
        403, "KISGATE403",
        fmt::format("kisgate: {} (tr_id {}) is an order or account call, which goes out only on "
                    "the key whose account it is, and this client proved no key (the server's "
                    "api_token names none): get a token from kisgate's POST /oauth2/tokenP with "
                    "that key's appkey and appsecret, or send them as the appkey and appsecret "
                    "headers",
                    path, tr_id));
  }
  if (account_bound) {
    // A client that names one key in its appkey header and holds a token of another: which
    // account it means is unclear, so nothing is sent.
    const auto app_key = request.Header("appkey").value_or("");
    for (const auto& key : config_.keys) {
      if (!app_key.empty() && SecretEquals(app_key, key.app_key) && key.name != *identity) {
        counters_.passthrough["refused"]++;
        co_return KisStyle(
            403, "KISGATE403",
            fmt::format("kisgate: the appkey header names key '{}' but the token was issued for "
                        "key '{}': an order or account call goes out only on one key; send that "
                        "key's token (POST /oauth2/tokenP with its appkey and appsecret)",
                        key.name, *identity));
      }
    }
  }
  const auto lane_header = request.Header("x-kisgate-lane");
  // Account-bound calls go first: the interactive lane whatever the header says.
  const auto lane = account_bound || !lane_header || lane_header->empty()
                        ? std::optional<gate::Lane>(gate::Lane::kInteractive)
                        : gate::ParseLane(*lane_header);
  if (!lane) {
    counters_.passthrough["bad_request"]++;
    co_return KisStyle(400, "KISGATE400",
                       "kisgate: x-kisgate-lane must be interactive, batch or background");
  }
  auto query = http::ParseQuery(request.Query());
  if (!query) {
    counters_.passthrough["bad_request"]++;
    co_return KisStyle(400, "KISGATE400", "kisgate: the query string has a malformed %-escape");
  }
  gate::KisRequest forwarded{kis::Tr::kPrice, std::move(*query),
                             std::string(request.Header("tr_cont").value_or(""))};
  forwarded.path = path;
  forwarded.tr_id = std::string(tr_id);
  forwarded.method = request.method;
  forwarded.body = request.body;
  for (const auto* name : {"hashkey", "gt_uid"}) {
    if (auto v = request.Header(name)) forwarded.headers.emplace_back(name, *v);
  }
  // A client's account calls are a flow of their own: its quotations do not hold them up.
  const auto flow = ClientFlow(request.remote, account_bound ? 3'000'000 : 2'000'000);
  auto call =
      gateway_.Call(std::move(forwarded),
                    gate::CallOptions{*lane, flow, clock_.Now() + config_.gate.default_deadline,
                                      account_bound ? *identity : std::string()});
  gate::CallResult result = co_await std::move(call);
  counters_.passthrough[result.ok ? "forwarded" : "forwarded_error"]++;
  if (account_bound) Audit(request, path, tr_id, result);
  if (result.http_status != 0) {
    // KIS answered (successfully or with its own error): hand the reply over as it came.
    http::Response r;
    r.status = result.http_status;
    r.SetHeader(kContentType, kJson);
    r.SetHeader("tr_id", std::string(tr_id));
    r.SetHeader("tr_cont", result.tr_cont);
    if (!result.gt_uid.empty()) r.SetHeader("gt_uid", result.gt_uid);
    r.body = std::move(result.body);
    co_return r;
  }
  // No reply from KIS (refused, dropped, timed out, or the gate's deadline): a KIS-style error.
  co_return KisStyle(UpstreamStatus(result.error), result.error.code,
                     fmt::format("kisgate: {}{}", result.error.message,
                                 result.error.hint.empty() ? "" : " (" + result.error.hint + ")"));
}

}  // namespace kisgate::api

#include "sim/simulator.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "kis/quotation_catalogue.hpp"
#include "kis/tr_catalogue.hpp"
#include "sim/catalogue_quotation.hpp"
#include "sim/market_model.hpp"
#include "sim/quotations.hpp"
#include "sim/realtime.hpp"
#include "sim/universe.hpp"

namespace kisgate::sim {

namespace json = boost::json;

namespace {

// KIS's messages for the codes the simulator returns (kis-api.md §6). A table, not scattered ifs.
struct KisMessage {
  std::string_view code;
  std::string_view text;
};
constexpr auto kMessages = std::to_array<KisMessage>({
    {"EGW00201", "초당 거래건수를 초과하였습니다."},
    {"EGW00123", "기간이 만료된 token 입니다."},
    {"EGW00121", "유효하지 않은 token 입니다."},
    {"EGW00122", "token을 찾을 수 없습니다."},
    {"EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)"},
    {"EGW00103", "유효하지 않은 AppKey입니다."},
    {"EGW00105", "유효하지 않은 AppSecret입니다."},
    {"EGW00205", "credentials_type이 유효하지 않습니다.(Bearer)"},
    {"EGW00002", "서버 에러가 발생했습니다."},
    {"EGW02004", "실전투자 AppKey로 모의투자 서버에 접근할 수 없습니다."},
    {"EGW02007", "모의투자 AppKey로 실전투자 서버에 접근할 수 없습니다."},
    {"EGW02006", "모의투자 TR 이 아닙니다."},
    // The simulator's reading of an unknown or mismatched tr_id.
    {"OPSQ0002", "없는 서비스 코드 입니다"},
    // The simulator's own codes (KIS documents none) for a path KIS does not serve and for the
    // wrong HTTP method, in the envelope KIS clients read.
    {"SIM00404", "존재하지 않는 API 경로입니다."},
    {"SIM00405", "허용되지 않는 HTTP 메서드입니다."},
});

std::string_view MessageFor(std::string_view code) {
  for (const auto& m : kMessages) {
    if (m.code == code) return m.text;
  }
  return "오류가 발생했습니다.";
}

// Header names are spelt as KIS spells them (kis-api.md §3): `Content-Type` capitalised, its own
// headers (tr_id, tr_cont, gt_uid) in lower case. The official sample client turns every all-lower
// case header name into a Python identifier, so a lower-case `content-type` crashes it.
http::Response JsonResponse(int status, const json::value& body) {
  http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; charset=UTF-8");
  r.body = json::serialize(body);
  return r;
}

// The quotation envelope for a gateway error: HTTP 500, rt_cd "1" (kis-api.md §3).
http::Response GatewayError(std::string_view code, std::string_view message = {},
                            int status = 500) {
  json::object body;
  body["rt_cd"] = "1";
  body["msg_cd"] = code;
  body["msg1"] = message.empty() ? MessageFor(code) : message;
  return JsonResponse(status, body);
}

// The token endpoints' error shape: HTTP 403 with error_code / error_description.
http::Response TokenError(std::string_view code, std::string_view description = {}) {
  json::object body;
  body["error_description"] = description.empty() ? MessageFor(code) : description;
  body["error_code"] = code;
  return JsonResponse(403, body);
}

std::string_view JsonString(const json::object& body, std::string_view name) {
  const auto* v = body.if_contains(name);
  if (v == nullptr || !v->is_string()) return {};
  return v->get_string();
}

std::optional<json::object> ParseJsonObject(std::string_view text) {
  json::error_code ec;
  // Small bodies only reach here (the server bounds them); depth is bounded by the parser default.
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

}  // namespace

Simulator::Simulator(SimOptions options, const common::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      market_clock_(clock, options_.clock, options_.speed),
      universe_(&Universe::Default()),
      tokens_(options_.tokens, clock, options_.seed ^ 0x746f6b656eULL),
      rng_(options_.seed),
      started_(clock.Now()) {
  calendar_ = std::make_unique<common::MarketCalendar>();
  market_ = std::make_unique<MarketModel>(options_.seed, *universe_, *calendar_);
  realtime_ = std::make_unique<Realtime>(
      options_.ws, *market_, *universe_, *calendar_, market_clock_, clock,
      [this](const std::string& approval) { return ApprovalOwner(approval); }, options_.seed);
  for (auto& spec : options_.EffectiveKeys()) {
    double rate = spec.environment == Environment::kMock ? options_.mock_rate : options_.rate;
    auto limit = static_cast<std::size_t>(std::floor(rate));
    keys_.push_back(Key{std::move(spec), RateWindow(options_.window, limit), WindowPeak{}, 0, {}});
  }
}

Simulator::~Simulator() = default;

Simulator::Key* Simulator::FindKey(std::string_view app_key) {
  for (auto& key : keys_) {
    if (key.spec.app_key == app_key) return &key;
  }
  return nullptr;
}

int Simulator::IndexOf(const Key& key) const { return static_cast<int>(&key - keys_.data()); }

bool Simulator::Admit(Key& key) {
  const auto now = clock_.Now();
  key.stats.calls++;
  key.peak.Record(now);
  key.stats.max_calls_in_1s = std::max<std::uint64_t>(key.stats.max_calls_in_1s, key.peak.peak());
  if (!key.window.TryAcquire(now)) {
    key.stats.errors["EGW00201"]++;
    return false;
  }
  return true;
}

std::chrono::milliseconds Simulator::ServiceDelay() {
  if (options_.latency_ms <= 0) return std::chrono::milliseconds(0);
  // Log-normal: most calls near the median, a long tail like a real gateway's.
  std::normal_distribution<double> normal(0.0, 1.0);
  double ms = options_.latency_ms * std::exp(options_.latency_sigma * normal(rng_));
  ms = std::min(ms, options_.latency_max_ms);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::lround(ms)));
}

SimDecision Simulator::Handle(const http::Request& request) {
  std::string_view path = request.Path();
  // KIS serves the doubled slash of clients that join a base URL ending in '/' with a path.
  while (path.starts_with("//")) path.remove_prefix(1);
  SimDecision d;
  // The simulator's own endpoints (not KIS's) take the lock themselves.
  if (path == "/_sim/stats" && request.method == "GET") {
    d.response.status = 200;
    d.response.headers.emplace_back("Content-Type", "application/json");
    d.response.body = StatsJson();
    return d;
  }
  if (path == "/_sim/reset" && request.method == "POST") {
    ResetStats();
    d.response = JsonResponse(200, json::object{{"reset", true}});
    return d;
  }
  if (path == "/healthz") {
    d.response = JsonResponse(200, json::object{{"status", "ok"}});
    return d;
  }
  std::lock_guard lock(mutex_);
  if (path == "/oauth2/tokenP") return HandleToken(request);
  if (path == "/oauth2/revokeP") return HandleRevoke(request);
  if (path == "/oauth2/Approval") return HandleApproval(request);
  if (path.starts_with("/uapi/")) return HandleQuotation(request, path);
  // A path KIS does not have: KIS's envelope, which KIS clients know how to read.
  d.response = GatewayError("SIM00404", fmt::format("{} ({})", MessageFor("SIM00404"), path), 404);
  return d;
}

Simulator::Key* Simulator::OAuthKey(const json::object* body, std::string_view secret_field,
                                    SimDecision& d) {
  if (body == nullptr) {
    unknown_key_calls_++;
    d.response = TokenError("EGW00103", "요청 본문이 올바른 JSON이 아닙니다.");
    return nullptr;
  }
  Key* key = FindKey(JsonString(*body, "appkey"));
  if (key == nullptr) {
    unknown_key_calls_++;
    d.response = TokenError("EGW00103");
    return nullptr;
  }
  if (!Admit(*key)) {
    d.response = GatewayError("EGW00201");
    return nullptr;
  }
  if (JsonString(*body, secret_field) != key->spec.app_secret) {
    key->stats.errors["EGW00105"]++;
    d.response = TokenError("EGW00105");
    return nullptr;
  }
  return key;
}

SimDecision Simulator::HandleToken(const http::Request& request) {
  SimDecision d;
  d.delay = ServiceDelay();
  if (request.method != "POST") {
    d.response = TokenError("SIM00405");
    d.response.status = 405;
    return d;
  }
  auto body = ParseJsonObject(request.body);
  Key* key = OAuthKey(body ? &*body : nullptr, "appsecret", d);
  if (key == nullptr) return d;
  auto fail = [&](std::string_view code) {
    key->stats.errors[std::string(code)]++;
    d.response = TokenError(code);
    return d;
  };
  if (JsonString(*body, "grant_type") != "client_credentials") return fail("EGW00205");
  auto issued = tokens_.Issue(key->spec.app_key);
  if (!issued) return fail("EGW00133");
  (issued->reused ? key->stats.tokens_reused : key->stats.tokens_issued)++;
  key->stats.ok++;
  auto remaining =
      std::chrono::duration_cast<std::chrono::seconds>(issued->expires_at - clock_.WallNow());
  json::object out;
  out["access_token"] = issued->access_token;
  out["access_token_token_expired"] = common::FormatKstDateTime(issued->expires_at);
  out["token_type"] = "Bearer";
  out["expires_in"] = std::max<std::int64_t>(0, remaining.count());
  d.response = JsonResponse(200, out);
  return d;
}

SimDecision Simulator::HandleRevoke(const http::Request& request) {
  SimDecision d;
  d.delay = ServiceDelay();
  auto body = ParseJsonObject(request.body);
  Key* key = OAuthKey(body ? &*body : nullptr, "appsecret", d);
  if (key == nullptr) return d;
  std::string token(JsonString(*body, "token"));
  if (tokens_.Check(token, key->spec.app_key) == TokenCheck::kOtherKey || !tokens_.Revoke(token)) {
    key->stats.errors["EGW00121"]++;
    d.response = TokenError("EGW00121");
    return d;
  }
  key->stats.ok++;
  // `code` is an integer here, unlike everything else KIS sends (kis-api.md §2).
  d.response =
      JsonResponse(200, json::object{{"code", 200}, {"message", "접근토큰 폐기에 성공하였습니다"}});
  return d;
}

SimDecision Simulator::HandleApproval(const http::Request& request) {
  SimDecision d;
  d.delay = ServiceDelay();
  auto body = ParseJsonObject(request.body);
  // The approval endpoint calls the secret "secretkey".
  Key* key = OAuthKey(body ? &*body : nullptr, "secretkey", d);
  if (key == nullptr) return d;
  if (JsonString(*body, "grant_type") != "client_credentials") {
    key->stats.errors["EGW00205"]++;
    d.response = TokenError("EGW00205");
    return d;
  }
  auto approval = tokens_.IssueApprovalKey(key->spec.app_key);
  if (!approval) {
    // Over KIS's 1 per second per key: the gateway's per-second refusal (EGW00201, HTTP 500),
    // since the limit is a per-second one like the call rate (EGW00133 says "once a minute" and
    // belongs to the token endpoint).
    key->stats.errors["EGW00201"]++;
    d.response = GatewayError("EGW00201");
    return d;
  }
  key->stats.ok++;
  key->stats.approval_keys_issued++;
  d.response = JsonResponse(200, json::object{{"approval_key", *approval}});
  return d;
}

std::optional<std::string> Simulator::ApprovalOwner(const std::string& approval_key) const {
  std::lock_guard lock(mutex_);
  return tokens_.ApprovalOwner(approval_key);
}

SimDecision Simulator::HandleQuotation(const http::Request& request, std::string_view path) {
  SimDecision d;
  // kisgate's own TRs, then the ones only clients call (both answered by hand, richly), then
  // every other quotation API of the catalogue (answered from its column types).
  const kis::TrInfo* tr = kis::FindTrByPath(path);
  const ClientTrInfo* client_tr = tr == nullptr ? FindClientTrByPath(path) : nullptr;
  const kis::QuotationApi* api = tr == nullptr && client_tr == nullptr
                                     ? kis::QuotationCatalogue::Builtin().FindByPath(path)
                                     : nullptr;
  if (tr == nullptr && client_tr == nullptr && api == nullptr) {
    d.response =
        GatewayError("SIM00404", fmt::format("{} ({})", MessageFor("SIM00404"), path), 404);
    return d;
  }
  const std::string_view request_tr_id = request.Header("tr_id").value_or("");
  // A catalogued API answers each of its tr_ids (some choose one by market or product).
  const std::string_view tr_id = tr                            ? tr->tr_id
                                 : client_tr                   ? client_tr->tr_id
                                 : api->HasTrId(request_tr_id) ? request_tr_id
                                                               : std::string_view(api->tr_id);
  const bool real_only = tr != nullptr && tr->real_only;
  Key* key = FindKey(request.Header("appkey").value_or(""));
  if (key == nullptr) {
    unknown_key_calls_++;
    d.response = GatewayError("EGW00103");
    return d;
  }
  // Burst rule: a gateway under too many concurrent calls for one key drops the connection
  // before the call is counted (what production saw as "Server disconnected").
  if (options_.max_in_flight_per_key != 0 && key->in_flight >= options_.max_in_flight_per_key) {
    key->stats.calls++;
    key->stats.dropped_over_in_flight++;
    d.drop_connection = true;
    return d;
  }
  d.delay = ServiceDelay();
  d.key_index = IndexOf(*key);
  key->in_flight++;
  key->stats.max_in_flight = std::max<std::uint64_t>(key->stats.max_in_flight, key->in_flight);

  auto fail = [&](std::string_view code) {
    key->stats.errors[std::string(code)]++;
    d.response = GatewayError(code);
    return d;
  };
  if (!Admit(*key)) {
    d.response = GatewayError("EGW00201");
    return d;
  }
  if (request.method != "GET") {
    key->stats.errors["SIM00405"]++;
    d.response = GatewayError("SIM00405", {}, 405);
    return d;
  }
  const bool mock_key = key->spec.environment == Environment::kMock;
  if (options_.host_environment == HostEnvironment::kMock && !mock_key) return fail("EGW02004");
  if (options_.host_environment == HostEnvironment::kReal && mock_key) return fail("EGW02007");
  if (request.Header("appsecret").value_or("") != key->spec.app_secret) return fail("EGW00105");

  auto authorization = request.Header("authorization").value_or("");
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      !http::EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return fail(authorization.empty() ? "EGW00122" : "EGW00205");
  }
  switch (tokens_.Check(std::string(authorization.substr(kBearer.size())), key->spec.app_key)) {
    case TokenCheck::kValid:
      break;
    case TokenCheck::kExpired:
      return fail("EGW00123");
    case TokenCheck::kUnknown:
    case TokenCheck::kOtherKey:
      return fail("EGW00121");
  }
  if (request_tr_id != tr_id) return fail("OPSQ0002");
  if (real_only && mock_key) return fail("EGW02006");

  // Faults, rolled once per call, after the call counted against the key like any other.
  std::uniform_real_distribution<double> dice(0.0, 1.0);
  if (options_.fault_disconnect > 0 && dice(rng_) < options_.fault_disconnect) {
    key->stats.dropped_by_fault++;
    d.drop_connection = true;
    return d;
  }
  if (options_.fault_error > 0 && dice(rng_) < options_.fault_error) return fail("EGW00002");
  if (options_.fault_slow > 0 && dice(rng_) < options_.fault_slow) {
    d.delay += std::chrono::milliseconds(static_cast<std::int64_t>(options_.slow_ms));
  }

  auto params = http::ParseQuery(request.Query());
  if (!params) return fail("OPSQ2002");
  ParamLookup lookup = [&params](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [k, v] : *params) {
      if (http::EqualsIgnoreCase(k, name)) return std::string_view(v);
    }
    return std::nullopt;
  };
  QuotationReply reply =
      tr ? BuildQuotation(*market_, *universe_, tr->tr, lookup, market_clock_.Now())
      : client_tr
          ? BuildClientQuotation(*market_, *universe_, client_tr->tr, lookup, market_clock_.Now())
          : BuildCatalogueQuotation(*api, *market_, *universe_, lookup,
                                    request.Header("tr_cont").value_or(""), market_clock_.Now());
  if (!reply.ok && !reply.business) {
    key->stats.errors[reply.msg_cd]++;
    d.response = GatewayError(reply.msg_cd, reply.msg1);
    return d;
  }
  if (reply.ok) {
    key->stats.ok++;
    d.response = JsonResponse(200, reply.body);
  } else {
    // A business answer (e.g. no such product): HTTP 200, rt_cd "7", the normal headers.
    key->stats.errors[reply.msg_cd]++;
    json::object body;
    body["rt_cd"] = "7";
    body["msg_cd"] = reply.msg_cd;
    body["msg1"] = reply.msg1;
    d.response = JsonResponse(200, body);
  }
  d.response.headers.emplace_back("tr_id", tr_id);
  d.response.headers.emplace_back("tr_cont", reply.tr_cont);
  d.response.headers.emplace_back("gt_uid", fmt::format("SIM{:029d}", key->stats.calls));
  return d;
}

void Simulator::Finish(int key_index) {
  if (key_index < 0) return;
  std::lock_guard lock(mutex_);
  auto& key = keys_.at(static_cast<std::size_t>(key_index));
  if (key.in_flight > 0) key.in_flight--;
}

std::uint64_t Simulator::TotalCalls() const {
  std::lock_guard lock(mutex_);
  std::uint64_t total = unknown_key_calls_;
  for (const auto& key : keys_) total += key.stats.calls;
  return total;
}

KeyStats Simulator::Stats(const std::string& app_key) const {
  std::lock_guard lock(mutex_);
  for (const auto& key : keys_) {
    if (key.spec.app_key == app_key) return key.stats;
  }
  return {};
}

void Simulator::ResetStats() {
  realtime_->ResetStats();
  std::lock_guard lock(mutex_);
  for (auto& key : keys_) {
    key.stats = KeyStats{};
    key.peak.Reset();
  }
  unknown_key_calls_ = 0;
}

void Simulator::SetConnectionStats(ConnectionStatsFn fn) {
  std::lock_guard lock(mutex_);
  connection_stats_ = std::move(fn);
}

std::string Simulator::StatsJson() const {
  // Before the lock: the real-time core takes the simulator's lock under its own, never inside it.
  json::error_code ws_ec;
  auto ws = json::parse(realtime_->StatsJson(), ws_ec);
  std::lock_guard lock(mutex_);
  json::object out;
  if (!ws_ec) out["ws"] = std::move(ws);
  out["uptime_s"] = std::chrono::duration<double>(clock_.Now() - started_).count();
  out["market_time"] = common::FormatKstDateTime(market_clock_.Now());
  out["unknown_key_calls"] = unknown_key_calls_;
  json::array keys;
  for (const auto& key : keys_) {
    const auto& s = key.stats;
    json::object k;
    k["app_key"] = key.spec.app_key;
    k["environment"] = key.spec.environment == Environment::kMock ? "mock" : "real";
    k["rate_limit"] = key.window.limit();
    k["calls"] = s.calls;
    k["ok"] = s.ok;
    json::object errors;
    for (const auto& [code, n] : s.errors) errors[code] = n;
    k["errors"] = std::move(errors);
    k["max_calls_in_1s"] = s.max_calls_in_1s;
    k["in_flight"] = key.in_flight;
    k["max_in_flight"] = s.max_in_flight;
    k["dropped_over_in_flight"] = s.dropped_over_in_flight;
    k["dropped_by_fault"] = s.dropped_by_fault;
    k["tokens_issued"] = s.tokens_issued;
    k["tokens_reused"] = s.tokens_reused;
    k["approval_keys_issued"] = s.approval_keys_issued;
    keys.push_back(std::move(k));
  }
  out["keys"] = std::move(keys);
  if (connection_stats_) {
    json::error_code ec;
    auto connections = json::parse(connection_stats_(), ec);
    if (!ec) out["connections"] = std::move(connections);
  }
  return json::serialize(out);
}

}  // namespace kisgate::sim

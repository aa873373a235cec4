#include "gate/gateway.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/timer.hpp"
#include "gate/key_gate.hpp"
#include "gate/key_pool.hpp"
#include "gate/retry.hpp"
#include "http/client.hpp"
#include "kis/realtime_wire.hpp"
#include "kis/request.hpp"
#include "kis/token_manager.hpp"

namespace kisgate::gate {

namespace asio = boost::asio;

namespace {

// Token issuance is its own flow on the interactive lane: it unblocks every other call.
constexpr FlowId kTokenFlow = ~FlowId{0};

BudgetConfig BudgetFor(const config::KeyConfig& key, const config::GateConfig& gate) {
  BudgetConfig b = BudgetConfigFor(key, gate);
  if (auto problem = b.Validate()) {
    throw std::invalid_argument(fmt::format("kis.keys '{}': {}", key.name, *problem));
  }
  return b;
}

std::vector<Budget> BudgetsFor(const config::Config& config) {
  std::vector<Budget> budgets;
  std::uint64_t seed = 1;
  for (const auto& key : config.keys) budgets.emplace_back(BudgetFor(key, config.gate), seed++);
  return budgets;
}

// How a transport failure reads as a KIS-style classification and as a gate outcome.
std::pair<kis::Classification, Outcome> FromTransport(const http::ClientError& e) {
  const auto kind = http::ToErrc(e.kind);
  switch (e.kind) {
    case http::ClientErrorKind::kBadUrl:
    case http::ClientErrorKind::kResolve:
    case http::ClientErrorKind::kTlsHandshake:
      return {kis::Classification::Own(kind, kis::Action::kFail, e.message,
                                       "check base_url (and ca_file) of this key"),
              Outcome::kConnectionFailure};
    case http::ClientErrorKind::kReplyTooLarge:
      return {kis::Classification::Own(kind, kis::Action::kFail, e.message), Outcome::kOtherError};
    case http::ClientErrorKind::kTimeout:
    case http::ClientErrorKind::kConnectTimeout:
      return {kis::Classification::Own(kind, kis::Action::kRetryWithBackoff, e.message),
              Outcome::kTimeout};
    case http::ClientErrorKind::kConnectRefused:
    case http::ClientErrorKind::kClosedWithoutResponse:
    case http::ClientErrorKind::kProtocol:
      return {kis::Classification::Own(kind, kis::Action::kRetryWithBackoff, e.message),
              Outcome::kConnectionFailure};
  }
  return {kis::Classification::Own(kind, kis::Action::kFail, e.message), Outcome::kOtherError};
}

// What the key's budget learns from a classified reply: KIS's per-second limit slows the key down,
// a transient failure counts against its health; anything else was an answer.
Outcome OutcomeOf(kis::Action action) {
  switch (action) {
    case kis::Action::kRetryLater:
      return Outcome::kRateLimited;
    case kis::Action::kRetryWithBackoff:
      return Outcome::kTransientError;
    case kis::Action::kSuccess:
    case kis::Action::kRefreshToken:
    case kis::Action::kTokenThrottled:
    case kis::Action::kFail:
      return Outcome::kOk;
  }
  return Outcome::kOk;
}

kis::Credentials CredentialsOf(const config::KeyConfig& key) {
  return {key.app_key, key.app_secret};
}

}  // namespace

struct Gateway::Impl : std::enable_shared_from_this<Gateway::Impl> {
  struct Key {
    config::KeyConfig config;
    // Before the gate and the token manager, which use them until they are destroyed.
    std::unique_ptr<KeyShare> share;
    std::unique_ptr<kis::TokenShare> token_share;
    std::unique_ptr<http::HttpClient> http;
    std::unique_ptr<kis::TokenManager> tokens;
    std::unique_ptr<KeyGate> gate;
    RetryBudget retry;
    KeyStats stats;
    std::size_t picked = 0;  // calls routed here that are not queued in its budget yet
  };
  // One upstream call that identical requests share.
  struct Flight {
    Lane lane;
    std::optional<std::pair<std::size_t, CallId>> queued;  // while waiting for admission
    std::vector<common::Timer*> waiters;
    std::optional<CallResult> result;
  };

  asio::any_io_executor executor;
  const common::Clock& clock;
  GatewayOptions options;
  KeyPool pool;
  std::vector<std::unique_ptr<Key>> keys;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights;
  Rng rng;
  std::uint64_t coalesced = 0;
  std::uint64_t retry_budget_exhausted = 0;
  std::uint64_t unshared = 0;

  Impl(asio::any_io_executor ex, const config::Config& config, const common::Clock& c,
       GatewayOptions o)
      : executor(std::move(ex)),
        clock(c),
        options(std::move(o)),
        pool(BudgetsFor(config)),
        rng(options.seed) {
    for (std::size_t i = 0; i < config.keys.size(); ++i) {
      const auto& kc = config.keys[i];
      auto key = std::make_unique<Key>();
      key->config = kc;
      key->stats.name = kc.name;
      http::ClientOptions http_options;
      http_options.max_connections = static_cast<std::size_t>(kc.max_in_flight);
      http_options.ca_file = kc.ca_file;
      try {
        key->http = std::make_unique<http::HttpClient>(executor, kc.base_url, http_options);
      } catch (const std::exception& e) {
        throw std::invalid_argument(fmt::format("kis.keys '{}': {}", kc.name, e.what()));
      }
      key->gate = std::make_unique<KeyGate>(executor, pool.at(i), clock);
      if (options.share_key) key->share = options.share_key(kc);
      if (key->share) key->gate->SetShare(key->share.get(), options.lease);
      kis::TokenManagerOptions token_options;
      token_options.key_name = kc.name;
      token_options.app_key = kc.app_key;
      token_options.environment = kc.environment == config::KisEnvironment::kMock ? "mock" : "real";
      token_options.store_dir = options.token_dir;
      token_options.min_issue_interval = options.token_issue_interval;
      token_options.refresh_ahead = options.token_refresh_ahead;
      Key* raw = key.get();
      key->tokens = std::make_unique<kis::TokenManager>(
          executor, token_options, clock,
          [this, raw](common::SteadyTime deadline) { return IssueToken(*raw, deadline); });
      if (options.share_token) key->token_share = options.share_token(kc);
      if (key->token_share) key->tokens->SetShare(key->token_share.get());
      keys.push_back(std::move(key));
    }
  }

  // The key whose budget can admit a call soonest (KeyPool's rule), counting the calls already
  // routed to each key but not yet queued there, and when each key will have a token.
  // A real-only TR (EGW02006 on the mock host) goes to real keys only, when the pool has one.
  std::size_t PickKey(Lane lane, bool real_only) const {
    const auto now = clock.Now();
    std::size_t best = 0;
    common::SteadyTime best_at = common::SteadyTime::max();
    for (std::size_t k = 0; k < keys.size(); ++k) {
      if (real_only && keys[k]->config.environment != config::KisEnvironment::kReal) continue;
      const Budget& budget = pool.at(k);
      const auto interval = std::chrono::duration_cast<common::Duration>(
          std::chrono::duration<double>(1.0 / std::max(budget.rate(), 0.001)));
      // A key waiting out the token rule cannot take calls before its token comes.
      const auto at =
          std::max(budget.EarliestAdmission(lane, now), keys[k]->tokens->AvailableAt()) +
          interval * static_cast<std::int64_t>(keys[k]->picked);
      if (at < best_at) {
        best_at = at;
        best = k;
      }
    }
    return best;
  }

  // POST /oauth2/tokenP through the key's gate: token calls count in the key's budget.
  asio::awaitable<kis::IssueOutcome> IssueToken(Key& key, common::SteadyTime deadline) {
    // The issuance runs on its own (TokenManager spawns it), not inside a Call holding the gateway.
    auto self = shared_from_this();
    // Coroutine calls with non-trivial arguments are made as separate statements throughout:
    // g++ 12 destroys temporaries inside a co_await expression twice.
    auto acquire = key.gate->Acquire(CallSpec{Lane::kInteractive, kTokenFlow, deadline, false});
    Ticket ticket = co_await std::move(acquire);
    if (!ticket.admitted) {
      co_return kis::Classification::Own(common::Errc::kGateDeadline,
                                         kis::Action::kRetryWithBackoff,
                                         "no budget for a token request before the deadline");
    }
    http::ClientRequest request;
    request.method = "POST";
    request.target = std::string(kis::kTokenPath);
    request.headers = kis::TokenHeaders();
    request.body = kis::TokenBody(CredentialsOf(key.config));
    request.deadline = deadline;
    key.stats.upstream++;
    auto send = key.http->Send(std::move(request));
    http::ClientResult reply = co_await std::move(send);
    if (auto* e = std::get_if<http::ClientError>(&reply)) {
      auto [transport_error, outcome] = FromTransport(*e);
      key.gate->Complete(ticket.id, outcome);
      key.stats.errors[transport_error.code]++;
      co_return transport_error;
    }
    const auto& response = std::get<http::Response>(reply);
    auto outcome = kis::ParseTokenReply(response.status, response.body, clock.WallNow());
    if (auto* c = std::get_if<kis::Classification>(&outcome)) {
      // KIS's per-second limit slows the key down; any other token reply was an answer.
      key.gate->Complete(
          ticket.id, c->action == kis::Action::kRetryLater ? Outcome::kRateLimited : Outcome::kOk);
      key.stats.errors[c->code]++;
    } else {
      key.gate->Complete(ticket.id, Outcome::kOk);
    }
    co_return outcome;
  }

  // POST /oauth2/Approval through the key's gate, once (Gateway::ApprovalKey).
  asio::awaitable<std::variant<std::string, kis::Classification>> Approval(Key& key,
                                                                           CallOptions call) {
    auto self = shared_from_this();
    key.stats.calls++;
    auto acquire = key.gate->Acquire(CallSpec{call.lane, call.flow, call.deadline, false});
    Ticket ticket = co_await std::move(acquire);
    if (!ticket.admitted) {
      key.stats.failed++;
      co_return kis::Classification::Own(
          common::Errc::kGateDeadline, kis::Action::kFail,
          "the approval key's deadline passed while it waited for the key's budget");
    }
    http::ClientRequest request;
    request.method = "POST";
    request.target = std::string(kis::kApprovalPath);
    request.headers = kis::TokenHeaders();
    request.body = kis::ApprovalBody(CredentialsOf(key.config));
    request.deadline = call.deadline;
    key.stats.upstream++;
    auto send = key.http->Send(std::move(request));
    http::ClientResult reply = co_await std::move(send);
    std::variant<std::string, kis::Classification> outcome;
    if (auto* e = std::get_if<http::ClientError>(&reply)) {
      auto [transport_error, gate_outcome] = FromTransport(*e);
      key.gate->Complete(ticket.id, gate_outcome);
      outcome = std::move(transport_error);
    } else {
      const auto& response = std::get<http::Response>(reply);
      kis::Classification c = kis::Classify(response.status, response.body);
      key.gate->Complete(ticket.id, OutcomeOf(c.action));
      if (c.action == kis::Action::kSuccess) {
        outcome = kis::ParseApprovalKey(response.body);
      } else {
        outcome = std::move(c);
      }
    }
    if (auto* c = std::get_if<kis::Classification>(&outcome)) {
      key.stats.errors[c->code]++;
      key.stats.failed++;
    } else {
      key.stats.ok++;
    }
    co_return outcome;
  }

  asio::awaitable<void> Sleep(common::Duration d) {
    common::Timer t(executor, clock.Now() + d);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  static CallResult Fail(CallResult result, kis::Classification c, Key* key) {
    result.ok = false;
    result.error = std::move(c);
    if (key) key->stats.failed++;
    return result;
  }

  asio::awaitable<CallResult> Execute(const KisRequest& request, const CallOptions& call,
                                      std::shared_ptr<Flight> flight) {
    const std::string_view path = kis::PathOf(request);
    const std::string_view tr_id = kis::TrIdOf(request);
    const auto* catalogued = kis::FindTrByPath(path);
    const bool real_only = catalogued != nullptr && catalogued->real_only;
    if (real_only && std::none_of(keys.begin(), keys.end(), [](const auto& key) {
          return key->config.environment == config::KisEnvironment::kReal;
        })) {
      // KIS would answer EGW02006 and the call would cost one of the key's scarce seconds.
      co_return Fail(
          CallResult{},
          kis::Classification::Own(
              common::Errc::kRealOnlyTr, kis::Action::kFail,
              fmt::format("{} is a real-only TR: KIS answers EGW02006 on a mock key", tr_id),
              "add a real key to [[kis.keys]]"),
          nullptr);
    }
    const bool idempotent = request.method == "GET";
    // An account-bound call stays on its key (the account is the key's) and is sent once.
    std::optional<std::size_t> bound;
    if (!call.bound_key.empty()) {
      for (std::size_t k = 0; k < keys.size(); ++k) {
        if (keys[k]->config.name == call.bound_key) bound = k;
      }
      if (!bound) {
        throw std::invalid_argument(fmt::format("no kis.keys entry is named '{}'", call.bound_key));
      }
    }
    const std::string target = kis::TargetOf(request);
    CallResult result;
    bool refreshed = false;
    std::size_t reroutes = 0;
    Key* key = nullptr;
    for (int attempt = 0;; ++attempt) {
      if (clock.Now() >= call.deadline) {
        co_return Fail(std::move(result),
                       kis::Classification::Own(common::Errc::kDeadlineExceeded, kis::Action::kFail,
                                                "the call's deadline passed"),
                       key);
      }
      // A stateless quotation may go to any key: the one that can take it soonest. An
      // account-bound call goes to its own key only.
      const std::size_t k = bound ? *bound : PickKey(flight->lane, real_only);
      key = keys[k].get();
      // Counted as the key's until it is queued there (after the token): calls picked at the same
      // moment must not all see the same empty queue.
      key->picked++;
      struct Unpick {
        explicit Unpick(Key* k) : key(k) {}
        Unpick(const Unpick&) = delete;
        Unpick& operator=(const Unpick&) = delete;
        ~Unpick() { key->picked--; }
        Key* key;
      };
      std::optional<Unpick> unpick(std::in_place, key);
      result.key_name = key->config.name;
      if (attempt == 0) key->stats.calls++;
      // The token first, without holding an in-flight slot (the token call needs one itself).
      auto token = co_await key->tokens->Get(call.deadline);
      if (auto* no_token = std::get_if<kis::Classification>(&token)) {
        // This key cannot have a token for a while (KIS's one-per-minute rule): another key may.
        if (no_token->action == kis::Action::kTokenThrottled && !bound &&
            reroutes + 1 < keys.size()) {
          ++reroutes;
          --attempt;  // not an attempt: nothing was sent
          continue;
        }
        co_return Fail(std::move(result), *no_token, key);
      }
      const std::string access_token = std::get<kis::Token>(token).value;

      auto acquire =
          key->gate->Acquire(CallSpec{flight->lane, call.flow, call.deadline, attempt > 0},
                             [flight, k, &unpick](CallId id) {
                               flight->queued = std::make_pair(k, id);
                               unpick.reset();
                             });
      Ticket ticket = co_await std::move(acquire);
      flight->queued.reset();
      result.gate_wait += ticket.waited;
      if (!ticket.admitted) {
        co_return Fail(std::move(result),
                       kis::Classification::Own(
                           common::Errc::kGateDeadline, kis::Action::kFail,
                           "the call's deadline passed while it waited for the key's budget",
                           "give the call a longer deadline, or reduce the load on this key"),
                       key);
      }
      result.attempts++;
      key->stats.upstream++;
      // The retry budget is a share of the calls sent in its window: counted when sent, not when
      // queued, or a long cycle's calls (all queued at its start) would leave the window empty
      // while they are still going out, and retries with them.
      if (attempt == 0) key->retry.RecordCall(clock.Now());
      key->http->SetMaxConnections(static_cast<std::size_t>(key->gate->budget().in_flight_limit()));
      http::ClientRequest http_request;
      http_request.method = request.method;
      http_request.body = request.body;
      http_request.target = target;
      http_request.headers = kis::HeadersFor(request, CredentialsOf(key->config), access_token);
      http_request.deadline = call.deadline;
      auto send = key->http->Send(std::move(http_request));
      http::ClientResult reply = co_await std::move(send);

      kis::Classification c;
      Outcome outcome = Outcome::kOk;
      // Whether sending it again cannot make KIS act on it twice.
      bool may_resend = idempotent && !bound;
      if (auto* e = std::get_if<http::ClientError>(&reply)) {
        std::tie(c, outcome) = FromTransport(*e);
        if (bound) {
          may_resend = !e->maybe_delivered;
          result.maybe_delivered = e->maybe_delivered;
          if (e->maybe_delivered) {
            c.message += fmt::format(
                ": the {} {} call was sent and no reply came, so KIS may have carried it out; its "
                "fate is unknown and kisgate does not send an order or account call twice (check "
                "the account, e.g. the day's orders, before sending it again)",
                request.method, path);
          }
        }
      } else {
        auto& response = std::get<http::Response>(reply);
        c = kis::Classify(response.status, response.body);
        outcome = OutcomeOf(c.action);
        result.http_status = response.status;
        result.body = std::move(response.body);
        result.tr_cont = std::string(response.Header("tr_cont").value_or(""));
        result.gt_uid = std::string(response.Header("gt_uid").value_or(""));
      }
      key->gate->Complete(ticket.id, outcome);
      if (c.action != kis::Action::kSuccess) key->stats.errors[c.code]++;
      switch (c.action) {
        case kis::Action::kSuccess:
          key->stats.ok++;
          result.ok = true;
          result.error = {};
          co_return result;
        case kis::Action::kRefreshToken:
          if (bound) {
            // KIS refused the token, but the call reached KIS: not sent again. The next call
            // gets a fresh token.
            key->tokens->Invalidate(access_token);
            co_return Fail(std::move(result), c, key);
          }
          if (refreshed) co_return Fail(std::move(result), c, key);
          // The token expired or was revoked: one re-issue, then replay.
          key->tokens->Invalidate(access_token);
          refreshed = true;
          continue;
        case kis::Action::kTokenThrottled:
        case kis::Action::kFail:
          co_return Fail(std::move(result), c, key);
        case kis::Action::kRetryLater:
        case kis::Action::kRetryWithBackoff:
          break;  // retried below, when the call may be and the budgets allow
      }
      if (!may_resend || attempt + 1 >= options.max_attempts) {
        co_return Fail(std::move(result), c, key);
      }
      if (!key->retry.TryConsumeRetry(clock.Now())) {
        retry_budget_exhausted++;
        c.message += " (retry budget exhausted)";
        co_return Fail(std::move(result), c, key);
      }
      // Exponential backoff with full jitter; EGW00201 also put the key in a cooldown, which
      // the next admission honours.
      BackoffConfig backoff;
      backoff.base = std::chrono::duration_cast<common::Duration>(options.backoff_base);
      backoff.cap = std::chrono::duration_cast<common::Duration>(options.backoff_cap);
      const auto delay = Backoff(attempt + 1, rng, backoff);
      if (clock.Now() + delay >= call.deadline) co_return Fail(std::move(result), c, key);
      key->stats.retries++;
      co_await Sleep(delay);
    }
  }

  std::string FlightKey(const KisRequest& r, const CallOptions& options) {
    // A POST is never shared: two orders are two orders; nor is any account-bound call.
    if (r.method != "GET" || !options.bound_key.empty())
      return fmt::format("unshared|{}", ++unshared);
    return fmt::format("{}|{}|{}|{}", kis::PathOf(r), kis::TrIdOf(r), kis::EncodeQuery(r.params),
                       r.tr_cont);
  }

  asio::awaitable<CallResult> Call(KisRequest request, CallOptions options) {
    auto self = shared_from_this();
    // A malformed stock code never costs a call: KIS would only answer OPSQ2002.
    if (auto refused = kis::CheckParams(request)) {
      CallResult bad;
      bad.error = std::move(*refused);
      co_return bad;
    }
    const std::string flight_key = FlightKey(request, options);
    if (auto it = flights.find(flight_key); it != flights.end()) {
      // The same call is already on its way: wait for its result instead of spending budget.
      auto joined = it->second;
      coalesced++;
      if (options.lane < joined->lane) {
        joined->lane = options.lane;
        if (joined->queued)
          keys[joined->queued->first]->gate->Promote(joined->queued->second, options.lane);
      }
      common::Timer wake(executor, options.deadline);
      joined->waiters.push_back(&wake);
      boost::system::error_code wake_ec;
      co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, wake_ec));
      std::erase(joined->waiters, &wake);
      if (joined->result) {
        CallResult shared = *joined->result;
        shared.coalesced = true;
        co_return shared;
      }
      CallResult timed_out;
      timed_out.coalesced = true;
      timed_out.error = kis::Classification::Own(
          common::Errc::kDeadlineExceeded, kis::Action::kFail,
          "the call's deadline passed while it waited for an identical call");
      co_return timed_out;
    }
    auto flight = std::make_shared<Flight>();
    flight->lane = options.lane;
    flights.emplace(flight_key, flight);
    auto execute = Execute(request, options, flight);
    CallResult result = co_await std::move(execute);
    flights.erase(flight_key);
    flight->result = result;
    for (auto* waiter : flight->waiters) waiter->cancel();
    co_return result;
  }
};

Gateway::Gateway(asio::any_io_executor executor, const config::Config& config,
                 const common::Clock& clock, GatewayOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), config, clock, std::move(options))) {}

Gateway::~Gateway() = default;

asio::awaitable<CallResult> Gateway::Call(KisRequest request, CallOptions options) {
  auto impl = impl_;
  auto call = impl->Call(std::move(request), options);
  co_return co_await std::move(call);
}

asio::awaitable<std::variant<std::string, kis::Classification>> Gateway::ApprovalKey(
    std::string key_name, CallOptions options) {
  auto impl = impl_;
  for (auto& key : impl->keys) {
    if (key->config.name != key_name) continue;
    auto approval = impl->Approval(*key, options);
    co_return co_await std::move(approval);
  }
  throw std::invalid_argument(fmt::format("no kis.keys entry is named '{}'", key_name));
}

GatewayStats Gateway::Stats() const {
  GatewayStats s;
  for (std::size_t i = 0; i < impl_->keys.size(); ++i) {
    auto& key = *impl_->keys[i];
    KeyStats k = key.stats;
    k.budget = impl_->pool.at(i).Snapshot(impl_->clock.Now());
    k.tokens_issued = key.tokens->Counters().issued;
    if (auto token = key.tokens->Current()) {
      k.token_valid = token->expires_at > impl_->clock.WallNow();
      k.token_expires_at = token->expires_at;
    }
    s.keys.push_back(std::move(k));
  }
  if (impl_->options.coordination) s.coordination = impl_->options.coordination();
  s.coalesced = impl_->coalesced;
  s.retry_budget_exhausted = impl_->retry_budget_exhausted;
  return s;
}

std::string_view ModeName(CoordinationStats::Mode mode) {
  switch (mode) {
    case CoordinationStats::Mode::kSingle:
      return "single";
    case CoordinationStats::Mode::kShared:
      return "shared";
    case CoordinationStats::Mode::kFallback:
      return "fallback";
  }
  return "single";
}

std::size_t Gateway::key_count() const { return impl_->keys.size(); }

const common::Clock& Gateway::clock() const { return impl_->clock; }

}  // namespace kisgate::gate

#pragma once
// Gateway::Call: the one path every KIS call takes (DESIGN.md "Architecture"). It coalesces
// identical calls in flight, picks an app key from the pool, gets the key's token, waits for the
// key's admission (lanes, rate, in-flight), sends the request on the key's keep-alive pool,
// classifies the reply, feeds the outcome back to the budget, and retries what is retryable
// through the gate again, with backoff, inside the call's deadline and the retry budget.
//
// Thread-safety: one executor (single-threaded io_context); call from it only. Stats() may be read
// from the same executor.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "gate/budget.hpp"
#include "gate/key_share.hpp"
#include "kis/errors.hpp"
#include "kis/request.hpp"
#include "kis/token_share.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::gate {

// What a caller asks KIS for; kis/ builds the HTTP request from it.
using KisRequest = kis::Request;

struct CallOptions {
  Lane lane = Lane::kBatch;
  FlowId flow = 0;  // job or API client, for round-robin inside the lane
  common::SteadyTime deadline;
  // Non-empty: an account-bound call (an order or an account call, kis::IsAccountBound) of the
  // key with this name, whose account it acts on. It goes out on that key only, is never shared
  // with an identical call, and is never sent twice once it may have reached KIS: only a failure
  // before the request was written (a refused connection) is tried again. Call() throws
  // std::invalid_argument when no key has that name.
  std::string bound_key{};
};

struct CallResult {
  bool ok = false;
  int http_status = 0;
  std::string body;           // the KIS reply (JSON) when one arrived
  std::string tr_cont;        // response header
  std::string gt_uid;         // response header: KIS's id of the call, handed on by the passthrough
  kis::Classification error;  // when !ok: code, message, hint
  std::string key_name;       // the key that served it
  int attempts = 0;
  // The request was written and no reply came: KIS may have acted on it (set for account-bound
  // calls, which are then not sent again).
  bool maybe_delivered = false;
  bool coalesced = false;        // shared another caller's upstream call
  common::Duration gate_wait{};  // time spent queued in the gate (all attempts)
};

// Counters per key, for /metrics and /v1/budget.
struct KeyStats {
  std::string name;
  BudgetSnapshot budget;
  std::uint64_t calls = 0;     // Call() requests that used this key
  std::uint64_t upstream = 0;  // HTTP requests sent (retries and token calls included)
  std::uint64_t ok = 0;
  std::uint64_t retries = 0;
  std::uint64_t failed = 0;
  std::map<std::string, std::uint64_t> errors;  // KIS code or transport error -> count
  std::uint64_t tokens_issued = 0;
  bool token_valid = false;
  common::WallTime token_expires_at{};
};

// Several instances on one key (issue 13), for /metrics and /readyz.
struct CoordinationStats {
  enum class Mode { kSingle, kShared, kFallback };
  Mode mode = Mode::kSingle;    // kSingle: no [coordination] section
  std::string instance;         // this instance's name (empty in single mode)
  int instances = 1;            // instances last seen alive, this one included
  std::uint64_t fallbacks = 0;  // times this instance fell back to its local share
  std::string error;            // what an operator must fix (Redis refused the password), or ""
};
std::string_view ModeName(CoordinationStats::Mode mode);

struct GatewayStats {
  std::vector<KeyStats> keys;
  CoordinationStats coordination;
  std::uint64_t coalesced = 0;
  std::uint64_t retry_budget_exhausted = 0;
};

struct GatewayOptions {
  std::filesystem::path token_dir;  // empty: tokens kept in memory only
  int max_attempts = 4;
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{2000};
  std::uint64_t seed = 0;                         // jitter
  std::chrono::seconds token_issue_interval{60};  // KIS: one token request per minute per key
  std::chrono::seconds token_refresh_ahead{3600};

  // Several instances on one key (issue 13); each may be empty (this instance alone). Called once
  // per key while the Gateway is built; what they return lives as long as the Gateway.
  std::function<std::unique_ptr<KeyShare>(const config::KeyConfig&)> share_key;
  std::function<std::unique_ptr<kis::TokenShare>(const config::KeyConfig&)> share_token;
  std::function<CoordinationStats()> coordination;
  // How long a call's shared in-flight lease outlives an instance that died with it in flight.
  common::Duration lease = std::chrono::seconds(10);
};

class Gateway {
 public:
  // Throws std::invalid_argument naming the key when a key's settings cannot work (bad URL, CA).
  Gateway(boost::asio::any_io_executor executor, const config::Config& config,
          const common::Clock& clock, GatewayOptions options = {});
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  boost::asio::awaitable<CallResult> Call(KisRequest request, CallOptions options);

  // POST /oauth2/Approval for the key named `key_name` (kis-api.md §8): the approval key of one
  // KIS WebSocket connection, asked once per connection. Admitted by that key's budget like any
  // call (it counts against the key's rate), sent once and never retried here (the session's
  // reconnect backs off), its reply classified like every other. Throws std::invalid_argument
  // when no key has that name.
  boost::asio::awaitable<std::variant<std::string, kis::Classification>> ApprovalKey(
      std::string key_name, CallOptions options);

  GatewayStats Stats() const;
  std::size_t key_count() const;
  // The clock the gateway was given: its calls' deadlines are in its time.
  const common::Clock& clock() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kisgate::gate

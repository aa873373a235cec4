#pragma once
// One app key's access token (kis-api.md §2): issued only when needed, persisted per (environment,
// app key) in the data directory with mode 0600 and reused across restarts and processes, issued
// by one caller while the others wait (single flight) and with its own deadline (a caller in a
// hurry does not doom it), never requested more often than KIS allows
// (an EGW00133 reply means wait and keep the cached token), refreshed ahead of expiry, and
// re-issued once when KIS says the token is expired or invalid.
//
// The issuance call itself is injected (IssueFn), so the wiring sends it through the key's gate
// (token calls count in the budget) and tests drive it without a network.
//
// Thread-safety: one executor; call from it only.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "kis/errors.hpp"
#include "kis/token_share.hpp"

namespace kisgate::kis {

struct Token {
  std::string value;
  common::WallTime expires_at;
};

// What one call to POST /oauth2/tokenP produced: a token, or why not.
using IssueOutcome = std::variant<Token, Classification>;
using IssueFn = std::function<boost::asio::awaitable<IssueOutcome>(common::SteadyTime deadline)>;

// Reads a POST /oauth2/tokenP reply: the token and its expiry (access_token_token_expired, KST;
// expires_in as a fallback), or the classified error.
IssueOutcome ParseTokenReply(int http_status, std::string_view body, common::WallTime now);

struct TokenManagerOptions {
  std::string key_name;             // for messages ("main")
  std::string app_key;              // identifies the token file (hashed, never written in clear)
  std::string environment;          // "real" or "mock"
  std::filesystem::path store_dir;  // empty: keep the token in memory only
  std::chrono::seconds min_issue_interval{60};
  std::chrono::seconds refresh_ahead{3600};  // re-issue when less than this is left
  // An issuance's own deadline, whoever triggered it: callers wait for it up to their own.
  std::chrono::seconds issue_timeout{30};
  // After a token request that never reached KIS (refused connection, no gate budget), the next
  // may go after this rather than after min_issue_interval.
  std::chrono::seconds unsent_retry_after{5};
};

struct TokenCounters {
  std::uint64_t issued = 0;  // successful issuance calls
  std::uint64_t loaded_from_disk = 0;
  std::uint64_t throttled = 0;      // EGW00133 replies
  std::uint64_t failures = 0;       // other failed issuance calls
  std::uint64_t invalidations = 0;  // EGW00121/123 reported by callers
  std::uint64_t adopted = 0;        // tokens another instance issued, read from the share
};

class TokenManager {
 public:
  TokenManager(boost::asio::any_io_executor executor, TokenManagerOptions options,
               const common::Clock& clock, IssueFn issue);
  ~TokenManager();

  // Several instances on one key (issue 13): the token comes from `share` when another instance
  // published one; otherwise the one instance that gets the right to issue asks KIS and publishes
  // it, while the others wait and read it. Unreachable share: this instance issues on its own
  // (the token file's rules). Before any Get; `share` outlives the manager.
  void SetShare(TokenShare* share);

  // A valid token, or the reason there is none before `deadline`.
  boost::asio::awaitable<std::variant<Token, Classification>> Get(common::SteadyTime deadline);

  // A caller got EGW00121/EGW00123 with `token`: forget it, so the next Get re-issues. A stale
  // report about an older token is ignored (the replay then uses the newer one).
  void Invalidate(const std::string& token);

  // When a call could get a token: now while one is usable, else when the next issuance is
  // allowed. Lets a key pool route around a key that is waiting out KIS's one-per-minute rule.
  common::SteadyTime AvailableAt() const;

  TokenCounters Counters() const;
  std::optional<Token> Current() const;
  std::filesystem::path StorePath() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kisgate::kis

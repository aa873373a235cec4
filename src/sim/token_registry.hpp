#pragma once
// KIS access-token rules as the simulator enforces them (kis-api.md §2): a token lives `ttl`; a new
// request within `reuse_window` of the last issuance returns the same token and expiry; requests
// closer together than `issue_interval` are refused (EGW00133). WebSocket approval keys are bound
// to the app key they were issued to, at most one per `approval_interval` per app key.
//
// Thread-safety: none; the Simulator serialises access.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"

namespace kisgate::sim {

struct TokenRules {
  std::chrono::seconds ttl{24 * 3600};
  std::chrono::seconds reuse_window{6 * 3600};
  std::chrono::seconds issue_interval{60};
  // KIS's 2026 notice: approval keys at most 1 per second per app key.
  std::chrono::milliseconds approval_interval{1000};
};

struct IssuedToken {
  std::string access_token;
  common::WallTime expires_at;  // what the client is told
  bool reused = false;          // the same token as the previous issuance
};

enum class TokenCheck { kValid, kUnknown, kExpired, kOtherKey };

class TokenRegistry {
 public:
  TokenRegistry(TokenRules rules, const common::Clock& clock, std::uint64_t seed)
      : rules_(rules), clock_(clock), rng_(seed) {}

  // nullopt when the key asked again within the issuance interval (EGW00133).
  std::optional<IssuedToken> Issue(const std::string& app_key);
  TokenCheck Check(const std::string& token, const std::string& app_key) const;
  bool Revoke(const std::string& token);
  // A fresh WebSocket approval key bound to `app_key`; nullopt when that key got one less than
  // `approval_interval` ago. The last kApprovalKeysKept keys of each app key stay valid.
  std::optional<std::string> IssueApprovalKey(const std::string& app_key);
  // The app key an approval key was issued to; nullopt for a key never issued (or forgotten).
  std::optional<std::string> ApprovalOwner(const std::string& approval_key) const;
  static constexpr std::size_t kApprovalKeysKept = 64;

  const TokenRules& rules() const { return rules_; }

 private:
  struct KeyState {
    std::optional<common::SteadyTime> last_request;
    std::string token;  // the current token, empty if none
    common::SteadyTime issued_at{};
    std::optional<common::SteadyTime> last_approval;
    std::deque<std::string> approval_keys;  // oldest first, at most kApprovalKeysKept
  };
  struct TokenState {
    std::string app_key;
    common::SteadyTime expires_at;
  };
  std::string RandomToken();
  std::string RandomApprovalKey();

  TokenRules rules_;
  const common::Clock& clock_;
  std::mt19937_64 rng_;
  std::unordered_map<std::string, KeyState> keys_;
  std::unordered_map<std::string, TokenState> tokens_;
  std::unordered_map<std::string, std::string> approval_owner_;  // approval key -> app key
};

}  // namespace kisgate::sim

#include "sim/token_registry.hpp"

#include <fmt/format.h>

namespace kisgate::sim {

namespace {
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}

std::string TokenRegistry::RandomToken() {
  // Shaped like KIS's tokens (a ~350-character JWT: header.payload.signature) so that clients which
  // store or log them see realistic sizes. Only the simulator ever reads them.
  std::string token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzUxMiJ9.";
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  for (int i = 0; i < 226; ++i) token.push_back(kAlphabet[pick(rng_)]);
  token.push_back('.');
  for (int i = 0; i < 86; ++i) token.push_back(kAlphabet[pick(rng_)]);
  return token;
}

std::optional<IssuedToken> TokenRegistry::Issue(const std::string& app_key) {
  const auto now = clock_.Now();
  const auto wall_now = clock_.WallNow();
  KeyState& key = keys_[app_key];
  if (key.last_request && now - *key.last_request < rules_.issue_interval) return std::nullopt;
  key.last_request = now;

  if (!key.token.empty()) {
    auto it = tokens_.find(key.token);
    if (it != tokens_.end() && now - key.issued_at < rules_.reuse_window &&
        now < it->second.expires_at) {
      auto remaining = it->second.expires_at - now;
      return IssuedToken{
          key.token, wall_now + std::chrono::duration_cast<common::WallTime::duration>(remaining),
          true};
    }
  }
  key.token = RandomToken();
  key.issued_at = now;
  tokens_[key.token] = TokenState{app_key, now + rules_.ttl};
  return IssuedToken{key.token, wall_now + rules_.ttl, false};
}

TokenCheck TokenRegistry::Check(const std::string& token, const std::string& app_key) const {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return TokenCheck::kUnknown;
  if (it->second.app_key != app_key) return TokenCheck::kOtherKey;
  if (clock_.Now() >= it->second.expires_at) return TokenCheck::kExpired;
  return TokenCheck::kValid;
}

bool TokenRegistry::Revoke(const std::string& token) {
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return false;
  auto key = keys_.find(it->second.app_key);
  if (key != keys_.end() && key->second.token == token) key->second.token.clear();
  tokens_.erase(it);
  return true;
}

std::optional<std::string> TokenRegistry::IssueApprovalKey(const std::string& app_key) {
  const auto now = clock_.Now();
  KeyState& key = keys_[app_key];
  if (key.last_approval && now - *key.last_approval < rules_.approval_interval) return std::nullopt;
  key.last_approval = now;
  std::string approval = RandomApprovalKey();
  approval_owner_[approval] = app_key;
  key.approval_keys.push_back(approval);
  // Bounded: a client that asks every second keeps only its recent keys valid.
  if (key.approval_keys.size() > kApprovalKeysKept) {
    approval_owner_.erase(key.approval_keys.front());
    key.approval_keys.pop_front();
  }
  return approval;
}

std::optional<std::string> TokenRegistry::ApprovalOwner(const std::string& approval_key) const {
  auto it = approval_owner_.find(approval_key);
  if (it == approval_owner_.end()) return std::nullopt;
  return it->second;
}

std::string TokenRegistry::RandomApprovalKey() {
  std::uniform_int_distribution<int> hex(0, 15);
  std::string key;
  for (int i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      key.push_back('-');
    } else {
      key.push_back("0123456789abcdef"[hex(rng_)]);
    }
  }
  return key;
}

}  // namespace kisgate::sim

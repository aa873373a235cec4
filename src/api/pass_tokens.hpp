#pragma once
// The passthrough's own access tokens (what kisgate's /oauth2/tokenP hands to KIS clients; the
// real KIS token stays inside the gateway). Owns, per token: the configured key it was issued
// for, the client that asked (its peer host) and its expiry.
//
// Memory is bounded and eviction fair: each client holds at most `per_client` tokens (its own
// oldest goes first), and the whole store at most `total` (the oldest issued goes first), so one
// client issuing in a loop evicts only its own tokens until the store is full of other clients'.
// Thread-safety: none; the service's io thread only.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/clock.hpp"

namespace kisgate::api {

class PassTokens {
 public:
  PassTokens(std::size_t per_client, std::size_t total) : per_client_(per_client), total_(total) {}

  // A fresh random token for `key_name`, asked by `client`, valid until `expires`.
  std::string Issue(std::string_view key_name, std::string_view client, common::WallTime now,
                    common::WallTime expires);
  // Whether `token` was issued here and is still valid at `now`.
  bool Valid(std::string_view token, common::WallTime now) const;
  // The key `token` was issued for, when it was issued here and is still valid at `now`; else null.
  const std::string* KeyOf(std::string_view token, common::WallTime now) const;
  // Removes `token` if it was issued for `key_name`; true when it was.
  bool Revoke(std::string_view token, std::string_view key_name);

  std::size_t size() const { return tokens_.size(); }
  std::uint64_t evicted() const { return evicted_; }

 private:
  struct Entry {
    std::string key_name;
    std::string client;
    common::WallTime expires;
    std::uint64_t seq;
  };
  void Erase(const std::string& token);

  std::size_t per_client_;
  std::size_t total_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t evicted_ = 0;
  std::unordered_map<std::string, Entry> tokens_;
  std::map<std::uint64_t, std::string> by_age_;  // issue order -> token
  std::map<std::pair<std::string, std::uint64_t>, std::string>
      by_client_;  // (client, order) -> token
  std::unordered_map<std::string, std::size_t> per_client_count_;
};

}  // namespace kisgate::api

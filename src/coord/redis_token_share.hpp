#pragma once
// kis::TokenShare over Redis: the app key's token, published by the instance that issued it, and
// the right to issue, held by one instance per KIS issue interval.
//
//   <prefix>:{<key_id>}:token        {"value": "...", "expires_at": <Unix ms>}, expiring with it
//   <prefix>:{<key_id>}:token-right  the instance holding the right (SET NX PX hold)
//
// Thread-safety: the coordinator's executor.

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "kis/token_share.hpp"

namespace kisgate::coord {

class Coordinator;

class RedisTokenShare final : public kis::TokenShare {
 public:
  RedisTokenShare(Coordinator& coordinator, std::string key_id);

  boost::asio::awaitable<std::optional<kis::Token>> Read() override;
  boost::asio::awaitable<std::optional<bool>> TryIssueRight(common::Duration hold) override;
  boost::asio::awaitable<void> Publish(const kis::Token& token) override;
  void Withdraw(const std::string& token) override;
  const std::string& key_id() const { return key_id_; }

 private:
  Coordinator& coordinator_;
  std::weak_ptr<const bool> coordinator_life_;  // expired: fire-and-forget calls do nothing
  std::string key_id_;
  std::string token_key_;
  std::string right_key_;
};

}  // namespace kisgate::coord

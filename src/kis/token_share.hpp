#pragma once
// One app key's access token shared by every kisgate instance that uses the key (issue 13): one
// token per key for all of them, issued by exactly one instance at a time, at most once per
// KIS's issue interval across instances. Implemented over Redis by coord::; absent (null) in
// single-instance mode, where the token file is the only store.
//
// Thread-safety: the token manager's executor.

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"

namespace kisgate::kis {

struct Token;

class TokenShare {
 public:
  virtual ~TokenShare() = default;

  // The token some instance published for the key, if it has not expired. nullopt also when the
  // shared store cannot be reached.
  virtual boost::asio::awaitable<std::optional<Token>> Read() = 0;
  // Asks for the right to issue a token now: true for exactly one instance per `hold` (KIS's
  // one-per-minute rule across instances; the right is not given back early). nullopt: the store
  // cannot be reached (the caller falls back to its own rules).
  virtual boost::asio::awaitable<std::optional<bool>> TryIssueRight(common::Duration hold) = 0;
  // Makes `token` the key's token for every instance, until it expires.
  virtual boost::asio::awaitable<void> Publish(const Token& token) = 0;
  // A caller was told `token` is invalid (EGW00121/123): forget it for every instance, if it is
  // still the published one.
  virtual void Withdraw(const std::string& token) = 0;
};

}  // namespace kisgate::kis

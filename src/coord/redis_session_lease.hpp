#pragma once
// stream::SessionLease over Redis (issue 14 item 2): exactly one kisgate instance holds an app
// key's KIS WebSocket session at a time, since KIS allows one session per key and answers a second
// with OPSP8996.
//
//   <prefix>:{<key_id>}:ws-session   "<instance>/<nonce>" of the holder, expiring after `ttl`
//
// Acquire takes the lease when it is free (SET NX PX) or renews it when this lease object holds it
// (compare the value, then PEXPIRE), in one Lua script: one round trip, and the answer that
// refuses the lease names the holder. The nonce tells this object from another process configured
// with the same instance name. Release deletes the key only while it is still ours (compare and
// DEL). A holder that dies stops renewing: its lease expires after `ttl` and the next Acquire
// elsewhere takes it.
//
// The holder calls Acquire again well within `ttl` (every ttl / 3, say) while connected, and
// disconnects when it returns false.
//
// Redis away (a failed or late command, or the coordinator in fallback): the holder keeps the
// lease (Acquire returns true) for as long as Redis is away, and renews it at the first answer: it
// holds KIS's single session, and nobody else may take the lease meanwhile (Acquire returns false
// to an instance that did not hold it: without Redis nobody can know that the slot is free, and a
// second session would only earn OPSP8996). When Redis answers that another instance took the
// lease meanwhile (its key expired where the others could still reach it), the holder gives the
// session up. For one TTL (and a heartbeat) after Redis answers again, an instance that did not
// hold the lease does not take it, even free (a restarted Redis lost it): the holder that kept
// the session takes it back first. So a Redis outage costs no real-time data.
//
// Thread-safety: the coordinator's executor. The coordinator outlives the lease.

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "stream/subscription.hpp"

namespace kisgate::coord {

class Coordinator;

struct RedisSessionLeaseOptions {
  // The lease's life without renewal; the session renews it every stream::kSessionLeaseRenew.
  std::chrono::milliseconds ttl = stream::kSessionLeaseTtl;
};

struct RedisSessionLeaseStats {
  std::uint64_t taken = 0;     // Acquire that took a free lease
  std::uint64_t renewed = 0;   // Acquire that renewed ours
  std::uint64_t refused = 0;   // Acquire that found another holder
  std::uint64_t failures = 0;  // Acquire that could not ask Redis
};

class RedisSessionLease final : public stream::SessionLease {
 public:
  // `key_id`: Coordinator::KeyId of the app key.
  RedisSessionLease(Coordinator& coordinator, const std::string& key_id,
                    RedisSessionLeaseOptions options = {});

  boost::asio::awaitable<bool> Acquire() override;
  boost::asio::awaitable<void> Release() override;
  std::string Holder() const override { return holder_; }

  const std::string& key() const { return key_; }
  const RedisSessionLeaseStats& stats() const { return stats_; }

 private:
  Coordinator& coordinator_;
  std::string key_;
  std::string value_;  // "<instance>/<nonce>"
  RedisSessionLeaseOptions options_;
  bool held_ = false;
  common::SteadyTime held_until_{};  // local: the send time of the last successful Acquire + ttl
  bool away_logged_ = false;         // kept past the TTL without Redis: logged once
  std::string holder_;
  RedisSessionLeaseStats stats_;
};

}  // namespace kisgate::coord

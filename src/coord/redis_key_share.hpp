#pragma once
// gate::KeyShare over Redis: one app key's rate slots (GCRA), in-flight leases and cooldown, kept
// in three Redis keys and changed by one Lua script per Reserve, on Redis's own clock (TIME), so
// that every instance draws from one schedule whatever their clocks say.
//
//   <prefix>:{<key_id>}:tat       the GCRA's theoretical arrival time (µs of Redis time); when it
//                                 is lost (FLUSHALL) while in use, the schedule goes on after the
//                                 slots the instances may still hold, not at once
//   <prefix>:{<key_id>}:inflight  ZSET lease ("<instance>:<call>") -> expiry (µs of Redis time)
//   <prefix>:{<key_id>}:cooldown  present while the key cools down (PX = what is left)
// Each expires by itself when the key is idle.
//
// Thread-safety: the coordinator's executor.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "gate/key_share.hpp"

namespace kisgate::coord {

class Coordinator;

// A Reserve's answer with the times Redis computed it at, for tests and benchmarks.
struct SharedGrant {
  gate::SlotGrant grant;
  std::int64_t now_us = 0;   // Redis's TIME when the script ran
  std::int64_t slot_us = 0;  // kGranted: the slot's time (now_us + the wait); else 0
};

class RedisKeyShare final : public gate::KeyShare {
 public:
  RedisKeyShare(Coordinator& coordinator, std::string key_id);

  // Reserve with the Redis times of the grant. nullopt as Reserve.
  boost::asio::awaitable<std::optional<SharedGrant>> ReserveSlot(std::string call,
                                                                 common::Duration interval,
                                                                 int in_flight_cap,
                                                                 common::Duration lease);

  boost::asio::awaitable<std::optional<gate::SlotGrant>> Reserve(std::string call,
                                                                 common::Duration interval,
                                                                 int in_flight_cap,
                                                                 common::Duration lease) override;
  void Release(std::string call) override;
  void CoolDown(common::Duration duration) override;
  bool Shared() const override;
  double FallbackShare() const override;
  common::SteadyTime FallbackFrom() const override;
  const std::string& key_id() const { return key_id_; }

  // A kInFlightFull answer waits until the earliest lease ends, at most this long.
  static constexpr std::chrono::milliseconds kMaxFullWait{100};

 private:
  Coordinator& coordinator_;
  std::weak_ptr<const bool> coordinator_life_;  // expired: fire-and-forget calls do nothing
  std::string key_id_;
  std::string tat_key_;
  std::string inflight_key_;
  std::string cooldown_key_;
  std::int64_t last_tat_us_ = 0;  // the latest tat a grant showed (for a tat Redis lost)
};

}  // namespace kisgate::coord

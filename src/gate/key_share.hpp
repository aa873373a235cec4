#pragma once
// One app key's budget shared with the other kisgate instances that use the key (issue 13): the
// key's rate slots, its in-flight count and its cooldown live in a store every instance reaches
// (Redis: coord::), while lanes and priorities are still decided in each instance by its Budget.
// Absent (null) in single-instance mode.
//
// The gate takes one slot at a time per key: it asks Reserve() when its Budget has a call that
// only waits for a rate slot, waits the grant's delay, and then lets the Budget admit the highest
// call queued at that moment. So no instance holds more than one future slot of a key, and the
// order of the calls at KIS is the shared schedule's.
//
// Thread-safety: the gate's executor.

#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"

namespace kisgate::gate {

struct SlotGrant {
  enum class Status {
    kGranted,       // a rate slot and an in-flight lease are this instance's
    kInFlightFull,  // the key's calls in flight across instances are at the cap
    kCoolingDown,   // an instance saw EGW00201 and the key pauses
  };
  Status status = Status::kGranted;
  // kGranted: dispatch this long from now (the slot's place in the key's shared schedule, which is
  // spaced `interval` apart whoever took the slots). Otherwise: ask again after this long.
  common::Duration wait{};
};

class KeyShare {
 public:
  virtual ~KeyShare() = default;

  // Takes the key's next rate slot, at least `interval` after the previous slot any instance
  // took, and an in-flight lease named `call` that expires after `lease` unless Released (so a
  // killed instance's leases come back by themselves), when fewer than `in_flight_cap` leases are
  // held. nullopt: the shared store is unreachable or answered slower than its limit; the caller
  // then uses its local fallback budget (FallbackShare).
  virtual boost::asio::awaitable<std::optional<SlotGrant>> Reserve(std::string call,
                                                                   common::Duration interval,
                                                                   int in_flight_cap,
                                                                   common::Duration lease) = 0;
  // `call`'s in-flight lease ends. Fire and forget.
  virtual void Release(std::string call) = 0;
  // The key got EGW00201: every instance pauses it for `duration`. Fire and forget.
  virtual void CoolDown(common::Duration duration) = 0;

  // True while the shared store answers in time; false while this instance falls back.
  virtual bool Shared() const = 0;
  // While falling back, the share of the key's rate this instance uses alone: 1 / the number of
  // instances last seen alive (never the whole rate when others were seen).
  virtual double FallbackShare() const = 0;
  // While falling back, no call on the fallback share before this time: until then the shared
  // schedule may still count on this instance being in shared mode (it spends the whole rate).
  virtual common::SteadyTime FallbackFrom() const { return {}; }
};

}  // namespace kisgate::gate

#pragma once
// The asynchronous face of one key's Budget: a caller co_awaits Acquire() and resumes when the
// budget admits its call (or its deadline passes while queued); Complete() reports the outcome.
// One common::Timer follows the budget's next_poll, so waiting costs no thread and no polling loop.
//
// With a KeyShare (several instances on one key, issue 13) the budget runs on external pacing: the
// gate asks the share for one slot of the key's shared schedule at a time, when the budget has a
// call that waits only for a slot, hands the slot to the budget at its time, and gives the slot's
// in-flight lease back when the call that used it completes. While the share is unreachable the
// budget runs its own schedule at the share's FallbackShare() of the rate, from FallbackFrom() on
// (before, the shared schedule may still count on this instance); back in shared mode the
// gate takes no shared slot for one second (kRejoinQuiet), so calls it sent alone in the second
// before never crowd the shared schedule's.
//
// Thread-safety: one executor (a single-threaded io_context or a strand); call from it only.

#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "common/timer.hpp"
#include "gate/budget.hpp"
#include "gate/key_share.hpp"

namespace kisgate::gate {

struct Ticket {
  bool admitted = false;  // false: the deadline passed while queued; no budget was spent
  CallId id = 0;
  common::Duration waited{};
};

class KeyGate {
 public:
  // `clock` must be the clock common::Timer follows: SystemClock in production, the ManualClock of
  // the test's common::ManualTimeScope in tests.
  KeyGate(const boost::asio::any_io_executor& executor, Budget& budget, const common::Clock& clock);
  KeyGate(const KeyGate&) = delete;
  KeyGate& operator=(const KeyGate&) = delete;

  // Queues a call and waits for admission. `on_queued`, if given, receives the call's id as soon
  // as it is queued (so a joining request can promote it).
  boost::asio::awaitable<Ticket> Acquire(CallSpec spec,
                                         std::function<void(CallId)> on_queued = nullptr);
  // Reports how an admitted call ended; frees its in-flight slot.
  void Complete(CallId id, Outcome outcome);
  bool Promote(CallId id, Lane lane);

  // Shares the key's budget with other instances (null: this instance alone). `lease`: how long a
  // call's in-flight lease outlives an instance that dies with the call in flight. Before any
  // Acquire; `share` outlives this gate.
  void SetShare(KeyShare* share, common::Duration lease);
  static constexpr common::Duration kRejoinQuiet = std::chrono::seconds(1);

  Budget& budget() { return budget_; }
  const Budget& budget() const { return budget_; }

 private:
  struct Waiter {
    common::Timer* wake;
    std::optional<bool> admitted;
  };
  void Pump();
  void Arm(std::optional<common::SteadyTime> at);  // Pump at `at` (nullopt: not at all)
  void SyncMode(common::SteadyTime now);
  void ReleaseLease(CallId id);
  boost::asio::awaitable<void> Reserve();

  boost::asio::any_io_executor executor_;
  Budget& budget_;
  const common::Clock& clock_;
  common::Timer timer_;
  std::optional<common::SteadyTime> armed_for_;
  // Shared with the waiting coroutines, whose frames may outlive this object at shutdown.
  std::shared_ptr<std::unordered_map<CallId, Waiter*>> waiting_ =
      std::make_shared<std::unordered_map<CallId, Waiter*>>();

  // Shared mode (see the top of this file).
  KeyShare* share_ = nullptr;
  common::Duration lease_{};
  bool reserving_ = false;                          // a Reserve() is running
  std::optional<std::string> slot_lease_;           // the lease of the slot the budget holds
  std::unordered_map<CallId, std::string> leases_;  // admitted calls' in-flight leases
  common::SteadyTime quiet_until_{};                // no shared slot before this (after a fallback)
  std::uint64_t lease_seq_ = 0;
  std::string lease_prefix_;
  // Cleared by the destructor, so a Reserve() resuming after it touches nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  ~KeyGate();
};

}  // namespace kisgate::gate

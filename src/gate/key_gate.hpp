#pragma once
// The asynchronous face of one key's Budget: a caller co_awaits Acquire() and resumes when the
// budget admits its call (or its deadline passes while queued); Complete() reports the outcome.
// One common::Timer follows the budget's next_poll, so waiting costs no thread and no polling loop.
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

  Budget& budget() { return budget_; }
  const Budget& budget() const { return budget_; }

 private:
  struct Waiter {
    common::Timer* wake;
    std::optional<bool> admitted;
  };
  void Pump();

  boost::asio::any_io_executor executor_;
  Budget& budget_;
  const common::Clock& clock_;
  common::Timer timer_;
  std::optional<common::SteadyTime> armed_for_;
  // Shared with the waiting coroutines, whose frames may outlive this object at shutdown.
  std::shared_ptr<std::unordered_map<CallId, Waiter*>> waiting_ =
      std::make_shared<std::unordered_map<CallId, Waiter*>>();
};

}  // namespace kisgate::gate

#pragma once
// Test-only: drives a Budget the way the async driver will (poll at next_poll, after every enqueue,
// completion, cancel and promote; complete each admitted call after a latency), on manual time, and
// records what happened so tests can check windows, waits and shares.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "gate/budget.hpp"

namespace kisgate::gate::testing {

using namespace std::chrono_literals;
using common::Duration;
using common::SteadyTime;

// A deadline no test reaches: the call never expires.
inline constexpr SteadyTime kFar = SteadyTime{} + 1000h;

struct Dispatched {
  CallId id;
  CallSpec spec;
  SteadyTime enqueued;
  SteadyTime at;
};

class Driver {
 public:
  explicit Driver(Budget& budget, SteadyTime start = SteadyTime{} + 1h)
      : budget_(budget), now_(start) {}

  // Latency of an admitted call; nullopt leaves it in flight until the test completes it.
  std::function<std::optional<Duration>(CallId)> latency = [](CallId) { return 20ms; };
  std::function<Outcome(CallId)> outcome = [](CallId) { return Outcome::kOk; };
  std::function<void(const CallSpec&, Outcome)> on_complete;

  CallId Enqueue(const CallSpec& spec) {
    const CallId id = budget_.Enqueue(spec, now_);
    pending_[id] = {spec, now_};
    Poll();
    return id;
  }
  bool Cancel(CallId id) {
    const bool ok = budget_.Cancel(id, now_);
    Poll();
    return ok;
  }
  bool Promote(CallId id, Lane lane) {
    const bool ok = budget_.Promote(id, lane, now_);
    if (ok) {
      auto it = pending_.find(id);
      if (it != pending_.end() && lane < it->second.spec.lane) it->second.spec.lane = lane;
    }
    Poll();
    return ok;
  }
  bool Complete(CallId id, Outcome o) {
    auto it = pending_.find(id);
    const bool ok = budget_.OnComplete(id, o, now_);
    if (ok && it != pending_.end()) {
      const CallSpec spec = it->second.spec;
      pending_.erase(it);
      if (on_complete) on_complete(spec, o);
    }
    Poll();
    return ok;
  }

  // Runs every poll and completion due up to `t`, in time order, then sets the clock to `t`.
  void AdvanceTo(SteadyTime t) {
    int polls_at_same_time = 0;
    for (;;) {
      std::optional<SteadyTime> next;
      if (next_poll_ && *next_poll_ <= t) next = *next_poll_;
      if (!completions_.empty() && completions_.begin()->first <= t &&
          (!next || completions_.begin()->first < *next)) {
        next = completions_.begin()->first;
      }
      if (!next) break;
      if (*next <= now_) {
        if (++polls_at_same_time > 1000) {
          ADD_FAILURE() << "the budget asks to be polled again without time moving";
          return;
        }
      } else {
        polls_at_same_time = 0;
        now_ = *next;
      }
      bool completed = false;
      while (!completions_.empty() && completions_.begin()->first <= now_) {
        const CallId id = completions_.begin()->second;
        completions_.erase(completions_.begin());
        Complete(id, outcome(id));
        completed = true;
      }
      if (!completed) TimerPoll();
    }
    now_ = std::max(now_, t);
    Poll();
  }
  void AdvanceBy(Duration d) { AdvanceTo(now_ + d); }

  SteadyTime now() const { return now_; }
  const std::vector<Dispatched>& dispatched() const { return dispatched_; }
  const std::vector<CallId>& expired() const { return expired_; }
  // Timer wakeups (at next_poll) that neither admitted nor expired anything.
  int idle_timer_polls() const { return idle_timer_polls_; }
  std::vector<SteadyTime> DispatchTimes() const {
    std::vector<SteadyTime> times;
    for (const auto& d : dispatched_) times.push_back(d.at);
    return times;
  }
  std::size_t CountLane(Lane lane, SteadyTime from, SteadyTime to) const {
    return static_cast<std::size_t>(std::count_if(
        dispatched_.begin(), dispatched_.end(),
        [&](const Dispatched& d) { return d.spec.lane == lane && d.at >= from && d.at < to; }));
  }

 private:
  struct Pending {
    CallSpec spec;
    SteadyTime enqueued;
  };

  bool Poll() {
    const PollResult r = budget_.Poll(now_);
    for (CallId id : r.admitted) {
      const Pending& p = pending_.at(id);
      dispatched_.push_back({id, p.spec, p.enqueued, now_});
      if (auto l = latency(id)) completions_.emplace(now_ + *l, id);
    }
    for (CallId id : r.expired) {
      expired_.push_back(id);
      pending_.erase(id);
    }
    next_poll_ = r.next_poll;
    return !r.admitted.empty() || !r.expired.empty();
  }
  void TimerPoll() {
    if (!Poll()) ++idle_timer_polls_;
  }

  Budget& budget_;
  SteadyTime now_;
  std::optional<SteadyTime> next_poll_;
  std::multimap<SteadyTime, CallId> completions_;
  std::unordered_map<CallId, Pending> pending_;
  std::vector<Dispatched> dispatched_;
  std::vector<CallId> expired_;
  int idle_timer_polls_ = 0;
};

// The most events in any closed window [t, t + window]; `times` sorted.
inline std::size_t MaxInWindow(const std::vector<SteadyTime>& times, Duration window = 1s) {
  std::size_t best = 0;
  std::size_t lo = 0;
  for (std::size_t hi = 0; hi < times.size(); ++hi) {
    while (times[hi] - times[lo] > window) ++lo;
    best = std::max(best, hi - lo + 1);
  }
  return best;
}

}  // namespace kisgate::gate::testing

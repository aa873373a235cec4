#include "gate/budget.hpp"

#include <algorithm>
#include <stdexcept>

#include <gtest/gtest.h>

#include "gate/test_driver.hpp"

namespace kisgate::gate {
namespace {

using namespace std::chrono_literals;
using common::Duration;
using common::SteadyTime;
using testing::Driver;
using testing::MaxInWindow;

using testing::kFar;

CallSpec Batch(FlowId flow = 0, SteadyTime deadline = kFar) {
  return {Lane::kBatch, flow, deadline, false};
}
CallSpec Interactive(FlowId flow = 0, SteadyTime deadline = kFar) {
  return {Lane::kInteractive, flow, deadline, false};
}

// The spacing the default config plans for: 1 / (18 x 0.97) s, about 57.3 ms.
Duration DefaultInterval() { return Gcra::IntervalFor(18 * 0.97); }

// Random mixes of lanes, flows, deadlines, cancels, promotions, retries and every outcome kind
// (so AIMD keeps moving the rate) never put more than 18 dispatches in any closed 1-second window,
// and never more than max_in_flight in flight; the peak reaching 17 shows the load was saturating.
TEST(Budget, NeverExceedsRateInAnyWindow) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    BudgetConfig config;
    Budget budget(config, seed);
    Driver d(budget);
    Rng rng(seed * 7919);
    d.latency = [&](CallId) { return Duration(std::chrono::milliseconds(5 + rng() % 400)); };
    d.outcome = [&](CallId) {
      const double u = UnitUniform(rng);
      if (u < 0.005) return Outcome::kRateLimited;
      if (u < 0.02) return Outcome::kConnectionFailure;
      if (u < 0.03) return Outcome::kTimeout;
      if (u < 0.06) return Outcome::kTransientError;
      if (u < 0.07) return Outcome::kOtherError;
      return Outcome::kOk;
    };
    std::size_t retries = 0;
    d.on_complete = [&](const CallSpec& spec, Outcome o) {
      if (o == Outcome::kOk || o == Outcome::kOtherError) return;
      CallSpec retry = spec;
      retry.retry = true;
      retry.deadline = d.now() + 3s;
      d.Enqueue(retry);
      ++retries;
    };
    std::vector<CallId> recent;
    const SteadyTime end = d.now() + 120s;
    while (d.now() < end) {
      d.AdvanceBy(std::chrono::milliseconds(rng() % 80));
      const auto pick = rng() % 10;
      const Lane lane = pick < 2 ? Lane::kInteractive : pick < 8 ? Lane::kBatch : Lane::kBackground;
      const auto deadline = d.now() + std::chrono::milliseconds(200 + rng() % 10'000);
      recent.push_back(d.Enqueue({lane, rng() % 5, deadline, false}));
      if (recent.size() > 50) recent.erase(recent.begin());
      if (rng() % 20 == 0) d.Cancel(recent[rng() % recent.size()]);
      if (rng() % 20 == 0) d.Promote(recent[rng() % recent.size()], Lane::kInteractive);
      ASSERT_LE(budget.in_flight(), static_cast<std::size_t>(config.max_in_flight));
    }
    const auto times = d.DispatchTimes();
    ASSERT_TRUE(std::is_sorted(times.begin(), times.end()));
    EXPECT_LE(MaxInWindow(times), 18u);
    EXPECT_GE(MaxInWindow(times), 17u);
    EXPECT_GT(retries, 0u);
    EXPECT_GT(budget.Snapshot(d.now()).cooldowns, 0u);
  }
}

// At safety 1 and a rate that divides a second exactly (20/s -> 50 ms), a naive interval would let
// a closed window [t, t + 1s] hold 21 dispatches; the 1 ns rounding keeps it at 20.
TEST(Budget, ExactRateHoldsInClosedWindows) {
  BudgetConfig config;
  config.rate = 20;
  config.safety = 1;
  Budget budget(config);
  Driver d(budget);
  for (int i = 0; i < 100; ++i) d.Enqueue(Batch());
  d.AdvanceBy(10s);
  ASSERT_EQ(d.dispatched().size(), 100u);
  EXPECT_EQ(MaxInWindow(d.DispatchTimes()), 20u);
}

// While batch saturates the rate and in-flight slots are free, a user request waits at most one
// rate interval (~57 ms): it takes the very next slot instead of queueing behind 2,000 batch calls.
TEST(Budget, InteractiveWaitsAtMostOneIntervalUnderBatchLoad) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return 30ms; };
  for (int i = 0; i < 2000; ++i) d.Enqueue(Batch(i % 10));
  Rng rng(42);
  const SteadyTime start = d.now();
  for (int i = 0; i < 100; ++i) {
    d.AdvanceBy(std::chrono::milliseconds(300 + rng() % 400));
    d.Enqueue(Interactive(i % 3));
  }
  d.AdvanceBy(1s);
  Duration max_wait{};
  std::size_t interactive = 0;
  for (const auto& x : d.dispatched()) {
    if (x.spec.lane != Lane::kInteractive) continue;
    ++interactive;
    max_wait = std::max(max_wait, x.at - x.enqueued);
  }
  EXPECT_EQ(interactive, 100u);
  EXPECT_LE(max_wait, DefaultInterval());
  EXPECT_GT(max_wait, Duration::zero());  // batch really did hold the key
  // Batch still filled every slot interactive did not use.
  const double seconds = std::chrono::duration<double>(d.now() - start).count();
  EXPECT_GE(static_cast<double>(d.dispatched().size()), 0.99 * 18 * 0.97 * seconds - 2);
}

// An interactive flood takes at most its 60 % share (plus the share_burst of 4 calls) while batch
// waits, so batch keeps >= 40 % of the rate; together they still use the whole rate.
TEST(Budget, BatchKeepsItsShareUnderInteractiveFlood) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  for (int i = 0; i < 3000; ++i) {
    d.Enqueue(Batch(i % 7));
    d.Enqueue(Interactive(i % 5));
  }
  const SteadyTime start = d.now();
  d.AdvanceBy(60s);
  const double slots = 18 * 0.97 * 60;
  const auto batch = d.CountLane(Lane::kBatch, start, d.now());
  const auto interactive = d.CountLane(Lane::kInteractive, start, d.now());
  EXPECT_GE(static_cast<double>(batch), 0.4 * slots - 4 - 2);
  EXPECT_LE(static_cast<double>(interactive), 0.6 * slots + 4 + 2);
  EXPECT_GE(static_cast<double>(interactive), 0.6 * slots - 2);
  EXPECT_GE(static_cast<double>(batch + interactive), slots - 2);
}

// Work conservation: with no batch waiting, interactive alone gets the whole rate, not 60 %.
TEST(Budget, IdleLaneShareGoesToOthers) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  for (int i = 0; i < 2000; ++i) d.Enqueue(Interactive(i % 5));
  const SteadyTime start = d.now();
  d.AdvanceBy(60s);
  EXPECT_GE(static_cast<double>(d.CountLane(Lane::kInteractive, start, d.now())),
            18 * 0.97 * 60 - 2);
}

// Batch never takes the last in-flight slot: with replies outstanding it stops at 4 of 5, the
// reserved slot goes to a user request at once, and a freed slot goes to the highest lane waiting.
TEST(Budget, BatchLeavesReservedSlotForInteractive) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return std::nullopt; };  // replies come when the test says
  for (int i = 0; i < 100; ++i) d.Enqueue(Batch());
  d.AdvanceBy(5s);
  ASSERT_EQ(d.dispatched().size(), 4u);
  EXPECT_EQ(budget.in_flight(), 4u);

  const CallId first = d.Enqueue(Interactive());
  ASSERT_EQ(d.dispatched().size(), 5u);
  EXPECT_EQ(d.dispatched().back().id, first);
  EXPECT_EQ(d.dispatched().back().at, d.now());

  const CallId second = d.Enqueue(Interactive());
  d.AdvanceBy(1s);
  EXPECT_EQ(d.dispatched().size(), 5u);  // all 5 slots taken
  d.Complete(d.dispatched().front().id, Outcome::kOk);
  ASSERT_EQ(d.dispatched().size(), 6u);
  EXPECT_EQ(d.dispatched().back().id, second);
}

// A call whose deadline passes while it waits comes back expired and spends nothing: the next
// admission happens exactly when it would have without it.
TEST(Budget, ExpiredCallsSpendNoBudget) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return std::nullopt; };
  const SteadyTime t0 = d.now();
  std::vector<CallId> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(d.Enqueue(Batch()));
  d.AdvanceBy(1s);
  ASSERT_EQ(d.dispatched().size(), 4u);  // batch's in-flight share is full

  const CallId doomed = d.Enqueue(Batch(1, d.now() + 200ms));
  d.AdvanceBy(300ms);
  ASSERT_EQ(d.expired().size(), 1u);
  EXPECT_EQ(d.expired().front(), doomed);
  EXPECT_EQ(budget.Snapshot(d.now()).lanes[1].expired, 1u);

  EXPECT_EQ(budget.next_slot(), t0 + 4 * DefaultInterval());  // as if `doomed` never existed
  const CallId next = d.Enqueue(Batch());
  d.Complete(batch[0], Outcome::kOk);
  ASSERT_EQ(d.dispatched().size(), 5u);
  EXPECT_EQ(d.dispatched().back().id, next);
  EXPECT_EQ(d.dispatched().back().at, d.now());  // not pushed back by the expired call
  EXPECT_EQ(budget.next_slot(), d.now() + DefaultInterval());
}

// A deadline at or before the key's next possible slot cannot be met, so the call fails at once
// instead of waiting for its deadline; one just after the slot is admitted at the slot.
TEST(Budget, ExpiresEarlyWhenDeadlineFallsBeforeNextSlot) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  const SteadyTime t0 = d.now();
  d.Enqueue(Batch());
  ASSERT_EQ(d.dispatched().size(), 1u);
  const CallId hopeless = d.Enqueue(Interactive(0, t0 + DefaultInterval() / 2));
  ASSERT_EQ(d.expired().size(), 1u);
  EXPECT_EQ(d.expired().front(), hopeless);
  EXPECT_EQ(d.now(), t0);
  const CallId tight = d.Enqueue(Interactive(0, t0 + DefaultInterval() + 1ms));
  d.AdvanceBy(1s);
  ASSERT_EQ(d.dispatched().size(), 2u);
  EXPECT_EQ(d.dispatched().back().id, tight);
  EXPECT_EQ(d.dispatched().back().at, t0 + DefaultInterval());
}

// EGW00201: nothing goes out for a jittered 1-1.5 s, the rate drops to x0.7 and the in-flight cap
// to 3; each clean second then adds 1 call/s and a slot until the configured values are back.
TEST(Budget, RateLimitedCoolsDownCutsAndRecovers) {
  Budget budget(BudgetConfig{}, 3);
  Driver d(budget);
  std::optional<CallId> limited;
  d.outcome = [&](CallId id) {
    if (!limited && d.now() >= SteadyTime{} + 1h + 2s) {
      limited = id;
      return Outcome::kRateLimited;
    }
    return Outcome::kOk;
  };
  for (int i = 0; i < 3000; ++i) d.Enqueue(Batch(i % 3));
  d.AdvanceBy(2s + 100ms);
  ASSERT_TRUE(limited.has_value());
  const auto snapshot = budget.Snapshot(d.now());
  EXPECT_EQ(snapshot.cooldowns, 1u);
  EXPECT_TRUE(snapshot.cooling_down);
  EXPECT_DOUBLE_EQ(snapshot.rate, 18 * 0.97 * 0.7);
  EXPECT_EQ(snapshot.in_flight_limit, 3);
  EXPECT_EQ(snapshot.outcomes[static_cast<std::size_t>(Outcome::kRateLimited)], 1u);

  // The reply arrived 20 ms after the limited call's dispatch.
  const auto& all = d.dispatched();
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const auto& x) { return x.id == *limited; });
  const SteadyTime cut_at = it->at + 20ms;
  d.AdvanceBy(2s);
  const auto after =
      std::find_if(all.begin(), all.end(), [&](const auto& x) { return x.at > cut_at; });
  ASSERT_NE(after, all.end());
  const SteadyTime cooldown_end = after->at;
  EXPECT_GE(cooldown_end, cut_at + 1s);
  EXPECT_LT(cooldown_end, cut_at + 1500ms);
  // Right after the cooldown the spacing is the cut rate's.
  EXPECT_EQ((after + 1)->at - after->at, Gcra::IntervalFor(18 * 0.97 * 0.7));

  d.AdvanceTo(cooldown_end + 1s + 1ms);
  EXPECT_DOUBLE_EQ(budget.rate(), 18 * 0.97 * 0.7 + 1);
  EXPECT_EQ(budget.in_flight_limit(), 4);
  d.AdvanceTo(cooldown_end + 6s + 1ms);  // 12.22 + 6 > 17.46
  EXPECT_DOUBLE_EQ(budget.rate(), 18 * 0.97);
  EXPECT_EQ(budget.in_flight_limit(), 5);
  EXPECT_FALSE(budget.Snapshot(d.now()).cooling_down);
  EXPECT_LE(MaxInWindow(d.DispatchTimes()), 18u);
}

// Several in-flight calls answered EGW00201 together are one event: replies to calls sent before
// the cut do not cut again, while one sent after it does.
TEST(Budget, RepliesSentBeforeACutDoNotCutAgain) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return std::nullopt; };
  for (int i = 0; i < 10; ++i) d.Enqueue(Batch());
  d.AdvanceBy(1s);
  const auto sent = d.dispatched();
  ASSERT_EQ(sent.size(), 4u);
  d.Complete(sent[0].id, Outcome::kRateLimited);
  d.AdvanceBy(10ms);
  d.Complete(sent[1].id, Outcome::kRateLimited);
  d.Complete(sent[2].id, Outcome::kTimeout);
  EXPECT_EQ(budget.Snapshot(d.now()).cooldowns, 1u);
  EXPECT_DOUBLE_EQ(budget.rate(), 18 * 0.97 * 0.7);
  EXPECT_EQ(budget.in_flight_limit(), 3);

  d.AdvanceBy(1600ms);  // past any cooldown
  ASSERT_GT(d.dispatched().size(), 4u);
  d.Complete(d.dispatched()[4].id, Outcome::kRateLimited);
  EXPECT_EQ(budget.Snapshot(d.now()).cooldowns, 2u);
  EXPECT_DOUBLE_EQ(budget.rate(), 18 * 0.97 * 0.7 * 0.7);
  EXPECT_EQ(budget.in_flight_limit(), 2);
}

// Refused connections and timeouts cut only the in-flight cap: no cooldown, no rate change; two
// clean seconds restore the cap of 5.
TEST(Budget, ConnectionFailureCutsOnlyInFlight) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return std::nullopt; };
  for (int i = 0; i < 10; ++i) d.Enqueue(Batch());
  d.AdvanceBy(1s);
  ASSERT_EQ(d.dispatched().size(), 4u);
  d.Complete(d.dispatched()[0].id, Outcome::kConnectionFailure);
  EXPECT_EQ(budget.in_flight_limit(), 3);
  EXPECT_DOUBLE_EQ(budget.rate(), 18 * 0.97);
  EXPECT_EQ(budget.Snapshot(d.now()).cooldowns, 0u);
  EXPECT_EQ(budget.next_slot(), d.dispatched()[3].at + DefaultInterval());
  // 3 in flight, cap 3: batch (cap 3 - 1 reserved) waits.
  EXPECT_EQ(d.dispatched().size(), 4u);
  d.AdvanceBy(1s + 1ms);
  EXPECT_EQ(budget.in_flight_limit(), 4);
  d.AdvanceBy(1s);
  EXPECT_EQ(budget.in_flight_limit(), 5);
}

// The cooldown jitter comes from the injected seed: same seed, same cooldown; different seeds
// spread over [1 s, 1.5 s).
TEST(Budget, CooldownJitterIsSeeded) {
  auto cooldown_for = [](std::uint64_t seed) {
    Budget budget(BudgetConfig{}, seed);
    const SteadyTime t0 = SteadyTime{} + 1h;
    const CallId id = budget.Enqueue(Batch(), t0);
    budget.Poll(t0);
    budget.OnComplete(id, Outcome::kRateLimited, t0 + 10ms);
    return budget.next_slot() - (t0 + 10ms);
  };
  EXPECT_EQ(cooldown_for(11), cooldown_for(11));
  std::vector<Duration> seen;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto c = cooldown_for(seed);
    EXPECT_GE(c, 1s);
    EXPECT_LT(c, 1500ms);
    seen.push_back(c);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_GT(seen.back() - seen.front(), 100ms);
}

// Round-robin between flows: a job with 5 calls queued behind a job with 100 gets every other
// slot, instead of waiting for all 100.
TEST(Budget, RoundRobinBetweenFlows) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return 1ms; };
  for (int i = 0; i < 100; ++i) d.Enqueue(Batch(1));
  for (int i = 0; i < 5; ++i) d.Enqueue(Batch(2));
  d.AdvanceBy(20s);
  ASSERT_EQ(d.dispatched().size(), 105u);
  std::size_t small_done_by = 0;
  for (std::size_t i = 0; i < d.dispatched().size(); ++i) {
    if (d.dispatched()[i].spec.flow == 2) small_done_by = i + 1;
  }
  EXPECT_LE(small_done_by, 11u);
}

// Promotion: a batch call that an interactive request joined jumps the batch queue.
TEST(Budget, PromotionMovesQueuedCallAhead) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return 1ms; };
  std::vector<CallId> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(d.Enqueue(Batch(1)));
  ASSERT_EQ(d.dispatched().size(), 1u);
  EXPECT_TRUE(d.Promote(ids[50], Lane::kInteractive));
  d.AdvanceBy(DefaultInterval());
  ASSERT_EQ(d.dispatched().size(), 2u);
  EXPECT_EQ(d.dispatched()[1].id, ids[50]);
  EXPECT_EQ(budget.Snapshot(d.now()).lanes[0].promoted_in, 1u);
  EXPECT_FALSE(d.Promote(ids[0], Lane::kInteractive));  // already dispatched
  EXPECT_TRUE(d.Promote(ids[60], Lane::kBackground));   // not a promotion: stays in batch
  d.AdvanceBy(20s);
  ASSERT_EQ(d.dispatched().size(), 100u);
  EXPECT_EQ(d.dispatched()[2].id, ids[1]);
  EXPECT_EQ(budget.Snapshot(d.now()).lanes[2].admitted, 0u);
}

// A cancelled call is never dispatched and is counted; cancelling it twice or after dispatch fails.
TEST(Budget, CancelRemovesQueuedCall) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  const CallId a = d.Enqueue(Batch());
  const CallId b = d.Enqueue(Batch());
  const CallId c = d.Enqueue(Batch());
  EXPECT_TRUE(d.Cancel(b));
  EXPECT_FALSE(d.Cancel(b));
  EXPECT_FALSE(d.Cancel(a));  // in flight
  d.AdvanceBy(1s);
  ASSERT_EQ(d.dispatched().size(), 2u);
  EXPECT_EQ(d.dispatched()[1].id, c);
  EXPECT_EQ(d.dispatched()[1].at, d.dispatched()[0].at + DefaultInterval());
  const auto s = budget.Snapshot(d.now());
  EXPECT_EQ(s.lanes[1].cancelled, 1u);
  EXPECT_EQ(s.lanes[1].admitted, 2u);
  EXPECT_EQ(s.lanes[1].queued, 0u);
}

// Batch efficiency (DESIGN.md target): over 60 s with batch always waiting, dispatches reach at
// least 95 % of the key's configured 18/s (1,026); the exact count is every GCRA slot at
// 18 x 0.97 = 17.46/s, i.e. ceil(60 s / 57.27 ms) = 1,048.
TEST(Budget, BatchUtilisationOverAMinute) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return 50ms; };
  for (int i = 0; i < 2700; ++i) d.Enqueue(Batch(i % 53));
  const SteadyTime start = d.now();
  d.AdvanceTo(start + 60s - 1ns);
  const auto count = d.CountLane(Lane::kBatch, start, start + 60s);
  EXPECT_GE(static_cast<double>(count), 0.95 * 18 * 60);
  EXPECT_EQ(count, 1048u);
  EXPECT_EQ(budget.queued(), 2700u - count);
}

// 2,700 queued calls (the whole market) drain at the rate, none expire, and every timer wakeup the
// budget asks for admits something: next_poll is exact, there is no busy polling.
TEST(Budget, ThousandsQueuedDrainAtRate) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return 80ms; };
  const SteadyTime start = d.now();
  for (int i = 0; i < 2700; ++i) d.Enqueue(Batch(i));
  d.AdvanceBy(200s);
  ASSERT_EQ(d.dispatched().size(), 2700u);
  EXPECT_TRUE(d.expired().empty());
  EXPECT_EQ(d.dispatched().back().at, start + 2699 * DefaultInterval());
  EXPECT_EQ(d.idle_timer_polls(), 0);
  EXPECT_EQ(budget.queued(), 0u);
}

// The wait histogram puts each admitted call's queueing time in its bucket (ms, upper bound
// inclusive) and sums waits.
TEST(Budget, WaitHistogramCountsWaits) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.Enqueue(Batch());  // no wait: bucket <= 1 ms
  d.Enqueue(Batch());  // waits one interval, 57 ms: bucket <= 60 ms
  d.AdvanceBy(1s);
  const auto s = budget.Snapshot(d.now());
  EXPECT_EQ(s.lanes[1].wait_buckets[0], 1u);
  EXPECT_EQ(s.lanes[1].wait_buckets[8], 1u);
  EXPECT_EQ(s.lanes[1].wait_sum, DefaultInterval());
  EXPECT_EQ(s.lanes[1].admitted, 2u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.outcomes[0], 2u);
}

// With slow replies (1 s) the in-flight cap, not the rate, holds batch back; clean seconds then
// grow the cap one slot at a time up to max_in_flight (10) and no further.
TEST(Budget, InFlightGrowsWhileItHoldsCallsBack) {
  Budget budget(BudgetConfig{});
  Driver d(budget);
  d.latency = [](CallId) { return 1s; };
  for (int i = 0; i < 2000; ++i) d.Enqueue(Batch(i % 4));
  std::size_t peak = 0;
  for (int i = 0; i < 200; ++i) {
    d.AdvanceBy(100ms);
    peak = std::max(peak, budget.in_flight());
    ASSERT_LE(budget.in_flight_limit(), 10);
  }
  EXPECT_EQ(budget.in_flight_limit(), 10);
  EXPECT_EQ(peak, 9u);  // batch leaves the reserved slot
}

// Validate names the bad field and the value, so a config error says what to fix.
TEST(BudgetConfig, ValidateNamesTheBadField) {
  EXPECT_EQ(BudgetConfig{}.Validate(), std::nullopt);
  BudgetConfig c;
  c.safety = 1.5;
  EXPECT_EQ(c.Validate(), "gate.safety must be in (0, 1], got 1.5");
  c = {};
  c.interactive_max_share = 0;
  EXPECT_NE(c.Validate()->find("gate.interactive_max_share"), std::string::npos);
  c = {};
  c.interactive_reserved_slots = 5;
  EXPECT_NE(c.Validate()->find("gate.interactive_reserved_slots"), std::string::npos);
  c = {};
  c.max_in_flight = 4;
  EXPECT_NE(c.Validate()->find("gate.max_in_flight_limit"), std::string::npos);
  c = {};
  c.rate = -1;
  EXPECT_NE(c.Validate()->find("kis.keys[].rate must be > 0 calls/s, got -1"), std::string::npos);
  c = {};
  c.cooldown = Duration::zero();
  EXPECT_NE(c.Validate()->find("gate.cooldown"), std::string::npos);
  c = {};
  c.safety = 2;
  EXPECT_THROW(Budget{c}, std::invalid_argument);
}

}  // namespace
}  // namespace kisgate::gate

namespace kisgate::gate {
namespace {

TEST(Budget, LaneNamesReadBack) {
  for (auto lane : {Lane::kInteractive, Lane::kBatch, Lane::kBackground}) {
    EXPECT_EQ(ParseLane(LaneName(lane)), lane);
  }
  EXPECT_FALSE(ParseLane("Batch"));
  EXPECT_FALSE(ParseLane(""));
}

}  // namespace
}  // namespace kisgate::gate

namespace kisgate::gate {
namespace {

// External pacing (issue 13): no slot, no admission, however long the wait; a granted slot admits
// exactly one call, at its time, and it is the highest call queued at that moment.
TEST(BudgetExternalPacing, OneCallPerGrantedSlotHighestLaneFirst) {
  Budget budget(BudgetConfig{});
  const SteadyTime t0 = SteadyTime{} + 1h;
  budget.SetExternalPacing(true, t0);
  const CallId b1 = budget.Enqueue(Batch(1), t0);
  const CallId b2 = budget.Enqueue(Batch(2), t0);
  auto r = budget.Poll(t0 + 5s);
  EXPECT_TRUE(r.admitted.empty());
  EXPECT_TRUE(r.expired.empty());  // far deadlines do not expire for want of a slot
  EXPECT_TRUE(budget.WantsSlot(t0 + 5s));

  budget.GrantSlot(t0 + 5s + 30ms);
  EXPECT_FALSE(budget.WantsSlot(t0 + 5s));
  EXPECT_TRUE(budget.Poll(t0 + 5s + 10ms).admitted.empty());  // before the slot's time
  const CallId i1 = budget.Enqueue(Interactive(3), t0 + 5s + 20ms);
  r = budget.Poll(t0 + 5s + 30ms);
  ASSERT_EQ(r.admitted, std::vector<CallId>{i1});
  EXPECT_FALSE(budget.HoldsSlot());
  EXPECT_TRUE(budget.Poll(t0 + 6s).admitted.empty());  // one slot, one call
  EXPECT_TRUE(budget.WantsSlot(t0 + 6s));

  budget.GrantSlot(t0 + 6s);
  r = budget.Poll(t0 + 6s);
  ASSERT_EQ(r.admitted.size(), 1u);
  EXPECT_TRUE(r.admitted[0] == b1 || r.admitted[0] == b2);
}

// A slot not used within half an interval of its time is dropped: used late it would sit among the
// slots other instances take after it. A deadline that passes still expires its call.
TEST(BudgetExternalPacing, LateSlotIsDroppedAndDeadlinesStillExpire) {
  Budget budget(BudgetConfig{});
  const SteadyTime t0 = SteadyTime{} + 1h;
  budget.SetExternalPacing(true, t0);
  budget.GrantSlot(t0 + 10ms);
  EXPECT_TRUE(budget.Poll(t0 + 10ms + DefaultInterval()).admitted.empty());
  EXPECT_FALSE(budget.HoldsSlot());
  EXPECT_EQ(budget.dropped_slots(), 1u);

  const CallId doomed = budget.Enqueue(Batch(1, t0 + 2s), t0 + 1s);
  auto r = budget.Poll(t0 + 2s);
  EXPECT_EQ(r.expired, std::vector<CallId>{doomed});
  EXPECT_FALSE(budget.WantsSlot(t0 + 2s));  // nothing queued
}

// No slot is wanted while the in-flight cap holds every queued call back, nor during a cooldown.
TEST(BudgetExternalPacing, WantsSlotOnlyWhenACallCouldGo) {
  BudgetConfig config;
  config.in_flight = 1;
  config.interactive_reserved_slots = 0;
  Budget budget(config);
  const SteadyTime t0 = SteadyTime{} + 1h;
  budget.SetExternalPacing(true, t0);
  budget.Enqueue(Batch(1), t0);
  budget.Enqueue(Batch(1), t0);
  budget.GrantSlot(t0);
  const auto r = budget.Poll(t0);
  ASSERT_EQ(r.admitted.size(), 1u);
  EXPECT_FALSE(budget.WantsSlot(t0 + 1ms));  // the one slot is in flight
  budget.OnComplete(r.admitted[0], Outcome::kRateLimited, t0 + 100ms);
  EXPECT_FALSE(budget.WantsSlot(t0 + 200ms));  // cooling down
  EXPECT_TRUE(budget.WantsSlot(t0 + 200ms + config.cooldown * 2));
}

// Leaving external pacing (the shared schedule is unreachable): the local schedule starts one
// local interval after the switch, at the rate share: 1/3 of the key spaces calls 3 intervals.
TEST(BudgetExternalPacing, FallbackRunsTheLocalScheduleAtItsShare) {
  Budget budget(BudgetConfig{});
  const SteadyTime t0 = SteadyTime{} + 1h;
  budget.SetExternalPacing(true, t0);
  for (int i = 0; i < 10; ++i) budget.Enqueue(Batch(1), t0);
  budget.SetRateShare(1.0 / 3);
  budget.SetExternalPacing(false, t0);
  EXPECT_NEAR(budget.rate(), 18 * 0.97 / 3, 1e-9);
  const Duration local = Gcra::IntervalFor(18 * 0.97 / 3);
  EXPECT_TRUE(budget.Poll(t0).admitted.empty());
  std::vector<SteadyTime> times;
  for (SteadyTime t = t0; t < t0 + 2s; t += 1ms) {
    for (CallId id : budget.Poll(t).admitted) {
      times.push_back(t);
      budget.OnComplete(id, Outcome::kOk, t);
    }
  }
  ASSERT_GE(times.size(), 3u);
  EXPECT_GE(times[0], t0 + local);
  for (std::size_t i = 1; i < times.size(); ++i) EXPECT_GE(times[i] - times[i - 1], local);
  // Back to the whole key: the shared schedule's spacing is the AIMD rate's, not the share's.
  budget.SetRateShare(1);
  EXPECT_EQ(budget.shared_interval(), DefaultInterval());
}

}  // namespace
}  // namespace kisgate::gate

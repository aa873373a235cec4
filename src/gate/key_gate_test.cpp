#include "gate/key_gate.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/spawn.hpp"
#include "common/timer.hpp"
#include "gate/test_driver.hpp"

namespace kisgate::gate {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using common::Duration;
using common::SteadyTime;
using testing::MaxInWindow;

// The shared schedule of one key with the rules of the Redis one (coord::), in memory: one GCRA
// for every instance, leases that expire, a shared cooldown; `reachable` false plays Redis down.
// The KeyGate tests check the gate's side (one slot at a time, leases given back, the fallback
// and the rejoin); the Redis implementation has its own tests against a real server.
struct Schedule {
  const common::Clock* clock = nullptr;
  SteadyTime tat{};
  std::map<std::string, SteadyTime> leases;  // call -> expiry
  SteadyTime cooldown_until{};
  bool reachable = true;
  int reserves = 0;
};

class MemoryShare final : public KeyShare {
 public:
  explicit MemoryShare(Schedule& s) : s_(s) {}
  asio::awaitable<std::optional<SlotGrant>> Reserve(std::string call, Duration interval, int cap,
                                                    Duration lease) override {
    if (!s_.reachable) co_return std::nullopt;
    ++s_.reserves;
    const auto now = s_.clock->Now();
    if (now < s_.cooldown_until)
      co_return SlotGrant{SlotGrant::Status::kCoolingDown, s_.cooldown_until - now};
    std::erase_if(s_.leases, [now](const auto& l) { return l.second <= now; });
    if (static_cast<int>(s_.leases.size()) >= cap) {
      co_return SlotGrant{SlotGrant::Status::kInFlightFull, Duration(5ms)};
    }
    const auto slot = std::max(s_.tat, now);
    s_.tat = slot + interval;
    s_.leases[call] = slot + lease;
    co_return SlotGrant{SlotGrant::Status::kGranted, slot - now};
  }
  void Release(std::string call) override { s_.leases.erase(call); }
  void CoolDown(Duration d) override {
    s_.cooldown_until = std::max(s_.cooldown_until, s_.clock->Now() + d);
  }
  bool Shared() const override { return s_.reachable; }
  double FallbackShare() const override { return 0.5; }

 private:
  Schedule& s_;
};

// One instance: its budget, gate and share, and `calls` batch calls that each take `latency`.
struct Instance {
  Instance(asio::io_context& io, const common::Clock& clock, Schedule& schedule)
      : budget(BudgetConfig{}), share(schedule), gate(io.get_executor(), budget, clock) {
    gate.SetShare(&share, 10s);
  }
  Budget budget;
  MemoryShare share;  // before the gate, which gives its leases back when destroyed
  KeyGate gate;
};

asio::awaitable<void> OneCall(Instance& in, const common::Clock& clock,
                              std::vector<SteadyTime>& sent, Duration latency,
                              Lane lane = Lane::kBatch) {
  auto acquire = in.gate.Acquire(CallSpec{lane, 0, clock.Now() + 1h, false});
  const Ticket t = co_await std::move(acquire);
  if (!t.admitted) co_return;
  sent.push_back(clock.Now());
  common::Timer reply(co_await asio::this_coro::executor, clock.Now() + latency);
  boost::system::error_code ec;
  co_await reply.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  in.gate.Complete(t.id, Outcome::kOk);
}

class SharedKeyGate : public ::testing::Test {
 protected:
  common::ManualClock clock;
  common::ManualTimeScope scope{clock};
  asio::io_context io;
  Schedule schedule;

  void SetUp() override { schedule.clock = &clock; }
  std::vector<SteadyTime> sent;  // every instance's dispatches, in time order

  void Load(Instance& in, int calls, Duration latency = 30ms, Lane lane = Lane::kBatch,
            std::vector<SteadyTime>* into = nullptr) {
    for (int i = 0; i < calls; ++i) {
      asio::co_spawn(io, OneCall(in, clock, into != nullptr ? *into : sent, latency, lane),
                     common::LogExceptions{"call"});
    }
  }
  void Run(Duration d) { common::AdvanceAndRun(io, clock, d, 1ms); }
};

// Two instances flooding one key take their slots from one schedule: together they never put more
// than 18 calls in a 1-s window, and together they use it (17 in the busiest window), each getting
// a fair part; every lease comes back.
TEST_F(SharedKeyGate, TwoInstancesShareOneRate) {
  Instance a(io, clock, schedule);
  Instance b(io, clock, schedule);
  Load(a, 150);
  Load(b, 150);
  Run(20s);
  EXPECT_EQ(sent.size(), 300u);
  EXPECT_LE(MaxInWindow(sent), 18u);
  EXPECT_GE(MaxInWindow(sent), 17u);
  EXPECT_EQ(a.budget.Snapshot(clock.Now()).lanes[1].admitted, 150u);
  EXPECT_TRUE(schedule.leases.empty());
  // One reservation per call: no instance hoards slots.
  EXPECT_LE(schedule.reserves, 300 + 2);
}

// Without the share each instance would go at the whole rate: the control for the test above.
TEST_F(SharedKeyGate, WithoutTheShareTwoInstancesDoubleTheRate) {
  Instance a(io, clock, schedule);
  Instance b(io, clock, schedule);
  a.gate.SetShare(nullptr, {});
  b.gate.SetShare(nullptr, {});
  a.budget.SetExternalPacing(false, clock.Now());
  b.budget.SetExternalPacing(false, clock.Now());
  Load(a, 100);
  Load(b, 100);
  Run(10s);
  EXPECT_GE(MaxInWindow(sent), 34u);
}

// The shared store goes away for 3 s and comes back: each instance runs alone at half the rate
// meanwhile, then rejoins after a quiet second; no window ever holds more than 18 calls, the
// instances keep sending during the outage, and they are back on the shared schedule afterwards.
TEST_F(SharedKeyGate, OutageFallsBackToAShareAndRejoins) {
  Instance a(io, clock, schedule);
  Instance b(io, clock, schedule);
  Load(a, 200);
  Load(b, 200);
  Run(3s);
  const auto before = sent.size();
  schedule.reachable = false;
  Run(3s);
  const auto during = sent.size() - before;
  EXPECT_FALSE(a.budget.external_pacing());
  EXPECT_NEAR(a.budget.rate(), 18 * 0.97 / 2, 1e-9);
  schedule.reachable = true;
  Run(300ms);
  EXPECT_TRUE(a.budget.external_pacing());
  Run(10s);
  EXPECT_LE(MaxInWindow(sent), 18u);
  EXPECT_GE(during, 40u);  // about 17.46/s x 3 s between the two, minus the switch
  const auto after =
      std::count_if(sent.begin(), sent.end(), [&](SteadyTime t) { return t > clock.Now() - 5s; });
  EXPECT_GE(after, 80);  // the shared schedule at full rate again
}

// Lane shares are shares of the slots this instance gets, not of the key's whole rate: an instance
// with a third of the key's slots and an interactive flood still gives its batch calls their part
// (without that, 60% of the key's rate is more than the instance ever gets, and batch starved).
TEST_F(SharedKeyGate, LaneSharesAreSharesOfTheSlotsThisInstanceGets) {
  Instance a(io, clock, schedule);
  Instance b(io, clock, schedule);
  Instance c(io, clock, schedule);
  std::vector<SteadyTime> a_interactive;
  std::vector<SteadyTime> a_batch;
  Load(a, 300, 30ms, Lane::kInteractive, &a_interactive);
  Load(a, 300, 30ms, Lane::kBatch, &a_batch);
  Load(b, 300);
  Load(c, 300);
  Run(10s);
  const double batch = static_cast<double>(a_batch.size());
  const double all = batch + static_cast<double>(a_interactive.size());
  ASSERT_GT(all, 40);  // about a third of 17.46/s for 10 s
  EXPECT_GE(batch / all, 0.3) << a_batch.size() << " batch of " << all;
  EXPECT_LE(batch / all, 0.7);  // interactive keeps its part too
}

// EGW00201 on one instance pauses the key for the other too.
TEST_F(SharedKeyGate, CooldownIsShared) {
  Instance a(io, clock, schedule);
  Instance b(io, clock, schedule);
  std::optional<Ticket> first;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto acquire = a.gate.Acquire(CallSpec{Lane::kBatch, 0, clock.Now() + 1h, false});
        first = co_await std::move(acquire);
      },
      common::LogExceptions{"first"});
  Run(10ms);
  ASSERT_TRUE(first && first->admitted);
  a.gate.Complete(first->id, Outcome::kRateLimited);
  const auto cooled_at = clock.Now();
  Load(b, 1);
  Run(3s);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_GE(sent[0] - cooled_at, a.budget.config().cooldown);
}

}  // namespace
}  // namespace kisgate::gate

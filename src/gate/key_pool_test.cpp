#include "gate/key_pool.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

#include "gate/test_driver.hpp"

namespace kisgate::gate {
namespace {

using namespace std::chrono_literals;
using common::SteadyTime;
using testing::Driver;
using testing::MaxInWindow;

using testing::kFar;

std::vector<Budget> FourKeys() {
  std::vector<Budget> budgets;
  for (std::uint64_t i = 0; i < 4; ++i) budgets.emplace_back(BudgetConfig{}, i);
  return budgets;
}

// The whole market (2,700 quotations) over 4 keys: the pool splits it evenly, each key stays
// within its own 18 calls in any 1-s window, and the run takes a quarter of one key's time
// (about 4 x 17.46 calls/s).
TEST(KeyPool, SpreadsLoadOverKeys) {
  KeyPool pool(FourKeys());
  std::vector<Driver> drivers;
  for (std::size_t i = 0; i < pool.size(); ++i) drivers.emplace_back(pool.at(i));
  const SteadyTime start = drivers[0].now();
  for (int i = 0; i < 2700; ++i) {
    const auto key = pool.Pick(Lane::kBatch, start);
    drivers[key].Enqueue({Lane::kBatch, static_cast<FlowId>(i), kFar, false});
  }
  SteadyTime last{};
  for (auto& d : drivers) {
    d.AdvanceBy(100s);
    EXPECT_EQ(d.dispatched().size(), 675u);
    EXPECT_LE(MaxInWindow(d.DispatchTimes()), 18u);
    last = std::max(last, d.dispatched().back().at);
  }
  const double seconds = std::chrono::duration<double>(last - start).count();
  EXPECT_LE(seconds, 2700 / (4 * 18 * 0.97));
  EXPECT_GE(2700 / seconds, 0.95 * 4 * 18);
}

// A key cooling down after EGW00201 is avoided while another can take the call sooner.
TEST(KeyPool, AvoidsKeyInCooldown) {
  KeyPool pool(FourKeys());
  const SteadyTime t0 = SteadyTime{} + 1h;
  Budget& hot = pool.at(0);
  const CallId id = hot.Enqueue({Lane::kBatch, 0, kFar, false}, t0);
  ASSERT_EQ(hot.Poll(t0).admitted.size(), 1u);
  hot.OnComplete(id, Outcome::kRateLimited, t0 + 10ms);
  for (int i = 0; i < 30; ++i) {
    const auto key = pool.Pick(Lane::kInteractive, t0 + 20ms);
    EXPECT_NE(key, 0u);
    pool.at(key).Enqueue({Lane::kInteractive, 0, kFar, false}, t0 + 20ms);
  }
}

// Interactive calls look only at queues at their own priority or higher: a key buried in batch
// work is still the soonest for a user request when its interactive lane is empty and its next
// slot is the earliest.
TEST(KeyPool, InteractiveIgnoresQueuedBatch) {
  std::vector<Budget> budgets;
  budgets.emplace_back(BudgetConfig{});
  budgets.emplace_back(BudgetConfig{});
  KeyPool pool(std::move(budgets));
  const SteadyTime t0 = SteadyTime{} + 1h;
  for (int i = 0; i < 100; ++i) pool.at(0).Enqueue({Lane::kBatch, 0, kFar, false}, t0);
  pool.at(1).Enqueue({Lane::kInteractive, 0, kFar, false}, t0);
  EXPECT_EQ(pool.Pick(Lane::kInteractive, t0), 0u);
  EXPECT_EQ(pool.Pick(Lane::kBatch, t0), 1u);
  // Equal estimates: the key with less work wins.
  pool.at(1).Poll(t0);
  pool.at(0).Poll(t0);
  EXPECT_EQ(pool.Pick(Lane::kInteractive, t0 + 1s), 1u);
}

TEST(KeyPool, RequiresAKey) { EXPECT_THROW(KeyPool({}), std::invalid_argument); }

}  // namespace
}  // namespace kisgate::gate

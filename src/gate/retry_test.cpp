#include "gate/retry.hpp"

#include <algorithm>
#include <stdexcept>

#include <gtest/gtest.h>

namespace kisgate::gate {
namespace {

using namespace std::chrono_literals;
using common::Duration;
using common::SteadyTime;

constexpr SteadyTime kT0 = SteadyTime{} + 1h;

// Retries stay within 10 % of calls: 100 calls buy exactly 10 retries, the 11th is refused.
TEST(RetryBudget, AllowsTenPercentOfCalls) {
  RetryBudget budget({.ratio = 0.1, .min_retries = 0});
  EXPECT_FALSE(budget.TryConsumeRetry(kT0));
  for (int i = 0; i < 100; ++i) budget.RecordCall(kT0 + i * 10ms);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(budget.TryConsumeRetry(kT0 + 1s)) << i;
  EXPECT_FALSE(budget.TryConsumeRetry(kT0 + 1s));
  EXPECT_EQ(budget.retries_in_window(kT0 + 1s), 10u);
}

// The floor lets a quiet key retry a few times even with no call history.
TEST(RetryBudget, MinRetriesFloor) {
  RetryBudget budget({.ratio = 0.1, .min_retries = 3});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(budget.TryConsumeRetry(kT0));
  EXPECT_FALSE(budget.TryConsumeRetry(kT0));
}

// The window slides: calls and retries older than 10 s stop counting, so an old burst of calls
// does not fund retries now, and old retries do not block new ones.
TEST(RetryBudget, WindowSlides) {
  RetryBudget budget({.ratio = 0.1, .min_retries = 0});
  for (int i = 0; i < 100; ++i) budget.RecordCall(kT0);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(budget.TryConsumeRetry(kT0));
  EXPECT_FALSE(budget.TryConsumeRetry(kT0 + 9s));
  EXPECT_EQ(budget.calls_in_window(kT0 + 9s), 100u);
  EXPECT_EQ(budget.calls_in_window(kT0 + 11s), 0u);
  EXPECT_FALSE(budget.TryConsumeRetry(kT0 + 11s));
  for (int i = 0; i < 20; ++i) budget.RecordCall(kT0 + 11s);
  EXPECT_TRUE(budget.TryConsumeRetry(kT0 + 11s));
  EXPECT_TRUE(budget.TryConsumeRetry(kT0 + 11s));
  EXPECT_FALSE(budget.TryConsumeRetry(kT0 + 11s));
}

TEST(RetryBudget, ValidateNamesTheBadField) {
  EXPECT_EQ(RetryBudgetConfig{}.Validate(), std::nullopt);
  EXPECT_EQ((RetryBudgetConfig{.ratio = 1.5}.Validate()),
            "gate.retry_budget must be in [0, 1], got 1.5");
  EXPECT_THROW(RetryBudget({.ratio = -1}), std::invalid_argument);
}

// Full jitter: each delay is in [0, min(cap, base x 2^(attempt-1))), the ceiling doubles per
// attempt until the cap, and samples spread over the range rather than sitting at the ceiling.
TEST(Backoff, FullJitterWithinDoublingCeiling) {
  const BackoffConfig config{.base = 100ms, .cap = 2s};
  Rng rng(5);
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const Duration ceiling = std::min<Duration>(2s, 100ms * (1 << (attempt - 1)));
    Duration lo = ceiling;
    Duration hi{};
    for (int i = 0; i < 500; ++i) {
      const Duration d = Backoff(attempt, rng, config);
      ASSERT_GE(d, Duration::zero());
      ASSERT_LT(d, ceiling);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LT(lo, ceiling / 10) << attempt;
    EXPECT_GT(hi, ceiling * 9 / 10) << attempt;
  }
}

// Huge attempt numbers stay at the cap (no overflow), and a seed replays the same delays.
TEST(Backoff, CappedAndDeterministic) {
  Rng a(9);
  Rng b(9);
  for (int attempt : {1, 5, 40, 1000}) {
    const Duration d = Backoff(attempt, a);
    EXPECT_EQ(d, Backoff(attempt, b));
    EXPECT_LT(d, BackoffConfig{}.cap);
    EXPECT_GE(d, Duration::zero());
  }
  EXPECT_EQ((BackoffConfig{.base = 1s, .cap = 100ms}.Validate()),
            "gate.backoff_cap must be >= backoff_base (1000 ms), got 100 ms");
}

}  // namespace
}  // namespace kisgate::gate

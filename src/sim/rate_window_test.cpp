#include "sim/rate_window.hpp"

#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace kisgate::sim {
namespace {

using namespace std::chrono_literals;
common::SteadyTime At(std::chrono::milliseconds ms) { return common::SteadyTime{ms}; }

TEST(RateWindow, SlidingAdmitsLimitThenRefusesUntilOldestLeaves) {
  RateWindow w(WindowKind::kSliding, 18);
  for (int i = 0; i < 18; ++i) EXPECT_TRUE(w.TryAcquire(At(0ms))) << i;
  EXPECT_FALSE(w.TryAcquire(At(0ms)));
  EXPECT_FALSE(w.TryAcquire(At(999ms)));
  // The 18 calls at t=0 leave the window (t-1s, t] exactly at t=1s.
  EXPECT_TRUE(w.TryAcquire(At(1000ms)));
}

// A refused call does not use up the window: the limit counts admitted calls only.
TEST(RateWindow, RefusedCallsDoNotCount) {
  RateWindow w(WindowKind::kSliding, 2);
  EXPECT_TRUE(w.TryAcquire(At(0ms)));
  EXPECT_TRUE(w.TryAcquire(At(500ms)));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(w.TryAcquire(At(900ms)));
  EXPECT_TRUE(w.TryAcquire(At(1000ms)));
  EXPECT_FALSE(w.TryAcquire(At(1400ms)));
  EXPECT_TRUE(w.TryAcquire(At(1500ms)));
}

// Whatever the arrival pattern, no 1-second interval holds more admitted calls than the limit.
TEST(RateWindow, SlidingNeverExceedsLimitInAnyWindow) {
  RateWindow w(WindowKind::kSliding, 18);
  std::mt19937 rng(7);
  std::exponential_distribution<double> gap_ms(1.0 / 20);  // ~50 calls/s offered
  std::vector<common::SteadyTime> admitted;
  double t = 0;
  for (int i = 0; i < 5000; ++i) {
    t += gap_ms(rng);
    auto now = common::SteadyTime{std::chrono::microseconds(static_cast<std::int64_t>(t * 1000))};
    if (w.TryAcquire(now)) admitted.push_back(now);
  }
  ASSERT_GT(admitted.size(), 1000u);
  std::size_t first = 0;
  for (std::size_t last = 0; last < admitted.size(); ++last) {
    while (admitted[first] <= admitted[last] - 1s) ++first;
    ASSERT_LE(last - first + 1, 18u) << "window ending at call " << last;
  }
}

// Fixed buckets let a burst straddling a second boundary through twice: the reason the
// simulator's default is the sliding window, and why clients must plan for it.
TEST(RateWindow, FixedWindowAdmitsTwoBurstsAcrossABoundary) {
  RateWindow w(WindowKind::kFixed, 18);
  int admitted = 0;
  for (int i = 0; i < 18; ++i) admitted += w.TryAcquire(At(950ms));
  EXPECT_FALSE(w.TryAcquire(At(990ms)));
  for (int i = 0; i < 18; ++i) admitted += w.TryAcquire(At(1010ms));
  EXPECT_EQ(admitted, 36);
  EXPECT_FALSE(w.TryAcquire(At(1990ms)));
}

TEST(WindowPeak, ReportsBusiestSecond) {
  WindowPeak p;
  for (int i = 0; i < 5; ++i) p.Record(At(std::chrono::milliseconds(i * 100)));
  EXPECT_EQ(p.peak(), 5u);
  // The window (0.2 s, 1.2 s] holds the calls at 0.3 and 0.4 plus these three: still 5.
  for (int i = 0; i < 3; ++i) p.Record(At(1200ms));
  EXPECT_EQ(p.peak(), 5u);
  // (0.25 s, 1.25 s] now holds six.
  p.Record(At(1250ms));
  EXPECT_EQ(p.peak(), 6u);
  p.Reset();
  EXPECT_EQ(p.peak(), 0u);
}

}  // namespace
}  // namespace kisgate::sim

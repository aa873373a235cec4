#include "gate/gcra.hpp"

#include <gtest/gtest.h>

namespace kisgate::gate {
namespace {

using namespace std::chrono_literals;
using common::SteadyTime;

// The interval is rounded so that `rate` intervals always exceed one second (a closed 1-s window
// then holds at most `rate` calls), while staying within 1 ns of the exact spacing.
TEST(Gcra, IntervalRoundsUpByOneNanosecond) {
  EXPECT_EQ(Gcra::IntervalFor(20), 50ms + 1ns);
  EXPECT_EQ(Gcra::IntervalFor(18 * 0.97), 57'273'768ns + 1ns);
  EXPECT_GT(18 * Gcra::IntervalFor(18), 1s);
  EXPECT_GT(17 * Gcra::IntervalFor(17.46), 17 * 1s / 17.46);
}

// Without tolerance there is no burst: a call right after another does not conform until one
// interval has passed, however long the stream was idle before.
TEST(Gcra, NoBurstAfterIdle) {
  Gcra g;
  const SteadyTime t0 = SteadyTime{} + 1h;
  ASSERT_TRUE(g.Conforms(t0));
  g.Record(t0, 100ms);
  EXPECT_FALSE(g.Conforms(t0));
  EXPECT_FALSE(g.Conforms(t0 + 99ms));
  EXPECT_TRUE(g.Conforms(t0 + 100ms));
  EXPECT_EQ(g.EarliestConforming(), t0 + 100ms);
  g.Record(t0 + 10s, 100ms);  // idle time earns no credit
  EXPECT_EQ(g.tat(), t0 + 10s + 100ms);
}

// A tolerance lets a stream run that many intervals ahead, and ClampAhead forgives debt.
TEST(Gcra, ToleranceAllowsBoundedBurst) {
  Gcra g;
  const SteadyTime t0 = SteadyTime{} + 1h;
  int conforming = 0;
  while (g.Conforms(t0, 300ms)) {
    g.Record(t0, 100ms);
    ++conforming;
  }
  EXPECT_EQ(conforming, 4);  // TAT may reach t0 + 300 ms and still conform: 0, 100, 200, 300
  g.ClampAhead(t0, 100ms);
  EXPECT_EQ(g.tat(), t0 + 100ms);
}

}  // namespace
}  // namespace kisgate::gate

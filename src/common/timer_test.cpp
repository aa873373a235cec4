#include "common/timer.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace kisgate::common {
namespace {

using namespace std::chrono_literals;

TEST(Timer, FollowsTheManualClockNotRealTime) {
  ManualClock clock;
  ManualTimeScope scope(clock);
  boost::asio::io_context io;
  std::vector<int> fired;
  Timer a(io), b(io);
  a.expires_at(clock.Now() + 30s);
  b.expires_at(clock.Now() + 10s);
  a.async_wait([&](const boost::system::error_code& ec) { fired.push_back(ec ? -1 : 30); });
  b.async_wait([&](const boost::system::error_code& ec) { fired.push_back(ec ? -1 : 10); });
  const auto real_start = std::chrono::steady_clock::now();
  AdvanceAndRun(io, clock, 9s, 1s);
  EXPECT_TRUE(fired.empty());
  AdvanceAndRun(io, clock, 1s, 1s);
  EXPECT_EQ(fired, std::vector<int>{10});
  AdvanceAndRun(io, clock, 20s, 1s);
  EXPECT_EQ(fired, (std::vector<int>{10, 30}));
  // Thirty manual seconds are not thirty real ones.
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 10s);
}

TEST(Timer, ChainedWaitsInsideOneAdvanceFireInOrder) {
  ManualClock clock;
  ManualTimeScope scope(clock);
  boost::asio::io_context io;
  Timer t(io);
  std::vector<SteadyTime> at;
  std::function<void(const boost::system::error_code&)> again =
      [&](const boost::system::error_code& ec) {
        if (ec) return;
        at.push_back(clock.Now());
        if (at.size() == 5) return;
        t.expires_at(t.expiry() + 100ms);
        t.async_wait(again);
      };
  const auto start = clock.Now();
  t.expires_at(start + 100ms);
  t.async_wait(again);
  AdvanceAndRun(io, clock, 1s, 10ms);
  ASSERT_EQ(at.size(), 5u);
  for (std::size_t i = 0; i < at.size(); ++i) {
    // Each fired within one step of its expiry.
    EXPECT_GE(at[i] - start, (i + 1) * 100ms);
    EXPECT_LE(at[i] - start, (i + 1) * 100ms + 10ms);
  }
}

TEST(Timer, RealTimeWithoutAScope) {
  boost::asio::io_context io;
  Timer t(io);
  const auto start = std::chrono::steady_clock::now();
  t.expires_after(20ms);
  t.wait();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_GE(TimerClock::now(), start);
}

}  // namespace
}  // namespace kisgate::common

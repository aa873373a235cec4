#include "common/duration.hpp"

#include <gtest/gtest.h>

namespace kisgate::common {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesUnitsAndCompounds) {
  EXPECT_EQ(ParseDuration("250ms"), 250ms);
  EXPECT_EQ(ParseDuration("30s"), 30s);
  EXPECT_EQ(ParseDuration("5m"), 5min);
  EXPECT_EQ(ParseDuration("1h30m"), 90min);
  EXPECT_EQ(ParseDuration("2d"), 48h);
  EXPECT_EQ(ParseDuration("0s"), 0ms);
}

TEST(Duration, RejectsMalformed) {
  for (auto bad : {"", "5", "m", "5 m", "-5s", "5x", "1h30", "99999999999999999999d"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(Duration, FormatsShortestExactUnit) {
  EXPECT_EQ(FormatDuration(300s), "5m");
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
  EXPECT_EQ(FormatDuration(2h), "2h");
  EXPECT_EQ(FormatDuration(0ms), "0ms");
}

}  // namespace
}  // namespace kisgate::common

// The vocabulary's names are the config's and the wire's: each parses back to its value, no two
// values share a name, and the job session names are the market sessions plus "always".
#include "common/vocabulary.hpp"

#include <set>

#include <gtest/gtest.h>

namespace kisgate::common {
namespace {

template <class Enum, std::size_t N, class Parse>
void ExpectRoundTrip(const std::array<Enum, N>& all, Parse parse) {
  std::set<std::string_view> names;
  for (auto v : all) {
    EXPECT_TRUE(names.insert(Name(v)).second) << Name(v) << " names two values";
    EXPECT_EQ(parse(Name(v)), v) << Name(v);
  }
  EXPECT_EQ(parse(""), std::nullopt);
  EXPECT_EQ(parse("unknown"), std::nullopt);
}

TEST(Vocabulary, EveryNameRoundTrips) {
  ExpectRoundTrip(kAllDatasets, ParseDataset);
  ExpectRoundTrip(kAllLanes, ParseLane);
  ExpectRoundTrip(kAllSessions, ParseSession);
  EXPECT_EQ(ParseDataset("prices"), std::nullopt);
  EXPECT_EQ(ParseDataset("Price"), std::nullopt);  // names are exact, as in the config
}

// The names configs/*.toml and clients use today: renaming one would break them.
TEST(Vocabulary, NamesAreTheConfigsNames) {
  EXPECT_EQ(
      JoinNames(kAllDatasets),
      "price, orderbook, investors, overtime_price, overtime_orderbook, bars_minute, bars_daily");
  EXPECT_EQ(JoinNames(kAllLanes), "interactive, batch, background");
  EXPECT_EQ(JobSessionNames(), "pre_open, regular, closing, after_close, after_hours, always");
}

TEST(Vocabulary, JobSessionsAreMarketSessionsAndAlways) {
  EXPECT_TRUE(IsJobSession("regular"));
  EXPECT_TRUE(IsJobSession("after_hours"));
  EXPECT_TRUE(IsJobSession("always"));
  EXPECT_FALSE(IsJobSession("closed"));  // a job that runs only while the market is closed
  EXPECT_FALSE(IsJobSession("Regular"));
}

// The lanes' order is their priority (the gate indexes arrays by it).
TEST(Vocabulary, LanesAreInPriorityOrder) {
  for (std::size_t i = 0; i < kAllLanes.size(); ++i)
    EXPECT_EQ(static_cast<std::size_t>(kAllLanes[i]), i);
}

}  // namespace
}  // namespace kisgate::common

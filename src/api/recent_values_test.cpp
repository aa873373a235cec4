#include "api/recent_values.hpp"

#include <gtest/gtest.h>

namespace kisgate::api {
namespace {

store::Record Value(const std::string& code, const std::string& raw) {
  store::Record r;
  r.dataset = "price";
  r.code = code;
  r.raw = raw;
  return r;
}

// Bounded, and the least recently used value goes first (a read counts as a use).
TEST(RecentValues, HoldsAtMostItsCapacityLeastRecentlyUsedOutFirst) {
  RecentValues recent(2);
  recent.Put("price/000001", Value("000001", "a"));
  recent.Put("price/000002", Value("000002", "b"));
  ASSERT_NE(recent.Find("price/000001"), nullptr);  // 000002 is now the least recently used
  recent.Put("price/000003", Value("000003", "c"));
  EXPECT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent.Find("price/000002"), nullptr);
  EXPECT_EQ(recent.Find("price/000001")->raw, "a");
  recent.Put("price/000003", Value("000003", "c2"));  // replaced, not added
  EXPECT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent.Find("price/000003")->raw, "c2");
  for (int i = 0; i < 10'000; ++i) recent.Put("price/" + std::to_string(i), Value("x", "y"));
  EXPECT_EQ(recent.size(), 2u);
  RecentValues none(0);
  none.Put("price/000001", Value("000001", "a"));
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace kisgate::api

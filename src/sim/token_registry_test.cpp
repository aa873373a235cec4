#include "sim/token_registry.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace kisgate::sim {
namespace {

using namespace std::chrono_literals;

class TokenRegistryTest : public ::testing::Test {
 protected:
  common::ManualClock clock_;
  TokenRegistry registry_{TokenRules{}, clock_, 42};
};

TEST_F(TokenRegistryTest, IssuesJwtShapedTokenValidFor24Hours) {
  auto t = registry_.Issue("key-a");
  ASSERT_TRUE(t.has_value());
  EXPECT_FALSE(t->reused);
  EXPECT_GE(t->access_token.size(), 300u);
  EXPECT_EQ(std::count(t->access_token.begin(), t->access_token.end(), '.'), 2);
  EXPECT_EQ(t->expires_at, clock_.WallNow() + 24h);
  EXPECT_EQ(registry_.Check(t->access_token, "key-a"), TokenCheck::kValid);
  clock_.Advance(24h - 1s);
  EXPECT_EQ(registry_.Check(t->access_token, "key-a"), TokenCheck::kValid);
  clock_.Advance(1s);
  EXPECT_EQ(registry_.Check(t->access_token, "key-a"), TokenCheck::kExpired);
}

// KIS: one issuance request per minute per key; an earlier one is refused (EGW00133).
TEST_F(TokenRegistryTest, SecondRequestWithinAMinuteIsRefused) {
  ASSERT_TRUE(registry_.Issue("key-a").has_value());
  clock_.Advance(59s);
  EXPECT_FALSE(registry_.Issue("key-a").has_value());
  // Another key has its own allowance.
  EXPECT_TRUE(registry_.Issue("key-b").has_value());
  clock_.Advance(1s);
  EXPECT_TRUE(registry_.Issue("key-a").has_value());
}

// KIS: a request within 6 hours of the last issuance gets the same token and the same expiry.
TEST_F(TokenRegistryTest, SameTokenWithinSixHoursNewOneAfter) {
  auto first = registry_.Issue("key-a");
  ASSERT_TRUE(first);
  clock_.Advance(5h);
  auto second = registry_.Issue("key-a");
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->reused);
  EXPECT_EQ(second->access_token, first->access_token);
  EXPECT_EQ(second->expires_at, first->expires_at);
  clock_.Advance(1h);
  auto third = registry_.Issue("key-a");
  ASSERT_TRUE(third);
  EXPECT_FALSE(third->reused);
  EXPECT_NE(third->access_token, first->access_token);
  // The old token stays valid until its own expiry.
  EXPECT_EQ(registry_.Check(first->access_token, "key-a"), TokenCheck::kValid);
}

TEST_F(TokenRegistryTest, TokenBelongsToItsKey) {
  auto t = registry_.Issue("key-a");
  ASSERT_TRUE(t);
  EXPECT_EQ(registry_.Check(t->access_token, "key-b"), TokenCheck::kOtherKey);
  EXPECT_EQ(registry_.Check("not-a-token", "key-a"), TokenCheck::kUnknown);
}

TEST_F(TokenRegistryTest, RevokedTokenIsUnknownAndNextIssueIsNew) {
  auto t = registry_.Issue("key-a");
  ASSERT_TRUE(t);
  EXPECT_TRUE(registry_.Revoke(t->access_token));
  EXPECT_FALSE(registry_.Revoke(t->access_token));
  EXPECT_EQ(registry_.Check(t->access_token, "key-a"), TokenCheck::kUnknown);
  clock_.Advance(61s);
  auto next = registry_.Issue("key-a");
  ASSERT_TRUE(next);
  EXPECT_NE(next->access_token, t->access_token);
}

// Shortened lifetimes (the simulator's test flags) behave the same way, just faster.
TEST(TokenRegistry, ShortLifetimesForTests) {
  common::ManualClock clock;
  TokenRegistry registry(TokenRules{5s, 2s, 0s}, clock, 1);
  auto t = registry.Issue("k");
  ASSERT_TRUE(t);
  auto again = registry.Issue("k");  // no interval: allowed, and reused within 2 s
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->reused);
  clock.Advance(5s);
  EXPECT_EQ(registry.Check(t->access_token, "k"), TokenCheck::kExpired);
  auto fresh = registry.Issue("k");
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(fresh->reused);
}

TEST(TokenRegistry, ApprovalKeysAreUuidShapedAndDistinct) {
  common::ManualClock clock;
  TokenRegistry registry(TokenRules{}, clock, 1);
  auto a = registry.IssueApprovalKey("k");
  clock.Advance(1s);
  auto b = registry.IssueApprovalKey("k");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 36u);
  EXPECT_EQ((*a)[8], '-');
  EXPECT_NE(*a, *b);
}

// Approval keys name the app key they were issued to, and come at most one a second per app key.
TEST(TokenRegistry, ApprovalKeysAreBoundAndLimitedToOnePerSecondPerKey) {
  common::ManualClock clock;
  TokenRegistry registry(TokenRules{}, clock, 1);
  auto a = registry.IssueApprovalKey("key-a");
  ASSERT_TRUE(a);
  EXPECT_EQ(registry.ApprovalOwner(*a), "key-a");
  EXPECT_FALSE(registry.ApprovalOwner("00000000-0000-0000-0000-000000000000"));
  clock.Advance(999ms);
  EXPECT_FALSE(registry.IssueApprovalKey("key-a"));
  auto other = registry.IssueApprovalKey("key-b");  // another key has its own budget
  ASSERT_TRUE(other);
  EXPECT_EQ(registry.ApprovalOwner(*other), "key-b");
  clock.Advance(1ms);
  EXPECT_TRUE(registry.IssueApprovalKey("key-a"));
  EXPECT_EQ(registry.ApprovalOwner(*a), "key-a");  // the earlier key stays valid
}

}  // namespace
}  // namespace kisgate::sim

#include "coord/redis_session_lease.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "coord/coordinator.hpp"
#include "stream/kis_session.hpp"
#include "support/manual_time.hpp"
#include "support/redis_caught_up.hpp"
#include "support/redis_server.hpp"

namespace kisgate::coord {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// One kisgate instance: its coordinator (its own connection and name) and its lease on the key.
struct LeaseHolder {
  LeaseHolder(asio::io_context& io, const std::string& url, const std::string& name,
              const std::string& prefix, const common::Clock& clock, std::chrono::milliseconds ttl)
      : coordinator(io.get_executor(), Config(url, name), clock, Options(prefix)),
        lease(std::make_unique<RedisSessionLease>(
            coordinator, Coordinator::KeyId("real", "PSappkey"), RedisSessionLeaseOptions{ttl})) {}

  static config::CoordinationConfig Config(const std::string& url, const std::string& name) {
    config::CoordinationConfig config;
    config.url = url;
    config.instance = name;
    config.timeout = 200ms;
    return config;
  }
  static CoordinatorOptions Options(const std::string& prefix) {
    CoordinatorOptions options;
    options.prefix = prefix;
    return options;
  }

  Coordinator coordinator;
  std::unique_ptr<RedisSessionLease> lease;
};

// On manual time (testing::ManualTime): the clients' deadlines and the lease's local TTL follow
// it, and it moves on only once Redis has answered what was sent (testing::RedisCaughtUp). The
// lease's key expires on Redis's own clock, in real time.
class SessionLeaseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<testing::RedisServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    server_->Resume();
    time_.SetCatchUpLimit(1s);  // a live Redis answers: a busy machine is waited for
  }

  static std::string Prefix() {
    return std::string("test:") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  // An instance whose Redis commands manual time waits for.
  std::unique_ptr<LeaseHolder> Make(const std::string& name, std::chrono::milliseconds ttl) {
    auto instance = std::make_unique<LeaseHolder>(io_, server_->Url(), name, Prefix(), clock_, ttl);
    clients_.push_back(&instance->coordinator.client());
    return instance;
  }
  bool Acquire(LeaseHolder& who) { return time_.RunTask(io_, who.lease->Acquire(), caught_up_); }
  void Release(LeaseHolder& who) { time_.RunTask(io_, who.lease->Release(), caught_up_); }

  static std::unique_ptr<testing::RedisServer> server_;
  testing::ManualTime time_;
  const common::Clock& clock_ = time_.clock();
  asio::io_context io_;
  std::vector<const RedisClient*> clients_;
  testing::ManualTime::CaughtUp caught_up_ =
      testing::RedisCaughtUp([this] { return clients_; }, [] { return server_->paused(); });
};

std::unique_ptr<testing::RedisServer> SessionLeaseTest::server_;

// Two instances on one key: one holds the session, the other sees which, and takes it over once
// the holder releases it.
TEST_F(SessionLeaseTest, OneHoldsTheOtherSeesTheHolderUntilRelease) {
  auto a = Make("kisgate-a", 5s);
  auto b = Make("kisgate-b", 5s);
  EXPECT_EQ(a->lease->key(), b->lease->key());
  EXPECT_TRUE(Acquire(*a));
  EXPECT_EQ(a->lease->Holder(), "kisgate-a");
  EXPECT_FALSE(Acquire(*b));
  EXPECT_EQ(b->lease->Holder(), "kisgate-a");
  EXPECT_TRUE(Acquire(*a));  // renewed
  EXPECT_EQ(a->lease->stats().taken, 1u);
  EXPECT_EQ(a->lease->stats().renewed, 1u);
  Release(*a);
  EXPECT_TRUE(Acquire(*b));
  EXPECT_EQ(b->lease->Holder(), "kisgate-b");
  EXPECT_FALSE(Acquire(*a));
  EXPECT_EQ(a->lease->Holder(), "kisgate-b");
  // Releasing what another holds deletes nothing.
  Release(*a);
  EXPECT_FALSE(Acquire(*a));
  EXPECT_EQ(a->lease->Holder(), "kisgate-b");
}

// Two processes that share an instance name (a misconfiguration, or a restart before the TTL
// ran out) still hold the lease one at a time.
TEST_F(SessionLeaseTest, SameInstanceNameTwiceStillOneHolder) {
  auto a = Make("web-1", 5s);
  auto b = Make("web-1", 5s);
  EXPECT_TRUE(Acquire(*a));
  EXPECT_FALSE(Acquire(*b));
  EXPECT_EQ(b->lease->Holder(), "web-1");
}

// A holder that dies (no release, no renewal) loses the lease after its TTL; having lost it, it
// does not get it back while the new holder renews.
TEST_F(SessionLeaseTest, TakenOverAfterTheTtl) {
  auto a = Make("kisgate-a", 300ms);
  auto b = Make("kisgate-b", 300ms);
  EXPECT_TRUE(Acquire(*a));
  EXPECT_FALSE(Acquire(*b));
  // Redis's own clock expires the key: real time, waited for by asking Redis whether it is gone.
  ASSERT_TRUE(time_.RunUntil(
      io_,
      [&] {
        auto exists =
            time_.RunTask(io_, b->coordinator.Command({"EXISTS", b->lease->key()}), caught_up_);
        return exists && exists->integer == 0;
      },
      10min, caught_up_));
  EXPECT_TRUE(Acquire(*b));
  EXPECT_FALSE(Acquire(*a));
  EXPECT_EQ(a->lease->Holder(), "kisgate-b");
}

// Redis away longer than the TTL: the holder keeps the session (it holds KIS's single one) and
// takes the lease again when Redis is back, empty; an instance that did not hold it never gets it
// meanwhile. (The old rule gave the session up after the TTL: no real-time data anywhere for the
// outage and stream.hold after it.)
TEST_F(SessionLeaseTest, RedisAwayKeepsTheHolder) {
  auto a = Make("kisgate-a", 10s);
  auto b = Make("kisgate-b", 10s);
  EXPECT_TRUE(Acquire(*a));
  server_->Pause();
  time_.clock().Advance(9s);
  EXPECT_TRUE(Acquire(*a));  // Redis timed out; 9 s of 10 s gone
  EXPECT_GE(a->lease->stats().failures, 1u);
  EXPECT_FALSE(Acquire(*b));
  EXPECT_EQ(b->lease->Holder(), "");
  time_.clock().Advance(20s);
  EXPECT_TRUE(Acquire(*a));  // past the local TTL: still the holder
  EXPECT_FALSE(Acquire(*b));
  server_->Resume();
  server_->Stop();
  server_->Start();        // empty: the lease is gone from Redis
  a->coordinator.Start();  // the heartbeat finds Redis back
  b->coordinator.Start();
  ASSERT_TRUE(time_.RunUntil(
      io_, [&] { return b->coordinator.Shared(); }, 1min, caught_up_));
  // b asks first, the key free in the restarted Redis: it leaves it to the holder.
  EXPECT_FALSE(Acquire(*b));
  EXPECT_EQ(b->lease->stats().taken, 0u);
  EXPECT_TRUE(time_.RunUntil(
      io_, [&] { return Acquire(*a) && a->lease->stats().taken == 2; }, 1min, caught_up_));
  time_.clock().Advance(20s);
  EXPECT_FALSE(Acquire(*b));
  EXPECT_EQ(b->lease->Holder(), "kisgate-a");
  a->coordinator.Stop();
  b->coordinator.Stop();
}

// The lease's life and the session's renewal are one period defined once (stream/subscription.hpp):
// the session renews twice within the lease's life (its default was 10 s for a lease of 5 s, and
// the streams set 2 s in a third place).
TEST(SessionLeasePeriod, TheSessionRenewsWellWithinTheLeasesLife) {
  const RedisSessionLeaseOptions lease;
  const stream::KisSessionOptions session;
  EXPECT_EQ(lease.ttl, stream::kSessionLeaseTtl);
  EXPECT_LE(session.lease_renew * 2, lease.ttl);
}

}  // namespace
}  // namespace kisgate::coord

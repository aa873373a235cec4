#include "coord/redis_session_lease.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "coord/coordinator.hpp"
#include "support/redis_server.hpp"

namespace kisgate::coord {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

template <class T>
T RunTask(asio::io_context& io, asio::awaitable<T> task) {
  auto future = asio::co_spawn(io, std::move(task), asio::use_future);
  io.restart();
  while (future.wait_for(0s) != std::future_status::ready) io.run_one();
  return future.get();
}

// One kisgate instance: its coordinator (its own connection and name) and its lease on the key.
struct Instance {
  Instance(asio::io_context& io, const std::string& url, const std::string& name,
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

class SessionLeaseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<testing::RedisServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { server_->Resume(); }

  static std::string Prefix() {
    return std::string("test:") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  bool Acquire(Instance& who) { return RunTask(io_, who.lease->Acquire()); }
  void Release(Instance& who) { RunTask(io_, who.lease->Release()); }

  static std::unique_ptr<testing::RedisServer> server_;
  asio::io_context io_;
  const common::Clock& clock_ = common::SystemClock::Instance();
};

std::unique_ptr<testing::RedisServer> SessionLeaseTest::server_;

// Two instances on one key: one holds the session, the other sees which, and takes it over once
// the holder releases it.
TEST_F(SessionLeaseTest, OneHoldsTheOtherSeesTheHolderUntilRelease) {
  Instance a(io_, server_->Url(), "kisgate-a", Prefix(), clock_, 5s);
  Instance b(io_, server_->Url(), "kisgate-b", Prefix(), clock_, 5s);
  EXPECT_EQ(a.lease->key(), b.lease->key());
  EXPECT_TRUE(Acquire(a));
  EXPECT_EQ(a.lease->Holder(), "kisgate-a");
  EXPECT_FALSE(Acquire(b));
  EXPECT_EQ(b.lease->Holder(), "kisgate-a");
  EXPECT_TRUE(Acquire(a));  // renewed
  EXPECT_EQ(a.lease->stats().taken, 1u);
  EXPECT_EQ(a.lease->stats().renewed, 1u);
  Release(a);
  EXPECT_TRUE(Acquire(b));
  EXPECT_EQ(b.lease->Holder(), "kisgate-b");
  EXPECT_FALSE(Acquire(a));
  EXPECT_EQ(a.lease->Holder(), "kisgate-b");
  // Releasing what another holds deletes nothing.
  Release(a);
  EXPECT_FALSE(Acquire(a));
  EXPECT_EQ(a.lease->Holder(), "kisgate-b");
}

// Two processes that share an instance name (a misconfiguration, or a restart before the TTL
// ran out) still hold the lease one at a time.
TEST_F(SessionLeaseTest, SameInstanceNameTwiceStillOneHolder) {
  Instance a(io_, server_->Url(), "web-1", Prefix(), clock_, 5s);
  Instance b(io_, server_->Url(), "web-1", Prefix(), clock_, 5s);
  EXPECT_TRUE(Acquire(a));
  EXPECT_FALSE(Acquire(b));
  EXPECT_EQ(b.lease->Holder(), "web-1");
}

// A holder that dies (no release, no renewal) loses the lease after its TTL; having lost it, it
// does not get it back while the new holder renews.
TEST_F(SessionLeaseTest, TakenOverAfterTheTtl) {
  Instance a(io_, server_->Url(), "kisgate-a", Prefix(), clock_, 300ms);
  Instance b(io_, server_->Url(), "kisgate-b", Prefix(), clock_, 300ms);
  EXPECT_TRUE(Acquire(a));
  EXPECT_FALSE(Acquire(b));
  std::this_thread::sleep_for(400ms);  // Redis's own clock expires the key
  EXPECT_TRUE(Acquire(b));
  EXPECT_FALSE(Acquire(a));
  EXPECT_EQ(a.lease->Holder(), "kisgate-b");
}

// Redis paused: the holder keeps the session while its TTL, counted locally from its last
// successful Acquire, runs; then gives it up. An instance that did not hold it never gets it.
TEST_F(SessionLeaseTest, RedisAwayKeepsOnlyAHolderWithinItsTtl) {
  common::ManualClock manual;
  Instance a(io_, server_->Url(), "kisgate-a", Prefix(), manual, 10s);
  Instance b(io_, server_->Url(), "kisgate-b", Prefix(), manual, 10s);
  EXPECT_TRUE(Acquire(a));
  server_->Pause();
  manual.Advance(9s);
  EXPECT_TRUE(Acquire(a));  // Redis timed out; 9 s of 10 s gone
  EXPECT_GE(a.lease->stats().failures, 1u);
  EXPECT_FALSE(Acquire(b));
  EXPECT_EQ(b.lease->Holder(), "");
  manual.Advance(1s);
  EXPECT_FALSE(Acquire(a));  // the local TTL has run out
  EXPECT_EQ(a.lease->Holder(), "");
  server_->Resume();
}

}  // namespace
}  // namespace kisgate::coord

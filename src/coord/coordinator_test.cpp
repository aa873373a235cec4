#include "coord/coordinator.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "coord/redis_key_share.hpp"
#include "kis/token_manager.hpp"
#include "support/manual_time.hpp"
#include "support/redis_caught_up.hpp"
#include "support/redis_server.hpp"

namespace kisgate::coord {
namespace {

namespace asio = boost::asio;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using Status = gate::SlotGrant::Status;
using Mode = gate::CoordinationStats::Mode;

// On manual time (testing::ManualTime): heartbeats, probes and the clients' deadlines follow it,
// and it moves on only once Redis has answered what was sent (testing::RedisCaughtUp). Its wall
// time starts at the real time: Redis keeps the token's expiry (PXAT) on its own clock.
class CoordinatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<testing::RedisServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    if (!server_->running()) server_->Start();
    time_.SetCatchUpLimit(
        std::chrono::seconds(1));  // a live Redis answers: a busy machine is waited for
    a_ = Make("a");
    b_ = Make("b");
    key_id_ = Coordinator::KeyId("mock", "test-app-key-" + std::to_string(++keys_));
  }

  std::unique_ptr<Coordinator> Make(const std::string& instance,
                                    const common::Clock* clock = nullptr,
                                    milliseconds alive_window = milliseconds(5000),
                                    const std::filesystem::path& state_file = {},
                                    int configured_instances = 0) {
    config::CoordinationConfig config;
    config.instances = configured_instances;
    config.url = server_->Url();
    config.instance = instance;
    // Generous for a loaded machine: these tests are about sharing, not speed.
    config.timeout = milliseconds(1000);
    CoordinatorOptions options;
    options.prefix = "test";
    options.heartbeat = milliseconds(50);
    options.alive_window = alive_window;
    options.state_file = state_file;
    auto c = std::make_unique<Coordinator>(io_.get_executor(), config,
                                           clock ? *clock : time_.clock(), options);
    Watch(*c);
    return c;
  }
  // Manual time waits for the commands of `c` too.
  void Watch(Coordinator& c) { clients_.push_back(&c.client()); }

  template <class T>
  T RunTask(asio::awaitable<T> task) {
    return time_.RunTask(io_, std::move(task), caught_up_);
  }
  // Runs io_ on manual time until `done` holds (false after a minute of it).
  bool Until(const std::function<bool()>& done) {
    return time_.RunUntil(io_, done, std::chrono::minutes(1), caught_up_);
  }

  std::optional<SharedGrant> Reserve(RedisKeyShare& share, const std::string& call,
                                     common::Duration interval, int cap, common::Duration lease) {
    return RunTask(share.ReserveSlot(call, interval, cap, lease));
  }

  // Waits for the fire-and-forget commands of `c` (Release, CoolDown, Withdraw) to be done.
  void Flush(Coordinator& c) {
    ASSERT_TRUE(Until([&] { return c.outstanding() == 0; }));
  }

  static std::unique_ptr<testing::RedisServer> server_;
  static int keys_;
  testing::ManualTime time_{std::chrono::system_clock::now()};
  asio::io_context io_;  // before the coordinators: they go first
  std::vector<const RedisClient*> clients_;
  testing::ManualTime::CaughtUp caught_up_ =
      testing::RedisCaughtUp([this] { return clients_; }, [] { return server_->paused(); });
  std::unique_ptr<Coordinator> a_;
  std::unique_ptr<Coordinator> b_;
  std::string key_id_;
};

std::unique_ptr<testing::RedisServer> CoordinatorTest::server_;
int CoordinatorTest::keys_ = 0;

TEST(CoordinatorKeyId, IsAHashPrefixNotTheKey) {
  const std::string id = Coordinator::KeyId("real", "PSabcdefSECRETKEY");
  EXPECT_EQ(id.size(), 16U);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_EQ(id, Coordinator::KeyId("real", "PSabcdefSECRETKEY"));
  EXPECT_NE(id, Coordinator::KeyId("mock", "PSabcdefSECRETKEY"));
  EXPECT_NE(id, Coordinator::KeyId("real", "PSabcdefSECRETKEZ"));
}

// At shutdown a coroutine frame holding the gateway's state is destroyed with the io_context,
// after the coordinator: ~KeyGate then releases its leases through a share whose coordinator is
// gone. The share must not touch it (the coordinator's memory is overwritten here, as a freed
// block reused; the old code crashed in Spawn).
TEST(CoordinatorShutdown, SharesOutlivingTheirCoordinatorDoNothing) {
  asio::io_context io;
  config::CoordinationConfig config;
  config.url = "redis://127.0.0.1:1/0";
  config.instance = "a";
  alignas(Coordinator) unsigned char storage[sizeof(Coordinator)];
  auto* coordinator =
      new (storage) Coordinator(io.get_executor(), config, common::SystemClock::Instance());
  auto key = coordinator->ShareKey("k");
  auto token = coordinator->ShareToken("k");
  coordinator->~Coordinator();
  std::memset(storage, 0xff, sizeof(storage));
  key->Release("call-1");
  key->CoolDown(milliseconds(100));
  token->Withdraw("token");
  EXPECT_FALSE(key->Shared());
  EXPECT_EQ(io.run(), 0u);  // nothing was started on the freed coordinator's behalf
}

// A password Redis refuses is an operator's error, not a slow Redis: Stats().error (shown on
// /readyz) names the setting to fix, and it clears once Redis accepts the instance.
TEST(CoordinatorPassword, RefusedPasswordNamesTheSetting) {
  testing::RedisServer server("right-password");
  asio::io_context io;
  config::CoordinationConfig config;
  config.url = server.Url();
  config.password = "wrong-password";
  config.instance = "a";
  config.timeout = milliseconds(1000);
  CoordinatorOptions options;
  options.heartbeat = milliseconds(20);
  Coordinator coordinator(io.get_executor(), config, common::SystemClock::Instance(), options);
  coordinator.Start();
  for (int i = 0; i < 200 && coordinator.Stats().error.empty(); ++i) io.run_for(milliseconds(20));
  const std::string error = coordinator.Stats().error;
  EXPECT_NE(error.find("coordination.password"), std::string::npos) << error;
  EXPECT_EQ(error.find("right-password"), std::string::npos) << error;
  EXPECT_EQ(error.find("wrong-password"), std::string::npos) << error;
  EXPECT_FALSE(coordinator.Shared());
  coordinator.Stop();
  io.run_for(milliseconds(50));
}

// A bad URL stops the start with a message that names the setting and hides the password.
TEST(CoordinatorConfig, BadUrlNamesTheSettingWithoutThePassword) {
  asio::io_context io;
  config::CoordinationConfig config;
  config.url = "redis://:hunter2@localhost:notaport/0";
  try {
    Coordinator c(io.get_executor(), config, common::SystemClock::Instance());
    FAIL() << "accepted " << config.url;
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("coordination.url"), std::string::npos) << what;
    EXPECT_EQ(what.find("hunter2"), std::string::npos) << what;
  }
}

TEST_F(CoordinatorTest, NamesAndKeys) {
  EXPECT_EQ(a_->instance(), "a");
  EXPECT_EQ(a_->Key("abc", "tat"), "test:{abc}:tat");
  EXPECT_EQ(a_->Key("", "instances"), "test:instances");
  config::CoordinationConfig config;
  config.url = server_->Url();
  Coordinator unnamed(io_.get_executor(), config, time_.clock());
  EXPECT_NE(unnamed.instance().find('-'), std::string::npos) << unnamed.instance();
  EXPECT_EQ(unnamed.Stats().mode, Mode::kShared);
  EXPECT_EQ(unnamed.Stats().instance, unnamed.instance());
}

// Reservations of two instances on one key, concurrent, are spaced at least the interval apart on
// Redis's clock, whoever took them.
TEST_F(CoordinatorTest, TwoInstancesShareOneSchedule) {
  auto share_a = a_->ShareKey(key_id_);
  auto share_b = b_->ShareKey(key_id_);
  auto* ra = dynamic_cast<RedisKeyShare*>(share_a.get());
  auto* rb = dynamic_cast<RedisKeyShare*>(share_b.get());
  ASSERT_NE(ra, nullptr);
  ASSERT_NE(rb, nullptr);
  constexpr auto kInterval = microseconds(3000);
  constexpr int kEach = 25;
  std::vector<std::int64_t> slots;
  int from_a = 0;
  int from_b = 0;
  int done = 0;
  for (int i = 0; i < 2 * kEach; ++i) {
    RedisKeyShare* share = i % 2 == 0 ? ra : rb;
    int& count = i % 2 == 0 ? from_a : from_b;
    asio::co_spawn(
        io_,
        [&, share, i]() -> asio::awaitable<void> {
          auto op = share->ReserveSlot("call" + std::to_string(i), kInterval, 1000,
                                       std::chrono::seconds(5));
          std::optional<SharedGrant> grant = co_await std::move(op);
          if (grant && grant->grant.status == Status::kGranted) {
            slots.push_back(grant->slot_us);
            ++count;
            EXPECT_EQ(grant->grant.wait, microseconds(grant->slot_us - grant->now_us));
          }
          ++done;
        },
        testing::Rethrow);
  }
  ASSERT_TRUE(Until([&] { return done == 2 * kEach; }));
  EXPECT_EQ(from_a, kEach);
  EXPECT_EQ(from_b, kEach);
  std::sort(slots.begin(), slots.end());
  for (std::size_t i = 1; i < slots.size(); ++i)
    EXPECT_GE(slots[i] - slots[i - 1], kInterval.count()) << "slots " << i - 1 << " and " << i;
  // Later reservations queue behind the earlier ones: the schedule runs ahead of Redis's clock.
  EXPECT_GT(slots.back() - slots.front(), (2 * kEach - 2) * kInterval.count());
}

// FLUSHALL while instances hold slots of the schedule: the next slot comes after them, not at
// once (the old script restarted the schedule at Redis's now: one EGW00201 in the repro).
TEST_F(CoordinatorTest, ScheduleLostByFlushallRestartsAfterTheSlotsHeld) {
  a_->Start();
  b_->Start();
  ASSERT_TRUE(Until([&] { return a_->Stats().instances == 2 && b_->Stats().instances == 2; }));
  auto share_a = a_->ShareKey(key_id_);
  auto share_b = b_->ShareKey(key_id_);
  auto* ra = dynamic_cast<RedisKeyShare*>(share_a.get());
  auto* rb = dynamic_cast<RedisKeyShare*>(share_b.get());
  constexpr auto kInterval = std::chrono::milliseconds(200);
  auto first = Reserve(*ra, "a1", kInterval, 10, std::chrono::seconds(5));
  auto second = Reserve(*rb, "b1", kInterval, 10, std::chrono::seconds(5));
  ASSERT_TRUE(first && second);
  ASSERT_GT(second->slot_us, first->slot_us);
  ASSERT_TRUE(RunTask(a_->client().Command({"FLUSHALL"})));
  auto after = Reserve(*ra, "a2", kInterval, 10, std::chrono::seconds(5));
  ASSERT_TRUE(after);
  ASSERT_EQ(after->grant.status, Status::kGranted);
  EXPECT_GE(after->slot_us - second->slot_us, 200'000)
      << "first " << first->slot_us << " second " << second->slot_us << " after " << after->slot_us
      << " now " << after->now_us;
  a_->Stop();
  b_->Stop();
}

// Garbage in the key's shared entries (another type, or a value no script wrote) is replaced:
// the instance stays in shared mode and gets its slot.
TEST_F(CoordinatorTest, GarbageInTheSharedKeysIsReplaced) {
  auto share = a_->ShareKey(key_id_);
  auto* ra = dynamic_cast<RedisKeyShare*>(share.get());
  for (const char* what : {"tat", "inflight"}) {
    ASSERT_TRUE(RunTask(a_->client().Command({"SET", a_->Key(key_id_, what), "garbage"})));
  }
  ASSERT_TRUE(RunTask(a_->client().Command({"SET", a_->Key("", "instances"), "garbage"})));
  auto grant = Reserve(*ra, "x", microseconds(1000), 5, std::chrono::seconds(5));
  ASSERT_TRUE(grant);
  EXPECT_EQ(grant->grant.status, Status::kGranted);
  EXPECT_TRUE(a_->Shared());
  ASSERT_TRUE(RunTask(a_->client().Command({"HSET", a_->Key(key_id_, "tat"), "f", "v"})));
  ASSERT_TRUE(RunTask(a_->client().Command({"LPUSH", a_->Key(key_id_, "inflight"), "v"})));
  auto again = Reserve(*ra, "y", microseconds(1000), 5, std::chrono::seconds(5));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->grant.status, Status::kGranted);
  a_->Start();  // the heartbeat repairs its own keys too
  time_.RunFor(io_, milliseconds(200), caught_up_);
  EXPECT_TRUE(a_->Shared());
  EXPECT_EQ(a_->Stats().fallbacks, 0U);
  a_->Stop();
}

// The in-flight cap counts the leases of both instances; a release frees one for the other.
TEST_F(CoordinatorTest, InFlightCapIsShared) {
  auto share_a = a_->ShareKey(key_id_);
  auto share_b = b_->ShareKey(key_id_);
  auto& ra = dynamic_cast<RedisKeyShare&>(*share_a);
  auto& rb = dynamic_cast<RedisKeyShare&>(*share_b);
  const auto lease = std::chrono::seconds(10);
  constexpr auto kInterval = microseconds(1);
  ASSERT_EQ(Reserve(ra, "a1", kInterval, 3, lease)->grant.status, Status::kGranted);
  ASSERT_EQ(Reserve(ra, "a2", kInterval, 3, lease)->grant.status, Status::kGranted);
  ASSERT_EQ(Reserve(rb, "b1", kInterval, 3, lease)->grant.status, Status::kGranted);
  auto full = Reserve(rb, "b2", kInterval, 3, lease);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->grant.status, Status::kInFlightFull);
  EXPECT_GT(full->grant.wait, microseconds(0));
  EXPECT_LE(full->grant.wait, RedisKeyShare::kMaxFullWait);
  auto full_a = Reserve(ra, "a3", kInterval, 3, lease);
  EXPECT_EQ(full_a->grant.status, Status::kInFlightFull);

  share_a->Release("a1");
  Flush(*a_);
  auto granted = Reserve(rb, "b2", kInterval, 3, lease);
  ASSERT_TRUE(granted);
  EXPECT_EQ(granted->grant.status, Status::kGranted);
  // The same call name on the other instance is another lease: releasing b's "a2" frees nothing.
  share_b->Release("a2");
  Flush(*b_);
  EXPECT_EQ(Reserve(ra, "a4", kInterval, 3, lease)->grant.status, Status::kInFlightFull);
}

// A lease never released (its instance was killed) comes back by itself when it expires.
TEST_F(CoordinatorTest, UnreleasedLeaseExpires) {
  auto share_a = a_->ShareKey(key_id_);
  auto share_b = b_->ShareKey(key_id_);
  auto& ra = dynamic_cast<RedisKeyShare&>(*share_a);
  auto& rb = dynamic_cast<RedisKeyShare&>(*share_b);
  const auto lease = milliseconds(40);
  ASSERT_EQ(Reserve(ra, "lost", microseconds(1), 1, lease)->grant.status, Status::kGranted);
  auto full = Reserve(rb, "b", microseconds(1), 1, lease);
  ASSERT_EQ(full->grant.status, Status::kInFlightFull);
  EXPECT_LE(full->grant.wait, lease);
  std::optional<SharedGrant> later;
  // Redis's own clock expires the lease: real time, waited for by asking Redis.
  ASSERT_TRUE(Until([&] {
    later = Reserve(rb, "b", microseconds(1), 1, lease);
    return later && later->grant.status == Status::kGranted;
  }));
  // Granted no earlier than the lost lease's expiry on Redis's clock.
  EXPECT_GE(later->now_us - full->now_us, 0);
}

// A cooldown set by one instance pauses the key for the other, and a shorter one never shortens
// it.
TEST_F(CoordinatorTest, CooldownIsSeenByTheOther) {
  auto share_a = a_->ShareKey(key_id_);
  auto share_b = b_->ShareKey(key_id_);
  auto& rb = dynamic_cast<RedisKeyShare&>(*share_b);
  share_a->CoolDown(milliseconds(5000));
  share_a->CoolDown(milliseconds(10));
  Flush(*a_);
  auto cooling = Reserve(rb, "b", microseconds(1), 5, milliseconds(100));
  ASSERT_TRUE(cooling);
  EXPECT_EQ(cooling->grant.status, Status::kCoolingDown);
  EXPECT_GT(cooling->grant.wait, milliseconds(4000));
  EXPECT_LE(cooling->grant.wait, milliseconds(5000));
  // A short cooldown ends by itself.
  const std::string other = Coordinator::KeyId("mock", "another key");
  auto short_a = a_->ShareKey(other);
  auto short_b = b_->ShareKey(other);
  short_a->CoolDown(milliseconds(30));
  Flush(*a_);
  auto& sb = dynamic_cast<RedisKeyShare&>(*short_b);
  EXPECT_EQ(Reserve(sb, "b", microseconds(1), 5, milliseconds(100))->grant.status,
            Status::kCoolingDown);
  // Redis's own clock ends the cooldown: real time, waited for by asking Redis.
  ASSERT_TRUE(Until([&] {
    return Reserve(sb, "b", microseconds(1), 5, milliseconds(100))->grant.status ==
           Status::kGranted;
  }));
}

// The instances count each other; when Redis goes away each falls back to 1/2 of the rate (logged
// and counted once), and returns to shared mode by itself when Redis is back.
TEST_F(CoordinatorTest, FallsBackWhenRedisStopsAndReturns) {
  a_->Start();
  b_->Start();
  ASSERT_TRUE(Until([&] { return a_->Stats().instances == 2 && b_->Stats().instances == 2; }));
  auto share_a = a_->ShareKey(key_id_);
  EXPECT_TRUE(share_a->Shared());
  auto granted = RunTask(share_a->Reserve("x", microseconds(1), 5, milliseconds(100)));
  ASSERT_TRUE(granted);

  server_->Stop();
  auto failed = RunTask(share_a->Reserve("y", microseconds(1), 5, milliseconds(100)));
  EXPECT_FALSE(failed);
  EXPECT_FALSE(share_a->Shared());
  EXPECT_DOUBLE_EQ(share_a->FallbackShare(), 0.5);
  EXPECT_EQ(a_->Stats().mode, Mode::kFallback);
  EXPECT_EQ(a_->Stats().fallbacks, 1U);
  // While in fallback, Reserve answers at once without Redis; the episode is counted once.
  auto again = RunTask(share_a->Reserve("z", microseconds(1), 5, milliseconds(100)));
  EXPECT_FALSE(again);
  ASSERT_TRUE(Until([&] { return !b_->Shared(); }));  // b's heartbeat notices
  EXPECT_DOUBLE_EQ(b_->FallbackShare(), 0.5);
  const auto commands = a_->client().stats().commands;
  time_.RunFor(io_, milliseconds(200), caught_up_);  // several failed probes
  EXPECT_GE(a_->client().stats().commands, commands + 3);
  EXPECT_EQ(a_->Stats().fallbacks, 1U);
  EXPECT_EQ(b_->Stats().fallbacks, 1U);

  server_->Start();
  ASSERT_TRUE(Until([&] { return a_->Shared() && b_->Shared(); }));
  EXPECT_EQ(a_->Stats().mode, Mode::kShared);
  EXPECT_EQ(a_->Stats().fallbacks, 1U);
  // The restarted Redis lost the list of instances; the count does not drop for that.
  EXPECT_EQ(a_->Stats().instances, 2);
  EXPECT_EQ(b_->Stats().instances, 2);
  auto back = RunTask(share_a->Reserve("w", microseconds(1), 5, milliseconds(100)));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, Status::kGranted);
  a_->Stop();
  b_->Stop();
}

// Three instances restarted while Redis is down each assume the count their last run saw (or the
// configured one), not that they are alone: their fallback shares add up to the key's rate.
TEST_F(CoordinatorTest, StartedWithoutRedisAssumesTheCountLastSeen) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("kisgate-coord-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "coordination-instances";
  std::filesystem::remove(file);
  {
    auto a = Make("s", nullptr, milliseconds(5000), file);  // a_ is "a"
    auto c = Make("c");
    a->Start();
    a_->Start();
    c->Start();
    ASSERT_TRUE(Until([&] { return a->Stats().instances == 3; }));
    a->Stop();
    a_->Stop();
    c->Stop();
    time_.RunFor(io_, milliseconds(100), caught_up_);
  }
  server_->Stop();
  auto restarted = Make("s", nullptr, milliseconds(5000), file);
  EXPECT_EQ(restarted->Stats().instances, 3);
  restarted->Start();
  ASSERT_TRUE(Until([&] { return !restarted->Shared(); }));
  EXPECT_DOUBLE_EQ(restarted->FallbackShare(), 1.0 / 3);
  auto configured = Make("d", nullptr, milliseconds(5000), {}, 4);
  configured->Start();
  ASSERT_TRUE(Until([&] { return !configured->Shared(); }));
  EXPECT_DOUBLE_EQ(configured->FallbackShare(), 0.25);
  restarted->Stop();
  configured->Stop();
  server_->Start();
  std::filesystem::remove_all(dir);
}

// An instance that stops leaves the count at once; one that dies leaves it after the window.
TEST_F(CoordinatorTest, InstancesThatLeaveAreNoLongerCounted) {
  auto watcher = Make("watcher", nullptr, milliseconds(300));
  auto leaving = Make("leaving");
  // The dying instance runs on an io_context of its own, which the test stops running: like
  // kill -9, it just stops beating. (Manual time does not wait for it: its replies are read only
  // when the test runs its io_context.)
  asio::io_context dying_io;
  config::CoordinationConfig config;
  config.url = server_->Url();
  config.instance = "dying";
  config.timeout = milliseconds(1000);
  CoordinatorOptions options;
  options.prefix = "test";
  options.heartbeat = milliseconds(50);
  Coordinator dying(dying_io.get_executor(), config, time_.clock(), options);
  watcher->Start();
  leaving->Start();
  dying.Start();
  ASSERT_TRUE(Until([&] {
    dying_io.restart();
    dying_io.poll();
    return watcher->Stats().instances == 3;
  }));
  leaving->Stop();
  // The dying one is dropped once Redis's own clock has passed the window: real time.
  ASSERT_TRUE(Until([&] { return watcher->Stats().instances == 1; }));
  EXPECT_DOUBLE_EQ(watcher->FallbackShare(), 1.0);
  watcher->Stop();
}

// A server that hangs (SIGSTOP) is a fallback too: the command's timeout.
TEST_F(CoordinatorTest, FallsBackWhenRedisHangs) {
  config::CoordinationConfig config;
  config.url = server_->Url();
  config.instance = "slow";
  config.timeout = milliseconds(50);
  Coordinator c(io_.get_executor(), config, time_.clock());
  Watch(c);
  auto share = c.ShareKey(key_id_);
  server_->Pause();
  const auto paused_at = time_.Now();
  auto failed = RunTask(share->Reserve("x", microseconds(1), 5, milliseconds(100)));
  EXPECT_LE(time_.Now() - paused_at, config.timeout + testing::ManualTime::kStep);  // its deadline
  server_->Resume();
  EXPECT_FALSE(failed);
  EXPECT_FALSE(share->Shared());
  EXPECT_EQ(c.Stats().fallbacks, 1U);
  EXPECT_EQ(c.client().stats().timeouts, 1U);
}

// Two instances ask for the right to issue the token at once: exactly one gets it.
TEST_F(CoordinatorTest, TokenRightGoesToExactlyOne) {
  auto token_a = a_->ShareToken(key_id_);
  auto token_b = b_->ShareToken(key_id_);
  std::optional<bool> got_a;
  std::optional<bool> got_b;
  int done = 0;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        got_a = co_await token_a->TryIssueRight(std::chrono::seconds(60));
        ++done;
      },
      testing::Rethrow);
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        got_b = co_await token_b->TryIssueRight(std::chrono::seconds(60));
        ++done;
      },
      testing::Rethrow);
  ASSERT_TRUE(Until([&] { return done == 2; }));
  ASSERT_TRUE(got_a);
  ASSERT_TRUE(got_b);
  EXPECT_NE(*got_a, *got_b);
  // Nobody gets it again within the hold, not even the holder.
  EXPECT_EQ(RunTask(token_a->TryIssueRight(std::chrono::seconds(60))), false);
  EXPECT_EQ(RunTask(token_b->TryIssueRight(std::chrono::seconds(60))), false);
  // After the hold, once more exactly one.
  const std::string other = Coordinator::KeyId("mock", "short hold");
  auto short_a = a_->ShareToken(other);
  auto short_b = b_->ShareToken(other);
  EXPECT_EQ(RunTask(short_a->TryIssueRight(milliseconds(30))), true);
  EXPECT_EQ(RunTask(short_b->TryIssueRight(milliseconds(30))), false);
  // Redis's own clock ends the hold: real time, waited for by asking Redis.
  ASSERT_TRUE(Until([&] {
    return RunTask(short_b->TryIssueRight(milliseconds(30))) == std::optional<bool>(true);
  }));
}

// A token one instance publishes is read by the other until it expires or is withdrawn.
TEST_F(CoordinatorTest, PublishReadWithdraw) {
  auto token_a = a_->ShareToken(key_id_);
  auto token_b = b_->ShareToken(key_id_);
  EXPECT_FALSE(RunTask(token_b->Read()));
  kis::Token token;
  token.value = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.payload.sig";
  token.expires_at =
      std::chrono::time_point_cast<milliseconds>(time_.clock().WallNow()) + std::chrono::hours(20);
  RunTask(token_a->Publish(token));
  auto read = RunTask(token_b->Read());
  ASSERT_TRUE(read);
  EXPECT_EQ(read->value, token.value);
  EXPECT_EQ(read->expires_at, token.expires_at);
  auto ttl = RunTask(a_->client().Command({"PTTL", a_->Key(key_id_, "token")}));
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl->integer, 19 * 3600 * 1000LL);  // the key expires with the token

  // An instance whose clock is past the expiry does not use it.
  common::ManualClock late(time_.clock().WallNow() + std::chrono::hours(21));
  auto c = Make("late", &late);
  EXPECT_FALSE(RunTask(c->ShareToken(key_id_)->Read()));

  // Withdrawing another token changes nothing; withdrawing this one removes it for everyone.
  token_b->Withdraw("some older token");
  Flush(*b_);
  EXPECT_TRUE(RunTask(token_a->Read()));
  token_b->Withdraw(token.value);
  Flush(*b_);
  EXPECT_FALSE(RunTask(token_a->Read()));
}

// With Redis gone the token share answers "unknown" (nullopt) rather than "no".
TEST_F(CoordinatorTest, TokenShareWithoutRedis) {
  auto token_a = a_->ShareToken(key_id_);
  server_->Stop();
  EXPECT_EQ(RunTask(token_a->TryIssueRight(std::chrono::seconds(60))), std::nullopt);
  EXPECT_FALSE(RunTask(token_a->Read()));
  EXPECT_FALSE(a_->Shared());
  server_->Start();
}

}  // namespace
}  // namespace kisgate::coord

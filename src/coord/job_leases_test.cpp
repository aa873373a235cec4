#include "coord/job_leases.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>

#include "collect/schedule.hpp"
#include "common/kst.hpp"
#include "support/manual_time.hpp"
#include "support/redis_caught_up.hpp"
#include "support/redis_server.hpp"

namespace kisgate::coord {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

config::JobConfig Job(const char* name, std::chrono::milliseconds every) {
  config::JobConfig j;
  j.name = name;
  j.dataset = "price";
  j.every = every;
  j.sessions = {"always"};
  return j;
}

// One kisgate instance's view: its own coordinator (its connection to Redis, its name) and its
// own leases.
struct Instance {
  Instance(asio::io_context& io, const common::Clock& clock, const std::string& url,
           const std::string& name, const std::string& prefix,
           std::chrono::milliseconds margin = 5s)
      : coordinator(io.get_executor(), Config(url, name), clock, Options(prefix)),
        leases(std::make_unique<JobLeases>(coordinator, JobLeasesOptions{margin})) {}

  static config::CoordinationConfig Config(const std::string& url, const std::string& name) {
    config::CoordinationConfig config;
    config.url = url;
    config.instance = name;
    config.timeout = 500ms;  // generous for a loaded CI machine
    return config;
  }
  static CoordinatorOptions Options(const std::string& prefix) {
    CoordinatorOptions options;
    options.prefix = prefix;
    options.heartbeat = 50ms;  // the probe that ends a fallback
    return options;
  }

  Coordinator coordinator;
  std::unique_ptr<JobLeases> leases;
};

// On manual time (testing::ManualTime): renewals, the scheduler, the coordinator's probes and the
// clients' deadlines follow it, and it moves on only once Redis has answered what was sent
// (testing::RedisCaughtUp). Leases expire on Redis's own clock, in real time.
class JobLeasesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<testing::RedisServer>(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    if (!server_->running()) server_->Start();
    server_->Resume();
    time_.SetCatchUpLimit(1s);  // a live Redis answers: a busy machine is waited for
  }

  // Each test's keys under its own prefix: the server is the suite's.
  static std::string Prefix() {
    return std::string("test:") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  // An instance whose Redis commands manual time waits for.
  std::unique_ptr<Instance> Make(const std::string& name, std::chrono::milliseconds margin = 5s) {
    auto instance =
        std::make_unique<Instance>(io_, time_.clock(), server_->Url(), name, Prefix(), margin);
    clients_.push_back(&instance->coordinator.client());
    return instance;
  }
  common::Result<collect::Permission> Ask(Instance& who, const config::JobConfig& job,
                                          common::WallTime start) {
    return time_.RunTask(io_, who.leases->MayRun(job, start), caught_up_);
  }
  // Runs io_ on manual time until `done` holds; false after `limit` of it (a real-time wait lets
  // manual time run far ahead: its limit is larger).
  bool Until(const std::function<bool()>& done, common::Duration limit = 1min) {
    return time_.RunUntil(io_, done, limit, caught_up_);
  }
  // Redis's own clock expires a lease: real time, waited for by asking Redis whether it is gone.
  bool Expired(Instance& who, const std::string& key) {
    return Until(
        [&] {
          auto exists =
              time_.RunTask(io_, who.coordinator.client().Command({"EXISTS", key}), caught_up_);
          return exists && exists->integer == 0;
        },
        10min);
  }

  static std::unique_ptr<testing::RedisServer> server_;
  testing::ManualTime time_;
  asio::io_context io_;
  std::vector<const RedisClient*> clients_;
  testing::ManualTime::CaughtUp caught_up_ =
      testing::RedisCaughtUp([this] { return clients_; }, [] { return server_->paused(); });
};

std::unique_ptr<testing::RedisServer> JobLeasesTest::server_;

const common::WallTime kStart = *common::ParseKstDateTime("2026-11-24 10:00:00");

// Two instances asking for the same cycle at once: exactly one runs it, and the other is told
// which. Finished does not hand the cycle to a latecomer: the same start is never run twice.
TEST_F(JobLeasesTest, ExactlyOneInstanceRunsEachCycle) {
  auto a_instance = Make("kisgate-a");
  auto b_instance = Make("kisgate-b");
  Instance& a = *a_instance;
  Instance& b = *b_instance;
  const auto job = Job("price", 10s);
  for (int i = 0; i < 5; ++i) {
    const auto start = kStart + i * 10s;
    auto fa = asio::co_spawn(io_, a.leases->MayRun(job, start), asio::use_future);
    auto fb = asio::co_spawn(io_, b.leases->MayRun(job, start), asio::use_future);
    ASSERT_TRUE(Until([&] {
      return fa.wait_for(0s) == std::future_status::ready &&
             fb.wait_for(0s) == std::future_status::ready;
    }));
    const auto pa = fa.get();
    const auto pb = fb.get();
    ASSERT_TRUE(pa.has_value()) << pa.error().message();
    ASSERT_TRUE(pb.has_value()) << pb.error().message();
    ASSERT_NE(pa->run, pb->run) << "start " << i;
    auto& winner = pa->run ? a : b;
    const auto& loser = pa->run ? *pb : *pa;
    EXPECT_EQ(loser.instance, winner.leases->Instance());
    winner.leases->Finished(job, start);
    auto late = Ask(pa->run ? b : a, job, start);
    ASSERT_TRUE(late.has_value());
    EXPECT_FALSE(late->run);
    EXPECT_EQ(late->instance, winner.leases->Instance());
  }
  EXPECT_EQ(a.leases->stats().taken + b.leases->stats().taken, 5u);
}

// The instance holding a cycle dies (no Finished, no more renewals): the next start goes to
// whoever asks first, and once its lease has expired, even its own start does.
TEST_F(JobLeasesTest, HolderThatDiesLeavesTheNextStartToWhoeverAsks) {
  auto a = Make("kisgate-a", 300ms);
  auto b = Make("kisgate-b", 300ms);
  const auto job = Job("price", 1s);
  auto first = Ask(*a, job, kStart);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->run);
  const auto key = a->leases->Key(job, kStart);
  a->leases.reset();  // dies
  auto held = Ask(*b, job, kStart);
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(held->run);
  EXPECT_EQ(held->instance, "kisgate-a");
  auto next = Ask(*b, job, kStart + 1s);
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->run);
  // The lease lasts 1.3 s from when it was taken; nobody renews it.
  ASSERT_TRUE(Expired(*b, key));
  auto again = Ask(*b, job, kStart);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->run);
}

// A cycle that runs for several lease lifetimes keeps its lease by renewing it; after Finished
// the renewals stop and the lease expires.
TEST_F(JobLeasesTest, RenewalKeepsALongCyclesLease) {
  auto a = Make("kisgate-a", 200ms);
  auto b = Make("kisgate-b", 200ms);
  const auto job = Job("price", 400ms);  // a lease of 0.6 s, renewed every 0.2 s
  EXPECT_EQ(a->leases->Ttl(job), 600ms);
  auto mine = Ask(*a, job, kStart);
  ASSERT_TRUE(mine.has_value());
  ASSERT_TRUE(mine->run);
  // The cycle runs (manual time, a renewal due every 0.2 s of it) for more than two lives of its
  // lease on Redis's clock (real time): without its renewals the lease would be gone.
  const auto taken = std::chrono::steady_clock::now();
  ASSERT_TRUE(Until([&] { return std::chrono::steady_clock::now() - taken > 1600ms; }, 10min));
  EXPECT_GE(a->leases->stats().renewals, 2u);
  EXPECT_EQ(a->leases->stats().lost, 0u);
  auto held = Ask(*b, job, kStart);
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(held->run);
  EXPECT_EQ(held->instance, "kisgate-a");
  a->leases->Finished(job, kStart);
  const auto renewals = a->leases->stats().renewals;
  time_.RunFor(io_, 1s, caught_up_);  // five renewals would have been due
  EXPECT_EQ(a->leases->stats().renewals, renewals);
  ASSERT_TRUE(Expired(*b, a->leases->Key(job, kStart)));
  auto expired = Ask(*b, job, kStart);
  ASSERT_TRUE(expired.has_value());
  EXPECT_TRUE(expired->run);
}

// The scheduler gave up waiting for the answer and ran the cycle; it ended before the answer came
// (Finished first): a lease taken then is not renewed, and expires.
TEST_F(JobLeasesTest, LeaseTakenAfterItsCycleEndedIsNotRenewed) {
  auto a = Make("kisgate-a", 300ms);
  auto b = Make("kisgate-b", 300ms);
  const auto job = Job("price", 1s);  // a lease of 1.3 s, renewed every 433 ms if it were
  auto asked = asio::co_spawn(io_, a->leases->MayRun(job, kStart), asio::use_future);
  io_.restart();
  io_.poll_one();  // MayRun starts and waits for Redis's answer
  ASSERT_NE(asked.wait_for(0s), std::future_status::ready);
  a->leases->Finished(job, kStart);
  ASSERT_TRUE(Until([&] { return asked.wait_for(0s) == std::future_status::ready; }));
  const auto late = asked.get();
  ASSERT_TRUE(late.has_value()) << late.error().message();
  EXPECT_TRUE(late->run);
  time_.RunFor(io_, 2s, caught_up_);
  EXPECT_EQ(a->leases->stats().renewals, 0u);
  ASSERT_TRUE(Expired(*b, a->leases->Key(job, kStart)));
  auto expired = Ask(*b, job, kStart);
  ASSERT_TRUE(expired.has_value());
  EXPECT_TRUE(expired->run);
}

// Redis not answering in time: MayRun cannot tell (an error, not a permission), so the scheduler
// runs the cycle here; the coordinator is in fallback, where MayRun does not wait for Redis; when
// Redis answers again (the coordinator's probe), the leases work again.
TEST_F(JobLeasesTest, RedisNotAnsweringIsAnError) {
  auto a = Make("kisgate-a");
  a->coordinator.Start();
  const auto job = Job("price", 10s);
  server_->Pause();
  auto paused = Ask(*a, job, kStart);
  ASSERT_FALSE(paused.has_value());
  EXPECT_EQ(a->coordinator.Stats().mode, gate::CoordinationStats::Mode::kFallback);
  auto fallback = Ask(*a, job, kStart + 10s);
  ASSERT_FALSE(fallback.has_value());
  EXPECT_EQ(fallback.error(), common::Errc::kCoordinationUnavailable);
  EXPECT_EQ(a->leases->stats().failures, 2u);
  server_->Resume();
  ASSERT_TRUE(Until([&] { return a->coordinator.Shared(); }));
  auto back = Ask(*a, job, kStart + 20s);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_TRUE(back->run);
  a->coordinator.Stop();
}

// Two schedulers (two instances) on one Redis, each with its leases: every start of the job runs
// on exactly one of them, and each instance's board names the instance that ran each cycle.
TEST_F(JobLeasesTest, TwoSchedulersRunEachCycleOnce) {
  auto a_instance = Make("kisgate-a");
  auto b_instance = Make("kisgate-b");
  Instance& a = *a_instance;
  Instance& b = *b_instance;
  const auto& clock = time_.clock();
  common::MarketCalendar calendar;
  collect::Schedule schedule(calendar);
  std::map<common::WallTime, std::vector<std::string>> ran;  // start -> instances
  auto runner = [&ran](const char* name) -> collect::CycleRunner {
    return [&ran, name](const std::vector<std::string>& codes, collect::CycleSpec spec,
                        collect::Progress) -> asio::awaitable<collect::CycleReport> {
      ran[spec.start].push_back(name);
      collect::CycleReport r;
      r.job = spec.job->name;
      r.cycle_time = common::FormatCompactKst(spec.start);
      r.planned = r.ok = static_cast<int>(codes.size());
      co_return r;
    };
  };
  collect::Scheduler sa(io_.get_executor(), clock, schedule, runner("kisgate-a"), {},
                        a.leases.get());
  collect::Scheduler sb(io_.get_executor(), clock, schedule, runner("kisgate-b"), {},
                        b.leases.get());
  const auto job = Job("price", 1s);  // whole seconds: the board's cycle times are
  sa.Add(job, {"005930"});
  sb.Add(job, {"005930"});
  auto ra = asio::co_spawn(io_, sa.Run(), asio::use_future);
  auto rb = asio::co_spawn(io_, sb.Run(), asio::use_future);
  time_.RunFor(io_, 3500ms, caught_up_);
  sa.Stop(clock.Now());
  sb.Stop(clock.Now());
  ASSERT_TRUE(Until([&] {
    return ra.wait_for(0s) == std::future_status::ready &&
           rb.wait_for(0s) == std::future_status::ready;
  }));
  ASSERT_FALSE(ran.empty());
  for (const auto& [start, who] : ran) {
    EXPECT_EQ(who.size(), 1u) << common::FormatKstDateTime(start);
  }
  // Every cycle one instance ran is on its own board and on the other's under its name; but the
  // last: the other may have been stopped while it asked.
  std::multiset<std::string> on_board;
  for (auto* s : {&sa, &sb}) {
    for (const auto& c : s->board().jobs().at(0).recent) on_board.insert(c.cycle_time);
  }
  ran.erase(std::prev(ran.end()));
  for (const auto& [start, who] : ran) {
    const auto time = common::FormatCompactKst(start);
    auto& other = who.at(0) == "kisgate-a" ? sb : sa;
    bool found = false;
    for (const auto& c : other.board().jobs().at(0).elsewhere) {
      if (c.cycle_time == time) {
        found = true;
        EXPECT_EQ(c.instance, who.at(0));
      }
    }
    EXPECT_TRUE(found) << time;
    EXPECT_EQ(on_board.count(time), 1u) << time;
  }
}

}  // namespace
}  // namespace kisgate::coord

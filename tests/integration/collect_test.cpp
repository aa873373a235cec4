// Collection against kisgate sim with its burst rules on, into a real SQLite file. The cycles run
// on manual time (testing::ManualTime): the gate, the gateway, the cycle's deadline and the
// simulator's rate windows and service delays read the one clock the test moves.
#include "collect/collector.hpp"

#include <fstream>

#include "collect/universe.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "common/timer.hpp"
#include "sim/sim_server.hpp"
#include "sim/universe.hpp"
#include "store/sqlite_store.hpp"
#include "support/manual_time.hpp"
#include "support/test_client.hpp"

namespace kisgate::collect {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

sim::SimOptions SimAt(const char* market_time, double rate = 18) {
  sim::SimOptions o;
  o.listen = "127.0.0.1:0";
  o.clock = market_time;
  o.rate = rate;
  o.max_in_flight_per_key = 10;
  o.max_connections = 40;
  return o;
}

// The simulator, a gateway and a store; on the test's manual time when given one (real time
// otherwise).
struct World {
  explicit World(const char* market_time, double rate = 18) : World(SimAt(market_time, rate)) {}
  World(testing::ManualTime& t, const char* market_time, double rate = 18)
      : World(SimAt(market_time, rate), false, &t) {}
  // `down`: the simulator is started, its port noted, and stopped: the key's base_url is a port
  // where nothing listens until StartSim().
  explicit World(sim::SimOptions o, bool down = false, testing::ManualTime* manual = nullptr)
      : sim_options(o), time(manual) {
    const double rate = o.rate;
    sim = std::make_unique<sim::BackgroundSimulator>(o, Clock());
    const std::string base_url = sim->BaseUrl();
    sim_options.listen = "127.0.0.1:" + std::to_string(sim->Port());
    if (down) sim.reset();
    config::KeyConfig key;
    key.name = "main";
    key.base_url = base_url;
    key.app_key = std::string(sim::kDemoAppKey);
    key.app_secret = sim::DemoAppSecret();
    key.rate = rate;
    config.keys.push_back(key);
    gateway = std::make_unique<gate::Gateway>(io.get_executor(), config, Clock());
    store::StoreOptions so;
    so.path = dir.path() + "/kisgate.db";
    store = std::make_unique<store::SqliteStore>(so);
    for (std::size_t i = 0; i < 53; ++i) codes.push_back(sim::Universe::Default().All()[i].code);
  }

  void StartSim() { sim = std::make_unique<sim::BackgroundSimulator>(sim_options, Clock()); }

  const common::Clock& Clock() const {
    return time ? static_cast<const common::Clock&>(time->clock())
                : common::SystemClock::Instance();
  }

  // The simulator has received every request the gateway sent (ManualTime::RunUntil).
  testing::ManualTime::CaughtUp SimCaughtUp() {
    return testing::CountsMatch(
        [this] {
          std::int64_t sent = 0;
          for (const auto& key : gateway->Stats().keys)
            sent += static_cast<std::int64_t>(key.upstream);
          return sent;
        },
        [this] { return sim ? static_cast<std::int64_t>(sim->simulator().TotalCalls()) : 0; });
  }

  // Runs io until `done` (manual time) or until it runs out of work or `limit` passes (real time).
  bool RunUntil(const std::function<bool()>& done, common::Duration limit) {
    io.restart();
    if (time) return time->RunUntil(io, done, limit, SimCaughtUp());
    io.run_for(limit);
    return done();
  }

  // One cycle of `job` over `codes`, its deadline `within` from now. The cycle must end by itself:
  // the run is bounded only so that a hang fails the test instead of the suite.
  std::optional<CycleReport> Cycle(const config::JobConfig& job, std::chrono::milliseconds within,
                                   const char* kst_start = "2026-11-24 11:00:00") {
    std::optional<CycleReport> report;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto cycle = RunCycle(
              *gateway, store.get(), codes,
              CycleSpec{&job, 0, *common::ParseKstDateTime(kst_start), Clock().Now() + within});
          report = co_await std::move(cycle);
        },
        [](std::exception_ptr e) { ASSERT_FALSE(e); });
    RunUntil([&] { return report.has_value(); }, within + 60s);
    return report;
  }

  json::object SimStats() {
    return json::parse(sim->simulator().StatsJson()).at("keys").at(0).as_object();
  }

  std::vector<CycleReport> Run(const std::vector<config::JobConfig>& jobs, const char* kst_start) {
    std::vector<CycleReport> reports(jobs.size());
    const auto start = *common::ParseKstDateTime(kst_start);
    std::size_t finished = 0;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      asio::co_spawn(
          io,
          [&, j]() -> asio::awaitable<void> {
            auto cycle = RunCycle(*gateway, store.get(), codes,
                                  CycleSpec{&jobs[j], j, start, Clock().Now() + 60s});
            reports[j] = co_await std::move(cycle);
            ++finished;
          },
          asio::detached);
    }
    EXPECT_TRUE(RunUntil([&] { return finished == jobs.size(); }, std::chrono::minutes(10)));
    EXPECT_TRUE(store->Flush(10s));
    return reports;
  }

  testing::TempDir dir;
  sim::SimOptions sim_options;
  std::unique_ptr<sim::BackgroundSimulator> sim;
  config::Config config;
  asio::io_context io;
  std::unique_ptr<gate::Gateway> gateway;
  std::unique_ptr<store::SqliteStore> store;
  std::vector<std::string> codes;
  testing::ManualTime* time = nullptr;
};

config::JobConfig Job(const char* dataset) {
  config::JobConfig j;
  j.name = dataset;
  j.dataset = dataset;
  return j;
}

// The seed workload, the four collectors overlapping as they did in production: every call
// succeeds, KIS's limits hold at the simulator, and every value lands in SQLite once.
TEST(Collect, SeedWorkloadOverlappingJobsAllSucceed) {
  testing::ManualTime time;
  World w(time,
          "2026-11-24T16:30:00");  // after the close: investor rows for today, after-hours live
  const auto started = time.clock().WallNow();
  auto reports = w.Run({Job("price"), Job("orderbook"), Job("investors"), Job("overtime_price")},
                       "2026-11-24 16:30:00");
  for (const auto& r : reports) {
    EXPECT_EQ(r.planned, 53) << r.job;
    EXPECT_EQ(r.ok, 53) << r.job << " failed " << r.failed << " dropped " << r.dropped;
    EXPECT_EQ(r.cycle_time, "20261124163000");
  }
  auto stats = w.SimStats();
  EXPECT_FALSE(stats.at("errors").as_object().contains("EGW00201"));
  EXPECT_LE(stats.at("max_calls_in_1s").to_number<int>(), 18);
  EXPECT_EQ(stats.at("dropped_over_in_flight").to_number<int>(), 0);
  EXPECT_EQ(w.store->Count("price"), 53);
  EXPECT_EQ(w.store->Count("orderbook"), 53);
  EXPECT_EQ(w.store->Count("overtime_price"), 53);
  EXPECT_EQ(w.store->Count("investors"), 53 * 30);
  // What is stored is what the simulator served: the typed column agrees with the raw reply.
  auto latest = w.store->Latest("price", "005930");
  ASSERT_TRUE(latest);
  auto raw_price = json::parse(latest->raw).at("output").at("stck_prpr").as_string();
  EXPECT_EQ(std::to_string(std::get<std::int64_t>(latest->columns[0].second)), raw_price);
  // Stamped by the clock the collection runs on.
  EXPECT_GE(latest->collected_at, started);
  EXPECT_LE(latest->collected_at, time.clock().WallNow());
  EXPECT_EQ(w.store->IntegrityCheck(), "ok");
  // The same cycle again (a retry or a restart): no new rows.
  w.Run({Job("price"), Job("investors")}, "2026-11-24 16:30:00");
  EXPECT_EQ(w.store->Count("price"), 53);
  EXPECT_EQ(w.store->Count("investors"), 53 * 30);
}

// Minute bars: the first cycle assembles the whole day (paged), later cycles fetch only the new.
TEST(Collect, MinuteBarsWholeDayThenOnlyNew) {
  testing::ManualTime time;
  World w(time, "2026-11-24T15:45:00", 50);
  w.codes.resize(3);
  auto first = w.Run({Job("bars_minute")}, "2026-11-24 15:45:00");
  EXPECT_EQ(first[0].ok, 3);
  EXPECT_EQ(w.store->Count("bars_minute"), 3 * 390);
  EXPECT_EQ(first[0].upstream_calls, 3 * 13);
  auto second = w.Run({Job("bars_minute")}, "2026-11-24 15:50:00");
  EXPECT_EQ(second[0].ok, 3);
  EXPECT_EQ(second[0].upstream_calls, 3);  // one page each, nothing new after 15:29
  EXPECT_EQ(w.store->Count("bars_minute"), 3 * 390);
}

// A cycle whose deadline (the next cycle's start) comes first drops the rest instead of queueing.
TEST(Collect, SupersededCallsAreDroppedNotQueued) {
  testing::ManualTime time;
  World w(time, "2026-11-24T11:00:00");
  config::JobConfig job = Job("price");
  std::vector<config::JobConfig> jobs{job};
  CycleReport report;
  bool done = false;
  asio::co_spawn(
      w.io,
      [&]() -> asio::awaitable<void> {
        auto cycle =
            RunCycle(*w.gateway, w.store.get(), w.codes,
                     CycleSpec{&jobs[0], 0, *common::ParseKstDateTime("2026-11-24 11:00:00"),
                               time.Now() + 1500ms});
        report = co_await std::move(cycle);
        done = true;
      },
      asio::detached);
  ASSERT_TRUE(w.RunUntil([&] { return done; }, std::chrono::minutes(1)));
  EXPECT_GT(report.ok, 10);
  EXPECT_GT(report.dropped, 10);
  EXPECT_EQ(report.ok + report.dropped + report.failed, 53);
  EXPECT_EQ(report.failed, 0);
  // The cycle ends at its deadline (manual time: in the step the deadline falls in).
  EXPECT_LE(report.seconds, 1.5 + 0.01);
}

// The repro of the hang: nothing listens at base_url for the first N cycles, then the simulator
// comes up. Each failed cycle ends (a later one fails without ever suspending: the token rule
// answers at once), and the first cycle after the simulator is back collects every code.
class CollectAfterOutage : public ::testing::TestWithParam<int> {};

TEST_P(CollectAfterOutage, EveryCycleEndsAndCollectionRecovers) {
  const int failing_cycles = GetParam();
  testing::ManualTime time;
  World w(SimAt("2026-11-24T11:00:00"), /*down=*/true, &time);
  w.codes.resize(5);
  const config::JobConfig job = Job("price");
  for (int i = 0; i < failing_cycles; ++i) {
    auto report = w.Cycle(job, 2s);
    ASSERT_TRUE(report) << "cycle " << i + 1 << " never ended";
    EXPECT_EQ(report->planned, 5);
    EXPECT_EQ(report->failed + report->dropped, 5) << "cycle " << i + 1;
    EXPECT_EQ(report->ok, 0);
  }
  w.StartSim();
  auto report = w.Cycle(job, 15s);
  ASSERT_TRUE(report) << "the cycle after the outage never ended";
  EXPECT_EQ(report->ok, 5) << "failed " << report->failed << " dropped " << report->dropped
                           << (report->failures.empty()
                                   ? ""
                                   : " first failure " + report->failures.begin()->first);
  EXPECT_TRUE(w.store->Flush(10s));
  EXPECT_EQ(w.store->Count("price"), 5);
}

INSTANTIATE_TEST_SUITE_P(FailingCycles, CollectAfterOutage, ::testing::Values(0, 1, 2));

// The first token request gets EGW00133 (another process asked within the minute): every cycle
// in that minute fails, plainly, and ends; none hangs.
TEST(Collect, TokenThrottledAtStartFailsCyclesWithoutHanging) {
  testing::ManualTime time;
  World w(time, "2026-11-24T11:00:00");
  w.codes.resize(5);
  testing::TestClient other(w.sim->BaseUrl());
  auto taken = time.WhileRunning(w.io, [&] {
    return other.Post("/oauth2/tokenP",
                      json::serialize(json::object{{"grant_type", "client_credentials"},
                                                   {"appkey", sim::kDemoAppKey},
                                                   {"appsecret", sim::DemoAppSecret()}}),
                      {{"content-type", "application/json"}});
  });
  ASSERT_TRUE(taken && taken->status == 200);
  const config::JobConfig job = Job("price");
  for (int i = 0; i < 3; ++i) {
    auto report = w.Cycle(job, 2s);
    ASSERT_TRUE(report) << "cycle " << i + 1 << " never ended";
    EXPECT_EQ(report->failed, 5) << "cycle " << i + 1;
    EXPECT_EQ(report->failures["EGW00133"], 5) << "cycle " << i + 1;
  }
}

// A minute-bar walk cut off by the cycle's deadline keeps the pages it fetched, and the next
// cycle resumes below the oldest stored bar instead of starting over: every page is fetched once.
TEST(Collect, MinuteBarsKeepPartialProgressAndResume) {
  testing::ManualTime time;
  World w(time, "2026-11-24T15:45:00");
  w.codes.resize(3);
  const config::JobConfig job = Job("bars_minute");
  auto cut = w.Cycle(job, 1000ms, "2026-11-24 15:45:00");
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->failed, 0);
  EXPECT_GT(cut->dropped, 0);  // 39 pages at 18/s do not fit in a second
  EXPECT_TRUE(w.store->Flush(10s));
  const auto kept = w.store->Count("bars_minute");
  EXPECT_GT(kept, 0);
  EXPECT_GE(static_cast<std::size_t>(kept), cut->rows);
  auto rest = w.Cycle(job, 30s, "2026-11-24 15:50:00");
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->ok, 3);
  EXPECT_TRUE(w.store->Flush(10s));
  EXPECT_EQ(w.store->Count("bars_minute"), 3 * 390);
  // 39 pages once, one "anything new?" page per code, and at most one call per code cut in flight.
  EXPECT_LE(cut->upstream_calls + rest->upstream_calls, 3 * 13 + 3 + 3)
      << cut->upstream_calls << " + " << rest->upstream_calls;
  // Nothing missing: a third cycle finds the day complete and asks one page per code.
  auto third = w.Cycle(job, 30s, "2026-11-24 15:55:00");
  ASSERT_TRUE(third);
  EXPECT_EQ(third->upstream_calls, 3);
}

// The join under a cycle: codes that finish without suspending, codes that throw and codes that
// never finish, at position N = 0, 1, 2 of the cycle; the cycle always ends and counts each.
class CycleJoin : public ::testing::TestWithParam<int> {};

TEST_P(CycleJoin, InlineFailuresThrowsAndHungCodesAllEnd) {
  const int n = GetParam();
  const std::vector<std::string> codes{"000001", "000002", "000003", "000004"};
  testing::ManualTime time;
  asio::io_context io;
  for (const char* fault : {"inline", "throw", "hang", "all_inline"}) {
    std::optional<CycleReport> report;
    int progress_calls = 0;
    CodeTask task = [&io, &time, n, fault, &codes](
                        std::string code,
                        std::shared_ptr<CycleReport>) -> asio::awaitable<std::string> {
      const bool faulty =
          std::string_view(fault) == "all_inline" || code == codes[static_cast<std::size_t>(n)];
      if (faulty && std::string_view(fault) != "hang") {
        if (std::string_view(fault) == "throw") throw std::runtime_error("injected");
        co_return "EGW00133";  // without suspending, as a throttled token request answers
      }
      common::Timer t(io, time.Now() + (faulty ? common::Duration(std::chrono::hours(1))
                                               : common::Duration(5ms)));
      co_await t.async_wait(asio::use_awaitable);
      co_return std::string();
    };
    CycleReport start;
    start.job = fault;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          auto run = RunEachCode(codes, start, time.Now() + 500ms, task,
                                 [&](int, int) { ++progress_calls; });
          report = co_await std::move(run);
          io.stop();  // the hung code's timer is left behind
        },
        [](std::exception_ptr e) { ASSERT_FALSE(e); });
    io.restart();
    time.RunUntil(
        io, [&] { return report.has_value(); }, 30s);
    ASSERT_TRUE(report) << fault << " at " << n << ": the cycle never ended";
    EXPECT_EQ(report->planned, 4);
    EXPECT_EQ(report->ok + report->failed + report->dropped, 4) << fault;
    if (std::string_view(fault) == "inline") {
      EXPECT_EQ(report->ok, 3);
      EXPECT_EQ(report->failures["EGW00133"], 1);
    } else if (std::string_view(fault) == "throw") {
      EXPECT_EQ(report->ok, 3);
      EXPECT_EQ(report->failures["exception"], 1);
    } else if (std::string_view(fault) == "hang") {
      EXPECT_EQ(report->ok, 3);
      EXPECT_EQ(report->dropped, 1);  // closed at the deadline, not waited for
    } else {
      EXPECT_EQ(report->failed, 4);
    }
    EXPECT_EQ(progress_calls, report->ok + report->failed) << fault;
  }
}

INSTANTIATE_TEST_SUITE_P(FaultAt, CycleJoin, ::testing::Values(0, 1, 2));

// A cycle closed early (shutdown) returns at the time asked, its running codes counted as dropped.
TEST(CycleClose, CloseByEndsTheCycleEarly) {
  testing::ManualTime time;
  asio::io_context io;
  const std::vector<std::string> codes{"000001", "000002"};
  auto control = std::make_shared<CycleControl>();
  CodeTask task = [&io, &time](std::string,
                               std::shared_ptr<CycleReport>) -> asio::awaitable<std::string> {
    common::Timer t(io, time.Now() + std::chrono::hours(1));
    co_await t.async_wait(asio::use_awaitable);
    co_return std::string();
  };
  std::optional<CycleReport> report;
  common::Timer closer(io, time.Now() + 50ms);
  closer.async_wait([&](boost::system::error_code) { control->CloseBy(time.Now()); });
  const auto started = time.Now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto run = RunEachCode(codes, CycleReport{}, time.Now() + std::chrono::hours(1), task,
                               nullptr, control);
        report = co_await std::move(run);
        io.stop();
      },
      [](std::exception_ptr e) { ASSERT_FALSE(e); });
  time.RunUntil(
      io, [&] { return report.has_value(); }, 30s);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->dropped, 2);
  EXPECT_LE(time.Now() - started, 50ms + testing::ManualTime::kStep);  // at the time asked
}

TEST(Plan, SaysPlainlyWhenJobsDoNotFit) {
  config::Config c;
  config::KeyConfig k;
  k.rate = 18;
  c.keys.push_back(k);
  for (auto d : {"price", "orderbook", "investors", "overtime_price"}) {
    auto j = Job(d);
    j.every = 5min;
    c.jobs.push_back(j);
  }
  auto small = PlanBudget(c, 53);
  EXPECT_TRUE(small.fits);
  auto market = PlanBudget(c, 2700);
  EXPECT_FALSE(market.fits);
  EXPECT_NEAR(market.needed_per_s, 36.0, 0.01);
  EXPECT_NE(market.message.find("2700 codes x 4 jobs need 36.0 calls/s; 1 key gives 17.5/s"),
            std::string::npos)
      << market.message;
}

TEST(Universe, FileWithCommentsAndABadLine) {
  testing::TempDir dir;
  const auto path = dir.path() + "/universe.txt";
  std::ofstream(path) << "# KOSPI large caps\n005930\n000660  # SK hynix\n\n005930\n";
  config::UniverseConfig u;
  u.file = path;
  auto ok = LoadUniverse(u);
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(ok));
  EXPECT_EQ(std::get<std::vector<std::string>>(ok), (std::vector<std::string>{"005930", "000660"}));
  std::ofstream(path, std::ios::app) << "59300\n";
  auto bad = LoadUniverse(u);
  ASSERT_TRUE(std::holds_alternative<std::string>(bad));
  EXPECT_NE(std::get<std::string>(bad).find("universe.txt:6: '59300' is not a stock code"),
            std::string::npos)
      << std::get<std::string>(bad);
}

}  // namespace
}  // namespace kisgate::collect

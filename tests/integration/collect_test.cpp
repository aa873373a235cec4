// Collection against kisgate sim with its burst rules on, into a real SQLite file.
#include "collect/collector.hpp"

#include <fstream>

#include "collect/universe.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/kst.hpp"
#include "sim/sim_server.hpp"
#include "sim/universe.hpp"
#include "support/test_client.hpp"

namespace kisgate::collect {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

struct World {
  explicit World(const char* market_time, double rate = 18) {
    sim::SimOptions o;
    o.listen = "127.0.0.1:0";
    o.clock = market_time;
    o.rate = rate;
    o.max_in_flight_per_key = 10;
    o.max_connections = 40;
    sim = std::make_unique<sim::BackgroundSimulator>(o);
    config::KeyConfig key;
    key.name = "main";
    key.base_url = sim->BaseUrl();
    key.app_key = std::string(sim::kDemoAppKey);
    key.app_secret = sim::DemoAppSecret();
    key.rate = rate;
    config.keys.push_back(key);
    gateway = std::make_unique<gate::Gateway>(io.get_executor(), config, common::SystemClock::Instance());
    store::StoreOptions so;
    so.path = dir.path() + "/kisgate.db";
    store = std::make_unique<store::SqliteStore>(so);
    for (std::size_t i = 0; i < 53; ++i) codes.push_back(sim::Universe::Default().All()[i].code);
  }

  json::object SimStats() {
    return json::parse(sim->simulator().StatsJson()).at("keys").at(0).as_object();
  }

  std::vector<CycleReport> Run(const std::vector<config::JobConfig>& jobs, const char* kst_start) {
    std::vector<CycleReport> reports(jobs.size());
    const auto start = *common::ParseKstDateTime(kst_start);
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      asio::co_spawn(io, [&, j]() -> asio::awaitable<void> {
        auto cycle = RunCycle(*gateway, store.get(), codes,
                              CycleSpec{&jobs[j], j, start, std::chrono::steady_clock::now() + 60s});
        reports[j] = co_await std::move(cycle);
      }, asio::detached);
    }
    io.restart();
    io.run();
    EXPECT_TRUE(store->Flush(10s));
    return reports;
  }

  testing::TempDir dir;
  std::unique_ptr<sim::BackgroundSimulator> sim;
  config::Config config;
  asio::io_context io;
  std::unique_ptr<gate::Gateway> gateway;
  std::unique_ptr<store::SqliteStore> store;
  std::vector<std::string> codes;
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
  World w("2026-11-24T16:30:00");  // after the close: investor rows for today, after-hours live
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
  EXPECT_EQ(w.store->IntegrityCheck(), "ok");
  // The same cycle again (a retry or a restart): no new rows.
  w.Run({Job("price"), Job("investors")}, "2026-11-24 16:30:00");
  EXPECT_EQ(w.store->Count("price"), 53);
  EXPECT_EQ(w.store->Count("investors"), 53 * 30);
}

// Minute bars: the first cycle assembles the whole day (paged), later cycles fetch only the new.
TEST(Collect, MinuteBarsWholeDayThenOnlyNew) {
  World w("2026-11-24T15:45:00", 50);
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
  World w("2026-11-24T11:00:00");
  config::JobConfig job = Job("price");
  std::vector<config::JobConfig> jobs{job};
  CycleReport report;
  asio::co_spawn(w.io, [&]() -> asio::awaitable<void> {
    auto cycle = RunCycle(*w.gateway, w.store.get(), w.codes,
                          CycleSpec{&jobs[0], 0, *common::ParseKstDateTime("2026-11-24 11:00:00"),
                                    std::chrono::steady_clock::now() + 1500ms});
    report = co_await std::move(cycle);
  }, asio::detached);
  w.io.run();
  EXPECT_GT(report.ok, 10);
  EXPECT_GT(report.dropped, 10);
  EXPECT_EQ(report.ok + report.dropped + report.failed, 53);
  EXPECT_EQ(report.failed, 0);
  EXPECT_LT(report.seconds, 3.0);
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
  EXPECT_NE(market.message.find("2700 codes x 4 jobs need 36.0 calls/s; 1 key gives 17.5/s"), std::string::npos)
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
  EXPECT_NE(std::get<std::string>(bad).find("universe.txt:6: '59300' is not a stock code"), std::string::npos)
      << std::get<std::string>(bad);
}

}  // namespace
}  // namespace kisgate::collect

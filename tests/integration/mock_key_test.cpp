// A paper-trading (mock) key at KIS's mock limit of 1 call/s (issue 15), against `kisgate sim
// --mock-rate 1`: the simulator's own statistics judge whether the gate kept the limit. On manual
// time (testing::ManualTime): the gate and the simulator's 1-s windows read the clock the test
// moves, so seconds of 1-call/s traffic take milliseconds.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "collect/collector.hpp"
#include "gate/gateway.hpp"
#include "sim/sim_server.hpp"
#include "support/manual_time.hpp"
#include "support/test_client.hpp"

namespace kisgate {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kMockKey = "PSmockKEYtest000000000000000000000001";
constexpr const char* kRealKey = "PSrealKEYtest000000000000000000000002";
constexpr const char* kSecret = "mock-key-test-secret";
const std::vector<std::string> kCodes = {"005930", "000660", "035420", "005380"};

// Rethrows what a spawned coroutine threw, so a failure surfaces from io.run().
void Rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

struct World {
  explicit World(bool with_real_key = false, const char* market_time = "2026-11-24T10:00:00") {
    sim::SimOptions o;
    o.listen = "127.0.0.1:0";
    o.keys = {sim::SimKey{kMockKey, kSecret, sim::Environment::kMock}};
    if (with_real_key) o.keys.push_back(sim::SimKey{kRealKey, kSecret, sim::Environment::kReal});
    o.mock_rate = 1;
    o.latency_ms = 5;
    o.clock = market_time;
    sim = std::make_unique<sim::BackgroundSimulator>(o, time.clock());
    config::KeyConfig paper;
    paper.name = "paper";
    paper.environment = config::KisEnvironment::kMock;
    paper.base_url = sim->BaseUrl();
    paper.app_key = kMockKey;
    paper.app_secret = kSecret;
    paper.rate = 1;
    config.keys.push_back(paper);
    if (with_real_key) {
      config::KeyConfig main = paper;
      main.name = "main";
      main.environment = config::KisEnvironment::kReal;
      main.app_key = kRealKey;
      main.rate = 18;
      config.keys.push_back(main);
    }
    gateway = std::make_unique<gate::Gateway>(io.get_executor(), config, time.clock());
  }

  // Runs io on manual time until it runs out of work (as io.run() returns), the simulator kept
  // abreast of what the gateway sends.
  void Run() {
    auto caught_up = testing::CountsMatch(
        [this] {
          std::int64_t sent = 0;
          for (const auto& key : gateway->Stats().keys)
            sent += static_cast<std::int64_t>(key.upstream);
          return sent;
        },
        [this] { return static_cast<std::int64_t>(sim->simulator().TotalCalls()); });
    io.restart();
    ASSERT_TRUE(time.RunUntil(
        io, [this] { return io.stopped(); }, std::chrono::minutes(10), caught_up));
  }

  json::object KeyStats(std::size_t key = 0) {
    testing::TestClient client(sim->BaseUrl());
    auto r = client.Get("/_sim/stats");
    EXPECT_TRUE(r.has_value());
    return json::parse(r->body).at("keys").as_array().at(key).as_object();
  }

  config::JobConfig PriceJob() const {
    config::JobConfig job;
    job.name = "price";
    job.dataset = "price";
    return job;
  }

  testing::ManualTime time;  // first: the clock outlives all that reads it
  asio::io_context io{1};
  std::unique_ptr<sim::BackgroundSimulator> sim;
  config::Config config;
  std::unique_ptr<gate::Gateway> gateway;
};

std::uint64_t Errors(const json::object& key, const char* code) {
  const auto& errors = key.at("errors").as_object();
  return errors.contains(code) ? errors.at(code).to_number<std::uint64_t>() : 0;
}

// collect --once's cycle for 4 codes x price on a fresh mock key: the token call and 4 quotations,
// 0 EGW00201, and no 1-s window at the simulator over 1 call. The cycle time (manual) is printed
// (about 5 calls / 0.97 per s); it is measured, not asserted.
TEST(MockKey, FourCodesOfPriceAtOneCallPerSecond) {
  World w;
  const auto job = w.PriceJob();
  collect::CycleReport report;
  const auto started = w.time.Now();
  asio::co_spawn(
      w.io,
      [&]() -> asio::awaitable<void> {
        auto cycle = collect::RunCycle(
            *w.gateway, nullptr, kCodes,
            collect::CycleSpec{&job, 0, w.time.clock().WallNow(), w.time.Now() + 60s});
        report = co_await std::move(cycle);
      },
      Rethrow);
  w.Run();
  const double seconds = std::chrono::duration<double>(w.time.Now() - started).count();
  EXPECT_EQ(report.ok, 4);
  EXPECT_EQ(report.failed, 0);
  EXPECT_EQ(report.dropped, 0);
  const auto stats = w.KeyStats();
  EXPECT_EQ(stats.at("calls").to_number<std::uint64_t>(), 5u);  // the token call counts too
  EXPECT_EQ(Errors(stats, "EGW00201"), 0u);
  EXPECT_EQ(stats.at("max_calls_in_1s").to_number<std::uint64_t>(), 1u);
  std::cout << fmt::format(
      "mock cycle: 5 calls (1 token + 4 price) in {:.2f} s; limit 5 calls / 1 per s = 5 s\n",
      seconds);
  RecordProperty("cycle_seconds", fmt::format("{:.2f}", seconds));
}

// A user's request that arrives while the batch still waits is the next call sent: it finishes
// before the second batch code does.
TEST(MockKey, InteractiveRequestGoesAheadOfTheBatch) {
  World w;
  const auto job = w.PriceJob();
  int batch_done = 0;
  int batch_done_when_interactive_finished = -1;
  bool interactive_ok = false;
  auto interactive = [&]() -> asio::awaitable<void> {
    auto call = w.gateway->Call(
        gate::KisRequest{
            kis::Tr::kPrice, {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", "051910"}}, ""},
        gate::CallOptions{gate::Lane::kInteractive, 99, w.time.Now() + 30s});
    auto result = co_await std::move(call);
    interactive_ok = result.ok;
    batch_done_when_interactive_finished = batch_done;
  };
  asio::co_spawn(
      w.io,
      [&]() -> asio::awaitable<void> {
        auto cycle = collect::RunCycle(
            *w.gateway, nullptr, kCodes,
            collect::CycleSpec{&job, 0, w.time.clock().WallNow(), w.time.Now() + 60s},
            [&](int done, int) {
              batch_done = done;
              // Three batch calls are queued now, and the next slot is a second
              // away.
              if (done == 1) asio::co_spawn(w.io, interactive(), Rethrow);
            });
        auto report = co_await std::move(cycle);
        EXPECT_EQ(report.ok, 4);
      },
      Rethrow);
  w.Run();
  EXPECT_TRUE(interactive_ok);
  EXPECT_EQ(batch_done_when_interactive_finished, 1);
  const auto stats = w.KeyStats();
  EXPECT_EQ(Errors(stats, "EGW00201"), 0u);
  EXPECT_EQ(stats.at("max_calls_in_1s").to_number<std::uint64_t>(), 1u);
}

// With a real key in the pool, the after-hours price (real-only: EGW02006 on a mock key) goes to
// the real key, even though the mock key is first and idle.
TEST(MockKey, RealOnlyCallsGoToTheRealKeyOfThePool) {
  World w(/*with_real_key=*/true, "2026-11-24T16:30:00");
  std::vector<gate::CallResult> results;
  asio::co_spawn(
      w.io,
      [&]() -> asio::awaitable<void> {
        for (const auto& code : {"005930", "000660"}) {
          auto call = w.gateway->Call(
              gate::KisRequest{kis::Tr::kOvertimePrice,
                               {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", code}},
                               ""},
              gate::CallOptions{gate::Lane::kInteractive, 0, w.time.Now() + 30s});
          results.push_back(co_await std::move(call));
        }
      },
      Rethrow);
  w.Run();
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_TRUE(r.ok) << r.error.code << " " << r.error.message;
    EXPECT_EQ(r.key_name, "main");
  }
  EXPECT_EQ(Errors(w.KeyStats(0), "EGW02006"), 0u);
  EXPECT_EQ(w.KeyStats(0).at("calls").to_number<std::uint64_t>(), 0u);
}

// On a mock-only pool, a real-only TR (an API request for the after-hours price) fails at once with
// a clear error, without spending the key's second on KIS's EGW02006.
TEST(MockKey, RealOnlyCallOnAMockOnlyPoolCostsNothing) {
  World w;
  gate::CallResult result;
  asio::co_spawn(
      w.io,
      [&]() -> asio::awaitable<void> {
        auto call = w.gateway->Call(
            gate::KisRequest{kis::Tr::kOvertimePrice,
                             {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", "005930"}},
                             ""},
            gate::CallOptions{gate::Lane::kInteractive, 0, w.time.Now() + 10s});
        result = co_await std::move(call);
      },
      Rethrow);
  w.Run();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error.code, "real_only_tr");
  EXPECT_NE(result.error.message.find("EGW02006"), std::string::npos) << result.error.message;
  EXPECT_EQ(w.KeyStats().at("calls").to_number<std::uint64_t>(), 0u);
}

// The planner at start: what the jobs need against 0.97 calls/s, the token call included, and
// where real-only jobs go in a mixed pool.
TEST(MockKey, PlannerSpeaksInTheMockKeysRate) {
  config::Config c;
  config::KeyConfig paper;
  paper.name = "paper";
  paper.environment = config::KisEnvironment::kMock;
  paper.rate = 1;
  c.keys.push_back(paper);
  config::JobConfig job;
  job.name = "price";
  job.dataset = "price";
  job.every = 20s;
  c.jobs.push_back(job);
  auto plan = collect::PlanBudget(c, 4);
  EXPECT_TRUE(plan.fits);
  EXPECT_NEAR(plan.available_per_s, 0.97, 1e-9);
  EXPECT_NE(plan.message.find(
                "4 codes x 1 job need 0.20 calls/s of the 0.97/s the keys give; all jobs at "
                "once: 4 calls + 1 token call = about 5.2 s at 0.97/s"),
            std::string::npos)
      << plan.message;
  // 30 codes every 20 s: 30 calls take 31 s at 0.97/s, so every cycle drops codes.
  auto big = collect::PlanBudget(c, 30);
  EXPECT_FALSE(big.fits);
  EXPECT_NE(big.message.find("'price' needs 30.9 s for 30 calls every 20 s"), std::string::npos)
      << big.message;
  // A real key joins: the after-hours job goes there, and the plan says so.
  config::KeyConfig main;
  main.name = "main";
  c.keys.push_back(main);
  job.name = "after";
  job.dataset = "overtime_price";
  c.jobs.push_back(job);
  auto mixed = collect::PlanBudget(c, 4);
  EXPECT_NE(mixed.message.find(
                "real-only job 'after' (overtime_price) goes to the real key main (17.5/s)"),
            std::string::npos)
      << mixed.message;
}

}  // namespace
}  // namespace kisgate

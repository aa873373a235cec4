// The gate at a paper-trading (mock) key's rate: KIS allows such a key 1 call/s (kis-api.md §5),
// which the gate plans at 1 x 0.97. Issue 15: a config at that rate did not start at all.
#include <regex>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "gate/budget.hpp"
#include "gate/gateway.hpp"
#include "gate/test_driver.hpp"

namespace kisgate::gate {
namespace {

using namespace std::chrono_literals;
using common::SteadyTime;
using testing::Driver;
using testing::MaxInWindow;

using testing::kFar;

config::KeyConfig MockKey(double rate = 1, int max_in_flight = 5) {
  config::KeyConfig key;
  key.name = "paper";
  key.environment = config::KisEnvironment::kMock;
  key.base_url = "http://127.0.0.1:1";
  key.app_key = "k";
  key.app_secret = "s";
  key.rate = rate;
  key.max_in_flight = max_in_flight;
  return key;
}

// Every rate and in-flight cap the config accepts builds a gateway: the AIMD floor follows the
// key's rate instead of sitting at 1 call/s, above a mock key's 0.97.
TEST(MockRate, GatewayStartsForAnyPositiveRate) {
  boost::asio::io_context io;
  for (double rate : {0.1, 0.5, 1.0, 2.0, 18.0, 1000.0}) {
    for (int max_in_flight : {1, 5}) {
      SCOPED_TRACE(fmt::format("rate {} max_in_flight {}", rate, max_in_flight));
      config::Config config;
      config.keys.push_back(MockKey(rate, max_in_flight));
      EXPECT_NO_THROW(Gateway(io.get_executor(), config, common::SystemClock::Instance()));
      EXPECT_EQ(BudgetConfigFor(config.keys[0], config.gate).Validate(), std::nullopt);
    }
  }
}

// At 1 call/s, a token call and a batch of calls, then KIS's EGW00201 over and over: no 1-second
// window ever holds two dispatches, the rate never reaches 0 (the floor is a share of 0.97), and
// clean seconds bring it back to 0.97.
TEST(MockRate, OneCallPerSecondThroughCutsAndRecovery) {
  Budget budget(BudgetConfigFor(MockKey(), config::GateConfig{}), 7);
  EXPECT_DOUBLE_EQ(budget.rate(), 0.97);
  Driver d(budget);
  d.latency = [](CallId) { return std::optional<common::Duration>(50ms); };
  int limited = 6;
  d.outcome = [&](CallId) { return limited-- > 0 ? Outcome::kRateLimited : Outcome::kOk; };
  d.Enqueue({Lane::kInteractive, ~FlowId{0}, kFar, false});  // the token call
  for (int i = 0; i < 20; ++i) d.Enqueue({Lane::kBatch, 1, kFar, false});
  double lowest = budget.rate();
  for (int s = 0; s < 600 && d.dispatched().size() < 21; ++s) {
    d.AdvanceBy(1s);
    lowest = std::min(lowest, budget.rate());
  }
  ASSERT_EQ(d.dispatched().size(), 21u);
  EXPECT_EQ(d.dispatched().front().spec.lane, Lane::kInteractive);
  EXPECT_EQ(MaxInWindow(d.DispatchTimes()), 1u);
  EXPECT_GT(budget.Snapshot(d.now()).cooldowns, 1u);
  EXPECT_LT(lowest, 0.97);
  EXPECT_GE(lowest, 0.97 * config::GateConfig{}.min_rate_share - 1e-12);
  d.AdvanceBy(5s);
  EXPECT_DOUBLE_EQ(budget.rate(), 0.97);
}

// A user's request that arrives while a batch of 4 waits at 1 call/s takes the next slot.
TEST(MockRate, InteractiveGoesAheadOfTheBatch) {
  Budget budget(BudgetConfigFor(MockKey(), config::GateConfig{}), 1);
  Driver d(budget);
  for (int i = 0; i < 4; ++i) d.Enqueue({Lane::kBatch, 1, kFar, false});
  ASSERT_EQ(d.dispatched().size(), 1u);  // the first batch call had the slot to itself
  d.AdvanceBy(300ms);
  d.Enqueue({Lane::kInteractive, 2, kFar, false});
  d.AdvanceBy(10s);
  ASSERT_EQ(d.dispatched().size(), 5u);
  EXPECT_EQ(d.dispatched()[1].spec.lane, Lane::kInteractive);
  EXPECT_LE(d.dispatched()[1].at - d.dispatched()[0].at, Gcra::IntervalFor(0.97));
}

// Every config key a budget error names is one the config file accepts: the error that sent users
// to "gate.min_rate", which did not exist, cannot come back.
TEST(MockRate, ValidateNamesOnlyKeysThatExist) {
  std::vector<BudgetConfig> broken(13);
  broken[0].rate = 0;
  broken[1].safety = 2;
  broken[2].min_rate_share = 0;
  broken[3].rate_decrease = 1;
  broken[4].rate_recovery = 0;
  broken[5].min_in_flight = 0;
  broken[6].in_flight = 0;
  broken[7].max_in_flight = 1;
  broken[8].in_flight_decrease = 0;
  broken[9].interactive_max_share = 0;
  broken[10].interactive_reserved_slots = 5;
  broken[11].cooldown = common::Duration::zero();
  broken[12].cooldown_jitter = 2;
  const std::regex named(R"((gate|kis\.keys\[\])\.([a-z_]+))");
  int config_keys = 0;
  for (const auto& b : broken) {
    const auto message = b.Validate();
    ASSERT_TRUE(message.has_value());
    SCOPED_TRACE(*message);
    std::smatch m;
    if (!std::regex_search(*message, m, named)) {
      // Not a config key: named as the struct's field, never as something to set.
      EXPECT_NE(message->find("BudgetConfig."), std::string::npos);
      continue;
    }
    ++config_keys;
    const std::string key = m[2];
    const std::string keys_table = "[[kis.keys]]\napp_key = \"k\"\napp_secret = \"s\"\n";
    const std::string toml = m[1] == "gate" ? fmt::format("[gate]\n{} = 1\n{}", key, keys_table)
                                            : fmt::format("{}{} = 1\n", keys_table, key);
    auto parsed =
        config::ParseConfig(toml, "t.toml", [](const std::string&) { return std::nullopt; });
    if (auto* e = std::get_if<config::ConfigError>(&parsed)) {
      EXPECT_EQ(e->message.find("unknown key"), std::string::npos) << e->message;
    }
  }
  EXPECT_GE(config_keys, 7);
}

}  // namespace
}  // namespace kisgate::gate

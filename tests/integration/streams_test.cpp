// stream::Streams end to end against the simulator over real sockets (issue 14 item 6): 60 codes
// wanted on one key stream 41 and poll 19; the simulator drops the session and the gap is
// recorded, resubscribed and filled from minute bars; a second instance on the same key backs off
// on OPSP8996. Trades, books and polled values land in a SQLite store. On manual time
// (testing::ManualTime): the sessions, the poller, the gate and the simulator's market, faults,
// holds and PINGPONGs read one clock, which moves on only once the simulator has caught up.
#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "gate/gateway.hpp"
#include "kis/realtime.hpp"
#include "sim/sim_server.hpp"
#include "sim/universe.hpp"
#include "store/store.hpp"
#include "stream/streams.hpp"
#include "support/manual_time.hpp"
#include "support/sim_caught_up.hpp"
#include "support/test_client.hpp"

namespace kisgate::stream {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

// The simulator's market day and the test's wall clock start here together (the gap filler asks
// KIS for the minute bars of the gap's day and minutes).
constexpr const char* kMarketStart = "2026-11-24T11:00:00";
constexpr const char* kAppKey = "PSstreamsTESTkey0000000000000000001";
constexpr const char* kSecret = "streams-test-secret";

class StreamsTest : public ::testing::Test {
 protected:
  void StartSim(double fault_drop_per_min = 0) {
    sim::SimOptions o;
    o.listen = "127.0.0.1:0";
    o.keys = {sim::SimKey{kAppKey, kSecret, sim::Environment::kReal}};
    o.rate = 20;
    o.latency_ms = 1;
    o.latency_sigma = 0;
    o.clock = kMarketStart;
    o.ws.hold = 300ms;
    o.ws.trades_per_s = 5;
    o.ws.ping_interval = 500ms;
    o.ws.fault_drop_per_min = fault_drop_per_min;
    sim_ = std::make_unique<sim::BackgroundSimulator>(o, clock_);

    config::KeyConfig key;
    key.name = "main";
    key.base_url = sim_->BaseUrl();
    key.app_key = kAppKey;
    key.app_secret = kSecret;
    key.rate = 18;
    config_.keys = {key};
    config_.stream.hold = 400ms;
    config_.stream.poll_share = 0.5;
    gateway_ = std::make_unique<gate::Gateway>(io_.get_executor(), config_, clock_);
    gateways_.push_back(gateway_.get());
    time_.SetCatchUpLimit(1s);  // the simulator always answers: a busy machine is waited for
    WatchSim();
    store_ = store::Open("sqlite://" + dir_.path() + "/kisgate.db");
  }

  // The first `n` codes of the simulator's universe as one [[streams]] entry of trades.
  void WantTrades(std::size_t n) {
    config::StreamConfig s;
    s.name = "hot";
    s.data = "trades";
    const auto& all = sim::Universe::Default().All();
    for (std::size_t i = 0; i < n && i < all.size(); ++i) s.codes.push_back(all[i].code);
    config_.streams = {s};
  }

  std::unique_ptr<Streams> Make(gate::Gateway& gateway, store::Store* store) {
    StreamsOptions options;
    options.after_hours = [] { return false; };
    options.session.backoff_base = 50ms;
    options.session.backoff_cap = 200ms;
    StreamsHooks hooks;
    hooks.ticks = [this](std::span<const kis::Tick> t) { ticks_ += t.size(); };
    hooks.gap = [this](const Gap&) { gaps_++; };
    hooks.polled = [this](const PolledValue&) { polled_++; };
    return std::make_unique<Streams>(io_.get_executor(), config_, gateway, store, clock_, hooks,
                                     options);
  }

  // Manual time waits for the simulator (ManualTime::RunUntil).
  void WatchSim() {
    caught_up_ = testing::SimCaughtUp(
        [this] {
          std::int64_t sent = 0;
          for (const auto* g : gateways_) sent += testing::UpstreamCalls(*g);
          return sent;
        },
        [this] { return sim_.get(); });
  }

  // Runs the io_context on manual time until `done` holds (false after `limit` of it).
  bool Until(const std::function<bool()>& done, common::Duration limit = 2min) {
    return time_.RunUntil(io_, done, limit, caught_up_);
  }

  void Stop(Streams& streams) {
    bool stopped = false;
    asio::co_spawn(io_, streams.Stop(), [&](const std::exception_ptr& e) {
      if (e) std::rethrow_exception(e);
      stopped = true;
    });
    ASSERT_TRUE(Until([&] { return stopped; }));
  }

  json::value SimWsStats() {
    testing::TestClient client(sim_->BaseUrl());
    auto stats = client.Get("/_sim/stats");
    EXPECT_TRUE(stats.has_value());
    return stats ? json::parse(stats->body).at("ws") : json::value();
  }

  testing::TempDir dir_;
  testing::ManualTime time_{testing::Kst(kMarketStart)};
  const common::Clock& clock_ = time_.clock();
  asio::io_context io_;
  std::unique_ptr<sim::BackgroundSimulator> sim_;
  config::Config config_;
  std::unique_ptr<gate::Gateway> gateway_;
  std::vector<const gate::Gateway*> gateways_;  // every gateway calling the simulator
  testing::ManualTime::CaughtUp caught_up_;
  std::unique_ptr<store::Store> store_;
  std::size_t ticks_ = 0;
  std::size_t gaps_ = 0;
  std::size_t polled_ = 0;
};

TEST_F(StreamsTest, SixtyCodesOnOneKeyStreamFortyOneAndPollNineteen) {
  StartSim();
  WantTrades(60);
  auto streams = Make(*gateway_, store_.get());
  streams->Start();
  const auto& plan = streams->plan();
  EXPECT_EQ(plan.wanted, 60u);
  EXPECT_EQ(plan.streamed, 41u);
  EXPECT_EQ(plan.overflow.size(), 19u);
  EXPECT_FALSE(plan.fits);
  ASSERT_TRUE(Until([&] {
    const auto s = streams->Sessions();
    return !s.empty() && s[0].state == SessionState::kConnected && s[0].registrations == 41 &&
           ticks_ > 100 && streams->poller().stats().ok >= 19;
  })) << json::serialize(streams->KeyStatus("main"));

  const auto status = streams->KeyStatus("main");
  EXPECT_EQ(status.at("streamed").to_number<std::size_t>(), 41u);
  EXPECT_EQ(status.at("polled").to_number<std::size_t>(), 19u);
  EXPECT_GT(status.at("poll_every_s").to_number<double>(), 0);
  EXPECT_EQ(status.at("registrations").to_number<std::size_t>(), 41u);
  EXPECT_EQ(status.at("refused").to_number<std::size_t>(), 0u);
  EXPECT_EQ(status.at("state").as_string(), "connected");
  EXPECT_EQ(polled_, streams->poller().stats().ok);
  // The simulator saw 41 registrations on one session, and no 42nd.
  const auto ws = SimWsStats();
  EXPECT_EQ(ws.at("sessions_opened").to_number<std::uint64_t>(), 1u);
  Stop(*streams);
  ASSERT_TRUE(store_->Flush(10s));
  // Streamed codes have trades stored; polled codes have prices stored.
  const auto& codes = config_.streams[0].codes;
  std::size_t streamed_with_ticks = 0;
  std::size_t polled_with_price = 0;
  for (const auto& code : codes) {
    if (store_->LatestTick(code)) streamed_with_ticks++;
    if (store_->Latest("price", code)) polled_with_price++;
  }
  EXPECT_EQ(streamed_with_ticks, 41u);
  EXPECT_EQ(polled_with_price, 19u);
}

TEST_F(StreamsTest, ADroppedSessionReconnectsResubscribesAndItsGapIsFilled) {
  StartSim(/*fault_drop_per_min=*/30);  // a drop every 2 s on average
  WantTrades(3);
  auto streams = Make(*gateway_, store_.get());
  streams->Start();
  ASSERT_TRUE(Until([&] {
    const auto* filler = streams->gap_filler();
    return gaps_ >= 1 && filler != nullptr && !filler->Recent().empty() && ticks_ > 0 &&
           !streams->Sessions().empty() && streams->Sessions()[0].state == SessionState::kConnected;
  })) << json::serialize(streams->KeyStatus("main"));
  const auto status = streams->KeyStatus("main");
  EXPECT_GE(status.at("reconnects").to_number<std::uint64_t>(), 1u);
  EXPECT_GE(status.at("gaps").to_number<std::uint64_t>(), 1u);
  EXPECT_EQ(status.at("registrations").to_number<std::size_t>(), 3u);
  const auto& fill = streams->gap_filler()->Recent().front();
  EXPECT_TRUE(fill.filled) << fill.why_not;
  EXPECT_EQ(fill.codes, 3u);
  Stop(*streams);
  ASSERT_TRUE(store_->Flush(10s));
  EXPECT_GE(store_->Count("bars_minute"), static_cast<std::int64_t>(fill.bars));
  EXPECT_GT(fill.bars, 0u);
}

TEST_F(StreamsTest, ASecondInstanceOnTheKeyBacksOffOnOpsp8996) {
  StartSim();
  WantTrades(2);
  auto first = Make(*gateway_, store_.get());
  first->Start();
  ASSERT_TRUE(Until([&] { return ticks_ > 0; }));
  gate::Gateway other_gateway(io_.get_executor(), config_, clock_);
  gateways_.push_back(&other_gateway);
  WatchSim();
  auto second = Make(other_gateway, nullptr);
  second->Start();
  ASSERT_TRUE(Until([&] {
    const auto s = second->Sessions();
    return !s.empty() && s[0].held_elsewhere >= 1;
  })) << json::serialize(second->KeyStatus("main"));
  const auto status = second->KeyStatus("main");
  EXPECT_NE(status.at("last_error").as_string().find("OPSP8996"), std::string::npos);
  EXPECT_EQ(first->Sessions()[0].state, SessionState::kConnected);
  Stop(*second);
  Stop(*first);
}

}  // namespace
}  // namespace kisgate::stream

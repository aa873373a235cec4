// stream::KisSession against the simulator's real-time WebSocket over real sockets: the
// simulator's market model streams the trades, keeps KIS's one-session-per-key rule and its hold,
// and a restart of the simulator drops the session. On manual time (testing::ManualTime): the
// session, the gate and the simulator's market, holds and PINGPONGs read one clock, which moves
// on only once the simulator has caught up (testing::SimCaughtUp).
#include <algorithm>
#include <functional>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "gate/gateway.hpp"
#include "kis/realtime.hpp"
#include "sim/sim_server.hpp"
#include "store/sqlite_store.hpp"
#include "stream/gap_filler.hpp"
#include "stream/kis_session.hpp"
#include "stream/test_sink.hpp"
#include "support/manual_time.hpp"
#include "support/sim_caught_up.hpp"
#include "support/test_client.hpp"

namespace kisgate::stream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using testing::kMarketStart;
using Sink = testing::SessionRecorder;
constexpr const char* kAppKey = "PSsessionSIMkey000000000000000000001";
constexpr const char* kSecret = "session-sim-secret";

class KisSessionSimTest : public ::testing::Test {
 protected:
  KisSessionSimTest() {
    StartSim("127.0.0.1:0");
    config::KeyConfig key;
    key.name = "main";
    key.base_url = sim->BaseUrl();
    key.app_key = kAppKey;
    key.app_secret = kSecret;
    key.rate = 20;
    config.keys.push_back(key);
    gateway = std::make_unique<gate::Gateway>(io.get_executor(), config, clock);
    gateways.push_back(gateway.get());
    time.SetCatchUpLimit(1s);  // the simulator always answers: a busy machine is waited for
    WatchSim();
  }

  // Manual time waits for the simulator now running (ManualTime::RunUntil).
  void WatchSim() {
    caught_up = testing::SimCaughtUp(
        [this] {
          std::int64_t sent = 0;
          for (const auto* g : gateways) sent += testing::UpstreamCalls(*g);
          return sent;
        },
        [this] { return sim.get(); });
  }

  void StartSim(std::string listen) {
    sim::SimOptions o;
    o.listen = std::move(listen);
    o.keys = {sim::SimKey{kAppKey, kSecret, sim::Environment::kReal}};
    o.rate = 20;
    o.latency_ms = 1;
    o.latency_sigma = 0;
    o.clock = kMarketStart;
    o.ws.hold = 300ms;
    o.ws.trades_per_s = 20;
    // Heartbeats often, answered by a text echo only, and a close after three missed.
    o.ws.ping_interval = 100ms;
    o.ws.ping_missed = 3;
    o.ws.strict_pingpong = true;
    sim = std::make_unique<sim::BackgroundSimulator>(o, clock);
  }
  // The simulator stops (every session with it) and starts again on the same port.
  void RestartSim() {
    const auto port = sim->Port();
    sim.reset();
    StartSim(fmt::format("127.0.0.1:{}", port));
    WatchSim();
  }

  // The simulator's WebSocket counters (/_sim/stats "ws").
  boost::json::value SimWs() const {
    testing::TestClient client(sim->BaseUrl());
    auto stats = client.Get("/_sim/stats");
    EXPECT_TRUE(stats.has_value());
    return stats ? boost::json::parse(stats->body).at("ws") : boost::json::value{};
  }

  KisSessionOptions Options() const {
    KisSessionOptions o;
    o.key_name = "main";
    o.ws_url = WsUrlFor(config.keys[0]);
    o.backoff_base = 50ms;
    o.backoff_cap = 200ms;
    o.hold = 400ms;
    return o;
  }

  std::unique_ptr<KisSession> Session(gate::Gateway& g, Sink& s) {
    return std::make_unique<KisSession>(io.get_executor(), g, clock, Options(), s);
  }

  // Runs the io_context on manual time until `done` holds (false after two minutes of it).
  bool Until(const std::function<bool()>& done) { return time.RunUntil(io, done, 2min, caught_up); }

  void Stop(KisSession& session) {
    bool stopped = false;
    asio::co_spawn(io, session.Stop(), [&](const std::exception_ptr& e) {
      if (e) std::rethrow_exception(e);
      stopped = true;
    });
    ASSERT_TRUE(Until([&] { return stopped; }));
  }

  static std::vector<Subscription> Trades(std::initializer_list<const char*> codes) {
    std::vector<Subscription> s;
    for (const char* c : codes) s.push_back(Subscription{std::string(kis::kTradesTr), c});
    return s;
  }

  testing::ManualTime time{testing::Kst(kMarketStart)};
  const common::Clock& clock = time.clock();
  asio::io_context io;
  std::unique_ptr<sim::BackgroundSimulator> sim;
  config::Config config;
  std::unique_ptr<gate::Gateway> gateway;
  std::vector<const gate::Gateway*> gateways;  // every gateway calling the simulator
  testing::ManualTime::CaughtUp caught_up;
  Sink sink;
};

TEST_F(KisSessionSimTest, SubscribesAndReceivesTradesAndBooks) {
  auto session = Session(*gateway, sink);
  auto wanted = Trades({"005930", "000660"});
  wanted.push_back(Subscription{std::string(kis::kBookTr), "005930"});
  session->SetSubscriptions(wanted);
  session->Start();
  ASSERT_TRUE(Until([&] {
    return sink.TicksOf("005930") > 0 && sink.TicksOf("000660") > 0 && !sink.books.empty();
  })) << session->Status().last_error;
  const auto status = session->Status();
  EXPECT_EQ(status.state, SessionState::kConnected);
  EXPECT_EQ(status.registrations, 3u);
  EXPECT_TRUE(status.refused.empty());
  EXPECT_EQ(status.parse_errors, 0u);
  for (const auto& t : sink.ticks) {
    EXPECT_GT(t.price, 0);
    EXPECT_EQ(t.date, "20261124");
  }
  EXPECT_EQ(sink.books[0].code, "005930");
  EXPECT_GT(sink.books[0].asks[0].price, sink.books[0].bids[0].price);
  // PINGPONGs echoed as text keep the session: the simulator receives more echoes than it lets go
  // unanswered, and the session is never closed.
  ASSERT_TRUE(Until([&] { return sim->simulator().realtime().Stats().pings_answered_text >= 10; }));
  const auto ws = SimWs();
  EXPECT_GE(ws.at("pings_answered_text").to_number<int>(), 10);
  EXPECT_EQ(ws.at("sessions_opened").to_number<int>(), 1);
  EXPECT_EQ(session->Status().reconnects, 0u);
  EXPECT_GE(session->Status().pings, 10u);
  Stop(*session);
}

// The simulator goes away and comes back: the session reconnects, subscribes again, records the gap
// between the last trade before and the first after, and the gap filler writes its minute bars.
TEST_F(KisSessionSimTest, ReconnectsAfterADropAndTheGapIsFilled) {
  auto session = Session(*gateway, sink);
  session->SetSubscriptions(Trades({"005930"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return !sink.ticks.empty(); })) << session->Status().last_error;
  RestartSim();
  ASSERT_TRUE(Until([&] { return !sink.gaps.empty(); })) << session->Status().last_error;
  const auto status = session->Status();
  EXPECT_EQ(status.reconnects, 1u);
  EXPECT_EQ(status.registrations, 1u);
  const Gap gap = sink.gaps[0];
  EXPECT_LT(gap.from, gap.to);
  EXPECT_EQ(gap.codes, std::vector<std::string>{"005930"});

  testing::TempDir dir;
  store::StoreOptions so;
  so.path = dir.path() + "/kisgate.db";
  store::SqliteStore store(so);
  GapFiller filler(io.get_executor(), *gateway, store, clock);
  filler.Enqueue(gap);
  ASSERT_TRUE(Until([&] { return filler.Recent().size() == 1; }));
  const GapFill& fill = filler.Recent()[0];
  EXPECT_TRUE(fill.filled) << fill.why_not;
  EXPECT_GE(fill.bars, 1u);
  ASSERT_TRUE(store.Flush(10s));
  EXPECT_EQ(store.Range("bars_minute", "005930", "", "", 100).size(), fill.bars);
  Stop(*session);
}

// A second session on the same key (another instance) is refused with OPSP8996, waits, and
// connects once the first has stopped and the key's hold is over.
TEST_F(KisSessionSimTest, SecondSessionOnTheKeyWaitsForTheFirst) {
  auto first = Session(*gateway, sink);
  first->SetSubscriptions(Trades({"005930"}));
  first->Start();
  ASSERT_TRUE(Until([&] { return !sink.ticks.empty(); })) << first->Status().last_error;
  gate::Gateway other_gateway(io.get_executor(), config, clock);
  gateways.push_back(&other_gateway);
  WatchSim();
  Sink other_sink;
  auto second = Session(other_gateway, other_sink);
  second->SetSubscriptions(Trades({"000660"}));
  second->Start();
  ASSERT_TRUE(Until([&] { return second->Status().held_elsewhere >= 1; }));
  EXPECT_TRUE(other_sink.ticks.empty());
  EXPECT_NE(second->Status().last_error.find("OPSP8996"), std::string::npos);
  Stop(*first);
  ASSERT_TRUE(Until([&] { return other_sink.TicksOf("000660") > 0; }))
      << second->Status().last_error;
  EXPECT_EQ(second->Status().state, SessionState::kConnected);
  Stop(*second);
}

// Demand changes swap registrations on the live connection: no reconnect, the new code streams.
TEST_F(KisSessionSimTest, SetSubscriptionsSwapsWithoutReconnecting) {
  auto session = Session(*gateway, sink);
  session->SetSubscriptions(Trades({"005930", "000660"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return sink.TicksOf("000660") > 0; })) << session->Status().last_error;
  session->SetSubscriptions(Trades({"005930", "035420"}));
  ASSERT_TRUE(Until([&] { return sink.TicksOf("035420") > 0; })) << session->Status().last_error;
  const auto status = session->Status();
  EXPECT_EQ(status.reconnects, 0u);
  EXPECT_EQ(status.connects, 1u);
  EXPECT_EQ(status.approval_keys, 1u);
  EXPECT_TRUE(status.refused.empty());
  Stop(*session);
}

}  // namespace
}  // namespace kisgate::stream

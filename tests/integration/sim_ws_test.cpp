// The simulator's real-time WebSocket over real sockets, spoken to as a KIS client would
// (kis-api.md §8): approval key over HTTP, subscribe on /tryitout, data arrives, echoing PINGPONG
// keeps the session, silence closes it, a second connection on the same key gets OPSP8996.
#include <functional>
#include <optional>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "http/websocket.hpp"
#include "sim/realtime.hpp"
#include "sim/sim_server.hpp"
#include "support/test_client.hpp"

namespace kisgate::sim {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using testing::TestClient;

// gtest's ASSERT_* return from the function; a coroutine must co_return.
#define CO_ASSERT_TRUE(cond)                  \
  if (!(cond)) {                              \
    ADD_FAILURE() << "expected true: " #cond; \
    co_return;                                \
  }
#define CO_ASSERT_EQ(a, b) \
  EXPECT_EQ(a, b);         \
  if (!((a) == (b))) co_return;

// One simulator for the suite (start-up stays cheap): a key per test, so holds do not meet.
class SimWebSocketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SimOptions o;
    o.listen = "127.0.0.1:0";
    o.latency_ms = 0;
    o.clock = "2026-11-24T11:00:00";  // a Tuesday, regular session
    o.speed = 10;                     // a market second every 100 ms
    o.ws.ping_interval = 200ms;
    o.ws.ping_missed = 3;
    o.ws.hold = 1s;
    o.ws.listen = "127.0.0.1:0";
    for (int i = 1; i <= 4; ++i) {
      o.keys.push_back(
          SimKey{"key-" + std::to_string(i), "secret-" + std::to_string(i), Environment::kReal});
    }
    sim_ = new BackgroundSimulator(o);
  }
  static void TearDownTestSuite() {
    delete sim_;
    sim_ = nullptr;
  }

  static std::string Approval(const std::string& key, const std::string& secret) {
    TestClient client(sim_->BaseUrl());
    auto r = client.Post(
        "/oauth2/Approval",
        json::serialize(json::object{
            {"grant_type", "client_credentials"}, {"appkey", key}, {"secretkey", secret}}));
    EXPECT_TRUE(r) << client.error();
    if (!r) return {};
    EXPECT_EQ(r->status, 200) << r->body;
    return std::string(json::parse(r->body).at("approval_key").as_string());
  }

  static std::string Subscribe(const std::string& approval, std::string_view tr_id,
                               std::string_view code, std::string_view tr_type = "1") {
    return json::serialize(json::object{
        {"header", json::object{{"approval_key", approval},
                                {"custtype", "P"},
                                {"tr_type", tr_type},
                                {"content-type", "utf-8"}}},
        {"body", json::object{{"input", json::object{{"tr_id", tr_id}, {"tr_key", code}}}}}});
  }

  static json::object Stats() {
    TestClient client(sim_->BaseUrl());
    auto r = client.Get("/_sim/stats");
    EXPECT_TRUE(r);
    return r ? json::parse(r->body).at("ws").as_object() : json::object{};
  }

  // Runs a client coroutine to completion on this thread; its exceptions fail the test.
  static void RunClient(std::function<asio::awaitable<void>()> body) {
    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, body(), [&](const std::exception_ptr& e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
  }

  static asio::awaitable<std::unique_ptr<http::WebSocket>> Connect(const std::string& base) {
    std::string error;
    // The executor first: g++ 12 destroys the temporaries of a statement that has a co_await
    // twice (the URL, the options).
    const auto ex = co_await asio::this_coro::executor;
    auto connect = http::ConnectWebSocket(ex, base + "/tryitout", http::WebSocketOptions{}, error);
    auto ws = co_await std::move(connect);
    EXPECT_TRUE(ws) << error;
    co_return ws;
  }

  // The next message that is not a data frame (an ack, or a PINGPONG when `pings` is set).
  static asio::awaitable<std::optional<json::object>> NextAck(http::WebSocket& ws) {
    while (true) {
      auto read = ws.Read();
      auto m = co_await std::move(read);
      if (!m) co_return std::nullopt;
      if (m->empty() || (*m)[0] == '0' || (*m)[0] == '1') continue;
      auto v = json::parse(*m).as_object();
      if (v.at("header").at("tr_id").as_string() == "PINGPONG") {
        auto echo = ws.Write(*m);
        co_await std::move(echo);
        continue;
      }
      co_return v;
    }
  }

  static std::string MsgCd(const std::optional<json::object>& ack) {
    return ack ? std::string(ack->at("body").at("msg_cd").as_string()) : "(closed)";
  }

  static BackgroundSimulator* sim_;
};

BackgroundSimulator* SimWebSocketTest::sim_ = nullptr;

// Subscribed trades and books arrive with KIS's layouts, and a client that echoes every PINGPONG
// stays connected well past ping-missed x ping-s.
TEST_F(SimWebSocketTest, SubscribeDataArrivesAndEchoKeepsTheSession) {
  const auto approval = Approval("key-1", "secret-1");
  RunClient([&]() -> asio::awaitable<void> {
    // The main listener upgrades on any path.
    auto ws = co_await Connect(sim_->BaseUrl().replace(0, 4, "ws"));
    if (!ws) co_return;
    for (const char* tr : {"H0STCNT0", "H0STASP0"}) {
      auto send = ws->Write(Subscribe(approval, tr, "005930"));
      CO_ASSERT_TRUE(co_await std::move(send));
      auto ack = co_await NextAck(*ws);
      CO_ASSERT_EQ(MsgCd(ack), "OPSP0000");
      EXPECT_EQ(ack->at("header").at("tr_key").as_string(), "005930");
    }
    int pings = 0, trades = 0, books = 0;
    // 10 PINGPONGs echoed: more than ping-missed (3) intervals without a close.
    while (pings < 10) {
      auto read = ws->Read();
      auto m = co_await std::move(read);
      if (!m) ADD_FAILURE() << "closed after " << pings << " echoed PINGPONGs";
      CO_ASSERT_TRUE(m);
      if (m->starts_with("0|H0STCNT0|")) {
        trades++;
        continue;
      }
      if (m->starts_with("0|H0STASP0|001|")) {
        EXPECT_EQ(std::count(m->begin(), m->end(), '^'), kBookFields - 1);
        books++;
        continue;
      }
      auto v = json::parse(*m).as_object();
      CO_ASSERT_EQ(v.at("header").at("tr_id").as_string(), "PINGPONG");
      pings++;
      auto echo = ws->Write(*m);
      CO_ASSERT_TRUE(co_await std::move(echo));
    }
    EXPECT_GT(trades, 0);
    EXPECT_GT(books, 0);
    auto close = ws->Close();
    co_await std::move(close);
  });
  auto stats = Stats();
  EXPECT_GE(stats.at("pings_answered_text").to_number<std::uint64_t>(), 10u);
  EXPECT_GT(stats.at("records_sent").to_number<std::uint64_t>(), 0u);
}

// A client that never answers PINGPONG is closed after ping-missed of them, on the own WebSocket
// port (--ws-listen) as on the main one.
TEST_F(SimWebSocketTest, SilenceClosesTheSession) {
  const auto approval = Approval("key-2", "secret-2");
  ASSERT_NE(sim_->WsPort(), sim_->Port());
  int pings = 0;
  RunClient([&]() -> asio::awaitable<void> {
    auto ws = co_await Connect(sim_->WsUrl());
    if (!ws) co_return;
    auto send = ws->Write(Subscribe(approval, "H0STASP0", "000660"));
    CO_ASSERT_TRUE(co_await std::move(send));
    while (true) {
      auto read = ws->Read();
      auto m = co_await std::move(read);
      if (!m) break;
      if (m->find("PINGPONG") != std::string::npos) pings++;
    }
  });
  EXPECT_EQ(pings, 3);
  EXPECT_GE(Stats().at("closes").at("ping_missed").to_number<std::uint64_t>(), 1u);
}

// A second connection on a key gets OPSP8996 (rt_cd "9") while the first holds it and during the
// hold after it ends; then it gets the key.
TEST_F(SimWebSocketTest, SecondConnectionOnAKeyGetsOpsp8996UntilTheHoldEnds) {
  const auto approval = Approval("key-3", "secret-3");
  RunClient([&]() -> asio::awaitable<void> {
    auto first = co_await Connect(sim_->WsUrl());
    auto second = co_await Connect(sim_->WsUrl());
    if (!first || !second) co_return;
    auto a = first->Write(Subscribe(approval, "H0STCNT0", "005930"));
    co_await std::move(a);
    EXPECT_EQ(MsgCd(co_await NextAck(*first)), "OPSP0000");
    auto b = second->Write(Subscribe(approval, "H0STCNT0", "005930"));
    co_await std::move(b);
    auto refused = co_await NextAck(*second);
    CO_ASSERT_EQ(MsgCd(refused), "OPSP8996");
    EXPECT_EQ(refused->at("body").at("rt_cd").as_string(), "9");

    auto close = first->Close();
    co_await std::move(close);
    auto again = second->Write(Subscribe(approval, "H0STCNT0", "005930"));
    co_await std::move(again);
    EXPECT_EQ(MsgCd(co_await NextAck(*second)), "OPSP8996");  // held after the disconnect
    // The hold is 1 s: retry every 100 ms until the key is free.
    asio::steady_timer timer(co_await asio::this_coro::executor);
    std::string code;
    for (int i = 0; i < 100 && code != "OPSP0000"; ++i) {
      timer.expires_after(100ms);
      co_await timer.async_wait(asio::use_awaitable);
      auto retry = second->Write(Subscribe(approval, "H0STCNT0", "005930"));
      co_await std::move(retry);
      code = MsgCd(co_await NextAck(*second));
      if (code != "OPSP0000") {
        EXPECT_EQ(code, "OPSP8996");
      }
    }
    EXPECT_EQ(code, "OPSP0000");
    auto done = second->Close();
    co_await std::move(done);
  });
}

}  // namespace
}  // namespace kisgate::sim

namespace kisgate::sim {
namespace {

// A client that stops reading is cut once --ws-queue-frames frames wait for it (after the socket
// buffers fill), and counted; it never stalls the simulator.
TEST(SimWebSocketSlowClient, IsCutAndCounted) {
  SimOptions o;
  o.listen = "127.0.0.1:0";
  o.latency_ms = 0;
  o.clock = "2026-11-24T10:00:00";
  o.speed = 20;
  o.ws.trades_per_s = 20000;  // as many trades as each second's volume allows
  o.ws.queue_frames = 8;
  o.ws.ping_interval = std::chrono::hours(1);
  BackgroundSimulator sim(o);
  TestClient client(sim.BaseUrl());
  auto r = client.Post("/oauth2/Approval",
                       json::serialize(json::object{{"grant_type", "client_credentials"},
                                                    {"appkey", kDemoAppKey},
                                                    {"secretkey", DemoAppSecret()}}));
  ASSERT_TRUE(r && r->status == 200);
  const std::string approval(json::parse(r->body).at("approval_key").as_string());
  bool cut = false;
  asio::io_context io;
  std::exception_ptr failure;
  // A named lambda: the coroutine reads its captures through it, so it must outlive io.run().
  auto slow_client = [&]() -> asio::awaitable<void> {
    std::string error;
    const auto ex = co_await asio::this_coro::executor;  // not in the call: see Connect above
    auto connect = http::ConnectWebSocket(ex, sim.WsUrl() + "/tryitout", {}, error);
    auto ws = co_await std::move(connect);
    if (!ws) {
      ADD_FAILURE() << error;
      co_return;
    }
    for (const auto& stock : {"005930", "000660", "035420", "035720", "051910", "006400", "068270",
                              "105560", "055550", "005380"}) {
      for (const char* tr : {"H0STCNT0", "H0STASP0"}) {
        auto send = ws->Write(json::serialize(json::object{
            {"header", json::object{{"approval_key", approval}, {"tr_type", "1"}}},
            {"body", json::object{{"input", json::object{{"tr_id", tr}, {"tr_key", stock}}}}}}));
        co_await std::move(send);
      }
    }
    // Not reading: wait (bounded) until the simulator has cut this client.
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 300 && !cut; ++i) {
      timer.expires_after(100ms);
      co_await timer.async_wait(asio::use_awaitable);
      TestClient stats_client(sim.BaseUrl());
      auto stats = stats_client.Get("/_sim/stats");
      if (!stats) continue;
      const auto doc = json::parse(stats->body);
      cut = doc.at("ws").at("closes").as_object().contains("slow_client");
    }
    ws->Abort();
  };
  asio::co_spawn(io, slow_client(), [&](const std::exception_ptr& e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  EXPECT_TRUE(cut);
  // The simulator still serves others.
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

}  // namespace
}  // namespace kisgate::sim

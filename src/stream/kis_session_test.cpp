// stream::KisSession and stream::GapFiller with the real simulator's REST API (approval keys and
// minute bars through the real gateway) and a scripted KIS WebSocket in memory (FakeKis) that
// answers subscribe frames as kis-api.md §8 says KIS does. On manual time (testing::ManualTime):
// the session's backoffs, holds and lease renewals, the gate and the simulator read one clock.
#include "stream/kis_session.hpp"

#include <deque>
#include <functional>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "gate/gateway.hpp"
#include "http/websocket.hpp"
#include "kis/realtime_wire.hpp"
#include "sim/sim_server.hpp"
#include "sim/universe.hpp"
#include "store/sqlite_store.hpp"
#include "stream/gap_filler.hpp"
#include "stream/test_sink.hpp"
#include "support/manual_time.hpp"
#include "support/sim_caught_up.hpp"
#include "support/test_client.hpp"
#include "views/json_writer.hpp"

namespace kisgate::stream {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

// The simulator's market day and the test's wall clock start here together.
using testing::kMarketStart;
using Sink = testing::SessionRecorder;

// ---- A KIS WebSocket in memory -------------------------------------------------------------

class FakeKis;

class FakeSocket final : public http::WebSocket {
 public:
  FakeSocket(asio::any_io_executor ex, FakeKis& kis) : wake_(ex), unstall_(ex), kis_(kis) {
    wake_.expires_at(asio::steady_timer::time_point::max());
  }
  ~FakeSocket() override;
  FakeSocket(const FakeSocket&) = delete;
  FakeSocket& operator=(const FakeSocket&) = delete;
  asio::awaitable<std::optional<std::string>> Read() override {
    while (inbox_.empty() && !closed_) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      boost::system::error_code ec;
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (inbox_.empty()) co_return std::nullopt;
    std::string text = std::move(inbox_.front());
    inbox_.pop_front();
    co_return text;
  }
  asio::awaitable<bool> Write(std::string text) override;
  asio::awaitable<void> Close(std::string_view) override {
    Abort();
    co_return;
  }
  void Abort() override {
    closed_ = true;
    wake_.cancel();
    unstall_.cancel();
  }
  const std::string& remote() const override { return remote_; }
  std::uint64_t control_frames() const override { return 0; }

  // From "KIS".
  void Push(std::string text) {
    if (closed_) return;
    inbox_.push_back(std::move(text));
    wake_.cancel();
  }
  bool closed() const { return closed_; }

 private:
  asio::steady_timer wake_;
  asio::steady_timer unstall_;
  FakeKis& kis_;
  std::deque<std::string> inbox_;
  bool closed_ = false;
  std::string remote_ = "fake-kis:0";
};

// Answers like KIS: OPSP0000 / OPSP0002 / OPSP0001 / OPSP0003, OPSP0008 past `max_subs`,
// OPSP8996 to every subscribe while `held` is set.
class FakeKis {
 public:
  explicit FakeKis(asio::any_io_executor ex) : ex_(std::move(ex)) {}

  KisSession::Connector Connector() {
    return [this](std::string url,
                  std::string& error) -> asio::awaitable<std::unique_ptr<http::WebSocket>> {
      urls.push_back(url);
      if (refuse_connects > 0) {
        --refuse_connects;
        error = "connection refused (fake)";
        co_return nullptr;
      }
      auto socket = std::make_unique<FakeSocket>(ex_, *this);
      live = socket.get();
      registered.clear();
      ++connects;
      co_return socket;
    };
  }

  void OnClientFrame(FakeSocket& socket, const std::string& text) {
    sent.push_back(text);
    auto v = json::parse(text);
    if (v.at("header").as_object().contains("tr_id")) {  // an echoed PINGPONG
      echoed.push_back(text);
      return;
    }
    const std::string tr_id(v.at("body").at("input").at("tr_id").as_string());
    const std::string tr_key(v.at("body").at("input").at("tr_key").as_string());
    const bool subscribe = v.at("header").at("tr_type").as_string() == "1";
    if (silent) return;  // KIS never answers
    approval_keys.insert(std::string(v.at("header").at("approval_key").as_string()));
    std::string code = "OPSP0000", msg = "SUBSCRIBE SUCCESS", rt = "0";
    const auto pair = std::make_pair(tr_id, tr_key);
    if (subscribe) {
      subscribes++;
      if (held) {
        code = "OPSP8996", msg = "ALREADY IN USE appkey", rt = "9";
      } else if (registered.contains(pair) || ever.contains(pair)) {
        code = "OPSP0002", msg = "ALREADY IN SUBSCRIBE", rt = "1";
        registered.insert(pair);
      } else if (registered.size() >= max_subs) {
        code = "OPSP0008", msg = "MAX SUBSCRIBE OVER", rt = "9";
      } else {
        registered.insert(pair);
        ever.insert(pair);
      }
    } else {
      unsubscribes++;
      if (registered.erase(pair) == 1) {
        code = "OPSP0001", msg = "UNSUBSCRIBE SUCCESS";
        ever.erase(pair);
      } else {
        code = "OPSP0003", msg = "UNSUBSCRIBE ERROR(not found!)", rt = "9";
      }
    }
    socket.Push(json::serialize(json::object{
        {"header", json::object{{"tr_id", tr_id}, {"tr_key", tr_key}, {"encrypt", "N"}}},
        {"body", json::object{{"rt_cd", rt}, {"msg_cd", code}, {"msg1", msg}}}}));
  }

  // A trades frame of one record for `code` on the live socket.
  void Trade(const std::string& code, const std::string& time, std::int64_t price) {
    std::vector<std::string> f(46, "0");
    f[0] = code, f[1] = time, f[2] = std::to_string(price), f[12] = "1", f[33] = "20261124";
    if (live) live->Push(fmt::format("0|H0STCNT0|001|{}", fmt::join(f, "^")));
  }
  // An order-book frame (H0STASP0) of `code` at `time` with the best ask at `ask`.
  void Book(const std::string& code, const std::string& time, std::int64_t ask) {
    std::vector<std::string> f(59, "0");
    f[0] = code, f[1] = time, f[3] = std::to_string(ask);
    if (live) live->Push(fmt::format("0|H0STASP0|001|{}", fmt::join(f, "^")));
  }
  // The server closes the connection.
  void Drop() {
    if (live) live->Abort();
  }

  std::vector<std::string> urls;
  std::vector<std::string> sent;
  std::vector<std::string> echoed;
  std::set<std::string> approval_keys;
  std::set<std::pair<std::string, std::string>> registered;  // on the live connection
  std::set<std::pair<std::string, std::string>> ever;        // KIS's memory across reconnects
  std::size_t max_subs = 41;
  bool held = false;
  bool silent = false;        // no answer to any subscribe frame
  bool stall_writes = false;  // the session's writes wait: the peer does not read
  int refuse_connects = 0;
  int connects = 0, subscribes = 0, unsubscribes = 0;
  FakeSocket* live = nullptr;  // null once the session has destroyed its socket
  // Whether the session closed (or destroyed) the latest socket.
  bool LiveClosed() const { return live == nullptr || live->closed(); }

 private:
  asio::any_io_executor ex_;
};

FakeSocket::~FakeSocket() {
  if (kis_.live == this) kis_.live = nullptr;
}

asio::awaitable<bool> FakeSocket::Write(std::string text) {
  while (kis_.stall_writes && !closed_) {  // a peer that does not read: until the socket closes
    unstall_.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await unstall_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (closed_) co_return false;
  kis_.OnClientFrame(*this, text);
  co_return true;
}

struct FakeLease final : SessionLease {
  asio::awaitable<bool> Acquire() override {
    acquires++;
    co_return free;
  }
  asio::awaitable<void> Release() override {
    releases++;
    co_return;
  }
  std::string Holder() const override { return free ? "" : "instance-b"; }
  bool free = true;
  int acquires = 0, releases = 0;
};

// ---- The suite: one simulator for every test --------------------------------------------------

class KisSessionTest : public ::testing::Test {
 protected:
  // One simulator for the suite (start-up is the costly part), on the suite's manual time.
  static void SetUpTestSuite() {
    time_ = new testing::ManualTime(testing::Kst(kMarketStart));
    time_->SetCatchUpLimit(1s);  // the simulator always answers: a busy machine is waited for
    sim::SimOptions o;
    o.listen = "127.0.0.1:0";
    o.rate = 20;
    o.latency_ms = 1;
    o.latency_sigma = 0;
    o.clock = kMarketStart;
    // A key per test: KIS (and the simulator) issue one approval key per second per key.
    for (int i = 0; i < kKeys; ++i)
      o.keys.push_back(sim::SimKey{AppKey(i), "secret", sim::Environment::kReal});
    sim_ = new sim::BackgroundSimulator(o, time_->clock());
  }
  static void TearDownTestSuite() {
    delete sim_;
    sim_ = nullptr;
    delete time_;
    time_ = nullptr;
  }

  KisSessionTest() : clock(time_->clock()), kis(io.get_executor()) {
    config::KeyConfig key;
    key.name = "main";
    key.base_url = sim_->BaseUrl();
    key.app_key = AppKey(next_key_++ % kKeys);
    key.app_secret = "secret";
    key.rate = 20;
    config.keys.push_back(key);
    gateway = std::make_unique<gate::Gateway>(io.get_executor(), config, clock);
    // The simulator has received every call of this test's gateways (ManualTime::RunUntil).
    caught_up = testing::SimCaughtUp(
        [this] {
          std::int64_t sent = testing::UpstreamCalls(*gateway);
          for (const auto* g : gateways) sent += testing::UpstreamCalls(*g);
          return sent;
        },
        [] { return sim_; });
  }

  KisSessionOptions Options() {
    KisSessionOptions o;
    o.key_name = "main";
    o.ws_url = WsUrlFor(config.keys[0]);
    o.backoff_base = 20ms;
    o.backoff_cap = 100ms;
    o.hold = 200ms;
    o.lease_renew = 50ms;
    return o;
  }

  std::unique_ptr<KisSession> Session(KisSessionOptions o, SessionLease* lease = nullptr) {
    return std::make_unique<KisSession>(io.get_executor(), *gateway, clock, std::move(o), sink,
                                        lease, kis.Connector());
  }

  // Runs the io_context on manual time until `done` holds (false after a minute of it: the test
  // fails, it does not hang).
  bool Until(const std::function<bool()>& done) {
    return time_->RunUntil(io, done, 1min, caught_up);
  }

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

  static constexpr int kKeys = 16;
  static std::string AppKey(int i) { return fmt::format("PSsessionTESTkey{:020}", i); }

  static testing::ManualTime* time_;
  static sim::BackgroundSimulator* sim_;
  static int next_key_;
  asio::io_context io;
  const common::Clock& clock;
  config::Config config;
  std::unique_ptr<gate::Gateway> gateway;
  std::vector<const gate::Gateway*> gateways;  // other gateways calling the simulator
  testing::ManualTime::CaughtUp caught_up;
  FakeKis kis;
  Sink sink;
};

testing::ManualTime* KisSessionTest::time_ = nullptr;
sim::BackgroundSimulator* KisSessionTest::sim_ = nullptr;
int KisSessionTest::next_key_ = 0;

// ---- Approval key ---------------------------------------------------------------------------

// One approval key is one call through the key's gate: the key's counters (and its budget) see it.
TEST_F(KisSessionTest, ApprovalKeyIsOneCallThroughTheKeysGate) {
  std::optional<std::variant<std::string, kis::Classification>> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto call = gateway->ApprovalKey(
            "main", gate::CallOptions{common::Lane::kInteractive, 0, clock.Now() + 10s});
        result = co_await std::move(call);
      },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  ASSERT_TRUE(Until([&] { return result.has_value(); }));
  ASSERT_TRUE(std::holds_alternative<std::string>(*result))
      << std::get<kis::Classification>(*result).message;
  EXPECT_EQ(std::get<std::string>(*result).size(), 36u);
  const auto stats = gateway->Stats().keys.at(0);
  EXPECT_EQ(stats.upstream, 1u);
  EXPECT_EQ(stats.ok, 1u);
  // Admitted by the key's budget, on the interactive lane.
  EXPECT_EQ(stats.budget.lanes[0].admitted, 1u);
}

// A wrong secret is KIS's error, classified: not a key, not a crash.
TEST_F(KisSessionTest, ApprovalKeyErrorsAreClassified) {
  config.keys[0].app_secret = "wrong";
  gate::Gateway wrong(io.get_executor(), config, clock);
  gateways.push_back(&wrong);
  std::optional<std::variant<std::string, kis::Classification>> result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto call = wrong.ApprovalKey(
            "main", gate::CallOptions{common::Lane::kInteractive, 0, clock.Now() + 10s});
        result = co_await std::move(call);
      },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  ASSERT_TRUE(Until([&] { return result.has_value(); }));
  ASSERT_TRUE(std::holds_alternative<kis::Classification>(*result));
  const auto& c = std::get<kis::Classification>(*result);
  EXPECT_EQ(c.action, kis::Action::kFail);
  EXPECT_FALSE(c.code.empty());
  EXPECT_EQ(wrong.Stats().keys.at(0).errors.count(c.code), 1u);
}

TEST(WsUrl, DerivedFromTheKey) {
  config::KeyConfig key;
  key.base_url = std::string(config::kRealBaseUrl);
  EXPECT_EQ(WsUrlFor(key), "ws://ops.koreainvestment.com:21000/tryitout");
  key.environment = config::KisEnvironment::kMock;
  key.base_url = std::string(config::kMockBaseUrl);
  EXPECT_EQ(WsUrlFor(key), "ws://ops.koreainvestment.com:31000/tryitout");
  key.base_url = "http://127.0.0.1:8090";
  EXPECT_EQ(WsUrlFor(key), "ws://127.0.0.1:8090/tryitout");
}

// ---- The session ------------------------------------------------------------------------------

TEST_F(KisSessionTest, SubscribesReceivesTradesAndEchoesPingPong) {
  auto session = Session(Options());
  session->SetSubscriptions(Trades({"005930", "000660"}));
  session->Start();
  ASSERT_TRUE(
      Until([&] { return session->Status().registrations == 2 && kis.registered.size() == 2; }));
  EXPECT_EQ(session->Status().state, SessionState::kConnected);
  EXPECT_EQ(kis.urls.at(0), WsUrlFor(config.keys[0]));
  // One approval key for the connection, used in every subscribe frame.
  EXPECT_EQ(kis.approval_keys.size(), 1u);
  EXPECT_EQ(session->Status().approval_keys, 1u);

  kis.Trade("005930", "110001", 71500);
  kis.Trade("005930", "110001", 71600);
  const std::string ping = R"({"header":{"tr_id":"PINGPONG","datetime":"20261124110002"}})";
  kis.live->Push(ping);
  ASSERT_TRUE(Until([&] { return sink.ticks.size() == 2 && kis.echoed.size() == 1; }));
  EXPECT_EQ(sink.ticks[0].price, 71500);
  EXPECT_EQ(sink.ticks[0].seq, 0u);
  EXPECT_EQ(sink.ticks[1].seq, 1u);  // the same second: the next rank
  EXPECT_EQ(kis.echoed[0], ping);
  const auto status = session->Status();
  EXPECT_EQ(status.pings, 1u);
  EXPECT_EQ(status.records, 2u);
  EXPECT_EQ(status.reconnects, 0u);

  // A frame KIS garbled is counted and described; the session goes on.
  kis.live->Push("0|H0STCNT0|002|005930^1");
  kis.Trade("000660", "110003", 182000);
  ASSERT_TRUE(Until([&] { return sink.ticks.size() == 3; }));
  EXPECT_EQ(session->Status().parse_errors, 1u);
  EXPECT_EQ(session->Status().parse_errors_by_kind.at("field_count"), 1u);
  Stop(*session);
  EXPECT_EQ(session->Status().state, SessionState::kStopped);
  EXPECT_TRUE(kis.LiveClosed());
}

// The server drops the session: the session reconnects with a new approval key, subscribes
// everything again (KIS answers OPSP0002, which is fine) and reports the gap between the last frame
// before the drop and the first one after.
TEST_F(KisSessionTest, ReconnectsResubscribesAndRecordsTheGap) {
  auto session = Session(Options());
  session->SetSubscriptions(Trades({"005930", "000660"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 2; }));
  kis.Trade("005930", "110001", 71500);
  ASSERT_TRUE(Until([&] { return sink.ticks.size() == 1; }));
  const auto last_before = sink.ticks[0].received_at;
  kis.Drop();
  kis.refuse_connects = 1;  // and the first reconnect fails: one gap all the same
  ASSERT_TRUE(Until([&] { return kis.connects == 2 && kis.registered.size() == 2; }));
  EXPECT_EQ(session->Status().registrations, 2u);
  EXPECT_TRUE(session->Status().refused.empty());
  EXPECT_TRUE(sink.gaps.empty());  // no data yet after the reconnect
  kis.Trade("000660", "110009", 182000);
  ASSERT_TRUE(Until([&] { return sink.ticks.size() == 2; }));
  ASSERT_EQ(sink.gaps.size(), 1u);
  const Gap& gap = sink.gaps[0];
  EXPECT_EQ(gap.id, 1u);
  EXPECT_EQ(gap.key_name, "main");
  EXPECT_EQ(gap.from, last_before);
  EXPECT_EQ(gap.to, sink.ticks[1].received_at);
  EXPECT_EQ(gap.codes, (std::vector<std::string>{"000660", "005930"}));
  const auto status = session->Status();
  EXPECT_EQ(status.reconnects, 1u);
  EXPECT_EQ(status.connects, 2u);
  EXPECT_EQ(status.approval_keys, 3u);  // one per connection attempt
  EXPECT_EQ(status.gaps, 1u);
  ASSERT_EQ(status.recent_gaps.size(), 1u);
  EXPECT_EQ(kis.approval_keys.size(), 2u);
  Stop(*session);
}

// OPSP8996: the key's session is held elsewhere. The session waits `hold` before it tries again,
// and connects once the other session is gone.
TEST_F(KisSessionTest, BacksOffOnHeldElsewhereThenConnects) {
  kis.held = true;
  auto session = Session(Options());
  session->SetSubscriptions(Trades({"005930"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return session->Status().held_elsewhere >= 1; }));
  EXPECT_EQ(session->Status().state, SessionState::kHeldElsewhere);
  EXPECT_NE(session->Status().last_error.find("OPSP8996"), std::string::npos);
  kis.held = false;
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 1; }));
  EXPECT_EQ(session->Status().state, SessionState::kConnected);
  EXPECT_EQ(session->Status().registrations, 1u);
  Stop(*session);
}

// Demand changes swap registrations on the live connection: the removed unsubscribed first, the
// added subscribed, no reconnect.
TEST_F(KisSessionTest, SetSubscriptionsSwapsWithoutReconnecting) {
  auto session = Session(Options());
  session->SetSubscriptions(Trades({"005930", "000660"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 2; }));
  auto next = Trades({"005930", "035420"});
  next.push_back(Subscription{std::string(kis::kBookTr), "005930"});
  session->SetSubscriptions(next);
  ASSERT_TRUE(Until([&] {
    return kis.registered.size() == 3 && session->Status().registrations == 3 &&
           kis.unsubscribes == 1;
  }));
  EXPECT_TRUE(kis.registered.contains({"H0STCNT0", "035420"}));
  EXPECT_TRUE(kis.registered.contains({"H0STASP0", "005930"}));
  EXPECT_FALSE(kis.registered.contains({"H0STCNT0", "000660"}));
  EXPECT_EQ(kis.connects, 1);
  EXPECT_EQ(session->Status().reconnects, 0u);
  EXPECT_EQ(session->Status().approval_keys, 1u);
  Stop(*session);
}

// A registration removed and wanted again before KIS answered is subscribed again, not lost with
// the answer to its unsubscribe.
TEST_F(KisSessionTest, RemovedAndAddedAgainBeforeTheAcksStaysSubscribed) {
  auto o = Options();
  o.change_interval = 0ms;  // every change goes out at once (no coalescing)
  auto session = Session(o);
  session->SetSubscriptions(Trades({"005930"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 1; }));
  // No turn of the io_context between the three: no frame has been sent or answered yet.
  session->SetSubscriptions(Trades({"005930", "000660"}));
  session->SetSubscriptions(Trades({"005930"}));
  session->SetSubscriptions(Trades({"005930", "000660"}));
  ASSERT_TRUE(Until([&] { return kis.subscribes == 3 && kis.unsubscribes == 1; }));
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 2; }));
  EXPECT_EQ(session->Status().registrations, 2u);
  Stop(*session);
}

// One client changing its code thousands of times must not churn KIS's registrations: changes
// within change_interval are coalesced into one swap with the set wanted at its end.
TEST_F(KisSessionTest, DemandChurnIsCoalescedIntoFewFrames) {
  auto o = Options();
  o.change_interval = 1s;
  auto session = Session(o);
  session->SetSubscriptions(Trades({"005930"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 1; }));
  const int before = kis.subscribes + kis.unsubscribes;
  for (int i = 0; i < 3'000; ++i) {
    session->SetSubscriptions(
        {Subscription{std::string(kis::kTradesTr), fmt::format("{:06}", 100'000 + i)}});
    io.poll();  // the writer runs between two changes
  }
  ASSERT_TRUE(Until([&] {
    return kis.registered.size() == 1 && kis.registered.contains({"H0STCNT0", "102999"});
  }));
  const int frames = kis.subscribes + kis.unsubscribes - before;
  EXPECT_LE(frames, 4);  // at most two swaps of one unsubscribe and one subscribe
  EXPECT_GE(session->Status().changes_coalesced, 2'990u);
  EXPECT_EQ(session->Status().registrations, 1u);
  EXPECT_EQ(kis.connects, 1);
  Stop(*session);
}

// KIS accepting the subscriptions and then dropping the connection is a failure like any other:
// the backoff grows (it was reset by the first accepted subscription: a reconnect every 1.1 s).
TEST_F(KisSessionTest, ABriefConnectionDoesNotResetTheBackoff) {
  auto o = Options();
  o.backoff_base = 1s;
  o.backoff_cap = 60s;
  o.healthy_after = 60s;
  auto session = Session(o);
  session->SetSubscriptions(Trades({"005930"}));
  session->Start();
  std::vector<common::SteadyTime> connected;
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(Until([&] { return kis.connects == i && kis.registered.size() == 1; }));
    connected.push_back(clock.Now());
    kis.Drop();
  }
  // After four brief connections the fourth wait is 4-8 s, not the 1.1 s between approval keys.
  EXPECT_GE(connected[4] - connected[3], 4s);
  // A connection that stays up healthy_after resets it.
  ASSERT_TRUE(Until([&] { return kis.connects == 6 && kis.registered.size() == 1; }));
  for (int i = 0; i < 7; ++i) {  // KIS pings every 10 s
    kis.live->Push(R"({"header":{"tr_id":"PINGPONG","datetime":"20261124110002"}})");
    time_->RunFor(io, 9s, caught_up);
  }
  const auto at = clock.Now();
  kis.Drop();
  ASSERT_TRUE(Until([&] { return kis.connects == 7 && kis.registered.size() == 1; }));
  EXPECT_LT(clock.Now() - at, 2s);
  Stop(*session);
}

// What KIS sends is bounded: data of a code not registered is dropped (counted), a record of no
// stock code is a parse error, and echoes of PINGPONGs a peer sends without reading ours do not
// pile up. Bytes that are not UTF-8 never reach the status as such.
TEST_F(KisSessionTest, UpstreamDataIsBoundedAndChecked) {
  auto session = Session(Options());
  session->SetSubscriptions(Trades({"005930"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 1; }));
  for (int i = 0; i < 100; ++i) kis.Trade(fmt::format("{:06}", 200'000 + i), "110001", 1000);
  kis.Trade("005930", "110001", 71500);
  ASSERT_TRUE(Until([&] { return sink.ticks.size() == 1; }));
  EXPECT_EQ(sink.ticks[0].code, "005930");
  EXPECT_EQ(session->Status().unregistered_records, 100u);
  kis.live->Push(fmt::format("0|H0STCNT0|001|{}", std::string(45, '^')));
  kis.live->Push("0|\xba\xff\xfe|001|1");
  ASSERT_TRUE(Until([&] { return session->Status().parse_errors == 2; }));
  EXPECT_EQ(session->Status().parse_errors_by_kind.at("bad_value"), 1u);
  const auto error = session->Status().last_error;
  EXPECT_EQ(views::ValidUtf8(error), error);
  EXPECT_TRUE(sink.ticks.size() == 1);

  kis.stall_writes = true;
  const std::string ping = R"({"header":{"tr_id":"PINGPONG","datetime":"20261124110002"}})";
  for (int i = 0; i < 2'000; ++i) kis.live->Push(ping);
  ASSERT_TRUE(Until([&] { return session->Status().pings == 2'000; }));
  EXPECT_GE(session->Status().pings_dropped, 2'000u - 257u);
  Stop(*session);
}

// KIS sends the current order book again after a reconnect: the same snapshot is not a second
// row. A book whose time is later than its arrival (the after-hours book of the evening before,
// sent in the morning) is dated the trading day before, not today.
TEST_F(KisSessionTest, ARepeatedBookIsDroppedAndAnEveningBookKeepsItsDay) {
  auto session = Session(Options());
  session->SetSubscriptions({Subscription{std::string(kis::kBookTr), "005930"}});
  session->Start();
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 1; }));
  const auto now = common::ToKst(clock.WallNow());
  const auto earlier = common::FormatHms(now.time_of_day - std::chrono::seconds(5));
  kis.Book("005930", earlier, 71500);
  kis.Book("005930", earlier, 71500);
  kis.Book("005930", earlier, 71600);
  ASSERT_TRUE(Until([&] { return session->Status().frames >= 4; }));  // an ack and three books
  ASSERT_EQ(sink.books.size(), 2u);
  EXPECT_EQ(sink.books[0].date, common::FormatYmd(now.date));
  kis.Drop();
  ASSERT_TRUE(Until([&] { return kis.connects == 2 && kis.registered.size() == 1; }));
  kis.Book("005930", earlier, 71600);  // sent again after the reconnect
  kis.Book("005930", "235959", 71700);
  ASSERT_TRUE(Until([&] { return sink.books.size() >= 2 && session->Status().frames >= 7; }));
  ASSERT_EQ(sink.books.size(), 3u);
  EXPECT_EQ(session->Status().books_repeated, 2u);
  EXPECT_EQ(sink.books[2].date,
            common::FormatYmd(common::MarketCalendar{}.PreviousTradingDay(now.date)));
  Stop(*session);
}

// A subscription KIS never answers does not stay "subscribed" for ever: after ack_timeout it is
// reported as refused, with the reason, and counted.
TEST_F(KisSessionTest, UnansweredSubscriptionsTimeOut) {
  kis.silent = true;
  auto o = Options();
  o.ack_timeout = 10s;
  auto session = Session(o);
  session->SetSubscriptions(Trades({"005930", "000660"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return session->Status().refused.size() == 2; }));
  const auto status = session->Status();
  EXPECT_EQ(status.registrations, 0u);
  EXPECT_EQ(status.unanswered, 2u);
  EXPECT_NE(status.last_error.find("no answer from KIS"), std::string::npos);
  Stop(*session);
}

// The 42nd registration: KIS refuses it (OPSP0008) and the status says so; beyond the session's
// own maximum nothing is sent at all.
TEST_F(KisSessionTest, RefusedRegistrationsAreReported) {
  kis.max_subs = 2;
  auto o = Options();
  o.max_registrations = 3;
  auto session = Session(o);
  session->SetSubscriptions(Trades({"000001", "000002", "000003", "000004"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return session->Status().refused.size() == 2 && kis.subscribes == 3; }));
  const auto status = session->Status();
  EXPECT_EQ(status.registrations, 2u);
  EXPECT_EQ(status.refused,
            (std::vector<Subscription>{{"H0STCNT0", "000003"}, {"H0STCNT0", "000004"}}));
  EXPECT_EQ(kis.subscribes, 3);  // 000004 was never sent
  Stop(*session);
}

// With a lease, the session connects only while it holds it, and lets it go when it stops.
TEST_F(KisSessionTest, ConnectsOnlyWhileItHoldsTheLease) {
  FakeLease lease;
  lease.free = false;
  auto session = Session(Options(), &lease);
  session->SetSubscriptions(Trades({"005930"}));
  session->Start();
  ASSERT_TRUE(Until([&] { return lease.acquires >= 2; }));
  EXPECT_EQ(kis.connects, 0);
  EXPECT_EQ(session->Status().state, SessionState::kHeldElsewhere);
  EXPECT_NE(session->Status().last_error.find("instance-b"), std::string::npos);
  lease.free = true;
  ASSERT_TRUE(Until([&] { return kis.registered.size() == 1; }));
  // Renewed while connected; lost to another instance: disconnect and wait.
  const int renewed = lease.acquires;
  ASSERT_TRUE(Until([&] { return lease.acquires > renewed; }));
  lease.free = false;
  ASSERT_TRUE(Until([&] { return session->Status().state == SessionState::kHeldElsewhere; }));
  EXPECT_TRUE(kis.LiveClosed());
  EXPECT_GE(lease.releases, 1);
  lease.free = true;
  ASSERT_TRUE(Until([&] { return kis.connects == 2 && kis.registered.size() == 1; }));
  const int releases = lease.releases;
  Stop(*session);
  EXPECT_EQ(lease.releases, releases + 1);
}

// ---- Gap filling ------------------------------------------------------------------------------

// A gap in the session is filled with the simulator's minute bars of the traded codes, written
// to the store; a gap after hours is not, and says why.
TEST_F(KisSessionTest, GapFillerWritesTheGapsMinuteBars) {
  testing::TempDir dir;
  store::StoreOptions so;
  so.path = dir.path() + "/kisgate.db";
  store::SqliteStore store(so);
  GapFiller filler(io.get_executor(), *gateway, store, clock);
  Gap gap;
  gap.id = 7;
  gap.key_name = "main";
  gap.from = *common::ParseKstDateTime("2026-11-24 10:30:20");
  gap.to = *common::ParseKstDateTime("2026-11-24 10:34:10");
  gap.codes = {"005930", "000660"};
  Gap late = gap;
  late.id = 8;
  late.from = *common::ParseKstDateTime("2026-11-24 16:00:00");
  late.to = *common::ParseKstDateTime("2026-11-24 16:05:00");
  filler.Enqueue(gap);
  filler.Enqueue(late);
  ASSERT_TRUE(Until([&] { return filler.Recent().size() == 2; }));
  const GapFill& filled = filler.Recent()[0];
  EXPECT_TRUE(filled.filled) << filled.why_not;
  EXPECT_EQ(filled.gap_id, 7u);
  EXPECT_EQ(filled.bars, 10u);  // 10:30 to 10:34, two codes
  ASSERT_TRUE(store.Flush(10s));
  const auto rows = store.Range("bars_minute", "005930", "20261124103000", "20261124103410", 100);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows.front().market_time, "20261124103400");
  EXPECT_EQ(rows.back().market_time, "20261124103000");
  const GapFill& after_hours = filler.Recent()[1];
  EXPECT_FALSE(after_hours.filled);
  EXPECT_NE(after_hours.why_not.find("regular session"), std::string::npos);
  EXPECT_EQ(after_hours.bars, 0u);
}

}  // namespace
}  // namespace kisgate::stream

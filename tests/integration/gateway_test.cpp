// The gateway against `kisgate sim` over real sockets: the simulator's own statistics judge
// whether the gate kept KIS's limits. Most tests run on manual time (testing::ManualTime): the
// gate, the gateway's retries and deadlines, the HTTP client's timeouts and the simulator's rate
// windows and service delays all read the one ManualClock the test moves, so a test of 15 s of
// traffic takes a fraction of that and no result depends on how busy the machine is.
#include "gate/gateway.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "gate/paging.hpp"
#include "sim/sim_server.hpp"
#include "sim/universe.hpp"
#include "support/manual_time.hpp"
#include "support/test_client.hpp"

namespace kisgate::gate {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kKey = "PSgatewayTESTkey00000000000000000001";
constexpr const char* kSecret = "gateway-test-secret";

sim::SimOptions SimWith(double rate) {
  sim::SimOptions o;
  o.listen = "127.0.0.1:0";
  o.keys = {sim::SimKey{kKey, kSecret, sim::Environment::kReal}};
  o.rate = rate;
  o.latency_ms = 20;
  o.latency_sigma = 0.3;
  o.clock = "2026-11-24T11:00:00";
  return o;
}

config::Config ConfigFor(const sim::BackgroundSimulator& sim, double rate, int in_flight = 5) {
  config::Config c;
  config::KeyConfig k;
  k.name = "main";
  k.base_url = sim.BaseUrl();
  k.app_key = kKey;
  k.app_secret = kSecret;
  k.rate = rate;
  k.max_in_flight = in_flight;
  c.keys.push_back(k);
  return c;
}

KisRequest Price(std::string code) {
  return KisRequest{
      kis::Tr::kPrice, {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", code}}, ""};
}

json::object SimKeyStats(const sim::BackgroundSimulator& sim) {
  testing::TestClient client(sim.BaseUrl());
  auto r = client.Get("/_sim/stats");
  EXPECT_TRUE(r.has_value());
  auto stats = json::parse(r->body).as_object();
  json::object key = stats.at("keys").as_array()[0].as_object();
  key["connections"] = stats.at("connections");
  return key;
}

std::uint64_t U(const json::value& v) { return v.to_number<std::uint64_t>(); }
std::uint64_t Errors(const json::object& key, const char* code) {
  auto& errors = key.at("errors").as_object();
  return errors.contains(code) ? U(errors.at(code)) : 0;
}

// The time of the test: the manual clock on manual-time tests, the steady clock on real-time ones.
const common::Clock* test_clock = &common::SystemClock::Instance();

CallOptions Options(Lane lane, std::chrono::milliseconds timeout, FlowId flow = 0) {
  return CallOptions{lane, flow, test_clock->Now() + timeout};
}

// Manual time for one test: every clock the gateway and the simulator read is the test's.
class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest() { test_clock = &time.clock(); }
  ~GatewayTest() override { test_clock = &common::SystemClock::Instance(); }
  const common::Clock& clock() { return time.clock(); }

  testing::ManualTime time;
};

// The simulator has received every request the gateway sent (ManualTime::RunUntil).
testing::ManualTime::CaughtUp SimCaughtUp(const Gateway& gateway, sim::BackgroundSimulator& sim) {
  return testing::CountsMatch(
      [&gateway] {
        std::int64_t sent = 0;
        for (const auto& key : gateway.Stats().keys)
          sent += static_cast<std::int64_t>(key.upstream);
        return sent;
      },
      [&sim] { return static_cast<std::int64_t>(sim.simulator().TotalCalls()); });
}

// Runs `calls` through one gateway on this thread's io_context; returns the results in order.
struct Runner {
  asio::io_context io;
  std::vector<CallResult> results;
  std::vector<int> finish_order;
  std::vector<common::SteadyTime> finished_at;

  void Spawn(Gateway& gateway, KisRequest request, CallOptions options) {
    const auto index = results.size();
    results.emplace_back();
    finished_at.emplace_back();
    asio::co_spawn(
        io,
        [&gateway, this, index, request, options]() -> asio::awaitable<void> {
          auto call = gateway.Call(request, options);  // not inside co_await (g++ 12)
          results[index] = co_await std::move(call);
          finished_at[index] = test_clock->Now();
          finish_order.push_back(static_cast<int>(index));
        },
        asio::detached);
  }
  // The prices of the universe's first `n` codes, one batch call each.
  void SpawnBatch(Gateway& gateway, int n, std::chrono::milliseconds timeout) {
    const auto& codes = sim::Universe::Default().All();
    for (int i = 0; i < n; ++i) {
      Spawn(gateway, Price(codes[static_cast<std::size_t>(i)].code),
            Options(Lane::kBatch, timeout));
    }
  }
  // Real time.
  void Run() { io.run(); }
  // Manual time, until every call spawned so far has finished.
  void Run(testing::ManualTime& time, const Gateway& gateway, sim::BackgroundSimulator& sim) {
    io.restart();
    const bool finished = time.RunUntil(
        io, [this] { return finish_order.size() == results.size(); }, std::chrono::minutes(10),
        SimCaughtUp(gateway, sim));
    ASSERT_TRUE(finished) << finish_order.size() << " of " << results.size() << " calls finished";
  }
};

// 500 calls across all lanes with the simulator's burst rules on: every call succeeds, and the
// simulator saw no EGW00201, no second above the limit and no connection closed by a burst rule.
TEST_F(GatewayTest, FiveHundredCallsStayInsideKisLimits) {
  auto o = SimWith(50);
  o.max_in_flight_per_key = 5;
  o.max_connections = 10;
  sim::BackgroundSimulator sim(o, clock());
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 50), clock());
  const auto& codes = sim::Universe::Default().All();
  for (int i = 0; i < 500; ++i) {
    const Lane lane = i % 10 == 0  ? Lane::kInteractive
                      : i % 3 == 0 ? Lane::kBackground
                                   : Lane::kBatch;
    runner.Spawn(gateway, Price(codes[static_cast<std::size_t>(i)].code),
                 Options(lane, 60s, static_cast<FlowId>(i % 4)));
  }
  runner.Run(time, gateway, sim);
  int ok = 0;
  for (const auto& r : runner.results) ok += r.ok;
  EXPECT_EQ(ok, 500);
  auto key = SimKeyStats(sim);
  EXPECT_EQ(Errors(key, "EGW00201"), 0u);
  EXPECT_LE(U(key.at("max_calls_in_1s")), 50u);
  EXPECT_EQ(U(key.at("dropped_over_in_flight")), 0u);
  EXPECT_EQ(U(key.at("connections").at("closed_by_max_connections")), 0u);
  EXPECT_EQ(U(key.at("tokens_issued")), 1u);
  EXPECT_LE(U(key.at("connections").at("accepted")), 10u);  // kept alive, not one per call
}

// An interactive request that arrives behind a queue of batch work is served before it.
TEST_F(GatewayTest, InteractiveOvertakesQueuedBatch) {
  sim::BackgroundSimulator sim(SimWith(18), clock());
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 18), clock());
  runner.SpawnBatch(gateway, 40, 30s);
  runner.Spawn(gateway, Price("005930"), Options(Lane::kInteractive, 30s));
  runner.Run(time, gateway, sim);
  const auto user = std::find(runner.finish_order.begin(), runner.finish_order.end(), 40);
  ASSERT_NE(user, runner.finish_order.end());
  EXPECT_TRUE(runner.results[40].ok);
  // Behind 40 batch calls, the user request finishes among the first few (token, then it).
  EXPECT_LT(user - runner.finish_order.begin(), 8);
}

// A user asks for a value that a queued batch call will fetch: the user joins that call and
// promotes it ahead of the rest of the batch queue, instead of spending a second call.
TEST_F(GatewayTest, InteractiveJoiningQueuedBatchCallPromotesIt) {
  sim::BackgroundSimulator sim(SimWith(18), clock());
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 18), clock());
  const auto& codes = sim::Universe::Default().All();
  runner.SpawnBatch(gateway, 40, 30s);
  runner.Spawn(gateway, Price(codes[39].code), Options(Lane::kInteractive, 30s));  // same as #39
  runner.Run(time, gateway, sim);
  EXPECT_TRUE(runner.results[40].coalesced);
  EXPECT_TRUE(runner.results[40].ok);
  const auto pos = [&](int index) {
    return std::find(runner.finish_order.begin(), runner.finish_order.end(), index) -
           runner.finish_order.begin();
  };
  EXPECT_LT(pos(39), 8);  // the last batch call, promoted, is served among the first
  EXPECT_EQ(U(SimKeyStats(sim).at("calls")), 41u);  // the token and 40 prices, not 41
}

// 100 concurrent requests for one value: one upstream call.
TEST_F(GatewayTest, IdenticalCallsInFlightShareOneUpstreamCall) {
  sim::BackgroundSimulator sim(SimWith(18), clock());
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 18), clock());
  for (int i = 0; i < 100; ++i)
    runner.Spawn(gateway, Price("000660"), Options(Lane::kInteractive, 10s));
  runner.Run(time, gateway, sim);
  int coalesced = 0;
  for (const auto& r : runner.results) {
    EXPECT_TRUE(r.ok);
    coalesced += r.coalesced;
  }
  EXPECT_EQ(coalesced, 99);
  auto key = SimKeyStats(sim);
  EXPECT_EQ(U(key.at("calls")), 2u);  // the token and one price
}

TEST_F(GatewayTest, TokenPersistsAcrossRestart) {
  sim::BackgroundSimulator sim(SimWith(18), clock());
  testing::TempDir dir;
  GatewayOptions options;
  options.token_dir = dir.path();
  for (int run = 0; run < 2; ++run) {
    Runner runner;
    Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 18), clock(), options);
    runner.Spawn(gateway, Price("005930"), Options(Lane::kInteractive, 10s));
    runner.Run(time, gateway, sim);
    EXPECT_TRUE(runner.results[0].ok) << runner.results[0].error.code;
    EXPECT_EQ(gateway.Stats().keys[0].tokens_issued, run == 0 ? 1u : 0u);
  }
  EXPECT_EQ(U(SimKeyStats(sim).at("tokens_issued")), 1u);
}

// KIS says the token is invalid (here: revoked behind the gateway's back): the gateway re-issues
// once and replays the call.
TEST_F(GatewayTest, RevokedTokenIsReissuedOnceAndReplayed) {
  auto o = SimWith(18);
  o.tokens.issue_interval = 0s;
  sim::BackgroundSimulator sim(o, clock());
  testing::TempDir dir;
  GatewayOptions options;
  options.token_dir = dir.path();
  options.token_issue_interval = 0s;
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 18), clock(), options);
  runner.Spawn(gateway, Price("005930"), Options(Lane::kInteractive, 10s));
  runner.Run(time, gateway, sim);
  ASSERT_TRUE(runner.results[0].ok);
  // Revoke the token the gateway holds (its file is the only place it is written down).
  std::string token;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    token = std::string(json::parse(text).at("access_token").as_string());
  }
  testing::TestClient client(sim.BaseUrl());
  auto revoked = time.WhileRunning(runner.io, [&] {
    return client.Post(
        "/oauth2/revokeP",
        json::serialize(json::object{{"appkey", kKey}, {"appsecret", kSecret}, {"token", token}}));
  });
  ASSERT_TRUE(revoked && revoked->status == 200);
  runner.io.restart();
  runner.Spawn(gateway, Price("005930"), Options(Lane::kInteractive, 10s));
  runner.Run(time, gateway, sim);
  EXPECT_TRUE(runner.results[1].ok) << runner.results[1].error.code;
  EXPECT_EQ(runner.results[1].attempts, 2);
  EXPECT_EQ(gateway.Stats().keys[0].tokens_issued, 2u);
  EXPECT_EQ(Errors(SimKeyStats(sim), "EGW00121"), 1u);
}

// A token that runs out mid-run is renewed before use, not after a failed call.
TEST_F(GatewayTest, ExpiringTokenIsRenewedBeforeUse) {
  auto o = SimWith(18);
  o.tokens.ttl = 2s;
  o.tokens.reuse_window = 0s;
  o.tokens.issue_interval = 0s;
  sim::BackgroundSimulator sim(o, clock());
  GatewayOptions options;
  options.token_issue_interval = 0s;
  options.token_refresh_ahead = 0s;
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 18), clock(), options);
  runner.Spawn(gateway, Price("005930"), Options(Lane::kInteractive, 10s));
  runner.Run(time, gateway, sim);
  ASSERT_TRUE(runner.results[0].ok);
  time.clock().Advance(2100ms);
  runner.io.restart();
  runner.Spawn(gateway, Price("005930"), Options(Lane::kInteractive, 10s));
  runner.Run(time, gateway, sim);
  EXPECT_TRUE(runner.results[1].ok) << runner.results[1].error.code;
  EXPECT_EQ(gateway.Stats().keys[0].tokens_issued, 2u);
  EXPECT_EQ(Errors(SimKeyStats(sim), "EGW00123"), 0u);
}

// Disconnects, 500s and slow replies: every call ends inside its deadline, either served
// (mostly, thanks to retries through the gate) or failed with a classified error.
TEST_F(GatewayTest, FaultsEndInSuccessOrClassifiedErrorInsideDeadline) {
  auto o = SimWith(50);
  o.fault_disconnect = 0.05;
  o.fault_error = 0.05;
  o.fault_slow = 0.05;
  o.slow_ms = 3000;
  sim::BackgroundSimulator sim(o, clock());
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 50), clock());
  const auto deadline = time.Now() + 8s;
  runner.SpawnBatch(gateway, 100, 8s);
  runner.Run(time, gateway, sim);
  int ok = 0;
  for (std::size_t i = 0; i < runner.results.size(); ++i) {
    const auto& r = runner.results[i];
    // Nothing outlives its deadline (in manual time: at the latest in the step it falls in).
    EXPECT_LE(runner.finished_at[i], deadline + testing::ManualTime::kStep) << i;
    if (r.ok) {
      ok++;
    } else {
      EXPECT_FALSE(r.error.code.empty());
      EXPECT_FALSE(r.error.message.empty());
    }
  }
  EXPECT_GE(ok, 85);
  auto stats = gateway.Stats().keys[0];
  EXPECT_GT(stats.retries, 0u);
}

// A cycle longer than the retry budget's 10 s window, all queued at its start, with 3 % of calls
// failing retryably: the budget counts calls as they are sent, so retries stay available to the
// end and every call succeeds (counted at queueing, the window emptied after 10 s and late
// failures were final).
TEST_F(GatewayTest, RetryBudgetLastsThroughALongCycle) {
  auto o = SimWith(60);
  o.fault_error = 0.03;
  o.seed = 7;
  sim::BackgroundSimulator sim(o, clock());
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 60), clock());
  runner.SpawnBatch(gateway, 900, 60s);  // 15 s at 60 calls/s
  runner.Run(time, gateway, sim);
  int ok = 0;
  for (const auto& r : runner.results) ok += r.ok;
  EXPECT_EQ(ok, 900);
  auto key = SimKeyStats(sim);
  EXPECT_GT(Errors(key, "EGW00002"), 10u);  // the faults happened, and were retried away
  EXPECT_EQ(gateway.Stats().retry_budget_exhausted, 0u);
}

TEST_F(GatewayTest, BadRequestFailsWithHintAndNoRetry) {
  sim::BackgroundSimulator sim(SimWith(18), clock());
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 18), clock());
  runner.Spawn(
      gateway,
      KisRequest{
          kis::Tr::kPrice, {{"FID_COND_MRKT_DIV_CODE", "Z"}, {"FID_INPUT_ISCD", "005930"}}, ""},
      Options(Lane::kInteractive, 5s));
  runner.Run(time, gateway, sim);
  EXPECT_FALSE(runner.results[0].ok);
  EXPECT_EQ(runner.results[0].error.code, "OPSQ2001");
  EXPECT_EQ(runner.results[0].attempts, 1);
}

// A key whose persisted token turns out invalid, and which KIS's one-per-minute rule keeps from
// getting a new one, is routed around: the calls go to the other key instead of waiting a minute.
TEST_F(GatewayTest, KeyWaitingOutTheTokenRuleIsRoutedAround) {
  testing::TempDir dir;
  GatewayOptions options;
  options.token_dir = dir.path();
  {
    // Another simulator (another KIS account state) issues key1's token: it persists.
    sim::BackgroundSimulator first(SimWith(18), clock());
    Runner runner;
    Gateway gateway(runner.io.get_executor(), ConfigFor(first, 18), clock(), options);
    runner.Spawn(gateway, Price("005930"), Options(Lane::kInteractive, 10s));
    runner.Run(time, gateway, first);
    ASSERT_TRUE(runner.results[0].ok);
  }
  auto o = SimWith(18);
  o.keys.push_back(sim::SimKey{"PSgatewayTESTkey00000000000000000002", "second-secret",
                               sim::Environment::kReal});
  sim::BackgroundSimulator sim(o, clock());  // knows nothing of that token
  auto config = ConfigFor(sim, 18);
  auto second = config.keys[0];
  second.name = "second";
  second.app_key = "PSgatewayTESTkey00000000000000000002";
  second.app_secret = "second-secret";
  config.keys.push_back(second);
  Runner runner;
  Gateway gateway(runner.io.get_executor(), config, clock(), options);
  const auto start = time.Now();
  runner.SpawnBatch(gateway, 40, 30s);
  runner.Run(time, gateway, sim);
  for (const auto& r : runner.results) EXPECT_TRUE(r.ok) << r.error.code << " " << r.error.message;
  EXPECT_LT(time.Now() - start, 20s);  // not a minute behind key1's token
  const auto stats = gateway.Stats();
  EXPECT_EQ(stats.keys[0].tokens_issued, 0u);  // key1 could not get a new token yet
  EXPECT_GT(stats.keys[1].ok, 30u);
}

// Real time, on purpose: these tests run on the steady clock, proving that the gate's, the
// gateway's and the HTTP client's timers are wired to it (not only to a test's manual clock).
TEST(Gateway, BadStockCodeFailsBeforeAnyCall) {
  sim::BackgroundSimulator sim(SimWith(18));
  Runner runner;
  Gateway gateway(runner.io.get_executor(), ConfigFor(sim, 18), common::SystemClock::Instance());
  runner.Spawn(gateway, Price("12"), Options(Lane::kInteractive, 5s));
  runner.Spawn(gateway, Price("00593O;"), Options(Lane::kInteractive, 5s));
  runner.Run();
  for (const auto& r : runner.results) {
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error.code, "invalid_stock_code");
    EXPECT_EQ(r.attempts, 0);
  }
  EXPECT_EQ(U(SimKeyStats(sim).at("calls")), 0u);  // not even a token
}

TEST(Gateway, WrongSecretIsAFatalClearError) {
  sim::BackgroundSimulator sim(SimWith(18));
  Runner runner;
  auto config = ConfigFor(sim, 18);
  config.keys[0].app_secret = "wrong";
  Gateway gateway(runner.io.get_executor(), config, common::SystemClock::Instance());
  runner.Spawn(gateway, Price("005930"), Options(Lane::kInteractive, 5s));
  runner.Run();
  EXPECT_FALSE(runner.results[0].ok);
  EXPECT_EQ(runner.results[0].error.code, "EGW00105");
  EXPECT_FALSE(runner.results[0].error.hint.empty());
}

// An order bound to its key whose connection is refused was never written, so it is tried again
// (an unbound POST is sent once whatever happens); it stays on its key, and the result says it
// cannot have reached KIS. The upstream answers the token request, then stops listening.
TEST(Gateway, ABoundCallRefusedBeforeItWasWrittenIsTriedAgain) {
  asio::io_context upstream_io;
  asio::ip::tcp::acceptor acceptor(upstream_io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  std::thread upstream([&] {
    asio::ip::tcp::socket socket(upstream_io);
    acceptor.accept(socket);
    std::string request;
    char buffer[4096];
    boost::system::error_code ec;
    while (request.find("\r\n\r\n") == std::string::npos && !ec)
      request.append(buffer, socket.read_some(asio::buffer(buffer), ec));
    const std::string body =
        R"({"access_token":"upstream-token","token_type":"Bearer","expires_in":86400,)"
        R"("access_token_token_expired":"2099-01-01 00:00:00"})";
    asio::write(socket,
                asio::buffer(fmt::format("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                         "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                                         body.size(), body)),
                ec);
    socket.close();
    acceptor.close();  // from now on every connection is refused
  });
  config::Config config;
  for (const char* name : {"main", "second"}) {
    config::KeyConfig k;
    k.name = name;
    k.base_url = fmt::format("http://127.0.0.1:{}", port);
    k.app_key = kKey;
    k.app_secret = kSecret;
    config.keys.push_back(k);
  }
  GatewayOptions options;
  options.max_attempts = 3;
  options.backoff_base = 10ms;
  Runner runner;
  Gateway gateway(runner.io.get_executor(), config, common::SystemClock::Instance(), options);
  KisRequest order{kis::Tr::kPrice, {}, ""};
  order.path = "/uapi/domestic-stock/v1/trading/order-cash";
  order.tr_id = "TTTC0802U";
  order.method = "POST";
  order.body = R"({"CANO":"12345678","ACNT_PRDT_CD":"01","PDNO":"005930"})";
  auto bound = Options(Lane::kInteractive, 5s);
  bound.bound_key = "main";
  runner.Spawn(gateway, order, bound);
  runner.Run();
  upstream.join();
  const auto& r = runner.results[0];
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, "connect_refused") << r.error.message;
  EXPECT_EQ(r.attempts, 3);
  EXPECT_FALSE(r.maybe_delivered);
  EXPECT_EQ(r.key_name, "main");
  const auto stats = gateway.Stats();
  EXPECT_EQ(stats.keys[1].calls, 0u) << "a bound call went to another key";
}

// A whole day of minute bars, paged back 30 at a time: 390 bars, 09:00 to 15:29, no gaps.
TEST_F(GatewayTest, PagingMinuteBarsForTheWholeDay) {
  auto o = SimWith(50);
  o.clock = "2026-11-24T15:45:00";
  sim::BackgroundSimulator sim(o, clock());
  asio::io_context io;
  Gateway gateway(io.get_executor(), ConfigFor(sim, 50), clock());
  std::variant<PagedBars, CallResult> full, later;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto a = FetchMinuteBars(gateway, "005930", Options(Lane::kBatch, 30s));
        full = co_await std::move(a);
        auto b = FetchMinuteBars(gateway, "005930", Options(Lane::kBatch, 30s), "153000", "150000");
        later = co_await std::move(b);
        done = true;
      },
      asio::detached);
  ASSERT_TRUE(time.RunUntil(
      io, [&] { return done; }, std::chrono::minutes(10), SimCaughtUp(gateway, sim)));
  ASSERT_TRUE(std::holds_alternative<PagedBars>(full));
  const auto& bars = std::get<PagedBars>(full).bars;
  ASSERT_EQ(bars.size(), 390u);
  EXPECT_EQ(bars.front().time, "090000");
  EXPECT_EQ(bars.back().time, "152900");
  EXPECT_EQ(std::get<PagedBars>(full).pages, 13);
  std::int64_t volume = 0;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const int minute = 9 * 60 + static_cast<int>(i);
    ASSERT_EQ(bars[i].time, fmt::format("{:02d}{:02d}00", minute / 60, minute % 60));
    volume += bars[i].volume;
  }
  EXPECT_GT(volume, 0);
  // A later cycle asks only for what is new: the bars after 15:00, in two pages.
  ASSERT_TRUE(std::holds_alternative<PagedBars>(later));
  EXPECT_EQ(std::get<PagedBars>(later).bars.size(), 29u);
  EXPECT_EQ(std::get<PagedBars>(later).pages, 1);
}

TEST_F(GatewayTest, PagingDailyBarsOverARange) {
  sim::BackgroundSimulator sim(SimWith(50), clock());
  asio::io_context io;
  Gateway gateway(io.get_executor(), ConfigFor(sim, 50), clock());
  std::variant<PagedBars, CallResult> result;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto f = FetchDailyBars(gateway, "000660", "20250101", "20261124",
                                Options(Lane::kBackground, 30s));
        result = co_await std::move(f);
        done = true;
      },
      asio::detached);
  ASSERT_TRUE(time.RunUntil(
      io, [&] { return done; }, std::chrono::minutes(10), SimCaughtUp(gateway, sim)));
  ASSERT_TRUE(std::holds_alternative<PagedBars>(result));
  const auto& paged = std::get<PagedBars>(result);
  EXPECT_EQ(paged.pages, 5);  // ~470 trading days, 100 a page
  EXPECT_EQ(paged.bars.front().date, "20250102");
  EXPECT_EQ(paged.bars.back().date, "20261124");
  for (std::size_t i = 1; i < paged.bars.size(); ++i) {
    ASSERT_LT(paged.bars[i - 1].date, paged.bars[i].date);
  }
}

// The real KIS is HTTPS: the same gateway over TLS, with certificate verification on.
TEST(Gateway, WorksOverVerifiedTls) {
  testing::TempDir dir;
  testing::WriteSelfSignedCert(dir.path());
  auto o = SimWith(18);
  o.tls_cert = dir.path() + "/cert.pem";
  o.tls_key = dir.path() + "/key.pem";
  sim::BackgroundSimulator sim(o);
  ASSERT_EQ(sim.BaseUrl().rfind("https://", 0), 0u);
  Runner runner;
  auto config = ConfigFor(sim, 18);
  config.keys[0].ca_file = dir.path() + "/cert.pem";
  Gateway gateway(runner.io.get_executor(), config, common::SystemClock::Instance());
  for (int i = 0; i < 10; ++i)
    runner.Spawn(gateway, Price("005930"), Options(Lane::kBatch, 10s, static_cast<FlowId>(i)));
  runner.Spawn(gateway, Price("000660"), Options(Lane::kInteractive, 10s));
  runner.Run();
  for (const auto& r : runner.results) EXPECT_TRUE(r.ok) << r.error.code << " " << r.error.message;
}

}  // namespace
}  // namespace kisgate::gate

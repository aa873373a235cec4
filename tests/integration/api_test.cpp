// The HTTP API end to end over real sockets: kisgate's api::Service behind http::Server, the
// gateway and a SQLite store, against `kisgate sim`, whose own statistics count the KIS calls.
// On manual time (testing::ManualTime): while the stack has work in hand (a request, a cycle), its
// thread moves the test's clock in small steps, each once it has settled; while it is idle, time
// stands still. The gate, the API's deadlines, the gateway's retries and the simulator all wait
// in that time, and the test's blocking clients see answers in real milliseconds.

#include <atomic>
#include <cctype>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "api/service.hpp"
#include "collect/collector.hpp"
#include "collect/metrics.hpp"
#include "common/clock.hpp"
#include "gate/gateway.hpp"
#include "gate/metrics.hpp"
#include "http/server.hpp"
#include "kis/quotation_catalogue.hpp"
#include "sim/sim_server.hpp"
#include "store/metrics.hpp"
#include "store/sqlite_store.hpp"
#include "support/manual_time.hpp"
#include "support/test_client.hpp"
#include "views/json_text.hpp"

namespace kisgate::api {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kKey = "PSapiTESTkey0000000000000000000000001";
constexpr const char* kSecret = "api-test-secret-do-not-leak-7f3a9c";

sim::SimOptions SimOptions(std::uint16_t port = 0) {
  sim::SimOptions o;
  o.listen = fmt::format("127.0.0.1:{}", port);
  o.keys = {sim::SimKey{kKey, kSecret, sim::Environment::kReal}};
  o.rate = 18;
  o.latency_ms = 60;  // long enough for concurrent requests to overlap
  o.latency_sigma = 0.1;
  o.clock = "2026-11-24T11:00:00";
  return o;
}

// What a test changes in the stack beyond the defaults.
struct StackOptions {
  bool protect_all = false;
  std::optional<std::vector<std::string>> universe;  // nullopt: every code's values are kept
  std::function<void(const http::Request&)> hook;    // ServiceDeps::test_hook
  AssetLookup assets;
  std::size_t recent_values = 1000;          // ServiceDeps::recent_values
  std::vector<config::KeyConfig> more_keys;  // after the key "main"
  bool allow_trading = false;                // passthrough.allow_trading
};

// kisgate's API stack on its own io thread, which drives `time` (real time when null).
class Stack {
 public:
  Stack(kisgate::testing::ManualTime* time, const std::string& sim_url, const std::string& dir,
        std::string api_token = {}, StackOptions extra = {})
      : time_(time) {
    config_.server.api_token = std::move(api_token);
    config_.server.protect_all = extra.protect_all;
    config_.api.deadline = 1500ms;
    config::KeyConfig k;
    k.name = "main";
    k.base_url = sim_url;
    k.app_key = kKey;
    k.app_secret = kSecret;
    config_.keys.push_back(k);
    for (const auto& more : extra.more_keys) config_.keys.push_back(more);
    config_.passthrough.allow_trading = extra.allow_trading;
    store::StoreOptions so;
    so.path = dir + "/kisgate.db";
    store_ = std::make_unique<store::SqliteStore>(so);
    gate::GatewayOptions go;
    go.max_attempts = 2;
    go.backoff_base = 50ms;
    gateway_ = std::make_unique<gate::Gateway>(io_.get_executor(), config_, Clock(), go);
    ServiceDeps deps;
    deps.config = &config_;
    deps.gateway = gateway_.get();
    deps.store = store_.get();
    deps.jobs = [this] { return jobs_.Snapshot(); };
    deps.clock = &Clock();
    // /metrics as the app wires it (src/app/api_server.cpp), the HTTP server's and the hub's aside.
    deps.metrics = {
        [this](common::MetricsWriter& w) { gate::WriteMetrics(w, gateway_->Stats(), config_); },
        [this](common::MetricsWriter& w) { collect::WriteMetrics(w, jobs_); },
        [this](common::MetricsWriter& w) {
          store::WriteFreshnessMetrics(w,
                                       store::SummariseFreshness(store_->Ages(Clock().WallNow())));
        },
        [this](common::MetricsWriter& w) { store::WriteMetrics(w, store_->Counters()); }};
    if (extra.universe) {
      deps.universe = std::make_shared<const std::unordered_set<std::string>>(
          extra.universe->begin(), extra.universe->end());
    }
    deps.test_hook = std::move(extra.hook);
    deps.assets = std::move(extra.assets);
    deps.recent_values = extra.recent_values;
    service_ = std::make_unique<Service>(std::move(deps));
    http::ServerOptions ho;
    ho.listen = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(
        io_, ho, [this](http::Request r) -> asio::awaitable<http::Reply> {
          Busy busy(busy_);
          auto handle = service_->Handle(std::move(r));
          co_return co_await std::move(handle);
        });
    server_->Start();
    thread_ = std::thread([this] {
      if (!time_) {
        io_.run();
        return;
      }
      // Manual time moves only while the stack has work in hand: a test's next request finds the
      // stack at the instant its previous one ended (cache ages do not grow between requests).
      while (!stopped_) {
        if (busy_ > 0) {
          time_->Step(io_);
        } else {
          io_.run_one_for(std::chrono::milliseconds(1));
        }
      }
    });
  }
  ~Stack() {
    asio::post(io_, [this] {
      server_->Stop();
      stopped_ = true;
    });
    work_.reset();
    if (!time_) io_.stop();
    thread_.join();
  }
  const common::Clock& Clock() const {
    return time_ ? static_cast<const common::Clock&>(time_->clock())
                 : common::SystemClock::Instance();
  }
  std::string Url() const { return fmt::format("http://127.0.0.1:{}", server_->Port()); }
  store::SqliteStore& store() { return *store_; }

  // Starts one batch cycle of `job` over `codes` on the stack's thread; `done` is set at its end.
  void StartCycle(const config::JobConfig& job, std::vector<std::string> codes,
                  std::atomic<bool>& done) {
    asio::co_spawn(
        io_,
        [this, &job, codes = std::move(codes), &done]() -> asio::awaitable<void> {
          Busy busy(busy_);
          auto cycle = collect::RunCycle(
              *gateway_, store_.get(), codes,
              collect::CycleSpec{&job, 1, Clock().WallNow(), Clock().Now() + 60s});
          co_await std::move(cycle);
          done = true;
        },
        asio::detached);
  }

 private:
  // Counts the requests and cycles the stack has in hand.
  struct Busy {
    explicit Busy(std::atomic<int>& n) : n_(n) { ++n_; }
    ~Busy() { --n_; }
    std::atomic<int>& n_;
  };

  kisgate::testing::ManualTime* time_;
  std::atomic<bool> stopped_{false};
  std::atomic<int> busy_{0};
  config::Config config_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<gate::Gateway> gateway_;
  collect::JobsBoard jobs_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

std::uint64_t SimCalls(const std::string& sim_url) {
  kisgate::testing::TestClient client(sim_url);
  auto r = client.Get("/_sim/stats");
  EXPECT_TRUE(r.has_value());
  return r ? json::parse(r->body).at("keys").at(0).at("calls").to_number<std::uint64_t>() : 0;
}

json::object GetJson(kisgate::testing::TestClient& c, const std::string& target,
                     int expect_status = 200, const http::Headers& headers = {}) {
  auto r = c.Get(target, headers);
  EXPECT_TRUE(r.has_value()) << target << ": " << c.error();
  if (!r) return {};
  EXPECT_EQ(r->status, expect_status) << target << ": " << r->body;
  auto v = json::parse(r->body);
  return v.is_object() ? v.as_object() : json::object{};
}

// A metric sample's value from /metrics text ("name{labels} value"), or -1 when absent.
double MetricValue(const std::string& metrics, const std::string& sample) {
  const auto at = metrics.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + sample.size() + 2));
}

// A raw HTTP/1.1 exchange, so that header names are seen as written on the wire.
std::string RawExchange(kisgate::testing::TestClient& c, const std::string& method,
                        const std::string& target, const http::Headers& headers,
                        const std::string& body = {}) {
  std::string req =
      fmt::format("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, target);
  for (const auto& [name, value] : headers) req += fmt::format("{}: {}\r\n", name, value);
  req += fmt::format("Content-Length: {}\r\n\r\n{}", body.size(), body);
  return c.SendRaw(req);
}

class ApiTest : public ::testing::Test {
 protected:
  // Waits (in real time) until `d` of manual time has passed: the stack's thread moves it.
  void SleepFor(common::Duration d) {
    const auto until = time_.Now() + d;
    while (time_.Now() < until) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }

  kisgate::testing::ManualTime time_;  // first: the clock outlives all that reads it
  kisgate::testing::TempDir dir_;
};

TEST_F(ApiTest, CacheThenMaxAgeRefreshThroughTheInteractiveLane) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  const auto before = SimCalls(sim.BaseUrl());
  auto first = GetJson(c, "/v1/stocks/005930/price");
  EXPECT_EQ(first.at("source").as_string(), "kis");
  EXPECT_GT(first.at("price").as_int64(), 0);
  EXPECT_FALSE(first.at("stale").as_bool());
  const auto after_first = SimCalls(sim.BaseUrl());
  EXPECT_GE(after_first - before, 1u);  // the price (and the token)

  auto second = GetJson(c, "/v1/stocks/005930/price");
  EXPECT_EQ(second.at("source").as_string(), "cache");
  // The cached answer is the fetched one: every field but its age and source.
  EXPECT_EQ(second.size(), first.size());
  for (const auto& [field, value] : first) {
    if (field != "age_ms" && field != "source") {
      EXPECT_EQ(second.at(field), value) << field;
    }
  }
  EXPECT_EQ(SimCalls(sim.BaseUrl()), after_first);  // served without KIS

  auto fresh = GetJson(c, "/v1/stocks/005930/price?max_age=0");
  EXPECT_EQ(fresh.at("source").as_string(), "kis");
  EXPECT_EQ(SimCalls(sim.BaseUrl()), after_first + 1);
  auto budget = GetJson(c, "/v1/budget");
  EXPECT_GE(budget.at("keys").at(0).at("lanes").at("interactive").at("admitted").to_number<int>(),
            2);
  EXPECT_EQ(budget.at("keys").at(0).at("lanes").at("batch").at("admitted").to_number<int>(), 0);

  // Every data set answers, typed.
  auto book = GetJson(c, "/v1/stocks/005930/orderbook");
  EXPECT_GT(book.at("asks").as_array().size(), 0u);
  auto investors = GetJson(c, "/v1/stocks/005930/investors");
  EXPECT_GE(investors.at("days").as_array().size(), 20u);
  auto again = GetJson(c, "/v1/stocks/005930/investors");  // rebuilt from the stored rows
  EXPECT_EQ(again.at("source").as_string(), "cache");
  EXPECT_EQ(again.at("days").as_array().size(), investors.at("days").as_array().size());
  EXPECT_EQ(again.at("days").as_array()[0], investors.at("days").as_array()[0]);
  auto overtime = GetJson(c, "/v1/stocks/005930/overtime");
  EXPECT_TRUE(overtime.contains("best_bid"));
  auto minute = GetJson(c, "/v1/stocks/005930/bars/minute");
  EXPECT_EQ(minute.at("date").as_string(), "2026-11-24");
  // 09:00 to 10:59 at the simulated 11:00, and the 11:00 bar as it forms.
  EXPECT_GE(minute.at("bars").as_array().size(), 120u);
  EXPECT_LE(minute.at("bars").as_array().size(), 121u);
  EXPECT_EQ(minute.at("bars").at(0).at("time").as_string(), "2026-11-24T09:00:00.000+09:00");
  auto daily = GetJson(c, "/v1/stocks/005930/bars/daily?from=2026-10-01&to=2026-10-31");
  // October 2026's KRX trading days: 22 weekdays less Oct 5 (substitute holiday) and Oct 9.
  EXPECT_EQ(daily.at("bars").as_array().size(), 20u);
  EXPECT_EQ(daily.at("bars").at(0).at("time").as_string(), "2026-10-01");
  auto daily_again = GetJson(c, "/v1/stocks/005930/bars/daily?from=2026-10-01&to=2026-10-31");
  EXPECT_EQ(daily_again.at("source").as_string(), "cache");  // a past range, complete in the store
  auto csv = c.Get("/v1/stocks/005930/bars/minute?format=csv");
  ASSERT_TRUE(csv);
  EXPECT_EQ(csv->Header("content-type").value_or(""), "text/csv; charset=utf-8");
  EXPECT_TRUE(csv->body.starts_with(
      "time,open,high,low,close,volume,traded_value_krw\r\n2026-11-24T09:00:00.000+09:00,"));
}

// After hours (the single-price session has matched at 16:10, 16:20 and 16:30 by 16:35), the
// after-hours order book answers like the day's order book: levels either side of the
// after-hours price, totals that add up, then the held value from the cache.
TEST_F(ApiTest, OvertimeOrderBookStraddlesTheAfterHoursPrice) {
  auto options = SimOptions();
  options.clock = "2026-11-24T16:35:00";
  sim::BackgroundSimulator sim(options, time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  auto overtime = GetJson(c, "/v1/stocks/005930/overtime");
  const auto price = overtime.at("price").as_int64();
  ASSERT_GT(price, 0);
  auto book = GetJson(c, "/v1/stocks/005930/overtime-orderbook");
  EXPECT_EQ(book.at("code").as_string(), "005930");
  EXPECT_EQ(book.at("source").as_string(), "kis");
  EXPECT_FALSE(book.at("stale").as_bool());
  EXPECT_FALSE(book.at("as_of").as_string().empty());
  EXPECT_TRUE(std::string(book.at("time").as_string()).ends_with("T16:30:00.000+09:00"))
      << book.at("time");
  EXPECT_FALSE(book.contains("expected_price"));  // KIS sends none for the after-hours book
  const auto& asks = book.at("asks").as_array();
  const auto& bids = book.at("bids").as_array();
  ASSERT_EQ(asks.size(), 10u);
  ASSERT_EQ(bids.size(), 10u);
  EXPECT_LE(bids.at(0).at("price").as_int64(), price);
  EXPECT_GT(asks.at(0).at("price").as_int64(), price);
  std::int64_t ask_total = 0;
  std::int64_t bid_total = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_FALSE(asks.at(i).as_object().contains("quantity_change"));
    if (i > 0) {
      EXPECT_GE(asks.at(i).at("price").as_int64(), asks.at(i - 1).at("price").as_int64());
      EXPECT_LE(bids.at(i).at("price").as_int64(), bids.at(i - 1).at("price").as_int64());
    }
    ask_total += asks.at(i).at("quantity").as_int64();
    bid_total += bids.at(i).at("quantity").as_int64();
  }
  EXPECT_EQ(book.at("total_ask_quantity").as_int64(), ask_total);
  EXPECT_EQ(book.at("total_bid_quantity").as_int64(), bid_total);

  // Within max_age the held book answers without a KIS call; max_age=0 asks KIS again.
  const auto calls = SimCalls(sim.BaseUrl());
  auto again = GetJson(c, "/v1/stocks/005930/overtime-orderbook");
  EXPECT_EQ(again.at("source").as_string(), "cache");
  EXPECT_EQ(again.at("asks"), book.at("asks"));
  EXPECT_EQ(again.at("as_of"), book.at("as_of"));
  EXPECT_EQ(SimCalls(sim.BaseUrl()), calls);
  auto fresh = GetJson(c, "/v1/stocks/005930/overtime-orderbook?max_age=0");
  EXPECT_EQ(fresh.at("source").as_string(), "kis");
  EXPECT_EQ(SimCalls(sim.BaseUrl()), calls + 1);
}

TEST_F(ApiTest, BadInputGetsJsonErrorsAndCostsNoCall) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  const auto before = SimCalls(sim.BaseUrl());
  auto bad = GetJson(c, "/v1/stocks/abc/price", 400);
  EXPECT_EQ(bad.at("error").at("code").as_string(), "invalid_stock_code");
  EXPECT_NE(std::string(bad.at("error").at("message").as_string()).find("'abc'"),
            std::string::npos);
  EXPECT_EQ(
      GetJson(c, "/v1/stocks/005930/price?max_age=soon", 400).at("error").at("code").as_string(),
      "bad_max_age");
  EXPECT_EQ(GetJson(c, "/v1/stocks/005930/price?maxage=5", 400).at("error").at("code").as_string(),
            "unknown_parameter");
  EXPECT_EQ(GetJson(c, "/v1/stocks/005930/bars/daily?from=2026-11-20&to=2026-11-01", 400)
                .at("error")
                .at("code")
                .as_string(),
            "bad_range");
  EXPECT_EQ(GetJson(c, "/v1/stocks/005930/bars/minute?date=2026-13-01", 400)
                .at("error")
                .at("code")
                .as_string(),
            "bad_date");
  EXPECT_EQ(GetJson(c, "/v1/stocks/005930/bars/minute?date=2026-11-20", 404)
                .at("error")
                .at("code")
                .as_string(),
            "no_data");
  EXPECT_EQ(GetJson(c, "/v1/stocks/005930/dividends", 404).at("error").at("code").as_string(),
            "not_found");
  EXPECT_EQ(GetJson(c, "/v2/anything", 404).at("error").at("code").as_string(), "not_found");
  auto post = c.Post("/v1/stocks/005930/price", "{}");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(SimCalls(sim.BaseUrl()), before);
}

TEST_F(ApiTest, HundredConcurrentRequestsForOneUncachedValueMakeOneKisCall) {
  auto options = SimOptions();
  options.latency_ms = 300;  // a long flight, so that most requests arrive while it is out
  sim::BackgroundSimulator sim(options, time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  {
    // The token first, so the count below is of price calls only.
    kisgate::testing::TestClient warm(stack.Url());
    GetJson(warm, "/v1/stocks/000660/price");
  }
  const auto before = SimCalls(sim.BaseUrl());
  std::atomic<int> ok{0}, from_kis{0}, from_cache{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < 100; ++i) {
    clients.emplace_back([&] {
      kisgate::testing::TestClient c(stack.Url());
      while (!go) std::this_thread::yield();
      auto r = c.Get("/v1/stocks/005930/price");
      if (r && r->status == 200) {
        ok++;
        const auto source = json::parse(r->body).at("source").as_string();
        if (source == "kis") from_kis++;
        if (source == "cache") from_cache++;
      }
    });
  }
  go = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(SimCalls(sim.BaseUrl()) - before, 1u);
  // Each answer is the one reply: shared while the call was out, or from the cache after it.
  kisgate::testing::TestClient c(stack.Url());
  const auto coalesced = GetJson(c, "/v1/budget").at("coalesced").to_number<int>();
  EXPECT_EQ(from_kis + from_cache, 100);
  EXPECT_EQ(from_kis, coalesced + 1) << from_cache << " answered from the cache";
}

TEST_F(ApiTest, AUserRequestJoinsTheQueuedBatchCallForItsValue) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  GetJson(c, "/v1/stocks/000660/price");  // the token, and a first call
  std::vector<std::string> codes;
  for (int i = 0; i < 60; ++i) codes.push_back(fmt::format("{:06d}", 100000 + 30 * i));
  config::JobConfig job;
  job.name = "price";
  job.dataset = "price";
  std::atomic<bool> done{false};
  const auto before = SimCalls(sim.BaseUrl());
  stack.StartCycle(job, codes, done);
  SleepFor(300ms);  // the cycle's calls are queued in the batch lane
  // The last code's batch call is still queued (60 calls take over 3 s at 18/s): the user's
  // request joins it and promotes it instead of making a second call.
  auto joined = GetJson(c, fmt::format("/v1/stocks/{}/price?max_age=0", codes.back()));
  EXPECT_EQ(joined.at("source").as_string(), "kis");
  EXPECT_FALSE(done) << "the cycle ended before the user's request; the test proves nothing";
  auto budget = GetJson(c, "/v1/budget");
  EXPECT_EQ(budget.at("coalesced").to_number<int>(), 1);
  EXPECT_EQ(
      budget.at("keys").at(0).at("lanes").at("interactive").at("promoted_in").to_number<int>(), 1);
  while (!done) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(SimCalls(sim.BaseUrl()) - before, codes.size());  // no call beyond the cycle's own
}

TEST_F(ApiTest, StaleValueWhenKisIsDown) {
  auto sim = std::make_unique<sim::BackgroundSimulator>(SimOptions(), time_.clock());
  Stack stack(&time_, sim->BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  auto first = GetJson(c, "/v1/stocks/005930/price");
  ASSERT_EQ(first.at("source").as_string(), "kis");
  sim.reset();  // KIS goes away: connections are refused
  const auto started = time_.Now();
  auto stale = GetJson(c, "/v1/stocks/005930/price?max_age=0");
  // Within the API deadline (1.5 s of manual time), not hung.
  EXPECT_LT(time_.Now() - started, 3s);
  EXPECT_TRUE(stale.at("stale").as_bool());
  EXPECT_EQ(stale.at("price").as_int64(), first.at("price").as_int64());
  EXPECT_FALSE(std::string(stale.at("stale_reason").as_string()).empty());
  // A value never fetched has nothing to fall back on: a clear error, not a hang.
  auto none = c.Get("/v1/stocks/000660/price");
  ASSERT_TRUE(none) << c.error();
  EXPECT_TRUE(none->status == 502 || none->status == 504)
      << none->status;  // refused, or out of time
  EXPECT_TRUE(json::parse(none->body).as_object().contains("error")) << none->body;
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("kisgate_api_stale_responses_total 1"), std::string::npos);
}

TEST_F(ApiTest, BearerTokenGuardsV1AndSecretsNeverShow) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path(), "api-token-123");
  kisgate::testing::TestClient c(stack.Url());
  auto denied = GetJson(c, "/v1/budget", 401);
  EXPECT_EQ(denied.at("error").at("code").as_string(), "unauthorized");
  GetJson(c, "/v1/budget", 401, {{"authorization", "Bearer wrong"}});
  const http::Headers auth = {{"authorization", "Bearer api-token-123"}};
  GetJson(c, "/v1/stocks/005930/price", 200, auth);
  GetJson(c, "/healthz");  // probes stay open
  GetJson(c, "/readyz");
  std::string everything;
  for (const auto* target : {"/v1/budget", "/v1/jobs", "/metrics", "/openapi.json", "/readyz",
                             "/v1/stocks/abc/price", "/v1/stocks/005930/price?max_age=0"}) {
    auto r = c.Get(target, auth);
    ASSERT_TRUE(r) << target;
    everything += r->body;
    for (const auto& [name, value] : r->headers) everything += name + ": " + value + "\n";
  }
  EXPECT_EQ(everything.find(kSecret), std::string::npos);
  EXPECT_EQ(everything.find(kKey), std::string::npos);
  EXPECT_EQ(everything.find("api-token-123"), std::string::npos);
}

TEST_F(ApiTest, PassthroughForKisClients) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  const std::string price_path =
      "/uapi/domestic-stock/v1/quotations/"
      "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930";
  // No credentials: 401 in KIS's envelope.
  auto anonymous = c.Get(price_path, {{"tr_id", "FHKST01010100"}});
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(json::parse(anonymous->body).at("rt_cd").as_string(), "1");

  // tokenP is answered by kisgate: no KIS issuance spent.
  const auto before = SimCalls(sim.BaseUrl());
  auto token_reply =
      c.Post("/oauth2/tokenP",
             json::serialize(json::object{
                 {"grant_type", "client_credentials"}, {"appkey", kKey}, {"appsecret", kSecret}}),
             {{"content-type", "application/json"}});
  ASSERT_TRUE(token_reply);
  ASSERT_EQ(token_reply->status, 200) << token_reply->body;
  const auto token = std::string(json::parse(token_reply->body).at("access_token").as_string());
  EXPECT_EQ(SimCalls(sim.BaseUrl()), before);
  auto wrong_secret =
      c.Post("/oauth2/tokenP",
             json::serialize(json::object{
                 {"grant_type", "client_credentials"}, {"appkey", kKey}, {"appsecret", "nope"}}));
  ASSERT_TRUE(wrong_secret);
  EXPECT_EQ(wrong_secret->status, 403);
  EXPECT_EQ(json::parse(wrong_secret->body).at("error_code").as_string(), "EGW00105");

  // A KIS-shaped quotation call with kisgate's token: KIS's own reply comes back.
  const http::Headers kis_headers = {{"authorization", "Bearer " + token},
                                     {"appkey", kKey},
                                     {"appsecret", kSecret},
                                     {"tr_id", "FHKST01010100"},
                                     {"custtype", "P"}};
  auto quote = c.Get(price_path, kis_headers);
  ASSERT_TRUE(quote);
  ASSERT_EQ(quote->status, 200) << quote->body;
  auto body = json::parse(quote->body);
  EXPECT_EQ(body.at("rt_cd").as_string(), "0");
  EXPECT_FALSE(body.at("output").at("stck_prpr").as_string().empty());
  // The token alone is enough (the client proved the key when it got it).
  auto token_only =
      c.Get(price_path, {{"authorization", "Bearer " + token}, {"tr_id", "FHKST01010100"}});
  ASSERT_TRUE(token_only);
  EXPECT_EQ(token_only->status, 200);
  // The lane is the client's choice, by name.
  auto batch_headers = kis_headers;
  batch_headers.emplace_back("x-kisgate-lane", "batch");
  auto in_batch = c.Get(price_path, batch_headers);
  ASSERT_TRUE(in_batch);
  EXPECT_EQ(in_batch->status, 200);
  auto bad_lane_headers = kis_headers;
  bad_lane_headers.emplace_back("x-kisgate-lane", "urgent");
  auto bad_lane = c.Get(price_path, bad_lane_headers);
  ASSERT_TRUE(bad_lane);
  EXPECT_EQ(bad_lane->status, 400);
  // KIS's errors pass through as KIS sent them.
  auto bad_param = c.Get(
      "/uapi/domestic-stock/v1/quotations/inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=1",
      kis_headers);
  ASSERT_TRUE(bad_param);
  EXPECT_EQ(json::parse(bad_param->body).at("rt_cd").as_string(), "1");

  // Orders and account calls are refused before any call.
  const auto calls = SimCalls(sim.BaseUrl());
  auto order = c.Post("/uapi/domestic-stock/v1/trading/order-cash", "{}", kis_headers);
  ASSERT_TRUE(order);
  EXPECT_EQ(order->status, 403);
  EXPECT_NE(order->body.find("passthrough.allow_trading"), std::string::npos);
  auto balance = c.Get("/uapi/domestic-stock/v1/trading/inquire-balance", kis_headers);
  ASSERT_TRUE(balance);
  EXPECT_EQ(balance->status, 403);
  auto no_tr = c.Get(price_path, {{"authorization", "Bearer " + token}});
  ASSERT_TRUE(no_tr);
  EXPECT_EQ(no_tr->status, 400);
  EXPECT_EQ(SimCalls(sim.BaseUrl()), calls);
}

// A stand-in for KIS that sends the response headers real KIS sends (gt_uid among them), which
// the simulator may not: it proves the passthrough hands them on, in KIS's case.
// A KIS-compatible upstream on a thread of its own: answers tokenP itself and every other call
// with `handler`.
class FakeKis {
 public:
  explicit FakeKis(std::function<asio::awaitable<http::Reply>(http::Request)> handler) {
    http::ServerOptions o;
    o.listen = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(
        io_, o, [handler = std::move(handler)](http::Request r) -> asio::awaitable<http::Reply> {
          if (r.Path() != "/oauth2/tokenP") return handler(std::move(r));
          return Token();
        });
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeKis() {
    asio::post(io_, [this] { server_->Stop(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  FakeKis(const FakeKis&) = delete;
  FakeKis& operator=(const FakeKis&) = delete;
  std::string Url() const { return fmt::format("http://127.0.0.1:{}", server_->Port()); }

 private:
  static asio::awaitable<http::Reply> Token() {
    http::Reply reply;
    reply.response.SetHeader("Content-Type", "application/json; charset=UTF-8");
    reply.response.body =
        R"({"access_token":"upstream-token","token_type":"Bearer","expires_in":86400,)"
        R"("access_token_token_expired":"2099-01-01 00:00:00"})";
    co_return reply;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

// KIS's reply headers on every call: its tr_id echoed, tr_cont D, a gt_uid.
class HeaderEchoKis {
 public:
  std::string Url() const { return kis_.Url(); }

 private:
  FakeKis kis_{[](http::Request r) -> asio::awaitable<http::Reply> {
    http::Reply reply;
    auto& out = reply.response;
    out.SetHeader("Content-Type", "application/json; charset=UTF-8");
    out.SetHeader("tr_id", std::string(r.Header("tr_id").value_or("")));
    out.SetHeader("tr_cont", "D");
    out.SetHeader("gt_uid", "GT0123456789abcdef");
    out.body =
        R"({"rt_cd":"0","msg_cd":"MCA00000","msg1":"정상처리 되었습니다.","output":{"stck_prpr":"70000"}})";
    co_return reply;
  }};
};

// KIS's official sample client keeps the all-lower-case response headers as namedtuple fields and
// crashes on "content-type": the passthrough writes Content-Type capitalised and KIS's own
// headers (tr_id, tr_cont, gt_uid) in lower case, on forwarded replies, errors and tokenP alike,
// and hands KIS's gt_uid on.
TEST_F(ApiTest, PassthroughSpeaksKisHeaderCaseAndForwardsGtUid) {
  HeaderEchoKis kis;
  Stack stack(&time_, kis.Url(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  const std::string price_path =
      "/uapi/domestic-stock/v1/quotations/"
      "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930";
  auto forwarded = RawExchange(
      c, "GET", price_path,
      {{"appkey", kKey}, {"appsecret", kSecret}, {"tr_id", "FHKST01010100"}, {"custtype", "P"}});
  EXPECT_TRUE(forwarded.starts_with("HTTP/1.1 200")) << forwarded;
  // KIS's value, to the letter (python-kis and the samples compare replies with KIS's own).
  EXPECT_NE(forwarded.find("\r\nContent-Type: application/json; charset=UTF-8\r\n"),
            std::string::npos)
      << forwarded;
  EXPECT_EQ(forwarded.find("\r\ncontent-type:"), std::string::npos) << forwarded;
  EXPECT_NE(forwarded.find("\r\ntr_id: FHKST01010100\r\n"), std::string::npos) << forwarded;
  EXPECT_NE(forwarded.find("\r\ntr_cont: D\r\n"), std::string::npos) << forwarded;
  EXPECT_NE(forwarded.find("\r\ngt_uid: GT0123456789abcdef\r\n"), std::string::npos) << forwarded;

  auto refused = RawExchange(c, "GET", price_path, {{"tr_id", "FHKST01010100"}});  // no credentials
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 401")) << refused;
  EXPECT_NE(refused.find("\r\nContent-Type: application/json"), std::string::npos) << refused;

  auto token = RawExchange(
      c, "POST", "/oauth2/tokenP", {{"content-type", "application/json"}},
      json::serialize(json::object{
          {"grant_type", "client_credentials"}, {"appkey", kKey}, {"appsecret", kSecret}}));
  EXPECT_TRUE(token.starts_with("HTTP/1.1 200")) << token;
  EXPECT_NE(token.find("\r\nContent-Type: application/json"), std::string::npos) << token;
  auto bad_token = RawExchange(c, "POST", "/oauth2/tokenP", {}, "{}");
  EXPECT_TRUE(bad_token.starts_with("HTTP/1.1 403")) << bad_token;
  EXPECT_NE(bad_token.find("\r\nContent-Type: application/json"), std::string::npos) << bad_token;
}

// The red team's bypass: percent-encoded dot segments, encoded slashes and backslashes, double
// encoding and empty segments climbed from the quotation prefix to an account call, with
// kisgate's real key. Every variant is refused before anything leaves, and so is an account TR
// on a quotation path; a merely encoded quotation path is forwarded in its decoded form.
// What clients send: a base URL ending in '/' gives "//uapi/..." and "//oauth2/tokenP" (KIS serves
// them); they are collapsed, checked and forwarded in their normal form. And every market's
// read-only APIs go through, not only domestic stock quotations: one API of each market of the
// catalogue, with KIS's sample arguments, answered by the simulator through the passthrough.
TEST_F(ApiTest, PassthroughTakesDoubledSlashesAndEveryMarketsApis) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  auto token_reply =
      c.Post("//oauth2/tokenP",
             json::serialize(json::object{
                 {"grant_type", "client_credentials"}, {"appkey", kKey}, {"appsecret", kSecret}}),
             {{"content-type", "application/json"}});
  ASSERT_TRUE(token_reply);
  ASSERT_EQ(token_reply->status, 200) << token_reply->body;
  const auto token = std::string(json::parse(token_reply->body).at("access_token").as_string());
  auto headers = [&](const std::string& tr_id) {
    return http::Headers{{"authorization", "Bearer " + token},
                         {"appkey", kKey},
                         {"appsecret", kSecret},
                         {"tr_id", tr_id},
                         {"custtype", "P"}};
  };
  auto doubled = c.Get(
      "//uapi/domestic-stock/v1/quotations/"
      "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930",
      headers("FHKST01010100"));
  ASSERT_TRUE(doubled);
  ASSERT_EQ(doubled->status, 200) << doubled->body;
  EXPECT_EQ(json::parse(doubled->body).at("rt_cd").as_string(), "0");
  // An escaped slash is not a doubled one: still refused, and nothing reaches KIS.
  const auto before = SimCalls(sim.BaseUrl());
  auto escaped = c.Get(
      "/uapi/domestic-stock/v1/quotations/%2F/"
      "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930",
      headers("FHKST01010100"));
  ASSERT_TRUE(escaped);
  EXPECT_EQ(escaped->status, 403) << escaped->body;
  EXPECT_EQ(SimCalls(sim.BaseUrl()), before);

  std::set<std::string> markets;
  for (const auto& api : kis::QuotationCatalogue::Builtin().All()) {
    if (api.method != "GET" || !markets.insert(api.market).second) continue;
    std::string target = api.path;
    char sep = '?';
    for (const auto& [name, value] : api.example) {
      std::string encoded;
      for (const unsigned char ch : value) {
        if (std::isalnum(ch) != 0 || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
          encoded += static_cast<char>(ch);
        } else {
          encoded += fmt::format("%{:02X}", ch);
        }
      }
      target += fmt::format("{}{}={}", sep, name, encoded);
      sep = '&';
    }
    auto r = c.Get(target, headers(api.tr_id));
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 200) << api.market << " " << target << ": " << r->body;
    if (r->status == 200) {
      EXPECT_EQ(json::parse(r->body).at("rt_cd").as_string(), "0") << target << ": " << r->body;
    }
  }
  EXPECT_EQ(markets.size(), 7U);
}

TEST_F(ApiTest, PassthroughGuardDecodesThePathAndChecksTheTrId) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  const http::Headers account = {
      {"appkey", kKey}, {"appsecret", kSecret}, {"tr_id", "TTTC8434R"}, {"custtype", "P"}};
  const http::Headers quote = {
      {"appkey", kKey}, {"appsecret", kSecret}, {"tr_id", "FHKST01010100"}, {"custtype", "P"}};
  // The token (kisgate's own KIS token) first, so that any call counted below is a forwarded one.
  ASSERT_EQ(c.Get("/uapi/domestic-stock/v1/quotations/"
                  "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930",
                  quote)
                ->status,
            200);
  const auto before = SimCalls(sim.BaseUrl());
  const std::string q = "/uapi/domestic-stock/v1/quotations/";
  const std::string query = "?CANO=12345678&ACNT_PRDT_CD=01";
  for (const std::string tail :
       {"%2e%2e/%2e%2e/trading/inquire-balance", "%2E%2E/%2E%2E/trading/inquire-balance",
        ".%2e/.%2e/trading/inquire-balance", "%252e%252e/%252e%252e/trading/inquire-balance",
        "..%2f..%2ftrading%2finquire-balance", "%2e%2e%2F%2e%2e%2Ftrading%2Finquire-balance",
        "..%5c..%5ctrading%5cinquire-balance", "..\\..\\trading\\inquire-balance",
        "/../../trading/inquire-balance", "%2e/inquire-price", "./inquire-price", "inquire-price/",
        "inquire-price%00", "inquire-price%ff"}) {
    for (const auto* headers : {&account, &quote}) {
      auto r = c.Get(q + tail + query, *headers);
      ASSERT_TRUE(r) << tail << ": " << c.error();
      // 403 from the guard (or 400 where the HTTP parser already refuses the target).
      EXPECT_TRUE(r->status == 403 || r->status == 400)
          << tail << ": " << r->status << " " << r->body;
      if (r->status == 403) {
        EXPECT_EQ(json::parse(r->body).at("rt_cd").as_string(), "1") << tail;
      }
    }
  }
  // An account TR on a quotation path.
  auto mixed = c.Get(q + "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930", account);
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->status, 403) << mixed->body;
  EXPECT_NE(mixed->body.find("TTTC8434R"), std::string::npos) << mixed->body;
  // Other KIS endpoints (the WebSocket approval key) are not forwarded either.
  auto approval = c.Post("/oauth2/Approval", R"({"grant_type":"client_credentials"})", quote);
  ASSERT_TRUE(approval);
  EXPECT_EQ(approval->status, 403) << approval->body;
  EXPECT_EQ(SimCalls(sim.BaseUrl()), before) << "a refused call reached KIS";
  // An encoded but canonical quotation path goes out decoded.
  auto encoded = c.Get(
      "/uapi/domestic-stock/v1/quotations/"
      "inquire%2Dprice?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930",
      quote);
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->status, 200) << encoded->body;
  EXPECT_EQ(json::parse(encoded->body).at("rt_cd").as_string(), "0") << encoded->body;
  EXPECT_EQ(SimCalls(sim.BaseUrl()), before + 1);
}

// A KIS-compatible upstream for orders and account calls (the simulator serves quotations only):
// it records each arrival's method, path, tr_id and appkey, answers an order with a fresh order
// number and a balance inquiry with an empty balance, each after a few milliseconds (so that
// concurrent calls overlap), or, with drop_calls, reads the request and closes the connection
// without an answer, as a gateway that fails mid-request does.
class AccountKis {
 public:
  struct Arrival {
    std::string method, path, tr_id, appkey;
  };
  explicit AccountKis(bool drop_calls = false)
      : kis_([this, drop_calls](http::Request r) -> asio::awaitable<http::Reply> {
          http::Reply reply;
          reply.response.SetHeader("Content-Type", "application/json; charset=UTF-8");
          int order_no = 0;
          {
            std::lock_guard lock(mutex_);
            arrivals_.push_back({r.method, std::string(r.Path()),
                                 std::string(r.Header("tr_id").value_or("")),
                                 std::string(r.Header("appkey").value_or(""))});
            order_no = static_cast<int>(arrivals_.size());
          }
          const auto executor = co_await asio::this_coro::executor;
          asio::steady_timer delay(executor, 20ms);
          co_await delay.async_wait(asio::use_awaitable);
          if (drop_calls) {
            reply.drop_connection = true;
            co_return reply;
          }
          reply.response.SetHeader("tr_id", std::string(r.Header("tr_id").value_or("")));
          if (r.method == "POST") {
            reply.response.body = fmt::format(
                R"({{"rt_cd":"0","msg_cd":"APBK0013","msg1":"주문 전송 완료 되었습니다.",)"
                R"("output":{{"KRX_FWDG_ORD_ORGNO":"91252","ODNO":"{:010}","ORD_TMD":"121052"}}}})",
                order_no);
          } else {
            reply.response.body =
                R"({"rt_cd":"0","msg_cd":"KIOK0510","msg1":"조회가 완료되었습니다",)"
                R"("output1":[],"output2":[{"dnca_tot_amt":"1000000"}]})";
          }
          co_return reply;
        }) {}
  std::string Url() const { return kis_.Url(); }
  std::vector<Arrival> Arrivals() const {
    std::lock_guard lock(mutex_);
    return arrivals_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Arrival> arrivals_;
  FakeKis kis_;  // last: its thread stops before the arrivals it records go
};

constexpr const char* kKeyB = "PSapiTESTkeyB000000000000000000000002";
constexpr const char* kSecretB = "api-test-secret-of-key-b-do-not-leak-81d2";

StackOptions TwoKeysTrading(const std::string& upstream) {
  StackOptions o;
  config::KeyConfig b;
  b.name = "second";
  b.base_url = upstream;
  b.app_key = kKeyB;
  b.app_secret = kSecretB;
  o.more_keys.push_back(b);
  o.allow_trading = true;
  return o;
}

std::string PassToken(kisgate::testing::TestClient& c, const char* key, const char* secret) {
  auto reply =
      c.Post("/oauth2/tokenP",
             json::serialize(json::object{
                 {"grant_type", "client_credentials"}, {"appkey", key}, {"appsecret", secret}}));
  EXPECT_TRUE(reply && reply->status == 200) << (reply ? reply->body : c.error());
  return reply ? std::string(json::parse(reply->body).at("access_token").as_string()) : "";
}

constexpr const char* kOrderPath = "/uapi/domestic-stock/v1/trading/order-cash";
constexpr const char* kBalancePath = "/uapi/domestic-stock/v1/trading/inquire-balance";
constexpr const char* kOrderBody =
    R"({"CANO":"12345678","ACNT_PRDT_CD":"01","PDNO":"005930","ORD_DVSN":"00",)"
    R"("ORD_QTY":"1","ORD_UNPR":"70000"})";
constexpr const char* kBalanceQuery =
    "?CANO=12345678&ACNT_PRDT_CD=01&AFHR_FLPR_YN=N&OFL_YN=&INQR_DVSN=02&UNPR_DVSN=01"
    "&FUND_STTL_ICLD_YN=N&FNCG_AMT_AUTO_RDPT_YN=N&PRCS_DVSN=00&CTX_AREA_FK100=&CTX_AREA_NK100=";

std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Issue 23: with two keys and allow_trading, a key-A client's 8 orders and 4 balance inquiries
// sent at once all leave with key A's appkey (the gateway's key choice once sent some on key B),
// none is shared with another (4 identical inquiries are 4 calls), and the audit table holds each
// one with KIS's codes and order number, and no secret.
TEST_F(ApiTest, AccountCallsLeaveOnlyOnTheClientsKeyAndAreAudited) {
  AccountKis kis;
  Stack stack(&time_, kis.Url(), dir_.path(), {}, TwoKeysTrading(kis.Url()));
  kisgate::testing::TestClient setup(stack.Url());
  const auto token = PassToken(setup, kKey, kSecret);
  ASSERT_FALSE(token.empty());
  std::vector<std::thread> clients;
  std::vector<std::optional<kisgate::testing::TestResponse>> replies(12);
  for (int i = 0; i < 12; ++i) {
    clients.emplace_back([&, i] {
      kisgate::testing::TestClient c(stack.Url());
      if (i < 8) {
        // Orders with kisgate's token only: the token names the key.
        replies[i] = c.Post(kOrderPath, kOrderBody,
                            {{"authorization", "Bearer " + token},
                             {"content-type", "application/json"},
                             {"tr_id", "TTTC0802U"},
                             {"custtype", "P"}});
      } else {
        // Balance inquiries as KIS's samples send them: the token and the key's headers.
        replies[i] =
            c.Get(std::string(kBalancePath) + kBalanceQuery, {{"authorization", "Bearer " + token},
                                                              {"appkey", kKey},
                                                              {"appsecret", kSecret},
                                                              {"tr_id", "TTTC8434R"},
                                                              {"custtype", "P"}});
      }
    });
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(replies[i]) << i;
    EXPECT_EQ(replies[i]->status, 200) << i << ": " << replies[i]->body;
  }
  const auto arrivals = kis.Arrivals();
  int orders = 0;
  int balances = 0;
  for (const auto& a : arrivals) {
    EXPECT_EQ(a.appkey, kKey) << a.method << " " << a.path << " " << a.tr_id
                              << " went out on another key";
    orders += a.path == kOrderPath;
    balances += a.path == kBalancePath;
  }
  EXPECT_EQ(orders, 8);
  EXPECT_EQ(balances, 4) << "identical account calls must not share one upstream call";

  ASSERT_TRUE(stack.store().Flush(5s));
  const auto audit = stack.store().Audit(100);
  ASSERT_EQ(audit.size(), 12u);
  std::set<std::string> order_numbers;
  for (const auto& row : audit) {
    EXPECT_EQ(row.key_name, "main");
    EXPECT_EQ(row.http_status, 200);
    EXPECT_EQ(row.rt_cd, "0");
    EXPECT_TRUE(row.client.starts_with("127.0.0.1:")) << row.client;
    EXPECT_TRUE(row.error.empty()) << row.error;
    EXPECT_FALSE(row.id.empty());
    if (row.method == "POST") {
      EXPECT_EQ(row.path, kOrderPath);
      EXPECT_EQ(row.tr_id, "TTTC0802U");
      EXPECT_EQ(row.msg_cd, "APBK0013");
      EXPECT_EQ(row.order_no.size(), 10u) << row.order_no;
      order_numbers.insert(row.order_no);
    } else {
      EXPECT_EQ(row.method, "GET");
      EXPECT_EQ(row.path, kBalancePath);
      EXPECT_EQ(row.tr_id, "TTTC8434R");
      EXPECT_EQ(row.msg_cd, "KIOK0510");
      EXPECT_TRUE(row.order_no.empty());
    }
  }
  EXPECT_EQ(order_numbers.size(), 8u);
  // No secret, token or body reached the database file (or its write-ahead log).
  const auto db = FileText(dir_.path() + "/kisgate.db") + FileText(dir_.path() + "/kisgate.db-wal");
  EXPECT_NE(db.find("APBK0013"), std::string::npos) << "the audit rows are in the file";
  for (const std::string& secret : {std::string(kSecret), std::string(kSecretB), token,
                                    std::string("ORD_UNPR"), std::string("upstream-token")}) {
    EXPECT_EQ(db.find(secret), std::string::npos) << secret;
  }
}

// An order or account call from a client that proved no key (the server's api_token) is refused
// in KIS's envelope, naming tokenP with the key's appkey/appsecret; so is one whose appkey header
// names another key than its token. Nothing reaches KIS; a quotation with the api_token still goes.
TEST_F(ApiTest, AccountCallsWithoutAKeyAreRefused) {
  AccountKis kis;
  Stack stack(&time_, kis.Url(), dir_.path(), "server-api-token", TwoKeysTrading(kis.Url()));
  kisgate::testing::TestClient c(stack.Url());
  for (const auto& [method, target, tr_id] :
       {std::tuple{"POST", std::string(kOrderPath), "TTTC0802U"},
        std::tuple{"GET", std::string(kBalancePath) + kBalanceQuery, "TTTC8434R"}}) {
    auto r = c.Send(method, target, method == std::string("POST") ? kOrderBody : "",
                    {{"authorization", "Bearer server-api-token"}, {"tr_id", tr_id}});
    ASSERT_TRUE(r) << c.error();
    EXPECT_EQ(r->status, 403) << r->body;
    const auto body = json::parse(r->body);
    EXPECT_EQ(body.at("rt_cd").as_string(), "1");
    EXPECT_NE(r->body.find("/oauth2/tokenP"), std::string::npos) << r->body;
    EXPECT_NE(r->body.find("appsecret"), std::string::npos) << r->body;
  }
  const auto token_b = PassToken(c, kKeyB, kSecretB);
  auto mixed =
      c.Post(kOrderPath, kOrderBody,
             {{"authorization", "Bearer " + token_b}, {"appkey", kKey}, {"tr_id", "TTTC0802U"}});
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->status, 403) << mixed->body;
  EXPECT_TRUE(kis.Arrivals().empty()) << "a refused account call reached KIS";
  // The api_token still serves quotations (any key may).
  auto quote = c.Get(
      "/uapi/domestic-stock/v1/quotations/"
      "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930",
      {{"authorization", "Bearer server-api-token"}, {"tr_id", "FHKST01010100"}});
  ASSERT_TRUE(quote);
  EXPECT_EQ(quote->status, 200) << quote->body;
}

// An account call whose connection KIS closes after reading the request may have been carried
// out: it is not sent again (an order and a balance inquiry each arrive exactly once), the client
// gets an error saying its fate is unknown, and the audit table records it without a status.
TEST_F(ApiTest, AnAccountCallIsNotSentAgainAfterTheConnectionDrops) {
  AccountKis kis(/*drop_calls=*/true);
  Stack stack(&time_, kis.Url(), dir_.path(), {}, TwoKeysTrading(kis.Url()));
  kisgate::testing::TestClient c(stack.Url());
  const auto token = PassToken(c, kKey, kSecret);
  auto order = c.Post(kOrderPath, kOrderBody,
                      {{"authorization", "Bearer " + token}, {"tr_id", "TTTC0802U"}});
  ASSERT_TRUE(order) << c.error();
  EXPECT_EQ(order->status, 502) << order->body;
  EXPECT_EQ(json::parse(order->body).at("rt_cd").as_string(), "1");
  EXPECT_NE(order->body.find("fate is unknown"), std::string::npos) << order->body;
  auto balance = c.Get(std::string(kBalancePath) + kBalanceQuery,
                       {{"authorization", "Bearer " + token}, {"tr_id", "TTTC8434R"}});
  ASSERT_TRUE(balance) << c.error();
  EXPECT_EQ(balance->status, 502) << balance->body;
  EXPECT_NE(balance->body.find("fate is unknown"), std::string::npos) << balance->body;
  const auto arrivals = kis.Arrivals();
  ASSERT_EQ(arrivals.size(), 2u) << "an account call was sent again";
  EXPECT_EQ(arrivals[0].path, kOrderPath);
  EXPECT_EQ(arrivals[1].path, kBalancePath);
  ASSERT_TRUE(stack.store().Flush(5s));
  const auto audit = stack.store().Audit(10);
  ASSERT_EQ(audit.size(), 2u);
  for (const auto& row : audit) {
    EXPECT_EQ(row.http_status, 0);
    EXPECT_EQ(row.key_name, "main");
    EXPECT_EQ(row.error, "closed_without_response");
  }
}

// The API handler boundary: a handler that throws (injected through the test seam) gets a 500 in
// the caller's format, counted in /metrics, and the same connection goes on being served.
TEST_F(ApiTest, AHandlerThatThrowsAnswers500AndServingGoesOn) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  StackOptions extra;
  extra.hook = [](const http::Request& r) {
    if (r.target.find("boom=1") != std::string::npos) throw std::runtime_error("injected failure");
  };
  Stack stack(&time_, sim.BaseUrl(), dir_.path(), {}, extra);
  kisgate::testing::TestClient c(stack.Url());
  auto api = c.Get("/v1/stocks/005930/price?boom=1");
  ASSERT_TRUE(api) << "the connection closed without a reply: " << c.error();
  EXPECT_EQ(api->status, 500);
  EXPECT_EQ(json::parse(api->body).at("error").at("code").as_string(), "internal_error");
  EXPECT_EQ(api->body.find("injected failure"), std::string::npos);  // logged, not shown
  auto kis = c.Get("/uapi/domestic-stock/v1/quotations/inquire-price?boom=1",
                   {{"tr_id", "FHKST01010100"}});
  ASSERT_TRUE(kis) << c.error();
  EXPECT_EQ(kis->status, 500);
  EXPECT_EQ(json::parse(kis->body).at("rt_cd").as_string(), "1") << kis->body;  // KIS's envelope
  EXPECT_EQ(GetJson(c, "/healthz").at("status").as_string(), "ok");
  EXPECT_GT(GetJson(c, "/v1/stocks/005930/price").at("price").as_int64(), 0);
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(MetricValue(metrics->body, "kisgate_api_handler_exceptions_total"), 2) << metrics->body;
}

// Codes outside the universe are answered (from KIS) but not stored: asking for many of them
// neither grows the store nor moves the freshness figures, which stay those of the universe, and
// memory holds only the most recently used few (max_age still holds for those).
TEST_F(ApiTest, CodesOutsideTheUniverseAreAnsweredButNotKept) {
  auto options = SimOptions();
  options.latency_ms = 5;
  options.rate = 200;
  sim::BackgroundSimulator sim(options, time_.clock());
  StackOptions extra;
  extra.universe = std::vector<std::string>{"005930"};
  extra.recent_values = 10;
  Stack stack(&time_, sim.BaseUrl(), dir_.path(), {}, extra);
  kisgate::testing::TestClient c(stack.Url());
  EXPECT_EQ(GetJson(c, "/v1/stocks/005930/price").at("source").as_string(), "kis");
  EXPECT_EQ(GetJson(c, "/v1/stocks/005930/price").at("source").as_string(), "cache");
  const auto metrics_before = c.Get("/metrics")->body;
  EXPECT_EQ(MetricValue(metrics_before, "kisgate_data_values{dataset=\"price\"}"), 1)
      << metrics_before;
  for (int i = 0; i < 60; ++i) {
    const auto code = fmt::format("{:06d}", 200000 + 7 * i);
    auto r = c.Get(fmt::format("/v1/stocks/{}/price", code));
    ASSERT_TRUE(r) << c.error();
    ASSERT_EQ(r->status, 200) << code << ": " << r->body;
    EXPECT_EQ(json::parse(r->body).at("source").as_string(), "kis") << code;
  }
  // The most recent ten are held in memory (and served within max_age); older ones went first.
  EXPECT_EQ(
      GetJson(c, fmt::format("/v1/stocks/{:06d}/price", 200000 + 7 * 59)).at("source").as_string(),
      "cache");
  EXPECT_EQ(
      GetJson(c, fmt::format("/v1/stocks/{:06d}/price", 200000 + 7 * 50)).at("source").as_string(),
      "cache");
  EXPECT_EQ(GetJson(c, "/v1/stocks/200000/price").at("source").as_string(), "kis");
  // A code the simulator lists but the universe does not: its bars are served, not kept.
  auto daily = GetJson(c, "/v1/stocks/000660/bars/daily?from=2026-10-01&to=2026-10-31");
  EXPECT_EQ(daily.at("bars").as_array().size(), 20u);
  const auto metrics_after = c.Get("/metrics")->body;
  EXPECT_EQ(MetricValue(metrics_after, "kisgate_data_values{dataset=\"price\"}"), 1)
      << metrics_after;
  EXPECT_EQ(MetricValue(metrics_after, "kisgate_data_values{dataset=\"bars_daily\"}"), -1)
      << metrics_after;
  EXPECT_EQ(MetricValue(metrics_after, "kisgate_api_recent_values"), 10) << metrics_after;
  const auto ages = stack.store().Ages(time_.clock().WallNow());
  ASSERT_EQ(ages.size(), 1u);
  EXPECT_EQ(ages[0].code, "005930");
  EXPECT_FALSE(stack.store().Latest("price", "200000").has_value());
}

// Issue 11's low findings in the API: a raw non-UTF-8 byte in a path keeps error replies valid
// JSON; /v1/ takes the scheme "bearer" in any case; kisgate's passthrough tokens can be revoked.
TEST_F(ApiTest, ErrorsStayJsonBearerInAnyCaseAndTokensRevoke) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path(), "api-token-123");
  kisgate::testing::TestClient c(stack.Url());
  for (const std::string target : {"/v1/stocks/00\xff\xfe"
                                   "01/price",
                                   "/no\xc3route\x80", "/v2/\xed\xa0\x80"}) {
    auto r = c.Get(target, {{"authorization", "Bearer api-token-123"}});
    ASSERT_TRUE(r) << c.error();
    EXPECT_GE(r->status, 400);
    json::error_code ec;
    auto parsed = json::parse(r->body, ec);
    EXPECT_FALSE(ec) << "not JSON: " << r->body;
    // No byte of it outside UTF-8 either (U+FFFD stands in for each bad byte).
    EXPECT_EQ(views::ValidUtf8(r->body), r->body);
  }
  auto refused = c.Get("/uapi/domestic-stock/v1/quotations/\xff", {{"tr_id", "FHKST01010100"}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(views::ValidUtf8(refused->body), refused->body);
  for (const char* scheme : {"Bearer", "bearer", "BEARER", "bEaReR"}) {
    GetJson(c, "/v1/budget", 200, {{"authorization", fmt::format("{} api-token-123", scheme)}});
  }
  GetJson(c, "/v1/budget", 401, {{"authorization", "bearer api-token-124"}});
  GetJson(c, "/v1/budget", 401, {{"authorization", "Basic api-token-123"}});

  const auto credentials =
      json::object{{"grant_type", "client_credentials"}, {"appkey", kKey}, {"appsecret", kSecret}};
  auto issued = c.Post("/oauth2/tokenP", json::serialize(credentials));
  ASSERT_TRUE(issued);
  const std::string token(json::parse(issued->body).at("access_token").as_string());
  const std::string price_path =
      "/uapi/domestic-stock/v1/quotations/"
      "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930";
  const http::Headers with_token = {{"authorization", "Bearer " + token},
                                    {"tr_id", "FHKST01010100"}};
  EXPECT_EQ(c.Get(price_path, with_token)->status, 200);
  auto wrong_secret = c.Post(
      "/oauth2/revokeP",
      json::serialize(json::object{{"appkey", kKey}, {"appsecret", "nope"}, {"token", token}}));
  ASSERT_TRUE(wrong_secret);
  EXPECT_EQ(wrong_secret->status, 403);
  EXPECT_EQ(c.Get(price_path, with_token)->status, 200);
  auto revoked = c.Post(
      "/oauth2/revokeP",
      json::serialize(json::object{{"appkey", kKey}, {"appsecret", kSecret}, {"token", token}}));
  ASSERT_TRUE(revoked);
  ASSERT_EQ(revoked->status, 200) << revoked->body;
  EXPECT_EQ(json::parse(revoked->body).at("code").as_int64(), 200)
      << revoked->body;  // KIS: an integer
  EXPECT_TRUE(json::parse(revoked->body).at("message").is_string());
  EXPECT_EQ(c.Get(price_path, with_token)->status, 401);
}

// server.protect_all: with a token set, /metrics, /readyz and /openapi.json need it too; the probe
// and the dashboard's page (no data in it: it reads /v1/ with the token) stay open.
TEST_F(ApiTest, ProtectAllGuardsMetricsReadinessAndOpenApi) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  StackOptions extra;
  extra.protect_all = true;
  extra.assets = [](std::string_view path) -> std::optional<http::Response> {
    if (path != "/") return std::nullopt;
    http::Response r;
    r.body = "<!doctype html>";
    return r;
  };
  Stack stack(&time_, sim.BaseUrl(), dir_.path(), "api-token-123", extra);
  kisgate::testing::TestClient c(stack.Url());
  GetJson(c, "/healthz");
  EXPECT_EQ(c.Get("/")->status, 200);
  for (const char* target :
       {"/metrics", "/readyz", "/openapi.json", "/nothing-here", "/v1/budget"}) {
    auto r = c.Get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 401) << target;
    auto ok = c.Get(target, {{"authorization", "Bearer api-token-123"}});
    ASSERT_TRUE(ok) << target;
    EXPECT_NE(ok->status, 401) << target;
  }
}

// Dispatch follows the route table (api/routes.cpp): each request is counted in /metrics under its
// entry's label, a route answers only its method (and says which), and an unknown /v1/ path is
// answered with the table's /v1/ routes.
TEST_F(ApiTest, RequestsAreDispatchedAndCountedByTheRouteTable) {
  sim::BackgroundSimulator sim(SimOptions(), time_.clock());
  Stack stack(&time_, sim.BaseUrl(), dir_.path());
  kisgate::testing::TestClient c(stack.Url());
  for (const char* path : {"/healthz", "/openapi.json", "/v1/jobs", "/v1/budget"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path << ": " << c.error();
    EXPECT_EQ(r->status, 200) << path;
  }
  auto post = c.Post("/v1/jobs", "{}");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->Header("allow").value_or(""), "GET");
  auto get_token = c.Get("/oauth2/tokenP");  // the passthrough's route: its own answer, not a 405
  ASSERT_TRUE(get_token);
  EXPECT_NE(get_token->status, 405);
  const auto unknown = GetJson(c, "/v1/stocks/005930/dividends", 404);
  const std::string hint(unknown.at("error").at("hint").as_string());
  for (const auto& route : Routes()) {
    if (route.path.starts_with("/v1/")) {
      EXPECT_NE(hint.find(route.path), std::string::npos) << route.path;
    }
  }
  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  for (const char* label : {"/healthz", "/openapi.json", "/v1/jobs", "/v1/budget"}) {
    EXPECT_EQ(MetricValue(
                  metrics->body,
                  fmt::format("kisgate_api_requests_total{{route=\"{}\",status=\"200\"}}", label)),
              1)
        << label;
  }
  EXPECT_EQ(
      MetricValue(metrics->body, "kisgate_api_requests_total{route=\"other\",status=\"405\"}"), 1);
  EXPECT_GE(
      MetricValue(metrics->body, "kisgate_api_requests_total{route=\"passthrough\",status=\"" +
                                     std::to_string(get_token->status) + "\"}"),
      1);
  EXPECT_EQ(
      MetricValue(metrics->body, "kisgate_api_requests_total{route=\"not_found\",status=\"404\"}"),
      1);
}

}  // namespace
}  // namespace kisgate::api

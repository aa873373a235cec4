// stream::Poller against the real simulator (kisgate sim on a free port) through a real gateway,
// into a SQLite file in a temp dir. On manual time (testing::ManualTime): the poll timer, the gate
// and the simulator read one clock.
#include "stream/poller.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "sim/sim_server.hpp"
#include "store/sqlite_store.hpp"
#include "stream/test_sink.hpp"
#include "support/manual_time.hpp"
#include "support/sim_caught_up.hpp"
#include "support/test_client.hpp"

namespace kisgate::stream {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A regular session: the simulator's market day and the test's wall clock start here together.
using testing::kMarketStart;

// One simulator for the suite (start-up is the costly part), on the suite's manual time; each
// test its gateway and store.
class PollerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    time_ = std::make_unique<testing::ManualTime>(testing::Kst(kMarketStart));
    time_->SetCatchUpLimit(1s);  // the simulator always answers: a busy machine is waited for
    sim::SimOptions o;
    o.listen = "127.0.0.1:0";
    o.clock = kMarketStart;
    o.rate = 1000;
    o.max_in_flight_per_key = 20;
    // Each reply 1 ms of manual time after its call: a poll's deadline (its interval) is never
    // reached by chance.
    o.latency_ms = 1;
    o.latency_sigma = 0;
    sim_ = std::make_unique<sim::BackgroundSimulator>(o, time_->clock());
  }
  static void TearDownTestSuite() {
    sim_.reset();
    time_.reset();
  }

  void SetUp() override {
    config::KeyConfig key;
    key.name = "main";
    key.base_url = sim_->BaseUrl();
    key.app_key = std::string(sim::kDemoAppKey);
    key.app_secret = sim::DemoAppSecret();
    key.rate = 1000;
    key.max_in_flight = 20;
    config_.keys.push_back(key);
    gateway_ = std::make_unique<gate::Gateway>(io_.get_executor(), config_, time_->clock());
    store::StoreOptions so;
    so.path = dir_.path() + "/kisgate.db";
    store_ = std::make_unique<store::SqliteStore>(so);
    poller_ = std::make_unique<Poller>(io_.get_executor(), *gateway_, store_.get(), time_->clock(),
                                       [this](const PolledValue& v) { values_.push_back(v); });
    caught_up_ = testing::SimCaughtUp([this] { return testing::UpstreamCalls(*gateway_); },
                                      [] { return sim_.get(); });
  }

  // Runs io on manual time until `done`, for at most a minute of it (then the caller's assertion
  // fails).
  bool Until(const std::function<bool()>& done) {
    return time_->RunUntil(io_, done, 1min, caught_up_);
  }

  std::size_t Count(const std::string& code, StreamData data, std::size_t from = 0) const {
    std::size_t n = 0;
    for (std::size_t i = from; i < values_.size(); ++i) {
      if (values_[i].code == code && values_[i].data == data) ++n;
    }
    return n;
  }

  static Plan Overflow(std::vector<Want> wants, std::chrono::milliseconds every) {
    Plan plan;
    plan.overflow = std::move(wants);
    plan.poll_interval = every;
    return plan;
  }

  static std::unique_ptr<testing::ManualTime> time_;
  static std::unique_ptr<sim::BackgroundSimulator> sim_;
  testing::TempDir dir_;
  config::Config config_;
  asio::io_context io_;
  std::unique_ptr<gate::Gateway> gateway_;
  testing::ManualTime::CaughtUp caught_up_;  // the simulator has received the gateway's calls
  std::unique_ptr<store::SqliteStore> store_;
  std::vector<PolledValue> values_;
  std::unique_ptr<Poller> poller_;
};

std::unique_ptr<testing::ManualTime> PollerTest::time_;
std::unique_ptr<sim::BackgroundSimulator> PollerTest::sim_;

// The overflow is polled again and again: a trade code as price, a book code as orderbook; each
// value reaches the callback and the store.
TEST_F(PollerTest, PollsTheOverflowIntoTheStoreAndTheCallback) {
  poller_->SetPlan(Overflow({Want{StreamData::kTrades, "005930", "streams 'hot'"},
                             Want{StreamData::kOrderBook, "000660", "client 'a'"}},
                            200ms));
  poller_->Start();
  ASSERT_TRUE(Until([&] {
    return Count("005930", StreamData::kTrades) >= 3 &&
           Count("000660", StreamData::kOrderBook) >= 3;
  }));
  poller_->Stop();
  EXPECT_EQ(Count("000660", StreamData::kTrades), 0u);
  for (const auto& v : values_) {
    EXPECT_EQ(v.record.dataset, v.data == StreamData::kTrades ? "price" : "orderbook");
    EXPECT_EQ(v.record.code, v.code);
  }
  ASSERT_TRUE(store_->Flush(5s));
  const auto price = store_->Latest("price", "005930");
  ASSERT_TRUE(price.has_value());
  EXPECT_FALSE(price->raw.empty());
  EXPECT_TRUE(store_->Latest("orderbook", "000660").has_value());
  EXPECT_GE(store_->Count("price"), 1);
  EXPECT_EQ(poller_->stats().failed, 0u)
      << poller_->stats().failures.size() << " kinds, first "
      << (poller_->stats().failures.empty() ? std::string()
                                            : poller_->stats().failures.begin()->first);
}

// Only the universe's codes are stored: a code an API client asked for is polled and handed on,
// but never written (it would grow the store and the freshness figures).
TEST_F(PollerTest, OnlyTheUniversesCodesAreStored) {
  PollerOptions options;
  options.stored_codes = std::make_shared<const std::unordered_set<std::string>>(
      std::unordered_set<std::string>{"005930"});
  Poller poller(
      io_.get_executor(), *gateway_, store_.get(), time_->clock(),
      [this](const PolledValue& v) { values_.push_back(v); }, options);
  poller.SetPlan(Overflow({Want{StreamData::kTrades, "005930", "streams 'hot'"},
                           Want{StreamData::kTrades, "000660", "client 'a'"}},
                          200ms));
  poller.Start();
  ASSERT_TRUE(Until([&] {
    return Count("005930", StreamData::kTrades) >= 2 && Count("000660", StreamData::kTrades) >= 2;
  }));
  poller.Stop();
  ASSERT_TRUE(store_->Flush(5s));
  EXPECT_TRUE(store_->Latest("price", "005930").has_value());
  EXPECT_FALSE(store_->Latest("price", "000660").has_value());
}

// A new plan changes the poll set without a restart: the dropped code is never handed on again,
// the new one is polled.
TEST_F(PollerTest, ANewPlanChangesThePollSetInPlace) {
  poller_->SetPlan(Overflow(
      {Want{StreamData::kTrades, "005930", "a"}, Want{StreamData::kTrades, "000660", "a"}}, 200ms));
  poller_->Start();
  ASSERT_TRUE(Until([&] { return Count("000660", StreamData::kTrades) >= 2; }));
  poller_->SetPlan(Overflow(
      {Want{StreamData::kTrades, "005930", "a"}, Want{StreamData::kTrades, "035420", "b"}}, 200ms));
  EXPECT_EQ(poller_->polling(), 2u);
  const std::size_t mark = values_.size();
  ASSERT_TRUE(Until([&] { return Count("035420", StreamData::kTrades, mark) >= 3; }));
  EXPECT_EQ(Count("000660", StreamData::kTrades, mark), 0u);
  EXPECT_GE(Count("005930", StreamData::kTrades, mark), 2u);
  // A plan with nothing to poll (everything fits the sessions) stops the polls.
  poller_->SetPlan(Plan{});
  EXPECT_EQ(poller_->polling(), 0u);
  const auto calls = poller_->stats().calls;
  time_->RunFor(io_, 500ms, caught_up_);  // more than two poll intervals
  EXPECT_EQ(poller_->stats().calls, calls);
  poller_->Stop();
}

}  // namespace
}  // namespace kisgate::stream

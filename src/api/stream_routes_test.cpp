// /v1/stream, /v1/ws and what the hub adds to other routes: the query's errors, the token
// (header or ?token=), the price from the stream, /v1/budget and /metrics; then both event routes
// over real sockets, server and client on one io_context thread, on manual time (the heartbeat
// follows the service's clock).
#include "api/stream_routes.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "api/service.hpp"
#include "common/timer.hpp"
#include "gate/gateway.hpp"
#include "http/server.hpp"
#include "http/websocket.hpp"
#include "kis/records.hpp"
#include "store/sqlite_store.hpp"
#include "stream/metrics.hpp"

namespace kisgate::api {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

http::Request Get(std::string target) {
  http::Request r;
  r.method = "GET";
  r.target = std::move(target);
  r.remote = "127.0.0.1:5000";
  return r;
}

StreamQueryError StreamErrorOf(const std::string& target, std::size_t max_codes = 3) {
  auto parsed = ParseStreamQuery(Get(target), max_codes);
  EXPECT_TRUE(std::holds_alternative<StreamQueryError>(parsed)) << target;
  return std::holds_alternative<StreamQueryError>(parsed) ? std::get<StreamQueryError>(parsed)
                                                          : StreamQueryError{};
}

TEST(StreamQuery, ParsesCodesDataAndTheLastEventId) {
  auto r = Get("/v1/stream?codes=005930,000660,005930&data=trades,orderbook&token=x");
  r.headers.emplace_back("Last-Event-ID", "41");
  auto parsed = ParseStreamQuery(r, 3);
  ASSERT_TRUE(std::holds_alternative<StreamQuery>(parsed));
  const auto& q = std::get<StreamQuery>(parsed);
  EXPECT_EQ(q.filter.codes, (std::vector<std::string>{"005930", "000660"}));
  EXPECT_TRUE(q.filter.trades);
  EXPECT_TRUE(q.filter.orderbook);
  EXPECT_EQ(q.last_event_id, 41u);
  auto only = std::get<StreamQuery>(ParseStreamQuery(Get("/v1/stream?codes=005930"), 3));
  EXPECT_TRUE(only.filter.trades);
  EXPECT_FALSE(only.filter.orderbook);
  EXPECT_FALSE(only.last_event_id);
}

TEST(StreamQuery, EveryProblemIsNamed) {
  EXPECT_EQ(StreamErrorOf("/v1/stream").code, "missing_codes");
  EXPECT_EQ(StreamErrorOf("/v1/stream?codes=00593").code, "invalid_stock_code");
  EXPECT_EQ(StreamErrorOf("/v1/stream?codes=005930&data=quotes").code, "bad_data");
  EXPECT_EQ(StreamErrorOf("/v1/stream?codes=005930&last_event_id=x").code, "bad_last_event_id");
  EXPECT_EQ(StreamErrorOf("/v1/stream?codes=005930&limit=3").code, "unknown_parameter");
  const auto over = StreamErrorOf("/v1/stream?codes=000001,000002,000003,000004");
  EXPECT_EQ(over.code, "too_many_codes");
  EXPECT_NE(over.message.find("at most 3 (max_codes_per_client)"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<StreamQueryError>(ParseStreamChange("[1]", 3)));
  EXPECT_TRUE(std::holds_alternative<StreamQueryError>(ParseStreamChange(R"({"codes":[5]})", 3)));
  auto change = ParseStreamChange(R"({"codes":["000660"],"data":["orderbook"]})", 3);
  ASSERT_TRUE(std::holds_alternative<stream::Filter>(change));
  EXPECT_FALSE(std::get<stream::Filter>(change).trades);
}

// A list is cut off as soon as it asks for more codes than a client may have (not deduplicated
// in full first: that cost O(N^2) on the io thread), and a bad value is quoted by a short prefix
// only, so an answer never grows with what the client sent.
TEST(StreamQuery, LongListsStopAtTheLimitAndBadValuesAreQuotedShort) {
  std::string codes;
  for (int i = 1; i <= 2'000; ++i) codes += fmt::format("{:06},", i);
  codes += "bad";
  const auto over = StreamErrorOf("/v1/stream?codes=" + codes);
  EXPECT_EQ(over.code, "too_many_codes");
  EXPECT_NE(over.message.find("at most 3 (max_codes_per_client)"), std::string::npos);
  const std::string huge(60'000, 'A');
  auto change = ParseStreamChange(fmt::format(R"({{"codes":["{}"]}})", huge), 3);
  ASSERT_TRUE(std::holds_alternative<StreamQueryError>(change));
  const auto& e = std::get<StreamQueryError>(change);
  EXPECT_EQ(e.code, "invalid_stock_code");
  EXPECT_LT(e.message.size(), 100u);
  EXPECT_NE(e.message.find("60000 bytes"), std::string::npos);
}

// The service with a hub, without sockets (Handle on a fresh io_context) and, for the socket
// tests, behind a real server on port 0.
class StreamService : public ::testing::Test {
 protected:
  void SetUp() override {
    config::KeyConfig k;
    k.name = "main";
    k.base_url = "http://127.0.0.1:9";  // never called: these routes do not ask KIS
    k.app_key = "PSstreamTESTkey000000000000000000001";
    k.app_secret = "secret";
    config_.keys.push_back(k);
    gateway_ = std::make_unique<gate::Gateway>(io_.get_executor(), config_, clock_,
                                               gate::GatewayOptions{});
    hub_ = std::make_unique<stream::Hub>(
        io_.get_executor(),
        stream::HubOptions{.ring_events = 100, .queue_events = 50, .max_codes_per_client = 3});
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    if (!folder_.empty()) std::filesystem::remove_all(folder_);
  }
  // A SQLite store in a folder of its own, for the tests of held values.
  store::SqliteStore& Store() {
    folder_ = std::filesystem::temp_directory_path() /
              fmt::format("kisgate-stream-routes-{}-{}", ::getpid(), ++made_);
    store::StoreOptions so;
    so.path = (folder_ / "kisgate.db").string();
    store_ = std::make_unique<store::SqliteStore>(so);
    return *store_;
  }
  void MakeService(std::string token = {}) {
    config_.server.api_token = std::move(token);
    ServiceDeps deps;
    deps.config = &config_;
    deps.gateway = gateway_.get();
    deps.store = store_.get();
    deps.clock = &clock_;
    deps.hub = hub_.get();
    // The hub's families of /metrics, as the app wires them.
    deps.metrics.push_back(
        [this](common::MetricsWriter& w) { stream::WriteMetrics(w, hub_->Counters()); });
    deps.stream_heartbeat = 50ms;
    deps.stream_status = [](const std::string& key) {
      return json::object{{"state", "connected"}, {"key", key}, {"registrations_used", 3}};
    };
    service_ = std::make_unique<Service>(std::move(deps));
  }
  http::Reply Handle(http::Request r) {
    std::optional<http::Reply> out;
    asio::co_spawn(io_, service_->Handle(std::move(r)),
                   [&](const std::exception_ptr& e, http::Reply reply) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(reply);
                   });
    io_.restart();
    while (!out && io_.run_one() > 0) {
    }
    return std::move(*out);
  }
  kis::Tick Tick(std::string code, std::int64_t price) const {
    kis::Tick t;
    t.code = std::move(code);
    t.date = "20261124";
    t.time = "100000";
    t.price = price;
    t.change = 500;
    t.sign = kis::Sign::kUp;
    t.cum_volume = 1234;
    t.received_at = clock_.WallNow();
    return t;
  }

  asio::io_context io_;
  common::ManualClock clock_;
  common::ManualTimeScope scope_{clock_};  // the service's clock is the one its timers follow
  config::Config config_;
  std::unique_ptr<gate::Gateway> gateway_;
  std::unique_ptr<stream::Hub> hub_;
  std::filesystem::path folder_;
  int made_ = 0;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<Service> service_;
};

// A price as KIS gives it (FHKST01010100's output, fields as strings), stored as a collection
// cycle would, `age` ago.
void StorePrice(store::Store& store, common::WallTime at) {
  auto records = kis::ToRecords(
      kis::Tr::kPrice, "005930",
      R"({"rt_cd":"0","output":{"stck_prpr":"71000","prdy_vrss":"0","prdy_vrss_sign":"3",)"
      R"("stck_oprc":"71000","stck_hgpr":"71200","stck_lwpr":"70800","acml_vol":"1000",)"
      R"("acml_tr_pbmn":"71000000","stck_mxpr":"92300","stck_llam":"49700","per":"12.5",)"
      R"("bstp_kor_isnm":"전기·전자"}})",
      "20261124095500", at);
  store.Write(std::get<std::vector<kis::Record>>(std::move(records)));
}

// One latest value: a trade moves the price fields of the stored quote and never zeroes the rest
// (limits, PER, sector); the same trade as a stream event and as the REST price shows the same
// figures under the same names and in the same format.
TEST_F(StreamService, ATradeMovesTheStoredPriceAndBothViewsAgree) {
  StorePrice(Store(), clock_.WallNow() - 2s);
  MakeService();
  auto first = json::parse(Handle(Get("/v1/stocks/005930/price")).response.body).as_object();
  EXPECT_EQ(first.at("source").as_string(), "cache");
  EXPECT_EQ(first.at("price").as_int64(), 71'000);
  auto listening = hub_->Subscribe(stream::Filter{{"005930"}, true, false});
  auto sub = std::get<std::shared_ptr<stream::Subscriber>>(std::move(listening));
  auto t = Tick("005930", 71'500);
  t.open = 71'000;
  t.high = 71'600;
  t.low = 70'800;
  t.change_pct = 0.7;
  t.cum_volume = 1'500;
  t.cum_value = 106'750'000;
  hub_->Publish(std::span<const kis::Tick>(&t, 1));
  const auto r = Handle(Get("/v1/stocks/005930/price"));
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  const auto rest = json::parse(r.response.body).as_object();
  EXPECT_EQ(rest.at("source").as_string(), "stream");
  EXPECT_EQ(rest.at("price").as_int64(), 71'500);
  EXPECT_EQ(rest.at("upper_limit").as_int64(), 92'300);  // kept from the stored quote
  EXPECT_EQ(rest.at("lower_limit").as_int64(), 49'700);
  EXPECT_DOUBLE_EQ(rest.at("per").as_double(), 12.5);
  EXPECT_EQ(rest.at("sector").as_string(), "전기·전자");
  const auto events = sub->Take();
  ASSERT_EQ(events.size(), 1u);
  const auto event = json::parse(events[0]->json).as_object();
  EXPECT_EQ(event.at("event").as_string(), "trade");
  for (const auto* field : {"price", "change", "change_sign", "change_pct", "open", "high", "low",
                            "volume", "traded_value_krw"}) {
    ASSERT_TRUE(event.contains(field) && rest.contains(field)) << field;
    EXPECT_EQ(json::serialize(event.at(field)), json::serialize(rest.at(field))) << field;
  }
  // The same number text in both bodies (not "7E-1" in one of them).
  EXPECT_NE(events[0]->json.find(R"("change_pct":0.7,)"), std::string::npos) << events[0]->json;
  EXPECT_NE(r.response.body.find(R"("change_pct":0.7,)"), std::string::npos) << r.response.body;
  // The trade's moment is the answer's as_of, in the one time format.
  EXPECT_EQ(rest.at("as_of"), event.at("received_at"));
  EXPECT_EQ(gateway_->Stats().keys.at(0).calls, 0u);
}

// A stored value that cannot be read is counted and answered 502 with a clear error, whole.
TEST_F(StreamService, AnUnreadableStoredValueIsA502) {
  auto& store = Store();
  kis::Record broken{"price", "005930", "20261124095500", clock_.WallNow(), {}, "{not json"};
  store.Write({broken});
  MakeService();
  const auto r = Handle(Get("/v1/stocks/005930/price"));
  EXPECT_EQ(r.response.status, 502);
  const auto body = json::parse(r.response.body).as_object();
  EXPECT_EQ(body.at("error").at("code").as_string(), "unreadable_value");
  EXPECT_EQ(service_->counters().unreadable_values, 1u);
  EXPECT_EQ(gateway_->Stats().keys.at(0).calls, 0u);
}

TEST_F(StreamService, AnswersErrorsAsJsonAndStreamsWithTheRightHeaders) {
  MakeService();
  auto over = Handle(Get("/v1/stream?codes=000001,000002,000003,000004"));
  EXPECT_EQ(over.response.status, 400);
  EXPECT_FALSE(over.stream);
  EXPECT_EQ(json::parse(over.response.body).at("error").at("code").as_string(), "too_many_codes");
  auto ok = Handle(Get("/v1/stream?codes=005930"));
  EXPECT_EQ(ok.response.status, 200);
  EXPECT_TRUE(ok.stream);
  EXPECT_EQ(ok.response.Header("content-type").value_or(""), "text/event-stream; charset=utf-8");
  EXPECT_EQ(hub_->Counters().subscribers, 1u);
  auto not_upgrade = Handle(Get("/v1/ws?codes=005930"));
  EXPECT_EQ(not_upgrade.response.status, 426);
  EXPECT_FALSE(not_upgrade.websocket);
}

TEST_F(StreamService, WithoutAHubTheEventRoutesAnswer503) {
  hub_.reset();
  MakeService();
  EXPECT_EQ(Handle(Get("/v1/stream?codes=005930")).response.status, 503);
}

// EventSource cannot send headers: the event routes take ?token=, the other routes do not.
TEST_F(StreamService, TheTokenMayComeInTheQueryOfTheEventRoutesOnly) {
  MakeService("s3cret");
  EXPECT_EQ(Handle(Get("/v1/stream?codes=005930")).response.status, 401);
  EXPECT_EQ(Handle(Get("/v1/stream?codes=005930&token=wrong")).response.status, 401);
  auto ok = Handle(Get("/v1/stream?codes=005930&token=s3cret"));
  EXPECT_EQ(ok.response.status, 200);
  EXPECT_TRUE(ok.stream);
  auto header = Get("/v1/stream?codes=005930");
  header.headers.emplace_back("Authorization", "Bearer s3cret");
  EXPECT_EQ(Handle(header).response.status, 200);
  EXPECT_EQ(Handle(Get("/v1/budget?token=s3cret")).response.status, 401);
}

// A trade newer than anything held answers /price with source "stream", without asking KIS.
TEST_F(StreamService, PriceComesFromTheStreamWhenItIsFresher) {
  MakeService();
  const auto t = Tick("005930", 71'500);
  hub_->Publish(std::span<const kis::Tick>(&t, 1));
  const auto r = Handle(Get("/v1/stocks/005930/price"));
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  const auto body = json::parse(r.response.body).as_object();
  EXPECT_EQ(body.at("source").as_string(), "stream");
  EXPECT_EQ(body.at("price").as_int64(), 71'500);
  EXPECT_EQ(body.at("change_sign").as_string(), "up");
  EXPECT_EQ(body.at("volume").as_int64(), 1234);
  EXPECT_EQ(body.at("code").as_string(), "005930");
  EXPECT_TRUE(body.contains("per"));  // the fields of a price, as from any other source
  EXPECT_EQ(gateway_->Stats().keys.at(0).calls, 0u);
}

TEST_F(StreamService, BudgetAndMetricsShowTheStream) {
  MakeService();
  auto sub = Handle(Get("/v1/stream?codes=005930"));
  const auto t = Tick("005930", 1);
  hub_->Publish(std::span<const kis::Tick>(&t, 1));
  const auto budget = json::parse(Handle(Get("/v1/budget")).response.body).as_object();
  EXPECT_EQ(budget.at("stream").at("subscribers").to_number<int>(), 1);
  EXPECT_EQ(budget.at("stream").at("events_published").to_number<int>(), 1);
  const auto& key = budget.at("keys").at(0).as_object();
  EXPECT_EQ(key.at("stream").at("state").as_string(), "connected");
  EXPECT_EQ(key.at("stream").at("key").as_string(), "main");
  const auto metrics = Handle(Get("/metrics")).response.body;
  EXPECT_NE(metrics.find("kisgate_stream_subscribers 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("kisgate_stream_events_published_total 1"), std::string::npos);
  EXPECT_NE(metrics.find("kisgate_stream_clients_cut_total 0"), std::string::npos);
}

// Over a socket: the status event, then trades as they are published with their ids, a
// heartbeat comment while nothing comes, and Last-Event-ID resuming after a reconnect.
TEST_F(StreamService, ServesServerSentEventsOverASocket) {
  MakeService();
  http::Server server(io_, http::ServerOptions{},
                      [this](http::Request r) { return service_->Handle(std::move(r)); });
  server.Start();
  std::string seen;
  std::string resumed;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        // Arguments are trivial and awaitables made before they are awaited (g++ 12, STYLE.md).
        const auto open = [&](const char* extra) -> asio::awaitable<asio::ip::tcp::socket> {
          asio::ip::tcp::socket socket(io_);
          const asio::ip::tcp::endpoint to(asio::ip::make_address("127.0.0.1"), server.Port());
          co_await socket.async_connect(to, asio::use_awaitable);
          const std::string request =
              std::string("GET /v1/stream?codes=005930 HTTP/1.1\r\nHost: x\r\n") + extra + "\r\n";
          co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
          co_return socket;
        };
        auto first = open("");
        auto socket = co_await std::move(first);
        asio::streambuf buffer;
        const auto until = [&](asio::ip::tcp::socket& s,
                               const char* what) -> asio::awaitable<void> {
          co_await asio::async_read_until(s, buffer, what, asio::use_awaitable);
        };
        co_await until(socket, "event: status");
        std::vector<kis::Tick> ticks{Tick("005930", 100), Tick("000660", 200), Tick("005930", 300)};
        hub_->Publish(ticks);
        co_await until(socket, "\"price\":300");
        co_await until(socket, ": heartbeat");
        seen.assign(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
        buffer.consume(buffer.size());
        socket.close();
        const auto more = Tick("005930", 400);
        hub_->Publish(std::span<const kis::Tick>(&more, 1));
        auto second = open("Last-Event-ID: 1\r\n");
        auto again = co_await std::move(second);
        co_await until(again, "\"price\":400");
        resumed.assign(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
        server.Stop();
      },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  common::AdvanceAndRun(io_, clock_, 20s);  // the client is done well within it
  EXPECT_NE(seen.find("text/event-stream"), std::string::npos) << seen;
  EXPECT_NE(seen.find("retry: 3000"), std::string::npos) << seen;
  EXPECT_NE(
      seen.find("id: 1\nevent: trade\ndata: {\"id\":1,\"event\":\"trade\",\"code\":\"005930\""),
      std::string::npos)
      << seen;
  EXPECT_NE(seen.find("id: 3\nevent: trade"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("000660"), std::string::npos) << seen;
  EXPECT_NE(resumed.find("id: 3\n"), std::string::npos) << resumed;  // after 1, kept in the ring
  EXPECT_NE(resumed.find("id: 4\n"), std::string::npos) << resumed;
  EXPECT_EQ(resumed.find("id: 1\n"), std::string::npos) << resumed;
}

// Over a WebSocket: the status message, trades as JSON messages, and a change of codes.
TEST_F(StreamService, ServesTheWebSocketAndItsChangeMessages) {
  MakeService();
  http::Server server(io_, http::ServerOptions{},
                      [this](http::Request r) { return service_->Handle(std::move(r)); });
  server.Start();
  std::vector<std::string> messages;
  std::string error;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        auto connect = http::ConnectWebSocket(
            io_.get_executor(), fmt::format("ws://127.0.0.1:{}/v1/ws?codes=005930", server.Port()),
            http::WebSocketOptions{}, error);
        auto ws = co_await std::move(connect);
        if (!ws) co_return;
        messages.push_back((co_await ws->Read()).value_or(""));
        const auto t = Tick("005930", 700);
        hub_->Publish(std::span<const kis::Tick>(&t, 1));
        messages.push_back((co_await ws->Read()).value_or(""));
        auto change = ws->Write(R"({"codes":["000660"],"data":["trades","orderbook"]})");
        co_await std::move(change);
        messages.push_back((co_await ws->Read()).value_or(""));
        auto bad = ws->Write(R"({"codes":"005930"})");
        co_await std::move(bad);
        messages.push_back((co_await ws->Read()).value_or(""));
        std::vector<kis::Tick> ticks{Tick("005930", 800), Tick("000660", 900)};
        hub_->Publish(ticks);
        messages.push_back((co_await ws->Read()).value_or(""));
        auto close = ws->Close();
        co_await std::move(close);
        server.Stop();
      },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  common::AdvanceAndRun(io_, clock_, 20s);  // the client is done well within it
  ASSERT_EQ(messages.size(), 5u) << error;
  const auto status = json::parse(messages[0]).as_object();
  EXPECT_EQ(status.at("event").as_string(), "status");
  EXPECT_EQ(status.at("state").as_string(), "subscribed");
  EXPECT_EQ(json::parse(messages[1]).at("price").as_int64(), 700);
  EXPECT_EQ(json::parse(messages[2]).at("codes").at(0).as_string(), "000660");
  EXPECT_EQ(json::parse(messages[3]).at("state").as_string(), "error");
  EXPECT_EQ(json::parse(messages[4]).at("price").as_int64(), 900);  // 005930 no longer asked for
}

}  // namespace
}  // namespace kisgate::api

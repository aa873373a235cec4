// The HTTP server over real sockets: keep-alive, limits, deadlines, connection cap, drops.
#include "http/server.hpp"

#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "support/test_client.hpp"

namespace kisgate::http {
namespace {

namespace asio = boost::asio;
using testing::TestClient;

// An echo server on its own thread; handlers can delay or drop.
class ServerFixture : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(io_, options, [this](Request r) -> asio::awaitable<Reply> {
      Reply reply;
      if (r.Path() == "/drop") {
        reply.drop_connection = true;
        co_return reply;
      }
      if (r.Path() == "/slow") {
        int now = ++in_slow_;
        int seen = max_in_slow_.load();
        while (now > seen && !max_in_slow_.compare_exchange_weak(seen, now)) {
        }
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
        co_await t.async_wait(asio::use_awaitable);
        --in_slow_;
      }
      reply.response.status = 200;
      reply.response.SetHeader("content-type", "text/plain");
      reply.response.body = r.method + " " + std::string(r.Path()) + " " +
                            std::string(r.Header("x-test").value_or("-")) + " " + r.body;
      co_return reply;
    });
    server_->Start();
    base_ = "http://" + server_->Address();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->Stop(); });
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  asio::io_context io_{1};
  std::atomic<int> in_slow_{0};
  std::atomic<int> max_in_slow_{0};
  std::unique_ptr<Server> server_;
  std::string base_;
  std::thread thread_;
};

TEST_F(ServerFixture, KeepAliveReusesOneConnection) {
  Start();
  TestClient client(base_);
  for (int i = 0; i < 5; ++i) {
    auto r = client.Post("/echo", "hi", {{"X-Test", "v"}});
    ASSERT_TRUE(r) << client.error();
    EXPECT_EQ(r->body, "POST /echo v hi");
    EXPECT_EQ(r->Header("server").value_or(""), "kisgate");
  }
  EXPECT_EQ(server_->Counters().accepted, 1u);
  EXPECT_EQ(server_->Counters().requests, 5u);
}

TEST_F(ServerFixture, OversizedHeaderGets431AndBodyGets413) {
  ServerOptions o;
  o.max_header_bytes = 1024;
  o.max_body_bytes = 100;
  Start(o);
  TestClient client(base_);
  auto big_header = client.Get("/x", {{"X-Test", std::string(4000, 'a')}});
  ASSERT_TRUE(big_header) << client.error();
  EXPECT_EQ(big_header->status, 431);
  auto big_body = client.Post("/x", std::string(1000, 'b'));
  ASSERT_TRUE(big_body) << client.error();
  EXPECT_EQ(big_body->status, 413);
  EXPECT_EQ(server_->Counters().malformed, 2u);
  // The server still serves.
  auto ok = client.Get("/x");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(ServerFixture, GarbageGets400) {
  Start();
  TestClient client(base_);
  auto reply = client.SendRaw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(reply.find("400 Bad Request"), std::string::npos) << reply;
}

// A client that starts a request and goes silent loses its connection at the read deadline.
TEST_F(ServerFixture, SlowClientIsCutAtReadTimeout) {
  ServerOptions o;
  o.read_timeout = std::chrono::milliseconds(200);
  Start(o);
  TestClient client(base_);
  // Our own read gives up after 10 s; the server's 200 ms deadline closes the connection first.
  auto reply = client.SendRaw("GET /x HTTP/1.1\r\nHost: a\r\n", 10000);
  EXPECT_TRUE(reply.empty());
  EXPECT_EQ(server_->Counters().timeouts, 1u);
}

TEST_F(ServerFixture, ConnectionsBeyondTheCapAreClosedAtAccept) {
  ServerOptions o;
  o.max_connections = 2;
  Start(o);
  TestClient a(base_), b(base_), c(base_);
  ASSERT_TRUE(a.Get("/x"));
  ASSERT_TRUE(b.Get("/x"));
  EXPECT_FALSE(c.Get("/x").has_value());
  EXPECT_EQ(server_->Counters().rejected_over_cap, 1u);
  a.Close();
  // Once a slot frees, new connections are served again.
  std::optional<testing::TestResponse> r;
  for (int i = 0; i < 50 && !r; ++i) {
    r = c.Get("/x");
    if (!r) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(r.has_value());
}

TEST_F(ServerFixture, HandlerDropClosesWithoutResponse) {
  Start();
  TestClient client(base_);
  EXPECT_FALSE(client.Get("/drop").has_value());
  EXPECT_EQ(server_->Counters().dropped, 1u);
  auto r = client.Get("/x");  // reconnects
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerFixture, ConcurrentSlowRequestsOverlap) {
  Start();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      TestClient client(base_);
      if (auto r = client.Get("/slow"); r && r->status == 200) ok++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  // Handlers wait on timers, not the thread: several were inside the handler at once.
  EXPECT_GE(max_in_slow_.load(), 2);
}

TEST(Server, BadListenAddressNamesIt) {
  asio::io_context io;
  auto handler = [](Request) -> asio::awaitable<Reply> { co_return Reply{}; };
  ServerOptions no_port;
  no_port.listen = "127.0.0.1";
  try {
    Server s(io, no_port, handler);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'127.0.0.1' is not HOST:PORT"), std::string::npos);
  }
  Server first(io, ServerOptions{}, handler);
  ServerOptions same_port;
  same_port.listen = first.Address();
  try {
    Server second(io, same_port, handler);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kisgate::http

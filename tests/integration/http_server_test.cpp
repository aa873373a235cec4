// The HTTP server over real sockets: keep-alive, limits, deadlines, connection cap, drops.
#include "http/server.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "support/test_client.hpp"

namespace kisgate::http {
namespace {

namespace asio = boost::asio;
using testing::TestClient;
using namespace std::chrono_literals;

// Waits (at most 5 s) until `counter` of the server reaches `n`, and returns its value: the server
// counts on its own thread, sometimes just after the client has seen the effect (a deadline
// closes the socket before the read it cut is counted).
std::uint64_t WaitForCount(const Server& server, std::uint64_t ServerCounters::*counter,
                           std::uint64_t n) {
  for (int i = 0; i < 500 && server.Counters().*counter != n; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  return server.Counters().*counter;
}

// A raw TCP connection for byte-level tests: writes what it is told, and reads with a 10 s limit
// (SO_RCVTIMEO), far beyond the server deadlines the tests set, so "the server closed" and "the
// server kept waiting" are told apart without timing thresholds.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : socket_(io_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    timeval limit{10, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  }
  // False once the peer has closed or reset the connection.
  bool Write(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }
  // True when something has arrived to read (or the peer closed), without waiting.
  bool Readable() {
    char byte;
    auto n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }
  // Reads until `marker` has arrived; returns everything read.
  std::string ReadUntil(std::string_view marker) {
    while (in_.find(marker) == std::string::npos && ReadSome()) {
    }
    return std::exchange(in_, {});
  }
  // Reads until the peer closes (true) or 10 s pass with nothing (false).
  bool ReadUntilClosed(std::string* out = nullptr) {
    while (ReadSome()) {
    }
    if (out) *out = std::exchange(in_, {});
    return closed_;
  }

 private:
  bool ReadSome() {
    char chunk[4096];
    auto n = ::recv(socket_.native_handle(), chunk, sizeof chunk, 0);
    if (n > 0) {
      in_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    closed_ = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
    return false;
  }

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string in_;
  bool closed_ = false;
};

// An echo server on its own thread; handlers can delay or drop.
class ServerFixture : public ::testing::Test {
 protected:
  void Start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(io_, options, [this](Request r) -> asio::awaitable<Reply> {
      Reply reply;
      if (r.Path() == "/throw") throw std::runtime_error("handler bug");
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

// A client that sends a whole oversized body before reading still gets the 413: the server reads
// and discards (a bounded amount) before closing, instead of resetting the connection under it.
TEST_F(ServerFixture, OversizedBodySentWholeStillGets413) {
  ServerOptions o;
  o.max_body_bytes = 100;
  Start(o);
  TestClient client(base_);
  auto reply = client.Post("/x", std::string(16 * 1024 * 1024, 'b'));
  ASSERT_TRUE(reply) << client.error();
  EXPECT_EQ(reply->status, 413);
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
  EXPECT_EQ(WaitForCount(*server_, &ServerCounters::timeouts, 1), 1u);
}

// When every connection under the cap has a request in progress, a new one is closed at accept;
// once a slot frees, new connections are served again.
TEST_F(ServerFixture, ConnectionsBeyondTheCapAreClosedAtAccept) {
  ServerOptions o;
  o.max_connections = 2;
  Start(o);
  auto a = std::make_unique<RawConnection>(server_->Port());
  RawConnection b(server_->Port());
  ASSERT_TRUE(a->Write("GET /x HTTP/1.1\r\nHo"));
  ASSERT_TRUE(b.Write("GET /x HTTP/1.1\r\nHo"));
  ASSERT_EQ(WaitForCount(*server_, &ServerCounters::active, 2), 2u);
  TestClient c(base_);
  EXPECT_FALSE(c.Get("/x").has_value());
  EXPECT_EQ(server_->Counters().rejected_over_cap, 1u);
  EXPECT_EQ(server_->Counters().evicted_idle, 0u);
  a.reset();
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

// Endless trailer lines after the last chunk are cut (431) long before 32 MB, and the server
// answers while the client is still sending: the bytes it holds stay bounded.
TEST_F(ServerFixture, EndlessChunkedTrailerIsCut) {
  Start();
  RawConnection c(server_->Port());
  ASSERT_TRUE(
      c.Write("GET /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"));
  const std::string line = "X-Trailer: " + std::string(1000, 'a') + "\r\n";
  std::size_t sent = 0;
  while (sent < 32 * 1024 * 1024 && !c.Readable() && c.Write(line)) sent += line.size();
  std::string reply;
  c.ReadUntilClosed(&reply);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);
  EXPECT_LT(sent, 32u * 1024 * 1024);
  EXPECT_EQ(server_->Counters().malformed, 1u);
}

// One endless chunk extension is cut the same way.
TEST_F(ServerFixture, EndlessChunkExtensionIsCut) {
  Start();
  RawConnection c(server_->Port());
  ASSERT_TRUE(c.Write("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;e="));
  const std::string piece(1000, 'a');
  std::size_t sent = 0;
  while (sent < 32 * 1024 * 1024 && !c.Readable() && c.Write(piece)) sent += piece.size();
  std::string reply;
  c.ReadUntilClosed(&reply);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);
  EXPECT_LT(sent, 32u * 1024 * 1024);
}

// Many small chunks, each with a 1 KB extension: the body is tiny, the framing is not; framing
// counts against max_header_bytes.
TEST_F(ServerFixture, ChunkExtensionsCountAgainstALimit) {
  Start();
  std::string request = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 100; ++i) request += "1;e=" + std::string(1000, 'a') + "\r\nZ\r\n";
  request += "0\r\n\r\n";
  TestClient client(base_);
  auto reply = client.SendRaw(request);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431", 0), 0u) << reply.substr(0, 200);
}

// A small chunked request with a trailer is served, and trailer fields do not become headers.
TEST_F(ServerFixture, TrailerFieldsAreNotHeaders) {
  Start();
  TestClient client(base_);
  auto reply = client.SendRaw(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "2\r\nhi\r\n0\r\nX-Test: from-trailer\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("POST /x - hi"), std::string::npos) << reply;
}

// read_timeout covers every request of a kept-alive connection, not only the first: a second
// request that stalls is cut at 200 ms, not held for the 60 s idle timeout.
TEST_F(ServerFixture, ReadTimeoutAppliesToLaterRequestsOnAConnection) {
  ServerOptions o;
  o.read_timeout = 200ms;
  Start(o);
  RawConnection c(server_->Port());
  ASSERT_TRUE(c.Write("GET /first HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_NE(c.ReadUntil("GET /first - ").find("200 OK"), std::string::npos);
  ASSERT_TRUE(c.Write("GET /second HTTP/1.1\r\nHo"));
  EXPECT_TRUE(c.ReadUntilClosed());
  EXPECT_EQ(WaitForCount(*server_, &ServerCounters::timeouts, 1), 1u);
}

// One window from a request's first byte covers its header and its body together: a header
// taking 0.7 s and a body taking 0.7 s more do not fit a 1 s read_timeout.
TEST_F(ServerFixture, ReadTimeoutCoversHeaderAndBodyTogether) {
  ServerOptions o;
  o.read_timeout = 1000ms;
  Start(o);
  RawConnection c(server_->Port());
  ASSERT_TRUE(c.Write("POST /x HTTP/1.1\r\n"));
  std::this_thread::sleep_for(700ms);
  ASSERT_TRUE(c.Write("Host: a\r\nContent-Length: 4\r\n\r\nab"));
  std::this_thread::sleep_for(700ms);
  c.Write("cd");
  std::string reply;
  EXPECT_TRUE(c.ReadUntilClosed(&reply));
  EXPECT_EQ(reply.find("200 OK"), std::string::npos) << reply;
  EXPECT_EQ(WaitForCount(*server_, &ServerCounters::timeouts, 1), 1u);
}

// With the connection cap filled by silent, dripping and idle kept-alive sockets, a normal client
// is still served: the longest-waiting connections with no request in progress are closed.
TEST_F(ServerFixture, IdleSocketsAtTheCapDoNotStarveANormalClient) {
  ServerOptions o;
  o.max_connections = 6;
  Start(o);
  std::vector<std::unique_ptr<RawConnection>> hogs;
  for (int i = 0; i < 3; ++i) hogs.push_back(std::make_unique<RawConnection>(server_->Port()));
  for (int i = 0; i < 2; ++i) {
    hogs.push_back(std::make_unique<RawConnection>(server_->Port()));
    ASSERT_TRUE(hogs.back()->Write("GET /x HTTP/1.1\r\nHo"));  // and never more
  }
  hogs.push_back(std::make_unique<RawConnection>(server_->Port()));
  ASSERT_TRUE(hogs.back()->Write("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
  hogs.back()->ReadUntil("GET /x - ");
  ASSERT_EQ(WaitForCount(*server_, &ServerCounters::active, 6), 6u);
  int ok = 0;
  for (int round = 0; round < 3; ++round) {
    TestClient client(base_);
    for (int i = 0; i < 10; ++i) {
      if (auto r = client.Get("/x"); r && r->status == 200) ok++;
    }
  }
  EXPECT_EQ(ok, 30);
  EXPECT_GE(server_->Counters().evicted_idle, 1u);
}

// HEAD gets the headers GET would get (Content-Length included) and no body.
TEST_F(ServerFixture, HeadRepliesCarryNoBody) {
  Start();
  TestClient client(base_);
  auto reply = client.SendRaw("HEAD /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  auto end = reply.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << reply;
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: 10\r\n"), std::string::npos) << reply;  // "HEAD /x - "
  EXPECT_EQ(reply.substr(end + 4), "");
}

// A transfer coding other than chunked is refused (RFC 9112 6.1): 501, and the connection closes
// so that the body cannot be read as a next request.
TEST_F(ServerFixture, TransferEncodingOtherThanChunkedIsRefused) {
  Start();
  TestClient client(base_);
  for (const char* coding : {"gzip", "gzip, chunked", "chunked, gzip"}) {
    auto reply = client.SendRaw(std::string("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") +
                                coding + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 501", 0), 0u) << coding << ": " << reply;
    EXPECT_EQ(reply.find("200 OK"), std::string::npos) << coding << ": " << reply;
  }
}

// A handler that throws gets the client a 500 with a JSON error; the exception is counted and
// the same connection goes on serving.
TEST_F(ServerFixture, HandlerExceptionGets500AndTheConnectionServesOn) {
  Start();
  TestClient client(base_);
  auto failed = client.Get("/throw");
  ASSERT_TRUE(failed) << client.error();
  EXPECT_EQ(failed->status, 500);
  EXPECT_EQ(failed->body, R"({"error":"internal error"})");
  EXPECT_EQ(failed->Header("content-type").value_or(""), "application/json; charset=utf-8");
  auto ok = client.Get("/x");
  ASSERT_TRUE(ok) << client.error();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(server_->Counters().handler_exceptions, 1u);
  EXPECT_EQ(server_->Counters().accepted, 1u);
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

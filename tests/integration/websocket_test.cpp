// Long-lived connections over real sockets: a WebSocket upgrade through http::Server (echo),
// ConnectWebSocket as its client, a streamed (chunked) body, and Stop() ending both.
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "http/server.hpp"
#include "http/websocket.hpp"
#include "support/test_client.hpp"

namespace kisgate::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs `make()`'s coroutine on a fresh io_context of the calling thread and returns its value.
template <class T, class Make>
T RunClient(Make make) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(io, make(io.get_executor()), [&](const std::exception_ptr& e, T value) {
    if (e) std::rethrow_exception(e);
    out = std::move(value);
  });
  io.run();
  return std::move(*out);
}

class LongLivedFixture : public ::testing::Test {
 protected:
  // The TLS fixture below serves the same routes over HTTPS / wss://.
  virtual bool Tls() const { return false; }
  virtual std::size_t MaxConnections() const { return 0; }

  void SetUp() override {
    ServerOptions options;
    options.websocket.max_message_bytes = 1024;
    options.max_connections = MaxConnections();
    if (Tls()) {
      testing::WriteSelfSignedCert(dir_.path());
      options.tls_cert_file = CertFile();
      options.tls_key_file = dir_.path() + "/key.pem";
    }
    server_ = std::make_unique<Server>(io_, options, [this](Request r) -> asio::awaitable<Reply> {
      Reply reply;
      if (r.Path() == "/echo") {
        reply.response.SetHeader("x-route", "echo");
        reply.websocket = [this](std::unique_ptr<WebSocket> ws) -> asio::awaitable<void> {
          while (auto message = co_await ws->Read()) {
            if (*message == "close") {
              co_await ws->Close("asked to");
              break;
            }
            if (!co_await ws->Write("echo:" + *message)) break;
          }
          echo_ended_++;
        };
        co_return reply;
      }
      if (r.Path() == "/events") {
        reply.response.SetHeader("content-type", "text/event-stream");
        reply.stream = [this](std::unique_ptr<BodyStream> body) -> asio::awaitable<void> {
          for (int i = 1; i <= 3; ++i) {
            if (!co_await body->Write("data: " + std::to_string(i) + "\n\n")) co_return;
          }
          co_await body->WaitClosed();
          stream_ended_++;
        };
        co_return reply;
      }
      reply.response.status = 404;
      reply.response.body = "none";
      co_return reply;
    });
    server_->Start();
    port_ = server_->Port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->Stop(); });
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string Url(std::string_view path) const {
    return (Tls() ? "wss://127.0.0.1:" : "ws://127.0.0.1:") + std::to_string(port_) +
           std::string(path);
  }
  std::string CertFile() const { return dir_.path() + "/cert.pem"; }
  // Waits (at most 5 s) until the server's long-lived connections number `n`.
  std::uint64_t WaitLongLived(std::uint64_t n) const {
    for (int i = 0; i < 500 && server_->Counters().long_lived != n; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    return server_->Counters().long_lived;
  }

  testing::TempDir dir_;
  asio::io_context io_{1};
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> echo_ended_{0};
  std::atomic<int> stream_ended_{0};
};

TEST_F(LongLivedFixture, WebSocketEchoesAndClosesCleanly) {
  auto replies = RunClient<
      std::vector<std::string>>([this](asio::any_io_executor ex)
                                    -> asio::awaitable<std::vector<std::string>> {
    std::string error;
    auto connect = ConnectWebSocket(ex, Url("/echo"), {}, error);
    auto ws = co_await std::move(connect);
    std::vector<std::string> out;
    if (!ws) {
      out.push_back("error " + error);
      co_return out;
    }
    for (const std::string& m : std::vector<std::string>{"a", "005930|1", std::string(1000, 'x')}) {
      co_await ws->Write(m);
      out.push_back((co_await ws->Read()).value_or("<closed>"));
    }
    co_await ws->Write("close");
    out.push_back((co_await ws->Read()).value_or("<closed>"));
    co_return out;
  });
  ASSERT_EQ(replies.size(), 4u) << replies.front();
  EXPECT_EQ(replies[0], "echo:a");
  EXPECT_EQ(replies[1], "echo:005930|1");
  EXPECT_EQ(replies[2], "echo:" + std::string(1000, 'x'));
  EXPECT_EQ(replies[3], "<closed>");
  EXPECT_EQ(server_->Counters().upgraded, 1u);
  EXPECT_EQ(WaitLongLived(0), 0u);
  EXPECT_EQ(echo_ended_.load(), 1);
}

TEST_F(LongLivedFixture, MessageOverTheLimitClosesTheConnection) {
  auto reply =
      RunClient<std::string>([this](asio::any_io_executor ex) -> asio::awaitable<std::string> {
        std::string error;
        auto connect = ConnectWebSocket(ex, Url("/echo"), {}, error);
        auto ws = co_await std::move(connect);
        if (!ws) co_return "error " + error;
        co_await ws->Write(std::string(1025, 'x'));
        co_return (co_await ws->Read()).value_or("<closed>");
      });
  EXPECT_EQ(reply, "<closed>");
  EXPECT_EQ(WaitLongLived(0), 0u);
}

TEST_F(LongLivedFixture, ConnectNamesTheUrlAndTheReason) {
  auto error =
      RunClient<std::string>([this](asio::any_io_executor ex) -> asio::awaitable<std::string> {
        std::string error;
        auto connect = ConnectWebSocket(ex, Url("/nothing-here"), {}, error);
        auto ws = co_await std::move(connect);
        co_return ws ? std::string("connected") : error;
      });
  EXPECT_NE(error.find(Url("/nothing-here")), std::string::npos) << error;
  EXPECT_NE(error.find("HTTP 404"), std::string::npos) << error;

  error = RunClient<std::string>([](asio::any_io_executor ex) -> asio::awaitable<std::string> {
    std::string error;
    auto connect = ConnectWebSocket(ex, "http://127.0.0.1:1/", {}, error);
    auto ws = co_await std::move(connect);
    co_return ws ? std::string("connected") : error;
  });
  EXPECT_NE(error.find("not a ws:// or wss:// URL"), std::string::npos) << error;
}

// Raw bytes for the plain-HTTP side: a GET of a WebSocket route without the upgrade, and a
// streamed body.
std::string Exchange(std::uint16_t port, std::string_view request, std::string_view until,
                     bool close_after = true) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  timeval limit{10, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  asio::write(socket, asio::buffer(request.data(), request.size()));
  std::string in;
  char chunk[4096];
  while (in.find(until) == std::string::npos) {
    auto n = ::recv(socket.native_handle(), chunk, sizeof chunk, 0);
    if (n <= 0) break;
    in.append(chunk, static_cast<std::size_t>(n));
  }
  if (close_after) socket.close();
  return in;
}

TEST_F(LongLivedFixture, PlainGetOfAWebSocketRouteGets426) {
  auto reply = Exchange(port_, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n", "}");
  EXPECT_EQ(reply.rfind("HTTP/1.1 426", 0), 0u) << reply;
  EXPECT_NE(reply.find("send an upgrade request"), std::string::npos) << reply;
}

TEST_F(LongLivedFixture, StreamedBodyIsChunkedAndEndsWhenTheClientLeaves) {
  auto reply = Exchange(port_, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n", "data: 3\n\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  EXPECT_NE(reply.find("Transfer-Encoding: chunked"), std::string::npos) << reply;
  EXPECT_NE(reply.find("text/event-stream"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("Content-Length"), std::string::npos) << reply;
  // Chunk sizes in hex before each event: "data: 1\n\n" is 9 bytes.
  EXPECT_NE(reply.find("9\r\ndata: 1\n\n\r\n"), std::string::npos) << reply;
  EXPECT_EQ(WaitLongLived(0), 0u);  // the client closed: WaitClosed returned
  for (int i = 0; i < 500 && stream_ended_.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(stream_ended_.load(), 1);
  EXPECT_EQ(server_->Counters().streamed, 1u);
}

TEST_F(LongLivedFixture, StopEndsOpenWebSockets) {
  std::promise<void> connected;
  auto waiting = std::async(std::launch::async, [&] {
    return RunClient<std::string>([&](asio::any_io_executor ex) -> asio::awaitable<std::string> {
      std::string error;
      auto connect = ConnectWebSocket(ex, Url("/echo"), {}, error);
      auto ws = co_await std::move(connect);
      connected.set_value();
      if (!ws) co_return "error " + error;
      co_return (co_await ws->Read()).value_or("<closed>");
    });
  });
  connected.get_future().wait();
  ASSERT_EQ(WaitLongLived(1), 1u);
  asio::post(io_, [this] { server_->Stop(); });
  EXPECT_EQ(waiting.get(), "<closed>");
  EXPECT_EQ(WaitLongLived(0), 0u);
}

class CappedLongLivedFixture : public LongLivedFixture {
 protected:
  std::size_t MaxConnections() const override { return 8; }
};

// Event streams never fill server.max_connections: past 7 of 8 (an eighth is kept) a stream is
// answered 503, and ordinary requests are still served while the streams stay open.
TEST_F(CappedLongLivedFixture, StreamsLeaveRoomForOrdinaryRequests) {
  asio::io_context client;
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> streams;
  for (int i = 0; i < 7; ++i) {
    auto s = std::make_unique<asio::ip::tcp::socket>(client);
    s->connect({asio::ip::make_address("127.0.0.1"), port_});
    asio::write(*s, asio::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
    streams.push_back(std::move(s));
  }
  ASSERT_EQ(WaitLongLived(7), 7u);
  const auto refused = Exchange(port_, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n", "}");
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("too_many_streams"), std::string::npos) << refused;
  const auto plain = Exchange(port_, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n", "none");
  EXPECT_EQ(plain.rfind("HTTP/1.1 404", 0), 0u) << plain;
  EXPECT_EQ(server_->Counters().refused_long_lived, 1u);
  EXPECT_EQ(server_->Counters().long_lived, 7u);
}

class TlsLongLivedFixture : public LongLivedFixture {
 protected:
  bool Tls() const override { return true; }
};

// The same echo over TLS on both sides: the server's upgrade of an HTTPS connection and a wss://
// client that trusts the server's certificate through WebSocketOptions::ca_file.
TEST_F(TlsLongLivedFixture, WebSocketOverTlsEchoesAndClosesCleanly) {
  auto replies = RunClient<std::vector<std::string>>(
      [this](asio::any_io_executor ex) -> asio::awaitable<std::vector<std::string>> {
        WebSocketOptions options;
        options.ca_file = CertFile();
        std::string error;
        auto connect = ConnectWebSocket(ex, Url("/echo"), options, error);
        auto ws = co_await std::move(connect);
        std::vector<std::string> out;
        if (!ws) {
          out.push_back("error " + error);
          co_return out;
        }
        for (const std::string& m : std::vector<std::string>{"a", std::string(1000, 'x')}) {
          co_await ws->Write(m);
          out.push_back((co_await ws->Read()).value_or("<closed>"));
        }
        co_await ws->Write("close");
        out.push_back((co_await ws->Read()).value_or("<closed>"));
        co_return out;
      });
  ASSERT_EQ(replies.size(), 3u) << replies.front();
  EXPECT_EQ(replies[0], "echo:a");
  EXPECT_EQ(replies[1], "echo:" + std::string(1000, 'x'));
  EXPECT_EQ(replies[2], "<closed>");
  EXPECT_EQ(server_->Counters().upgraded, 1u);
  EXPECT_EQ(WaitLongLived(0), 0u);
  EXPECT_EQ(echo_ended_.load(), 1);
}

// A wss:// client verifies the peer: a self-signed certificate it was not told to trust fails the
// handshake, and the error says so.
TEST_F(TlsLongLivedFixture, WssRefusesAPeerItCannotVerify) {
  auto error =
      RunClient<std::string>([this](asio::any_io_executor ex) -> asio::awaitable<std::string> {
        std::string error;
        auto connect = ConnectWebSocket(ex, Url("/echo"), {}, error);
        auto ws = co_await std::move(connect);
        co_return ws ? std::string("connected") : error;
      });
  EXPECT_NE(error.find("TLS handshake failed"), std::string::npos) << error;
  EXPECT_EQ(server_->Counters().upgraded, 0u);
}

}  // namespace
}  // namespace kisgate::http

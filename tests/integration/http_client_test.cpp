// The HTTP client against a real server over loopback: pooling, deadlines, limits, failures.
#include "http/client.hpp"

#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "http/server.hpp"
#include "support/test_client.hpp"

namespace kisgate::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A server on its own thread with a few behaviours chosen by path.
class UpstreamFixture : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    server_ =
        std::make_unique<Server>(server_io_, options, [](Request r) -> asio::awaitable<Reply> {
          Reply reply;
          reply.response.status = 200;
          if (r.Path() == "/drop") {
            reply.drop_connection = true;
          } else if (r.Path() == "/slow") {
            asio::steady_timer t(co_await asio::this_coro::executor, 300ms);
            co_await t.async_wait(asio::use_awaitable);
            reply.response.body = "slow";
          } else if (r.Path() == "/big") {
            reply.response.body = std::string(2 * 1024 * 1024, 'x');
          } else {
            reply.response.body = "ok " + std::string(r.Header("tr_id").value_or("-"));
          }
          co_return reply;
        });
    server_->Start();
    server_thread_ = std::thread([this] { server_io_.run(); });
  }

  void StopServer() {
    if (!server_) return;
    server_io_.stop();
    if (server_thread_.joinable()) server_thread_.join();
    server_.reset();  // closes the listening socket
  }
  void TearDown() override { StopServer(); }

  std::string BaseUrl() const {
    return std::string(server_->Tls() ? "https://" : "http://") + server_->Address();
  }

  // Runs `n` concurrent requests to `target` through `client` and returns the results.
  std::vector<ClientResult> Run(HttpClient& client, const std::string& target, int n,
                                std::chrono::milliseconds timeout = 5s) {
    std::vector<ClientResult> results(static_cast<std::size_t>(n),
                                      ClientError{ClientErrorKind::kProtocol, "not run"});
    for (int i = 0; i < n; ++i) {
      asio::co_spawn(
          io_,
          [&, i]() -> asio::awaitable<void> {
            ClientRequest req;
            req.target = target;
            req.headers = {{"tr_id", "T" + std::to_string(i)}};
            req.deadline = std::chrono::steady_clock::now() + timeout;
            auto send = client.Send(std::move(req));  // not inside co_await (g++ 12)
            results[static_cast<std::size_t>(i)] = co_await std::move(send);
          },
          asio::detached);
    }
    io_.restart();
    io_.run();
    return results;
  }

  static const Response& Ok(const ClientResult& r) {
    if (auto* e = std::get_if<ClientError>(&r)) {
      ADD_FAILURE() << "request failed: " << e->message;
      static Response empty;
      return empty;
    }
    return std::get<Response>(r);
  }

  asio::io_context server_io_{1};
  asio::io_context io_{1};
  std::unique_ptr<Server> server_;
  std::thread server_thread_;
};

TEST_F(UpstreamFixture, SequentialRequestsReuseOneConnection) {
  StartServer();
  HttpClient client(io_.get_executor(), BaseUrl());
  for (int i = 0; i < 10; ++i) {
    auto r = Run(client, "/x", 1);
    EXPECT_EQ(Ok(r[0]).body, "ok T0");
  }
  EXPECT_EQ(client.Counters().connections_opened, 1u);
  EXPECT_EQ(client.Counters().connections_reused, 9u);
  EXPECT_EQ(server_->Counters().accepted, 1u);
}

// The pool never opens more connections than allowed; extra requests wait for a free one.
TEST_F(UpstreamFixture, PoolBoundsConnections) {
  StartServer();
  ClientOptions o;
  o.max_connections = 2;
  HttpClient client(io_.get_executor(), BaseUrl(), o);
  auto results = Run(client, "/slow", 6);
  for (auto& r : results) EXPECT_EQ(Ok(r).body, "slow");
  EXPECT_EQ(client.Counters().connections_opened, 2u);
  EXPECT_LE(server_->Counters().peak_active, 2u);
}

TEST_F(UpstreamFixture, DeadlineCutsASlowReply) {
  StartServer();
  HttpClient client(io_.get_executor(), BaseUrl());
  auto r = Run(client, "/slow", 1, 100ms);
  auto* e = std::get_if<ClientError>(&r[0]);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kind, ClientErrorKind::kTimeout);
  EXPECT_TRUE(e->maybe_delivered);
  // The pool recovers: the timed-out connection was closed, a new one serves the next call.
  EXPECT_EQ(Ok(Run(client, "/x", 1)[0]).body, "ok T0");
}

TEST_F(UpstreamFixture, ConnectionClosedWithoutResponseIsMaybeDelivered) {
  StartServer();
  HttpClient client(io_.get_executor(), BaseUrl());
  auto r = Run(client, "/drop", 1);
  auto* e = std::get_if<ClientError>(&r[0]);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kind, ClientErrorKind::kClosedWithoutResponse);
  EXPECT_TRUE(e->maybe_delivered);
}

TEST_F(UpstreamFixture, OversizedReplyIsRefused) {
  StartServer();
  ClientOptions o;
  o.max_reply_bytes = 1024 * 1024;
  HttpClient client(io_.get_executor(), BaseUrl(), o);
  auto r = Run(client, "/big", 1);
  auto* e = std::get_if<ClientError>(&r[0]);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kind, ClientErrorKind::kReplyTooLarge);
}

// A kept-alive connection the server closed while idle is not used for the next request.
TEST_F(UpstreamFixture, ServerClosedIdleConnectionIsNotReused) {
  ServerOptions so;
  so.idle_timeout = 100ms;
  StartServer(so);
  HttpClient client(io_.get_executor(), BaseUrl());
  EXPECT_EQ(Ok(Run(client, "/x", 1)[0]).body, "ok T0");
  std::this_thread::sleep_for(400ms);  // the server closes the idle connection meanwhile
  EXPECT_EQ(Ok(Run(client, "/x", 1)[0]).body, "ok T0");
  EXPECT_EQ(client.Counters().connections_opened, 2u);
  EXPECT_EQ(client.Counters().errors, 0u);
}

TEST_F(UpstreamFixture, RefusedConnectionIsClassified) {
  StartServer();
  std::string url = BaseUrl();
  StopServer();  // nothing listens there any more
  HttpClient client(io_.get_executor(), url);
  auto r = Run(client, "/x", 1);
  auto* e = std::get_if<ClientError>(&r[0]);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kind, ClientErrorKind::kConnectRefused);
  EXPECT_FALSE(e->maybe_delivered);
}

TEST_F(UpstreamFixture, TlsWithVerifiedCertificate) {
  testing::TempDir dir;
  testing::WriteSelfSignedCert(dir.path());
  ServerOptions so;
  so.tls_cert_file = dir.path() + "/cert.pem";
  so.tls_key_file = dir.path() + "/key.pem";
  StartServer(so);
  ClientOptions trusting;
  trusting.ca_file = dir.path() + "/cert.pem";
  HttpClient client(io_.get_executor(), BaseUrl(), trusting);
  EXPECT_EQ(Ok(Run(client, "/x", 1)[0]).body, "ok T0");
  // Without the CA, verification fails and says so.
  HttpClient strict(io_.get_executor(), BaseUrl());
  auto r = Run(strict, "/x", 1);
  auto* e = std::get_if<ClientError>(&r[0]);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kind, ClientErrorKind::kTlsHandshake);
}

// A hand-written upstream that answers every request with `head`, then writes `filler` until the
// client goes away (or 32 MB), then `tail`: for replies no well-behaved server sends.
class RawUpstream {
 public:
  RawUpstream(std::string head, std::string filler, std::string tail)
      : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, head, filler, tail] {
      boost::system::error_code ec;
      asio::ip::tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (ec) return;
      std::string request;
      asio::read_until(s, asio::dynamic_buffer(request), "\r\n\r\n", ec);
      asio::write(s, asio::buffer(head), ec);
      while (!ec && written_ < 32 * 1024 * 1024) {
        asio::write(s, asio::buffer(filler), ec);
        if (!ec) written_ += filler.size();
      }
      asio::write(s, asio::buffer(tail), ec);
      char sink[4096];
      while (!ec) s.read_some(asio::buffer(sink), ec);  // until the client closes
    });
  }
  // Joins once the client has connected and gone: every test here sends one request.
  ~RawUpstream() {
    if (thread_.joinable()) thread_.join();
  }
  // Waits for the client to go and returns how many filler bytes were written before it went.
  std::size_t Finish() {
    thread_.join();
    return written_;
  }
  std::string BaseUrl() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<std::size_t> written_{0};
  std::thread thread_;
};

// A chunked reply whose trailer never ends is refused as too large, not counted as ok, and the
// client stops reading long before the upstream's 32 MB.
TEST_F(UpstreamFixture, HugeTrailerIsRefusedAsTooLarge) {
  RawUpstream upstream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n",
                       "X-Trailer: " + std::string(1000, 'a') + "\r\n", "\r\n");
  HttpClient client(io_.get_executor(), upstream.BaseUrl());
  auto r = Run(client, "/x", 1, 20s);
  auto* e = std::get_if<ClientError>(&r[0]);
  ASSERT_NE(e, nullptr) << "the reply was taken as ok";
  EXPECT_EQ(e->kind, ClientErrorKind::kReplyTooLarge) << e->message;
  client.CloseIdle();
  EXPECT_LT(upstream.Finish(), 32u * 1024 * 1024);  // the client hung up instead of reading on
}

// The same for one endless chunk extension.
TEST_F(UpstreamFixture, HugeChunkExtensionIsRefusedAsTooLarge) {
  RawUpstream upstream("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;e=",
                       std::string(1000, 'a'), "\r\nok\r\n0\r\n\r\n");
  HttpClient client(io_.get_executor(), upstream.BaseUrl());
  auto r = Run(client, "/x", 1, 20s);
  auto* e = std::get_if<ClientError>(&r[0]);
  ASSERT_NE(e, nullptr) << "the reply was taken as ok";
  EXPECT_EQ(e->kind, ClientErrorKind::kReplyTooLarge) << e->message;
  client.CloseIdle();
  EXPECT_LT(upstream.Finish(), 32u * 1024 * 1024);
}

TEST(HttpClient, BadBaseUrlIsNamed) {
  asio::io_context io;
  try {
    HttpClient c(io.get_executor(), "openapi.koreainvestment.com:9443");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("openapi.koreainvestment.com:9443"), std::string::npos);
  }
}

}  // namespace
}  // namespace kisgate::http

// Beast's websocket::stream behind http::WebSocket: the server side of an upgrade handed over by
// server.cpp, and the client side of ConnectWebSocket. Every websocket template is instantiated
// here, in this translation unit only.

#include "http/websocket.hpp"

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>

#include "http/websocket_detail.hpp"

namespace kisgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

namespace {

template <class Next>
class BeastWebSocket final : public WebSocket {
 public:
  BeastWebSocket(websocket::stream<Next> ws, std::string remote, const WebSocketOptions& options,
                 std::shared_ptr<asio::ssl::context> tls = nullptr)
      : tls_(std::move(tls)), ws_(std::move(ws)), remote_(std::move(remote)), options_(options) {
    ws_.read_message_max(options_.max_message_bytes);
    ws_.control_callback([this](websocket::frame_type, beast::string_view) { control_frames_++; });
  }

  ~BeastWebSocket() override { Abort(); }
  BeastWebSocket(const BeastWebSocket&) = delete;
  BeastWebSocket& operator=(const BeastWebSocket&) = delete;

  asio::awaitable<std::optional<std::string>> Read() override {
    if (closed_) co_return std::nullopt;
    beast::flat_buffer buffer;
    beast::error_code ec;
    co_await ws_.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      closed_ = true;
      co_return std::nullopt;
    }
    co_return beast::buffers_to_string(buffer.data());
  }

  asio::awaitable<bool> Write(std::string text) override {
    if (closed_) co_return false;
    // Beast has no per-write deadline on a websocket stream (its timeouts cover the handshakes and
    // idleness): a timer aborts a write the peer does not take in time.
    auto expired = std::make_shared<bool>(false);
    asio::steady_timer timer(ws_.get_executor());
    timer.expires_after(options_.write_timeout);
    timer.async_wait([this, expired](const beast::error_code& ec) {
      if (ec) return;  // cancelled: the write finished first
      *expired = true;
      Abort();
    });
    ws_.text(true);
    beast::error_code ec;
    co_await ws_.async_write(asio::buffer(text), asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (ec || *expired) {
      closed_ = true;
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> Close(std::string_view reason) override {
    if (closed_) co_return;
    closed_ = true;
    beast::error_code ec;
    websocket::close_reason why(websocket::close_code::normal);
    why.reason = std::string(reason.substr(0, 120));  // a close frame's payload is at most 125
    co_await ws_.async_close(why, asio::redirect_error(asio::use_awaitable, ec));
    Abort();
  }

  void Abort() override {
    closed_ = true;
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    if (!socket.is_open()) return;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  const std::string& remote() const override { return remote_; }
  std::uint64_t control_frames() const override { return control_frames_; }

 private:
  std::shared_ptr<asio::ssl::context> tls_;  // the client's TLS context outlives its stream
  websocket::stream<Next> ws_;
  std::string remote_;
  WebSocketOptions options_;
  std::uint64_t control_frames_ = 0;
  bool closed_ = false;
};

websocket::stream_base::timeout Timeouts(const WebSocketOptions& options) {
  websocket::stream_base::timeout t{};
  t.handshake_timeout = options.handshake_timeout;
  if (options.idle_timeout.count() > 0) {
    t.idle_timeout = options.idle_timeout;
    t.keep_alive_pings = true;  // a ping at half the idle time; no answer by its end closes
  } else {
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
  }
  return t;
}

template <class Next>
asio::awaitable<std::unique_ptr<WebSocket>> Accept(Next stream, detail::UpgradeRequest request,
                                                   Headers extra, std::string server_header,
                                                   std::string remote, WebSocketOptions options,
                                                   std::string& error) {
  websocket::stream<Next> ws(std::move(stream));
  beast::get_lowest_layer(ws).expires_never();  // the websocket's own timeouts take over
  ws.set_option(Timeouts(options));
  ws.set_option(websocket::stream_base::decorator(
      [extra = std::move(extra),
       server_header = std::move(server_header)](websocket::response_type& response) {
        response.set(beast::http::field::server, server_header);
        for (const auto& [name, value] : extra) response.set(name, value);
      }));
  beast::error_code ec;
  co_await ws.async_accept(request, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    error = ec.message();
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    co_return nullptr;
  }
  co_return std::make_unique<BeastWebSocket<Next>>(std::move(ws), std::move(remote), options);
}

}  // namespace

namespace detail {

asio::awaitable<std::unique_ptr<WebSocket>> AcceptWebSocket(
    beast::tcp_stream stream, UpgradeRequest request, Headers extra, std::string server_header,
    std::string remote, WebSocketOptions options, std::string& error) {
  return Accept(std::move(stream), std::move(request), std::move(extra), std::move(server_header),
                std::move(remote), options, error);
}

asio::awaitable<std::unique_ptr<WebSocket>> AcceptWebSocket(
    beast::ssl_stream<beast::tcp_stream> stream, UpgradeRequest request, Headers extra,
    std::string server_header, std::string remote, WebSocketOptions options, std::string& error) {
  return Accept(std::move(stream), std::move(request), std::move(extra), std::move(server_header),
                std::move(remote), options, error);
}

}  // namespace detail

namespace {

// The client's opening handshake over `ws` (TCP connected, TLS done); "" or why it failed.
template <class Next>
asio::awaitable<std::string> Handshake(websocket::stream<Next>& ws, const std::string& host,
                                       const std::string& target) {
  websocket::response_type response;
  beast::error_code ec;
  co_await ws.async_handshake(response, host, target,
                              asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) co_return std::string();
  if (ec == websocket::error::upgrade_declined) {
    co_return fmt::format("not upgraded: HTTP {}", response.result_int());
  }
  co_return ec.message();
}

}  // namespace

asio::awaitable<std::unique_ptr<WebSocket>> ConnectWebSocket(asio::any_io_executor executor,
                                                             std::string url,
                                                             WebSocketOptions options,
                                                             std::string& error) {
  auto fail = [&](std::string_view why) {
    error = fmt::format("cannot open WebSocket {}: {}", url, why);
    return std::unique_ptr<WebSocket>();
  };
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) co_return fail("not a ws:// or wss:// URL");
  const bool secure = parsed->scheme() == "wss";
  if (!secure && parsed->scheme() != "ws") co_return fail("not a ws:// or wss:// URL");
  const std::string host = parsed->host();
  if (host.empty()) co_return fail("no host");
  const std::string port =
      parsed->has_port() ? std::string(parsed->port()) : (secure ? "443" : "80");
  std::string target = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) target += "?" + std::string(parsed->encoded_query());
  // The Host header names the port unless it is the scheme's default (RFC 6455 4.1).
  const std::string host_header = parsed->has_port() ? host + ":" + port : host;

  tcp::resolver resolver(executor);
  beast::error_code ec;
  auto endpoints =
      co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(fmt::format("cannot resolve '{}': {}", host, ec.message()));
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_after(options.handshake_timeout);
  co_await tcp_stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return fail(ec == beast::error::timeout ? std::string("connect timed out") : ec.message());
  }
  tcp_stream.socket().set_option(tcp::no_delay(true), ec);
  std::string remote;
  if (auto ep = tcp_stream.socket().remote_endpoint(ec); !ec) {
    remote = fmt::format("{}:{}", ep.address().to_string(), ep.port());
  }

  if (!secure) {
    websocket::stream<beast::tcp_stream> ws(std::move(tcp_stream));
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(Timeouts(options));
    auto why = co_await Handshake(ws, host_header, target);
    if (!why.empty()) co_return fail(why);
    co_return std::make_unique<BeastWebSocket<beast::tcp_stream>>(std::move(ws), std::move(remote),
                                                                  options);
  }
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  tls->set_default_verify_paths(ec);
  tls->set_verify_mode(asio::ssl::verify_peer);
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(std::move(tcp_stream), *tls);
  if (SSL_set_tlsext_host_name(ws.next_layer().native_handle(), host.c_str()) != 1) {
    co_return fail("cannot set the TLS server name");
  }
  ws.next_layer().set_verify_callback(asio::ssl::host_name_verification(host));
  co_await ws.next_layer().async_handshake(asio::ssl::stream_base::client,
                                           asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return fail(fmt::format("TLS handshake failed: {}", ec.message()));
  beast::get_lowest_layer(ws).expires_never();
  ws.set_option(Timeouts(options));
  auto why = co_await Handshake(ws, host_header, target);
  if (!why.empty()) co_return fail(why);
  co_return std::make_unique<BeastWebSocket<beast::ssl_stream<beast::tcp_stream>>>(
      std::move(ws), std::move(remote), options, std::move(tls));
}

}  // namespace kisgate::http

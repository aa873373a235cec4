// Beast's websocket::stream behind http::WebSocket: the server side of an upgrade handed over by
// server.cpp, and the client side of ConnectWebSocket. Every websocket template is instantiated
// here, in this translation unit only, and once: over ByteStream, whether the connection is plain
// or TLS.

#include "http/websocket.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>

#include "http/byte_stream.hpp"
#include "http/websocket_detail.hpp"

namespace kisgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// Permessage-deflate is never offered nor accepted: its code is left out of the instantiation.
using Ws = websocket::stream<ByteStream, false>;

class BeastWebSocket final : public WebSocket {
 public:
  BeastWebSocket(Ws ws, std::string remote, WebSocketOptions options)
      : ws_(std::move(ws)), remote_(std::move(remote)), options_(std::move(options)) {
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
    auto& socket = ws_.next_layer().lowest().socket();
    if (!socket.is_open()) return;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  const std::string& remote() const override { return remote_; }
  std::uint64_t control_frames() const override { return control_frames_; }

 private:
  Ws ws_;
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

}  // namespace

namespace detail {

asio::awaitable<std::unique_ptr<WebSocket>> AcceptWebSocket(
    ByteStream stream, UpgradeRequest request, Headers extra, std::string server_header,
    std::string remote, WebSocketOptions options, std::string& error) {
  Ws ws(std::move(stream));
  ws.next_layer().lowest().expires_never();  // the websocket's own timeouts take over
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
    ws.next_layer().lowest().socket().close(ignored);
    co_return nullptr;
  }
  co_return std::make_unique<BeastWebSocket>(std::move(ws), std::move(remote), options);
}

}  // namespace detail

namespace {

// The client's opening handshake over `ws` (TCP connected, TLS done); "" or why it failed.
asio::awaitable<std::string> Handshake(Ws& ws, const std::string& host, const std::string& target) {
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
  auto tls =
      secure ? std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client) : nullptr;
  if (tls) {
    tls->set_default_verify_paths(ec);
    if (!options.ca_file.empty()) {
      tls->load_verify_file(options.ca_file, ec);
      if (ec) {
        co_return fail(fmt::format("cannot load CA file '{}': {}", options.ca_file, ec.message()));
      }
    }
    tls->set_verify_mode(asio::ssl::verify_peer);
  }
  auto stream = tls ? ByteStream::Tls(beast::tcp_stream(executor), *tls, tls)
                    : ByteStream::Plain(beast::tcp_stream(executor));
  auto& tcp_stream = stream.lowest();
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
  if (tls) {
    if (SSL_set_tlsext_host_name(static_cast<SSL*>(stream.native_tls_handle()), host.c_str()) !=
        1) {
      co_return fail("cannot set the TLS server name");
    }
    stream.VerifyHostName(host);
    co_await stream.async_handshake(asio::ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(fmt::format("TLS handshake failed: {}", ec.message()));
  }
  tcp_stream.expires_never();
  Ws ws(std::move(stream));
  ws.set_option(Timeouts(options));
  auto why = co_await Handshake(ws, host_header, target);
  if (!why.empty()) co_return fail(why);
  co_return std::make_unique<BeastWebSocket>(std::move(ws), std::move(remote), options);
}

}  // namespace kisgate::http

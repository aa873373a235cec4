#include "http/server.hpp"

#include <charconv>
#include <list>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace kisgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

bool SplitHostPort(std::string_view listen, std::string& host, std::uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == listen.size()) return false;
  std::string_view h = listen.substr(0, colon);
  std::string_view p = listen.substr(colon + 1);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return false;
    h = h.substr(1, h.size() - 2);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc{} || end != p.data() + p.size() || value > 65535) return false;
  host = std::string(h);
  port = static_cast<std::uint16_t>(value);
  return true;
}

namespace {

struct AtomicCounters {
  std::atomic<std::uint64_t> accepted{0}, rejected_over_cap{0}, active{0}, peak_active{0},
      requests{0}, malformed{0}, timeouts{0}, dropped{0}, tls_handshake_failures{0};
};

// Closes the underlying socket whatever the stream type.
template <class Stream>
void CloseSocket(Stream& stream) {
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
  beast::get_lowest_layer(stream).socket().close(ignored);
}

Request ToRequest(bhttp::request<bhttp::string_body>&& in, std::string remote) {
  Request out;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  out.headers.reserve(8);
  for (const auto& field : in) {
    out.headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(in.body());
  out.remote = std::move(remote);
  return out;
}

bhttp::response<bhttp::string_body> ToBeast(Response&& in, unsigned version, bool keep_alive,
                                           const std::string& server_header) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(in.status), version};
  out.set(bhttp::field::server, server_header);
  for (auto& [name, value] : in.headers) out.set(name, value);
  out.body() = std::move(in.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// A small JSON error for requests that never reach the handler.
bhttp::response<bhttp::string_body> ProtocolError(bhttp::status status, std::string_view message,
                                                  const std::string& server_header) {
  bhttp::response<bhttp::string_body> out{status, 11};
  out.set(bhttp::field::server, server_header);
  out.set(bhttp::field::content_type, "application/json; charset=utf-8");
  out.body() = fmt::format(R"({{"error":"{}"}})", message);
  out.keep_alive(false);
  out.prepare_payload();
  return out;
}

// A request the parser rejected (bad syntax, too large) rather than a connection that went away.
bool IsMalformedRequest(const beast::error_code& ec) {
  static const auto& http_category = bhttp::make_error_code(bhttp::error::end_of_stream).category();
  return ec.category() == http_category && ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::io_context& io;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  std::unique_ptr<asio::ssl::context> tls;
  AtomicCounters counters;
  bool stopping = false;
  // Sockets of connections waiting for a request, so Stop() can close them. Owned by the sessions.
  std::list<tcp::socket*> idle;

  Impl(asio::io_context& io_in, ServerOptions opts, Handler h)
      : io(io_in), options(std::move(opts)), handler(std::move(h)), acceptor(io_in) {}

  void Listen() {
    std::string host;
    std::uint16_t port = 0;
    if (!SplitHostPort(options.listen, host, port)) {
      throw std::runtime_error(
          fmt::format("listen address '{}' is not HOST:PORT (e.g. 127.0.0.1:8080)", options.listen));
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(io);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty()) {
        throw std::runtime_error(fmt::format("listen address '{}': cannot resolve host '{}'",
                                             options.listen, host));
      }
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint{address, port};
    auto fail = [&](std::string_view what) {
      throw std::runtime_error(
          fmt::format("cannot listen on {}: {} ({})", options.listen, ec.message(), what));
    };
    acceptor.open(endpoint.protocol(), ec);
    if (ec) fail("open");
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
    if (ec) fail("bind");
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) fail("listen");

    if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
      if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
        throw std::runtime_error("TLS needs both a certificate file and a key file");
      }
      tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
      tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
      tls->use_certificate_chain_file(options.tls_cert_file, ec);
      if (ec) {
        throw std::runtime_error(fmt::format("cannot load TLS certificate '{}': {}",
                                             options.tls_cert_file, ec.message()));
      }
      tls->use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
      if (ec) {
        throw std::runtime_error(
            fmt::format("cannot load TLS key '{}': {}", options.tls_key_file, ec.message()));
      }
    }
  }

  asio::awaitable<void> AcceptLoop() {
    auto self = shared_from_this();
    while (!stopping) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        // Out of descriptors and similar: log and keep serving the connections we have.
        spdlog::warn("http: accept failed: {}", ec.message());
        continue;
      }
      counters.accepted++;
      if (options.max_connections != 0 && counters.active.load() >= options.max_connections) {
        counters.rejected_over_cap++;
        beast::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto active = ++counters.active;
      auto peak = counters.peak_active.load();
      while (active > peak && !counters.peak_active.compare_exchange_weak(peak, active)) {
      }
      socket.set_option(tcp::no_delay(true), ec);
      std::string remote = RemoteOf(socket);
      auto done = [self](std::exception_ptr e) {
        self->counters.active--;
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("http: session ended by exception: {}", ex.what());
          }
        }
      };
      if (tls) {
        asio::co_spawn(acceptor.get_executor(),
                       TlsSession(beast::tcp_stream(std::move(socket)), std::move(remote)), done);
      } else {
        asio::co_spawn(acceptor.get_executor(),
                       Session(beast::tcp_stream(std::move(socket)), std::move(remote)), done);
      }
    }
  }

  static std::string RemoteOf(const tcp::socket& socket) {
    beast::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    return ec ? std::string("?") : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  }

  asio::awaitable<void> TlsSession(beast::tcp_stream tcp_stream, std::string remote) {
    auto self = shared_from_this();
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *tls);
    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    beast::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      counters.tls_handshake_failures++;
      CloseSocket(stream);
      co_return;
    }
    auto session = Session(std::move(stream), std::move(remote));
    co_await std::move(session);
  }

  template <class Stream>
  asio::awaitable<void> Session(Stream stream, std::string remote) {
    auto self = shared_from_this();
    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      beast::error_code ec;
      auto& lowest = beast::get_lowest_layer(stream);
      // Waiting for the next request on a kept-alive connection uses the idle timeout; a request
      // that has started must complete within the read timeout.
      lowest.expires_after(first ? options.read_timeout : options.idle_timeout);
      if (stopping && !first) break;
      idle.push_front(&lowest.socket());
      auto idle_it = idle.begin();
      co_await bhttp::async_read_header(stream, buffer, parser,
                                        asio::redirect_error(asio::use_awaitable, ec));
      idle.erase(idle_it);
      if (!ec && !parser.is_done()) {
        lowest.expires_after(options.read_timeout);
        co_await bhttp::async_read(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      first = false;
      if (ec) {
        if (ec == beast::error::timeout) {
          counters.timeouts++;
        } else if (IsMalformedRequest(ec)) {
          counters.malformed++;
          auto status = ec == bhttp::error::header_limit
                            ? bhttp::status::request_header_fields_too_large
                        : ec == bhttp::error::body_limit ? bhttp::status::payload_too_large
                                                          : bhttp::status::bad_request;
          auto response = ProtocolError(status, ec.message(), options.server_header);
          lowest.expires_after(options.write_timeout);
          co_await bhttp::async_write(stream, response,
                                      asio::redirect_error(asio::use_awaitable, ec));
        }
        break;  // closed by the peer, reset, or unusable: nothing more to read
      }
      counters.requests++;
      auto beast_request = parser.release();
      const unsigned version = beast_request.version();
      bool keep_alive = beast_request.keep_alive();
      // The call and the co_await are separate statements: g++ 12 destroys temporaries inside a
      // co_await expression twice.
      auto pending = handler(ToRequest(std::move(beast_request), remote));
      Reply reply = co_await std::move(pending);
      if (reply.drop_connection) {
        counters.dropped++;
        break;
      }
      // The handler may ask to close after this reply; a stopping server closes too.
      keep_alive = keep_alive && !stopping &&
                   !EqualsIgnoreCase(reply.response.Header("connection").value_or(""), "close");
      auto response = ToBeast(std::move(reply.response), version, keep_alive, options.server_header);
      lowest.expires_after(options.write_timeout);
      co_await bhttp::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == beast::error::timeout) counters.timeouts++;
        break;
      }
      if (!keep_alive) break;
    }
    CloseSocket(stream);
  }
};

Server::Server(asio::io_context& io, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {
  impl_->Listen();
}

Server::~Server() {
  if (impl_) Stop();
}

void Server::Start() {
  auto impl = impl_;
  asio::co_spawn(impl->acceptor.get_executor(), impl->AcceptLoop(), [impl](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("http: accept loop ended by exception: {}", ex.what());
      }
    }
  });
}

void Server::Stop() {
  impl_->stopping = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto* socket : impl_->idle) socket->close(ignored);
}

std::uint16_t Server::Port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::string Server::Address() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return {};
  auto host = ep.address().to_string();
  return ep.address().is_v6() ? fmt::format("[{}]:{}", host, ep.port())
                              : fmt::format("{}:{}", host, ep.port());
}

bool Server::Tls() const { return impl_->tls != nullptr; }

ServerCounters Server::Counters() const {
  const auto& c = impl_->counters;
  return ServerCounters{c.accepted.load(),  c.rejected_over_cap.load(), c.active.load(),
                        c.peak_active.load(), c.requests.load(),        c.malformed.load(),
                        c.timeouts.load(),  c.dropped.load(),           c.tls_handshake_failures.load()};
}

}  // namespace kisgate::http

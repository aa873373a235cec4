#include "http/client.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <deque>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "common/timer.hpp"
#include "http/byte_stream.hpp"
#include "http/message_reader.hpp"

namespace kisgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
// Deadlines and idle times follow the injected clock (common::Timer), so a test on manual time
// times requests out on that time too.
using Clock = common::TimerClock;

common::Errc ToErrc(ClientErrorKind kind) {
  switch (kind) {
    case ClientErrorKind::kBadUrl:
      return common::Errc::kBadUrl;
    case ClientErrorKind::kResolve:
      return common::Errc::kResolve;
    case ClientErrorKind::kConnectRefused:
      return common::Errc::kConnectRefused;
    case ClientErrorKind::kConnectTimeout:
      return common::Errc::kConnectTimeout;
    case ClientErrorKind::kTlsHandshake:
      return common::Errc::kTlsHandshake;
    case ClientErrorKind::kClosedWithoutResponse:
      return common::Errc::kClosedWithoutResponse;
    case ClientErrorKind::kTimeout:
      return common::Errc::kTimeout;
    case ClientErrorKind::kReplyTooLarge:
      return common::Errc::kReplyTooLarge;
    case ClientErrorKind::kProtocol:
      return common::Errc::kProtocol;
  }
  return common::Errc::kProtocol;
}

std::string_view ToString(ClientErrorKind kind) { return common::Name(ToErrc(kind)); }

namespace {

struct Connection {
  explicit Connection(ByteStream s) : stream(std::move(s)) {}
  ByteStream stream;  // plain or TLS
  beast::flat_buffer buffer;
  Clock::time_point idle_since;

  beast::tcp_stream& Lowest() { return stream.lowest(); }

  void Close() {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().socket().close(ignored);
  }

  // True when the peer has closed (or sent something unasked) while the connection sat idle: a
  // non-blocking read that would block means the connection is still good.
  // One peeking recv on the native socket (MSG_PEEK | MSG_DONTWAIT): unlike toggling Asio's
  // non-blocking mode around a read, it costs one system call and changes no socket state.
  bool PeerClosed() {
    auto& socket = Lowest().socket();
    if (!socket.is_open()) return true;
    char byte;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  }
};

struct Waiter {
  explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
  common::Timer timer;
  bool woken = false;
};

// A deadline on one connection's operations, on common::Timer: when it passes, the connection is
// closed, which ends the pending connect, write or read. (Beast's own stream timeout runs on the
// steady clock only, which a test's manual time does not move.)
class Watchdog {
 public:
  Watchdog(const asio::any_io_executor& ex, beast::tcp_stream& stream, Clock::time_point deadline)
      : timer_(ex, deadline) {
    timer_.async_wait([&stream, state = state_](const boost::system::error_code& ec) {
      if (ec || state->done) return;  // cancelled, or the operations ended in time
      state->fired = true;
      stream.close();
    });
  }
  ~Watchdog() {
    state_->done = true;
    try {
      timer_.cancel();
    } catch (const boost::system::system_error&) {
      // The wait then fires at the deadline and sees `done`.
    }
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  bool fired() const { return state_->fired; }

 private:
  struct State {
    bool fired = false;
    bool done = false;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  common::Timer timer_;
};

// The header section of a reply (KIS sends under 1 KB); also the bound on its chunk framing.
constexpr std::size_t kMaxReplyHeaderBytes = 64 * 1024;

ClientErrorKind KindOf(ReadError error) {
  switch (error) {
    case ReadError::kHeaderTooLarge:
    case ReadError::kBodyTooLarge:
    case ReadError::kFramingTooLarge:
      return ClientErrorKind::kReplyTooLarge;
    case ReadError::kTruncated:
      return ClientErrorKind::kClosedWithoutResponse;
    case ReadError::kNone:
    case ReadError::kMalformed:
    case ReadError::kUnsupportedTransferEncoding:
      return ClientErrorKind::kProtocol;
  }
  return ClientErrorKind::kProtocol;
}

ClientErrorKind KindOf(const beast::error_code& ec) {
  if (ec == beast::error::timeout || ec == asio::error::timed_out) return ClientErrorKind::kTimeout;
  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
    return ClientErrorKind::kReplyTooLarge;
  }
  if (ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream ||
      ec == bhttp::error::partial_message || ec == asio::ssl::error::stream_truncated) {
    return ClientErrorKind::kClosedWithoutResponse;
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
    return ClientErrorKind::kProtocol;
  }
  return ClientErrorKind::kClosedWithoutResponse;
}

}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<HttpClient::Impl> {
  asio::any_io_executor executor;
  std::string host;
  std::string port;
  bool use_tls = false;
  std::unique_ptr<asio::ssl::context> tls;
  ClientOptions options;
  ClientCounters counters;
  std::vector<std::unique_ptr<Connection>> idle;
  std::deque<std::shared_ptr<Waiter>> waiters;
  std::size_t open = 0;

  // Takes an idle connection, or a slot for a new one (nullptr), waiting for a slot until
  // `deadline`. Returns false when the deadline passed first.
  asio::awaitable<bool> Acquire(Clock::time_point deadline, std::unique_ptr<Connection>& out) {
    for (;;) {
      while (!idle.empty()) {
        auto conn = std::move(idle.back());
        idle.pop_back();
        if (Clock::now() - conn->idle_since > options.idle_timeout || conn->PeerClosed()) {
          conn->Close();
          open--;
          continue;
        }
        out = std::move(conn);
        co_return true;
      }
      if (open < options.max_connections) {
        open++;
        out.reset();
        co_return true;
      }
      if (Clock::now() >= deadline) co_return false;
      auto waiter = std::make_shared<Waiter>(executor);
      waiter->timer.expires_at(deadline);
      waiters.push_back(waiter);
      beast::error_code ec;
      co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      std::erase(waiters, waiter);
      if (!waiter->woken && Clock::now() >= deadline) co_return false;
    }
  }

  void Release(std::unique_ptr<Connection> conn, bool reusable) {
    if (conn && reusable && open <= options.max_connections) {
      conn->idle_since = Clock::now();
      idle.push_back(std::move(conn));
    } else {
      if (conn) conn->Close();
      open--;
    }
    WakeOne();
  }

  void WakeOne() {
    if (waiters.empty()) return;
    auto w = waiters.front();
    waiters.pop_front();
    w->woken = true;
    w->timer.cancel();
  }

  asio::awaitable<std::variant<std::unique_ptr<Connection>, ClientError>> Connect(
      Clock::time_point deadline) {
    using Out = std::variant<std::unique_ptr<Connection>, ClientError>;
    beast::error_code ec;
    tcp::resolver resolver(executor);
    auto endpoints =
        co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return Out{ClientError{ClientErrorKind::kResolve,
                                fmt::format("cannot resolve {}: {}", host, ec.message())}};
    }
    auto conn =
        std::make_unique<Connection>(use_tls ? ByteStream::Tls(beast::tcp_stream(executor), *tls)
                                             : ByteStream::Plain(beast::tcp_stream(executor)));
    const auto connect_deadline = std::min(deadline, Clock::now() + options.connect_timeout);
    auto& lowest = conn->Lowest();
    // Covers the TLS handshake too.
    Watchdog watchdog(executor, lowest, connect_deadline);
    co_await lowest.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || watchdog.fired()) {
      const bool timed_out = watchdog.fired();
      co_return Out{ClientError{
          timed_out ? ClientErrorKind::kConnectTimeout : ClientErrorKind::kConnectRefused,
          fmt::format("cannot connect to {}:{}: {}", host, port,
                      timed_out ? std::string("timed out") : ec.message())}};
    }
    beast::error_code ignored;
    lowest.socket().set_option(tcp::no_delay(true), ignored);
    counters.connections_opened++;
    if (use_tls) {
      // SNI and host-name verification: KIS serves a public certificate for its host name.
      if (!SSL_set_tlsext_host_name(static_cast<SSL*>(conn->stream.native_tls_handle()),
                                    host.c_str())) {
        co_return Out{ClientError{ClientErrorKind::kTlsHandshake, "cannot set TLS server name"}};
      }
      if (options.verify_tls) conn->stream.VerifyHostName(host);
      co_await conn->stream.async_handshake(asio::ssl::stream_base::client,
                                            asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return Out{
            ClientError{ClientErrorKind::kTlsHandshake,
                        fmt::format("TLS handshake with {} failed: {}", host, ec.message())}};
      }
    }
    co_return Out{std::move(conn)};
  }

  asio::awaitable<ClientResult> Exchange(ByteStream& stream, Connection& conn,
                                         bhttp::request<bhttp::string_body>& req,
                                         Clock::time_point deadline, bool& written,
                                         bool& keep_alive) {
    beast::error_code ec;
    Watchdog watchdog(executor, conn.Lowest(), deadline);
    // What an error means: any error after the deadline passed is the deadline's.
    auto kind_of = [&watchdog](const beast::error_code& e) {
      return watchdog.fired() ? ClientErrorKind::kTimeout : KindOf(e);
    };
    co_await bhttp::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || watchdog.fired()) {
      co_return ClientError{kind_of(ec),
                            fmt::format("sending to {} failed: {}", host, ec.message()), false};
    }
    written = true;
    // Every byte of the reply is bounded, chunk framing and trailers included (MessageReader).
    ResponseReader reader(MessageLimits{kMaxReplyHeaderBytes, options.max_reply_bytes});
    for (;;) {
      const auto used = reader.Feed(std::string_view(
          static_cast<const char*>(conn.buffer.data().data()), conn.buffer.size()));
      conn.buffer.consume(used);
      if (reader.done() || reader.error() != ReadError::kNone) break;
      const auto room = reader.MaxBuffered() - std::min(reader.MaxBuffered(), conn.buffer.size());
      const auto n = co_await stream.async_read_some(conn.buffer.prepare(room),
                                                     asio::redirect_error(asio::use_awaitable, ec));
      conn.buffer.commit(n);
      if (watchdog.fired()) {
        co_return ClientError{ClientErrorKind::kTimeout,
                              fmt::format("no response from {}: {}", host, "timed out"), true};
      }
      if (ec) {
        const bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
        if (closed && reader.started()) {
          reader.FeedEof();  // a body delimited by the end of the connection ends here
          if (reader.done()) break;
          co_return ClientError{
              ClientErrorKind::kClosedWithoutResponse,
              fmt::format("{} closed the connection in the middle of a reply", host), true};
        }
        co_return ClientError{kind_of(ec),
                              fmt::format("no response from {}: {}", host, ec.message()), true};
      }
    }
    if (reader.error() != ReadError::kNone) {
      co_return ClientError{KindOf(reader.error()),
                            fmt::format("reply from {} refused: {}", host, reader.error_message()),
                            true};
    }
    auto res = reader.Release();
    keep_alive = res.keep_alive();
    Response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
    }
    out.body = std::move(res.body());
    co_return out;
  }

  asio::awaitable<ClientResult> Send(ClientRequest request) {
    auto self = shared_from_this();
    counters.requests++;
    bhttp::request<bhttp::string_body> req;
    req.method(bhttp::string_to_verb(request.method));
    if (req.method() == bhttp::verb::unknown) {
      counters.errors++;
      co_return ClientError{ClientErrorKind::kProtocol,
                            fmt::format("unknown HTTP method '{}'", request.method)};
    }
    req.target(request.target);
    req.version(11);
    req.set(bhttp::field::host, host);
    req.set(bhttp::field::user_agent, "kisgate/" KISGATE_VERSION);
    for (const auto& [name, value] : request.headers) req.set(name, value);
    req.body() = std::move(request.body);
    req.keep_alive(true);
    req.prepare_payload();

    // At most two attempts: the second only when a reused connection failed before the request
    // was completely written, so the server cannot have seen it.
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::unique_ptr<Connection> conn;
      if (!co_await Acquire(request.deadline, conn)) {
        counters.errors++;
        co_return ClientError{ClientErrorKind::kTimeout,
                              fmt::format("no connection to {} free before the deadline", host)};
      }
      const bool reused = conn != nullptr;
      if (reused) {
        counters.connections_reused++;
      } else {
        auto connected = co_await Connect(request.deadline);
        if (auto* error = std::get_if<ClientError>(&connected)) {
          Release(nullptr, false);
          counters.errors++;
          co_return *error;
        }
        conn = std::move(std::get<std::unique_ptr<Connection>>(connected));
      }
      bool written = false;
      bool keep_alive = false;
      auto exchange = Exchange(conn->stream, *conn, req, request.deadline, written, keep_alive);
      ClientResult result = co_await std::move(exchange);
      if (std::holds_alternative<Response>(result)) {
        Release(std::move(conn), keep_alive);
        co_return result;
      }
      Release(std::move(conn), false);
      auto& error = std::get<ClientError>(result);
      if (reused && !written && error.kind != ClientErrorKind::kTimeout && attempt == 0) {
        counters.stale_retries++;
        continue;
      }
      counters.errors++;
      co_return result;
    }
    co_return ClientError{ClientErrorKind::kClosedWithoutResponse, "unreachable"};
  }
};

HttpClient::HttpClient(asio::any_io_executor executor, const std::string& base_url,
                       ClientOptions options)
    : impl_(std::make_shared<Impl>()) {
  auto url = boost::urls::parse_absolute_uri(base_url);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
    throw std::invalid_argument(
        fmt::format("'{}' is not an http(s) base URL such as https://host:9443", base_url));
  }
  impl_->executor = std::move(executor);
  impl_->use_tls = url->scheme() == "https";
  impl_->host = std::string(url->host_address());
  impl_->port = url->has_port() ? std::string(url->port()) : (impl_->use_tls ? "443" : "80");
  impl_->options = std::move(options);
  if (impl_->options.max_connections == 0) impl_->options.max_connections = 1;
  if (impl_->use_tls) {
    impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    impl_->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                            asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                            asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    impl_->tls->set_default_verify_paths(ec);
    if (!impl_->options.ca_file.empty()) {
      impl_->tls->load_verify_file(impl_->options.ca_file, ec);
      if (ec) {
        throw std::runtime_error(
            fmt::format("cannot load CA file '{}': {}", impl_->options.ca_file, ec.message()));
      }
    }
    impl_->tls->set_verify_mode(impl_->options.verify_tls ? asio::ssl::verify_peer
                                                          : asio::ssl::verify_none);
  }
}

HttpClient::~HttpClient() {
  if (impl_) CloseIdle();
}

asio::awaitable<ClientResult> HttpClient::Send(ClientRequest request) {
  auto impl = impl_;
  auto send = impl->Send(std::move(request));  // not inside co_await: see Server's session
  co_return co_await std::move(send);
}

void HttpClient::SetMaxConnections(std::size_t n) {
  impl_->options.max_connections = std::max<std::size_t>(1, n);
  while (impl_->open > impl_->options.max_connections && !impl_->idle.empty()) {
    impl_->idle.back()->Close();
    impl_->idle.pop_back();
    impl_->open--;
  }
  impl_->WakeOne();
}

void HttpClient::CloseIdle() {
  for (auto& conn : impl_->idle) conn->Close();
  impl_->open -= impl_->idle.size();
  impl_->idle.clear();
}

ClientCounters HttpClient::Counters() const {
  auto c = impl_->counters;
  c.open = impl_->open;
  c.idle = impl_->idle.size();
  return c;
}

const std::string& HttpClient::host() const { return impl_->host; }

}  // namespace kisgate::http

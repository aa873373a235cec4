#include "http/server.hpp"

#include <array>
#include <charconv>
#include <list>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/byte_stream.hpp"
#include "http/message_reader.hpp"
#include "http/websocket_detail.hpp"

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

using Clock = std::chrono::steady_clock;

struct AtomicCounters {
  std::atomic<std::uint64_t> accepted{0}, rejected_over_cap{0}, active{0}, peak_active{0},
      requests{0}, malformed{0}, timeouts{0}, dropped{0}, tls_handshake_failures{0},
      evicted_idle{0}, handler_exceptions{0}, session_exceptions{0}, upgraded{0}, streamed{0},
      long_lived{0}, refused_long_lived{0};
};

// What an exception_ptr holds, for a log line.
std::string Describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

// Closes the underlying socket, plain or TLS.
void CloseSocket(ByteStream& stream) {
  beast::error_code ignored;
  stream.lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.lowest().socket().close(ignored);
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
                                            const std::string& server_header, bool head) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(in.status), version};
  out.set(bhttp::field::server, server_header);
  for (auto& [name, value] : in.headers) out.set(name, value);
  out.body() = std::move(in.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  if (head) {
    // The headers GET would get, Content-Length included, and no body (RFC 9110 9.3.2).
    out.body().clear();
  }
  return out;
}

// The status line and headers of an ordinary reply, written here rather than by Beast's serializer:
// for a reply of the API (a status, a few headers, a body of a few hundred bytes) the serializer
// cost more than the kernel's send of the reply on loopback (each field allocated, then the lot
// walked as a concatenation of buffers per write). Names and values are the handler's, never a
// peer's bytes; CR and LF in them are dropped all the same, so no header can be split.
// Content-Length and Connection are this function's: the handler's own are left out.
std::string WriteHead(int status, unsigned version, const Headers& headers,
                      const std::string& server_header, std::size_t content_length,
                      bool keep_alive) {
  const auto clean = [](std::string& out, std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
      const auto stop = std::min(text.find_first_of("\r\n", at), text.size());
      out.append(text.substr(at, stop - at));
      at = stop + 1;
    }
  };
  const auto number = [](std::string& out, std::size_t n) {
    std::array<char, 24> digits{};
    auto* const end = std::to_chars(digits.data(), digits.data() + digits.size(), n).ptr;
    out.append(digits.data(), end);
  };
  std::string out;
  out.reserve(160 + 64 * headers.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  number(out, static_cast<std::size_t>(status));
  out.push_back(' ');
  clean(out, bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
  out += "\r\nServer: ";
  clean(out, server_header);
  out += "\r\n";
  for (const auto& [name, value] : headers) {
    if (EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "connection")) continue;
    clean(out, name);
    out += ": ";
    clean(out, value);
    out += "\r\n";
  }
  // RFC 9110 8.6: no Content-Length on 1xx and 204; on 304 it would have to be the GET's.
  if (status >= 200 && status != 204 && status != 304) {
    out += "Content-Length: ";
    number(out, content_length);
    out += "\r\n";
  }
  if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

// A response body written chunk by chunk after its headers (BodyStream), owning the connection.
class ChunkedBody final : public BodyStream {
 public:
  ChunkedBody(ByteStream stream, std::string remote, std::chrono::milliseconds write_timeout)
      : stream_(std::move(stream)), remote_(std::move(remote)), write_timeout_(write_timeout) {}
  ~ChunkedBody() override { Abort(); }
  ChunkedBody(const ChunkedBody&) = delete;
  ChunkedBody& operator=(const ChunkedBody&) = delete;

  asio::awaitable<bool> Write(std::string bytes) override {
    if (closed_) co_return false;
    if (bytes.empty()) co_return true;  // an empty chunk would end the body
    beast::error_code ec;
    stream_.lowest().expires_after(write_timeout_);  // the write timer only
    co_await asio::async_write(stream_, bhttp::make_chunk(asio::buffer(bytes)),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      Abort();
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> WaitClosed() override {
    if (closed_) co_return;
    std::array<char, 512> sink{};
    beast::error_code ec;
    stream_.lowest().expires_never();  // the request's read deadline is over
    // A client of a streamed body has nothing more to say: any byte, the end or an error closes.
    co_await stream_.async_read_some(asio::buffer(sink),
                                     asio::redirect_error(asio::use_awaitable, ec));
    Abort();
  }

  void Abort() override {
    if (closed_) return;
    closed_ = true;
    CloseSocket(stream_);
  }

  const std::string& remote() const override { return remote_; }

 private:
  ByteStream stream_;
  std::string remote_;
  std::chrono::milliseconds write_timeout_;
  bool closed_ = false;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  asio::io_context& io;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  std::unique_ptr<asio::ssl::context> tls;
  AtomicCounters counters;
  bool stopping = false;

  // One entry per open connection, so that Stop() and the connection cap can close those waiting
  // for a request. Added at accept, erased when the session ends; touched on the io thread only.
  struct Slot {
    tcp::socket* socket = nullptr;  // set once the session owns its stream
    bool waiting = true;            // no byte of a request yet (fresh, or kept alive between two)
    Clock::time_point waiting_since = Clock::now();
    bool evicted = false;
    // Set while the connection is upgraded or streaming: closes it (Stop).
    std::function<void()> abort;
  };
  std::list<Slot> slots;
  std::size_t evicted_open = 0;  // evicted sessions that have not ended yet

  Impl(asio::io_context& io_in, ServerOptions opts, Handler h)
      : io(io_in), options(std::move(opts)), handler(std::move(h)), acceptor(io_in) {}

  void Listen() {
    std::string host;
    std::uint16_t port = 0;
    if (!SplitHostPort(options.listen, host, port)) {
      throw std::runtime_error(fmt::format(
          "listen address '{}' is not HOST:PORT (e.g. 127.0.0.1:8080)", options.listen));
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(io);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty()) {
        throw std::runtime_error(
            fmt::format("listen address '{}': cannot resolve host '{}'", options.listen, host));
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
      tcp::socket socket =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) co_return;
        // Out of descriptors and similar: log and keep serving the connections we have.
        spdlog::warn("http: accept failed: {}", ec.message());
        continue;
      }
      counters.accepted++;
      if (options.max_connections != 0 &&
          counters.active.load() - evicted_open >= options.max_connections && !EvictOneWaiting()) {
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
      socket.non_blocking(true, ec);  // a reply is first written at once (Session)
      std::string remote = RemoteOf(socket);
      slots.emplace_front();
      auto slot = slots.begin();
      // The spawn boundary: a session never throws past here; the exception is logged and counted.
      auto done = [self, slot](const std::exception_ptr& e) {
        if (slot->evicted) self->evicted_open--;
        self->slots.erase(slot);
        self->counters.active--;
        if (e) {
          self->counters.session_exceptions++;
          spdlog::error("http: session ended by exception: {}", Describe(e));
        }
      };
      if (tls) {
        asio::co_spawn(acceptor.get_executor(),
                       TlsSession(beast::tcp_stream(std::move(socket)), std::move(remote), slot),
                       done);
      } else {
        asio::co_spawn(acceptor.get_executor(),
                       Session(ByteStream::Plain(beast::tcp_stream(std::move(socket))),
                               std::move(remote), slot, Clock::now() + options.read_timeout),
                       done);
      }
    }
  }

  // At the cap, a connection with a request in progress is worth more than one waiting for a
  // request: closes the one that has waited longest (silent sockets, idle keep-alive). Returns
  // false when every connection is busy.
  bool EvictOneWaiting() {
    Slot* oldest = nullptr;
    for (auto& slot : slots) {
      if (slot.socket == nullptr || !slot.waiting || slot.evicted) continue;
      if (oldest == nullptr || slot.waiting_since < oldest->waiting_since) oldest = &slot;
    }
    if (oldest == nullptr) return false;
    oldest->evicted = true;
    evicted_open++;
    counters.evicted_idle++;
    beast::error_code ignored;
    oldest->socket->close(ignored);
    return true;
  }

  static std::string RemoteOf(const tcp::socket& socket) {
    beast::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    return ec ? std::string("?") : fmt::format("{}:{}", ep.address().to_string(), ep.port());
  }

  using SlotIt = std::list<Slot>::iterator;

  asio::awaitable<void> TlsSession(beast::tcp_stream tcp_stream, std::string remote, SlotIt slot) {
    auto self = shared_from_this();
    const auto first_deadline = Clock::now() + options.read_timeout;
    auto stream = ByteStream::Tls(std::move(tcp_stream), *tls);
    slot->socket = &stream.lowest().socket();
    stream.lowest().expires_at(first_deadline);
    beast::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      counters.tls_handshake_failures++;
      CloseSocket(stream);
      co_return;
    }
    auto session = Session(std::move(stream), std::move(remote), slot, first_deadline);
    co_await std::move(session);
  }

  // Reads one request into `reader` under the deadlines: until `first_deadline` for the first
  // request of a connection, else the idle timeout until its first byte and read_timeout from that
  // byte on, header and body together. Returns false when the connection is to close unanswered.
  asio::awaitable<bool> ReadRequest(ByteStream& stream, beast::flat_buffer& buffer,
                                    RequestReader& reader, SlotIt slot, bool first,
                                    Clock::time_point first_deadline) {
    auto& lowest = stream.lowest();
    bool started = buffer.size() > 0;  // pipelined bytes of this request are here already
    auto deadline = first ? first_deadline : Clock::now() + options.read_timeout;
    for (;;) {
      const auto used = reader.Feed(
          std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()));
      buffer.consume(used);
      if (reader.done() || reader.error() != ReadError::kNone) co_return true;
      slot->waiting = !started;
      if (started || first) {
        lowest.expires_at(deadline);
      } else {
        slot->waiting_since = Clock::now();
        lowest.expires_after(options.idle_timeout);
      }
      beast::error_code ec;
      const auto n =
          co_await stream.async_read_some(buffer.prepare(buffer.max_size() - buffer.size()),
                                          asio::redirect_error(asio::use_awaitable, ec));
      buffer.commit(n);
      slot->waiting = false;
      if (ec) {
        if (ec == beast::error::timeout) counters.timeouts++;
        // Closed, reset, evicted or stopped: in the middle of a request or between two, there is
        // no one to answer.
        co_return false;
      }
      if (!started && n > 0) {
        started = true;
        if (!first) deadline = Clock::now() + options.read_timeout;
      }
    }
  }

  // After answering a request that was not read to its end (too large, malformed), reads and
  // discards what the client is still sending, for a bounded time and number of bytes, before
  // closing: closing with unread bytes makes the kernel reset the connection, which can destroy
  // the answer before the client reads it (nginx's lingering close does the same).
  asio::awaitable<void> Linger(beast::tcp_stream& lowest, SlotIt slot) {
    constexpr std::chrono::milliseconds kLingerTime{1000};
    constexpr std::size_t kLingerBytes = 32 * 1024 * 1024;
    beast::error_code ec;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
    slot->waiting = true;  // nothing of value left: the first to go at the cap
    slot->waiting_since = Clock::now();
    lowest.expires_after(std::min<std::chrono::milliseconds>(kLingerTime, options.read_timeout));
    std::array<char, 16 * 1024> sink;
    std::size_t drained = 0;
    while (!ec && drained < kLingerBytes) {
      drained += co_await lowest.async_read_some(asio::buffer(sink),
                                                 asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  asio::awaitable<void> Session(ByteStream stream, std::string remote, SlotIt slot,
                                Clock::time_point first_deadline) {
    auto self = shared_from_this();
    auto& lowest = stream.lowest();
    slot->socket = &lowest.socket();
    const MessageLimits limits{options.max_header_bytes, options.max_body_bytes};
    beast::flat_buffer buffer(RequestReader::MaxBuffered(limits));
    bool first = true;
    for (;;) {
      if (stopping && !first) break;
      RequestReader reader(limits);
      auto read = ReadRequest(stream, buffer, reader, slot, first, first_deadline);
      if (!co_await std::move(read)) break;
      first = false;
      auto answering = Answer(reader, remote);  // remote is copied; the session keeps its own
      auto answer = co_await std::move(answering);
      if (answer.drop) break;
      if ((answer.websocket || answer.stream) && LongLivedFull()) RefuseLongLived(answer);
      if (answer.websocket || answer.stream) {
        auto long_lived = LongLived(std::move(stream), std::move(answer), remote, slot);
        co_await std::move(long_lived);
        co_return;
      }
      beast::error_code ec;
      const std::array<asio::const_buffer, 2> reply{asio::buffer(answer.head),
                                                    asio::buffer(answer.body)};
      // On a plain connection the reply goes out at once when the socket can take it all (it
      // almost always can): no write timer to arm and cancel, no asynchronous operation. What it
      // cannot take is written as usual, under write_timeout.
      std::size_t sent = 0;
      if (!stream.is_tls()) {
        sent = lowest.socket().write_some(reply, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
      }
      const std::size_t total = answer.head.size() + answer.body.size();
      if (!ec && sent < total) {
        lowest.expires_after(options.write_timeout);
        beast::buffers_suffix<std::array<asio::const_buffer, 2>> rest(reply);
        rest.consume(sent);
        co_await asio::async_write(stream, rest, asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec) {
        if (ec == beast::error::timeout) counters.timeouts++;
        break;
      }
      if (reader.error() != ReadError::kNone) {
        auto linger = Linger(lowest, slot);
        co_await std::move(linger);
        break;
      }
      if (!answer.keep_alive) break;
    }
    CloseSocket(stream);
  }

  struct Answered {
    // An ordinary reply: its status line and headers (WriteHead) and its body, in one write.
    std::string head;
    std::string body;
    bool keep_alive = false;  // read on after writing it
    // A long-lived answer's status and headers (Reply::stream).
    bhttp::response<bhttp::string_body> response;
    bool drop = false;  // close without answering
    // A long-lived answer (Reply::websocket, Reply::stream) and what it needs.
    std::function<asio::awaitable<void>(std::unique_ptr<WebSocket>)> websocket;
    std::function<asio::awaitable<void>(std::unique_ptr<BodyStream>)> stream;
    detail::UpgradeRequest upgrade_request;
    Headers extra_headers;
  };

  // Whether another long-lived connection would eat into the room kept for ordinary requests.
  bool LongLivedFull() const {
    std::size_t cap = options.max_long_lived;
    if (cap == 0) {
      if (options.max_connections == 0) return false;
      cap = options.max_connections - std::max<std::size_t>(options.max_connections / 8, 1);
    }
    return counters.long_lived.load() >= cap;
  }

  // Turns a long-lived answer into a 503 that says why (its handler's state goes with it).
  void RefuseLongLived(Answered& answer) {
    counters.refused_long_lived++;
    answer.websocket = nullptr;
    answer.stream = nullptr;
    answer.body =
        "{\"error\":\"too_many_streams\",\"message\":\"this kisgate holds as many event "
        "streams and WebSockets as it may: server.max_connections keeps an eighth for other "
        "requests\",\"hint\":\"retry later, or share one stream between clients\"}";
    const Headers headers{{"Content-Type", "application/json; charset=utf-8"},
                          {"Retry-After", "10"}};
    answer.head = WriteHead(503, 11, headers, options.server_header, answer.body.size(), false);
    answer.keep_alive = false;
  }

  // Counts a long-lived connection while it lasts, and forgets how to abort it when it ends.
  struct LongLivedGuard {
    Impl* impl;
    SlotIt slot;
    LongLivedGuard(Impl* i, SlotIt s) : impl(i), slot(s) {
      impl->counters.long_lived++;
      slot->waiting = false;
      slot->socket = nullptr;  // moved on; Stop() reaches the connection through slot->abort
    }
    ~LongLivedGuard() {
      slot->abort = nullptr;
      impl->counters.long_lived--;
    }
    LongLivedGuard(const LongLivedGuard&) = delete;
    LongLivedGuard& operator=(const LongLivedGuard&) = delete;
  };

  // Runs a long-lived answer on the connection `stream` until its function returns.
  asio::awaitable<void> LongLived(ByteStream stream, Answered answer, std::string remote,
                                  SlotIt slot) {
    if (answer.websocket) {
      return RunWebSocket(std::move(stream), std::move(answer), std::move(remote), slot);
    }
    return RunStream(std::move(stream), std::move(answer), std::move(remote), slot);
  }

  asio::awaitable<void> RunWebSocket(ByteStream stream, Answered answer, std::string remote,
                                     SlotIt slot) {
    LongLivedGuard guard(this, slot);
    std::string error;
    auto accepting = detail::AcceptWebSocket(std::move(stream), std::move(answer.upgrade_request),
                                             std::move(answer.extra_headers), options.server_header,
                                             remote, options.websocket, error);
    auto ws = co_await std::move(accepting);
    if (!ws) {
      spdlog::debug("http: WebSocket handshake with {} failed: {}", remote, error);
      co_return;
    }
    counters.upgraded++;
    // Stop() came during the handshake, before there was a connection to abort.
    if (stopping) co_return;
    auto* raw = ws.get();
    slot->abort = [raw] { raw->Abort(); };
    auto running = answer.websocket(std::move(ws));
    co_await std::move(running);
  }

  // An event stream: the headers now, chunked, and the body as the handler writes it.
  asio::awaitable<void> RunStream(ByteStream stream, Answered answer, std::string remote,
                                  SlotIt slot) {
    LongLivedGuard guard(this, slot);
    bhttp::response<bhttp::empty_body> head{
        static_cast<bhttp::status>(answer.response.result_int()), answer.response.version()};
    for (const auto& field : answer.response) head.set(field.name_string(), field.value());
    head.erase(bhttp::field::content_length);
    head.keep_alive(false);
    head.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{head};
    beast::error_code ec;
    stream.lowest().expires_after(options.write_timeout);
    auto writing = bhttp::async_write_header(stream, serializer,
                                             asio::redirect_error(asio::use_awaitable, ec));
    co_await std::move(writing);
    if (ec) co_return;
    counters.streamed++;
    if (stopping) co_return;  // Stop() came while the headers were written
    auto body = std::make_unique<ChunkedBody>(std::move(stream), remote, options.write_timeout);
    auto* raw = body.get();
    slot->abort = [raw] { raw->Abort(); };
    auto running = answer.stream(std::move(body));
    co_await std::move(running);
  }

  // What a connection answers to the request `reader` has finished reading (or failed to): the
  // step between reading and writing, shared by Session and ServeBytes. `remote` by value: a
  // coroutine keeps its reference parameters, and a caller's temporary would be gone by the time
  // the body runs (found by fuzz/http_request_fuzz).
  asio::awaitable<Answered> Answer(RequestReader& reader, std::string remote) {
    Answered out;
    if (reader.error() != ReadError::kNone) {
      counters.malformed++;
      // The messages are ours (fixed text and Beast's error names): nothing to escape.
      const Headers headers{{"Content-Type", "application/json; charset=utf-8"}};
      out.body = fmt::format(R"({{"error":"{}"}})", reader.error_message());
      out.head = WriteHead(reader.ErrorStatus(), 11, headers, options.server_header,
                           out.body.size(), false);
      co_return out;
    }
    counters.requests++;
    auto beast_request = reader.Release();
    const unsigned version = beast_request.version();
    const bool head = beast_request.method() == bhttp::verb::head;
    bool keep_alive = beast_request.keep_alive();
    // Only an upgrade keeps Beast's request (a copy: an upgrade is a GET without a body), for the
    // handshake to answer.
    const bool maybe_upgrade = !beast_request[bhttp::field::upgrade].empty();
    if (maybe_upgrade) out.upgrade_request = beast_request;
    auto request = ToRequest(std::move(beast_request), remote);
    const bool upgrade = maybe_upgrade && IsWebSocketUpgrade(request);
    // The handler boundary of last resort (the API layer has its own): a throwing handler gets
    // its client a 500, is counted, and the connection serves on.
    Reply reply;
    try {
      // The call and the co_await are separate statements: g++ 12 destroys temporaries inside a
      // co_await expression twice.
      auto pending = handler(std::move(request));
      reply = co_await std::move(pending);
    } catch (...) {
      counters.handler_exceptions++;
      spdlog::error("http: handler failed: {}", Describe(std::current_exception()));
      reply = Reply{};
      reply.response = InternalError();
    }
    if (reply.drop_connection) {
      counters.dropped++;
      out.drop = true;
      co_return out;
    }
    if (reply.websocket && !upgrade) {
      reply = Reply{};
      reply.response.status = 426;
      reply.response.SetHeader("upgrade", "websocket");
      reply.response.SetHeader("content-type", "application/json; charset=utf-8");
      reply.response.body = R"({"error":"this route is a WebSocket: send an upgrade request"})";
    }
    if (reply.websocket) {
      out.websocket = std::move(reply.websocket);
      out.extra_headers = std::move(reply.response.headers);
      co_return out;
    }
    if (reply.stream) {
      out.stream = std::move(reply.stream);
      keep_alive = false;
    }
    // The handler may ask to close after this reply; a stopping server closes too.
    keep_alive = keep_alive && !stopping &&
                 !EqualsIgnoreCase(reply.response.Header("connection").value_or(""), "close");
    if (out.stream) {
      out.response =
          ToBeast(std::move(reply.response), version, keep_alive, options.server_header, head);
      co_return out;
    }
    out.keep_alive = keep_alive;
    out.head = WriteHead(reply.response.status, version, reply.response.headers,
                         options.server_header, reply.response.body.size(), keep_alive);
    // HEAD: the headers GET would get, Content-Length included, and no body (RFC 9110 9.3.2).
    if (!head) out.body = std::move(reply.response.body);
    co_return out;
  }

  static Response InternalError() {
    Response out;
    out.status = 500;
    out.SetHeader("content-type", "application/json; charset=utf-8");
    out.body = R"({"error":"internal error"})";
    return out;
  }
};

Server::Server(asio::io_context& io, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {
  impl_->Listen();
}

Server::~Server() {
  if (impl_) Stop();
}

namespace {

// Spawns the accept loop; should it ever end by an exception, logs and counts it and accepts again
// (unless the server is stopping), so one bad moment does not leave a deaf server.
void SpawnAcceptLoop(const std::shared_ptr<Server::Impl>& impl) {
  asio::co_spawn(impl->acceptor.get_executor(), impl->AcceptLoop(),
                 [impl](const std::exception_ptr& e) {
                   if (!e) return;
                   impl->counters.session_exceptions++;
                   spdlog::error("http: accept loop ended by exception: {}", Describe(e));
                   if (!impl->stopping) SpawnAcceptLoop(impl);
                 });
}

}  // namespace

void Server::Start() { SpawnAcceptLoop(impl_); }

void Server::Stop() {
  impl_->stopping = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto& slot : impl_->slots) {
    if (slot.abort) {
      slot.abort();
    } else if (slot.waiting && slot.socket != nullptr) {
      slot.socket->close(ignored);
    }
  }
}

std::string ServeBytes(const ServerOptions& options, const Handler& handler,
                       std::string_view input) {
  asio::io_context io;
  auto impl = std::make_shared<Server::Impl>(io, options, handler);
  std::string out;
  auto serve = [&]() -> asio::awaitable<void> {
    const MessageLimits limits{options.max_header_bytes, options.max_body_bytes};
    const auto window = RequestReader::MaxBuffered(limits);
    std::string buffer;  // what a session's read buffer would hold
    for (;;) {
      RequestReader reader(limits);
      for (;;) {
        const auto take = std::min(window - std::min(window, buffer.size()), input.size());
        buffer.append(input.substr(0, take));
        input.remove_prefix(take);
        buffer.erase(0, reader.Feed(buffer));
        if (reader.done() || reader.error() != ReadError::kNone) break;
        if (input.empty()) co_return;  // the peer closed: nobody to answer
      }
      auto answering = impl->Answer(reader, "bytes");
      auto answer = co_await std::move(answering);
      if (answer.drop) co_return;
      out += answer.head;
      out += answer.body;
      if (!answer.keep_alive) co_return;
    }
  };
  asio::co_spawn(io, serve(), [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);  // a bug: let the fuzzer see it
  });
  io.run();
  return out;
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
  return ServerCounters{c.accepted.load(),
                        c.rejected_over_cap.load(),
                        c.active.load(),
                        c.peak_active.load(),
                        c.requests.load(),
                        c.malformed.load(),
                        c.timeouts.load(),
                        c.dropped.load(),
                        c.tls_handshake_failures.load(),
                        c.evicted_idle.load(),
                        c.handler_exceptions.load(),
                        c.session_exceptions.load(),
                        c.upgraded.load(),
                        c.streamed.load(),
                        c.long_lived.load(),
                        c.refused_long_lived.load()};
}

}  // namespace kisgate::http

#pragma once
// An HTTP/1.1 server on Asio coroutines (Beast advanced-server style): keep-alive, optional TLS,
// bounded headers and bodies, deadlines on every read and write, and a cap on connections.
// Request handling is a function from Request to Reply behind the session loop, so handlers are
// tested without sockets.
//
// Thread-safety: a Server belongs to one io_context and must be used from its thread(s); Counters()
// may be read from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "http/message.hpp"
#include "http/websocket.hpp"

namespace boost::asio {
class io_context;
}

namespace kisgate::http {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free port
  std::string tls_cert_file;           // PEM certificate chain; with tls_key_file => HTTPS only
  std::string tls_key_file;            // PEM private key
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 64 * 1024;
  // A whole request must arrive within this once the connection is waiting for it; protects slots
  // from slow or silent clients.
  std::chrono::milliseconds read_timeout{10'000};
  // How long a kept-alive connection may sit idle between requests.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{10'000};
  // Connections beyond this many at once are closed right after accept. 0 = no cap.
  std::size_t max_connections = 0;
  // Long-lived connections (WebSocket upgrades, streamed bodies) beyond this many at once are
  // answered 503: the rest of max_connections stays for ordinary requests (/healthz, /metrics).
  // 0 = max_connections less an eighth of it (at least one).
  std::size_t max_long_lived = 0;
  std::string server_header = "kisgate";
  // Upgraded connections (Reply::websocket). A server finds dead peers by pings.
  WebSocketOptions websocket{.max_message_bytes = 64 * 1024,
                             .write_timeout = std::chrono::milliseconds(10'000),
                             .handshake_timeout = std::chrono::milliseconds(10'000),
                             .idle_timeout = std::chrono::milliseconds(60'000),
                             .ca_file = {}};
};

struct Reply {
  Response response;
  // Close the connection without sending anything (what an overloaded gateway does).
  bool drop_connection = false;
  // Accept a WebSocket upgrade (the request must be one: IsWebSocketUpgrade; otherwise the client
  // gets 426): the server answers 101 with `response`'s extra headers, then runs this with the
  // connection until it returns, and closes it. The function keeps the connection until it
  // returns (Server::Stop aborts it through that object).
  std::function<boost::asio::awaitable<void>(std::unique_ptr<WebSocket>)> websocket;
  // Stream the body: the server sends `response`'s status and headers (chunked, no keep-alive),
  // then runs this with the connection until it returns, and closes it.
  std::function<boost::asio::awaitable<void>(std::unique_ptr<BodyStream>)> stream;
};

using Handler = std::function<boost::asio::awaitable<Reply>(Request)>;

struct ServerCounters {
  std::uint64_t accepted = 0;           // connections accepted
  std::uint64_t rejected_over_cap = 0;  // closed right after accept by max_connections
  std::uint64_t active = 0;             // open now
  std::uint64_t peak_active = 0;        // most open at once
  std::uint64_t requests = 0;           // requests handed to the handler
  std::uint64_t malformed = 0;          // unparsable or oversized requests (answered 4xx, closed)
  std::uint64_t timeouts = 0;           // connections closed by a read or write deadline
  std::uint64_t dropped = 0;            // connections dropped by the handler's choice
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t evicted_idle = 0;        // waiting connections closed to admit one over the cap
  std::uint64_t handler_exceptions = 0;  // handler threw; answered 500
  std::uint64_t session_exceptions = 0;  // a session or the accept loop ended by an exception
  std::uint64_t upgraded = 0;            // WebSocket upgrades accepted
  std::uint64_t streamed = 0;            // responses whose body was streamed (event streams)
  std::uint64_t long_lived = 0;          // upgraded or streaming connections open now
  std::uint64_t refused_long_lived = 0;  // answered 503: max_long_lived were open
};

class Server {
 public:
  // Binds and listens at once; throws std::runtime_error naming the address and the reason when
  // the address is malformed or cannot be bound, or when the TLS files cannot be loaded.
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Starts accepting (on the io_context's executor).
  void Start();
  // Stops accepting and closes idle connections; requests being handled finish and then close.
  void Stop();

  std::uint16_t Port() const;
  std::string Address() const;  // "HOST:PORT" actually bound
  bool Tls() const;
  ServerCounters Counters() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Serves `input` as the bytes one connection sends before closing its side, without a socket or
// deadlines, through the same request parsing, limits and handler boundary as a connection, and
// returns the bytes the server writes back. For the fuzz target and socket-free tests.
std::string ServeBytes(const ServerOptions& options, const Handler& handler,
                       std::string_view input);

// Splits "HOST:PORT" (IPv6 as "[::1]:PORT"). Returns false when malformed.
bool SplitHostPort(std::string_view listen, std::string& host, std::uint16_t& port);

}  // namespace kisgate::http

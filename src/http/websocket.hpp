#pragma once
// Long-lived connections: a WebSocket (RFC 6455) on either side, and a streamed response body
// (Server-Sent Events). http::Server hands one to a handler whose Reply asks for it (server.hpp);
// ConnectWebSocket opens a client one. Beast stays inside the .cpp files.
//
// Thread-safety: one io_context thread. At most one Read and one Write may be pending at a time
// on one WebSocket (a caller with several writers queues them itself); Abort may be called at any
// time from that thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

namespace kisgate::http {

struct WebSocketOptions {
  std::size_t max_message_bytes = 1024 * 1024;  // a longer message closes the connection
  std::chrono::milliseconds write_timeout{10'000};
  // The opening handshake (client: connect, TLS and upgrade) must finish within this.
  std::chrono::milliseconds handshake_timeout{5'000};
  // 0: none. Otherwise a protocol ping after half of it without a frame from the peer, and the
  // connection closed when nothing (a pong included) arrives by its end.
  std::chrono::milliseconds idle_timeout{0};
  // Client over wss://: a PEM file of certificate authorities trusted besides the system's (a
  // private CA, a test's self-signed certificate). The peer's name is always verified.
  std::string ca_file;
};

class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // The next whole message (text or binary); nullopt once the connection is closed by either
  // side, failed, or was aborted. Protocol-level pings are answered with pongs by the library.
  virtual boost::asio::awaitable<std::optional<std::string>> Read() = 0;
  // Sends one text message; false when the connection is gone or the write timed out.
  virtual boost::asio::awaitable<bool> Write(std::string text) = 0;
  // Sends a close frame (1000, `reason`) and waits (bounded) for the peer's.
  virtual boost::asio::awaitable<void> Close(std::string_view reason = {}) = 0;
  // Closes the socket at once; a pending Read returns nullopt, a pending Write false.
  virtual void Abort() = 0;
  // The peer, "HOST:PORT".
  virtual const std::string& remote() const = 0;
  // Protocol-level (not PINGPONG text) pings and pongs received, for tests of heartbeats.
  virtual std::uint64_t control_frames() const = 0;
};

// A response whose body is written in pieces after its headers, for as long as the handler likes
// (Server-Sent Events): sent chunked, never kept alive after.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // Writes one piece and flushes it; false when the client is gone or the write timed out.
  virtual boost::asio::awaitable<bool> Write(std::string bytes) = 0;
  // Completes when the client closes its side or the connection fails (a client of an event
  // stream sends nothing after its request, so anything it sends ends the stream too).
  virtual boost::asio::awaitable<void> WaitClosed() = 0;
  virtual void Abort() = 0;
  virtual const std::string& remote() const = 0;
};

// Opens a client WebSocket to "ws://HOST:PORT/PATH" ("wss://" with TLS, verified against the
// system's CAs). Returns null and sets `error` to a sentence naming the URL and the reason
// (refused, timed out, not upgraded: "HTTP 404") when it cannot.
boost::asio::awaitable<std::unique_ptr<WebSocket>> ConnectWebSocket(
    boost::asio::any_io_executor executor, std::string url, WebSocketOptions options,
    std::string& error);

}  // namespace kisgate::http

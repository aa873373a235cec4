#pragma once
// A connected byte stream, plain TCP or TLS over TCP, behind one type. Internal to src/http.
//
// Beast's HTTP and WebSocket algorithms are templates over the stream they run on. Instantiated
// for beast::tcp_stream and for beast::ssl_stream<beast::tcp_stream>, with the completion handler
// of every composed operation, they made server.cpp, client.cpp and websocket.cpp the three
// slowest translation units of the build (the TLS copy alone was two thirds of websocket.cpp's
// compile time). ByteStream erases the stream type and the handler type at read_some, write_some,
// the TLS handshake and the WebSocket teardown: the algorithms are instantiated once, over
// ByteStream, and the concrete streams' operations once per stream type, in byte_stream.cpp. The
// price is a virtual call and a handler allocation per read or write, small beside the system
// call each of them makes.
//
// Written by hand: Asio 1.81 has any_completion_handler, but no type-erased stream.
//
// Thread-safety: as the stream it wraps (one thread or strand); at most one read and one write
// pending at a time, as for any Asio stream.

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>

namespace boost::asio::ssl {
class context;
}

namespace kisgate::http {

class ByteStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using IoHandler =
      boost::asio::any_completion_handler<void(boost::system::error_code, std::size_t)>;
  using DoneHandler = boost::asio::any_completion_handler<void(boost::system::error_code)>;

  // A write_some takes at most this many buffers of a sequence; the rest waits for the next call
  // (a write_some may always write less than it was given).
  static constexpr std::size_t kMaxWriteBuffers = 16;

  // A plain TCP stream on `executor` (connect it through lowest()).
  static ByteStream Plain(boost::beast::tcp_stream stream);
  // TLS over a TCP stream on `executor`, with `context` (kept alive as long as the stream when
  // `owned` is given). Connect through lowest(), then async_handshake.
  static ByteStream Tls(boost::beast::tcp_stream stream, boost::asio::ssl::context& context,
                        std::shared_ptr<boost::asio::ssl::context> owned = nullptr);

  ByteStream(ByteStream&& other) noexcept;
  ByteStream& operator=(ByteStream&& other) noexcept;
  ~ByteStream();

  executor_type get_executor();
  // The TCP stream underneath: its deadlines (expires_after) and its socket.
  boost::beast::tcp_stream& lowest();
  bool is_tls() const;
  // The OpenSSL handle of a TLS stream (SNI, host name checks); null for a plain one.
  void* native_tls_handle();
  // Verifies the peer's certificate against `host` (TLS client). No effect on a plain stream.
  void VerifyHostName(const std::string& host);

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    // A read_some may fill only the first buffer of a sequence.
    boost::asio::mutable_buffer first;
    for (boost::asio::mutable_buffer b : boost::beast::buffers_range_ref(buffers)) {
      first = b;
      if (first.size() > 0) break;
    }
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, boost::asio::mutable_buffer b) { StartRead(b, std::move(handler)); },
        token, first);
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    std::array<boost::asio::const_buffer, kMaxWriteBuffers> gathered;
    std::size_t n = 0;
    for (boost::asio::const_buffer b : boost::beast::buffers_range_ref(buffers)) {
      if (n == gathered.size()) break;
      if (b.size() > 0) gathered[n++] = b;
    }
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, std::span<const boost::asio::const_buffer> b) {
          StartWrite(b, std::move(handler));
        },
        token, std::span<const boost::asio::const_buffer>(gathered.data(), n));
  }

  // The TLS handshake (as client or server); completes at once with success on a plain stream.
  template <class Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [this](auto handler, boost::asio::ssl::stream_base::handshake_type t) {
          StartHandshake(t, std::move(handler));
        },
        token, type);
  }

  // What Beast's WebSocket close does to the stream underneath: TLS close_notify (if TLS), then
  // TCP shutdown (websocket::teardown).
  void StartTeardown(boost::beast::role_type role, DoneHandler handler);
  void Teardown(boost::beast::role_type role, boost::system::error_code& ec);

  class Impl;

 private:
  explicit ByteStream(std::unique_ptr<Impl> impl);
  void StartRead(boost::asio::mutable_buffer buffer, IoHandler handler);
  // Copies the (at most kMaxWriteBuffers) buffer descriptions; the bytes must live until done.
  void StartWrite(std::span<const boost::asio::const_buffer> buffers, IoHandler handler);
  void StartHandshake(boost::asio::ssl::stream_base::handshake_type type, DoneHandler handler);

  std::unique_ptr<Impl> impl_;
};

// Beast's customisation points, found by argument-dependent lookup: WebSocket close (teardown)
// and the closing of the socket on a WebSocket timeout (close_socket).
void teardown(boost::beast::role_type role, ByteStream& stream, boost::system::error_code& ec);
template <class Handler>
void async_teardown(boost::beast::role_type role, ByteStream& stream, Handler&& handler) {
  stream.StartTeardown(role, ByteStream::DoneHandler(std::forward<Handler>(handler)));
}
void beast_close_socket(ByteStream& stream);

}  // namespace kisgate::http

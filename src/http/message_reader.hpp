#pragma once
// Parses one HTTP/1.1 message from bytes as they arrive (Beast's parser underneath) and bounds
// every byte the peer controls: the header section, the body, and the chunked framing around the
// body (size lines, chunk extensions, trailer fields). Beast 1.81 bounds only the first two: its
// header_limit covers the header section alone, and it buffers a chunk-size line or a trailer
// section whole, however long, until it ends.
//
// The caller owns the read buffer and holds at most MaxBuffered() unconsumed bytes in it; Feed()
// takes them all and reports how many it consumed. A line that cannot end inside MaxBuffered()
// bytes is an error, and the framing of a whole message may take at most max_header_bytes, so a
// message never holds more than MaxBuffered() + max_body_bytes of memory.
//
// Socket-free, so the server, the client, unit tests and the fuzz target share it.
// Thread-safety: none; one reader per message on one connection.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace kisgate::http {

struct MessageLimits {
  std::size_t max_header_bytes = 16 * 1024;  // start line + header fields; also the chunk framing
  std::size_t max_body_bytes = 64 * 1024;
};

enum class ReadError {
  kNone,
  kMalformed,                    // not HTTP/1.1 as RFC 9112 spells it
  kHeaderTooLarge,               // the header section exceeds max_header_bytes
  kBodyTooLarge,                 // the body exceeds max_body_bytes
  kFramingTooLarge,              // chunk sizes, extensions and trailers exceed max_header_bytes
  kUnsupportedTransferEncoding,  // a request with a transfer coding other than "chunked"
  kTruncated,                    // the peer closed in the middle of the message
};

template <bool isRequest>
class MessageReader {
 public:
  using Message = boost::beast::http::message<isRequest, boost::beast::http::string_body>;

  explicit MessageReader(const MessageLimits& limits);

  // The most unconsumed bytes a caller's read buffer needs to hold.
  static std::size_t MaxBuffered(const MessageLimits& limits);
  std::size_t MaxBuffered() const { return MaxBuffered(limits_); }

  // Parses what it can of `bytes` (all the bytes received and not consumed yet) and returns how
  // many it consumed. Bytes after a complete message are left for the next one.
  std::size_t Feed(std::string_view bytes);
  // The peer closed its side: completes a body delimited by the end of the connection, or fails
  // with kTruncated when a message had started.
  void FeedEof();

  bool started() const { return parser_.got_some(); }
  bool done() const { return error_ == ReadError::kNone && parser_.is_done(); }
  ReadError error() const { return error_; }
  const std::string& error_message() const { return error_message_; }
  // The status a server answers for error(): 400, 413, 431 or 501.
  int ErrorStatus() const;

  // The message once done(). Trailer fields are dropped: a recipient must not merge them into the
  // header section (RFC 9110 6.5.1), and no caller here has a use for them.
  Message Release();

 private:
  void Fail(ReadError error, std::string message);
  void CheckTransferEncoding();

  MessageLimits limits_;
  boost::beast::http::parser<isRequest, boost::beast::http::string_body> parser_;
  ReadError error_ = ReadError::kNone;
  std::string error_message_;
  std::uint64_t consumed_ = 0;      // bytes of this message consumed so far
  std::uint64_t header_bytes_ = 0;  // of which the header section
  std::size_t header_fields_ = 0;   // fields in the header section (trailer fields follow them)
  bool header_done_ = false;
};

using RequestReader = MessageReader<true>;
using ResponseReader = MessageReader<false>;

extern template class MessageReader<true>;
extern template class MessageReader<false>;

}  // namespace kisgate::http

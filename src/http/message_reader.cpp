#include "http/message_reader.hpp"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include "http/message.hpp"

namespace kisgate::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

template <bool isRequest>
MessageReader<isRequest>::MessageReader(const MessageLimits& limits) : limits_(limits) {
  parser_.header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(limits_.max_header_bytes, UINT32_MAX)));
  parser_.body_limit(limits_.max_body_bytes);
  // One structured element (header, chunk header, piece of body) per put(), so the header's size
  // is known exactly and the transfer coding is checked before any body byte is taken.
  parser_.eager(false);
}

template <bool isRequest>
std::size_t MessageReader<isRequest>::MaxBuffered(const MessageLimits& limits) {
  // Room for a whole header section; a floor keeps reads of a large body from going byte by byte.
  return std::max<std::size_t>(limits.max_header_bytes, 1024);
}

template <bool isRequest>
std::size_t MessageReader<isRequest>::Feed(std::string_view bytes) {
  std::size_t used = 0;
  while (error_ == ReadError::kNone && !parser_.is_done()) {
    beast::error_code ec;
    const auto n =
        parser_.put(boost::asio::const_buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    consumed_ += n;
    if (ec == bhttp::error::need_more) ec = {};
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        Fail(ReadError::kHeaderTooLarge,
             fmt::format("header section exceeds {} bytes", limits_.max_header_bytes));
      } else if (ec == bhttp::error::body_limit) {
        Fail(ReadError::kBodyTooLarge,
             fmt::format("body exceeds {} bytes", limits_.max_body_bytes));
      } else {
        Fail(ReadError::kMalformed, ec.message());
      }
      break;
    }
    if (!header_done_ && parser_.is_header_done()) {
      header_done_ = true;
      header_bytes_ = consumed_;
      // Beast applies header_limit to the start line and to the fields separately once the start
      // line has been consumed on its own; the limit is for the whole header section.
      if (header_bytes_ > limits_.max_header_bytes) {
        Fail(ReadError::kHeaderTooLarge,
             fmt::format("header section exceeds {} bytes", limits_.max_header_bytes));
        break;
      }
      header_fields_ =
          static_cast<std::size_t>(std::distance(parser_.get().begin(), parser_.get().end()));
      if constexpr (isRequest) CheckTransferEncoding();
      if (error_ != ReadError::kNone) break;
    }
    if (header_done_ &&
        consumed_ - header_bytes_ - parser_.get().body().size() > limits_.max_header_bytes) {
      Fail(ReadError::kFramingTooLarge,
           fmt::format("chunk sizes, extensions and trailers exceed {} bytes",
                       limits_.max_header_bytes));
      break;
    }
    if (n == 0) break;
  }
  const auto pending = bytes.size() - used;
  if (error_ == ReadError::kNone && !header_done_ &&
      consumed_ + pending >= limits_.max_header_bytes && parser_.got_some()) {
    Fail(ReadError::kHeaderTooLarge,
         fmt::format("header section exceeds {} bytes", limits_.max_header_bytes));
  }
  // Everything the buffer can hold is here and still no line ended: it never will within bounds.
  if (error_ == ReadError::kNone && !parser_.is_done() && pending >= MaxBuffered()) {
    if (header_done_) {
      Fail(ReadError::kFramingTooLarge,
           fmt::format("a chunk-size line or the trailer section exceeds {} bytes", MaxBuffered()));
    } else {
      Fail(ReadError::kHeaderTooLarge,
           fmt::format("header section exceeds {} bytes", limits_.max_header_bytes));
    }
  }
  return used;
}

template <bool isRequest>
void MessageReader<isRequest>::FeedEof() {
  if (error_ != ReadError::kNone || parser_.is_done()) return;
  if (!parser_.got_some()) {
    Fail(ReadError::kTruncated, "connection closed before a message");
    return;
  }
  beast::error_code ec;
  parser_.put_eof(ec);
  if (ec) Fail(ReadError::kTruncated, "connection closed in the middle of a message");
}

template <bool isRequest>
int MessageReader<isRequest>::ErrorStatus() const {
  switch (error_) {
    case ReadError::kNone:
      return 200;
    case ReadError::kMalformed:
      return 400;
    case ReadError::kHeaderTooLarge:
      return 431;
    case ReadError::kBodyTooLarge:
      return 413;
    case ReadError::kFramingTooLarge:
      return 431;
    case ReadError::kUnsupportedTransferEncoding:
      return 501;
    case ReadError::kTruncated:
      return 400;
  }
  return 400;
}

template <bool isRequest>
typename MessageReader<isRequest>::Message MessageReader<isRequest>::Release() {
  auto message = parser_.release();
  auto it = message.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(
                       std::min<std::size_t>(header_fields_, std::distance(it, message.end()))));
  while (it != message.end()) it = message.erase(it);
  return message;
}

template <bool isRequest>
void MessageReader<isRequest>::Fail(ReadError error, std::string message) {
  error_ = error;
  error_message_ = std::move(message);
}

// RFC 9112 6.1: a server that receives a transfer coding it does not understand answers 501; the
// only coding kisgate reads is chunked, and only once and last (Beast has already framed the body
// by the last coding; refusing here keeps a "gzip" body from being read as the next request).
template <bool isRequest>
void MessageReader<isRequest>::CheckTransferEncoding() {
  int codings = 0;
  bool only_chunked = true;
  const auto [first, last] = parser_.get().equal_range(bhttp::field::transfer_encoding);
  for (auto field = first; field != last; ++field) {
    const auto value = field->value();
    for (const auto& coding : bhttp::token_list(value)) {
      ++codings;
      if (!EqualsIgnoreCase(std::string_view(coding.data(), coding.size()), "chunked")) {
        only_chunked = false;
      }
    }
    if (value.find_first_not_of(" \t,") == beast::string_view::npos) only_chunked = false;
  }
  if (!only_chunked) {
    Fail(ReadError::kUnsupportedTransferEncoding, "only the chunked transfer coding is supported");
  } else if (codings > 1) {
    Fail(ReadError::kMalformed, "chunked is applied more than once");
  }
}

template class MessageReader<true>;
template class MessageReader<false>;

}  // namespace kisgate::http

// MessageReader and ServeBytes without sockets: limits on every part of a message, trailers kept
// out of the headers, pipelining, and the handler boundary.
#include "http/message_reader.hpp"

#include <stdexcept>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>

#include "http/server.hpp"

namespace kisgate::http {
namespace {

// Feeds `bytes` the way a session does: at most MaxBuffered() unconsumed bytes at a time, here
// arriving `step` bytes per read. Returns the unconsumed rest.
template <bool isRequest>
std::string FeedAll(MessageReader<isRequest>& reader, std::string_view bytes, std::size_t step) {
  std::string buffer;
  while (!reader.done() && reader.error() == ReadError::kNone) {
    const auto room = reader.MaxBuffered() - buffer.size();
    const auto take = std::min({room, step, bytes.size()});
    buffer.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    buffer.erase(0, reader.Feed(buffer));
    if (take == 0) break;
  }
  return buffer + std::string(bytes);
}

TEST(MessageReader, ChunkedRequestByteByByteDropsTrailerFields) {
  RequestReader reader(MessageLimits{});
  auto rest = FeedAll(reader,
                      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "2;e=1\r\nhi\r\n0\r\nX-Trailer: t\r\n\r\nNEXT",
                      1);
  ASSERT_TRUE(reader.done()) << reader.error_message();
  EXPECT_EQ(rest, "NEXT");
  auto message = reader.Release();
  EXPECT_EQ(message.body(), "hi");
  EXPECT_EQ(message.count("x-trailer"), 0u);
  EXPECT_EQ(message.count("host"), 1u);
}

// Each part of a message has its own bound and its own error; none needs the peer to stop first.
TEST(MessageReader, EveryPartIsBounded) {
  const MessageLimits limits{1024, 100};
  struct Case {
    std::string bytes;
    ReadError error;
    int status;
  };
  const std::string chunked = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string many_extensions = chunked;
  for (int i = 0; i < 20; ++i) many_extensions += "1;e=" + std::string(100, 'a') + "\r\nZ\r\n";
  std::string many_lines;
  for (int i = 0; i < 30; ++i) many_lines += "X-Line: " + std::string(40, 'a') + "\r\n";
  const Case cases[] = {
      {"GET /x HTTP/1.1\r\nX: " + std::string(5000, 'a'), ReadError::kHeaderTooLarge, 431},
      // The start line counts too (Beast alone would give start line and fields 1024 each).
      {"GET /" + std::string(500, 'a') + " HTTP/1.1\r\nX: " + std::string(600, 'b') + "\r\n\r\n",
       ReadError::kHeaderTooLarge, 431},
      // Short lines (Beast consumes the whole field lines of a first read, then allows
      // header_limit more: alone, it bounds the header section at about twice the limit).
      {"GET /x HTTP/1.1\r\n" + many_lines + "\r\n", ReadError::kHeaderTooLarge, 431},
      {"POST /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n", ReadError::kBodyTooLarge, 413},
      {chunked + "65\r\n", ReadError::kBodyTooLarge, 413},
      {chunked + "0\r\n" + std::string(5000, 'a'), ReadError::kFramingTooLarge, 431},
      {chunked + "1;" + std::string(5000, 'a'), ReadError::kFramingTooLarge, 431},
      {many_extensions, ReadError::kFramingTooLarge, 431},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
       ReadError::kUnsupportedTransferEncoding, 501},
      {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", ReadError::kMalformed,
       400},
      {"NOT HTTP\r\n\r\n", ReadError::kMalformed, 400},
  };
  for (const auto& c : cases) {
    RequestReader reader(limits);
    FeedAll(reader, c.bytes, 1024);  // as reads of a full window would bring it
    EXPECT_EQ(reader.error(), c.error) << c.bytes.substr(0, 80);
    EXPECT_EQ(reader.ErrorStatus(), c.status) << c.bytes.substr(0, 80);
  }
}

TEST(MessageReader, ReplyDelimitedByTheEndOfTheConnection) {
  ResponseReader reader(MessageLimits{});
  FeedAll(reader, "HTTP/1.1 200 OK\r\n\r\nall of it", 4096);
  EXPECT_FALSE(reader.done());
  reader.FeedEof();
  ASSERT_TRUE(reader.done());
  EXPECT_EQ(reader.Release().body(), "all of it");

  ResponseReader cut(MessageLimits{});
  FeedAll(cut, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 4096);
  cut.FeedEof();
  EXPECT_EQ(cut.error(), ReadError::kTruncated);
}

boost::asio::awaitable<Reply> Echo(Request request) {
  if (request.Path() == "/throw") throw std::runtime_error("boom");
  Reply reply;
  reply.response.body = request.method + " " + std::string(request.Path());
  co_return reply;
}

// Pipelined requests are answered in order; a throwing handler costs its request a 500, not the
// connection.
TEST(ServeBytes, PipelinedRequestsAndAThrowingHandler) {
  auto out = ServeBytes(ServerOptions{}, Echo,
                        "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
                        "GET /throw HTTP/1.1\r\nHost: a\r\n\r\n"
                        "HEAD /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  auto a = out.find("GET /a");
  auto error = out.find("HTTP/1.1 500 Internal Server Error");
  auto head = out.find("HTTP/1.1 200", error);
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(error, std::string::npos) << out;
  ASSERT_NE(head, std::string::npos) << out;
  EXPECT_LT(a, error);
  EXPECT_NE(out.find(R"({"error":"internal error"})"), std::string::npos) << out;
  EXPECT_NE(out.find("Content-Length: 7", head), std::string::npos) << out;  // "HEAD /c"
  EXPECT_TRUE(out.ends_with("\r\n\r\n")) << out;                             // and no body
}

}  // namespace
}  // namespace kisgate::http

#include "http/message.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "http/server.hpp"

namespace kisgate::http {
namespace {

TEST(Message, HeadersAreCaseInsensitive) {
  Request r;
  r.headers = {{"tr_id", "FHKST01010100"}, {"appkey", "k"}};
  EXPECT_EQ(r.Header("TR_ID").value_or(""), "FHKST01010100");
  EXPECT_EQ(r.Header("AppKey").value_or(""), "k");
  EXPECT_FALSE(r.Header("appsecret").has_value());
}

TEST(Message, PathAndQuerySplit) {
  Request r;
  r.target = "/uapi/x/inquire-price?FID_INPUT_ISCD=005930&a=b";
  EXPECT_EQ(r.Path(), "/uapi/x/inquire-price");
  EXPECT_EQ(r.Query(), "FID_INPUT_ISCD=005930&a=b");
  r.target = "/healthz";
  EXPECT_EQ(r.Path(), "/healthz");
  EXPECT_EQ(r.Query(), "");
}

TEST(Message, ParseQueryDecodesEscapesAndPlus) {
  auto q = ParseQuery("a=1&b=%2F%20x&c=hello+world&&d=");
  ASSERT_TRUE(q.has_value());
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[1].second, "/ x");
  EXPECT_EQ((*q)[2].second, "hello world");
  EXPECT_EQ((*q)[3].first, "d");
  EXPECT_EQ((*q)[3].second, "");
}

// Regression (fuzz/sim_request_fuzz): a request without '?' has a null query view.
TEST(Message, ParseQueryOfAbsentQueryIsEmpty) {
  Request r;
  r.target = "/uapi/domestic-stock/v1/quotations/inquire-price";
  auto q = ParseQuery(r.Query());
  ASSERT_TRUE(q.has_value());
  EXPECT_TRUE(q->empty());
  EXPECT_TRUE(ParseQuery(std::string_view{})->empty());
}

// A query with nothing to decode is split by hand; the same query with every character escaped
// goes through Boost.URL: both must give the same pairs.
TEST(Message, ParseQueryPlainAndEscapedAgree) {
  const std::vector<std::string> queries = {"max_age=30",
                                            "codes=005930,000660&data=trades",
                                            "a=1&&b=&=c&d",
                                            "a=b=c",
                                            "=",
                                            "&",
                                            "a&b",
                                            "x=&=",
                                            "from=2026-10-01&to=2026-10-31&format=csv"};
  for (const auto& plain : queries) {
    std::string escaped;
    for (char c : plain) {
      escaped += (c == '&' || c == '=') ? std::string(1, c) : fmt::format("%{:02X}", c);
    }
    const auto fast = ParseQuery(plain);
    const auto decoded = ParseQuery(escaped);
    ASSERT_TRUE(fast.has_value()) << plain;
    ASSERT_TRUE(decoded.has_value()) << escaped;
    EXPECT_EQ(*fast, *decoded) << plain << " vs " << escaped;
  }
  const auto q = ParseQuery("a=b=c&&d");
  ASSERT_EQ(q->size(), 2u);
  EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>{"a", "b=c"}));
  EXPECT_EQ((*q)[1], (std::pair<std::string, std::string>{"d", ""}));
}

TEST(Message, ParseQueryRejectsBrokenEscape) {
  EXPECT_FALSE(ParseQuery("a=%zz").has_value());
  EXPECT_FALSE(ParseQuery("a=%4").has_value());
}

TEST(Message, SetHeaderReplacesCaseInsensitively) {
  Response r;
  r.SetHeader("Content-Type", "text/plain");
  r.SetHeader("content-type", "application/json");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.Header("CONTENT-TYPE").value_or(""), "application/json");
}

TEST(SplitHostPort, AcceptsV4V6AndNames) {
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:8080", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(SplitHostPort("[::1]:0", host, port));
  EXPECT_EQ(host, "::1");
  ASSERT_TRUE(SplitHostPort("localhost:9443", host, port));
  EXPECT_EQ(host, "localhost");
  EXPECT_FALSE(SplitHostPort("127.0.0.1", host, port));
  EXPECT_FALSE(SplitHostPort("127.0.0.1:99999", host, port));
  EXPECT_FALSE(SplitHostPort(":80", host, port));
  EXPECT_FALSE(SplitHostPort("host:8x", host, port));
}

TEST(Message, WebSocketUpgradeNeedsGetAndBothTokens) {
  Request r;
  r.method = "GET";
  r.headers = {{"connection", "keep-alive, Upgrade"}, {"upgrade", "WebSocket"}};
  EXPECT_TRUE(IsWebSocketUpgrade(r));
  r.method = "POST";
  EXPECT_FALSE(IsWebSocketUpgrade(r));
  r.method = "GET";
  r.headers = {{"connection", "keep-alive"}, {"upgrade", "websocket"}};
  EXPECT_FALSE(IsWebSocketUpgrade(r));
  r.headers = {{"connection", "upgrade"}, {"upgrade", "h2c"}};
  EXPECT_FALSE(IsWebSocketUpgrade(r));
  r.headers = {{"connection", "upgrade"}};
  EXPECT_FALSE(IsWebSocketUpgrade(r));
}

}  // namespace
}  // namespace kisgate::http

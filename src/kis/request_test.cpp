#include "kis/request.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace kisgate::kis {
namespace {

const Credentials kCredentials{"PSkey", "secret"};

// A catalogue TR carries the headers KIS requires (kis-api.md §3), in KIS's order, with the
// catalogue's tr_id and the key's credentials.
TEST(Request, CatalogueCallHeaders) {
  const Request r = QuoteRequest(Tr::kPrice, "005930");
  const Headers expected{{"content-type", "application/json; charset=utf-8"},
                         {"authorization", "Bearer tok"},
                         {"appkey", "PSkey"},
                         {"appsecret", "secret"},
                         {"tr_id", "FHKST01010100"},
                         {"custtype", "P"},
                         {"tr_cont", ""}};
  EXPECT_EQ(HeadersFor(r, kCredentials, "tok"), expected);
  EXPECT_EQ(TargetOf(r),
            "/uapi/domestic-stock/v1/quotations/"
            "inquire-price?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930");
}

// A passthrough call goes to its own path with its own tr_id, asks for the next page, and keeps
// the client's extra headers after KIS's own; its query is percent-encoded.
TEST(Request, PassthroughCallWithExtraHeaders) {
  Request r{Tr::kPrice,
            {{"fid_input_iscd", "005930"}, {"q", "a b&c"}},
            "N",
            "/uapi/domestic-stock/v1/trading/order-cash",
            "TTTC0802U",
            "POST",
            R"({"PDNO":"005930"})",
            {{"hashkey", "h1"}, {"gt_uid", "g1"}}};
  const Headers headers = HeadersFor(r, kCredentials, "tok");
  ASSERT_EQ(headers.size(), 9u);
  EXPECT_EQ(headers[4], (std::pair<std::string, std::string>{"tr_id", "TTTC0802U"}));
  EXPECT_EQ(headers[6], (std::pair<std::string, std::string>{"tr_cont", "N"}));
  EXPECT_EQ(headers[7], (std::pair<std::string, std::string>{"hashkey", "h1"}));
  EXPECT_EQ(headers[8], (std::pair<std::string, std::string>{"gt_uid", "g1"}));
  EXPECT_EQ(TargetOf(r),
            "/uapi/domestic-stock/v1/trading/order-cash?fid_input_iscd=005930&q=a%20b%26c");
  // The client's parameters are KIS's to judge; a catalogue call's stock code is checked here.
  r.params = {{"FID_INPUT_ISCD", "59300"}};
  EXPECT_FALSE(CheckParams(r));
}

// A stock code KIS would refuse fails before it costs a call, with kisgate's own kind.
TEST(Request, InvalidStockCodeIsRefusedBeforeSending) {
  EXPECT_FALSE(CheckParams(QuoteRequest(Tr::kPrice, "005930")));
  EXPECT_FALSE(CheckParams(QuoteRequest(Tr::kPrice, "0000J0")));
  auto refused = CheckParams(QuoteRequest(Tr::kPrice, "59300"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->action, Action::kFail);
  EXPECT_EQ(refused->code, "invalid_stock_code");
  EXPECT_EQ(refused->Kind(), common::Errc::kInvalidStockCode);
  EXPECT_NE(refused->message.find("'59300'"), std::string::npos);
}

// POST /oauth2/tokenP with the app key and secret in a JSON body (kis-api.md §2).
TEST(Request, TokenRequest) {
  EXPECT_EQ(kTokenPath, "/oauth2/tokenP");
  EXPECT_EQ(TokenHeaders(), (Headers{{"content-type", "application/json; charset=utf-8"}}));
  const auto body = boost::json::parse(TokenBody(kCredentials)).as_object();
  EXPECT_EQ(body.size(), 3u);
  EXPECT_EQ(body.at("grant_type").as_string(), "client_credentials");
  EXPECT_EQ(body.at("appkey").as_string(), "PSkey");
  EXPECT_EQ(body.at("appsecret").as_string(), "secret");
}

// Every request built here carries every parameter the catalogue says its TR requires.
TEST(Request, PagesCarryTheTrsRequiredParameters) {
  const Request requests[] = {QuoteRequest(Tr::kOrderBook, "005930"),
                              MinuteBarsPage("005930", "130000"),
                              DailyBarsPage("005930", "20260101", "20261124", 'W')};
  for (const auto& r : requests) {
    for (auto name : TrInfoFor(r.tr).required_params) {
      EXPECT_TRUE(std::any_of(r.params.begin(), r.params.end(),
                              [&](const auto& p) { return p.first == name; }))
          << common::Name(TrInfoFor(r.tr).dataset) << " lacks " << name;
    }
  }
  auto param = [](const Request& r, std::string_view name) {
    for (const auto& [n, v] : r.params) {
      if (n == name) return v;
    }
    return std::string("<absent>");
  };
  EXPECT_EQ(param(requests[1], "FID_INPUT_HOUR_1"), "130000");
  EXPECT_EQ(param(requests[2], "FID_INPUT_DATE_1"), "20260101");
  EXPECT_EQ(param(requests[2], "FID_INPUT_DATE_2"), "20261124");
  EXPECT_EQ(param(requests[2], "FID_PERIOD_DIV_CODE"), "W");
}

}  // namespace
}  // namespace kisgate::kis

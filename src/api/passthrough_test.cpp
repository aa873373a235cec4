#include "api/passthrough.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "api/pass_tokens.hpp"
#include "kis/quotation_catalogue.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::api {
namespace {

constexpr std::string_view kPrice = "/uapi/domestic-stock/v1/quotations/inquire-price";

TEST(Passthrough, QuotationsOnlyByDefault) {
  config::PassthroughConfig c;
  EXPECT_TRUE(CheckPassthroughCall(c, "GET", kPrice, "FHKST01010100").allowed);
  auto order =
      CheckPassthroughCall(c, "POST", "/uapi/domestic-stock/v1/trading/order-cash", "TTTC0802U");
  EXPECT_FALSE(order.allowed);
  EXPECT_NE(order.reason.find("passthrough.allow_trading"), std::string::npos);
  auto balance = CheckPassthroughCall(c, "GET", "/uapi/domestic-stock/v1/trading/inquire-balance",
                                      "TTTC8434R");
  EXPECT_FALSE(balance.allowed);
  EXPECT_NE(balance.reason.find("an order or account call"), std::string::npos) << balance.reason;
  EXPECT_NE(balance.reason.find("passthrough.allow_trading"), std::string::npos) << balance.reason;
  EXPECT_FALSE(CheckPassthroughCall(c, "POST", kPrice, "FHKST01010100").allowed);
}

// The tr_id must be the quotation TR of the path: KIS routes by it.
TEST(Passthrough, TrIdMustBeTheQuotationTrOfThePath) {
  config::PassthroughConfig c;
  auto account = CheckPassthroughCall(c, "GET", kPrice, "TTTC8434R");
  EXPECT_FALSE(account.allowed);
  EXPECT_NE(account.reason.find("FHKST01010100"), std::string::npos);
  EXPECT_FALSE(
      CheckPassthroughCall(c, "GET", kPrice, "FHKST01010200").allowed);  // another quotation's TR
  EXPECT_TRUE(CheckPassthroughCall(c, "GET", kPrice, "fhkst01010100").allowed);
  EXPECT_TRUE(
      CheckPassthroughCall(c, "GET", "/uapi/domestic-stock/v1/quotations/search-info", "CTPF1604R")
          .allowed);
  // A quotation path kisgate does not know is refused, with the way to allow it.
  auto unknown = CheckPassthroughCall(c, "GET", "/uapi/domestic-stock/v1/quotations/new-thing",
                                      "FHKST99999999");
  EXPECT_FALSE(unknown.allowed);
  EXPECT_NE(unknown.reason.find("passthrough.allow_paths"), std::string::npos);
  // Every TR kisgate itself calls is forwarded under its path.
  for (const auto& tr : kis::AllTrs()) {
    EXPECT_TRUE(CheckPassthroughCall(c, "GET", tr.path, tr.tr_id).allowed) << tr.path;
  }
}

// Every read-only API of KIS's catalogue (kis/quotation_catalogue.json: quotations, rankings,
// finance and KSD information of the seven markets) is forwarded with each of its tr_ids and no
// other; an order or account TR on its path stays refused.
TEST(Passthrough, EveryCataloguedApiIsForwardedWithItsOwnTrIds) {
  config::PassthroughConfig c;
  const auto& catalogue = kis::QuotationCatalogue::Builtin();
  ASSERT_GE(catalogue.All().size(), 143U);
  for (const auto& api : catalogue.All()) {
    SCOPED_TRACE(api.path);
    EXPECT_TRUE(CheckPassthroughCall(c, api.method, api.path, api.tr_id).allowed);
    for (const auto& other : api.tr_id_other) {
      EXPECT_TRUE(CheckPassthroughCall(c, api.method, api.path, other).allowed) << other;
    }
    EXPECT_FALSE(CheckPassthroughCall(c, api.method, api.path, "TTTC8434R").allowed);
  }
  const auto aapl =
      CheckPassthroughCall(c, "GET", "/uapi/overseas-price/v1/quotations/price", "HHDFS00000300");
  EXPECT_TRUE(aapl.allowed) << aapl.reason;
  // Not in the catalogue: refused, naming allow_paths first (it is not an order).
  const auto unknown =
      CheckPassthroughCall(c, "GET", "/uapi/domestic-stock/v1/ranking/no-such-rank", "FHPST0");
  EXPECT_FALSE(unknown.allowed);
  EXPECT_NE(unknown.reason.find("passthrough.allow_paths to forward it"), std::string::npos)
      << unknown.reason;
}

TEST(Passthrough, ConfigWidensOrDisables) {
  config::PassthroughConfig c;
  c.allow_paths = {"/uapi/domestic-stock/v1/ranking/"};
  EXPECT_TRUE(CheckPassthroughCall(c, "GET", "/uapi/domestic-stock/v1/ranking/volume-power",
                                   "FHPST01680000")
                  .allowed);
  // An allowed prefix still refuses order and account TRs.
  EXPECT_FALSE(
      CheckPassthroughCall(c, "GET", "/uapi/domestic-stock/v1/ranking/volume-power", "TTTC8434R")
          .allowed);
  EXPECT_FALSE(
      CheckPassthroughCall(c, "GET", "/uapi/domestic-stock/v1/ranking/volume-power", "VTTC8434R")
          .allowed);
  c.allow_paths.push_back("/uapi/domestic-stock/v1/quotations/new-thing");
  EXPECT_TRUE(CheckPassthroughCall(c, "GET", "/uapi/domestic-stock/v1/quotations/new-thing",
                                   "FHKST99999999")
                  .allowed);
  c.allow_trading = true;
  EXPECT_TRUE(
      CheckPassthroughCall(c, "POST", "/uapi/domestic-stock/v1/trading/order-cash", "TTTC0802U")
          .allowed);
  EXPECT_TRUE(CheckPassthroughCall(c, "GET", kPrice, "TTTC8434R").allowed);
  c.enabled = false;
  EXPECT_FALSE(CheckPassthroughCall(c, "GET", kPrice, "FHKST01010100").allowed);
}

// The path is decoded once and must then be canonical; what is forwarded is the decoded path.
TEST(Passthrough, PathIsDecodedAndMustBeCanonical) {
  EXPECT_EQ(NormalisePassthroughPath(kPrice).path.value_or(""), kPrice);
  EXPECT_EQ(NormalisePassthroughPath("/uapi/domestic-stock/v1/quotations/inquire%2Dprice")
                .path.value_or(""),
            kPrice);
  EXPECT_EQ(NormalisePassthroughPath("/uapi/domestic-stock/v1/quotations%2Finquire-price")
                .path.value_or(""),
            kPrice);
  // Slashes as clients double them (a base URL ending in '/'): collapsed, then checked.
  for (const char* doubled : {"//uapi/domestic-stock/v1/quotations/inquire-price",
                              "///uapi/domestic-stock/v1/quotations/inquire-price",
                              "/uapi/domestic-stock/v1/quotations//inquire-price",
                              "//uapi//domestic-stock/v1/quotations/inquire-price"}) {
    EXPECT_EQ(NormalisePassthroughPath(doubled).path.value_or(""), kPrice) << doubled;
  }
  EXPECT_FALSE(
      NormalisePassthroughPath("//uapi/domestic-stock/v1/quotations/../trading/inquire-balance")
          .path);
  for (const char* bad :
       {"/uapi/domestic-stock/v1/quotations/../trading/inquire-balance",
        "/uapi/domestic-stock/v1/quotations/%2e%2e/%2e%2e/trading/inquire-balance",
        "/uapi/domestic-stock/v1/quotations/%2E%2E/trading/inquire-balance",
        "/uapi/domestic-stock/v1/quotations/.%2e/trading/inquire-balance",
        "/uapi/domestic-stock/v1/quotations/%252e%252e/trading/inquire-balance",
        "/uapi/domestic-stock/v1/quotations/..%2Ftrading%2Finquire-balance",
        "/uapi/domestic-stock/v1/quotations/..%5Ctrading%5Cinquire-balance",
        "/uapi/domestic-stock/v1/quotations/..\\trading\\inquire-balance",
        "/uapi/domestic-stock/v1/quotations/%2Finquire-price",  // an escaped slash: not collapsed
        "/uapi/domestic-stock/v1/quotations/%2F/inquire-price",
        "/uapi/domestic-stock/v1/quotations/./inquire-price",
        "/uapi/domestic-stock/v1/quotations/inquire-price/",
        "/uapi/domestic-stock/v1/quotations/inquire-price%00",
        "/uapi/domestic-stock/v1/quotations/inquire-price%",
        "/uapi/domestic-stock/v1/quotations/inquire-price%zz",
        "/uapi/domestic-stock/v1/quotations/inquire-price\xff",
        "uapi/domestic-stock/v1/quotations/inquire-price", ""}) {
    auto n = NormalisePassthroughPath(bad);
    EXPECT_FALSE(n.path) << bad << " -> " << n.path.value_or("");
    EXPECT_FALSE(n.reason.empty()) << bad;
  }
}

TEST(Passthrough, SecretsCompareWhole) {
  EXPECT_TRUE(SecretEquals("abc", "abc"));
  EXPECT_FALSE(SecretEquals("abc", "abd"));
  EXPECT_FALSE(SecretEquals("abc", "ab"));
  EXPECT_FALSE(SecretEquals("", "a"));
  EXPECT_TRUE(SecretEquals("", ""));
}

TEST(Passthrough, OneFlowPerClientAddressNotPerConnection) {
  EXPECT_EQ(ClientFlow("10.0.0.7:40000", 1'000'000), ClientFlow("10.0.0.7:40001", 1'000'000));
  EXPECT_EQ(ClientFlow("::1:40000", 1'000'000), ClientFlow("::1:40001", 1'000'000));
  EXPECT_NE(ClientFlow("10.0.0.7:40000", 1'000'000), ClientFlow("10.0.0.8:40000", 1'000'000));
  const auto flow = ClientFlow("10.0.0.7:40000", 2'000'000);
  EXPECT_GE(flow, 2'000'000u);
  EXPECT_LT(flow, 3'000'000u);
}

TEST(Passthrough, UpstreamStatusByCause) {
  auto status = [](const char* code) {
    return UpstreamStatus(kis::Classification{kis::Action::kFail, code, "", ""});
  };
  EXPECT_EQ(status("invalid_stock_code"), 400);
  EXPECT_EQ(status("OPSQ2002"), 400);
  for (const char* code :
       {"deadline_exceeded", "gate_deadline", "timeout", "connect_timeout", "token_timeout"}) {
    EXPECT_EQ(status(code), 504) << code;
  }
  EXPECT_EQ(status("connect_refused"), 502);
  EXPECT_EQ(status("EGW00201"), 502);
}

// The red team's 60,000 issuances by one client evicted 44 of 50 other clients' tokens (the
// lexicographically smallest went first). Now one client's loop evicts only its own, oldest first.
TEST(PassTokens, OneClientIssuingInALoopEvictsOnlyItsOwnTokens) {
  const auto now = common::WallTime{} + std::chrono::hours(1000);
  const auto later = now + std::chrono::hours(24);
  PassTokens tokens(100, 10'000);
  std::vector<std::string> others;
  for (int i = 0; i < 50; ++i)
    others.push_back(tokens.Issue("main", fmt::format("10.0.0.{}", i), now, later));
  std::vector<std::string> own;
  for (int i = 0; i < 60'000; ++i) own.push_back(tokens.Issue("main", "10.9.9.9", now, later));
  for (const auto& t : others) EXPECT_TRUE(tokens.Valid(t, now));
  EXPECT_EQ(tokens.size(), 150u);
  EXPECT_TRUE(tokens.Valid(own.back(), now));
  EXPECT_FALSE(tokens.Valid(own.front(), now));  // its oldest went first
  EXPECT_TRUE(tokens.Valid(own[own.size() - 100], now));
  EXPECT_FALSE(tokens.Valid(own[own.size() - 101], now));
  EXPECT_FALSE(tokens.Valid(others[0], later));  // expired
}

TEST(PassTokens, TheStoreIsBoundedOldestFirstAndTokensRevoke) {
  const auto now = common::WallTime{} + std::chrono::hours(1000);
  const auto later = now + std::chrono::hours(24);
  PassTokens tokens(2, 5);
  std::vector<std::string> issued;
  for (int i = 0; i < 8; ++i)
    issued.push_back(tokens.Issue("main", fmt::format("client{}", i), now, later));
  EXPECT_EQ(tokens.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(tokens.Valid(issued[i], now)) << i;  // the oldest issued
  for (int i = 3; i < 8; ++i) EXPECT_TRUE(tokens.Valid(issued[i], now)) << i;
  EXPECT_FALSE(tokens.Revoke(issued[5], "other-key"));  // only by the key it was issued for
  EXPECT_TRUE(tokens.Revoke(issued[5], "main"));
  EXPECT_FALSE(tokens.Valid(issued[5], now));
  EXPECT_FALSE(tokens.Revoke(issued[5], "main"));
  EXPECT_EQ(tokens.size(), 4u);
  // Expired tokens are dropped at the next issuance.
  tokens.Issue("main", "late", later, later + std::chrono::hours(24));
  EXPECT_EQ(tokens.size(), 1u);
}

}  // namespace
}  // namespace kisgate::api

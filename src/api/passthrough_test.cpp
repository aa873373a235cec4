#include "api/passthrough.hpp"

#include <gtest/gtest.h>

namespace kisgate::api {
namespace {

TEST(Passthrough, QuotationsOnlyByDefault) {
  config::PassthroughConfig c;
  EXPECT_TRUE(CheckPassthroughPath(c, "GET", "/uapi/domestic-stock/v1/quotations/inquire-price").allowed);
  auto order = CheckPassthroughPath(c, "POST", "/uapi/domestic-stock/v1/trading/order-cash");
  EXPECT_FALSE(order.allowed);
  EXPECT_NE(order.reason.find("passthrough.allow_trading"), std::string::npos);
  auto balance = CheckPassthroughPath(c, "GET", "/uapi/domestic-stock/v1/trading/inquire-balance");
  EXPECT_FALSE(balance.allowed);
  EXPECT_NE(balance.reason.find("not a quotation path"), std::string::npos);
  // A quotation prefix followed by a climb out of it is not a quotation path.
  EXPECT_FALSE(CheckPassthroughPath(c, "GET", "/uapi/domestic-stock/v1/quotations/../trading/inquire-balance").allowed);
  EXPECT_FALSE(CheckPassthroughPath(c, "POST", "/uapi/domestic-stock/v1/quotations/inquire-price").allowed);
}

TEST(Passthrough, ConfigWidensOrDisables) {
  config::PassthroughConfig c;
  c.allow_paths = {"/uapi/domestic-stock/v1/ranking/"};
  EXPECT_TRUE(CheckPassthroughPath(c, "GET", "/uapi/domestic-stock/v1/ranking/volume-rank").allowed);
  c.allow_trading = true;
  EXPECT_TRUE(CheckPassthroughPath(c, "POST", "/uapi/domestic-stock/v1/trading/order-cash").allowed);
  c.enabled = false;
  EXPECT_FALSE(CheckPassthroughPath(c, "GET", "/uapi/domestic-stock/v1/quotations/inquire-price").allowed);
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
  auto status = [](const char* code) { return UpstreamStatus(kis::Classification{kis::Action::kFail, code, "", ""}); };
  EXPECT_EQ(status("invalid_stock_code"), 400);
  EXPECT_EQ(status("OPSQ2002"), 400);
  for (const char* code : {"deadline_exceeded", "gate_deadline", "timeout", "connect_timeout", "token_timeout"}) {
    EXPECT_EQ(status(code), 504) << code;
  }
  EXPECT_EQ(status("connect_refused"), 502);
  EXPECT_EQ(status("EGW00201"), 502);
}

}  // namespace
}  // namespace kisgate::api

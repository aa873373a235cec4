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

}  // namespace
}  // namespace kisgate::api

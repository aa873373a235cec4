#include "common/error.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

namespace kisgate::common {
namespace {

constexpr int kFirst = static_cast<int>(Errc::kDeadlineExceeded);
constexpr int kLast = static_cast<int>(Errc::kCoordinationUnavailable);

// Users read these names in JSON errors, /metrics labels and collection reports: each kind has
// its own, and reading a name back gives the kind (a kind missing from the lookup would fail).
TEST(Errc, NamesAreDistinctAndReadBack) {
  std::set<std::string_view> seen;
  for (int v = kFirst; v <= kLast; ++v) {
    const auto e = static_cast<Errc>(v);
    const auto name = Name(e);
    EXPECT_NE(name, "unknown") << v;
    EXPECT_TRUE(seen.insert(name).second) << name;
    EXPECT_EQ(ErrcFromName(name), e) << name;
  }
}

// The names published before the enum existed stay as they were.
TEST(Errc, PublishedNamesStay) {
  EXPECT_EQ(Name(Errc::kDeadlineExceeded), "deadline_exceeded");
  EXPECT_EQ(Name(Errc::kGateDeadline), "gate_deadline");
  EXPECT_EQ(Name(Errc::kTokenTimeout), "token_timeout");
  EXPECT_EQ(Name(Errc::kInvalidStockCode), "invalid_stock_code");
  EXPECT_EQ(Name(Errc::kRealOnlyTr), "real_only_tr");
  EXPECT_EQ(Name(Errc::kMalformedReply), "malformed_reply");
  EXPECT_EQ(Name(Errc::kTooManyRequests), "http_429");
  EXPECT_EQ(Name(Errc::kUnavailable), "http_503");
  EXPECT_EQ(Name(Errc::kConnectRefused), "connect_refused");
  EXPECT_EQ(Name(Errc::kTimeout), "timeout");
  EXPECT_EQ(Name(Errc::kException), "exception");
}

// KIS's codes and made-up strings are not kisgate's kinds.
TEST(Errc, OtherStringsAreNoKind) {
  for (auto other : {"EGW00201", "OPSQ2002", "rt_cd_7", "", "Timeout", "other"}) {
    EXPECT_FALSE(ErrcFromName(other)) << other;
  }
}

// Errc converts to a boost::system::error_code of the "kisgate" category, which compares equal to
// its kind and carries into Result<T>.
TEST(Errc, IsAnErrorCodeOfItsOwnCategory) {
  boost::system::error_code ec = Errc::kGateDeadline;
  EXPECT_TRUE(ec.failed());
  EXPECT_EQ(ec, Errc::kGateDeadline);
  EXPECT_NE(ec, Errc::kDeadlineExceeded);
  EXPECT_STREQ(ec.category().name(), "kisgate");
  EXPECT_EQ(ec.message(), "the deadline passed while the call waited for its key's budget");
  for (int v = kFirst; v <= kLast; ++v) {
    EXPECT_EQ(ErrorCategory().message(v).find("kisgate error"), std::string::npos) << v;
  }

  // A Result takes a value or a kind as it is.
  auto stock_code = [](std::string_view code) -> Result<std::string_view> {
    if (code.size() == 6) return code;
    return Errc::kInvalidStockCode;
  };
  auto ok = stock_code("005930");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, "005930");
  auto bad = stock_code("59300");
  ASSERT_TRUE(bad.has_error());
  EXPECT_EQ(bad.error(), Errc::kInvalidStockCode);
}

}  // namespace
}  // namespace kisgate::common

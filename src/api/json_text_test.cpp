#include "api/json_text.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace kisgate::api {
namespace {

TEST(JsonText, ValidUtf8KeepsTextAndReplacesBadBytes) {
  EXPECT_EQ(ValidUtf8("/v1/stocks/005930/price"), "/v1/stocks/005930/price");
  EXPECT_EQ(ValidUtf8("정상처리"), "정상처리");
  EXPECT_EQ(ValidUtf8("a\xff"
                      "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ValidUtf8("\xc3"), "\xEF\xBF\xBD");                                  // cut short
  EXPECT_EQ(ValidUtf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  EXPECT_EQ(ValidUtf8(std::string_view("a\0b", 3)), std::string("a\0b", 3));
}

}  // namespace
}  // namespace kisgate::api

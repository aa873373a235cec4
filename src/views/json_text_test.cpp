#include "views/json_text.hpp"

#include <cmath>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "views/json_writer.hpp"

namespace kisgate::views {
namespace {

namespace json = boost::json;

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

TEST(JsonText, PlainNumbersAndEscapedStrings) {
  json::value v = json::object{{"pct", -0.78},      {"n", 17},
                               {"big", 1e21},       {"lakh", 100000.0},
                               {"whole", 2.0},      {"nan", std::nan("")},
                               {"s", "a\"b\n\x01"}, {"list", json::array{1.5, true, nullptr}}};
  const auto text = ToJsonText(v);
  EXPECT_EQ(
      text,
      R"({"pct":-0.78,"n":17,"big":1e+21,"lakh":100000,"whole":2,"nan":null,"s":"a\"b\n\u0001","list":[1.5,true,null]})");
  // What we write is JSON that reads back to the same values.
  auto back = json::parse(text);
  EXPECT_DOUBLE_EQ(back.at("pct").as_double(), -0.78);
  EXPECT_EQ(back.at("s").as_string(), "a\"b\n\x01");
}

TEST(JsonWriter, WritesNestedValuesWithCommasWhereDue) {
  std::string out;
  JsonWriter w(out);
  w.Begin()
      .Field("a", 1)
      .Key("empty")
      .BeginArray()
      .EndArray()
      .Key("list")
      .BeginArray()
      .Begin()
      .Field("x", 2.5)
      .End()
      .Begin()
      .End()
      .Value("s")
      .Null()
      .EndArray()
      .Field("t", true)
      .Key("raw")
      .Raw(R"({"k":1})")
      .End();
  EXPECT_EQ(out, R"({"a":1,"empty":[],"list":[{"x":2.5},{},"s",null],"t":true,"raw":{"k":1}})");
  EXPECT_NO_THROW(json::parse(out));
}

TEST(JsonWriter, WritesTheSameTextAsToJsonText) {
  std::string out;
  JsonWriter w(out);
  w.Begin().Field("pct", -0.78).Field("n", std::int64_t{-17}).Field("s", "정상").End();
  EXPECT_EQ(out, ToJsonText(json::parse(out)));
}

}  // namespace
}  // namespace kisgate::views

#pragma once
// JSON text written straight into a string, with numbers as people write them ("17.46", "-0.78",
// not Boost.JSON 1.81's "1.746E1"). Written by hand: Boost.JSON 1.81 serializes only a built value
// (a json::object of allocated nodes), and the market values are rendered on every stream event
// and every change of a value, where that tree is most of the cost. Keys and strings are escaped as
// RFC 8259 requires; the caller passes valid UTF-8 (ValidUtf8 makes text a peer sent so).
//
// JsonWriter w(out);
// w.Begin().Field("price", 71500).Key("asks").BeginArray().EndArray().End();

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

namespace kisgate::views {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& Begin();  // an object, as the next value
  JsonWriter& End();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);

  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& Value(T v) {
    return Int(static_cast<std::int64_t>(v));
  }
  JsonWriter& Value(bool v);
  JsonWriter& Value(double v);  // JSON has no NaN or infinity: those are null
  JsonWriter& Value(std::string_view v);
  JsonWriter& Value(const char* v) { return Value(std::string_view(v)); }
  JsonWriter& Value(const std::string& v) { return Value(std::string_view(v)); }
  JsonWriter& Null();
  // JSON text already written (a kept rendering), as the next value.
  JsonWriter& Raw(std::string_view json);

  template <class T>
  JsonWriter& Field(std::string_view key, const T& v) {
    Key(key);
    return Value(v);
  }

 private:
  JsonWriter& Int(std::int64_t v);
  void Separate();
  void Open(char bracket);
  void Close(char bracket);

  std::string& out_;
  std::uint64_t empty_ = 0;  // bit d: the container at depth d has no element yet
  int depth_ = 0;
  bool after_key_ = false;
};

// The JSON text of a number as JsonWriter writes it: the shortest form that reads back exactly,
// without an exponent below 1e16 ("2.15", "3", "100000"); "null" for NaN and infinity.
void AppendNumber(std::string& out, double v);
void AppendNumber(std::string& out, std::int64_t v);
// `s` as a JSON string, quotes included.
void AppendString(std::string& out, std::string_view s);

// `s` with every byte sequence that is not valid UTF-8 replaced by U+FFFD, so that text a peer
// controls (a request path) keeps a reply valid JSON.
std::string ValidUtf8(std::string_view s);

}  // namespace kisgate::views

#include "views/json_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <boost/locale/utf.hpp>

namespace kisgate::views {

void AppendNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  // fmt's "{}": the shortest text that reads back exactly, fixed up to 16 digits ("100000", not
  // std::to_chars' "1e+05").
  fmt::format_to(std::back_inserter(out), "{}", v);
}

void AppendNumber(std::string& out, std::int64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void AppendString(std::string& out, std::string_view s) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  out.push_back('"');
  std::size_t plain = 0;  // the start of the run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(plain, i - plain));
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(s.substr(plain));
  out.push_back('"');
}

std::string ValidUtf8(std::string_view s) {
  namespace utf = boost::locale::utf;
  std::string out;
  out.reserve(s.size());
  for (const auto* it = s.begin(); it != s.end();) {
    const auto* const start = it;
    const auto c = utf::utf_traits<char>::decode(it, s.end());
    if (c == utf::illegal || c == utf::incomplete) {
      out += "\xEF\xBF\xBD";  // U+FFFD, for one bad byte
      it = start + 1;
    } else {
      out.append(start, it);
    }
  }
  return out;
}

void JsonWriter::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (depth_ == 0) return;
  const std::uint64_t bit = std::uint64_t{1} << (depth_ - 1);
  if ((empty_ & bit) != 0) {
    empty_ &= ~bit;
  } else {
    out_.push_back(',');
  }
}

void JsonWriter::Open(char bracket) {
  Separate();
  out_.push_back(bracket);
  ++depth_;  // nesting deeper than 64 is not a market value
  empty_ |= std::uint64_t{1} << (depth_ - 1);
}

void JsonWriter::Close(char bracket) {
  --depth_;
  out_.push_back(bracket);
}

JsonWriter& JsonWriter::Begin() {
  Open('{');
  return *this;
}

JsonWriter& JsonWriter::End() {
  Close('}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Open('[');
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  Close(']');
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendString(out_, key);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::Int(std::int64_t v) {
  Separate();
  AppendNumber(out_, v);
  return *this;
}

JsonWriter& JsonWriter::Value(bool v) {
  Separate();
  out_ += v ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::Value(double v) {
  Separate();
  AppendNumber(out_, v);
  return *this;
}

JsonWriter& JsonWriter::Value(std::string_view v) {
  Separate();
  AppendString(out_, v);
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_ += "null";
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_.append(json);
  return *this;
}

}  // namespace kisgate::views

#include "api/json_text.hpp"

#include <cmath>

#include <fmt/format.h>
#include <boost/json/serialize.hpp>
#include <boost/locale/utf.hpp>

namespace kisgate::api {

namespace json = boost::json;

namespace {

void Write(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        out += json::serialize(json::string_view(key));
        out.push_back(':');
        Write(value, out);
      }
      out.push_back('}');
      break;
    }
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        Write(item, out);
      }
      out.push_back(']');
      break;
    }
    case json::kind::double_: {
      const double d = v.get_double();
      // JSON has no NaN or infinity; fmt's "{}" is the shortest text that reads back exactly.
      out += std::isfinite(d) ? fmt::format("{}", d) : std::string("null");
      break;
    }
    default:
      out += json::serialize(v);  // strings, integers, booleans, null
  }
}

}  // namespace

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

std::string ToJsonText(const json::value& v) {
  std::string out;
  Write(v, out);
  return out;
}

}  // namespace kisgate::api

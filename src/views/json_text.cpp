#include "views/json_text.hpp"

#include <boost/json/value.hpp>

namespace kisgate::views {

namespace json = boost::json;

void AppendJson(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        AppendString(out, std::string_view(key.data(), key.size()));
        out.push_back(':');
        AppendJson(out, value);
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
        AppendJson(out, item);
      }
      out.push_back(']');
      break;
    }
    case json::kind::double_:
      AppendNumber(out, v.get_double());
      break;
    case json::kind::int64:
      AppendNumber(out, v.get_int64());
      break;
    case json::kind::uint64:
      out += std::to_string(v.get_uint64());
      break;
    case json::kind::string:
      AppendString(out, std::string_view(v.get_string().data(), v.get_string().size()));
      break;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case json::kind::null:
      out += "null";
      break;
  }
}

std::string ToJsonText(const json::value& v) {
  std::string out;
  AppendJson(out, v);
  return out;
}

}  // namespace kisgate::views

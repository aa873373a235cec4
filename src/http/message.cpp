#include "http/message.hpp"

#include <algorithm>

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

namespace kisgate::http {

namespace {

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), LowerAscii);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return LowerAscii(x) == LowerAscii(y);
         });
}

namespace {

// Whether the comma-separated token list `list` ("keep-alive, Upgrade") holds `token`, any case.
bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, token)) return true;
  }
  return false;
}

}  // namespace

bool IsWebSocketUpgrade(const Request& request) {
  return request.method == "GET" &&
         HasToken(request.Header("connection").value_or(""), "upgrade") &&
         HasToken(request.Header("upgrade").value_or(""), "websocket");
}

std::optional<std::string_view> Request::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

std::string_view Request::Path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Request::Query() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

void Response::SetHeader(std::string name, std::string value) {
  for (auto& [key, v] : headers) {
    if (EqualsIgnoreCase(key, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> Response::Header(std::string_view name) const {
  return FindHeader(headers, name);
}

namespace {

// Characters a query may hold that no decoding changes: RFC 3986's unreserved ones, the separators
// '&' and '=', and ',' and ':' (code lists, times).
bool IsPlainQueryChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '&' || c == '=' || c == ',' || c == ':';
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  // An absent query may be a null view; Boost.URL would take its null pointer for a C string
  // (found by fuzz/sim_request_fuzz).
  if (query.empty()) return out;
  // The common query (`max_age=30`, `codes=005930,000660`) has nothing to decode: split it here,
  // the same way as below (a part without '=' is a name with an empty value, empty parts are
  // skipped). Written by hand because Boost.URL's validation and decoding views were a few percent
  // of a cached read's CPU; anything else goes to Boost.URL.
  if (std::all_of(query.begin(), query.end(), IsPlainQueryChar)) {
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto part = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (part.empty()) continue;
      const auto eq = part.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(std::string(part), std::string());
      } else {
        if (eq == 0 && part.size() == 1) continue;  // "=": an empty name and value
        out.emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
      }
    }
    return out;
  }
  const boost::core::string_view text(query.data(), query.size());
  // Validate first: the decoding view below throws on a malformed query.
  if (!boost::urls::parse_query(text)) return std::nullopt;
  // params_view decodes percent escapes and '+' as space, as browsers and KIS clients send them.
  for (auto param : boost::urls::params_view(text, boost::urls::encoding_opts(true))) {
    if (param.key.empty() && param.value.empty()) continue;
    out.emplace_back(std::string(param.key), std::string(param.value));
  }
  return out;
}

}  // namespace kisgate::http

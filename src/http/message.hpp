#pragma once
// Light HTTP message types for handlers. Beast stays inside server.cpp and client code, so modules
// that only handle requests (the simulator, the API routes) compile without Beast headers.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kisgate::http {

// Header names are stored lower-cased: HTTP header names are case-insensitive and KIS matches them
// that way too.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  Headers headers;
  std::string body;
  std::string remote;  // peer address, for logs

  // First header with this (case-insensitive) name.
  std::optional<std::string_view> Header(std::string_view name) const;
  std::string_view Path() const;   // target without the query
  std::string_view Query() const;  // after '?', or empty
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  void SetHeader(std::string name, std::string value);
  std::optional<std::string_view> Header(std::string_view name) const;
};

// Whether the request asks to become a WebSocket (GET with "Connection: upgrade" and
// "Upgrade: websocket", any case).
bool IsWebSocketUpgrade(const Request& request);

// ASCII lower-casing for header and parameter names.
std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Splits a query string into decoded (name, value) pairs in order. Names keep their case; callers
// compare them case-insensitively. Returns nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

}  // namespace kisgate::http

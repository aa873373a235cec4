#pragma once
// /v1/stream (Server-Sent Events) and /v1/ws (WebSocket): the hub's events (stream/hub.hpp) for
// the codes and data a client asks for. The query is parsed here, socket-free, so its errors are
// unit-tested; StreamHandler answers the routes and runs the connections.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "api/routes.hpp"
#include "common/clock.hpp"
#include "http/message.hpp"
#include "http/server.hpp"
#include "stream/hub.hpp"

namespace kisgate::api {

struct StreamQuery {
  stream::Filter filter;
  std::optional<std::uint64_t> last_event_id;  // the Last-Event-ID header or ?last_event_id=
};

struct StreamQueryError {
  int status = 400;
  std::string code;
  std::string message;
  std::string hint;
};

// ?codes=005930,000660&data=trades,orderbook[&last_event_id=N][&token=...]; `max_codes` bounds
// the codes (a request over it gets 400 naming the limit).
std::variant<StreamQuery, StreamQueryError> ParseStreamQuery(const http::Request& request,
                                                             std::size_t max_codes);

// A WebSocket client's {"codes":[...],"data":[...]} message, checked like the query.
std::variant<stream::Filter, StreamQueryError> ParseStreamChange(std::string_view message,
                                                                 std::size_t max_codes);

// The `token` query parameter of a request, "" when none (EventSource cannot send headers).
std::string QueryToken(const http::Request& request);

struct StreamDeps {
  // The real-time fan-out; may be null: the routes then answer 503.
  stream::Hub* hub = nullptr;
  const common::Clock* clock = nullptr;
  // How long an event stream stays silent before a heartbeat comment.
  std::chrono::milliseconds heartbeat{15'000};
};

// /v1/stream and /v1/ws: the headers, and the connection's function in `reply`; or a JSON error.
class StreamHandler {
 public:
  explicit StreamHandler(StreamDeps deps);
  http::Response Handle(const http::Request& request, const Route& route, http::Reply& reply);

 private:
  StreamDeps deps_;
};

}  // namespace kisgate::api

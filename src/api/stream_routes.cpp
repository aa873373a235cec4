#include "api/stream_routes.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include <fmt/format.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>

#include "api/service.hpp"
#include "common/stock_code.hpp"
#include "views/json_text.hpp"

namespace kisgate::api {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr std::string_view kCodesHint = "e.g. codes=005930,000660&data=trades,orderbook";

// At most this much of a value a client sent is quoted back in an error: an answer never grows
// with the input.
constexpr std::size_t kQuoteBytes = 24;

std::string Quote(std::string_view s) {
  if (s.size() <= kQuoteBytes) return views::ValidUtf8(s);
  return fmt::format("{}... ({} bytes)", views::ValidUtf8(s.substr(0, kQuoteBytes)), s.size());
}

// Distinct codes, in the order asked. The list is cut off as soon as it asks for more than
// `max_codes`, and distinct codes are found with a set: a list's cost is linear in its length
// (this runs on the io thread).
std::optional<StreamQueryError> SetCodes(stream::Filter& filter,
                                         const std::vector<std::string>& codes,
                                         std::size_t max_codes) {
  filter.codes.clear();
  std::unordered_set<std::string_view> seen;
  for (const auto& code : codes) {
    if (!common::IsStockCode(code)) {
      return StreamQueryError{400, "invalid_stock_code",
                              fmt::format("'{}' is not a stock code", Quote(code)),
                              "use six digits or capital letters, e.g. 005930"};
    }
    if (!seen.insert(code).second) continue;
    if (seen.size() > max_codes) {
      return StreamQueryError{
          400, "too_many_codes",
          fmt::format("more than {0} codes asked for; a client may ask for at most {0} "
                      "(max_codes_per_client)",
                      max_codes),
          "open another stream for the rest, or ask for fewer codes"};
    }
    filter.codes.push_back(code);
  }
  if (filter.codes.empty()) {
    return StreamQueryError{400, "missing_codes", "no stock codes asked for",
                            std::string(kCodesHint)};
  }
  return std::nullopt;
}

std::optional<StreamQueryError> SetData(stream::Filter& filter,
                                        const std::vector<std::string>& names) {
  filter.trades = false;
  filter.orderbook = false;
  for (const auto& name : names) {
    const auto data = stream::ParseStreamData(name);
    if (!data) {
      return StreamQueryError{400, "bad_data",
                              fmt::format("data '{}' is not trades or orderbook", Quote(name)),
                              std::string(kCodesHint)};
    }
    (*data == stream::StreamData::kTrades ? filter.trades : filter.orderbook) = true;
  }
  if (!filter.trades && !filter.orderbook) {
    return StreamQueryError{400, "bad_data", "no data asked for", "data=trades,orderbook"};
  }
  return std::nullopt;
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

std::optional<std::uint64_t> ParseId(std::string_view s) {
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return id;
}

std::string StatusJson(const stream::Filter& filter, std::uint64_t last_id) {
  json::array codes;
  for (const auto& c : filter.codes) codes.emplace_back(c);
  json::array data;
  if (filter.trades) data.emplace_back("trades");
  if (filter.orderbook) data.emplace_back("orderbook");
  return json::serialize(json::object{{"state", "subscribed"},
                                      {"codes", std::move(codes)},
                                      {"data", std::move(data)},
                                      {"last_id", last_id}});
}

// The SSE connection: events as they come, a comment every `heartbeat` of `clock` when none do,
// the final event when the hub cuts the subscriber; ends when the client goes.
asio::awaitable<void> PumpEvents(http::BodyStream& body, std::shared_ptr<stream::Subscriber> sub,
                                 const common::Clock& clock, std::chrono::milliseconds heartbeat) {
  for (;;) {
    co_await sub->Wait(clock.Now() + heartbeat);
    if (sub->cut()) {
      auto last = body.Write(sub->cut_event()->sse);
      co_await std::move(last);
      co_return;
    }
    auto events = sub->Take();
    std::string batch;
    if (events.empty()) {
      batch = ": heartbeat\n\n";
    } else {
      for (const auto& e : events) batch += e->sse;
    }
    auto write = body.Write(std::move(batch));
    if (!co_await std::move(write)) co_return;
  }
}

asio::awaitable<void> RunEventStream(std::unique_ptr<http::BodyStream> body,
                                     std::shared_ptr<stream::Subscriber> sub, std::string hello,
                                     const common::Clock& clock,
                                     std::chrono::milliseconds heartbeat) {
  // g++ 12 destroys temporaries of a co_await expression twice (STYLE.md): each awaitable is
  // made first, then awaited.
  auto first = body->Write(std::move(hello));
  if (!co_await std::move(first)) co_return;
  auto both = PumpEvents(*body, sub, clock, heartbeat) || body->WaitClosed();
  co_await std::move(both);
}

asio::awaitable<void> PumpMessages(http::WebSocket& ws, std::shared_ptr<stream::Subscriber> sub,
                                   const common::Clock& clock,
                                   std::chrono::milliseconds heartbeat) {
  for (;;) {
    co_await sub->Wait(clock.Now() + heartbeat);
    if (sub->cut()) {
      auto last = ws.Write(sub->cut_event()->json);
      co_await std::move(last);
      co_return;
    }
    // No heartbeat message: the server's protocol pings keep the connection checked.
    for (const auto& e : sub->Take()) {
      auto write = ws.Write(e->json);
      if (!co_await std::move(write)) co_return;
    }
  }
}

// The client's messages: a new set of codes and data, answered (through the pump, the one writer)
// with a "status" event.
asio::awaitable<void> ReadChanges(http::WebSocket& ws, stream::Hub& hub,
                                  std::shared_ptr<stream::Subscriber> sub) {
  while (auto message = co_await ws.Read()) {
    auto parsed = ParseStreamChange(*message, hub.options().max_codes_per_client);
    std::string answer;
    if (auto* e = std::get_if<StreamQueryError>(&parsed)) {
      answer = json::serialize(json::object{
          {"state", "error"}, {"code", e->code}, {"message", e->message}, {"hint", e->hint}});
    } else if (auto error = hub.Change(*sub, std::get<stream::Filter>(std::move(parsed)))) {
      answer = json::serialize(
          json::object{{"state", "error"}, {"code", "bad_request"}, {"message", *error}});
    } else {
      answer = StatusJson(sub->filter(), hub.LastId());
    }
    sub->Push(stream::ControlEvent("status", std::move(answer)));
  }
}

asio::awaitable<void> RunEventSocket(std::unique_ptr<http::WebSocket> ws, stream::Hub& hub,
                                     std::shared_ptr<stream::Subscriber> sub,
                                     const common::Clock& clock,
                                     std::chrono::milliseconds heartbeat) {
  auto both = PumpMessages(*ws, sub, clock, heartbeat) || ReadChanges(*ws, hub, sub);
  co_await std::move(both);
  if (sub->cut()) {
    auto close = ws->Close("cut");
    co_await std::move(close);
  }
}

}  // namespace

std::string QueryToken(const http::Request& request) {
  auto query = http::ParseQuery(request.Query());
  if (!query) return {};
  for (auto& [name, value] : *query) {
    if (name == "token") return value;
  }
  return {};
}

std::variant<StreamQuery, StreamQueryError> ParseStreamQuery(const http::Request& request,
                                                             std::size_t max_codes) {
  auto query = http::ParseQuery(request.Query());
  if (!query) {
    return StreamQueryError{400, "bad_query", "the query string has a malformed %-escape", {}};
  }
  StreamQuery q;
  std::optional<std::string> codes;
  std::optional<std::string> data;
  std::optional<std::string> last;
  for (auto& [name, value] : *query) {
    if (name == "codes") {
      codes = value;
    } else if (name == "data") {
      data = value;
    } else if (name == "last_event_id") {
      last = value;
    } else if (name != "token") {
      return StreamQueryError{400, "unknown_parameter",
                              fmt::format("unknown query parameter '{}'", Quote(name)),
                              "this route takes: codes, data, last_event_id, token"};
    }
  }
  if (auto e = SetCodes(q.filter, SplitComma(codes.value_or("")), max_codes)) return *e;
  if (auto e = SetData(q.filter, SplitComma(data.value_or("trades")))) return *e;
  if (!last) {
    if (auto header = request.Header("last-event-id")) last = std::string(*header);
  }
  if (last && !last->empty()) {
    q.last_event_id = ParseId(*last);
    if (!q.last_event_id) {
      return StreamQueryError{400, "bad_last_event_id",
                              fmt::format("Last-Event-ID '{}' is not an event id", Quote(*last)),
                              "send back the id: of the last event received"};
    }
  }
  return q;
}

std::variant<stream::Filter, StreamQueryError> ParseStreamChange(std::string_view message,
                                                                 std::size_t max_codes) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 4;
  const auto value = json::parse(message, ec, {}, options);
  const auto* object = ec ? nullptr : value.if_object();
  const json::array* codes =
      object ? (object->contains("codes") ? object->at("codes").if_array() : nullptr) : nullptr;
  if (codes == nullptr) {
    return StreamQueryError{400, "bad_message", "expected {\"codes\":[...],\"data\":[...]}",
                            R"(e.g. {"codes":["005930"],"data":["trades"]})"};
  }
  std::vector<std::string> code_list;
  for (const auto& c : *codes) {
    if (!c.is_string()) return StreamQueryError{400, "bad_message", "codes must be strings", {}};
    code_list.emplace_back(c.as_string());
  }
  std::vector<std::string> data_list{"trades"};
  if (const auto* d = object->if_contains("data")) {
    if (!d->is_array()) return StreamQueryError{400, "bad_message", "data must be a list", {}};
    data_list.clear();
    for (const auto& n : d->as_array()) {
      if (!n.is_string()) return StreamQueryError{400, "bad_message", "data must be strings", {}};
      data_list.emplace_back(n.as_string());
    }
  }
  stream::Filter filter;
  if (auto e = SetCodes(filter, code_list, max_codes)) return *e;
  if (auto e = SetData(filter, data_list)) return *e;
  return filter;
}

StreamHandler::StreamHandler(StreamDeps deps) : deps_(deps) {}

http::Response StreamHandler::Handle(const http::Request& request, const Route& route,
                                     http::Reply& reply) {
  const bool websocket = route.handler == Handler::kWebSocket;
  if (deps_.hub == nullptr) {
    return JsonError(503, "no_stream", "this kisgate has no real-time data",
                     "the real-time hub is not running in this process");
  }
  if (websocket && !http::IsWebSocketUpgrade(request)) {
    return JsonError(426, "upgrade_required", "/v1/ws is a WebSocket",
                     "connect with a WebSocket client, or use /v1/stream (Server-Sent Events)");
  }
  auto parsed = ParseStreamQuery(request, deps_.hub->options().max_codes_per_client);
  if (auto* e = std::get_if<StreamQueryError>(&parsed)) {
    return JsonError(e->status, e->code, e->message, e->hint);
  }
  auto& q = std::get<StreamQuery>(parsed);
  auto joined = deps_.hub->Subscribe(std::move(q.filter), q.last_event_id);
  if (auto* e = std::get_if<std::string>(&joined)) return JsonError(400, "bad_request", *e);
  auto sub = std::get<std::shared_ptr<stream::Subscriber>>(std::move(joined));
  const auto heartbeat = deps_.heartbeat;
  auto* hub = deps_.hub;
  const common::Clock* clock = deps_.clock;  // outlives the service and its connections
  http::Response r;
  if (websocket) {
    // The first message says what the client is subscribed to.
    sub->Push(stream::ControlEvent("status", StatusJson(sub->filter(), hub->LastId())));
    reply.websocket = [hub, sub, clock, heartbeat](std::unique_ptr<http::WebSocket> ws) {
      return RunEventSocket(std::move(ws), *hub, sub, *clock, heartbeat);
    };
    return r;
  }
  r.SetHeader("content-type", "text/event-stream; charset=utf-8");
  r.SetHeader("cache-control", "no-store");
  r.SetHeader("x-accel-buffering", "no");  // proxies (nginx) pass each event on at once
  auto hello =
      fmt::format("retry: 3000\n\n{}",
                  stream::ControlEvent("status", StatusJson(sub->filter(), hub->LastId()))->sse);
  reply.stream = [sub, clock, heartbeat,
                  hello = std::move(hello)](std::unique_ptr<http::BodyStream> b) {
    return RunEventStream(std::move(b), sub, hello, *clock, heartbeat);
  };
  return r;
}

}  // namespace kisgate::api

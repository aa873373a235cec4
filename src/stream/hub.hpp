#pragma once
// The fan-out of real-time data to API clients (issue 14): trades, order books and prices polled
// over REST come in through Publish; each event's JSON (and its Server-Sent Events frame) is
// rendered once, numbered, kept in a bounded ring for Last-Event-ID resume, and handed to every
// subscriber whose filter (codes x data) takes it as a shared_ptr copy. A subscriber has a bounded
// queue: one that does not keep up is cut (its consumer sees why and ends the stream), never
// slowing Publish or the others. The hub also keeps the latest trade and book of each code (for
// /v1/stocks/{code}/price "source: stream") and reports client demand (the codes subscribers want)
// to a callback, for the subscription planner.
//
// Thread-safety: one io_context thread; Hub, its subscribers and their consumers all live on it.
// Knobs: HubOptions (ring size, queue size in events and bytes, codes per client).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "common/timer.hpp"
#include "kis/quotes.hpp"
#include "kis/realtime.hpp"
#include "stream/subscription.hpp"

namespace kisgate::stream {

struct HubOptions {
  std::size_t ring_events = 10'000;        // kept for Last-Event-ID resume
  std::size_t queue_events = 2'000;        // per subscriber; one more and it is cut
  std::size_t queue_bytes = 8 << 20;       // per subscriber, rendered bytes; more and it is cut
  std::size_t max_codes_per_client = 100;  // codes one subscriber may ask for
};

// One event as clients get it, rendered once and shared by every subscriber it goes to.
struct Event {
  std::uint64_t id = 0;  // 0: a control event (gap, status), not numbered nor kept in the ring
  std::string kind;      // "trade", "book", "price", "gap", "status"
  std::string code;
  StreamData data = StreamData::kTrades;
  std::string json;  // {"id":N,"event":"trade","code":...}
  std::string sse;   // "id: N\nevent: trade\ndata: {json}\n\n"
};
using EventPtr = std::shared_ptr<const Event>;

// What one subscriber wants: codes (distinct, kept in the order asked) x data.
struct Filter {
  std::vector<std::string> codes;
  bool trades = true;
  bool orderbook = false;
  bool Takes(StreamData data) const { return data == StreamData::kTrades ? trades : orderbook; }
};

// The codes subscribers want, one entry per (code, data) with how many subscribers want it.
struct Demand {
  std::string code;
  StreamData data = StreamData::kTrades;
  std::size_t clients = 0;
  auto operator<=>(const Demand&) const = default;
};

struct HubCounters {
  std::uint64_t subscribers = 0;  // now
  std::uint64_t published = 0;    // events numbered since start
  std::uint64_t delivered = 0;    // events handed to subscribers' consumers
  std::uint64_t cut = 0;          // subscribers cut for a full queue (events or bytes)
};

class Hub;

// One client's place at the hub. Its consumer (the SSE or WebSocket connection) waits, takes what
// is queued, writes it, and ends when cut(). Destroying it leaves the hub.
class Subscriber {
 public:
  Subscriber(Hub* hub, const boost::asio::any_io_executor& executor, Filter filter);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Completes when events are queued, the subscriber is cut, or at `deadline` (a heartbeat), a
  // time of the clock common::Timer follows (the injected clock's Now()).
  boost::asio::awaitable<void> Wait(common::SteadyTime deadline);
  // Everything queued, oldest first (counted as delivered).
  std::vector<EventPtr> Take();
  // Cut by the hub: the final event to send (event "status", saying why), then end.
  bool cut() const { return cut_ != nullptr; }
  const EventPtr& cut_event() const { return cut_; }
  const Filter& filter() const { return filter_; }
  // Queues an event for this subscriber alone (an answer to its own request) and wakes it; a
  // subscriber whose queue is full (queue_events or queue_bytes) is cut instead, like in Publish.
  void Push(EventPtr event);

 private:
  friend class Hub;
  void Wake();
  void Queue(EventPtr event);
  bool Fits(const Event& event, const HubOptions& options) const;

  Hub* hub_;
  Filter filter_;
  std::deque<EventPtr> queue_;
  std::size_t queued_bytes_ = 0;
  common::Timer timer_;
  bool waiting_ = false;
  EventPtr cut_;
};

class Hub {
 public:
  Hub(boost::asio::any_io_executor executor, HubOptions options);
  ~Hub();  // cuts the subscribers left (they then hold no pointer to it)
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  void Publish(std::span<const kis::Tick> ticks);
  void Publish(std::span<const kis::BookSnapshot> books);
  // A price polled over REST (a code the session could not register): event "price", data trades.
  void PublishPrice(const kis::PriceQuote& quote, common::WallTime as_of);

  // Joins `filter` (codes checked by the caller: six characters). With `last_event_id`, the
  // events after it still in the ring that the filter takes are queued first, and an event "gap"
  // says when some of what was asked for is gone. Error: a sentence when the filter asks for more
  // than max_codes_per_client codes or for nothing.
  std::variant<std::shared_ptr<Subscriber>, std::string> Subscribe(
      Filter filter, std::optional<std::uint64_t> last_event_id = std::nullopt);
  // Changes a subscriber's filter (the WebSocket's {"codes":[...]} message); error as Subscribe.
  std::optional<std::string> Change(Subscriber& subscriber, Filter filter);

  // The latest of each code, null when none came.
  const kis::Tick* LatestTick(const std::string& code) const;
  const kis::BookSnapshot* LatestBook(const std::string& code) const;

  // Called with the whole demand whenever a (code, data) pair gains its first subscriber or loses
  // its last one.
  void SetDemandCallback(std::function<void(const std::vector<Demand>&)> callback);
  std::vector<Demand> CurrentDemand() const;

  HubCounters Counters() const;
  const HubOptions& options() const { return options_; }
  std::uint64_t LastId() const { return next_id_ - 1; }

 private:
  friend class Subscriber;
  void Emit(std::string kind, const std::string& code, StreamData data, std::string body);
  void Add(Subscriber& s);
  void Remove(Subscriber& s);
  void Cut(Subscriber& s, std::string reason, bool overflow = true);
  std::optional<std::string> Check(const Filter& filter) const;
  void Count(const Filter& filter, int delta, bool& changed);
  void ReportDemand();

  boost::asio::any_io_executor executor_;
  HubOptions options_;
  std::uint64_t next_id_ = 1;
  std::deque<EventPtr> ring_;
  std::unordered_map<std::string, std::vector<Subscriber*>> by_code_;
  std::vector<Subscriber*> all_;
  std::map<std::pair<std::string, StreamData>, std::size_t> demand_;
  std::function<void(const std::vector<Demand>&)> on_demand_;
  std::unordered_map<std::string, kis::Tick> latest_tick_;
  std::unordered_map<std::string, kis::BookSnapshot> latest_book_;
  std::vector<Subscriber*> to_cut_;
  HubCounters counters_;
};

// A control event (not numbered): "gap" or "status" with `json`'s fields.
EventPtr ControlEvent(std::string_view kind, std::string_view json);

}  // namespace kisgate::stream

#include "stream/hub.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "views/json_text.hpp"
#include "views/json_writer.hpp"
#include "views/market.hpp"

namespace kisgate::stream {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// {"id":N,"event":kind,<the value's fields>}, written once per event.
template <class Fields>
std::string Render(std::uint64_t id, std::string_view kind, Fields fields) {
  std::string out;
  out.reserve(512);
  views::JsonWriter w(out);
  w.Begin();
  if (id != 0) w.Field("id", id);
  w.Field("event", kind);
  fields(w);
  w.End();
  return out;
}

std::string SseFrame(std::uint64_t id, std::string_view kind, std::string_view data) {
  std::string out;
  out.reserve(data.size() + 40);
  if (id != 0) fmt::format_to(std::back_inserter(out), "id: {}\n", id);
  fmt::format_to(std::back_inserter(out), "event: {}\ndata: {}\n\n", kind, data);
  return out;
}

// What an event weighs in a subscriber's queue.
std::size_t Size(const Event& e) { return e.json.size() + e.sse.size(); }

// Distinct codes, in the order asked, in O(N log N): a client's list is checked after this.
std::vector<std::string> Distinct(const std::vector<std::string>& codes) {
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  out.reserve(codes.size());
  for (const auto& c : codes) {
    if (seen.insert(c).second) out.push_back(c);
  }
  return out;
}

}  // namespace

EventPtr ControlEvent(std::string_view kind, std::string_view json_fields) {
  auto e = std::make_shared<Event>();
  e->kind = kind;
  // `json_fields` is an object; "event" goes first like in numbered events.
  const auto parsed = json::parse(json_fields).as_object();
  e->json = Render(0, kind, [&](views::JsonWriter& w) {
    for (const auto& [key, value] : parsed) {
      w.Key(std::string_view(key.data(), key.size())).Raw(views::ToJsonText(value));
    }
  });
  e->sse = SseFrame(0, kind, e->json);
  return e;
}

// ---- Subscriber

Subscriber::Subscriber(Hub* hub, const asio::any_io_executor& executor, Filter filter)
    : hub_(hub), filter_(std::move(filter)), timer_(executor) {}

Subscriber::~Subscriber() {
  if (hub_ != nullptr && !cut()) hub_->Remove(*this);
}

asio::awaitable<void> Subscriber::Wait(common::SteadyTime deadline) {
  if (!queue_.empty() || cut()) co_return;
  timer_.expires_at(deadline);
  waiting_ = true;
  co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  waiting_ = false;
}

std::vector<EventPtr> Subscriber::Take() {
  std::vector<EventPtr> out(std::make_move_iterator(queue_.begin()),
                            std::make_move_iterator(queue_.end()));
  queue_.clear();
  queued_bytes_ = 0;
  if (hub_ != nullptr) hub_->counters_.delivered += out.size();
  return out;
}

bool Subscriber::Fits(const Event& event, const HubOptions& options) const {
  return queue_.size() < options.queue_events && queued_bytes_ + Size(event) <= options.queue_bytes;
}

void Subscriber::Queue(EventPtr event) {
  queued_bytes_ += Size(*event);
  queue_.push_back(std::move(event));
}

void Subscriber::Push(EventPtr event) {
  if (cut()) return;
  if (hub_ != nullptr && !Fits(*event, hub_->options_)) {
    // Answers to a client that sends faster than it reads count like events it does not take.
    hub_->Cut(*this, fmt::format("the client did not keep up: {} events ({} bytes) were waiting "
                                 "to be sent",
                                 queue_.size(), queued_bytes_));
    return;
  }
  Queue(std::move(event));
  Wake();
}

void Subscriber::Wake() {
  if (waiting_) {
    waiting_ = false;  // one cancel per wait, however many events come before the consumer runs
    timer_.cancel();
  }
}

// ---- Hub

Hub::Hub(asio::any_io_executor executor, HubOptions options)
    : executor_(std::move(executor)), options_(options) {}

Hub::~Hub() {
  auto left = all_;
  all_.clear();
  for (auto* s : left) s->hub_ = nullptr;  // first: they must never call back into a dead hub
  try {
    // Their consumers end with a final event, if they run again (the io_context may be gone).
    for (auto* s : left) {
      s->cut_ = ControlEvent("status", R"({"state":"closed","reason":"kisgate is stopping"})");
      s->Wake();
    }
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing more to do while being destroyed
  }
}

void Hub::Publish(std::span<const kis::Tick> ticks) {
  for (const auto& t : ticks) {
    auto& latest = latest_tick_[t.code];
    latest = t;
    Emit("trade", t.code, StreamData::kTrades,
         Render(next_id_, "trade", [&](views::JsonWriter& w) { views::TradeFields(w, t); }));
  }
}

void Hub::Publish(std::span<const kis::BookSnapshot> books) {
  for (const auto& b : books) {
    latest_book_[b.code] = b;
    Emit("book", b.code, StreamData::kOrderBook,
         Render(next_id_, "book", [&](views::JsonWriter& w) { views::BookFields(w, b); }));
  }
}

void Hub::PublishPrice(const kis::PriceQuote& quote, common::WallTime as_of) {
  Emit("price", quote.code, StreamData::kTrades,
       Render(next_id_, "price",
              [&](views::JsonWriter& w) { views::PolledPriceFields(w, quote, as_of); }));
}

void Hub::Emit(std::string kind, const std::string& code, StreamData data, std::string body) {
  auto e = std::make_shared<Event>();
  e->id = next_id_++;
  e->kind = std::move(kind);
  e->code = code;
  e->data = data;
  e->sse = SseFrame(e->id, e->kind, body);
  e->json = std::move(body);
  EventPtr event = std::move(e);
  counters_.published++;
  ring_.push_back(event);
  if (ring_.size() > options_.ring_events) ring_.pop_front();
  const auto it = by_code_.find(code);
  if (it == by_code_.end()) return;
  // Per subscriber: a filter check and a shared_ptr copy; a full queue is cut after the loop
  // (cutting edits the index being walked).
  for (auto* s : it->second) {
    if (!s->filter_.Takes(data)) continue;
    if (!s->Fits(*event, options_)) {
      to_cut_.push_back(s);
      continue;
    }
    s->Queue(event);
    s->Wake();
  }
  if (!to_cut_.empty()) {
    auto cut = std::move(to_cut_);
    to_cut_.clear();
    for (auto* s : cut) {
      Cut(*s, fmt::format("the client did not keep up: {} events ({} bytes) were waiting to be "
                          "sent",
                          s->queue_.size(), s->queued_bytes_));
    }
  }
}

std::optional<std::string> Hub::Check(const Filter& filter) const {
  if (filter.codes.empty()) return "no codes: ask for at least one stock code";
  if (!filter.trades && !filter.orderbook) return "no data: ask for trades, orderbook or both";
  if (filter.codes.size() > options_.max_codes_per_client) {
    return fmt::format("{} codes asked for; max_codes_per_client is {}", filter.codes.size(),
                       options_.max_codes_per_client);
  }
  return std::nullopt;
}

std::variant<std::shared_ptr<Subscriber>, std::string> Hub::Subscribe(
    Filter filter, std::optional<std::uint64_t> last_event_id) {
  filter.codes = Distinct(filter.codes);
  if (auto error = Check(filter)) return *error;
  auto s = std::make_shared<Subscriber>(this, executor_, std::move(filter));
  if (last_event_id) {
    const std::uint64_t last = *last_event_id;
    const std::uint64_t oldest = ring_.empty() ? next_id_ : ring_.front()->id;
    if (last >= next_id_) {
      s->Queue(ControlEvent(
          "gap", json::serialize(json::object{
                     {"after", last},
                     {"last_id", LastId()},
                     {"message", fmt::format("Last-Event-ID {} is newer than any event of this "
                                             "kisgate (it restarted): what came after it is gone",
                                             last)}})));
    } else if (last + 1 < oldest) {
      s->Queue(ControlEvent(
          "gap", json::serialize(json::object{
                     {"after", last},
                     {"missing_from", last + 1},
                     {"missing_to", oldest - 1},
                     {"message", fmt::format("events {} to {} are no longer kept (the ring "
                                             "holds the last {})",
                                             last + 1, oldest - 1, options_.ring_events)}})));
    }
    for (const auto& e : ring_) {
      if (e->id <= last || !s->filter_.Takes(e->data)) continue;
      const auto& want = s->filter_.codes;
      if (std::find(want.begin(), want.end(), e->code) != want.end()) s->Queue(e);
    }
  }
  Add(*s);
  return s;
}

std::optional<std::string> Hub::Change(Subscriber& subscriber, Filter filter) {
  filter.codes = Distinct(filter.codes);
  if (auto error = Check(filter)) return error;
  if (subscriber.cut()) return "this subscriber was cut";
  Remove(subscriber);
  subscriber.filter_ = std::move(filter);
  Add(subscriber);
  return std::nullopt;
}

void Hub::Add(Subscriber& s) {
  all_.push_back(&s);
  for (const auto& code : s.filter_.codes) by_code_[code].push_back(&s);
  bool changed = false;
  Count(s.filter_, +1, changed);
  counters_.subscribers = all_.size();
  if (changed) ReportDemand();
}

void Hub::Remove(Subscriber& s) {
  std::erase(all_, &s);
  for (const auto& code : s.filter_.codes) {
    auto it = by_code_.find(code);
    if (it == by_code_.end()) continue;
    std::erase(it->second, &s);
    if (it->second.empty()) by_code_.erase(it);
  }
  bool changed = false;
  Count(s.filter_, -1, changed);
  counters_.subscribers = all_.size();
  if (changed) ReportDemand();
}

void Hub::Cut(Subscriber& s, std::string reason, bool overflow) {
  if (s.cut()) return;
  Remove(s);
  s.queue_.clear();
  s.queued_bytes_ = 0;
  s.cut_ =
      ControlEvent("status", json::serialize(json::object{
                                 {"state", "closed"}, {"reason", reason}, {"last_id", LastId()}}));
  if (overflow) counters_.cut++;
  s.Wake();
}

void Hub::Count(const Filter& filter, int delta, bool& changed) {
  for (const auto& code : filter.codes) {
    for (const auto data : {StreamData::kTrades, StreamData::kOrderBook}) {
      if (!filter.Takes(data)) continue;
      const auto key = std::make_pair(code, data);
      if (delta > 0) {
        if (demand_[key]++ == 0) changed = true;
      } else {
        auto it = demand_.find(key);
        if (it != demand_.end() && --it->second == 0) {
          demand_.erase(it);
          changed = true;
        }
      }
    }
  }
}

std::vector<Demand> Hub::CurrentDemand() const {
  std::vector<Demand> out;
  out.reserve(demand_.size());
  for (const auto& [key, clients] : demand_) out.push_back({key.first, key.second, clients});
  return out;
}

void Hub::ReportDemand() {
  if (on_demand_) on_demand_(CurrentDemand());
}

void Hub::SetDemandCallback(std::function<void(const std::vector<Demand>&)> callback) {
  on_demand_ = std::move(callback);
}

const kis::Tick* Hub::LatestTick(const std::string& code) const {
  const auto it = latest_tick_.find(code);
  return it == latest_tick_.end() ? nullptr : &it->second;
}

const kis::BookSnapshot* Hub::LatestBook(const std::string& code) const {
  const auto it = latest_book_.find(code);
  return it == latest_book_.end() ? nullptr : &it->second;
}

HubCounters Hub::Counters() const { return counters_; }

}  // namespace kisgate::stream

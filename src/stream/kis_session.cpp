#include "stream/kis_session.hpp"

#include <algorithm>
#include <exception>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include "common/kst.hpp"
#include "common/spawn.hpp"
#include "common/timer.hpp"
#include "gate/gateway.hpp"
#include "gate/rng.hpp"
#include "http/websocket.hpp"
#include "kis/realtime_wire.hpp"
#include "views/json_writer.hpp"

namespace kisgate::stream {

namespace asio = boost::asio;

namespace {

// The gate's flow of approval-key calls (interactive lane: a session waits on it).
constexpr gate::FlowId kApprovalFlow = ~gate::FlowId{0} - 1;

constexpr std::string_view kHeldElsewhere = "OPSP8996";
constexpr std::string_view kAlreadySubscribed = "OPSP0002";
constexpr std::string_view kUnsubscribed = "OPSP0001";
constexpr std::string_view kNotSubscribed = "OPSP0003";
constexpr std::string_view kInvalidApprovalKey = "OPSP0011";

// Subscription's own <=> is defaulted, which clang-tidy 14 misreads (modernize-use-nullptr).
struct SubscriptionLess {
  bool operator()(const Subscription& a, const Subscription& b) const {
    return std::tie(a.tr_id, a.code) < std::tie(b.tr_id, b.code);
  }
};

bool IsTrades(std::string_view tr_id) {
  return tr_id == kis::kTradesTr || tr_id == kis::kOvertimeTradesTr;
}

// Waits on `timer` until it expires or is cancelled.
asio::awaitable<void> WaitOn(common::Timer& timer) {
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

std::string_view Name(SessionState state) {
  switch (state) {
    case SessionState::kStopped:
      return "stopped";
    case SessionState::kConnecting:
      return "connecting";
    case SessionState::kConnected:
      return "connected";
    case SessionState::kBackingOff:
      return "backing_off";
    case SessionState::kHeldElsewhere:
      return "held_elsewhere";
  }
  return "stopped";
}

std::string WsUrlFor(const config::KeyConfig& key) {
  auto url = boost::urls::parse_uri(key.base_url);
  const bool kis_host = !url || url->host().ends_with("koreainvestment.com");
  if (kis_host) {
    return key.environment == config::KisEnvironment::kMock
               ? "ws://ops.koreainvestment.com:31000/tryitout"
               : "ws://ops.koreainvestment.com:21000/tryitout";
  }
  // Anything else (the simulator) serves its WebSocket on the listener of its REST API.
  return fmt::format("{}://{}/tryitout", url->scheme() == "https" ? "wss" : "ws",
                     url->encoded_host_and_port());
}

struct KisSession::Impl : std::enable_shared_from_this<KisSession::Impl> {
  enum class RegState : std::uint8_t { kSubscribing, kActive, kUnsubscribing, kRefused };

  // One live WebSocket connection and the tasks that serve it.
  struct Connection {
    explicit Connection(const asio::any_io_executor& ex)
        : wake(ex), tick(ex), apply(ex), tasks_done(ex) {}
    std::shared_ptr<http::WebSocket> socket;
    std::deque<std::string> outbox;
    common::Timer wake;        // the writer waits on it for the outbox
    common::Timer tick;        // the watchdog's period
    common::Timer apply;       // a coalesced change waits on it for change_interval
    common::Timer tasks_done;  // cancelled when the last helper task ends
    int tasks = 0;
    bool closed = false;
    bool held_elsewhere = false;  // OPSP8996 on this connection, or the lease was lost
    common::SteadyTime last_frame{};
    common::SteadyTime connected_at{};
    common::SteadyTime last_apply{};  // when registration changes last went out
    bool apply_pending = false;       // a change waits for change_interval
  };

  Impl(asio::any_io_executor ex, gate::Gateway& g, const common::Clock& c, KisSessionOptions o,
       SessionSink& s, SessionLease* l, Connector connector)
      : executor(std::move(ex)),
        gateway(g),
        clock(c),
        options(std::move(o)),
        sink(s),
        lease(l),
        connect(std::move(connector)),
        rng(options.seed),
        sleep(executor),
        done(executor) {
    status.key_name = options.key_name;
    status.max_registrations = options.max_registrations;
    calendar = options.calendar ? options.calendar : std::make_shared<common::MarketCalendar>();
    if (!connect) {
      connect = [ex = executor](
                    std::string url,
                    std::string& error) -> asio::awaitable<std::unique_ptr<http::WebSocket>> {
        auto open = http::ConnectWebSocket(ex, std::move(url), http::WebSocketOptions{}, error);
        co_return co_await std::move(open);
      };
    }
  }

  asio::any_io_executor executor;
  gate::Gateway& gateway;
  const common::Clock& clock;
  KisSessionOptions options;
  SessionSink& sink;
  SessionLease* lease;
  std::shared_ptr<const common::MarketCalendar> calendar;
  Connector connect;
  gate::Rng rng;
  common::Timer sleep;  // the run loop's waits; Stop cancels it
  common::Timer done;   // cancelled when the run loop ends
  bool started = false;
  bool running = false;
  bool stopping = false;
  std::optional<common::SteadyTime> last_approval;  // when the last approval key was asked for
  int failures = 0;  // consecutive connections that failed or ended before healthy_after

  std::set<Subscription, SubscriptionLess> wanted;
  std::map<Subscription, std::pair<RegState, std::string>, SubscriptionLess>
      registrations;                                                            // on `conn`
  std::map<Subscription, common::SteadyTime, SubscriptionLess> subscribe_sent;  // not yet answered
  std::shared_ptr<Connection> conn;
  std::string approval_key;
  SessionStatus status;
  // Gaps: the time of the last data frame, and the start of the gap not yet closed by a frame.
  std::optional<common::WallTime> last_data_at;
  std::optional<common::WallTime> gap_from;
  // Per code: its last order-book snapshot (a repeated one is dropped).
  std::map<std::string, kis::BookSnapshot, std::less<>> last_book;
  // Per code: the date and time of its last trade and how many trades had them (Tick::seq).
  std::map<std::string, std::pair<std::string, std::uint32_t>, std::less<>> last_second;

  void Spawn(asio::awaitable<void> task, std::string name) {
    asio::co_spawn(executor, std::move(task),
                   common::LogExceptions{
                       fmt::format("stream session '{}': {}", options.key_name, std::move(name))});
  }

  asio::awaitable<void> Wait(common::Duration d) {
    sleep.expires_at(clock.Now() + d);
    co_await WaitOn(sleep);
  }

  common::Duration BackoffDelay() {
    // Exponential, with the second half jittered so sessions that dropped together spread out.
    const auto exp = std::min(failures - 1, 20);
    const auto full = std::min<common::Duration>(options.backoff_cap,
                                                 options.backoff_base * (1LL << std::max(exp, 0)));
    return full / 2 +
           std::chrono::duration_cast<common::Duration>(full / 2 * gate::UnitUniform(rng));
  }

  void Fail(std::string error) {
    // Messages may quote what KIS sent: JSON (/v1/budget) needs valid UTF-8.
    error = views::ValidUtf8(error);
    spdlog::warn("stream session '{}': {}", options.key_name, error);
    status.last_error = std::move(error);
  }

  asio::awaitable<void> Run() {
    auto self = shared_from_this();
    while (!stopping) {
      if (lease != nullptr) {
        auto acquire = lease->Acquire();
        const bool held = co_await std::move(acquire);
        if (stopping) break;
        if (!held) {
          status.state = SessionState::kHeldElsewhere;
          status.held_elsewhere++;
          const auto holder = lease->Holder();
          status.last_error = fmt::format("the session's lease is held by {}",
                                          holder.empty() ? "another instance" : holder);
          co_await Wait(options.lease_renew);
          continue;
        }
      }
      status.state = SessionState::kConnecting;
      auto serve = Connect();
      const bool held_elsewhere = co_await std::move(serve);
      if (lease != nullptr) {
        auto release = lease->Release();
        co_await std::move(release);
      }
      if (stopping) break;
      if (held_elsewhere) {
        status.state = SessionState::kHeldElsewhere;
        status.held_elsewhere++;
        co_await Wait(options.hold);
      } else {
        failures++;
        status.state = SessionState::kBackingOff;
        co_await Wait(BackoffDelay());
      }
    }
    status.state = SessionState::kStopped;
    running = false;
    done.cancel();
  }

  // One connection, from the approval key to its end. True when it ended because the key's
  // session is held elsewhere (OPSP8996, or the lease went to another instance).
  asio::awaitable<bool> Connect() {
    if (last_approval && clock.Now() < *last_approval + options.approval_interval) {
      co_await Wait(*last_approval + options.approval_interval - clock.Now());
      if (stopping) co_return false;
    }
    last_approval = clock.Now();
    auto approval = gateway.ApprovalKey(options.key_name,
                                        gate::CallOptions{common::Lane::kInteractive, kApprovalFlow,
                                                          clock.Now() + options.approval_timeout});
    auto approved = co_await std::move(approval);
    if (auto* error = std::get_if<kis::Classification>(&approved)) {
      Fail(fmt::format("approval key: {} {}", error->code, error->message));
      co_return false;
    }
    status.approval_keys++;
    approval_key = std::move(std::get<std::string>(approved));
    if (stopping) co_return false;
    std::string error;
    auto open = connect(options.ws_url, error);
    std::shared_ptr<http::WebSocket> socket = co_await std::move(open);
    if (!socket) {
      Fail(error.empty() ? fmt::format("cannot connect to {}", options.ws_url) : error);
      co_return false;
    }
    if (stopping) {
      socket->Abort();
      co_return false;
    }
    auto c = std::make_shared<Connection>(executor);
    c->socket = socket;
    c->last_frame = clock.Now();
    c->connected_at = clock.Now();
    c->last_apply = clock.Now();
    conn = c;
    status.connects++;
    if (status.connects > 1) status.reconnects++;
    status.state = SessionState::kConnected;
    status.connected_since = clock.WallNow();
    spdlog::info("stream session '{}': connected to {} ({} registrations)", options.key_name,
                 options.ws_url, wanted.size());
    registrations.clear();
    subscribe_sent.clear();
    for (const auto& s : wanted) Subscribe(s);
    c->tasks = 2;
    Spawn(Writer(c), "writer");
    Spawn(Watchdog(c), "watchdog");
    while (!c->closed) {
      auto read = socket->Read();
      std::optional<std::string> text = co_await std::move(read);
      if (!text) break;
      OnFrame(*c, *text);
    }
    // The end of the connection, whoever ended it: the helpers finish before the next one.
    c->closed = true;
    socket->Abort();
    c->wake.cancel();
    c->tick.cancel();
    c->apply.cancel();
    while (c->tasks > 0) {
      c->tasks_done.expires_at(common::SteadyTime::max());
      co_await WaitOn(c->tasks_done);
    }
    conn.reset();
    registrations.clear();
    subscribe_sent.clear();
    status.registrations = 0;
    // Only a connection that stayed up resets the backoff: KIS accepting the subscriptions and
    // then dropping the connection must not make a reconnect loop.
    if (clock.Now() - c->connected_at >= options.healthy_after) failures = 0;
    // Data stops here: the gap runs from the last frame until the first one after a reconnect
    // (one gap across several failed reconnects).
    if (!gap_from && last_data_at) gap_from = last_data_at;
    if (!stopping) {
      spdlog::info("stream session '{}': disconnected{}", options.key_name,
                   status.last_error.empty() ? "" : ": " + status.last_error);
    }
    co_return c->held_elsewhere;
  }

  asio::awaitable<void> Writer(std::shared_ptr<Connection> c) {
    auto self = shared_from_this();
    while (!c->closed) {
      if (c->outbox.empty()) {
        c->wake.expires_at(common::SteadyTime::max());
        co_await WaitOn(c->wake);
        continue;
      }
      std::string text = std::move(c->outbox.front());
      c->outbox.pop_front();
      auto write = c->socket->Write(std::move(text));
      if (!co_await std::move(write)) {
        if (!c->closed) Fail("a write to the KIS WebSocket failed");
        c->socket->Abort();
        break;
      }
    }
    TaskEnded(*c);
  }

  // Declares the connection dead when nothing arrives (KIS pings every 10 s), and renews the lease.
  asio::awaitable<void> Watchdog(std::shared_ptr<Connection> c) {
    auto self = shared_from_this();
    auto period = options.idle_timeout / 4;
    if (lease != nullptr) period = std::min(period, options.lease_renew);
    auto renew_at = clock.Now() + options.lease_renew;
    while (!c->closed) {
      c->tick.expires_at(clock.Now() + period);
      co_await WaitOn(c->tick);
      if (c->closed) break;
      const auto now = clock.Now();
      ExpireUnanswered(now);
      if (now - c->last_frame >= options.idle_timeout) {
        Fail(fmt::format(
            "no frame from KIS for {} s",
            std::chrono::duration_cast<std::chrono::seconds>(now - c->last_frame).count()));
        c->socket->Abort();
        break;
      }
      if (lease != nullptr && now >= renew_at) {
        auto acquire = lease->Acquire();
        const bool held = co_await std::move(acquire);
        renew_at = clock.Now() + options.lease_renew;
        if (!held && !c->closed) {
          Fail("the session's lease went to another instance");
          c->held_elsewhere = true;
          c->socket->Abort();
          break;
        }
      }
    }
    TaskEnded(*c);
  }

  // Subscriptions KIS has not answered in ack_timeout: reported as refused (the next change tries
  // them again), so a silent KIS does not look like a working session.
  void ExpireUnanswered(common::SteadyTime now) {
    bool expired = false;
    for (auto it = subscribe_sent.begin(); it != subscribe_sent.end();) {
      auto reg = registrations.find(it->first);
      if (reg == registrations.end() || reg->second.first != RegState::kSubscribing) {
        it = subscribe_sent.erase(it);
        continue;
      }
      if (now - it->second < options.ack_timeout) {
        ++it;
        continue;
      }
      reg->second = {
          RegState::kRefused,
          fmt::format(
              "no answer from KIS in {} s",
              std::chrono::duration_cast<std::chrono::seconds>(options.ack_timeout).count())};
      status.unanswered++;
      if (!expired) {
        Fail(fmt::format("{} {}: {}", it->first.tr_id, it->first.code, reg->second.second));
      }
      expired = true;
      it = subscribe_sent.erase(it);
    }
    if (expired) UpdateCounts();
  }

  // A change of the wanted set: applied now when the last change went out change_interval ago,
  // otherwise once that much has passed, with whatever is wanted then.
  void Changed() {
    if (!conn || conn->closed) return;  // a connection subscribes everything wanted
    if (conn->apply_pending) {
      status.changes_coalesced++;
      return;
    }
    const auto at = conn->last_apply + options.change_interval;
    if (clock.Now() >= at) {
      Apply();
      return;
    }
    conn->apply_pending = true;
    conn->tasks++;
    Spawn(ApplyLater(conn, at), "registration change");
  }

  asio::awaitable<void> ApplyLater(std::shared_ptr<Connection> c, common::SteadyTime at) {
    auto self = shared_from_this();
    c->apply.expires_at(at);
    co_await WaitOn(c->apply);
    c->apply_pending = false;
    if (!c->closed && conn == c) Apply();
    TaskEnded(*c);
  }

  static void TaskEnded(Connection& c) {
    if (--c.tasks == 0) c.tasks_done.cancel();
  }

  void Send(std::string text) {
    if (!conn || conn->closed) return;
    conn->outbox.push_back(std::move(text));
    conn->wake.cancel();
  }

  // A peer that sends PINGPONGs and does not read our writes must not fill memory with echoes.
  void Echo(std::string text) {
    if (!conn || conn->closed) return;
    if (conn->outbox.size() >= options.max_outbox) {
      status.pings_dropped++;
      return;
    }
    Send(std::move(text));
  }

  std::size_t Used() const {
    return static_cast<std::size_t>(
        std::count_if(registrations.begin(), registrations.end(), [](const auto& r) {
          return r.second.first == RegState::kSubscribing || r.second.first == RegState::kActive;
        }));
  }

  void Subscribe(const Subscription& s) {
    if (Used() >= options.max_registrations) {
      // KIS would refuse it (OPSP0008) or stay silent: not sent.
      registrations[s] = {RegState::kRefused, fmt::format("over the session's {} registrations",
                                                          options.max_registrations)};
    } else {
      registrations[s] = {RegState::kSubscribing, ""};
      subscribe_sent[s] = clock.Now();
      Send(kis::SubscriptionFrame(approval_key, s.tr_id, s.code, true));
    }
    UpdateCounts();
  }

  void Apply() {
    if (!conn || conn->closed) return;
    conn->last_apply = clock.Now();
    // Unsubscribe first: KIS handles frames in order, so the freed places serve the added ones.
    for (auto it = registrations.begin(); it != registrations.end();) {
      auto& [s, reg] = *it;
      if (wanted.contains(s)) {
        ++it;
        continue;
      }
      if (reg.first == RegState::kRefused) {
        it = registrations.erase(it);
        continue;
      }
      if (reg.first != RegState::kUnsubscribing) {
        reg = {RegState::kUnsubscribing, ""};
        Send(kis::SubscriptionFrame(approval_key, s.tr_id, s.code, false));
      }
      ++it;
    }
    for (const auto& s : wanted) {
      auto it = registrations.find(s);
      // Being unsubscribed but wanted again: KIS takes the frames in order, so subscribe again.
      if (it == registrations.end() || it->second.first == RegState::kRefused ||
          it->second.first == RegState::kUnsubscribing) {
        Subscribe(s);
      }
    }
    UpdateCounts();
  }

  void UpdateCounts() {
    status.wanted = wanted.size();
    status.registrations = Used();
    status.refused.clear();
    for (const auto& [s, reg] : registrations) {
      if (reg.first == RegState::kRefused) status.refused.push_back(s);
    }
  }

  std::string TradingDay() const { return common::FormatYmd(common::ToKst(clock.WallNow()).date); }

  void OnFrame(Connection& c, const std::string& text) {
    status.frames++;
    c.last_frame = clock.Now();
    const auto received_at = clock.WallNow();
    auto frame = kis::ParseRealtimeFrame(text, received_at, TradingDay());
    if (auto* ping = std::get_if<kis::PingPong>(&frame)) {
      status.pings++;
      Echo(std::move(ping->text));
    } else if (auto* ack = std::get_if<kis::RealtimeAck>(&frame)) {
      OnAck(c, *ack);
    } else if (auto* data = std::get_if<kis::RealtimeData>(&frame)) {
      OnData(*data, received_at);
    } else {
      const auto& error = std::get<kis::RealtimeError>(frame);
      status.parse_errors++;
      status.parse_errors_by_kind[std::string(kis::Name(error.kind))]++;
      status.last_error = views::ValidUtf8(error.message);
      // The first of each kind is worth a line; the counters tell the rest.
      if (status.parse_errors_by_kind[std::string(kis::Name(error.kind))] == 1) {
        spdlog::warn("stream session '{}': {}", options.key_name, status.last_error);
      }
    }
  }

  void OnAck(Connection& c, const kis::RealtimeAck& ack) {
    if (ack.msg_cd == kHeldElsewhere) {
      Fail(fmt::format("{} {}: the key's session is held elsewhere", ack.msg_cd, ack.msg1));
      c.held_elsewhere = true;
      c.closed = true;  // the read loop ends after this frame
      return;
    }
    if (ack.msg_cd == kInvalidApprovalKey) {
      Fail(fmt::format("{} {}: reconnecting with a new approval key", ack.msg_cd, ack.msg1));
      c.closed = true;
      return;
    }
    auto it = registrations.find(Subscription{ack.tr_id, ack.tr_key});
    if (it == registrations.end()) return;  // not (or no longer) ours
    auto& reg = it->second;
    if (reg.first == RegState::kUnsubscribing || ack.msg_cd == kUnsubscribed ||
        ack.msg_cd == kNotSubscribed) {
      // An unsubscribe's answer, whatever it says: the place is free.
      if (reg.first == RegState::kUnsubscribing) registrations.erase(it);
    } else if (ack.ok || ack.msg_cd == kAlreadySubscribed) {
      reg = {RegState::kActive, ""};
    } else {
      reg = {RegState::kRefused, fmt::format("{} {}", ack.msg_cd, ack.msg1)};
      Fail(fmt::format("{} {} refused: {} {}", ack.tr_id, ack.tr_key, ack.msg_cd, ack.msg1));
    }
    UpdateCounts();
  }

  // Whether data of (tr_id, code) is ours: registered on this connection (or being subscribed or
  // unsubscribed, when KIS may still send it).
  bool Registered(const std::string& tr_id, const std::string& code) const {
    const auto it = registrations.find(Subscription{tr_id, code});
    return it != registrations.end() && it->second.first != RegState::kRefused;
  }

  // A book's frame has no date: the session's trading day, unless its time is later than now (by
  // more than a minute of clock skew), when it is the book of the trading day before.
  void DateBook(kis::BookSnapshot& book, common::WallTime received_at) const {
    const auto time = common::ParseHms(book.time);
    const auto now = common::ToKst(received_at);
    if (!time || *time <= now.time_of_day + std::chrono::minutes(1)) return;
    book.date = common::FormatYmd(calendar->PreviousTradingDay(now.date));
  }

  // Equal to the last snapshot of its code in everything but when it arrived.
  bool Repeated(const kis::BookSnapshot& book) {
    const auto same_levels = [](const auto& a, const auto& b) {
      return std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
        return x.price == y.price && x.quantity == y.quantity;
      });
    };
    auto [it, first] = last_book.try_emplace(book.code, book);
    if (first) return false;
    const auto& last = it->second;
    const bool same =
        last.date == book.date && last.time == book.time && last.after_hours == book.after_hours &&
        same_levels(last.asks, book.asks) && same_levels(last.bids, book.bids) &&
        last.total_ask_quantity == book.total_ask_quantity &&
        last.total_bid_quantity == book.total_bid_quantity &&
        last.expected_price == book.expected_price &&
        last.expected_volume == book.expected_volume && last.cum_volume == book.cum_volume;
    if (same) {
      status.books_repeated++;
      return true;
    }
    it->second = book;
    return false;
  }

  void OnData(kis::RealtimeData& data, common::WallTime received_at) {
    // Data KIS sends for what this session did not register is dropped: it would be stored and
    // kept per code without bound.
    const auto unregistered = [&](const auto& record) {
      return !Registered(data.tr_id, record.code);
    };
    status.unregistered_records += std::erase_if(data.ticks, unregistered);
    status.unregistered_records += std::erase_if(data.books, unregistered);
    if (data.ticks.empty() && data.books.empty()) return;
    status.records += data.ticks.size() + data.books.size();
    if (gap_from) {
      Gap gap;
      gap.id = ++status.gaps;
      gap.key_name = options.key_name;
      gap.from = *gap_from;
      gap.to = received_at;
      for (const auto& s : wanted) {
        if (IsTrades(s.tr_id)) gap.codes.push_back(s.code);
      }
      std::sort(gap.codes.begin(), gap.codes.end());
      gap.codes.erase(std::unique(gap.codes.begin(), gap.codes.end()), gap.codes.end());
      gap_from.reset();
      status.recent_gaps.push_back(gap);
      while (status.recent_gaps.size() > options.recent_gaps) status.recent_gaps.pop_front();
      spdlog::info("stream session '{}': gap {} from {} to {}", options.key_name, gap.id,
                   common::FormatKstDateTime(gap.from), common::FormatKstDateTime(gap.to));
      sink.OnGap(gap);
    }
    last_data_at = received_at;
    if (!data.ticks.empty()) {
      for (auto& tick : data.ticks) {
        auto& [second, count] = last_second[tick.code];
        const std::string at = tick.date + tick.time;
        if (second == at) {
          tick.seq = ++count;
        } else {
          second = at;
          count = 0;
          tick.seq = 0;
        }
      }
      sink.OnTicks(data.ticks);
    }
    if (!data.books.empty()) {
      for (auto& book : data.books) DateBook(book, received_at);
      std::erase_if(data.books, [&](const kis::BookSnapshot& book) { return Repeated(book); });
      if (!data.books.empty()) sink.OnBooks(data.books);
    }
  }

  asio::awaitable<void> Stop() {
    auto self = shared_from_this();
    stopping = true;
    sleep.cancel();
    if (conn) {
      conn->closed = true;
      conn->socket->Abort();
    }
    while (running) {
      done.expires_at(common::SteadyTime::max());
      co_await WaitOn(done);
    }
    status.state = SessionState::kStopped;
  }
};

KisSession::KisSession(asio::any_io_executor executor, gate::Gateway& gateway,
                       const common::Clock& clock, KisSessionOptions options, SessionSink& sink,
                       SessionLease* lease, Connector connect)
    : impl_(std::make_shared<Impl>(std::move(executor), gateway, clock, std::move(options), sink,
                                   lease, std::move(connect))) {}

KisSession::~KisSession() {
  // Normally stopped already; otherwise the tasks end at their next step.
  impl_->stopping = true;
  try {
    impl_->sleep.cancel();
  } catch (const std::exception& e) {
    // Cancelling a timer throws only when the reactor is broken: nothing left to do about it.
    spdlog::error("stream session '{}': {}", impl_->options.key_name, e.what());
  }
  if (impl_->conn) impl_->conn->socket->Abort();
}

void KisSession::Start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->running = true;
  impl_->Spawn(impl_->Run(), "run");
}

asio::awaitable<void> KisSession::Stop() {
  auto impl = impl_;
  auto stop = impl->Stop();
  co_await std::move(stop);
}

void KisSession::SetSubscriptions(const std::vector<Subscription>& wanted) {
  std::set<Subscription, SubscriptionLess> next(wanted.begin(), wanted.end());
  if (next == impl_->wanted) return;
  impl_->wanted = std::move(next);
  impl_->status.wanted = impl_->wanted.size();
  impl_->Changed();
}

SessionStatus KisSession::Status() const { return impl_->status; }

}  // namespace kisgate::stream

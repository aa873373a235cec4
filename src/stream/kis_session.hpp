#pragma once
// stream::KisSession: the KIS WebSocket session of one app key (kis-api.md §8). It owns the
// connection: an approval key per connection through the gate (Gateway::ApprovalKey, counted in the
// key's budget), the registrations of the wanted set, PINGPONG echoed as a text frame, reconnects
// with exponential backoff and jitter, and a wait of `hold` when KIS answers OPSP8996 (the key's
// session is held elsewhere). After a reconnect everything is subscribed again (OPSP0002 counts as
// subscribed) and the stretch without data, from the last frame before the drop to the first
// after, is reported as a Gap. SetSubscriptions swaps registrations on the live connection
// (unsubscribe the removed, subscribe the added), never by reconnecting, and at most once per
// `change_interval`: changes of demand in between are coalesced, so clients that churn their codes
// cannot make the session churn KIS's registrations. With a SessionLease it connects only while it
// holds the lease, renews it while connected and releases it when it stops or disconnects.
//
// What KIS sends is bounded: data for a (TR, code) not registered is dropped and counted, a
// subscription KIS leaves unanswered for `ack_timeout` is reported as refused (and tried again with
// the next change), and PINGPONG echoes are not queued behind more than `max_outbox` frames a
// peer does not read. The backoff is reset only by a connection that stayed up `healthy_after`.
// An order-book snapshot equal to the code's last one (KIS sends the current book again after a
// reconnect) is dropped, not stored twice.
//
// Parsed trades and books go to a SessionSink in batches (one per data frame), gaps too.
//
// Thread-safety: one executor (single-threaded io_context); every member is called from it.
// Knobs: KisSessionOptions.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "common/kst.hpp"
#include "config/config.hpp"
#include "kis/realtime.hpp"
#include "stream/subscription.hpp"

namespace kisgate::http {
class WebSocket;
}
namespace kisgate::gate {
class Gateway;
}

namespace kisgate::stream {

// A stretch of time in which a session received nothing because it was not connected: from the
// last data frame before a drop to the first data frame after the reconnect.
struct Gap {
  std::uint64_t id = 0;  // per session, from 1
  std::string key_name;
  common::WallTime from{};
  common::WallTime to{};
  std::vector<std::string> codes;  // the codes whose trades were subscribed, sorted
};

// Where a session delivers what it receives. Called on the session's executor, one batch per data
// frame; a sink that blocks stalls the session.
class SessionSink {
 public:
  virtual ~SessionSink() = default;
  virtual void OnTicks(std::span<const kis::Tick> ticks) = 0;
  virtual void OnBooks(std::span<const kis::BookSnapshot> books) = 0;
  virtual void OnGap(const Gap& gap) = 0;
};

enum class SessionState : std::uint8_t {
  kStopped,
  kConnecting,  // asking the approval key, connecting, or waiting for the first acks
  kConnected,
  kBackingOff,     // waiting before reconnecting after a failure or a drop
  kHeldElsewhere,  // OPSP8996, or another instance holds the lease: waiting
};
std::string_view Name(SessionState state);  // "stopped", "connecting", ...

// For the dashboard, /v1/budget and /metrics.
struct SessionStatus {
  std::string key_name;
  SessionState state = SessionState::kStopped;
  std::size_t wanted = 0;         // registrations asked for
  std::size_t registrations = 0;  // subscribed or being subscribed on the live connection
  std::size_t max_registrations = 0;
  std::vector<Subscription> refused;  // KIS refused them (OPSP0008 or an invalid TR/code)
  std::uint64_t connects = 0;         // connections that came up (the first one included)
  std::uint64_t reconnects = 0;       // connections after the first
  std::uint64_t held_elsewhere = 0;   // OPSP8996 answers and lease refusals
  std::uint64_t approval_keys = 0;    // approval keys obtained
  std::uint64_t gaps = 0;
  std::deque<Gap> recent_gaps;  // the newest last
  std::uint64_t frames = 0;     // text frames received
  std::uint64_t records = 0;    // trades and books parsed
  std::uint64_t pings = 0;      // PINGPONGs echoed
  std::uint64_t parse_errors = 0;
  std::map<std::string, std::uint64_t> parse_errors_by_kind;  // kis::Name(RealtimeError::Kind)
  std::uint64_t unregistered_records = 0;  // trades and books of a (TR, code) not registered
  std::uint64_t unanswered = 0;            // subscriptions KIS did not answer in ack_timeout
  std::uint64_t pings_dropped = 0;         // PINGPONGs not echoed: the outbox was full
  std::uint64_t changes_coalesced = 0;     // demand changes folded into a later one
  std::uint64_t books_repeated = 0;        // snapshots equal to the code's last one, dropped
  std::string last_error;                  // valid UTF-8 (bytes of a frame are replaced)
  common::WallTime connected_since{};      // when state is kConnected
};

struct KisSessionOptions {
  std::string key_name;  // a [[kis.keys]] name: the gate admits its approval key calls
  std::string ws_url;    // "ws://HOST:PORT/tryitout" (WsUrlFor)
  std::size_t max_registrations = 41;
  common::Duration backoff_base = std::chrono::seconds(1);
  common::Duration backoff_cap = std::chrono::seconds(60);
  // After OPSP8996, or while another instance holds the lease.
  common::Duration hold = std::chrono::seconds(60);
  // No frame at all (KIS pings every 10 s) for this long: the connection is dead, reconnect.
  common::Duration idle_timeout = std::chrono::seconds(35);
  // Renewal period of the lease while connected (the lease lives kSessionLeaseTtl).
  common::Duration lease_renew = kSessionLeaseRenew;
  // Registration changes go to KIS at most once per this; changes in between are coalesced.
  common::Duration change_interval = std::chrono::seconds(1);
  // A subscribe KIS has not answered after this is reported as refused.
  common::Duration ack_timeout = std::chrono::seconds(10);
  // A connection that stayed up this long resets the reconnect backoff; a shorter one (KIS
  // accepting the subscriptions, then dropping the connection) counts as a failure.
  common::Duration healthy_after = std::chrono::seconds(60);
  // Frames waiting to be written; beyond it, PINGPONG echoes are dropped (counted).
  std::size_t max_outbox = 256;
  // KRX trading days, to date an order book whose time is later than the moment it arrived (the
  // after-hours book of the evening before, sent again after a reconnect in the morning) with the
  // trading day before. Null: the built-in holidays.
  std::shared_ptr<const common::MarketCalendar> calendar;
  common::Duration approval_timeout = std::chrono::seconds(10);
  // KIS issues one approval key per second per key (its refusal would also slow the key's REST
  // calls, as EGW00201 does): reconnects wait for this since the last one, with a margin.
  common::Duration approval_interval = std::chrono::milliseconds(1100);
  std::size_t recent_gaps = 16;
  std::uint64_t seed = 1;  // backoff jitter
};

// The WebSocket URL of a key: ws://ops.koreainvestment.com:21000 (real), :31000 (mock), and for a
// base_url that is not KIS's (the simulator, http://H:P) ws://H:P; with the path /tryitout.
std::string WsUrlFor(const config::KeyConfig& key);

class KisSession {
 public:
  // Opens a client WebSocket (http::ConnectWebSocket unless a test substitutes one): null with
  // `error` set when it cannot.
  using Connector = std::function<boost::asio::awaitable<std::unique_ptr<http::WebSocket>>(
      std::string url, std::string& error)>;

  // `gateway`, `clock`, `sink` and `lease` (null: this instance always holds the session) outlive
  // the session, or at least its Stop().
  KisSession(boost::asio::any_io_executor executor, gate::Gateway& gateway,
             const common::Clock& clock, KisSessionOptions options, SessionSink& sink,
             SessionLease* lease = nullptr, Connector connect = {});
  ~KisSession();
  KisSession(const KisSession&) = delete;
  KisSession& operator=(const KisSession&) = delete;

  // Starts connecting (spawned on the executor). Once.
  void Start();
  // Disconnects, releases the lease and completes when the session's tasks have ended.
  boost::asio::awaitable<void> Stop();

  // The registrations wanted from now on (any order; the planner's sorted list), on a live
  // connection the difference is unsubscribed and subscribed, without reconnecting.
  void SetSubscriptions(const std::vector<Subscription>& wanted);

  SessionStatus Status() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kisgate::stream

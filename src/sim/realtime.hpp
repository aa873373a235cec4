#pragma once
// The simulator's real-time WebSocket without sockets (kis-api.md §8): the glue hands it each text
// frame a connection sends and asks it, on a timer, for the frames to send (PINGPONGs, data,
// closes). It keeps KIS's rules: approval keys bound to their app key, one session per app key
// with a hold after it ends (--ws-hold-s), 41 registrations per session (--ws-max-subs), a PINGPONG
// every --ws-ping-s and a close after --ws-ping-missed unanswered ones, and the OPSP acks. Data
// frames are views of the same MarketModel as the REST TRs: the trades of one second are sent once
// that second is over, so a trade's ACML_VOL is what inquire-price says at the moment it is sent.
//
// Owns the sessions and their subscriptions and the counters of /_sim/stats ("ws").
// Thread-safety: every public method may be called from any thread (one mutex).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "sim/market_model.hpp"
#include "sim/sim_options.hpp"

namespace kisgate::common {
class MarketCalendar;
}

namespace kisgate::sim {

class MarketClock;

enum class WsCloseReason : std::uint8_t {
  kClient,      // the client closed or the connection failed
  kPingMissed,  // --ws-ping-missed PINGPONGs went unanswered
  kFaultDrop,   // --ws-fault-drop
  kSlowClient,  // more than --ws-queue-frames frames waited for the client
  kShutdown,    // the simulator stopped
};
std::string_view Name(WsCloseReason reason);

// A frame for one session, or (close) the order to end it.
struct WsOutgoing {
  std::uint64_t session = 0;
  std::string text;
  bool close = false;
  WsCloseReason reason = WsCloseReason::kClient;
};

struct WsStats {
  std::uint64_t sessions_opened = 0;
  std::uint64_t sessions_active = 0;
  std::uint64_t subscriptions_active = 0;
  std::uint64_t frames_sent = 0;   // data frames
  std::uint64_t records_sent = 0;  // records in them
  std::uint64_t pings_sent = 0;
  std::uint64_t pings_answered_text = 0;  // PINGPONG echoed as a text frame
  std::uint64_t pings_answered_pong = 0;  // a protocol-level pong (not counted in strict mode)
  std::uint64_t pings_unanswered = 0;     // now: PINGPONGs the open sessions have not answered yet
  std::map<std::string, std::uint64_t> acks;    // msg_cd -> count
  std::map<std::string, std::uint64_t> closes;  // reason -> count
};

class Realtime {
 public:
  // The app key an approval key was issued to (TokenRegistry::ApprovalOwner behind the
  // simulator's lock); called without Realtime's lock held.
  using ApprovalOwnerFn = std::function<std::optional<std::string>(const std::string&)>;

  Realtime(WsOptions options, const MarketModel& market, const Universe& universe,
           const common::MarketCalendar& calendar, const MarketClock& market_clock,
           const common::Clock& clock, ApprovalOwnerFn approval_owner, std::uint64_t seed);

  // A new connection; its PINGPONGs start one interval from now.
  std::uint64_t Open();
  // One text frame from the client; returns the frames to send back to it (acks).
  std::vector<std::string> OnText(std::uint64_t id, std::string_view text);
  // A protocol-level pong (or ping) arrived on the session.
  void OnPong(std::uint64_t id);
  // The connection ended; the session's app key is held for --ws-hold-s from now. Once per
  // session: a session the core closed itself (Poll) is not counted again.
  void Closed(std::uint64_t id, WsCloseReason reason);
  // Everything due now: fault drops, PINGPONGs and heartbeat closes, data frames.
  std::vector<WsOutgoing> Poll();

  WsStats Stats() const;
  std::string StatsJson() const;
  void ResetStats();
  const WsOptions& options() const { return options_; }

 private:
  struct Sub {
    std::string tr_id;
    std::string code;
    const StockInfo* stock = nullptr;
    // Where the stream stands: the trading day and the next second (after 09:00) to send; for
    // the after-hours TRs the last match sent and the day's volume then.
    Date day{};
    int next_second = -1;
    int last_match = -1;
    std::int64_t overtime_volume = 0;
    // The trade-side counters of H0STCNT0 since the subscription began.
    std::int64_t last_price = 0;
    std::int64_t buys = 0, sells = 0, buy_volume = 0, sell_volume = 0;
    int high_hour = 90000, low_hour = 90000;
    std::int64_t high = 0, low = 0;
  };
  struct Session {
    std::string app_key;  // empty until its first subscribe claims a key
    std::vector<Sub> subs;
    common::SteadyTime next_ping{};
    std::size_t unanswered = 0;
    bool open = true;
    std::string iv, key;  // sent in the subscribe acks (data is never encrypted here)
  };
  struct KeyHold {
    std::optional<std::uint64_t> holder;
    common::SteadyTime free_at{};
  };

  std::string Ack(std::string_view tr_id, std::string_view tr_key, std::string_view msg_cd,
                  const Session* session);
  void CloseLocked(std::uint64_t id, Session& session, WsCloseReason reason);
  void DataFor(std::uint64_t id, Session& session, common::WallTime market_now,
               std::vector<WsOutgoing>& out);
  void Emit(std::uint64_t id, std::string_view tr_id, const std::vector<std::string>& records,
            std::vector<WsOutgoing>& out);

  WsOptions options_;
  const MarketModel& market_;
  const Universe& universe_;
  const common::MarketCalendar& calendar_;
  const MarketClock& market_clock_;
  const common::Clock& clock_;
  ApprovalOwnerFn approval_owner_;

  mutable std::mutex mutex_;
  std::mt19937_64 rng_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Session> sessions_;
  std::unordered_map<std::string, KeyHold> holds_;
  std::optional<common::SteadyTime> next_fault_;
  WsStats stats_;
};

// The data records of the real-time TRs (exact column order of KIS's domestic_stock_functions_ws.py
// ccnl_krx / asking_price_krx / overtime_ccnl_krx / overtime_asking_price_krx).
inline constexpr std::size_t kTradeFields = 46;          // H0STCNT0
inline constexpr std::size_t kBookFields = 59;           // H0STASP0
inline constexpr std::size_t kOvertimeTradeFields = 43;  // H0STOUP0
inline constexpr std::size_t kOvertimeBookFields = 54;   // H0STOAA0

}  // namespace kisgate::sim

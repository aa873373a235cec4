#pragma once
// stream::Streams: kisgate's real-time path assembled (DESIGN.md "stream"). It plans what each
// key's KIS WebSocket session registers (Planner: the [[streams]] by priority, then API clients'
// demand), runs one KisSession per key that has registrations, polls what does not fit over REST
// (Poller), stores the trades and books it receives (store::Store::WriteTicks/WriteBooks), fills
// the gaps of reconnects from REST minute bars (GapFiller), and hands everything to hooks (the
// API's fan-out hub). A change of demand or of market session (day -> after hours) replans, and
// the sessions swap registrations without reconnecting.
//
// Thread-safety: one executor (single-threaded io_context), the gateway's; every member is called
// from it. The gateway, the store and the clock outlive Streams and every call it started.

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "common/clock.hpp"
#include "config/config.hpp"
#include "kis/realtime.hpp"
#include "stream/gap_filler.hpp"
#include "stream/kis_session.hpp"
#include "stream/planner.hpp"
#include "stream/poller.hpp"

namespace kisgate::gate {
class Gateway;
}
namespace kisgate::store {
class Store;
}

namespace kisgate::stream {

// Where what the streams receive goes besides the store; each may be empty.
struct StreamsHooks {
  std::function<void(std::span<const kis::Tick>)> ticks;
  std::function<void(std::span<const kis::BookSnapshot>)> books;
  std::function<void(const Gap&)> gap;
  std::function<void(const PolledValue&)> polled;
};

struct StreamsOptions {
  // Who holds each key's session across instances; empty: this instance always does.
  std::function<std::unique_ptr<SessionLease>(const config::KeyConfig&)> lease;
  // Whether the market is in its after-hours session now (the TRs change); empty: from the clock
  // and the KRX calendar of the config.
  std::function<bool()> after_hours;
  // How often the session of the market is checked.
  common::Duration session_check = std::chrono::seconds(15);
  // The codes whose polled values are stored (the [universe]); null: every code.
  std::shared_ptr<const std::unordered_set<std::string>> stored_codes;
  // Each key's session's options; key_name, ws_url, max_registrations and hold are filled in.
  KisSessionOptions session;
};

class Streams final : public SessionSink {
 public:
  Streams(boost::asio::any_io_executor executor, const config::Config& config,
          gate::Gateway& gateway, store::Store* store, const common::Clock& clock,
          StreamsHooks hooks, StreamsOptions options = {});
  ~Streams() override;
  Streams(const Streams&) = delete;
  Streams& operator=(const Streams&) = delete;

  // Plans the configured streams, starts the sessions that have registrations and the poller.
  void Start();
  // Stops the sessions (releasing their leases), the poller and the session checks.
  boost::asio::awaitable<void> Stop();

  // The API clients' demand now (every connected client, in arrival order): replans.
  void SetDemand(std::vector<ClientDemand> demand);

  const Plan& plan() const { return planner_.plan(); }
  // Whether anything is configured or may be asked for (streams, or client demand allowed).
  bool enabled() const;
  // Each key's session and plan for /v1/budget: state, registrations used of max, reconnects,
  // gaps (filled or not), streamed N, polled M every X s.
  boost::json::object KeyStatus(const std::string& key_name) const;
  std::vector<SessionStatus> Sessions() const;
  const GapFiller* gap_filler() const { return filler_.get(); }
  const Poller& poller() const { return *poller_; }

  // SessionSink
  void OnTicks(std::span<const kis::Tick> ticks) override;
  void OnBooks(std::span<const kis::BookSnapshot> books) override;
  void OnGap(const Gap& gap) override;

 private:
  struct KeySlot;
  void Replan();
  boost::asio::awaitable<void> WatchSession();

  boost::asio::any_io_executor executor_;
  const config::Config& config_;
  gate::Gateway& gateway_;
  store::Store* store_;
  const common::Clock& clock_;
  StreamsHooks hooks_;
  StreamsOptions options_;
  Planner planner_;
  std::vector<ClientDemand> demand_;
  bool after_hours_ = false;
  std::vector<std::unique_ptr<KeySlot>> keys_;  // in pool order, as the plan's keys
  std::unique_ptr<Poller> poller_;
  std::unique_ptr<GapFiller> filler_;
  std::shared_ptr<bool> alive_;  // the session check's loop ends when this is false
  bool started_ = false;
};

}  // namespace kisgate::stream

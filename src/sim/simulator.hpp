#pragma once
// The KIS-compatible server's logic, without sockets: one call in, one decision out (a reply after
// a service delay, or a dropped connection). SimServer puts it behind an HTTP listener.
//
// Owns the keys' token registry, rate windows, in-flight counts, fault dice and statistics.
// Thread-safety: every public method may be called from any thread (one mutex; the simulator runs
// on one io_context thread, so it is uncontended in practice).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "http/message.hpp"
#include "sim/market_clock.hpp"
#include "sim/rate_window.hpp"
#include "sim/sim_options.hpp"
#include "sim/token_registry.hpp"

namespace boost::json {
class object;
}

namespace kisgate::common {
class MarketCalendar;
}

namespace kisgate::sim {

class MarketModel;
class Realtime;
class Universe;

// What to do with one call.
struct SimDecision {
  http::Response response;
  bool drop_connection = false;
  std::chrono::milliseconds delay{0};  // service time before the reply (or the drop)
  int key_index = -1;                  // >= 0: an in-flight slot to release with Finish()
};

// Per-key statistics, the simulator's own view of what clients did.
struct KeyStats {
  std::uint64_t calls = 0;  // every call that named this key, whatever happened to it
  std::uint64_t ok = 0;
  std::map<std::string, std::uint64_t> errors;  // msg_cd / error_code -> count
  std::uint64_t max_calls_in_1s = 0;            // busiest 1-second window of calls
  std::uint64_t max_in_flight = 0;              // most calls being served at once
  std::uint64_t dropped_over_in_flight = 0;     // closed by --max-in-flight-per-key
  std::uint64_t dropped_by_fault = 0;           // closed by --fault-disconnect
  std::uint64_t tokens_issued = 0;              // new tokens (not counting reuse)
  std::uint64_t tokens_reused = 0;
  std::uint64_t approval_keys_issued = 0;
};

class Simulator {
 public:
  // `clock` drives tokens and rate windows (real time in production, manual in tests).
  Simulator(SimOptions options, const common::Clock& clock);
  ~Simulator();

  SimDecision Handle(const http::Request& request);
  // Releases the in-flight slot of a call once its reply is sent (or its connection dropped).
  void Finish(int key_index);

  // The /_sim/stats document.
  std::string StatsJson() const;
  KeyStats Stats(const std::string& app_key) const;
  // Every call counted for any key, and those naming no known key: a test on manual time waits
  // for this to catch up with the requests it sent before it moves time on.
  std::uint64_t TotalCalls() const;
  void ResetStats();
  // Connection-level counters are kept by the HTTP server; it reports them here for /_sim/stats.
  using ConnectionStatsFn = std::function<std::string()>;
  void SetConnectionStats(ConnectionStatsFn fn);

  const SimOptions& options() const { return options_; }
  const MarketClock& market_clock() const { return market_clock_; }
  // The real-time WebSocket's core (realtime.hpp), on the same market model and keys.
  Realtime& realtime() { return *realtime_; }
  // The app key a WebSocket approval key was issued to.
  std::optional<std::string> ApprovalOwner(const std::string& approval_key) const;

 private:
  struct Key {
    SimKey spec;
    RateWindow window;
    WindowPeak peak;
    std::size_t in_flight = 0;
    KeyStats stats;
  };

  // The oauth2 endpoints name the key in their JSON body and its secret under `secret_field`.
  // Returns the key when the call may go on; otherwise `d` holds the error reply.
  Key* OAuthKey(const boost::json::object* body, std::string_view secret_field, SimDecision& d);
  SimDecision HandleToken(const http::Request& request);
  SimDecision HandleRevoke(const http::Request& request);
  SimDecision HandleApproval(const http::Request& request);
  SimDecision HandleQuotation(const http::Request& request, std::string_view path);
  // Counts a call against its key's window; false when over the limit.
  bool Admit(Key& key);
  std::chrono::milliseconds ServiceDelay();
  Key* FindKey(std::string_view app_key);
  int IndexOf(const Key& key) const;

  SimOptions options_;
  const common::Clock& clock_;
  MarketClock market_clock_;
  const Universe* universe_;
  std::unique_ptr<common::MarketCalendar> calendar_;
  std::unique_ptr<MarketModel> market_;
  std::unique_ptr<Realtime> realtime_;
  mutable std::mutex mutex_;
  std::vector<Key> keys_;
  TokenRegistry tokens_;
  std::mt19937_64 rng_;
  common::SteadyTime started_;
  ConnectionStatsFn connection_stats_;
  std::uint64_t unknown_key_calls_ = 0;
};

}  // namespace kisgate::sim

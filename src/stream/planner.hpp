#pragma once
// The subscription planner (issue 14 item 3): what each key's KIS WebSocket session registers,
// and what does not fit and is polled over REST instead, at the interval the budget allows.
//
// Input: the [[streams]] of the config (by priority, then file order), the demand of API clients
// (by arrival, bounded per client, ignored with stream.client_demand = false) and the key pool
// (max_registrations per session, 41 at KIS). Each (data, code) counts once however many ask for
// it. The first "capacity" of them in that order are streamed, the rest polled.
//
// Stable: a (data, code) that stays streamed stays on the key that held it in the previous plan,
// so a demand change costs only the registrations that enter or leave the streamed set (a swap,
// never a reshuffle), and the sessions apply it without reconnecting.
//
// Pure: no I/O, no clock. Thread-safety: none (one owner, the stream module's executor).

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "stream/subscription.hpp"

namespace kisgate::stream {

// One key of the pool as the planner sees it.
struct PlanKey {
  std::string name;
  double rate = 18;            // REST calls per second (kis.keys[].rate)
  bool real = true;            // after-hours TRs exist on real keys only (kis-api.md §8)
  int max_registrations = 41;  // per session
};

// What one API client asks to stream: each code for each data.
struct ClientDemand {
  std::string client;              // stable while the client is connected
  std::vector<std::string> codes;  // in the client's order
  std::vector<StreamData> data;    // trades and/or orderbook
};

// One wanted (data, code), and who asked first.
struct Want {
  StreamData data = StreamData::kTrades;
  std::string code;
  std::string source;  // "streams 'hot'" or "client 'abc'"
};

struct KeyPlan {
  std::string key;
  std::vector<Subscription> subscriptions;  // sorted
  std::size_t polled = 0;  // this key's share of the overflow (by rate: the gateway spreads calls)
  std::string summary;     // for /v1/budget: "streamed 41, polled 19 every 4.4 s"
};

struct Plan {
  bool after_hours = false;    // the after-hours TRs (H0STOUP0, H0STOAA0) instead of the day's
  std::vector<KeyPlan> keys;   // in pool order
  std::vector<Want> overflow;  // what did not fit, in priority order: polled over REST
  // How often each overflow value is polled; zero when nothing is polled (none, or poll_share 0, or
  // no key may poll the TR).
  std::chrono::milliseconds poll_interval{0};
  double poll_per_s = 0;             // the REST calls per second polling may use
  std::size_t wanted = 0;            // distinct (data, code) wanted
  std::size_t streamed = 0;          // of them, registered on a session
  std::size_t capacity = 0;          // registrations the usable sessions give
  std::vector<std::string> refused;  // demand not taken: "client 'a': 5 codes beyond 20"
  bool fits = true;                  // everything wanted is streamed
  // Said at start-up like collect::PlanBudget: "60 codes wanted over 1 key: 41 streamed, 19 polled
  // every 4.4 s over REST".
  std::string message;

  // The TR of `data` in this plan's session (H0STCNT0, or H0STOUP0 after hours, ...).
  std::string TrOf(StreamData data) const;
};

// What turns one key's registrations into another's: unregister `remove`, register `add`.
struct SubscriptionChanges {
  std::vector<Subscription> add;
  std::vector<Subscription> remove;
};
SubscriptionChanges Diff(const std::vector<Subscription>& before,
                         const std::vector<Subscription>& after);

class Planner {
 public:
  // `configured`: the [[streams]] already expanded to (data, code) in priority order (see
  // ConfiguredWants). Each key's limit is its PlanKey::max_registrations (PlanKeys fills it from
  // stream.max_registrations). `safety`: gate.safety.
  Planner(std::vector<Want> configured, std::vector<PlanKey> keys, config::StreamSettings settings,
          double safety);
  // From a parsed config: its [[streams]] (universe groups expanded), keys and [stream] settings.
  explicit Planner(const config::Config& config);

  // The plan for this demand (clients in arrival order) and session; each (data, code) that stays
  // streamed stays on the key that held it in the previous plan.
  const Plan& Update(const std::vector<ClientDemand>& demand, bool after_hours);
  const Plan& plan() const { return plan_; }

 private:
  std::vector<Want> configured_;
  std::vector<PlanKey> keys_;
  config::StreamSettings settings_;
  double safety_;
  Plan plan_;
  // (data, code) -> index of the key it is registered on in plan_.
  std::map<std::pair<StreamData, std::string>, std::size_t> placed_;
};

// The [[streams]] of `config` as (data, code) in priority order (equal priorities in file order),
// universe groups expanded; duplicates kept (the planner counts each once).
std::vector<Want> ConfiguredWants(const config::Config& config);
std::vector<PlanKey> PlanKeys(const config::Config& config);

}  // namespace kisgate::stream

#pragma once
// stream::Poller: polls over REST what the planner could not fit on the keys' sessions (the
// plan's overflow), each value once per the plan's poll interval, through gate::Gateway like every
// KIS call: price (inquire-price) for trades, the order book (inquire-asking-price-exp-ccn) for
// orderbook, their after-hours data sets in the after-hours session. Each reply becomes records
// through kis::ToRecords (the collector's conversion), goes to the store, and is handed to a
// callback so the API can push it to stream clients.
//
// Lane: batch, with the collection jobs. The overflow is live data that a [[streams]] entry or a
// connected client wants now, which background work (backfills) must not starve; and the poller
// paces itself at the plan's interval, spreading the values over it, so it takes about
// stream.poll_share of the keys' rate and no more (the planner's arithmetic), leaving the rest of
// the batch lane to the jobs and interactive calls ahead of both.
//
// A new plan takes effect at once without a restart: values that stay keep their place in the
// cycle, new ones are spread over the next interval, values dropped are not polled again (and a
// reply in flight for one is stored but not handed to the callback).
//
// Thread-safety: one executor (the gateway's). The gateway, the store and the clock outlive the
// poller and every call it started: destroy them after the io_context has stopped running.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>

#include <boost/asio/any_io_executor.hpp>

#include "common/clock.hpp"
#include "gate/gateway.hpp"
#include "kis/record.hpp"
#include "store/store.hpp"
#include "stream/planner.hpp"

namespace kisgate::stream {

// One polled value, as stored.
struct PolledValue {
  StreamData data = StreamData::kTrades;
  std::string code;
  kis::Record record;  // data set "price"/"orderbook" ("overtime_..." after hours)
};
using PolledCallback = std::function<void(const PolledValue&)>;

struct PollerOptions {
  gate::Lane lane = gate::Lane::kBatch;
  // The poller's flow in its lane (jobs use their index, API clients 1,000,000 and up, the
  // passthrough 2,000,000 and up).
  gate::FlowId flow = 3'000'000;
  // The codes whose polled values are stored (the [universe]: they count in the freshness
  // figures); null: every code. The others are handed to the callback only.
  std::shared_ptr<const std::unordered_set<std::string>> stored_codes;
};

struct PollerStats {
  std::uint64_t calls = 0;  // polls started
  std::uint64_t ok = 0;     // polls answered (stored when the code is in stored_codes)
  std::uint64_t failed = 0;
  std::map<std::string, std::uint64_t> failures;  // by error code
};

class Poller {
 public:
  // `store` may be null (nothing stored; the callback still runs). `on_value` may be empty.
  Poller(boost::asio::any_io_executor executor, gate::Gateway& gateway, store::Store* store,
         const common::Clock& clock, PolledCallback on_value, PollerOptions options = {});
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  // Polls `plan.overflow` every `plan.poll_interval` from now on (nothing when it is zero).
  void SetPlan(const Plan& plan);
  // Starts polling (the first values at once); Stop ends it (calls in flight finish, stored, but
  // no longer handed to the callback).
  void Start();
  void Stop();

  const PollerStats& stats() const;
  std::size_t polling() const;  // values in the poll set

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kisgate::stream

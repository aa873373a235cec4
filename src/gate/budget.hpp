#pragma once
// Admission control for one app key (DESIGN.md "The gate"): decides WHEN each queued call may be
// dispatched. A pure state machine driven by explicit times, so it runs on a manual clock in tests;
// the async driver calls Enqueue / Poll / OnComplete / Cancel / Promote and arms a timer for
// PollResult::next_poll.
//
// One admission needs all of:
//   - the key is not cooling down after EGW00201;
//   - the key's GCRA allows it: dispatches are at least 1 / (rate x safety) apart, no burst, so no
//     1-second window ever holds more than `rate` dispatches (retries and token calls included);
//   - an in-flight slot: interactive may use every slot, batch and background leave the last
//     `interactive_reserved_slots` free (but always get at least one slot);
//   - lane priority: the highest lane with an admissible call wins, except that a lane over its
//     share (interactive_max_share, batch_max_share of the current rate, measured by a per-lane
//     GCRA with `share_burst` calls of tolerance) yields to an admissible lower lane. The share
//     applies only while a lower lane waits, so an idle lane's capacity goes to the others;
//   - round-robin between flows inside the lane.
// Calls whose deadline passes, or can no longer be met because the key's next possible dispatch is
// at or after it, come back from Poll as expired and spend nothing.
//
// Feedback (AIMD): kRateLimited -> jittered cooldown of the key and a multiplicative cut of rate
// and in-flight cap; kConnectionFailure / kTimeout -> a cut of the in-flight cap. Replies to calls
// sent before the last cut do not cut again (they were sent under the old limits). Every clean
// second after that adds `rate_recovery` calls/s and one in-flight slot, back up to the configured
// rate and in-flight. Beyond the configured value the in-flight cap grows (up to max_in_flight)
// only in seconds when it held calls back while replies came back fine: slow-but-healthy replies
// need more concurrency, hung ones do not.
//
// Several instances on one key (issue 13): with external pacing on, the rate slots come from the
// key's shared schedule (gate::KeyShare) instead of this budget's GCRA: the driver asks the share
// for a slot when WantsSlot(), hands it over with GrantSlot(at), and the budget admits the highest
// call queued at that moment with it (one call per slot; a slot not used soon after its time is
// dropped, so a late call never crowds the slots after it). Lanes, shares, in-flight and cooldown
// stay this budget's. While the shared schedule is unreachable the driver turns external pacing
// off and caps this budget at a share of the key's rate (SetRateShare).
//
// Thread-safety: none. The driver owns one Budget per key and calls it from one strand.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/vocabulary.hpp"
#include "config/config.hpp"
#include "gate/gcra.hpp"
#include "gate/rng.hpp"

namespace kisgate::gate {

// In priority order: a lower index is served first.
// The lanes are the vocabulary's (common/vocabulary.hpp): the config, the metrics and the
// X-Kisgate-Lane header use their names.
using Lane = common::Lane;
inline constexpr std::size_t kLaneCount = common::kAllLanes.size();
inline std::string_view LaneName(Lane lane) { return common::Name(lane); }
// The lane LaneName() calls `name`; nullopt for any other text.
using common::ParseLane;

// How a dispatched call ended, as far as the gate cares.
enum class Outcome : std::uint8_t {
  kOk,
  kRateLimited,        // EGW00201
  kConnectionFailure,  // refused, reset, closed before the reply
  kTimeout,
  kTransientError,  // EGW00001 / EGW00002: retryable, but not a load signal
  kOtherError,
};
inline constexpr std::size_t kOutcomeCount = 6;
std::string_view OutcomeName(Outcome outcome);

using CallId = std::uint64_t;
// A job or an API client: the unit of round-robin within a lane. Ids are per lane; a promoted call
// keeps its flow id in the new lane.
using FlowId = std::uint64_t;

struct CallSpec {
  Lane lane = Lane::kBatch;
  FlowId flow = 0;
  common::SteadyTime deadline;  // not admitted at or after this time
  bool retry = false;           // counted separately; a retry is otherwise an ordinary call
};

struct BudgetConfig {
  double rate = 18;      // calls/s the key allows (kis.keys[].rate)
  double safety = 0.97;  // fraction of `rate` the gate plans for
  // AIMD floor as a share of rate x safety (gate.min_rate_share): the floor follows the key's rate,
  // so a mock key at 1 call/s (planned at 0.97) is as valid as a real one at 18.
  double min_rate_share = 0.05;
  double rate_decrease = 0.7;  // rate multiplier on kRateLimited
  double rate_recovery = 1;    // calls/s added per clean second
  int in_flight = 5;           // initial and recovered in-flight cap (kis.keys[].max_in_flight)
  int min_in_flight = 1;       // AIMD floor
  int max_in_flight = 10;      // ceiling when the cap keeps holding calls back
  double in_flight_decrease = 0.7;     // in-flight multiplier on any negative outcome
  double interactive_max_share = 0.6;  // of the rate, while a lower lane waits
  double batch_max_share = 1;          // of the rate, while background waits (1 = strict priority)
  double share_burst = 4;              // calls a lane may run ahead of its share (GCRA tolerance)
  int interactive_reserved_slots = 1;  // in-flight slots batch and background never take
  common::Duration cooldown = std::chrono::seconds(1);  // after kRateLimited
  double cooldown_jitter = 0.5;  // cooldown is stretched by a uniform [0, jitter) fraction

  // nullopt when valid, else a message naming the config key ("gate.safety must be in (0, 1], got
  // 1.5"), or, for a field no config key sets, "BudgetConfig.<field>" (a wiring bug).
  std::optional<std::string> Validate() const;
  // The AIMD floor in calls/s.
  double min_rate() const { return rate * safety * min_rate_share; }
};

// The budget of one configured key: its rate and in-flight cap, the [gate] knobs. Valid for every
// config that config::ParseConfig accepts; interactive_reserved_slots is clamped below the key's
// max_in_flight (a key with one slot keeps it for batch too: lanes still order the calls).
BudgetConfig BudgetConfigFor(const config::KeyConfig& key, const config::GateConfig& gate);

struct PollResult {
  std::vector<CallId> admitted;  // dispatch these now
  std::vector<CallId> expired;   // fail these now; they spent no budget
  // When to call Poll again if nothing else happens (nullopt: nothing queued). Enqueue, OnComplete,
  // Cancel and Promote can make work admissible earlier: the driver polls after each of them too.
  std::optional<common::SteadyTime> next_poll;
};

// Upper bounds (inclusive, ms) of the wait-time histogram; one more bucket holds the rest. Fine
// around one rate slot (57 ms at 17.46 calls/s), where an interactive call's wait falls.
// Batch calls queued behind a whole cycle wait many seconds: the top buckets keep their p50/p99
// readable (a 15-s wait showed as "5,000 ms" when 5 s was the last bound).
inline constexpr std::array<int, 23> kWaitBucketsMs = {
    1,   2,   5,    10,   20,   30,   40,    50,    60,    75,    100,  150,
    250, 500, 1000, 2000, 5000, 7500, 10000, 15000, 20000, 30000, 60000};
inline constexpr std::size_t kWaitBucketCount = kWaitBucketsMs.size() + 1;

struct LaneSnapshot {
  std::uint64_t admitted = 0;
  std::uint64_t retries_admitted = 0;
  std::uint64_t expired = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t promoted_in = 0;
  std::size_t queued = 0;
  std::array<std::uint64_t, kWaitBucketCount> wait_buckets{};  // not cumulative
  common::Duration wait_sum{};
};

struct BudgetSnapshot {
  std::array<LaneSnapshot, kLaneCount> lanes;
  std::size_t in_flight = 0;
  int in_flight_limit = 0;
  double rate = 0;      // current effective calls/s (after AIMD)
  double max_rate = 0;  // rate x safety
  std::uint64_t cooldowns = 0;
  bool cooling_down = false;
  std::array<std::uint64_t, kOutcomeCount> outcomes{};
};

class Budget {
 public:
  // Throws std::invalid_argument with Validate()'s message: configs are validated at startup, so
  // this only fires on a wiring bug. `seed` drives the cooldown jitter.
  explicit Budget(BudgetConfig config, std::uint64_t seed = 0);

  // Queues a call; it waits until Poll admits it, it expires, or it is cancelled.
  CallId Enqueue(const CallSpec& spec, common::SteadyTime now);
  // Admits what may go now, expires what cannot make its deadline. O(lanes + admitted + expired)
  // amortised. `now` must not go backwards between calls.
  PollResult Poll(common::SteadyTime now);
  // A dispatched call finished. Returns false for an id that is not in flight.
  bool OnComplete(CallId id, Outcome outcome, common::SteadyTime now);
  // The caller gave up on a waiting call. Returns false when it is not queued (then it is either in
  // flight, and must still be completed, or gone).
  bool Cancel(CallId id, common::SteadyTime now);
  // Moves a queued call to a higher-priority lane (an interactive request joined a batch call).
  // Returns false when the call is not queued; a lane not above the current one changes nothing.
  bool Promote(CallId id, Lane lane, common::SteadyTime now);

  // An estimate of when a new call in `lane` could be dispatched: the key's next rate slot (after
  // any cooldown) plus one interval per call queued at the same or higher priority. Ignores shares
  // and in-flight, which depend on completions nobody can predict. For choosing between keys.
  common::SteadyTime EarliestAdmission(Lane lane, common::SteadyTime now) const;

  // External pacing (see the top of this file). Turning it off starts the local schedule no sooner
  // than one local interval from `now`, so the switch never crowds the slots already taken.
  void SetExternalPacing(bool on, common::SteadyTime now);
  bool external_pacing() const { return external_; }
  // A slot of the shared schedule at `at`: the next admission happens at or after it and uses it.
  // Replaces a slot still held.
  void GrantSlot(common::SteadyTime at);
  bool HoldsSlot() const { return granted_.has_value(); }
  // External pacing, no slot held, not cooling down, and a queued call has an in-flight slot: a
  // slot would be used.
  bool WantsSlot(common::SteadyTime now) const;
  // Slots given up unused (their call left, or they were not used within half an interval).
  std::uint64_t dropped_slots() const { return dropped_slots_; }
  // The spacing of this key's calls across instances: 1 / the current (AIMD) rate.
  common::Duration shared_interval() const { return Gcra::IntervalFor(rate_); }
  // Caps the local schedule at `share` (0, 1] of the current rate: the fallback while the shared
  // schedule is unreachable (1 / the instances last seen alive). 1 = the whole key.
  void SetRateShare(double share);
  double rate_share() const { return rate_share_; }

  std::size_t queued() const { return total_queued_; }
  std::size_t queued(Lane lane) const { return lanes_[Index(lane)].queued; }
  std::size_t in_flight() const { return in_flight_; }
  int in_flight_limit() const { return in_flight_limit_; }
  // The effective local rate: the AIMD rate times the rate share.
  double rate() const { return rate_ * rate_share_; }
  // No dispatch happens before this time (cooldown end, next GCRA slot or, with external pacing,
  // the granted slot; SteadyTime::max() while none is granted).
  common::SteadyTime next_slot() const {
    if (external_) return std::max(granted_.value_or(common::SteadyTime::max()), cooldown_until_);
    return std::max(rate_gcra_.tat(), cooldown_until_);
  }
  const BudgetConfig& config() const { return config_; }
  BudgetSnapshot Snapshot(common::SteadyTime now) const;

 private:
  struct Call {
    CallSpec spec;
    common::SteadyTime enqueued;
    common::SteadyTime dispatched;
    bool in_flight = false;
  };
  struct Flow {
    std::deque<CallId> calls;  // may hold ids that left (cancelled, expired, promoted): skipped
    std::size_t live = 0;      // calls of this flow still queued in this lane
  };
  struct LaneQueue {
    std::unordered_map<FlowId, Flow> flows;  // exactly the flows in `ring`
    std::deque<FlowId> ring;                 // round-robin order
    std::size_t queued = 0;
    Gcra share;
    LaneSnapshot stats;
  };
  using DeadlineEntry = std::pair<common::SteadyTime, CallId>;

  static std::size_t Index(Lane lane) { return static_cast<std::size_t>(lane); }

  void Advance(common::SteadyTime now);
  void ExpireDue(common::SteadyTime now, std::vector<CallId>& expired);
  std::optional<Lane> PickLane(common::SteadyTime now);
  void Dispatch(Lane lane, common::SteadyTime now, std::vector<CallId>& admitted);
  CallId PopNext(Lane lane);
  void PushQueued(CallId id, const CallSpec& spec);
  void RemoveQueued(const Call& call);
  std::optional<common::SteadyTime> NextPoll();

  std::size_t SlotCap(Lane lane) const;
  // Has queued work and an in-flight slot it may take.
  bool HasSlot(Lane lane) const;
  double Share(Lane lane) const;
  common::Duration ShareInterval(Lane lane) const;
  common::Duration ShareTolerance(Lane lane) const;
  bool LowerLaneHasSlot(Lane lane) const;
  bool LowerLaneQueued(Lane lane) const;
  void SetRate(double rate);
  void CutInFlight();
  // The earliest a call could go: next_slot(), or without a granted slot under external pacing,
  // the end of any cooldown.
  common::SteadyTime PlannedSlot(common::SteadyTime now) const;

  BudgetConfig config_;
  Rng rng_;
  double max_rate_;
  double rate_;
  common::Duration interval_;
  int in_flight_limit_;
  std::size_t in_flight_ = 0;
  Gcra rate_gcra_;
  common::SteadyTime cooldown_until_{};
  // Replies to calls dispatched before these instants carry no new information about the limits.
  std::optional<common::SteadyTime> last_rate_cut_;
  std::optional<common::SteadyTime> last_in_flight_cut_;
  std::optional<common::SteadyTime> next_recovery_;  // end of the current clean second
  bool in_flight_bound_ = false;  // the cap held a call back since the last recovery step
  bool ok_since_step_ = false;    // and replies were coming back fine meanwhile

  CallId next_id_ = 1;
  std::unordered_map<CallId, Call> calls_;  // queued and in flight
  std::array<LaneQueue, kLaneCount> lanes_;
  std::size_t total_queued_ = 0;
  // Min-heap; entries of calls that left the queue are dropped when they reach the top.
  std::priority_queue<DeadlineEntry, std::vector<DeadlineEntry>, std::greater<>> deadlines_;
  std::uint64_t cooldowns_ = 0;
  std::array<std::uint64_t, kOutcomeCount> outcomes_{};

  bool external_ = false;
  std::optional<common::SteadyTime> granted_;
  // Under external pacing this instance gets only part of the key's slots: the lanes' shares are
  // shares of what it gets, its dispatches over the last kObservedWindow.
  static constexpr common::Duration kObservedWindow = std::chrono::seconds(2);
  std::deque<common::SteadyTime> external_dispatches_;
  double observed_rate_ = 1;
  void ObserveDispatches(common::SteadyTime now);
  std::uint64_t dropped_slots_ = 0;
  double rate_share_ = 1;
};

}  // namespace kisgate::gate

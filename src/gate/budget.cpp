#include "gate/budget.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace kisgate::gate {

namespace {

constexpr auto kSecond = std::chrono::seconds(1);

bool InOpenClosed(double v, double lo, double hi) { return std::isfinite(v) && v > lo && v <= hi; }

std::size_t WaitBucket(common::Duration wait) {
  for (std::size_t i = 0; i < kWaitBucketsMs.size(); ++i) {
    if (wait <= std::chrono::milliseconds(kWaitBucketsMs[i])) return i;
  }
  return kWaitBucketsMs.size();
}

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kRateLimited:
      return "rate_limited";
    case Outcome::kConnectionFailure:
      return "connection_failure";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kTransientError:
      return "transient_error";
    case Outcome::kOtherError:
      return "other_error";
  }
  return "unknown";
}

std::optional<std::string> BudgetConfig::Validate() const {
  // Each message names the config key that sets the field; fields no key sets are named as
  // BudgetConfig's, so an error never points a user at a key that does not exist.
  if (!(std::isfinite(rate) && rate > 0)) {
    return fmt::format("kis.keys[].rate must be > 0 calls/s, got {}", rate);
  }
  if (!InOpenClosed(safety, 0, 1))
    return fmt::format("gate.safety must be in (0, 1], got {}", safety);
  if (!InOpenClosed(min_rate_share, 0, 1)) {
    return fmt::format("gate.min_rate_share must be in (0, 1], got {}", min_rate_share);
  }
  if (!(std::isfinite(rate_decrease) && rate_decrease > 0 && rate_decrease < 1)) {
    return fmt::format("BudgetConfig.rate_decrease must be in (0, 1), got {}", rate_decrease);
  }
  if (!(std::isfinite(rate_recovery) && rate_recovery > 0)) {
    return fmt::format("BudgetConfig.rate_recovery must be > 0 calls/s per second, got {}",
                       rate_recovery);
  }
  if (min_in_flight < 1)
    return fmt::format("BudgetConfig.min_in_flight must be >= 1, got {}", min_in_flight);
  if (in_flight < min_in_flight) {
    return fmt::format("kis.keys[].max_in_flight must be >= {}, got {}", min_in_flight, in_flight);
  }
  if (max_in_flight < in_flight) {
    return fmt::format("gate.max_in_flight_limit must be >= the key's max_in_flight ({}), got {}",
                       in_flight, max_in_flight);
  }
  if (!(std::isfinite(in_flight_decrease) && in_flight_decrease > 0 && in_flight_decrease < 1)) {
    return fmt::format("BudgetConfig.in_flight_decrease must be in (0, 1), got {}",
                       in_flight_decrease);
  }
  if (!InOpenClosed(interactive_max_share, 0, 1)) {
    return fmt::format("gate.interactive_max_share must be in (0, 1], got {}",
                       interactive_max_share);
  }
  if (!InOpenClosed(batch_max_share, 0, 1)) {
    return fmt::format("BudgetConfig.batch_max_share must be in (0, 1], got {}", batch_max_share);
  }
  if (!(std::isfinite(share_burst) && share_burst >= 0)) {
    return fmt::format("BudgetConfig.share_burst must be >= 0 calls, got {}", share_burst);
  }
  if (interactive_reserved_slots < 0 || interactive_reserved_slots >= in_flight) {
    return fmt::format(
        "gate.interactive_reserved_slots must be in [0, the key's max_in_flight = {}), got {}",
        in_flight, interactive_reserved_slots);
  }
  if (cooldown <= common::Duration::zero()) {
    return fmt::format("gate.cooldown must be > 0, got {} ms",
                       std::chrono::duration_cast<std::chrono::milliseconds>(cooldown).count());
  }
  if (!(std::isfinite(cooldown_jitter) && cooldown_jitter >= 0 && cooldown_jitter <= 1)) {
    return fmt::format("BudgetConfig.cooldown_jitter must be in [0, 1], got {}", cooldown_jitter);
  }
  return std::nullopt;
}

BudgetConfig BudgetConfigFor(const config::KeyConfig& key, const config::GateConfig& gate) {
  BudgetConfig b;
  b.rate = key.rate;
  b.safety = gate.safety;
  b.min_rate_share = gate.min_rate_share;
  b.in_flight = key.max_in_flight;
  b.max_in_flight = std::max(gate.max_in_flight_limit, key.max_in_flight);
  b.interactive_max_share = gate.interactive_max_share;
  b.interactive_reserved_slots = std::min(gate.interactive_reserved_slots, key.max_in_flight - 1);
  b.cooldown = std::chrono::duration_cast<common::Duration>(gate.cooldown);
  return b;
}

Budget::Budget(BudgetConfig config, std::uint64_t seed) : config_(config), rng_(seed) {
  if (auto error = config_.Validate()) throw std::invalid_argument(*error);
  max_rate_ = config_.rate * config_.safety;
  SetRate(max_rate_);
  in_flight_limit_ = config_.in_flight;
}

CallId Budget::Enqueue(const CallSpec& spec, common::SteadyTime now) {
  Advance(now);
  const CallId id = next_id_++;
  calls_.emplace(id, Call{spec, now, {}, false});
  PushQueued(id, spec);
  deadlines_.emplace(spec.deadline, id);
  return id;
}

PollResult Budget::Poll(common::SteadyTime now) {
  Advance(now);
  PollResult result;
  // A shared slot is a place in the key's schedule: used much later it would crowd the slots
  // other instances use after it.
  if (external_ && granted_ && now > *granted_ + interval_ / 2) {
    granted_.reset();
    ++dropped_slots_;
  }
  if (external_) ObserveDispatches(now);
  ExpireDue(now, result.expired);
  // No burst: a dispatch moves the next slot past `now`, so this admits at most one call; the loop
  // keeps that property an implementation detail.
  while (now >= next_slot()) {
    const auto lane = PickLane(now);
    if (!lane) break;
    Dispatch(*lane, now, result.admitted);
    ExpireDue(now, result.expired);  // calls that cannot make the new next slot fail now
  }
  if (in_flight_bound_ && !next_recovery_ && in_flight_limit_ < config_.max_in_flight) {
    next_recovery_ = now + kSecond;
  }
  // Entries of admitted and cancelled calls linger in the heap until they surface; rebuild when
  // they dominate, so memory tracks the queue (amortised O(1) per call).
  if (deadlines_.size() > 2 * total_queued_ + 1024) {
    std::vector<DeadlineEntry> live;
    live.reserve(total_queued_);
    while (!deadlines_.empty()) {
      const auto entry = deadlines_.top();
      deadlines_.pop();
      auto it = calls_.find(entry.second);
      if (it != calls_.end() && !it->second.in_flight) live.push_back(entry);
    }
    deadlines_ = decltype(deadlines_)(std::greater<>(), std::move(live));
  }
  result.next_poll = NextPoll();
  return result;
}

bool Budget::OnComplete(CallId id, Outcome outcome, common::SteadyTime now) {
  Advance(now);
  auto it = calls_.find(id);
  if (it == calls_.end() || !it->second.in_flight) return false;
  const auto dispatched = it->second.dispatched;
  calls_.erase(it);
  --in_flight_;
  ++outcomes_[static_cast<std::size_t>(outcome)];

  switch (outcome) {
    case Outcome::kRateLimited:
      if (!last_rate_cut_ || dispatched >= *last_rate_cut_) {
        SetRate(std::max(config_.min_rate(), rate_ * config_.rate_decrease));
        CutInFlight();
        const std::chrono::duration<double> jitter =
            std::chrono::duration<double>(config_.cooldown) * config_.cooldown_jitter *
            UnitUniform(rng_);
        cooldown_until_ =
            now + config_.cooldown + std::chrono::duration_cast<common::Duration>(jitter);
        last_rate_cut_ = now;
        last_in_flight_cut_ = now;
        next_recovery_ = cooldown_until_ + kSecond;
        ++cooldowns_;
      }
      break;
    case Outcome::kConnectionFailure:
    case Outcome::kTimeout:
      if (!last_in_flight_cut_ || dispatched >= *last_in_flight_cut_) {
        CutInFlight();
        last_in_flight_cut_ = now;
        next_recovery_ = std::max(now, cooldown_until_) + kSecond;
      }
      break;
    case Outcome::kOk:
      ok_since_step_ = true;
      break;
    case Outcome::kTransientError:
    case Outcome::kOtherError:
      break;
  }
  return true;
}

bool Budget::Cancel(CallId id, common::SteadyTime now) {
  Advance(now);
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second.in_flight) return false;
  RemoveQueued(it->second);
  ++lanes_[Index(it->second.spec.lane)].stats.cancelled;
  calls_.erase(it);
  return true;
}

bool Budget::Promote(CallId id, Lane lane, common::SteadyTime now) {
  Advance(now);
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second.in_flight) return false;
  Call& call = it->second;
  if (Index(lane) >= Index(call.spec.lane)) return true;
  RemoveQueued(call);
  call.spec.lane = lane;
  PushQueued(id, call.spec);
  ++lanes_[Index(lane)].stats.promoted_in;
  return true;
}

common::SteadyTime Budget::EarliestAdmission(Lane lane, common::SteadyTime now) const {
  std::size_t ahead = 0;
  for (std::size_t l = 0; l <= Index(lane); ++l) ahead += lanes_[l].queued;
  return std::max(now, PlannedSlot(now)) + static_cast<common::Duration::rep>(ahead) * interval_;
}

void Budget::SetExternalPacing(bool on, common::SteadyTime now) {
  if (on == external_) return;
  external_ = on;
  if (!on) {
    if (granted_) ++dropped_slots_;
    granted_.reset();
    rate_gcra_.Record(now, interval_);
  }
}

void Budget::GrantSlot(common::SteadyTime at) {
  if (granted_) ++dropped_slots_;
  granted_ = at;
}

bool Budget::WantsSlot(common::SteadyTime now) const {
  if (!external_ || granted_ || now < cooldown_until_) return false;
  return std::any_of(common::kAllLanes.begin(), common::kAllLanes.end(),
                     [this](Lane lane) { return HasSlot(lane); });
}

void Budget::SetRateShare(double share) {
  share = std::clamp(share, 0.01, 1.0);
  if (share == rate_share_) return;
  rate_share_ = share;
  SetRate(rate_);
}

common::SteadyTime Budget::PlannedSlot(common::SteadyTime now) const {
  if (external_ && !granted_) return std::max(now, cooldown_until_);
  return next_slot();
}

BudgetSnapshot Budget::Snapshot(common::SteadyTime now) const {
  BudgetSnapshot s;
  for (std::size_t l = 0; l < kLaneCount; ++l) {
    s.lanes[l] = lanes_[l].stats;
    s.lanes[l].queued = lanes_[l].queued;
  }
  s.in_flight = in_flight_;
  s.in_flight_limit = in_flight_limit_;
  s.rate = rate();
  s.max_rate = max_rate_ * rate_share_;
  s.cooldowns = cooldowns_;
  s.cooling_down = now < cooldown_until_;
  s.outcomes = outcomes_;
  return s;
}

// Applies the additive recovery for every clean second that ended by `now`.
void Budget::Advance(common::SteadyTime now) {
  if (!next_recovery_ || now < *next_recovery_) return;
  const auto steps = 1 + (now - *next_recovery_) / kSecond;
  SetRate(std::min(max_rate_, rate_ + static_cast<double>(steps) * config_.rate_recovery));
  const int target = in_flight_bound_ && ok_since_step_ ? config_.max_in_flight : config_.in_flight;
  if (in_flight_limit_ < target) {
    in_flight_limit_ = static_cast<int>(
        std::min<std::int64_t>(target, in_flight_limit_ + static_cast<std::int64_t>(steps)));
  }
  in_flight_bound_ = false;
  ok_since_step_ = false;
  if (rate_ >= max_rate_ && in_flight_limit_ >= config_.in_flight) {
    next_recovery_.reset();
  } else {
    *next_recovery_ += steps * kSecond;
  }
}

void Budget::ExpireDue(common::SteadyTime now, std::vector<CallId>& expired) {
  // A call is admitted only strictly before its deadline, and nothing is admitted before the next
  // slot: a deadline at or before max(now, next slot) cannot be met.
  const auto threshold = std::max(now, PlannedSlot(now));
  while (!deadlines_.empty() && deadlines_.top().first <= threshold) {
    const CallId id = deadlines_.top().second;
    deadlines_.pop();
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second.in_flight) continue;
    RemoveQueued(it->second);
    ++lanes_[Index(it->second.spec.lane)].stats.expired;
    calls_.erase(it);
    expired.push_back(id);
  }
}

std::optional<Lane> Budget::PickLane(common::SteadyTime now) {
  for (Lane lane : common::kAllLanes) {
    const LaneQueue& q = lanes_[Index(lane)];
    if (q.queued == 0) continue;
    if (in_flight_ >= SlotCap(lane)) {
      in_flight_bound_ = true;
      continue;
    }
    // Over its share, a lane yields to a lower lane that can go; the lowest admissible lane never
    // yields, so a slot is never left unused.
    if (Share(lane) < 1 && !q.share.Conforms(now, ShareTolerance(lane)) && LowerLaneHasSlot(lane)) {
      continue;
    }
    return lane;
  }
  return std::nullopt;
}

void Budget::Dispatch(Lane lane, common::SteadyTime now, std::vector<CallId>& admitted) {
  const CallId id = PopNext(lane);
  Call& call = calls_.at(id);
  call.in_flight = true;
  call.dispatched = now;
  ++in_flight_;
  rate_gcra_.Record(now, interval_);
  granted_.reset();
  if (external_) {
    external_dispatches_.push_back(now);
    ObserveDispatches(now);
  }

  LaneQueue& q = lanes_[Index(lane)];
  if (Share(lane) < 1) {
    q.share.Record(now, ShareInterval(lane));
    // Unmetered while alone: the share bounds the lane only relative to waiting lower lanes.
    if (!LowerLaneQueued(lane)) q.share.ClampAhead(now, ShareInterval(lane));
  }
  ++q.stats.admitted;
  if (call.spec.retry) ++q.stats.retries_admitted;
  const auto wait = now - call.enqueued;
  ++q.stats.wait_buckets[WaitBucket(wait)];
  q.stats.wait_sum += wait;
  admitted.push_back(id);
}

// Round-robin: the flow at the front of the ring gives its oldest live call and goes to the back.
CallId Budget::PopNext(Lane lane) {
  LaneQueue& q = lanes_[Index(lane)];
  for (;;) {
    const FlowId flow_id = q.ring.front();
    q.ring.pop_front();
    auto flow_it = q.flows.find(flow_id);
    Flow& flow = flow_it->second;
    if (flow.live == 0) {
      q.flows.erase(flow_it);
      continue;
    }
    CallId id = 0;
    for (;;) {
      id = flow.calls.front();
      flow.calls.pop_front();
      auto it = calls_.find(id);
      if (it != calls_.end() && !it->second.in_flight && it->second.spec.lane == lane) break;
    }
    --flow.live;
    --q.queued;
    --total_queued_;
    if (flow.live > 0) {
      q.ring.push_back(flow_id);
    } else {
      q.flows.erase(flow_it);
    }
    return id;
  }
}

void Budget::PushQueued(CallId id, const CallSpec& spec) {
  LaneQueue& q = lanes_[Index(spec.lane)];
  auto [it, inserted] = q.flows.try_emplace(spec.flow);
  if (inserted) q.ring.push_back(spec.flow);
  it->second.calls.push_back(id);
  ++it->second.live;
  ++q.queued;
  ++total_queued_;
}

void Budget::RemoveQueued(const Call& call) {
  LaneQueue& q = lanes_[Index(call.spec.lane)];
  --q.flows.at(call.spec.flow).live;
  --q.queued;
  --total_queued_;
  // The skipped ids of an emptied lane would otherwise wait for the lane's next pop.
  if (q.queued == 0) {
    q.flows.clear();
    q.ring.clear();
  }
}

std::optional<common::SteadyTime> Budget::NextPoll() {
  if (total_queued_ == 0) return std::nullopt;
  std::optional<common::SteadyTime> next;
  auto consider = [&next](common::SteadyTime t) {
    if (!next || t < *next) next = t;
  };
  while (!deadlines_.empty()) {
    auto it = calls_.find(deadlines_.top().second);
    if (it != calls_.end() && !it->second.in_flight) break;
    deadlines_.pop();
  }
  if (!deadlines_.empty()) consider(deadlines_.top().first);
  for (Lane lane : common::kAllLanes) {
    if (!HasSlot(lane)) continue;
    if (external_ && !granted_) continue;  // the driver polls when a slot is granted
    auto t = next_slot();
    if (Share(lane) < 1 && LowerLaneHasSlot(lane)) {
      t = std::max(t, lanes_[Index(lane)].share.EarliestConforming(ShareTolerance(lane)));
    }
    consider(t);
  }
  // A recovery step can raise the in-flight cap for calls that wait on it.
  if (next_recovery_) consider(*next_recovery_);
  return next;
}

std::size_t Budget::SlotCap(Lane lane) const {
  const auto limit = static_cast<std::size_t>(in_flight_limit_);
  if (lane == Lane::kInteractive) return limit;
  // When AIMD has cut the cap to the reservation, batch still keeps one slot so it progresses.
  const auto reserved =
      std::min(static_cast<std::size_t>(config_.interactive_reserved_slots), limit - 1);
  return limit - reserved;
}

bool Budget::HasSlot(Lane lane) const {
  return lanes_[Index(lane)].queued > 0 && in_flight_ < SlotCap(lane);
}

double Budget::Share(Lane lane) const {
  switch (lane) {
    case Lane::kInteractive:
      return config_.interactive_max_share;
    case Lane::kBatch:
      return config_.batch_max_share;
    case Lane::kBackground:
      return 1;
  }
  return 1;
}

common::Duration Budget::ShareInterval(Lane lane) const {
  return Gcra::IntervalFor((external_ ? observed_rate_ : rate()) * Share(lane));
}

void Budget::ObserveDispatches(common::SteadyTime now) {
  while (!external_dispatches_.empty() && external_dispatches_.front() <= now - kObservedWindow) {
    external_dispatches_.pop_front();
  }
  const double window_s = std::chrono::duration<double>(kObservedWindow).count();
  observed_rate_ =
      std::clamp(static_cast<double>(external_dispatches_.size()) / window_s, 1.0, rate());
}

common::Duration Budget::ShareTolerance(Lane lane) const {
  return std::chrono::duration_cast<common::Duration>(ShareInterval(lane) * config_.share_burst);
}

bool Budget::LowerLaneHasSlot(Lane lane) const {
  for (std::size_t l = Index(lane) + 1; l < kLaneCount; ++l) {
    if (HasSlot(static_cast<Lane>(l))) return true;
  }
  return false;
}

bool Budget::LowerLaneQueued(Lane lane) const {
  for (std::size_t l = Index(lane) + 1; l < kLaneCount; ++l) {
    if (lanes_[l].queued > 0) return true;
  }
  return false;
}

void Budget::SetRate(double rate) {
  rate_ = rate;
  interval_ = Gcra::IntervalFor(rate * rate_share_);
}

void Budget::CutInFlight() {
  in_flight_limit_ =
      std::max(config_.min_in_flight,
               static_cast<int>(std::floor(in_flight_limit_ * config_.in_flight_decrease)));
}

}  // namespace kisgate::gate

#include "gate/key_gate.hpp"

#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/spawn.hpp"

namespace kisgate::gate {

namespace asio = boost::asio;

KeyGate::KeyGate(const asio::any_io_executor& executor, Budget& budget, const common::Clock& clock)
    : executor_(executor), budget_(budget), clock_(clock), timer_(executor) {}

KeyGate::~KeyGate() {
  *alive_ = false;
  if (share_ != nullptr) {
    if (slot_lease_) share_->Release(*slot_lease_);
    for (auto& [id, lease] : leases_) share_->Release(lease);
  }
}

void KeyGate::SetShare(KeyShare* share, common::Duration lease) {
  share_ = share;
  lease_ = lease;
  // Lease names are unique across instances without asking anyone: a random prefix per gate.
  std::random_device random;
  lease_prefix_ = fmt::format("{:08x}{:08x}", random(), random());
  if (share_ != nullptr) budget_.SetExternalPacing(share_->Shared(), clock_.Now());
}

void KeyGate::SyncMode(common::SteadyTime now) {
  const bool shared = share_->Shared();
  if (shared == budget_.external_pacing()) {
    if (!shared) budget_.SetRateShare(share_->FallbackShare());
    return;
  }
  if (shared) {
    budget_.SetRateShare(1);
    quiet_until_ = now + kRejoinQuiet;
  } else {
    budget_.SetRateShare(share_->FallbackShare());
    if (slot_lease_) share_->Release(*std::exchange(slot_lease_, std::nullopt));
  }
  budget_.SetExternalPacing(shared, now);
}

void KeyGate::ReleaseLease(CallId id) {
  if (auto it = leases_.find(id); it != leases_.end()) {
    share_->Release(std::move(it->second));
    leases_.erase(it);
  }
}

asio::awaitable<void> KeyGate::Reserve() {
  auto alive = alive_;
  if (clock_.Now() < quiet_until_) {
    common::Timer quiet(executor_, quiet_until_);
    boost::system::error_code ec;
    co_await quiet.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
  }
  std::string lease = fmt::format("{}-{}", lease_prefix_, ++lease_seq_);
  std::optional<SlotGrant> grant;
  try {
    auto reserve =
        share_->Reserve(lease, budget_.shared_interval(), budget_.in_flight_limit(), lease_);
    grant = co_await std::move(reserve);
  } catch (const std::exception& e) {
    spdlog::warn("gate: reserving a shared slot failed: {}", e.what());
  }
  if (!*alive) co_return;
  if (!grant && share_->Shared()) {
    // A failure the share did not report as unreachable: do not spin on it.
    common::Timer pause(executor_, clock_.Now() + std::chrono::milliseconds(50));
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
  }
  if (grant && grant->status != SlotGrant::Status::kGranted) {
    // The key's in-flight leases are all taken, or it cools down: ask again after the wait.
    common::Timer again(executor_, clock_.Now() + grant->wait);
    boost::system::error_code ec;
    co_await again.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!*alive) co_return;
  }
  reserving_ = false;
  if (grant && grant->status == SlotGrant::Status::kGranted) {
    if (budget_.external_pacing()) {
      budget_.GrantSlot(clock_.Now() + grant->wait);
      if (slot_lease_) share_->Release(*slot_lease_);
      slot_lease_ = std::move(lease);
    } else {
      share_->Release(std::move(lease));  // fell back meanwhile
    }
  }
  // No grant: the share is unreachable and now says so (Shared() is false); Pump falls back.
  Pump();
}

void KeyGate::Pump() {
  const auto now = clock_.Now();
  if (share_ != nullptr) SyncMode(now);
  if (share_ != nullptr && !budget_.external_pacing()) {
    // Fallen back, but the shared schedule may still count on this instance for a moment: wait.
    if (const auto from = share_->FallbackFrom(); now < from) {
      Arm(from);
      return;
    }
  }
  PollResult r = budget_.Poll(now);
  if (slot_lease_ && !r.admitted.empty()) {
    // External pacing admits one call per slot: the slot's lease is that call's.
    leases_[r.admitted.front()] = std::move(*slot_lease_);
    slot_lease_.reset();
  } else if (slot_lease_ && !budget_.HoldsSlot()) {
    share_->Release(*std::exchange(slot_lease_, std::nullopt));  // dropped unused
  }
  auto resolve = [this](CallId id, bool admitted) {
    if (auto it = waiting_->find(id); it != waiting_->end()) {
      it->second->admitted = admitted;
      it->second->wake->cancel();
    } else if (admitted) {
      // Its caller is gone (shut down): give the slot back.
      budget_.OnComplete(id, Outcome::kOtherError, clock_.Now());
      if (share_ != nullptr) ReleaseLease(id);
    }
  };
  for (CallId id : r.admitted) resolve(id, true);
  for (CallId id : r.expired) resolve(id, false);
  if (share_ != nullptr && !reserving_ && budget_.WantsSlot(now)) {
    reserving_ = true;
    asio::co_spawn(executor_, Reserve(), common::LogExceptions{"shared slot reservation"});
  }
  Arm(r.next_poll);
}

void KeyGate::Arm(std::optional<common::SteadyTime> at) {
  if (!at) {
    armed_for_.reset();
    timer_.cancel();
    return;
  }
  if (armed_for_ == at) return;  // already waiting for that instant
  armed_for_ = at;
  timer_.expires_at(*at);
  timer_.async_wait([this, at = *at](const boost::system::error_code& ec) {
    if (ec || armed_for_ != at) return;  // re-armed or cancelled meanwhile
    armed_for_.reset();
    Pump();
  });
}

asio::awaitable<Ticket> KeyGate::Acquire(CallSpec spec, std::function<void(CallId)> on_queued) {
  const auto start = clock_.Now();
  const CallId id = budget_.Enqueue(spec, start);
  if (on_queued) on_queued(id);
  common::Timer wake(executor_, common::Timer::time_point::max());
  Waiter waiter{&wake, std::nullopt};
  (*waiting_)[id] = &waiter;
  // Leaves the map however this coroutine ends (admitted, expired, or destroyed at shutdown).
  struct Unregister {
    std::shared_ptr<std::unordered_map<CallId, Waiter*>> map;
    CallId id;
    ~Unregister() { map->erase(id); }
  } unregister{waiting_, id};
  Pump();
  while (!waiter.admitted) {
    boost::system::error_code ec;
    co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return Ticket{*waiter.admitted, id, clock_.Now() - start};
}

void KeyGate::Complete(CallId id, Outcome outcome) {
  budget_.OnComplete(id, outcome, clock_.Now());
  if (share_ != nullptr) {
    ReleaseLease(id);
    if (outcome == Outcome::kRateLimited) share_->CoolDown(budget_.config().cooldown);
  }
  Pump();
}

bool KeyGate::Promote(CallId id, Lane lane) {
  bool promoted = budget_.Promote(id, lane, clock_.Now());
  if (promoted) Pump();
  return promoted;
}

}  // namespace kisgate::gate

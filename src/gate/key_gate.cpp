#include "gate/key_gate.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kisgate::gate {

namespace asio = boost::asio;

KeyGate::KeyGate(const asio::any_io_executor& executor, Budget& budget, const common::Clock& clock)
    : executor_(executor), budget_(budget), clock_(clock), timer_(executor) {}

void KeyGate::Pump() {
  PollResult r = budget_.Poll(clock_.Now());
  auto resolve = [this](CallId id, bool admitted) {
    if (auto it = waiting_->find(id); it != waiting_->end()) {
      it->second->admitted = admitted;
      it->second->wake->cancel();
    } else if (admitted) {
      // Its caller is gone (shut down): give the slot back.
      budget_.OnComplete(id, Outcome::kOtherError, clock_.Now());
    }
  };
  for (CallId id : r.admitted) resolve(id, true);
  for (CallId id : r.expired) resolve(id, false);
  if (!r.next_poll) {
    armed_for_.reset();
    timer_.cancel();
    return;
  }
  if (armed_for_ == r.next_poll) return;  // already waiting for that instant
  armed_for_ = r.next_poll;
  timer_.expires_at(*r.next_poll);
  timer_.async_wait([this, at = *r.next_poll](const boost::system::error_code& ec) {
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
  Pump();
}

bool KeyGate::Promote(CallId id, Lane lane) {
  bool promoted = budget_.Promote(id, lane, clock_.Now());
  if (promoted) Pump();
  return promoted;
}

}  // namespace kisgate::gate

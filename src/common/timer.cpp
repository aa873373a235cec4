#include "common/timer.hpp"

#include <algorithm>
#include <atomic>
#include <memory>

namespace kisgate::common {

namespace {
std::atomic<const ManualClock*> manual_clock{nullptr};
constexpr Duration kManualRecheck = std::chrono::milliseconds(1);
}  // namespace

TimerClock::time_point TimerClock::now() noexcept {
  if (const auto* clock = manual_clock.load(std::memory_order_acquire)) return clock->Now();
  return std::chrono::steady_clock::now();
}

Duration TimerWaitTraits::to_wait_duration(const Duration& d) {
  if (manual_clock.load(std::memory_order_acquire) != nullptr) return std::min(d, kManualRecheck);
  return d;
}

Duration TimerWaitTraits::to_wait_duration(const SteadyTime& t) {
  const auto now = TimerClock::now();
  if (t <= now) return Duration::zero();
  // As asio::wait_traits does: no overflow for far expiries (time_point::max() is "never").
  if (t - now > Duration::max() / 2) return to_wait_duration(Duration::max() / 2);
  return to_wait_duration(t - now);
}

ManualTimeScope::ManualTimeScope(const ManualClock& clock) {
  manual_clock.store(&clock, std::memory_order_release);
}

ManualTimeScope::~ManualTimeScope() { manual_clock.store(nullptr, std::memory_order_release); }

std::size_t AdvanceAndRun(boost::asio::io_context& io, ManualClock& clock, Duration d,
                          Duration step) {
  std::size_t handlers = 0;
  Duration left = d;
  do {
    const auto this_step = std::min(left, step);
    clock.Advance(this_step);
    left -= this_step;
    if (io.stopped()) io.restart();
    // A timer expiring now becomes the reactor's earliest and re-arms it at once: when it has
    // fired, every timer that expired by now has been queued with it. Shared with the handler: when
    // a handler stops `io` first, the nudge's (cancelled) handler runs whenever `io` runs next,
    // after this function has returned.
    auto nudged = std::make_shared<bool>(false);
    Timer nudge(io);
    nudge.expires_at(TimerClock::now());
    nudge.async_wait([nudged](const boost::system::error_code&) { *nudged = true; });
    while (!*nudged && !io.stopped()) handlers += io.run_one_for(2 * kManualRecheck);
    if (!*nudged) {
      nudge.cancel();
      break;
    }
    --handlers;  // the nudge's own
    while (const auto n = io.poll()) handlers += n;
  } while (left > Duration::zero());
  return handlers;
}

}  // namespace kisgate::common

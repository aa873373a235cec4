#pragma once
// Asio timers that follow the injected clock, so code above the pure cores (the gate's admission,
// the scheduler, retries, deadlines) runs on manual time in tests as the cores already do.
//
// common::Timer is an asio::basic_waitable_timer whose clock reads the steady clock, unless a test
// has installed a ManualClock with ManualTimeScope: then every Timer in the process reads that
// clock, and a Timer expires when the test advances the clock past its expiry. Production code
// computes expiries from the injected Clock (clock.Now() + d); both agree because production
// passes SystemClock and tests install the ManualClock they inject.
//
// Written by hand: Asio provides the clock parameter, not a clock that can be switched to manual
// time (there is no library for this in Debian).
//
// Thread-safety: Now() may be called from any thread; install or remove a ManualTimeScope while no
// Timer is waiting (at the start and end of a test).

#include <chrono>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>

#include "common/clock.hpp"

namespace kisgate::common {

// The Asio clock of common::Timer. Its time points are SteadyTime, so expiries computed from a
// common::Clock need no conversion.
struct TimerClock {
  using duration = Duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = SteadyTime;
  static constexpr bool is_steady = true;
  static time_point now() noexcept;
};

// Real time: waits as asked. Manual time: the reactor looks again after at most 1 ms of real time,
// so a timer whose expiry the test has passed fires promptly whatever the reactor was armed for.
struct TimerWaitTraits {
  static Duration to_wait_duration(const Duration& d);
  static Duration to_wait_duration(const SteadyTime& t);
};

using Timer = boost::asio::basic_waitable_timer<TimerClock, TimerWaitTraits>;

// While alive, every common::Timer in the process reads `clock`. One at a time (tests).
class ManualTimeScope {
 public:
  explicit ManualTimeScope(const ManualClock& clock);
  ~ManualTimeScope();
  ManualTimeScope(const ManualTimeScope&) = delete;
  ManualTimeScope& operator=(const ManualTimeScope&) = delete;
};

// For tests on manual time: moves `clock` forward by `d` in steps of at most `step`, and after each
// step runs what became ready on `io` (handlers, expired timers, and replies that arrive within
// that time), so a chain of timers that fire one after another inside `d` all fire in order.
// Returns the number of handlers run.
std::size_t AdvanceAndRun(boost::asio::io_context& io, ManualClock& clock, Duration d,
                          Duration step = std::chrono::milliseconds(10));

}  // namespace kisgate::common

#pragma once
// GCRA (generic cell rate algorithm), virtual-scheduling form: a stream is described by one
// theoretical arrival time (TAT). A call conforms at `now` when now >= TAT - tolerance; recording
// it moves TAT to max(TAT, now) + interval. With tolerance 0 (no burst) consecutive calls are at
// least one interval apart, which is what keeps every 1-second window under the limit.
//
// Thread-safety: none (a value type).

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/clock.hpp"

namespace kisgate::gate {

class Gcra {
 public:
  // The spacing for `calls_per_second`: rounded down to nanoseconds plus 1 ns, so that N intervals
  // always span strictly more than N / rate seconds. Then even a closed 1-second window [t, t + 1s]
  // holds at most ceil(rate) calls; exact division (rate 20 -> 50 ms) would otherwise let a closed
  // window hold 21. Requires calls_per_second > 0.
  static common::Duration IntervalFor(double calls_per_second) {
    const double ns = std::floor(1e9 / calls_per_second);
    return std::chrono::duration_cast<common::Duration>(
               std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(ns))) +
           std::chrono::nanoseconds(1);
  }

  bool Conforms(common::SteadyTime now, common::Duration tolerance = {}) const {
    return now >= tat_ - tolerance;
  }
  // The earliest time a call conforms.
  common::SteadyTime EarliestConforming(common::Duration tolerance = {}) const {
    return tat_ - tolerance;
  }
  void Record(common::SteadyTime now, common::Duration interval) {
    tat_ = std::max(tat_, now) + interval;
  }
  // Forgets debt beyond `max_ahead` (used while a share limit does not apply, so that a lane that
  // was alone does not start owing when others arrive).
  void ClampAhead(common::SteadyTime now, common::Duration max_ahead) {
    tat_ = std::min(tat_, now + max_ahead);
  }
  common::SteadyTime tat() const { return tat_; }

 private:
  common::SteadyTime tat_{};
};

}  // namespace kisgate::gate

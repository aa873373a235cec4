#pragma once
// When each job runs: at multiples of its interval from midnight KST (10:00, 10:05, ... for "5m"),
// only inside the sessions it names, only on KRX trading days ("always" ignores the calendar).
//
// Thread-safety: immutable after construction.

#include <optional>
#include <string>
#include <vector>

#include "common/kst.hpp"
#include "config/config.hpp"

namespace kisgate::collect {

class Schedule {
 public:
  explicit Schedule(const common::MarketCalendar& calendar) : calendar_(calendar) {}

  // Whether `job` may run at `t`.
  bool InSession(const config::JobConfig& job, common::WallTime t) const;
  // The first start of `job` strictly after `after`; nullopt when none within 14 days (for example
  // a job whose sessions never occur).
  std::optional<common::WallTime> NextStart(const config::JobConfig& job,
                                            common::WallTime after) const;

 private:
  const common::MarketCalendar& calendar_;
};

}  // namespace kisgate::collect

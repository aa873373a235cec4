#pragma once
// The simulator's market time: a KST instant that starts where --clock says and runs --speed times
// faster than the injected clock, so tests and demos can sit in any session of the day.

#include <string>

#include "common/clock.hpp"

namespace kisgate::sim {

// KRX's regular session, 09:00 to 15:30 KST.
inline constexpr int kSessionMinutes = 390;
inline constexpr int kSessionSeconds = kSessionMinutes * 60;

class MarketClock {
 public:
  // `start` is "now" or a KST time "YYYY-MM-DDTHH:MM:SS" (validated by SimOptions::Validate).
  MarketClock(const common::Clock& clock, const std::string& start, double speed);
  common::WallTime Now() const;

 private:
  const common::Clock& clock_;
  common::SteadyTime origin_steady_;
  common::WallTime origin_market_;
  double speed_;
};

}  // namespace kisgate::sim

#include "sim/market_clock.hpp"

#include "common/kst.hpp"

namespace kisgate::sim {

MarketClock::MarketClock(const common::Clock& clock, const std::string& start, double speed)
    : clock_(clock), origin_steady_(clock.Now()), speed_(speed) {
  auto parsed = start == "now" ? std::nullopt : common::ParseKstDateTime(start);
  origin_market_ = parsed ? *parsed : clock.WallNow();
}

common::WallTime MarketClock::Now() const {
  auto elapsed = std::chrono::duration<double>(clock_.Now() - origin_steady_) * speed_;
  return origin_market_ + std::chrono::duration_cast<common::WallTime::duration>(elapsed);
}

}  // namespace kisgate::sim

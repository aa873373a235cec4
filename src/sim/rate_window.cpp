#include "sim/rate_window.hpp"

#include <chrono>

namespace kisgate::sim {

namespace {
constexpr auto kWindow = std::chrono::seconds(1);

// Drops times that left the window ending at `now`: an event at t counts for windows (t-1s, t].
void Expire(std::deque<common::SteadyTime>& times, common::SteadyTime now) {
  while (!times.empty() && times.front() <= now - kWindow) times.pop_front();
}
}  // namespace

bool RateWindow::TryAcquire(common::SteadyTime now) {
  if (kind_ == WindowKind::kSliding) {
    Expire(admitted_, now);
    if (admitted_.size() >= limit_) return false;
    admitted_.push_back(now);
    return true;
  }
  auto second = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (second != bucket_) {
    bucket_ = second;
    bucket_count_ = 0;
  }
  if (bucket_count_ >= limit_) return false;
  ++bucket_count_;
  return true;
}

void WindowPeak::Record(common::SteadyTime now) {
  Expire(times_, now);
  times_.push_back(now);
  if (times_.size() > peak_) peak_ = times_.size();
}

}  // namespace kisgate::sim

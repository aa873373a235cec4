#include "collect/schedule.hpp"

#include <algorithm>

namespace kisgate::collect {

using namespace std::chrono;

bool Schedule::InSession(const config::JobConfig& job, common::WallTime t) const {
  const auto& s = job.sessions;
  if (std::find(s.begin(), s.end(), common::kAlwaysSession) != s.end()) return true;
  const auto session = calendar_.SessionAt(t);
  if (session == common::Session::kClosed) return false;
  return std::find(s.begin(), s.end(), common::ToString(session)) != s.end();
}

std::optional<common::WallTime> Schedule::NextStart(const config::JobConfig& job,
                                                    common::WallTime after) const {
  const auto every = duration_cast<seconds>(job.every);
  if (every.count() <= 0) return std::nullopt;
  const auto limit = after + days{14};
  auto kst = common::ToKst(after);
  // The first interval boundary after `after`, counted from that day's midnight KST.
  auto since_midnight = kst.time_of_day;
  auto day = kst.date;
  auto slot = (since_midnight / every + 1) * every;
  for (;;) {
    if (slot >= hours{24}) {
      day = year_month_day{sys_days{day} + days{1}};
      slot = seconds{0};
    }
    const auto t = common::FromKst(day, slot);
    if (t > limit) return std::nullopt;
    const bool always = std::find(job.sessions.begin(), job.sessions.end(),
                                  common::kAlwaysSession) != job.sessions.end();
    if (!always && !calendar_.IsTradingDay(day)) {
      slot = hours{24};  // skip the whole day
      continue;
    }
    if (InSession(job, t)) return t;
    slot += every;
  }
}

}  // namespace kisgate::collect

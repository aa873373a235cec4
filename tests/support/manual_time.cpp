#include "support/manual_time.hpp"

#include <memory>
#include <stdexcept>
#include <string>

#include "common/kst.hpp"

namespace kisgate::testing {

namespace {
// Real time: how long this thread listens for replies on their way before time moves on. Not a
// threshold any result depends on: like the catch-up limit (how long a step waits for the other
// thread to receive what this one sent), it only keeps manual time from racing ahead of the
// sockets.
constexpr auto kQuiet = std::chrono::microseconds(300);
}  // namespace

ManualTime::ManualTime(common::WallTime wall_start) : clock_(wall_start) {}

void ManualTime::Settle(boost::asio::io_context& io, const CaughtUp& caught_up) {
  if (io.stopped()) io.restart();
  while (io.poll() > 0) {
  }
  if (caught_up) {
    const auto give_up_at = std::chrono::steady_clock::now() + catch_up_limit_;
    while (!caught_up(false)) {
      if (std::chrono::steady_clock::now() >= give_up_at) {
        caught_up(true);
        break;
      }
      if (io.stopped()) io.restart();
      io.run_one_for(std::chrono::microseconds(100));
    }
  }
  if (io.stopped()) io.restart();
  while (io.run_one_for(kQuiet) > 0) {
    if (io.stopped()) io.restart();
  }
}

bool ManualTime::RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                          common::Duration limit, CaughtUp caught_up) {
  const auto end = clock_.Now() + limit;
  for (;;) {
    Settle(io, caught_up);
    if (done()) return true;
    if (clock_.Now() >= end) return false;
    common::AdvanceAndRun(io, clock_, kStep, kStep);
  }
}

void ManualTime::Step(boost::asio::io_context& io, const CaughtUp& caught_up) {
  Settle(io, caught_up);
  common::AdvanceAndRun(io, clock_, kStep, kStep);
}

void ManualTime::RunFor(boost::asio::io_context& io, common::Duration d, CaughtUp caught_up) {
  const auto end = clock_.Now() + d;
  RunUntil(
      io, [&] { return clock_.Now() >= end; }, d + kStep, std::move(caught_up));
}

ManualTime::CaughtUp CountsMatch(std::function<std::int64_t()> sent,
                                 std::function<std::int64_t()> received) {
  auto deficit = std::make_shared<std::int64_t>(sent() - received());
  return [sent = std::move(sent), received = std::move(received), deficit](bool gave_up) {
    const auto s = sent();
    const auto r = received();
    if (gave_up || r + *deficit > s) *deficit = s - r;
    return r + *deficit >= s;
  };
}

common::WallTime Kst(std::string_view moment) {
  const auto parsed = common::ParseKstDateTime(moment);
  if (!parsed) {
    throw std::invalid_argument("not a KST moment (2026-11-24 11:00:00): " + std::string(moment));
  }
  return *parsed;
}

}  // namespace kisgate::testing

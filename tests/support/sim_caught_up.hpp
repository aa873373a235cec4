#pragma once
// ManualTime::CaughtUp for a test whose simulator (sim::BackgroundSimulator, on its own thread)
// serves the gateways' REST calls and the KIS WebSocket: manual time moves on once the simulator
// has received every call the gateways sent and the open sessions have answered every PINGPONG.
// The simulator then sees each call at the manual instant it was sent, and a session is never
// taken for dead because manual time ran past echoes still on the wire. Both always come: tests
// may wait long for them (ManualTime::SetCatchUpLimit).
//
// Header-only: for the tests that link kisgate_gate and kisgate_sim (the support library does
// not).

#include <cstdint>
#include <functional>
#include <utility>

#include "gate/gateway.hpp"
#include "sim/realtime.hpp"
#include "sim/sim_server.hpp"
#include "support/manual_time.hpp"

namespace kisgate::testing {

// The calls `gateway` sent upstream (retries included).
inline std::int64_t UpstreamCalls(const gate::Gateway& gateway) {
  std::int64_t sent = 0;
  for (const auto& key : gateway.Stats().keys) sent += static_cast<std::int64_t>(key.upstream);
  return sent;
}

// `sent`: the REST calls sent to the simulator (UpstreamCalls of each gateway); `sim`: the
// simulator now (asked each time, since a test may restart it; null while there is none).
inline ManualTime::CaughtUp SimCaughtUp(std::function<std::int64_t()> sent,
                                        std::function<sim::BackgroundSimulator*()> sim) {
  auto calls = CountsMatch(std::move(sent), [sim] {
    auto* s = sim();
    return s ? static_cast<std::int64_t>(s->simulator().TotalCalls()) : 0;
  });
  return [calls = std::move(calls), sim](bool gave_up) {
    const bool received = calls(gave_up);
    auto* s = sim();
    // Only open sessions count: a dropped one's last PINGPONG is never answered.
    const bool answered = s == nullptr || s->simulator().realtime().Stats().pings_unanswered == 0;
    return received && answered;
  };
}

}  // namespace kisgate::testing

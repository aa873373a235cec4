#pragma once
// ManualTime::CaughtUp for the tests of coord/ against a real redis-server (redis_server.hpp).
// Redis answers in real time, so manual time moves on only once every command the clients sent
// has been answered or has failed, however long that takes (ManualTime::SetCatchUpLimit); while
// the server is paused nothing is waited for, and its commands fail at their deadline in manual
// time. Key TTLs, TIME in scripts and lease expiry stay on Redis's own clock, in real time.
//
// Header-only: for the tests that link kisgate_coord (the support libraries do not).

#include <cstdint>
#include <functional>
#include <vector>

#include "coord/redis_client.hpp"
#include "support/manual_time.hpp"

namespace kisgate::testing {

// `clients`: the Redis clients whose commands to wait for (asked each time); `away`: true while the
// server cannot answer (paused): nothing is waited for then.
inline ManualTime::CaughtUp RedisCaughtUp(
    std::function<std::vector<const coord::RedisClient*>()> clients, std::function<bool()> away) {
  auto answered = CountsMatch(
      [clients] {
        std::int64_t sent = 0;
        for (const auto* c : clients()) sent += static_cast<std::int64_t>(c->stats().commands);
        return sent;
      },
      [clients] {
        std::int64_t done = 0;
        for (const auto* c : clients()) {
          done += static_cast<std::int64_t>(c->stats().replies + c->stats().failures);
        }
        return done;
      });
  return [answered = std::move(answered), away = std::move(away)](bool gave_up) {
    return away() || answered(gave_up);
  };
}

}  // namespace kisgate::testing

#pragma once
// Time as an injected dependency (Envoy TimeSource, userver MockNow): production code asks a Clock,
// tests hand in a ManualClock and move time by hand, so time-driven logic is deterministic.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kisgate::common {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

// Thread-safety: implementations are safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for rates, deadlines and timeouts.
  virtual SteadyTime Now() const = 0;
  // Calendar time (UTC based), for timestamps that leave the process.
  virtual WallTime WallNow() const = 0;
};

// Milliseconds since the Unix epoch, as stored and as sent to Redis, and back.
inline std::int64_t UnixMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline WallTime FromUnixMillis(std::int64_t ms) { return WallTime{std::chrono::milliseconds(ms)}; }

class SystemClock final : public Clock {
 public:
  SteadyTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  // A process-wide instance for production wiring.
  static const SystemClock& Instance();
};

// A clock that moves only when told to. Steady and wall time advance together.
// Thread-safety: Advance/Set and Now may race benignly (atomics); tests drive it from one thread.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(WallTime wall_start = WallTime{std::chrono::hours(24 * 365 * 56)})
      : wall_offset_(wall_start.time_since_epoch()) {}

  SteadyTime Now() const override { return SteadyTime{Duration{elapsed_.load()}}; }
  WallTime WallNow() const override {
    return WallTime{
        std::chrono::duration_cast<WallTime::duration>(wall_offset_ + Duration{elapsed_.load()})};
  }
  void Advance(Duration d) { elapsed_ += d.count(); }

 private:
  std::chrono::system_clock::duration wall_offset_;
  std::atomic<Duration::rep> elapsed_{0};
};

}  // namespace kisgate::common

#pragma once
// Per-key call counting for the simulator: the limiter that answers EGW00201, and the meter that
// reports the busiest 1-second window a client produced.
//
// Thread-safety: none; the Simulator serialises access.

#include <cstddef>
#include <cstdint>
#include <deque>

#include "common/clock.hpp"

namespace kisgate::sim {

enum class WindowKind {
  kSliding,  // any 1-second interval (the strict reading of KIS's limit)
  kFixed,    // calendar seconds: a burst straddling a boundary can pass twice the limit
};

// Admits at most `limit` calls in a 1-second window.
class RateWindow {
 public:
  RateWindow(WindowKind kind, std::size_t limit) : kind_(kind), limit_(limit) {}

  // Counts the call and returns true when it fits the window; returns false (and counts nothing)
  // when it would exceed it.
  bool TryAcquire(common::SteadyTime now);
  std::size_t limit() const { return limit_; }

 private:
  WindowKind kind_;
  std::size_t limit_;
  std::deque<common::SteadyTime> admitted_;  // sliding: admission times within the last second
  std::int64_t bucket_ = -1;                 // fixed: the current second
  std::size_t bucket_count_ = 0;
};

// Tracks the largest number of events that fell in any 1-second interval.
class WindowPeak {
 public:
  void Record(common::SteadyTime now);
  std::size_t peak() const { return peak_; }
  void Reset() {
    times_.clear();
    peak_ = 0;
  }

 private:
  std::deque<common::SteadyTime> times_;
  std::size_t peak_ = 0;
};

}  // namespace kisgate::sim

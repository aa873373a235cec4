#pragma once
// Retry discipline (DESIGN.md "Retries"): a budget that keeps retries to a fraction of calls, so a
// failing upstream is not hit harder exactly when it is struggling, and exponential backoff with
// full jitter, so retries of calls that failed together do not return together.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "gate/rng.hpp"

namespace kisgate::gate {

struct RetryBudgetConfig {
  double ratio = 0.1;   // retries allowed per first attempt, over the window
  int min_retries = 3;  // allowed per window regardless of volume, so a quiet key can still retry
  common::Duration window = std::chrono::seconds(10);
  int buckets = 10;  // the window slides in steps of window / buckets

  std::optional<std::string> Validate() const;
};

// Counts first attempts and retries over a sliding window; a retry is allowed while
// retries + 1 <= ratio x calls + min_retries within the window.
// Thread-safety: none; owned next to the key's Budget.
class RetryBudget {
 public:
  // Throws std::invalid_argument with Validate()'s message (a wiring bug: configs are validated at
  // startup).
  explicit RetryBudget(RetryBudgetConfig config = {});

  // A first attempt was made (retries are not calls here: they only withdraw).
  void RecordCall(common::SteadyTime now);
  // Takes one retry from the budget, or returns false when the budget is spent.
  bool TryConsumeRetry(common::SteadyTime now);

  std::uint64_t calls_in_window(common::SteadyTime now);
  std::uint64_t retries_in_window(common::SteadyTime now);

 private:
  struct Bucket {
    std::int64_t epoch = -1;
    std::uint64_t calls = 0;
    std::uint64_t retries = 0;
  };
  Bucket& Current(common::SteadyTime now);
  std::int64_t Epoch(common::SteadyTime now) const;

  RetryBudgetConfig config_;
  common::Duration width_;
  std::vector<Bucket> buckets_;
};

struct BackoffConfig {
  common::Duration base = std::chrono::milliseconds(100);
  common::Duration cap = std::chrono::seconds(5);

  std::optional<std::string> Validate() const;
};

// Full-jitter exponential backoff before retry number `attempt` (1 for the first retry): uniform in
// [0, min(cap, base x 2^(attempt - 1))). Attempts below 1 count as 1.
common::Duration Backoff(int attempt, Rng& rng, const BackoffConfig& config = {});

}  // namespace kisgate::gate

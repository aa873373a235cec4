#include "gate/retry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace kisgate::gate {

namespace {
std::int64_t Millis(common::Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}
}  // namespace

std::optional<std::string> RetryBudgetConfig::Validate() const {
  if (!(std::isfinite(ratio) && ratio >= 0 && ratio <= 1)) {
    return fmt::format("gate.retry_budget must be in [0, 1], got {}", ratio);
  }
  if (min_retries < 0) return fmt::format("gate.min_retries must be >= 0, got {}", min_retries);
  if (buckets < 1) return fmt::format("gate.retry_buckets must be >= 1, got {}", buckets);
  if (window < common::Duration(buckets)) {
    return fmt::format("gate.retry_window must be > 0, got {} ms", Millis(window));
  }
  return std::nullopt;
}

RetryBudget::RetryBudget(RetryBudgetConfig config) : config_(config) {
  if (auto error = config_.Validate()) throw std::invalid_argument(*error);
  width_ = config_.window / config_.buckets;
  buckets_.resize(static_cast<std::size_t>(config_.buckets));
}

void RetryBudget::RecordCall(common::SteadyTime now) { ++Current(now).calls; }

bool RetryBudget::TryConsumeRetry(common::SteadyTime now) {
  const auto calls = calls_in_window(now);
  const auto retries = retries_in_window(now);
  // The epsilon keeps ratio x calls from rounding just below a whole number (0.1 x 30).
  const double allowed = config_.ratio * static_cast<double>(calls) + config_.min_retries + 1e-9;
  if (static_cast<double>(retries + 1) > allowed) return false;
  ++Current(now).retries;
  return true;
}

std::uint64_t RetryBudget::calls_in_window(common::SteadyTime now) {
  const auto epoch = Epoch(now);
  std::uint64_t sum = 0;
  for (const Bucket& b : buckets_) {
    if (b.epoch > epoch - config_.buckets && b.epoch <= epoch) sum += b.calls;
  }
  return sum;
}

std::uint64_t RetryBudget::retries_in_window(common::SteadyTime now) {
  const auto epoch = Epoch(now);
  std::uint64_t sum = 0;
  for (const Bucket& b : buckets_) {
    if (b.epoch > epoch - config_.buckets && b.epoch <= epoch) sum += b.retries;
  }
  return sum;
}

RetryBudget::Bucket& RetryBudget::Current(common::SteadyTime now) {
  const auto epoch = Epoch(now);
  Bucket& b = buckets_[static_cast<std::size_t>(epoch % config_.buckets)];
  if (b.epoch != epoch) b = Bucket{epoch, 0, 0};
  return b;
}

std::int64_t RetryBudget::Epoch(common::SteadyTime now) const {
  return now.time_since_epoch() / width_;
}

std::optional<std::string> BackoffConfig::Validate() const {
  if (base <= common::Duration::zero()) {
    return fmt::format("gate.backoff_base must be > 0, got {} ms", Millis(base));
  }
  if (cap < base) {
    return fmt::format("gate.backoff_cap must be >= backoff_base ({} ms), got {} ms", Millis(base),
                       Millis(cap));
  }
  return std::nullopt;
}

common::Duration Backoff(int attempt, Rng& rng, const BackoffConfig& config) {
  // In doubles: base x 2^(attempt - 1) overflows integers after a few dozen attempts.
  const int exponent = std::clamp(attempt, 1, 64) - 1;
  const double ceiling = std::min(static_cast<double>(config.cap.count()),
                                  std::ldexp(static_cast<double>(config.base.count()), exponent));
  return common::Duration(static_cast<common::Duration::rep>(ceiling * UnitUniform(rng)));
}

}  // namespace kisgate::gate

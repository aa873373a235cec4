#include "gate/key_pool.hpp"

#include <stdexcept>
#include <utility>

namespace kisgate::gate {

KeyPool::KeyPool(std::vector<Budget> budgets) : budgets_(std::move(budgets)) {
  if (budgets_.empty()) throw std::invalid_argument("gate: a key pool needs at least one key");
}

std::size_t KeyPool::Pick(Lane lane, common::SteadyTime now) const {
  std::size_t best = 0;
  auto best_time = budgets_[0].EarliestAdmission(lane, now);
  auto best_load = budgets_[0].queued() + budgets_[0].in_flight();
  for (std::size_t i = 1; i < budgets_.size(); ++i) {
    const auto time = budgets_[i].EarliestAdmission(lane, now);
    const auto load = budgets_[i].queued() + budgets_[i].in_flight();
    if (time < best_time || (time == best_time && load < best_load)) {
      best = i;
      best_time = time;
      best_load = load;
    }
  }
  return best;
}

}  // namespace kisgate::gate

#pragma once
// Several app keys (several accounts) multiply throughput (DESIGN.md "Key pool"): a stateless
// quotation goes to the key that can take it soonest. The pool owns one Budget per key; calls that
// need a particular key (token issuance, orders) go to that key's Budget directly.
//
// Thread-safety: none; driven from the same strand as its Budgets.

#include <cstddef>
#include <vector>

#include "common/clock.hpp"
#include "gate/budget.hpp"

namespace kisgate::gate {

class KeyPool {
 public:
  // Requires at least one budget.
  explicit KeyPool(std::vector<Budget> budgets);

  // The index of the key whose Budget::EarliestAdmission(lane, now) is smallest; ties go to the key
  // with fewer calls queued and in flight, then to the lower index. O(keys).
  std::size_t Pick(Lane lane, common::SteadyTime now) const;

  std::size_t size() const { return budgets_.size(); }
  Budget& at(std::size_t index) { return budgets_.at(index); }
  const Budget& at(std::size_t index) const { return budgets_.at(index); }

 private:
  std::vector<Budget> budgets_;
};

}  // namespace kisgate::gate

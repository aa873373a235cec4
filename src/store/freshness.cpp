#include "store/freshness.hpp"

#include <algorithm>
#include <map>

namespace kisgate::store {

std::vector<DatasetFreshness> SummariseFreshness(const std::vector<Freshness>& ages) {
  std::map<std::string, std::vector<double>> by_dataset;
  for (const auto& a : ages) by_dataset[a.dataset].push_back(a.age_s);
  std::vector<DatasetFreshness> out;
  for (auto& [dataset, values] : by_dataset) {
    std::sort(values.begin(), values.end());
    out.push_back(
        {dataset, values.size(), values.back(), values[values.size() / 2], values.front()});
  }
  return out;
}

}  // namespace kisgate::store

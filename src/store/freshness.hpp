#pragma once
// How fresh the held values are, per data set: the summary /v1/jobs shows and /metrics exports
// (kisgate_data_values, kisgate_data_age_seconds), from Store::Ages.

#include <cstddef>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace kisgate::store {

// Freshness of one data set: how many values are held and how old they are.
struct DatasetFreshness {
  std::string dataset;
  std::size_t values = 0;
  double oldest_s = 0, median_s = 0, newest_s = 0;
};
// One entry per data set that holds a value, in order of name.
std::vector<DatasetFreshness> SummariseFreshness(const std::vector<Freshness>& ages);

}  // namespace kisgate::store

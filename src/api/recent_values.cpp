#include "api/recent_values.hpp"

namespace kisgate::api {

const store::Record* RecentValues::Find(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  order_.splice(order_.begin(), order_, it->second);
  return &it->second->second;
}

void RecentValues::Put(const std::string& key, store::Record record) {
  if (capacity_ == 0) return;
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->second = std::move(record);
    order_.splice(order_.begin(), order_, it->second);
    return;
  }
  order_.emplace_front(key, std::move(record));
  index_[key] = order_.begin();
  while (index_.size() > capacity_) {
    index_.erase(order_.back().first);
    order_.pop_back();
  }
}

}  // namespace kisgate::api

#pragma once
// Single values (a price, an order book, an after-hours price) of codes outside the universe,
// held briefly in memory only: the API does not store them, yet `max_age` should hold for them
// as for any code. A least-recently-used map with a fixed capacity, so that asking for
// arbitrary codes cannot grow memory: the least recently used value goes first.
//
// Thread-safety: none; the service's io thread only.

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>

#include "store/record.hpp"

namespace kisgate::api {

class RecentValues {
 public:
  explicit RecentValues(std::size_t capacity) : capacity_(capacity) {}

  // The value held for `key` ("dataset/code"), marked as just used; nullptr when none.
  const store::Record* Find(const std::string& key);
  // Holds `record` for `key`, replacing what was held; evicts the least recently used beyond
  // the capacity.
  void Put(const std::string& key, store::Record record);

  std::size_t size() const { return index_.size(); }

 private:
  using Entry = std::pair<std::string, store::Record>;
  std::size_t capacity_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace kisgate::api

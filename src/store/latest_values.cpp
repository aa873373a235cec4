#include "store/latest_values.hpp"

#include <algorithm>
#include <tuple>

namespace kisgate::store {

namespace {

using std::chrono::floor;
using std::chrono::milliseconds;

}  // namespace

void LatestValues::Update(const std::vector<Record>& records) {
  std::lock_guard lock(mutex_);
  for (const auto& r : records) {
    auto& latest = records_[{r.dataset, r.code}];
    if (r.market_time >= latest.market_time) {
      latest = r;
      latest.collected_at = floor<milliseconds>(r.collected_at);
    }
  }
}

void LatestValues::Update(const std::vector<kis::Tick>& ticks) {
  std::lock_guard lock(mutex_);
  for (const auto& t : ticks) {
    auto [it, fresh] = ticks_.try_emplace(t.code, t);
    auto& latest = it->second;
    if (!fresh && std::tie(t.date, t.time, t.seq) < std::tie(latest.date, latest.time, latest.seq))
      continue;
    latest = t;
    latest.received_at = floor<milliseconds>(t.received_at);
  }
}

void LatestValues::Update(const std::vector<kis::BookSnapshot>& books) {
  std::lock_guard lock(mutex_);
  for (const auto& b : books) {
    auto [it, fresh] = books_.try_emplace(b.code, b);
    auto& latest = it->second;
    if (!fresh && std::tie(b.date, b.time, b.received_at) <
                      std::tie(latest.date, latest.time, latest.received_at))
      continue;
    latest = b;
    latest.received_at = floor<milliseconds>(b.received_at);
  }
}

std::optional<Record> LatestValues::Latest(const std::string& dataset,
                                           const std::string& code) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find({dataset, code});
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

std::optional<common::WallTime> LatestValues::CollectedAt(const std::string& dataset,
                                                          const std::string& code) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find({dataset, code});
  if (it == records_.end()) return std::nullopt;
  return it->second.collected_at;
}

std::optional<kis::Tick> LatestValues::Tick(const std::string& code) const {
  std::lock_guard lock(mutex_);
  auto it = ticks_.find(code);
  if (it == ticks_.end()) return std::nullopt;
  return it->second;
}

std::optional<kis::BookSnapshot> LatestValues::Book(const std::string& code) const {
  std::lock_guard lock(mutex_);
  auto it = books_.find(code);
  if (it == books_.end()) return std::nullopt;
  return it->second;
}

std::vector<Freshness> LatestValues::Ages(common::WallTime now) const {
  std::vector<Freshness> out;
  std::lock_guard lock(mutex_);
  out.reserve(records_.size());
  for (const auto& [key, record] : records_) {
    out.push_back(Freshness{key.first, key.second, record.collected_at,
                            std::chrono::duration<double>(now - record.collected_at).count()});
  }
  std::sort(out.begin(), out.end(),
            [](const Freshness& a, const Freshness& b) { return a.age_s > b.age_s; });
  return out;
}

}  // namespace kisgate::store

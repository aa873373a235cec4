#pragma once
// The latest value the store was given of each (data set, code), each code's latest trade and its
// latest order-book snapshot, in memory: what readers ask most (the price route, freshness
// metrics) answered without the database, and at once after a write. Both back ends keep one.
// Times are kept in whole milliseconds, as the databases keep them.
//
// Thread-safety: every method may be called from any thread.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kis/realtime.hpp"
#include "store/store.hpp"

namespace kisgate::store {

class LatestValues {
 public:
  // Each replaces the held value of its key when it is as new or newer: a record by market_time,
  // a trade by (date, time, seq), a snapshot by (date, time, received_at).
  void Update(const std::vector<Record>& records);
  void Update(const std::vector<kis::Tick>& ticks);
  void Update(const std::vector<kis::BookSnapshot>& books);

  std::optional<Record> Latest(const std::string& dataset, const std::string& code) const;
  std::optional<common::WallTime> CollectedAt(const std::string& dataset,
                                              const std::string& code) const;
  std::optional<kis::Tick> Tick(const std::string& code) const;
  std::optional<kis::BookSnapshot> Book(const std::string& code) const;
  // The records' ages at `now`, oldest first.
  std::vector<Freshness> Ages(common::WallTime now) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Record> records_;
  std::map<std::string, kis::Tick, std::less<>> ticks_;
  std::map<std::string, kis::BookSnapshot, std::less<>> books_;
};

}  // namespace kisgate::store

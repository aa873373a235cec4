#pragma once
// The latest value of each (data set, code) that /v1/stocks/{code}/... answers with one value (a
// price, an order book, an after-hours price or book): the stored value, with the stream's newest
// trade applied to a price (a trade moves the price fields of the held quote and leaves the rest,
// limits, PER and the like, as they are), and the answer's bytes rendered once, when the value
// changes. A cached read then looks the value up by an integer key, checks it is still the latest,
// and copies its bytes and its age into the reply: it parses nothing and allocates nothing but the
// reply.
//
// Codes of the universe: the store holds their values; an entry here is their rendering, and says
// which stored value it comes from (`stored_at`), so a newer one in the store replaces it. Other
// codes: the entry is the value itself, held for `max_outside` codes at most (least recently used
// first out), so asking for arbitrary codes grows neither the store nor the memory.
//
// Thread-safety: none; the service's io thread only.

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"
#include "common/vocabulary.hpp"
#include "kis/records.hpp"

namespace kisgate::api {

struct LatestValue {
  LatestValue() = default;
  LatestValue(kis::SingleValue v, common::WallTime as_of_, common::WallTime stored_at_,
              bool from_table_ = false)
      : value(std::move(v)), as_of(as_of_), stored_at(stored_at_), from_table(from_table_) {}

  kis::SingleValue value;
  common::WallTime as_of{};  // when KIS gave the value, or when its newest trade came
  // The collected_at of the stored value it comes from (the epoch when none), so that a newer
  // one in the store replaces it.
  common::WallTime stored_at{};
  bool from_table = false;  // read from the store's table (nothing written since it opened)
  bool streamed = false;    // a trade moved it since KIS gave it: source "stream"
  // The answer up to its age: {<the value's fields>,"code":"005930","as_of":"...","age_ms":
  std::string head;
};

class LatestCache {
 public:
  // `max_outside`: how many values of codes outside the universe are held.
  explicit LatestCache(std::size_t max_outside) : max_outside_(max_outside) {}

  // The entry of (dataset, code), marked as just used; null when none (or `code` is not six
  // characters).
  const LatestValue* Find(common::Dataset dataset, std::string_view code);
  // Renders `value` as the latest of (dataset, code), replacing what was held, and returns it.
  // `outside`: a code outside the universe (the entry is all that is held of it).
  const LatestValue& Put(common::Dataset dataset, std::string_view code, LatestValue value,
                         bool outside);

  // The body of an answer from `entry` at `now`: its bytes, its age and where it came from.
  static std::string Body(const LatestValue& entry, common::WallTime now, std::string_view source,
                          bool stale = false, std::string_view stale_reason = {});

  std::size_t outside() const { return lru_.size(); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Slot {
    LatestValue value;
    std::optional<std::list<std::uint64_t>::iterator> lru;  // codes outside the universe
  };
  static std::optional<std::uint64_t> Key(common::Dataset dataset, std::string_view code);

  std::size_t max_outside_;
  std::unordered_map<std::uint64_t, Slot> entries_;
  std::list<std::uint64_t> lru_;  // most recently used first
  LatestValue scratch_;           // a value held for one answer only (not a route's code)
};

// The head of a LatestValue: the value's fields, the code, as_of, and "age_ms": to be continued.
std::string RenderHead(const kis::SingleValue& value, std::string_view code,
                       common::WallTime as_of);

}  // namespace kisgate::api

#include "api/latest_cache.hpp"

#include <cmath>

#include "common/kst.hpp"
#include "views/json_writer.hpp"
#include "views/market.hpp"

namespace kisgate::api {

namespace {

// Values of the universe held at most; beyond it the renderings start again (bounds memory for a
// universe of any size; each is rendered again on its next read).
constexpr std::size_t kMaxKept = 100'000;

}  // namespace

std::optional<std::uint64_t> LatestCache::Key(common::Dataset dataset, std::string_view code) {
  if (code.size() != 6) return std::nullopt;
  std::uint64_t key = static_cast<std::uint8_t>(dataset);
  for (const char c : code) key = (key << 8) | static_cast<unsigned char>(c);
  return key;
}

const LatestValue* LatestCache::Find(common::Dataset dataset, std::string_view code) {
  const auto key = Key(dataset, code);
  if (!key) return nullptr;
  const auto it = entries_.find(*key);
  if (it == entries_.end()) return nullptr;
  if (it->second.lru) lru_.splice(lru_.begin(), lru_, *it->second.lru);
  return &it->second.value;
}

const LatestValue& LatestCache::Put(common::Dataset dataset, std::string_view code,
                                    LatestValue value, bool outside) {
  const auto key = Key(dataset, code);
  value.head = RenderHead(value.value, code, value.as_of);
  if (!key) {  // not a code the routes take; kept nowhere
    scratch_ = std::move(value);
    return scratch_;
  }
  auto it = entries_.find(*key);
  if (it == entries_.end()) {
    if (!outside && entries_.size() - lru_.size() >= kMaxKept) {
      std::erase_if(entries_, [](const auto& e) { return !e.second.lru; });
    }
    it = entries_.emplace(*key, Slot{}).first;
  }
  auto& slot = it->second;
  slot.value = std::move(value);
  if (outside) {
    if (slot.lru) {
      lru_.splice(lru_.begin(), lru_, *slot.lru);
    } else {
      lru_.push_front(*key);
      slot.lru = lru_.begin();
    }
    while (lru_.size() > max_outside_) {
      const auto last = lru_.back();
      lru_.pop_back();
      if (last == *key) {  // a capacity of 0: held for this answer only
        scratch_ = std::move(entries_.at(last).value);
        entries_.erase(last);
        return scratch_;
      }
      entries_.erase(last);
    }
  } else if (slot.lru) {  // it joined the universe
    lru_.erase(*slot.lru);
    slot.lru.reset();
  }
  return slot.value;
}

std::string RenderHead(const kis::SingleValue& value, std::string_view code,
                       common::WallTime as_of) {
  std::string out;
  out.reserve(1024);
  views::JsonWriter w(out);
  w.Begin();
  // An order book's time is a time of day: its day is the day it was fetched.
  const auto day = [&] { return common::FormatYmd(common::ToKst(as_of).date); };
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, kis::PriceQuote>) {
          views::PriceFields(w, v);
        } else if constexpr (std::is_same_v<T, kis::OrderBook>) {
          views::OrderBookFields(w, v, day());
        } else if constexpr (std::is_same_v<T, kis::OvertimePrice>) {
          views::OvertimeFields(w, v);
        } else {
          views::OvertimeBookFields(w, v, day());
        }
      },
      value);
  w.Field("code", code).Key("as_of");
  out.push_back('"');
  views::AppendTime(out, as_of);
  out += "\",\"age_ms\":";
  return out;
}

std::string LatestCache::Body(const LatestValue& entry, common::WallTime now,
                              std::string_view source, bool stale, std::string_view stale_reason) {
  const auto age_ms = std::max<std::int64_t>(
      0, std::llround(std::chrono::duration<double, std::milli>(now - entry.as_of).count()));
  std::string out;
  out.reserve(entry.head.size() + 64 + stale_reason.size());
  out += entry.head;
  views::AppendNumber(out, age_ms);
  out += ",\"source\":";
  views::AppendString(out, source);
  out += stale ? ",\"stale\":true" : ",\"stale\":false";
  if (stale) {
    out += ",\"stale_reason\":";
    views::AppendString(out, stale_reason);
  }
  out += "}\n";
  return out;
}

}  // namespace kisgate::api

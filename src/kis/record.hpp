#pragma once
// One collected value: which data set and stock, the market time it describes (part of the key,
// so writing it twice changes nothing), typed columns, and the raw KIS JSON it came from, so no
// field KIS sends is lost. kis/records.hpp makes them from KIS replies and reads them back; the
// store keeps them (store::Record names this type).
//
// It lives in kis/ because every field is KIS-shaped (data sets are kis::TrInfo::dataset, times are
// KIS's KST strings, raw is KIS JSON) and kis/ comes before store/ in the module order: the
// converter and the store then share one type, with no copy between them.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.hpp"

namespace kisgate::kis {

using Value = std::variant<std::int64_t, double, std::string>;

struct Record {
  std::string dataset;      // "price", "orderbook", ... (kis::TrInfo::dataset)
  std::string code;         // six-character stock code
  std::string market_time;  // KST, "YYYYMMDD" or "YYYYMMDDHHMMSS": what moment the value is of
  common::WallTime collected_at{};                     // when kisgate fetched it
  std::vector<std::pair<std::string, Value>> columns;  // the data set's typed columns
  std::string raw;                                     // the KIS JSON this record came from

  // The typed column `name`, or nullptr when the record has none of that name.
  const Value* Column(std::string_view name) const {
    for (const auto& [n, v] : columns) {
      if (n == name) return &v;
    }
    return nullptr;
  }
};

}  // namespace kisgate::kis

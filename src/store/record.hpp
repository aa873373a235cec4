#pragma once
// One collected value as storage sees it: which data set and stock, the market time it describes
// (part of the key, so writing it twice changes nothing), typed columns, and the raw KIS JSON it
// came from, so no field KIS sends is lost.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/vocabulary.hpp"

namespace kisgate::store {

using Value = std::variant<std::int64_t, double, std::string>;

struct Record {
  std::string dataset;      // "price", "orderbook", ... (kis::TrInfo::dataset)
  std::string code;         // six-character stock code
  std::string market_time;  // KST, "YYYYMMDD" or "YYYYMMDDHHMMSS": what moment the value is of
  std::string collected_at; // ISO 8601 with +09:00: when kisgate fetched it
  std::vector<std::pair<std::string, Value>> columns;  // the data set's typed columns
  std::string raw;          // the KIS JSON this record came from
};

// The typed columns of each data set, in table order. Every data set of the vocabulary
// (common/vocabulary.hpp) has its table, named common::Name(dataset).
struct ColumnSpec {
  const char* name;
  enum Type { kInteger, kReal, kText } type;
};
const std::vector<ColumnSpec>& ColumnsOf(common::Dataset dataset);
// The columns of the data set named `dataset`; null for any other text.
const std::vector<ColumnSpec>* ColumnsOf(std::string_view dataset);
// The names of all data sets (common::kAllDatasets), one table each.
std::vector<std::string_view> Datasets();

}  // namespace kisgate::store

#pragma once
// Records as storage sees them (the type is kis::Record: the KIS converter and the store share
// it), and the typed columns each data set's table has.

#include <string>
#include <string_view>
#include <vector>

#include "common/vocabulary.hpp"
#include "kis/record.hpp"

namespace kisgate::store {

using Value = kis::Value;
using Record = kis::Record;

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

// A value from outside (KIS, or what the database refused) quoted for a log line: at most 40
// bytes, control bytes escaped, and the length when it was longer.
std::string Shown(std::string_view text);

}  // namespace kisgate::store

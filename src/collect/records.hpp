#pragma once
// KIS replies -> storage records. Single-value data sets (price, order book, after-hours) become
// one record keyed by the cycle's time; row data sets (investor flows, bars) one record per row,
// keyed by the row's own date (and time). Each record keeps the JSON it came from.

#include <string>
#include <variant>
#include <vector>

#include "kis/errors.hpp"
#include "kis/tr_catalogue.hpp"
#include "store/record.hpp"

namespace kisgate::collect {

// `cycle_time` is the cycle's scheduled start, KST "YYYYMMDDHHMMSS"; `collected_at` ISO 8601.
// A reply without the expected output is a Classification ("malformed_reply").
std::variant<std::vector<store::Record>, kis::Classification> ToRecords(
    kis::Tr tr, const std::string& code, const std::string& body, const std::string& cycle_time,
    const std::string& collected_at);

}  // namespace kisgate::collect

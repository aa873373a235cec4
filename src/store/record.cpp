#include "store/record.hpp"

#include <fmt/format.h>

namespace kisgate::store {

namespace {

using T = ColumnSpec;
using D = common::Dataset;

}  // namespace

// A switch with no default: a data set without columns does not compile (-Wswitch).
const std::vector<ColumnSpec>& ColumnsOf(common::Dataset dataset) {
  static const std::vector<ColumnSpec> kPrice = {
      {"price", T::kInteger},  {"change", T::kInteger},      {"change_pct", T::kReal},
      {"open", T::kInteger},   {"high", T::kInteger},        {"low", T::kInteger},
      {"volume", T::kInteger}, {"traded_value", T::kInteger}};
  static const std::vector<ColumnSpec> kOrderBook = {{"best_ask", T::kInteger},
                                                     {"best_bid", T::kInteger},
                                                     {"total_ask_quantity", T::kInteger},
                                                     {"total_bid_quantity", T::kInteger},
                                                     {"expected_price", T::kInteger}};
  static const std::vector<ColumnSpec> kInvestors = {{"close", T::kInteger},
                                                     {"individuals_net", T::kInteger},
                                                     {"foreigners_net", T::kInteger},
                                                     {"institutions_net", T::kInteger}};
  static const std::vector<ColumnSpec> kOvertimePrice = {
      {"price", T::kInteger}, {"change", T::kInteger}, {"volume", T::kInteger}};
  static const std::vector<ColumnSpec> kOvertimeOrderBook = {{"best_ask", T::kInteger},
                                                             {"best_bid", T::kInteger},
                                                             {"total_ask_quantity", T::kInteger},
                                                             {"total_bid_quantity", T::kInteger}};
  static const std::vector<ColumnSpec> kBars = {
      {"open", T::kInteger},  {"high", T::kInteger},   {"low", T::kInteger},
      {"close", T::kInteger}, {"volume", T::kInteger}, {"traded_value", T::kInteger}};
  switch (dataset) {
    case D::kPrice:
      return kPrice;
    case D::kOrderBook:
      return kOrderBook;
    case D::kInvestors:
      return kInvestors;
    case D::kOvertimePrice:
      return kOvertimePrice;
    case D::kOvertimeOrderBook:
      return kOvertimeOrderBook;
    case D::kMinuteBars:
    case D::kDailyBars:
      return kBars;
  }
  return kPrice;  // unreachable: the switch covers every data set
}

const std::vector<ColumnSpec>* ColumnsOf(std::string_view dataset) {
  const auto parsed = common::ParseDataset(dataset);
  return parsed ? &ColumnsOf(*parsed) : nullptr;
}

std::vector<std::string_view> Datasets() {
  std::vector<std::string_view> out;
  out.reserve(common::kAllDatasets.size());
  for (auto dataset : common::kAllDatasets) out.push_back(common::Name(dataset));
  return out;
}

std::string Shown(std::string_view text) {
  std::string out;
  for (const unsigned char c : text.substr(0, 40)) {
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > 40) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

}  // namespace kisgate::store

#include "store/record.hpp"

#include <map>

namespace kisgate::store {

namespace {

using T = ColumnSpec;
const std::map<std::string_view, std::vector<ColumnSpec>>& Schema() {
  static const std::map<std::string_view, std::vector<ColumnSpec>> kSchema = {
      {"price",
       {{"price", T::kInteger}, {"change", T::kInteger}, {"change_pct", T::kReal},
        {"open", T::kInteger}, {"high", T::kInteger}, {"low", T::kInteger},
        {"volume", T::kInteger}, {"traded_value", T::kInteger}}},
      {"orderbook",
       {{"best_ask", T::kInteger}, {"best_bid", T::kInteger}, {"total_ask_quantity", T::kInteger},
        {"total_bid_quantity", T::kInteger}, {"expected_price", T::kInteger}}},
      {"investors",
       {{"close", T::kInteger}, {"individuals_net", T::kInteger}, {"foreigners_net", T::kInteger},
        {"institutions_net", T::kInteger}}},
      {"overtime_price",
       {{"price", T::kInteger}, {"change", T::kInteger}, {"volume", T::kInteger}}},
      {"overtime_orderbook",
       {{"best_ask", T::kInteger}, {"best_bid", T::kInteger}, {"total_ask_quantity", T::kInteger},
        {"total_bid_quantity", T::kInteger}}},
      {"bars_minute",
       {{"open", T::kInteger}, {"high", T::kInteger}, {"low", T::kInteger}, {"close", T::kInteger},
        {"volume", T::kInteger}, {"traded_value", T::kInteger}}},
      {"bars_daily",
       {{"open", T::kInteger}, {"high", T::kInteger}, {"low", T::kInteger}, {"close", T::kInteger},
        {"volume", T::kInteger}, {"traded_value", T::kInteger}}},
  };
  return kSchema;
}

}  // namespace

const std::vector<ColumnSpec>* ColumnsOf(std::string_view dataset) {
  auto it = Schema().find(dataset);
  return it == Schema().end() ? nullptr : &it->second;
}

std::vector<std::string_view> Datasets() {
  std::vector<std::string_view> out;
  for (const auto& [name, columns] : Schema()) out.push_back(name);
  return out;
}

}  // namespace kisgate::store

#include "store/stream_rows.hpp"

#include <chrono>
#include <string>

#include <fmt/format.h>

namespace kisgate::store {

namespace {

using T = ColumnSpec;

// Readers of a row's values that tolerate a NULL read back as absent (a shorter row).
struct RowReader {
  const std::vector<Value>& row;
  std::size_t i = 0;
  std::int64_t Int() {
    const auto* v = i < row.size() ? std::get_if<std::int64_t>(&row[i]) : nullptr;
    ++i;
    return v != nullptr ? *v : 0;
  }
  double Real() {
    const auto* v = i < row.size() ? std::get_if<double>(&row[i]) : nullptr;
    ++i;
    return v != nullptr ? *v : 0.0;
  }
  std::string Text() {
    const auto* v = i < row.size() ? std::get_if<std::string>(&row[i]) : nullptr;
    ++i;
    return v != nullptr ? *v : std::string();
  }
};

}  // namespace

const std::vector<ColumnSpec>& TickColumns() {
  static const std::vector<ColumnSpec> kColumns = {
      {"code", T::kText},          {"date", T::kText},           {"time", T::kText},
      {"seq", T::kInteger},        {"after_hours", T::kInteger}, {"price", T::kInteger},
      {"sign", T::kInteger},       {"change", T::kInteger},      {"change_pct", T::kReal},
      {"vwap", T::kReal},          {"open", T::kInteger},        {"high", T::kInteger},
      {"low", T::kInteger},        {"best_ask", T::kInteger},    {"best_bid", T::kInteger},
      {"volume", T::kInteger},     {"cum_volume", T::kInteger},  {"cum_value", T::kInteger},
      {"received_at", T::kInteger}};
  return kColumns;
}

const std::vector<ColumnSpec>& BookColumns() {
  static const std::vector<ColumnSpec> kColumns = [] {
    std::vector<ColumnSpec> c = {{"code", T::kText},
                                 {"date", T::kText},
                                 {"time", T::kText},
                                 {"received_at", T::kInteger},
                                 {"after_hours", T::kInteger}};
    // The names live as long as the program: kept in a static list of strings.
    static std::vector<std::string> names;
    names.reserve(40);
    for (const char* side : {"ask", "bid"}) {
      for (int level = 1; level <= 10; ++level) {
        names.push_back(fmt::format("{}_price_{}", side, level));
        names.push_back(fmt::format("{}_quantity_{}", side, level));
      }
    }
    for (const auto& name : names) c.push_back({name.c_str(), T::kInteger});
    for (const char* name : {"total_ask_quantity", "total_bid_quantity", "expected_price",
                             "expected_volume", "cum_volume"}) {
      c.push_back({name, T::kInteger});
    }
    return c;
  }();
  return kColumns;
}

std::vector<Value> TickRow(const kis::Tick& t) {
  return {Value{t.code},
          Value{t.date},
          Value{t.time},
          Value{std::int64_t{t.seq}},
          Value{std::int64_t{t.after_hours ? 1 : 0}},
          Value{t.price},
          Value{static_cast<std::int64_t>(t.sign)},
          Value{t.change},
          Value{t.change_pct},
          Value{t.vwap},
          Value{t.open},
          Value{t.high},
          Value{t.low},
          Value{t.best_ask},
          Value{t.best_bid},
          Value{t.volume},
          Value{t.cum_volume},
          Value{t.cum_value},
          Value{common::UnixMillis(t.received_at)}};
}

kis::Tick TickFromRow(const std::vector<Value>& row) {
  RowReader r{row};
  kis::Tick t;
  t.code = r.Text();
  t.date = r.Text();
  t.time = r.Text();
  t.seq = static_cast<std::uint32_t>(r.Int());
  t.after_hours = r.Int() != 0;
  t.price = r.Int();
  t.sign = static_cast<kis::Sign>(r.Int());
  t.change = r.Int();
  t.change_pct = r.Real();
  t.vwap = r.Real();
  t.open = r.Int();
  t.high = r.Int();
  t.low = r.Int();
  t.best_ask = r.Int();
  t.best_bid = r.Int();
  t.volume = r.Int();
  t.cum_volume = r.Int();
  t.cum_value = r.Int();
  t.received_at = common::FromUnixMillis(r.Int());
  return t;
}

std::vector<Value> BookRow(const kis::BookSnapshot& b) {
  std::vector<Value> row;
  row.reserve(BookColumns().size());
  row.emplace_back(b.code);
  row.emplace_back(b.date);
  row.emplace_back(b.time);
  row.emplace_back(common::UnixMillis(b.received_at));
  row.emplace_back(std::int64_t{b.after_hours ? 1 : 0});
  for (const auto* side : {&b.asks, &b.bids}) {
    for (const auto& level : *side) {
      row.emplace_back(level.price);
      row.emplace_back(level.quantity);
    }
  }
  for (auto v : {b.total_ask_quantity, b.total_bid_quantity, b.expected_price, b.expected_volume,
                 b.cum_volume}) {
    row.emplace_back(v);
  }
  return row;
}

kis::BookSnapshot BookFromRow(const std::vector<Value>& row) {
  RowReader r{row};
  kis::BookSnapshot b;
  b.code = r.Text();
  b.date = r.Text();
  b.time = r.Text();
  b.received_at = common::FromUnixMillis(r.Int());
  b.after_hours = r.Int() != 0;
  for (auto* side : {&b.asks, &b.bids}) {
    for (auto& level : *side) {
      level.price = r.Int();
      level.quantity = r.Int();
    }
  }
  b.total_ask_quantity = r.Int();
  b.total_bid_quantity = r.Int();
  b.expected_price = r.Int();
  b.expected_volume = r.Int();
  b.cum_volume = r.Int();
  return b;
}

}  // namespace kisgate::store

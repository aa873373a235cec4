#pragma once
// The narrow typed tables of the real-time stream, the same in both back ends: `ticks` (one row
// per trade, keyed (code, date, time, seq)) and `books` (one row per order-book snapshot, keyed
// (code, date, time, received_at); ten ask and ten bid levels as columns). No raw JSON: at 50,000
// trades/s a row must stay small. A row travels as a vector of values in column order, so each
// back end binds and reads it without knowing the fields.

#include <cstddef>
#include <string_view>
#include <vector>

#include "kis/realtime.hpp"
#include "store/record.hpp"

namespace kisgate::store {

inline constexpr std::string_view kTicksTable = "ticks";
inline constexpr std::string_view kBooksTable = "books";
// The key columns come first in each table's column list.
inline constexpr std::size_t kStreamKeyColumns = 4;

// code, date, time, seq, then the trade's fields; received_at is milliseconds since the Unix epoch.
const std::vector<ColumnSpec>& TickColumns();
// code, date, time, received_at, then the snapshot's fields.
const std::vector<ColumnSpec>& BookColumns();

std::vector<Value> TickRow(const kis::Tick& tick);
// A row read back (values of the columns' types, in column order; a missing value reads as 0).
kis::Tick TickFromRow(const std::vector<Value>& row);
std::vector<Value> BookRow(const kis::BookSnapshot& book);
kis::BookSnapshot BookFromRow(const std::vector<Value>& row);

}  // namespace kisgate::store

#pragma once
// kisgate's vocabulary, defined once: the data sets it collects and serves, the gate's lanes and
// KRX's trading sessions. Every module that names one of them (the TR catalogue, the store's
// tables, the config, the API's routes, the metrics) takes it from here, so their lists cannot
// drift apart; the names are the config's and the wire's (`dataset = "bars_minute"`,
// `lane = "batch"`, `sessions = ["regular"]`) and never change.
//
// Each enum has a constexpr list of all its values, Name() and a Parse...() that inverts it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kisgate::common {

// A kind of collected value: one KIS TR, one table in the store, one API route, one max_age.
enum class Dataset : std::uint8_t {
  kPrice,
  kOrderBook,
  kInvestors,
  kOvertimePrice,
  kOvertimeOrderBook,
  kMinuteBars,
  kDailyBars,
};
inline constexpr std::array kAllDatasets = {
    Dataset::kPrice,         Dataset::kOrderBook,         Dataset::kInvestors,
    Dataset::kOvertimePrice, Dataset::kOvertimeOrderBook, Dataset::kMinuteBars,
    Dataset::kDailyBars};
std::string_view Name(Dataset dataset);  // "price", "orderbook", ..., "bars_daily"
std::optional<Dataset> ParseDataset(std::string_view name);

// A gate lane, highest priority first (the order is the priority: gate/budget.hpp).
enum class Lane : std::uint8_t { kInteractive = 0, kBatch = 1, kBackground = 2 };
inline constexpr std::array kAllLanes = {Lane::kInteractive, Lane::kBatch, Lane::kBackground};
std::string_view Name(Lane lane);  // "interactive", "batch", "background"
std::optional<Lane> ParseLane(std::string_view name);

// The trading sessions of kis-api.md §7, in KST (MarketCalendar::SessionAt says which one a
// moment is in).
enum class Session : std::uint8_t {
  kClosed,
  kPreOpen,         // 08:30–09:00 opening auction
  kRegular,         // 09:00–15:20
  kClosingAuction,  // 15:20–15:30
  kAfterClose,      // 15:40–16:00 after-hours at the closing price
  kAfterHours,      // 16:00–18:00 after-hours single price
};
inline constexpr std::array kAllSessions = {Session::kClosed,     Session::kPreOpen,
                                            Session::kRegular,    Session::kClosingAuction,
                                            Session::kAfterClose, Session::kAfterHours};
std::string_view Name(Session session);  // "closed", "pre_open", "regular", "closing", ...
std::optional<Session> ParseSession(std::string_view name);

// What a job's `sessions` list names: any session but kClosed, or "always" (every moment of every
// day, trading day or not).
inline constexpr std::string_view kAlwaysSession = "always";
bool IsJobSession(std::string_view name);
// The names IsJobSession() accepts, for error messages: "pre_open, regular, ..., always".
std::string JobSessionNames();

// "price, orderbook, ...": every name of a list, in its order, for error messages.
template <class List>
std::string JoinNames(const List& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    out += Name(v);
  }
  return out;
}

}  // namespace kisgate::common

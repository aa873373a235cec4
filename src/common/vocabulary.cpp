#include "common/vocabulary.hpp"

namespace kisgate::common {

namespace {

template <class Enum, std::size_t N>
std::optional<Enum> ParseName(const std::array<Enum, N>& all, std::string_view name) {
  for (auto v : all) {
    if (Name(v) == name) return v;
  }
  return std::nullopt;
}

}  // namespace

// The switches have no default: a new enumerator without a name does not compile (-Wswitch).
std::string_view Name(Dataset dataset) {
  switch (dataset) {
    case Dataset::kPrice:
      return "price";
    case Dataset::kOrderBook:
      return "orderbook";
    case Dataset::kInvestors:
      return "investors";
    case Dataset::kOvertimePrice:
      return "overtime_price";
    case Dataset::kOvertimeOrderBook:
      return "overtime_orderbook";
    case Dataset::kMinuteBars:
      return "bars_minute";
    case Dataset::kDailyBars:
      return "bars_daily";
  }
  return "unknown";
}

std::optional<Dataset> ParseDataset(std::string_view name) { return ParseName(kAllDatasets, name); }

std::string_view Name(Lane lane) {
  switch (lane) {
    case Lane::kInteractive:
      return "interactive";
    case Lane::kBatch:
      return "batch";
    case Lane::kBackground:
      return "background";
  }
  return "unknown";
}

std::optional<Lane> ParseLane(std::string_view name) { return ParseName(kAllLanes, name); }

std::string_view Name(Session session) {
  switch (session) {
    case Session::kClosed:
      return "closed";
    case Session::kPreOpen:
      return "pre_open";
    case Session::kRegular:
      return "regular";
    case Session::kClosingAuction:
      return "closing";
    case Session::kAfterClose:
      return "after_close";
    case Session::kAfterHours:
      return "after_hours";
  }
  return "closed";
}

std::optional<Session> ParseSession(std::string_view name) { return ParseName(kAllSessions, name); }

bool IsJobSession(std::string_view name) {
  if (name == kAlwaysSession) return true;
  const auto session = ParseSession(name);
  return session && *session != Session::kClosed;
}

std::string JobSessionNames() {
  std::string out;
  for (auto s : kAllSessions) {
    if (s == Session::kClosed) continue;
    out += Name(s);
    out += ", ";
  }
  return out + std::string(kAlwaysSession);
}

}  // namespace kisgate::common

#include "stream/subscription.hpp"

namespace kisgate::stream {

std::string_view Name(StreamData data) {
  switch (data) {
    case StreamData::kTrades:
      return "trades";
    case StreamData::kOrderBook:
      return "orderbook";
  }
  return "?";
}

std::optional<StreamData> ParseStreamData(std::string_view name) {
  if (name == "trades") return StreamData::kTrades;
  if (name == "orderbook") return StreamData::kOrderBook;
  return std::nullopt;
}

}  // namespace kisgate::stream

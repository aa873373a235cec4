// libFuzzer target: whatever bytes come back from "KIS", classification and parsing return a
// value (a result or a classified error) and never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/clock.hpp"
#include "kis/errors.hpp"
#include "kis/quotes.hpp"
#include "kis/token_manager.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // The first byte picks an HTTP status family, the rest is the body.
  static constexpr int kStatuses[] = {200, 403, 500, 502};
  const int status = kStatuses[data[0] % 4];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace kisgate;
  (void)kis::Classify(status, body);
  (void)kis::ParsePrice(body);
  (void)kis::ParseOrderBook(body);
  (void)kis::ParseInvestors(body);
  (void)kis::ParseOvertimePrice(body);
  (void)kis::ParseOvertimeBook(body);
  (void)kis::ParseMinuteBars(body);
  (void)kis::ParseDailyBars(body);
  (void)kis::ParseTokenReply(status, body, common::WallTime{});
  return 0;
}

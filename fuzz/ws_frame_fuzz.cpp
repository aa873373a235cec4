// libFuzzer target: whatever text frame a KIS WebSocket sends, ParseRealtimeFrame returns an ack,
// a heartbeat, parsed records or a described error, and never crashes.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "kis/realtime_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kisgate;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto frame = kis::ParseRealtimeFrame(text, common::WallTime{}, "20261124");
  // A parsed data frame holds exactly the records its header announced.
  if (const auto* d = std::get_if<kis::RealtimeData>(&frame)) {
    if (d->ticks.size() + d->books.size() != d->records) __builtin_trap();
  }
  return 0;
}

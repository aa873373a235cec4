#pragma once
// Human durations as people write them in configs and flags: "250ms", "30s", "5m", "1h30m", "2d".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kisgate::common {

// Parses a sequence of <integer><unit> parts (units ms, s, m, h, d). Returns nullopt when malformed
// or empty; "0s" is valid (callers decide whether zero is allowed).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest exact spelling: 300000ms -> "5m", 1500ms -> "1500ms".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace kisgate::common

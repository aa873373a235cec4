#pragma once
// How KIS writes numbers in its replies and frames, shared by the REST TRs and the WebSocket ones.

#include <string>

#include <fmt/format.h>

namespace kisgate::sim {

// A rate or ratio with two decimals, as KIS sends prdy_ctrt, per, pbr ("1.23", "-0.50").
inline std::string Pct(double v) { return fmt::format("{:.2f}", v); }

}  // namespace kisgate::sim

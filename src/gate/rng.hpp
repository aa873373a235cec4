#pragma once
// The gate's source of randomness (cooldown jitter, backoff jitter). Always seeded by the caller so
// that tests replay exactly; mt19937_64 is specified bit-for-bit by the standard, and UnitUniform
// avoids std::uniform_real_distribution, whose output differs between standard libraries.

#include <cstdint>
#include <random>

namespace kisgate::gate {

using Rng = std::mt19937_64;

// Uniform in [0, 1), from the top 53 bits of one draw.
inline double UnitUniform(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

}  // namespace kisgate::gate

#pragma once
// Counter-based randomness for the market model: every value is a pure function of (seed, stock,
// day, step), so any day of any stock can be computed on its own, in any order, reproducibly.

#include <cmath>
#include <cstdint>

namespace kisgate::sim {

// splitmix64's finaliser over a combined key: fast, well mixed, no state.
constexpr std::uint64_t Mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, 1).
inline double Uniform(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// Standard normal from one hash (Box-Muller on two halves of the stream).
inline double Normal(std::uint64_t h) {
  const double u1 = (static_cast<double>((h >> 11) | 1) * 0x1.0p-53);
  const double u2 = Uniform(Mix(h, 0x4e6f726dULL));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace kisgate::sim

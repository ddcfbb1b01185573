// Random draws from a seeded engine, written out rather than taken from
// std::uniform_*_distribution, whose output the standard leaves to each library: a seed must give
// the same jobs and faults everywhere. Free functions; the engine is the caller's to guard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

namespace simulator {

// Uniform in [0, 1), with 53 bits of precision.
inline double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Uniform in [0, n); n > 0. The modulo bias is below 2^-40 for the small n used here.
inline std::size_t Pick(std::mt19937_64& rng, std::size_t n) {
  return static_cast<std::size_t>(rng() % n);
}

// Uniform in [low, high].
inline int UniformInt(std::mt19937_64& rng, int low, int high) {
  return low + static_cast<int>(rng() % static_cast<std::uint64_t>(high - low + 1));
}

}  // namespace simulator

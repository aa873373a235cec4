#pragma once
// The stocks to collect: the config's codes, or a file with one code per line (# comments),
// validated with an error that names the bad line.

#include <string>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace kisgate::collect {

// The codes in order, without duplicates, or an error message naming the bad entry.
std::variant<std::vector<std::string>, std::string> LoadUniverse(const config::UniverseConfig& u);

// The codes one job collects, in collection order: its group (or the whole universe), with its
// priority codes first.
std::vector<std::string> CodesForJob(const config::JobConfig& job, const config::UniverseConfig& u,
                                     const std::vector<std::string>& universe);

}  // namespace kisgate::collect

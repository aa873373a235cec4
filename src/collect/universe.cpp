#include "collect/universe.hpp"

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "common/stock_code.hpp"

namespace kisgate::collect {

std::variant<std::vector<std::string>, std::string> LoadUniverse(const config::UniverseConfig& u) {
  std::vector<std::string> codes;
  std::set<std::string> seen;
  auto add = [&](const std::string& code) {
    if (seen.insert(code).second) codes.push_back(code);
  };
  for (const auto& code : u.codes) add(code);  // validated by the config already
  for (const auto& [name, group] : u.groups) {
    for (const auto& code : group) add(code);
  }
  if (!u.file.empty()) {
    std::ifstream in(u.file);
    if (!in) return fmt::format("universe.file '{}' cannot be read", u.file);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      line.erase(0, line.find_first_not_of(" \t\r"));
      line.erase(line.find_last_not_of(" \t\r") + 1);
      if (line.empty()) continue;
      if (!common::IsStockCode(line)) {
        return fmt::format(
            "{}:{}: '{}' is not a stock code (six digits or capital letters, e.g. 005930)", u.file,
            n, line);
      }
      add(line);
    }
  }
  if (codes.empty())
    return std::string("the universe is empty: set universe.codes or universe.file");
  return codes;
}

std::vector<std::string> CodesForJob(const config::JobConfig& job, const config::UniverseConfig& u,
                                     const std::vector<std::string>& universe) {
  std::vector<std::string> codes = universe;
  if (!job.universe.empty()) {
    auto it = u.groups.find(job.universe);
    codes = it == u.groups.end() ? std::vector<std::string>{} : it->second;
  }
  if (job.priority.empty()) return codes;
  // Priority codes of this job's set first (in the order given), then the rest in their order.
  std::vector<std::string> ordered;
  std::set<std::string> in_set(codes.begin(), codes.end());
  std::set<std::string> placed;
  for (const auto& code : job.priority) {
    if (in_set.contains(code) && placed.insert(code).second) ordered.push_back(code);
  }
  for (const auto& code : codes) {
    if (!placed.contains(code)) ordered.push_back(code);
  }
  return ordered;
}

}  // namespace kisgate::collect

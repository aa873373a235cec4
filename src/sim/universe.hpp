#pragma once
// The simulator's listed stocks: well-known KRX names with realistic prices, then generated codes
// up to a whole-market size (>= 2,700), all deterministic.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kisgate::sim {

struct StockInfo {
  std::string code;     // six digits
  std::string name;     // Korean name, as KIS's hts_kor_isnm
  std::string english;  // English name, as KIS's prdt_eng_name
  std::string sector;   // as KIS's bstp_kor_isnm
  bool kosdaq = false;
  std::int64_t base_price = 0;  // price level at the model's anchor date
  std::int64_t listed_shares = 0;
  std::uint32_t index = 0;  // position in the universe; seeds the stock's randomness
};

// Thread-safety: immutable after construction.
class Universe {
 public:
  static const Universe& Default();
  explicit Universe(std::size_t generated_count);

  const StockInfo* Find(std::string_view code) const;
  const std::vector<StockInfo>& All() const { return stocks_; }

 private:
  std::vector<StockInfo> stocks_;
  std::unordered_map<std::string, std::size_t> by_code_;
};

}  // namespace kisgate::sim

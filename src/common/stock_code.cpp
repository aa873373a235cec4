#include "common/stock_code.hpp"

#include <algorithm>

namespace kisgate::common {

bool IsStockCode(std::string_view code) {
  return code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
         });
}

}  // namespace kisgate::common

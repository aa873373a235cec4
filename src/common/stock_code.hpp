#pragma once
// KRX short stock codes as KIS takes them in FID_INPUT_ISCD: six characters, digits or capital
// letters ("005930", "0000J0"). One definition for the config, the universe file, the CLI, the
// gate and the API, so they accept and refuse the same codes.

#include <string_view>

namespace kisgate::common {

bool IsStockCode(std::string_view code);

}  // namespace kisgate::common

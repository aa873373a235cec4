#pragma once
// The quotation TRs kisgate uses (kis-api.md §4), as data: one row per TR with its path, tr_id,
// required query parameters, environment availability and paging rule. The client builds requests
// from it, the simulator routes by it. Each data set of the vocabulary (common/vocabulary.hpp) is
// one TR: TrInfoFor(Dataset) is total, and a test proves every data set has its row.

#include <span>
#include <string_view>

#include "common/vocabulary.hpp"

namespace kisgate::kis {

enum class Tr {
  kPrice,
  kOrderBook,
  kInvestors,
  kOvertimePrice,
  kOvertimeOrderBook,
  kMinuteBars,
  kDailyBars
};

enum class Paging {
  kNone,
  kTimeCursor,  // minute bars: FID_INPUT_HOUR_1 walks back 30 bars at a time
  kDateCursor,  // daily bars: FID_INPUT_DATE_2 walks back 100 rows at a time
};

struct TrInfo {
  Tr tr;
  common::Dataset dataset;  // what kisgate calls its values (common::Name: "price", ...)
  std::string_view path;
  std::string_view tr_id;
  bool real_only;  // refused on the mock host (EGW02006)
  std::span<const std::string_view> required_params;
  Paging paging;
  std::string_view title;  // KIS's Korean name
};

std::span<const TrInfo> AllTrs();
const TrInfo& TrInfoFor(Tr tr);
const TrInfo* FindTrByPath(std::string_view path);
const TrInfo& TrInfoFor(common::Dataset dataset);
// The TR of the data set named `dataset` (common::ParseDataset); null for any other text.
const TrInfo* FindTrByDataset(std::string_view dataset);

// KIS's order and account TRs start with T (real) or V (mock): TTTC0802U (buy), TTTC8434R
// (balance), VTTC0802U, TTTS3018R (overseas unfilled orders).
bool IsOrderOrAccountTrId(std::string_view tr_id);
// A call that acts on, or reads, the account of the app key it is sent with: an order or account
// TR, any path with a "trading" segment (/uapi/domestic-stock/v1/trading/order-cash,
// /uapi/overseas-stock/v1/trading/inquire-balance, ...), or any method but GET (KIS's quotations
// are all GETs; a POST may place an order). Such a call must go out on the key the caller holds,
// once.
bool IsAccountBound(std::string_view method, std::string_view path, std::string_view tr_id);

}  // namespace kisgate::kis

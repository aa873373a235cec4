#include "kis/tr_catalogue.hpp"

#include <array>

namespace kisgate::kis {

namespace {

constexpr auto kStockParams =
    std::to_array<std::string_view>({"FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD"});
constexpr auto kMinuteParams =
    std::to_array<std::string_view>({"FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD", "FID_INPUT_HOUR_1",
                                     "FID_PW_DATA_INCU_YN", "FID_ETC_CLS_CODE"});
constexpr auto kDailyParams =
    std::to_array<std::string_view>({"FID_COND_MRKT_DIV_CODE", "FID_INPUT_ISCD", "FID_INPUT_DATE_1",
                                     "FID_INPUT_DATE_2", "FID_PERIOD_DIV_CODE", "FID_ORG_ADJ_PRC"});

using D = common::Dataset;

#define KIS_QUOTATIONS "/uapi/domestic-stock/v1/quotations/"

constexpr std::array<TrInfo, 7> kTrs = {{
    {Tr::kPrice, D::kPrice, KIS_QUOTATIONS "inquire-price", "FHKST01010100", false, kStockParams,
     Paging::kNone, "주식현재가 시세"},
    {Tr::kOrderBook, D::kOrderBook, KIS_QUOTATIONS "inquire-asking-price-exp-ccn", "FHKST01010200",
     false, kStockParams, Paging::kNone, "주식현재가 호가/예상체결"},
    {Tr::kInvestors, D::kInvestors, KIS_QUOTATIONS "inquire-investor", "FHKST01010900", false,
     kStockParams, Paging::kNone, "주식현재가 투자자"},
    {Tr::kOvertimePrice, D::kOvertimePrice, KIS_QUOTATIONS "inquire-overtime-price",
     "FHPST02300000", true, kStockParams, Paging::kNone, "국내주식 시간외현재가"},
    {Tr::kOvertimeOrderBook, D::kOvertimeOrderBook, KIS_QUOTATIONS "inquire-overtime-asking-price",
     "FHPST02300400", true, kStockParams, Paging::kNone, "국내주식 시간외호가"},
    {Tr::kMinuteBars, D::kMinuteBars, KIS_QUOTATIONS "inquire-time-itemchartprice", "FHKST03010200",
     false, kMinuteParams, Paging::kTimeCursor, "주식당일분봉조회"},
    {Tr::kDailyBars, D::kDailyBars, KIS_QUOTATIONS "inquire-daily-itemchartprice", "FHKST03010100",
     false, kDailyParams, Paging::kDateCursor, "국내주식기간별시세(일/주/월/년)"},
}};

#undef KIS_QUOTATIONS

}  // namespace

std::span<const TrInfo> AllTrs() { return kTrs; }

const TrInfo& TrInfoFor(Tr tr) {
  for (const auto& info : kTrs) {
    if (info.tr == tr) return info;
  }
  return kTrs[0];  // unreachable: every enumerator has a row (tested)
}

const TrInfo* FindTrByPath(std::string_view path) {
  for (const auto& info : kTrs) {
    if (info.path == path) return &info;
  }
  return nullptr;
}

const TrInfo& TrInfoFor(common::Dataset dataset) {
  for (const auto& info : kTrs) {
    if (info.dataset == dataset) return info;
  }
  return kTrs[0];  // unreachable: every data set has a row (tested)
}

const TrInfo* FindTrByDataset(std::string_view dataset) {
  const auto parsed = common::ParseDataset(dataset);
  return parsed ? &TrInfoFor(*parsed) : nullptr;
}

bool IsOrderOrAccountTrId(std::string_view tr_id) {
  return !tr_id.empty() &&
         (tr_id[0] == 'T' || tr_id[0] == 't' || tr_id[0] == 'V' || tr_id[0] == 'v');
}

bool IsAccountBound(std::string_view method, std::string_view path, std::string_view tr_id) {
  if (method != "GET" || IsOrderOrAccountTrId(tr_id)) return true;
  // A "trading" segment anywhere: the path is canonical by the time this is asked.
  std::string_view rest = path;
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    if (rest.substr(0, slash) == "trading") return true;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return false;
}

}  // namespace kisgate::kis

#pragma once
// The bodies of KIS's quotation replies (kis-api.md §3, §4), built from the market model: the
// envelope, then output / output1 / output2 with KIS's field names and every number as a string.
// Query parameters are checked the way KIS checks them, with OPSQ-style errors naming the field.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/clock.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::sim {

class MarketModel;
class Universe;

// Looks a query parameter up by name, case-insensitively.
using ParamLookup = std::function<std::optional<std::string_view>(std::string_view name)>;

struct QuotationReply {
  bool ok = false;
  boost::json::object body;  // when ok
  std::string tr_cont;       // response header for paging TRs: "M" more data, "D" last page
  std::string msg_cd;        // when !ok
  std::string msg1;
  // When !ok: a business answer (HTTP 200, rt_cd "7", e.g. no such product) rather than a
  // gateway error (HTTP 500, rt_cd "1").
  bool business = false;
};

QuotationReply BuildQuotation(const MarketModel& market, const Universe& universe, kis::Tr tr,
                              const ParamLookup& params, common::WallTime now);

// Quotation TRs that KIS clients call for one stock but kisgate itself neither collects nor serves
// (kis-api.md §4, second table), so they live here rather than in kis/tr_catalogue.
enum class ClientTr {
  kProductInfo,  // search-info, CTPF1604R (python-kis's kis.stock(code) starts here)
  kStockInfo,    // search-stock-info, CTPF1002R
  kTrades,       // inquire-ccnl, FHKST01010300
  kDailyPrices,  // inquire-daily-price, FHKST01010400
};

struct ClientTrInfo {
  ClientTr tr;
  std::string_view path;
  std::string_view tr_id;
};

const ClientTrInfo* FindClientTrByPath(std::string_view path);

QuotationReply BuildClientQuotation(const MarketModel& market, const Universe& universe,
                                    ClientTr tr, const ParamLookup& params, common::WallTime now);

// The ISIN of a KRX common share ("005930" -> "KR7005930003"), check digit included.
std::string IsinOf(std::string_view code);

}  // namespace kisgate::sim

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
};

QuotationReply BuildQuotation(const MarketModel& market, const Universe& universe, kis::Tr tr,
                              const ParamLookup& params, common::WallTime now);

}  // namespace kisgate::sim

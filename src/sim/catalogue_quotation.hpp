#pragma once
// The simulator's answer to any quotation API of kis::QuotationCatalogue that has no hand-written
// answer (quotations.hpp): KIS's envelope, then every output block with every column in KIS's
// order, each value a string in KIS's format for the column's type. A domestic stock's prices come
// from the market model; everything else is generated deterministically from the API, the code
// asked for and the day, with consistent numbers (a change is the price less the previous one, a
// high is never under its low, rates follow from the prices). Arrays come in two pages where KIS
// pages (tr_cont "M", then "D"), with the continuation fields (ctx_area_*, keyb) KIS sends.
// Missing required parameters get KIS's OPSQ2001 error naming the field.

#include <string_view>

#include "common/clock.hpp"
#include "kis/quotation_catalogue.hpp"
#include "sim/quotations.hpp"

namespace kisgate::sim {

class MarketModel;
class Universe;

// `tr_cont` is the request's header: empty for a first page, "N" for the next one.
QuotationReply BuildCatalogueQuotation(const kis::QuotationApi& api, const MarketModel& market,
                                       const Universe& universe, const ParamLookup& params,
                                       std::string_view tr_cont, common::WallTime now);

}  // namespace kisgate::sim

#pragma once
// Every KIS quotation API (REST, read-only: quotations, rankings, finance, KSD information) of the
// seven markets of KIS's per-API examples, as data: path, tr_id (real and mock where they differ),
// parameters, output blocks with their columns in KIS's order, and whether KIS pages the answer.
// The data is src/kis/quotation_catalogue.json, embedded into the binary at build time
// (cmake/embed_text.cmake) and parsed once; scripts/check_kis_catalogue.py compares it with a
// checkout of KIS's official repository. tr_catalogue.hpp stays the typed table of the TRs kisgate
// collects; a test proves the two agree.
//
// Immutable after construction: Builtin() is safe to share between threads.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kisgate::kis {

// What a column holds, inferred from its name and KIS's description of it. Every value is a
// JSON string on the wire.
enum class ColumnType {
  kString,   // anything else
  kText,     // a name or a sentence
  kCode,     // a classification code
  kFlag,     // Y / N
  kSign,     // 1 limit-up, 2 up, 3 flat, 4 limit-down, 5 down
  kDate,     // YYYYMMDD
  kTime,     // HHMMSS
  kPrice,    // a price or an index level
  kChange,   // a change against a previous price, signed
  kRate,     // a percentage
  kVolume,   // a quantity (shares, contracts)
  kAmount,   // a traded value or an amount of money
  kInteger,  // a count
  kDecimal,  // a ratio such as PER
};

std::string_view Name(ColumnType type);

struct QuotationColumn {
  std::string name;  // as KIS spells it
  ColumnType type;
  std::string label;  // KIS's (Korean) description
};

struct QuotationOutput {
  std::string name;  // "output", "output1", ...
  bool is_array;     // a list of rows; else one object
  std::vector<QuotationColumn> columns;
};

struct QuotationParam {
  std::string name;  // as sent (upper case for most APIs; KIS matches names case-insensitively)
  bool required;     // KIS refuses a call without it (an empty value is allowed)
  std::string default_value;
  bool fixed;  // the examples always send default_value
  std::vector<std::pair<std::string, std::string>> values;  // allowed values where KIS lists them
};

struct QuotationApi {
  std::string market;  // domestic_bond, domestic_futureoption, domestic_stock, elw, etfetn,
                       // overseas_futureoption, overseas_stock
  std::string api;     // KIS's example name, e.g. "inquire_price"
  std::string group;   // quotations, ranking, finance, ksdinfo
  std::string title;
  std::string path;
  std::string method;
  std::string tr_id;
  std::string tr_id_mock;                // empty: the same as tr_id
  std::vector<std::string> tr_id_other;  // chosen by a parameter (market, product kind)
  bool paged;                            // KIS pages the answer with tr_cont
  std::vector<QuotationParam> params;
  std::vector<std::pair<std::string, std::string>> example;  // KIS's sample arguments
  std::vector<QuotationOutput> outputs;

  bool HasTrId(std::string_view id) const;
  const QuotationParam* FindParam(std::string_view name) const;  // case-insensitive
};

class QuotationCatalogue {
 public:
  // The catalogue built into the binary.
  static const QuotationCatalogue& Builtin();
  // Parses a catalogue document; nullopt with `error` naming the entry and the field at fault.
  static std::optional<QuotationCatalogue> Parse(std::string_view text, std::string& error);

  std::span<const QuotationApi> All() const { return apis_; }
  // Lookups ignore a doubled leading slash ("//uapi/...").
  const QuotationApi* FindByPath(std::string_view path) const;
  // The first API answering `tr_id` (real, mock or other); a few tr_ids serve two paths.
  const QuotationApi* FindByTrId(std::string_view tr_id) const;
  const QuotationApi* Find(std::string_view path, std::string_view tr_id) const;

 private:
  std::vector<QuotationApi> apis_;
};

}  // namespace kisgate::kis

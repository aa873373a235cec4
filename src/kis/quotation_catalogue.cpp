#include "kis/quotation_catalogue.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

namespace kisgate::kis {

// Defined by the source cmake/embed_text.cmake generates from quotation_catalogue.json.
extern const std::string_view kQuotationCatalogueJson;

namespace {

namespace json = boost::json;

constexpr std::array<std::pair<std::string_view, ColumnType>, 14> kColumnTypes = {{
    {"string", ColumnType::kString},
    {"text", ColumnType::kText},
    {"code", ColumnType::kCode},
    {"flag", ColumnType::kFlag},
    {"sign", ColumnType::kSign},
    {"date", ColumnType::kDate},
    {"time", ColumnType::kTime},
    {"price", ColumnType::kPrice},
    {"change", ColumnType::kChange},
    {"rate", ColumnType::kRate},
    {"volume", ColumnType::kVolume},
    {"amount", ColumnType::kAmount},
    {"integer", ColumnType::kInteger},
    {"decimal", ColumnType::kDecimal},
}};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

std::string_view WithoutDoubledSlash(std::string_view path) {
  while (path.size() > 1 && path[0] == '/' && path[1] == '/') path.remove_prefix(1);
  return path;
}

// Reads the fields of one document; `where` names the entry for error messages.
class Reader {
 public:
  explicit Reader(std::string& error) : error_(error) {}

  bool Fail(const std::string& where, std::string_view what) {
    if (error_.empty()) error_ = where + ": " + std::string(what);
    return false;
  }

  bool String(const json::object& o, std::string_view key, std::string& out,
              const std::string& where, bool required = true) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return !required || Fail(where, std::string(key) + " is missing");
    if (!v->is_string()) return Fail(where, std::string(key) + " is not a string");
    out = std::string(v->get_string());
    return true;
  }

  bool Bool(const json::object& o, std::string_view key, bool& out, const std::string& where) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_bool()) return Fail(where, std::string(key) + " is not true/false");
    out = v->get_bool();
    return true;
  }

  bool Pairs(const json::object& o, std::string_view key,
             std::vector<std::pair<std::string, std::string>>& out, const std::string& where) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return true;
    if (!v->is_object()) return Fail(where, std::string(key) + " is not an object");
    for (const auto& [k, value] : v->get_object()) {
      if (!value.is_string()) return Fail(where, std::string(key) + "." + std::string(k));
      out.emplace_back(std::string(k), std::string(value.get_string()));
    }
    return true;
  }

  bool Param(const json::value& v, QuotationParam& p, const std::string& where) {
    if (!v.is_object()) return Fail(where, "a parameter is not an object");
    const auto& o = v.get_object();
    if (!String(o, "name", p.name, where) || !Bool(o, "required", p.required, where)) return false;
    const std::string at = where + " parameter " + p.name;
    p.fixed = o.contains("fixed");
    if (!String(o, p.fixed ? "fixed" : "default", p.default_value, at, false)) return false;
    return Pairs(o, "values", p.values, at);
  }

  bool Output(const json::value& v, QuotationOutput& out, const std::string& where) {
    if (!v.is_object()) return Fail(where, "an output is not an object");
    const auto& o = v.get_object();
    std::string shape;
    if (!String(o, "name", out.name, where) || !String(o, "shape", shape, where)) return false;
    const std::string at = where + " " + out.name;
    if (shape != "array" && shape != "object") return Fail(at, "shape is not array or object");
    out.is_array = shape == "array";
    const auto* columns = o.if_contains("columns");
    if (columns == nullptr || !columns->is_array() || columns->get_array().empty()) {
      return Fail(at, "has no columns");
    }
    for (const auto& c : columns->get_array()) {
      if (!c.is_object()) return Fail(at, "a column is not an object");
      QuotationColumn column;
      std::string type;
      if (!String(c.get_object(), "name", column.name, at) ||
          !String(c.get_object(), "type", type, at + " " + column.name) ||
          !String(c.get_object(), "label", column.label, at + " " + column.name, false)) {
        return false;
      }
      const auto* known = std::ranges::find(kColumnTypes, std::string_view(type),
                                            &std::pair<std::string_view, ColumnType>::first);
      if (known == kColumnTypes.end()) return Fail(at + " " + column.name, "unknown type " + type);
      column.type = known->second;
      out.columns.push_back(std::move(column));
    }
    return true;
  }

  bool Api(const json::value& v, QuotationApi& api, std::size_t index) {
    std::string where = "apis[" + std::to_string(index) + "]";
    if (!v.is_object()) return Fail(where, "not an object");
    const auto& o = v.get_object();
    if (!String(o, "market", api.market, where) || !String(o, "api", api.api, where)) return false;
    where = api.market + "/" + api.api;
    if (!String(o, "group", api.group, where) || !String(o, "title", api.title, where, false) ||
        !String(o, "path", api.path, where) || !String(o, "method", api.method, where) ||
        !String(o, "tr_id", api.tr_id, where) ||
        !String(o, "tr_id_mock", api.tr_id_mock, where, false) ||
        !Bool(o, "paged", api.paged, where) || !Pairs(o, "example", api.example, where)) {
      return false;
    }
    if (!api.path.starts_with("/uapi/")) return Fail(where, "path does not start with /uapi/");
    if (api.tr_id.empty()) return Fail(where, "tr_id is empty");
    if (const auto* other = o.if_contains("tr_id_other")) {
      if (!other->is_array()) return Fail(where, "tr_id_other is not a list");
      for (const auto& id : other->get_array()) {
        if (!id.is_string()) return Fail(where, "tr_id_other holds a non-string");
        api.tr_id_other.emplace_back(id.get_string());
      }
    }
    const auto* params = o.if_contains("params");
    if (params == nullptr || !params->is_array()) return Fail(where, "params is not a list");
    for (const auto& p : params->get_array()) {
      if (!Param(p, api.params.emplace_back(), where)) return false;
    }
    const auto* outputs = o.if_contains("outputs");
    if (outputs == nullptr || !outputs->is_array() || outputs->get_array().empty()) {
      return Fail(where, "has no outputs");
    }
    for (const auto& out : outputs->get_array()) {
      if (!Output(out, api.outputs.emplace_back(), where)) return false;
    }
    return true;
  }

 private:
  std::string& error_;
};

}  // namespace

std::string_view Name(ColumnType type) {
  for (const auto& [name, t] : kColumnTypes) {
    if (t == type) return name;
  }
  return "string";
}

bool QuotationApi::HasTrId(std::string_view id) const {
  return id == tr_id || (!tr_id_mock.empty() && id == tr_id_mock) ||
         std::ranges::find(tr_id_other, id) != tr_id_other.end();
}

const QuotationParam* QuotationApi::FindParam(std::string_view name) const {
  for (const auto& p : params) {
    if (EqualsIgnoreCase(p.name, name)) return &p;
  }
  return nullptr;
}

std::optional<QuotationCatalogue> QuotationCatalogue::Parse(std::string_view text,
                                                            std::string& error) {
  error.clear();
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) {
    error = "not JSON: " + ec.message();
    return std::nullopt;
  }
  Reader reader(error);
  const auto* apis = doc.is_object() ? doc.get_object().if_contains("apis") : nullptr;
  if (apis == nullptr || !apis->is_array()) {
    error = "no apis list";
    return std::nullopt;
  }
  QuotationCatalogue catalogue;
  catalogue.apis_.reserve(apis->get_array().size());
  for (std::size_t i = 0; i < apis->get_array().size(); ++i) {
    if (!reader.Api(apis->get_array()[i], catalogue.apis_.emplace_back(), i)) return std::nullopt;
  }
  return catalogue;
}

const QuotationCatalogue& QuotationCatalogue::Builtin() {
  static const QuotationCatalogue catalogue = [] {
    std::string error;
    auto parsed = Parse(kQuotationCatalogueJson, error);
    if (!parsed) {
      // The file is checked by a unit test; a broken build is a programmer's error.
      spdlog::critical("built-in quotation catalogue: {}", error);
      std::abort();
    }
    return std::move(*parsed);
  }();
  return catalogue;
}

const QuotationApi* QuotationCatalogue::FindByPath(std::string_view path) const {
  path = WithoutDoubledSlash(path);
  for (const auto& api : apis_) {
    if (api.path == path) return &api;
  }
  return nullptr;
}

const QuotationApi* QuotationCatalogue::FindByTrId(std::string_view tr_id) const {
  for (const auto& api : apis_) {
    if (api.HasTrId(tr_id)) return &api;
  }
  return nullptr;
}

const QuotationApi* QuotationCatalogue::Find(std::string_view path, std::string_view tr_id) const {
  const auto* api = FindByPath(path);
  return api != nullptr && api->HasTrId(tr_id) ? api : nullptr;
}

}  // namespace kisgate::kis

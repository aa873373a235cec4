#include "kis/request.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "common/stock_code.hpp"

namespace kisgate::kis {

namespace json = boost::json;

namespace {

constexpr std::string_view kContentType = "application/json; charset=utf-8";

}  // namespace

std::string_view PathOf(const Request& request) {
  return request.path.empty() ? TrInfoFor(request.tr).path : std::string_view(request.path);
}

std::string_view TrIdOf(const Request& request) {
  return request.tr_id.empty() ? TrInfoFor(request.tr).tr_id : std::string_view(request.tr_id);
}

std::string EncodeQuery(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += boost::urls::encode(name, boost::urls::unreserved_chars);
    out.push_back('=');
    out += boost::urls::encode(value, boost::urls::unreserved_chars);
  }
  return out;
}

std::string TargetOf(const Request& request) {
  const std::string query = EncodeQuery(request.params);
  const auto path = PathOf(request);
  return query.empty() ? std::string(path) : fmt::format("{}?{}", path, query);
}

Headers HeadersFor(const Request& request, const Credentials& credentials,
                   std::string_view access_token) {
  Headers headers = {{"content-type", std::string(kContentType)},
                     {"authorization", fmt::format("Bearer {}", access_token)},
                     {"appkey", std::string(credentials.app_key)},
                     {"appsecret", std::string(credentials.app_secret)},
                     {"tr_id", std::string(TrIdOf(request))},
                     {"custtype", "P"},
                     {"tr_cont", request.tr_cont}};
  headers.insert(headers.end(), request.headers.begin(), request.headers.end());
  return headers;
}

std::optional<Classification> CheckParams(const Request& request) {
  if (!request.path.empty()) return std::nullopt;
  for (const auto& [name, value] : request.params) {
    if (name == "FID_INPUT_ISCD" && !common::IsStockCode(value)) {
      return Classification::Own(common::Errc::kInvalidStockCode, Action::kFail,
                                 fmt::format("'{}' is not a stock code", value),
                                 "use six digits or capital letters, e.g. 005930");
    }
  }
  return std::nullopt;
}

Headers TokenHeaders() { return {{"content-type", std::string(kContentType)}}; }

std::string TokenBody(const Credentials& credentials) {
  return json::serialize(json::object{{"grant_type", "client_credentials"},
                                      {"appkey", credentials.app_key},
                                      {"appsecret", credentials.app_secret}});
}

Request QuoteRequest(Tr tr, std::string_view code) {
  return Request{tr, {{"FID_COND_MRKT_DIV_CODE", "J"}, {"FID_INPUT_ISCD", std::string(code)}}, ""};
}

Request MinuteBarsPage(std::string_view code, std::string_view until) {
  return Request{Tr::kMinuteBars,
                 {{"FID_ETC_CLS_CODE", ""},
                  {"FID_COND_MRKT_DIV_CODE", "J"},
                  {"FID_INPUT_ISCD", std::string(code)},
                  {"FID_INPUT_HOUR_1", std::string(until)},
                  {"FID_PW_DATA_INCU_YN", "N"}},
                 ""};
}

Request DailyBarsPage(std::string_view code, std::string_view from, std::string_view to,
                      char period) {
  return Request{Tr::kDailyBars,
                 {{"FID_COND_MRKT_DIV_CODE", "J"},
                  {"FID_INPUT_ISCD", std::string(code)},
                  {"FID_INPUT_DATE_1", std::string(from)},
                  {"FID_INPUT_DATE_2", std::string(to)},
                  {"FID_PERIOD_DIV_CODE", std::string(1, period)},
                  {"FID_ORG_ADJ_PRC", "0"}},
                 ""};
}

}  // namespace kisgate::kis

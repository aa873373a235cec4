#pragma once
// The requests kisgate sends KIS (kis-api.md §2-4), built in one place: the headers of a quotation
// call, the token request, the query string, and the parameters of the chart TRs' pages. gate/
// sends what this builds and never spells a KIS header, parameter or body itself.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kis/errors.hpp"
#include "kis/tr_catalogue.hpp"

namespace kisgate::kis {

using Params = std::vector<std::pair<std::string, std::string>>;   // KIS's names, in order
using Headers = std::vector<std::pair<std::string, std::string>>;  // lower-case names

// One call to KIS as kisgate's callers describe it: a catalogue TR and its query parameters, or
// (the passthrough) a path and tr_id outside the catalogue, with a method, a body and extra
// headers. Only GETs are coalesced and retried: a POST may place an order.
struct Request {
  Tr tr;
  Params params;        // query parameters, KIS's names
  std::string tr_cont;  // "" or "N" for the next page
  std::string path{};   // empty: the catalogue's path for `tr`
  std::string tr_id{};  // empty: the catalogue's tr_id for `tr`
  std::string method = "GET";
  std::string body{};
  Headers headers{};  // extra KIS headers (hashkey, gt_uid)
};

// An app key's credentials, as KIS takes them in headers and in the token request.
struct Credentials {
  std::string_view app_key;
  std::string_view app_secret;
};

std::string_view PathOf(const Request& request);
std::string_view TrIdOf(const Request& request);
// name=value&... with everything but unreserved characters percent-encoded.
std::string EncodeQuery(const Params& params);
// The request target: the path, and the query when there is one.
std::string TargetOf(const Request& request);

// The headers of a call (kis-api.md §3): content-type, authorization, appkey, appsecret, tr_id,
// custtype, tr_cont, then the request's extra headers.
Headers HeadersFor(const Request& request, const Credentials& credentials,
                   std::string_view access_token);

// A catalogue call whose parameters KIS would refuse without thinking (OPSQ2002 for a stock code
// that is not one) fails here, before it costs a call; nullopt when the call may go. Passthrough
// calls (a path of their own) carry the client's parameters as they are: KIS judges those.
std::optional<Classification> CheckParams(const Request& request);

// POST /oauth2/tokenP (kis-api.md §2).
inline constexpr std::string_view kTokenPath = "/oauth2/tokenP";
Headers TokenHeaders();
std::string TokenBody(const Credentials& credentials);

// A TR without paging for one stock on KRX (FID_COND_MRKT_DIV_CODE J).
Request QuoteRequest(Tr tr, std::string_view code);
// One page of today's minute bars: the 30 bars up to `until` (HHMMSS).
Request MinuteBarsPage(std::string_view code, std::string_view until);
// One page of daily bars (period D, W, M or Y), KIS-adjusted: up to 100 rows in [from, to],
// newest first (YYYYMMDD).
Request DailyBarsPage(std::string_view code, std::string_view from, std::string_view to,
                      char period);

}  // namespace kisgate::kis

#pragma once
// The KIS passthrough: existing KIS clients (the official samples, python-kis, in-house scripts)
// point their base URL at kisgate and keep working, inside the gate:
//   POST /oauth2/tokenP   answered by kisgate with its own token for the passthrough (no KIS
//                         token issuance is spent; kisgate holds the real one per key);
//   GET  /uapi/...        forwarded through Gateway::Call with the client's tr_id, query and
//                         tr_cont, and kisgate's managed token; interactive lane unless the
//                         header x-kisgate-lane says batch or background.
// Only quotation paths are forwarded by default; trading and account paths, and any POST other
// than tokenP, are refused with 403 and a KIS-style body unless the config allows them.

#include <map>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "api/metrics.hpp"
#include "api/service.hpp"

namespace kisgate::api {

// Whether a method and path may be forwarded under the config; the refusal says why and how to allow it.
struct PathDecision {
  bool allowed = false;
  std::string reason;
};
PathDecision CheckPassthroughPath(const config::PassthroughConfig& config, std::string_view method, std::string_view path);

// The quotation prefixes forwarded by default.
inline constexpr std::string_view kQuotationPrefixes[] = {"/uapi/domestic-stock/v1/quotations/"};

struct Service::Passthrough {
  Passthrough(const config::Config& config, gate::Gateway& gateway, const common::Clock& clock, ApiCounters& counters);

  boost::asio::awaitable<http::Response> Handle(const http::Request& request);

 private:
  http::Response IssueToken(const http::Request& request);
  // Which configured key the client proved it holds, or why it is refused (401).
  bool Authorized(const http::Request& request, std::string& why) const;

  const config::Config& config_;
  gate::Gateway& gateway_;
  const common::Clock& clock_;
  ApiCounters& counters_;
  std::map<std::string, common::WallTime> tokens_;  // kisgate-issued passthrough tokens -> expiry
};

}  // namespace kisgate::api

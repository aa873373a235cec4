#pragma once
// The KIS passthrough: existing KIS clients (the official samples, python-kis, in-house scripts)
// point their base URL at kisgate and keep working, inside the gate:
//   POST /oauth2/tokenP   answered by kisgate with its own token for the passthrough (no KIS
//                         token issuance is spent; kisgate holds the real one per key);
//   POST /oauth2/revokeP  revokes such a token (KIS's request and reply shape);
//   GET  /uapi/...        forwarded through Gateway::Call with the client's tr_id, query and
//                         tr_cont, and kisgate's managed token; interactive lane unless the
//                         header x-kisgate-lane says batch or background.
// Replies use KIS's header names (Content-Type; tr_id, tr_cont, gt_uid in lower case): KIS's
// official sample client breaks on anything else (kis-api.md §3).
//
// The guard, before anything leaves: the path is percent-decoded once and must then be canonical
// (no '.', '..' or empty segment, no '%', '\' or characters KIS paths do not have); what is
// forwarded is that decoded path. By default only GETs of KIS's quotation TRs go out, and the
// client's tr_id must be the quotation TR of that path (kisgate's catalogue, from KIS's official
// samples): an account TR on a quotation path is refused. passthrough.allow_paths adds prefixes
// (their tr_id must not be an order/account TR); passthrough.allow_trading forwards any /uapi/
// call.
//
// Account-bound calls (orders and account calls, kis::IsAccountBound), with allow_trading: the
// account is the key's, so such a call goes out only on the key the client proved it holds (its
// appkey/appsecret headers, or a token tokenP issued for that key), never shared with another
// call, never sent twice once it may have reached KIS, on the interactive lane; a client that
// proved no key (server.api_token) is refused with 403. Each one forwarded is recorded in the
// store's audit table (store/audit.hpp): method, path, tr_id, key, status, KIS's codes and order
// number, the client's address; never a secret or the body.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "api/metrics.hpp"
#include "api/pass_tokens.hpp"
#include "api/service.hpp"

namespace kisgate::api {

// A request path as the passthrough will forward it: decoded and canonical, or why not.
struct NormalisedPath {
  std::optional<std::string> path;
  std::string reason;  // when !path
};
NormalisedPath NormalisePassthroughPath(std::string_view raw_path);

// Whether a call (method, canonical path, tr_id) may be forwarded under the config; the refusal
// says why and how to allow it.
struct PathDecision {
  bool allowed = false;
  std::string reason;
};
PathDecision CheckPassthroughCall(const config::PassthroughConfig& config, std::string_view method,
                                  std::string_view path, std::string_view tr_id);

struct Service::Passthrough {
  // `store` may be null: account-bound calls are then only logged.
  Passthrough(const config::Config& config, gate::Gateway& gateway, store::Store* store,
              const common::Clock& clock, ApiCounters& counters);

  boost::asio::awaitable<http::Response> Handle(const http::Request& request);

 private:
  http::Response IssueToken(const http::Request& request);
  http::Response RevokeToken(const http::Request& request);
  // Who the client proved it is: the name of the configured key it holds, "" for no key (the
  // server's api_token), or nullopt with why it is refused (401).
  std::optional<std::string> Authenticate(const http::Request& request, std::string& why) const;
  // Records an account-bound call that was handed to the gateway (the store's audit table).
  void Audit(const http::Request& request, std::string_view path, std::string_view tr_id,
             const gate::CallResult& result);

  const config::Config& config_;
  gate::Gateway& gateway_;
  store::Store* store_;
  const common::Clock& clock_;
  ApiCounters& counters_;
  PassTokens tokens_;
};

}  // namespace kisgate::api

#pragma once
// What a KIS reply means and what to do about it. KIS's HTTP status alone does not say (kis-api.md
// §3): gateway errors come as HTTP 500 with the normal envelope, token-endpoint errors as 403 with
// `error_code`, business errors as 200 with rt_cd != "0". So every reply is classified from
// (status, body) through one table.

#include <optional>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

#include "common/error.hpp"

namespace kisgate::kis {

enum class Action {
  kSuccess,
  kRetryLater,        // the per-second limit: slow down, retry through the gate (EGW00201)
  kRefreshToken,      // the token is expired/invalid/missing: re-issue once, replay
  kRetryWithBackoff,  // transient: retry with backoff inside the deadline and the retry budget
  kTokenThrottled,    // token issuance refused for a minute (EGW00133): keep the cached token
  kFail,              // retrying cannot help; the message says what to fix
};

std::string_view ToString(Action action);

struct Classification {
  Action action = Action::kSuccess;
  std::string code;     // msg_cd / error_code ("EGW00201"), or common::Name of kisgate's own kind
  std::string message;  // KIS's msg1 / error_description, or ours
  std::string hint;     // for kFail: what the user should change

  // A failure of one of kisgate's own kinds; its code is the kind's stable name.
  static Classification Own(common::Errc kind, Action action, std::string message,
                            std::string hint = {});

  // kisgate's kind of this failure, for code that decides by kind (nullopt on success): its own
  // kinds by their names, KIS's request-validation codes (OPSQ2xxx) as kKisBadRequest, every other
  // KIS code as kKisRejected.
  std::optional<common::Errc> Kind() const;
  boost::system::error_code ErrorCode() const;
};

// Classifies a reply from a quotation or token endpoint. Never throws: bodies that are not JSON,
// are truncated or lack the envelope come back as code "malformed_reply".
Classification Classify(int http_status, std::string_view body);

// The table behind Classify, for docs and tests: action and hint by KIS code.
struct ErrorRule {
  std::string_view code;
  Action action;
  std::string_view meaning;
  std::string_view hint;
};
const ErrorRule* FindErrorRule(std::string_view code);

// The label a code gets in metrics: the codes of the table, kisgate's own codes and transport
// errors as they are, every other code as "other", so that whatever KIS sends, the number of
// series stays bounded.
std::string_view MetricCode(std::string_view code);

}  // namespace kisgate::kis

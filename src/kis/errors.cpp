#include "kis/errors.hpp"

#include <array>
#include <optional>

#include <fmt/format.h>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse_options.hpp>

namespace kisgate::kis {

namespace json = boost::json;

namespace {

// kis-api.md §6. Codes not listed fall back on the HTTP status (5xx: transient; else fail).
constexpr auto kRules = std::to_array<ErrorRule>({
    {"EGW00201", Action::kRetryLater, "per-second call limit exceeded", ""},
    {"EGW00123", Action::kRefreshToken, "access token expired", ""},
    {"EGW00121", Action::kRefreshToken, "access token invalid", ""},
    {"EGW00122", Action::kRefreshToken, "access token missing", ""},
    {"EGW00133", Action::kTokenThrottled, "token issuance limited to once per minute", ""},
    {"EGW00103", Action::kFail, "invalid app key",
     "check app_key of this key in the config (and that it matches the environment)"},
    {"EGW00105", Action::kFail, "invalid app secret", "check app_secret of this key in the config"},
    {"EGW00205", Action::kFail, "malformed authorization header",
     "the request must carry 'authorization: Bearer <token>'"},
    {"EGW00206", Action::kFail, "API service not subscribed",
     "subscribe to the KIS Open API service for this account on the KIS Developers portal"},
    {"EGW00002", Action::kRetryWithBackoff, "KIS server error", ""},
    {"EGW00001", Action::kRetryWithBackoff, "KIS temporary error", ""},
    {"EGW02004", Action::kFail, "real-environment key used on the mock host",
     "set environment = \"real\" and the real base_url, or use a mock key"},
    {"EGW02007", Action::kFail, "mock-environment key used on the real host",
     "set environment = \"mock\" and the mock base_url, or use a real key"},
    {"EGW02006", Action::kFail, "this TR is not available on the mock host",
     "use a real key for this data set, or drop the job for mock keys"},
    {"OPSQ2001", Action::kFail, "invalid request parameter",
     "check the market code and parameters"},
    {"OPSQ2002", Action::kFail, "invalid request field length", "check the stock code and dates"},
    {"OPSQ0002", Action::kFail, "unknown service code (tr_id)", "check the tr_id for this path"},
});

// The top-level fields a classification reads, from one pass over the reply without building it:
// every reply is classified, and most are then read once more, in full, by the caller. The pass
// validates the whole document exactly as json::parse does (same options, same errors), so what
// is malformed here is malformed there.
class TopLevelFields {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  // A top-level field: absent, present but not a string, or a string (json::parse keeps the last
  // of duplicate keys, and so does this).
  struct Field {
    bool present = false;
    bool is_string = false;
    std::string text;
  };

  bool root_is_object() const { return root_is_object_; }
  const Field& error_code() const { return fields_[kErrorCode]; }
  const Field& error_description() const { return fields_[kErrorDescription]; }
  const Field& rt_cd() const { return fields_[kRtCd]; }
  const Field& msg_cd() const { return fields_[kMsgCd]; }
  const Field& msg1() const { return fields_[kMsg1]; }
  bool has_token_or_key() const {
    return fields_[kAccessToken].present || fields_[kApprovalKey].present;
  }
  bool has_code() const { return fields_[kCode].present; }

  static bool on_document_begin(json::error_code& /*ec*/) { return true; }
  static bool on_document_end(json::error_code& /*ec*/) { return true; }
  bool on_object_begin(json::error_code& /*ec*/) {
    if (depth_ == 0) root_is_object_ = true;
    NotAString();
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t /*n*/, json::error_code& /*ec*/) {
    --depth_;
    return true;
  }
  bool on_array_begin(json::error_code& /*ec*/) {
    NotAString();
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t /*n*/, json::error_code& /*ec*/) {
    --depth_;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t /*n*/, json::error_code& /*ec*/) {
    if (depth_ == 1) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t /*n*/, json::error_code& /*ec*/) {
    if (depth_ != 1) return true;
    key_.append(s.data(), s.size());
    current_ = Slot(key_);
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t /*n*/, json::error_code& /*ec*/) {
    if (depth_ == 1 && current_ != kNone) string_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t /*n*/, json::error_code& /*ec*/) {
    if (depth_ == 1 && current_ != kNone) {
      string_.append(s.data(), s.size());
      auto& f = fields_[current_];
      f = Field{true, true, std::move(string_)};
      string_.clear();
      current_ = kNone;
    }
    return true;
  }
  static bool on_number_part(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_int64(std::int64_t /*i*/, json::string_view /*s*/, json::error_code& /*ec*/) {
    return NotAString();
  }
  bool on_uint64(std::uint64_t /*u*/, json::string_view /*s*/, json::error_code& /*ec*/) {
    return NotAString();
  }
  bool on_double(double /*d*/, json::string_view /*s*/, json::error_code& /*ec*/) {
    return NotAString();
  }
  bool on_bool(bool /*b*/, json::error_code& /*ec*/) { return NotAString(); }
  bool on_null(json::error_code& /*ec*/) { return NotAString(); }
  static bool on_comment_part(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  static bool on_comment(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }

 private:
  enum Index : std::size_t {
    kErrorCode,
    kErrorDescription,
    kRtCd,
    kMsgCd,
    kMsg1,
    kAccessToken,
    kApprovalKey,
    kCode,
    kNone
  };

  static Index Slot(std::string_view key) {
    static constexpr std::array<std::string_view, kNone> kNames = {
        "error_code", "error_description", "rt_cd",        "msg_cd",
        "msg1",       "access_token",      "approval_key", "code"};
    for (std::size_t i = 0; i < kNames.size(); ++i) {
      if (kNames[i] == key) return static_cast<Index>(i);
    }
    return kNone;
  }

  // A value that is not a string starts (a scalar, or an object or array at its start): a field
  // of the root object that is present and not a string.
  bool NotAString() {
    if (depth_ == 1 && current_ != kNone) {
      fields_[current_] = Field{true, false, {}};
      current_ = kNone;
    }
    return true;
  }

  std::size_t depth_ = 0;
  bool root_is_object_ = false;
  Index current_ = kNone;
  std::string key_;
  std::string string_;
  std::array<Field, kNone> fields_;
};

std::string_view Text(const TopLevelFields::Field& f) {
  return f.is_string ? std::string_view(f.text) : std::string_view();
}

Classification FromCode(std::string code, std::string message, int http_status) {
  Classification c;
  c.code = std::move(code);
  c.message = std::move(message);
  if (const ErrorRule* rule = FindErrorRule(c.code)) {
    c.action = rule->action;
    c.hint = rule->hint;
    if (c.message.empty()) c.message = rule->meaning;
    return c;
  }
  c.action = http_status >= 500 || http_status == 429 ? Action::kRetryWithBackoff : Action::kFail;
  if (c.action == Action::kFail) c.hint = "a KIS code kisgate does not know; see KIS's message";
  return c;
}

// HTTP 429 (too many requests) and 503 (service unavailable) say "not now" whatever the body: a
// proxy or KIS's gateway in front of the API sends them with HTML or nothing. They are neither
// malformed nor final: retried with backoff through the gate.
std::optional<Classification> FromOverloadStatus(int http_status, std::size_t body_size) {
  if (http_status != 429 && http_status != 503) return std::nullopt;
  return Classification::Own(
      http_status == 429 ? common::Errc::kTooManyRequests : common::Errc::kUnavailable,
      Action::kRetryWithBackoff,
      fmt::format("HTTP {} from the upstream ({} bytes){}", http_status, body_size,
                  http_status == 429 ? ": too many requests" : ": service unavailable"));
}

}  // namespace

Classification Classification::Own(common::Errc kind, Action action, std::string message,
                                   std::string hint) {
  return Classification{action, std::string(common::Name(kind)), std::move(message),
                        std::move(hint)};
}

std::optional<common::Errc> Classification::Kind() const {
  if (action == Action::kSuccess) return std::nullopt;
  if (auto own = common::ErrcFromName(code)) return own;
  // KIS's OPSQ2xxx codes say the request's parameters are wrong (kis-api.md §6): the caller's to
  // fix.
  if (code.starts_with("OPSQ2")) return common::Errc::kKisBadRequest;
  return common::Errc::kKisRejected;
}

boost::system::error_code Classification::ErrorCode() const {
  if (auto kind = Kind()) return make_error_code(*kind);
  return {};
}

std::string_view ToString(Action action) {
  switch (action) {
    case Action::kSuccess:
      return "success";
    case Action::kRetryLater:
      return "retry_later";
    case Action::kRefreshToken:
      return "refresh_token";
    case Action::kRetryWithBackoff:
      return "retry_with_backoff";
    case Action::kTokenThrottled:
      return "token_throttled";
    case Action::kFail:
      return "fail";
  }
  return "unknown";
}

std::string_view MetricCode(std::string_view code) {
  if (FindErrorRule(code) != nullptr) return code;
  // kisgate's own kinds and the HTTP client's transport errors: a closed set.
  if (auto own = common::ErrcFromName(code)) return common::Name(*own);
  // Anything else (KIS's msg_cd values we do not know, rt_cd_N) shares one series.
  return "other";
}

const ErrorRule* FindErrorRule(std::string_view code) {
  for (const auto& rule : kRules) {
    if (rule.code == code) return &rule;
  }
  return nullptr;
}

Classification Classify(int http_status, std::string_view body) {
  json::error_code ec;
  json::basic_parser<TopLevelFields> parser(json::parse_options{});
  const auto used = parser.write_some(false, body.data(), body.size(), ec);
  if (!ec && used < body.size()) ec = json::error::extra_data;
  const TopLevelFields& o = parser.handler();
  if (ec || !o.root_is_object()) {
    if (auto overload = FromOverloadStatus(http_status, body.size())) return *overload;
    // A gateway in trouble sends HTML or truncated bodies; worth another try later. A 2xx that is
    // not JSON is a broken reply, not a transient state.
    const bool transient = http_status >= 500;
    return Classification::Own(
        common::Errc::kMalformedReply, transient ? Action::kRetryWithBackoff : Action::kFail,
        fmt::format("HTTP {} with a body that is not a JSON object ({} bytes{})", http_status,
                    body.size(), ec ? ", " + ec.message() : std::string()),
        transient ? "" : "the upstream is not speaking the KIS wire format");
  }
  // Token endpoints: {"error_code": ..., "error_description": ...}.
  if (auto code = Text(o.error_code()); !code.empty()) {
    return FromCode(std::string(code), std::string(Text(o.error_description())), http_status);
  }
  auto rt_cd = Text(o.rt_cd());
  if (rt_cd.empty()) {
    if (http_status == 200 && o.has_token_or_key()) {
      return Classification{Action::kSuccess, "", "", ""};
    }
    if (http_status == 200 && o.has_code()) return Classification{Action::kSuccess, "", "", ""};
    if (auto overload = FromOverloadStatus(http_status, body.size())) return *overload;
    return Classification::Own(common::Errc::kMalformedReply,
                               http_status >= 500 ? Action::kRetryWithBackoff : Action::kFail,
                               fmt::format("HTTP {} without rt_cd or error_code", http_status));
  }
  if (rt_cd == "0" && http_status == 200) {
    return Classification{Action::kSuccess, std::string(Text(o.msg_cd())),
                          std::string(Text(o.msg1())), ""};
  }
  auto code = Text(o.msg_cd());
  return FromCode(code.empty() ? fmt::format("rt_cd_{}", rt_cd) : std::string(code),
                  std::string(Text(o.msg1())), http_status);
}

}  // namespace kisgate::kis

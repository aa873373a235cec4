#include "common/error.hpp"

#include <array>
#include <string>

namespace kisgate::common {

namespace {

constexpr std::array kAll = {
    Errc::kDeadlineExceeded,
    Errc::kGateDeadline,
    Errc::kTokenTimeout,
    Errc::kInvalidStockCode,
    Errc::kRealOnlyTr,
    Errc::kMalformedReply,
    Errc::kTooManyRequests,
    Errc::kUnavailable,
    Errc::kUnknownTr,
    Errc::kKisRejected,
    Errc::kKisBadRequest,
    Errc::kBadUrl,
    Errc::kResolve,
    Errc::kConnectRefused,
    Errc::kConnectTimeout,
    Errc::kTlsHandshake,
    Errc::kClosedWithoutResponse,
    Errc::kTimeout,
    Errc::kReplyTooLarge,
    Errc::kProtocol,
    Errc::kException,
    Errc::kCoordinationUnavailable,
};

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "kisgate"; }

  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::kDeadlineExceeded:
        return "the call's deadline passed";
      case Errc::kGateDeadline:
        return "the deadline passed while the call waited for its key's budget";
      case Errc::kTokenTimeout:
        return "no access token before the call's deadline";
      case Errc::kInvalidStockCode:
        return "not a stock code";
      case Errc::kRealOnlyTr:
        return "a real-only TR and no real key";
      case Errc::kMalformedReply:
        return "a reply that is not in KIS's wire format";
      case Errc::kTooManyRequests:
        return "HTTP 429 from the upstream: too many requests";
      case Errc::kUnavailable:
        return "HTTP 503 from the upstream: service unavailable";
      case Errc::kUnknownTr:
        return "no conversion for this TR";
      case Errc::kKisRejected:
        return "KIS answered with an error code";
      case Errc::kKisBadRequest:
        return "KIS refused the request's parameters";
      case Errc::kBadUrl:
        return "a malformed upstream URL";
      case Errc::kResolve:
        return "the upstream host name did not resolve";
      case Errc::kConnectRefused:
        return "the upstream refused the connection";
      case Errc::kConnectTimeout:
        return "the connection to the upstream timed out";
      case Errc::kTlsHandshake:
        return "the TLS handshake with the upstream failed";
      case Errc::kClosedWithoutResponse:
        return "the upstream closed the connection without a response";
      case Errc::kTimeout:
        return "the request's deadline passed";
      case Errc::kReplyTooLarge:
        return "the upstream's reply is too large";
      case Errc::kProtocol:
        return "the upstream's reply is not valid HTTP";
      case Errc::kException:
        return "an exception";
      case Errc::kCoordinationUnavailable:
        return "Redis is unreachable or slow: this instance uses its local rules";
    }
    return "kisgate error " + std::to_string(ev);
  }
};

}  // namespace

std::string_view Name(Errc e) {
  switch (e) {
    case Errc::kDeadlineExceeded:
      return "deadline_exceeded";
    case Errc::kGateDeadline:
      return "gate_deadline";
    case Errc::kTokenTimeout:
      return "token_timeout";
    case Errc::kInvalidStockCode:
      return "invalid_stock_code";
    case Errc::kRealOnlyTr:
      return "real_only_tr";
    case Errc::kMalformedReply:
      return "malformed_reply";
    case Errc::kTooManyRequests:
      return "http_429";
    case Errc::kUnavailable:
      return "http_503";
    case Errc::kUnknownTr:
      return "unknown_tr";
    case Errc::kKisRejected:
      return "kis_rejected";
    case Errc::kKisBadRequest:
      return "kis_bad_request";
    case Errc::kBadUrl:
      return "bad_url";
    case Errc::kResolve:
      return "resolve";
    case Errc::kConnectRefused:
      return "connect_refused";
    case Errc::kConnectTimeout:
      return "connect_timeout";
    case Errc::kTlsHandshake:
      return "tls_handshake";
    case Errc::kClosedWithoutResponse:
      return "closed_without_response";
    case Errc::kTimeout:
      return "timeout";
    case Errc::kReplyTooLarge:
      return "reply_too_large";
    case Errc::kProtocol:
      return "protocol";
    case Errc::kException:
      return "exception";
    case Errc::kCoordinationUnavailable:
      return "coordination_unavailable";
  }
  return "unknown";
}

std::optional<Errc> ErrcFromName(std::string_view name) {
  for (Errc e : kAll) {
    if (Name(e) == name) return e;
  }
  return std::nullopt;
}

const boost::system::error_category& ErrorCategory() {
  static const Category category;
  return category;
}

boost::system::error_code make_error_code(Errc e) { return {static_cast<int>(e), ErrorCategory()}; }

}  // namespace kisgate::common

#pragma once
// kisgate's own failure kinds, as a boost::system error category (the way Beast declares
// boost::beast::http::error): `Errc` converts to a boost::system::error_code, and `Result<T>` is a
// value or such an error code.
//
// Each kind has a stable short name ("gate_deadline"): the code users see in JSON errors, /metrics
// labels and collection reports. Names never change once published; code that decides by kind
// switches over `Errc` (without a default, so that -Wswitch names every switch a new kind misses).
// KIS's own codes ("EGW00201") are not here: they are KIS's vocabulary, kept as strings and
// classified in kis/errors.

#include <optional>
#include <string_view>
#include <type_traits>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace kisgate::common {

enum class Errc {
  // A call through the gate that did not get to KIS, or not in time.
  kDeadlineExceeded = 1,  // the call's deadline passed before it could be tried (again)
  kGateDeadline,          // the deadline passed while the call waited for its key's budget
  kTokenTimeout,          // no access token before the call's deadline
  kInvalidStockCode,      // a stock code KIS would refuse (OPSQ2002): never sent
  kRealOnlyTr,            // a TR KIS serves to real keys only, and the pool has none
  // A reply that came back but is not a usable answer.
  kMalformedReply,   // not KIS's wire format (not JSON, no envelope, fields of the wrong type)
  kTooManyRequests,  // HTTP 429 from the upstream, whatever the body
  kUnavailable,      // HTTP 503 from the upstream, whatever the body
  kUnknownTr,        // a reply of a TR kisgate has no conversion for
  kKisRejected,      // KIS answered with an error code of its own; that code says which
  kKisBadRequest,    // KIS refused the request's parameters (its OPSQ2xxx codes)
  // The HTTP client (http::ClientErrorKind).
  kBadUrl,
  kResolve,
  kConnectRefused,
  kConnectTimeout,
  kTlsHandshake,
  kClosedWithoutResponse,  // the peer closed or reset before a response arrived
  kTimeout,                // the request's deadline passed while it was on the wire
  kReplyTooLarge,
  kProtocol,  // an unparsable HTTP response
  // Anywhere: a task threw (caught at the spawn boundary, logged and counted).
  kException,
  // Several instances (issue 13): Redis is unreachable or slower than coordination.timeout, and
  // this instance uses its local rules until it answers in time again.
  kCoordinationUnavailable,
};

// The stable short name of a kind: "deadline_exceeded", "http_429", "connect_refused", ...
std::string_view Name(Errc e);

// The kind whose Name() is `name`; nullopt for any other string (KIS's codes among them).
std::optional<Errc> ErrcFromName(std::string_view name);

// The category of Errc error codes: name() "kisgate", message() a sentence per kind.
const boost::system::error_category& ErrorCategory();

// Found by argument-dependent lookup: error_code ec = Errc::kGateDeadline.
boost::system::error_code make_error_code(Errc e);

// A value or the error code of why there is none.
template <class T>
using Result = boost::system::result<T>;

}  // namespace kisgate::common

namespace boost::system {
template <>
struct is_error_code_enum<kisgate::common::Errc> : std::true_type {};
}  // namespace boost::system

#include "kis/errors.hpp"

#include <gtest/gtest.h>

namespace kisgate::kis {
namespace {

TEST(Classify, SuccessEnvelope) {
  auto c = Classify(
      200, R"({"rt_cd":"0","msg_cd":"MCA00000","msg1":"정상처리 되었습니다.","output":{}})");
  EXPECT_EQ(c.action, Action::kSuccess);
}

TEST(Classify, RateLimitIsRetryLater) {
  auto c = Classify(
      500, R"({"rt_cd":"1","msg_cd":"EGW00201","msg1":"초당 거래건수를 초과하였습니다."})");
  EXPECT_EQ(c.action, Action::kRetryLater);
  EXPECT_EQ(c.code, "EGW00201");
  EXPECT_EQ(c.message, "초당 거래건수를 초과하였습니다.");
}

TEST(Classify, TokenErrors) {
  EXPECT_EQ(Classify(500, R"({"rt_cd":"1","msg_cd":"EGW00123","msg1":"x"})").action,
            Action::kRefreshToken);
  EXPECT_EQ(Classify(500, R"({"rt_cd":"1","msg_cd":"EGW00121","msg1":"x"})").action,
            Action::kRefreshToken);
  // The token endpoint's own shape.
  auto throttled = Classify(
      403,
      R"j({"error_description":"접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)","error_code":"EGW00133"})j");
  EXPECT_EQ(throttled.action, Action::kTokenThrottled);
  EXPECT_EQ(throttled.code, "EGW00133");
  auto bad_key = Classify(
      403, R"({"error_description":"유효하지 않은 AppKey입니다.","error_code":"EGW00103"})");
  EXPECT_EQ(bad_key.action, Action::kFail);
  EXPECT_NE(bad_key.hint.find("app_key"), std::string::npos);
}

TEST(Classify, TransientAndConfigurationErrors) {
  EXPECT_EQ(Classify(500, R"({"rt_cd":"1","msg_cd":"EGW00002","msg1":"x"})").action,
            Action::kRetryWithBackoff);
  auto domain =
      Classify(500, R"({"rt_cd":"1","msg_cd":"EGW02006","msg1":"모의투자 TR 이 아닙니다."})");
  EXPECT_EQ(domain.action, Action::kFail);
  EXPECT_FALSE(domain.hint.empty());
  // An unknown code on a 500 is treated as transient; on a 200 (a business rejection) it fails.
  EXPECT_EQ(Classify(500, R"({"rt_cd":"1","msg_cd":"EGW99999","msg1":"x"})").action,
            Action::kRetryWithBackoff);
  EXPECT_EQ(Classify(200, R"({"rt_cd":"7","msg_cd":"APBK0001","msg1":"x"})").action, Action::kFail);
}

// Classification reads the reply's top level as json::parse reads it: the last of duplicate keys,
// a field that is not a string reads as absent, the same names inside nested objects (output) are
// not the envelope's, and trailing bytes or nesting deeper than 32 make the reply malformed.
TEST(Classify, ReadsTheTopLevelAsTheJsonDocumentHasIt) {
  auto last = Classify(500, R"({"rt_cd":"1","msg_cd":"EGW00002","msg_cd":"EGW00201","msg1":"x"})");
  EXPECT_EQ(last.code, "EGW00201");
  EXPECT_EQ(last.action, Action::kRetryLater);
  auto number = Classify(500, R"({"rt_cd":"1","msg_cd":201,"msg1":"x"})");
  EXPECT_EQ(number.code, "rt_cd_1");
  auto nested = Classify(
      200, R"({"output":{"rt_cd":"1","msg_cd":"EGW00201","error_code":"EGW00133"},"rt_cd":"0"})");
  EXPECT_EQ(nested.action, Action::kSuccess);
  EXPECT_EQ(nested.code, "");
  auto replaced = Classify(200, R"({"rt_cd":"1","rt_cd":{"a":"0"},"code":[1]})");
  EXPECT_EQ(replaced.action, Action::kSuccess);  // rt_cd is not a string: a "code" reply
  auto escaped = Classify(500, R"({"rt_cd":"1","msg\u005fcd":"EGW0020\u0031","msg1":"a\"b"})");
  EXPECT_EQ(escaped.code, "EGW00201");
  EXPECT_EQ(escaped.message, "a\"b");
  EXPECT_EQ(Classify(200, R"({"rt_cd":"0"} x)").code, "malformed_reply");
  std::string deep = R"({"rt_cd":"0","x":)";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "}";
  EXPECT_EQ(Classify(200, deep).code, "malformed_reply");
}

// Whatever comes back, classification never throws and says the reply was malformed.
TEST(Classify, MalformedRepliesAreClassifiedNotThrown) {
  for (auto body : {"", "<html>502 Bad Gateway</html>", R"({"rt_cd":"0","output":{)", "[1,2,3]",
                    R"({"hello":"world"})", "\xff\xfe\x00"}) {
    auto c = Classify(200, body);
    EXPECT_EQ(c.code, "malformed_reply") << body;
    EXPECT_EQ(c.action, Action::kFail) << body;
  }
  EXPECT_EQ(Classify(502, "<html>").action, Action::kRetryWithBackoff);
}

// 429 and 503 mean "not now", whatever body comes with them: retried (through the gate, with
// backoff), not failed as a broken reply.
TEST(Classify, TooManyRequestsAndUnavailableAreTransient) {
  for (int status : {429, 503}) {
    for (auto body : {"", "<html>Too Many Requests</html>", R"({"message":"slow down"})"}) {
      auto c = Classify(status, body);
      EXPECT_EQ(c.action, Action::kRetryWithBackoff) << status << " " << body;
      EXPECT_EQ(c.code, "http_" + std::to_string(status)) << body;
    }
  }
  // With KIS's envelope, KIS's code still decides; an unknown one on a 429 is transient.
  EXPECT_EQ(Classify(429, R"({"rt_cd":"1","msg_cd":"EGW00201","msg1":"x"})").action,
            Action::kRetryLater);
  EXPECT_EQ(Classify(429, R"({"rt_cd":"1","msg_cd":"XYZ00001","msg1":"x"})").action,
            Action::kRetryWithBackoff);
}

// Whatever codes KIS invents, metrics see a bounded set of labels.
TEST(Classify, MetricCodesAreBounded) {
  EXPECT_EQ(MetricCode("EGW00201"), "EGW00201");
  EXPECT_EQ(MetricCode("malformed_reply"), "malformed_reply");
  EXPECT_EQ(MetricCode("connect_refused"), "connect_refused");
  EXPECT_EQ(MetricCode("http_429"), "http_429");
  for (auto unknown : {"EGW99999", "APBK0001", "rt_cd_7", "", "abc"}) {
    EXPECT_EQ(MetricCode(Classify(200, std::string(R"({"rt_cd":"7","msg_cd":")") + unknown +
                                           R"(","msg1":"x"})")
                             .code),
              "other")
        << unknown;
  }
}

// What the gate does with a reply is the classification's action: KIS's per-second limit is retried
// later, an expired token refreshed, an unknown code retried only when the status says transient.
TEST(Classify, ActionByKisCode) {
  EXPECT_EQ(Classify(500, R"({"rt_cd":"1","msg_cd":"EGW00201","msg1":"x"})").action,
            Action::kRetryLater);
  EXPECT_EQ(Classify(500, R"({"rt_cd":"1","msg_cd":"EGW00123","msg1":"x"})").action,
            Action::kRefreshToken);
  EXPECT_EQ(Classify(500, R"({"rt_cd":"1","msg_cd":"EGW00122","msg1":"x"})").action,
            Action::kRefreshToken);
  EXPECT_EQ(Classify(500, R"({"rt_cd":"1","msg_cd":"ZZZ00001","msg1":"x"})").action,
            Action::kRetryWithBackoff);
  EXPECT_EQ(Classify(200, R"({"rt_cd":"1","msg_cd":"ZZZ00001","msg1":"x"})").action, Action::kFail);
  EXPECT_EQ(Classify(403, R"({"error_code":"ZZZ00001","error_description":"x"})").action,
            Action::kFail);
}

// Code that decides by kind reads kisgate's kind: its own codes by name, KIS's codes as "KIS said
// no", the request-validation ones (OPSQ2xxx) apart; a success has none.
TEST(Classify, KindOfAFailure) {
  auto kis_code = [](const char* code) {
    return Classify(500, std::string(R"({"rt_cd":"1","msg_cd":")") + code + R"(","msg1":"x"})")
        .Kind();
  };
  EXPECT_EQ(kis_code("EGW00201"), common::Errc::kKisRejected);
  EXPECT_EQ(kis_code("XYZ00001"), common::Errc::kKisRejected);
  EXPECT_EQ(kis_code("OPSQ2002"), common::Errc::kKisBadRequest);
  EXPECT_EQ(Classify(200, "<html>").Kind(), common::Errc::kMalformedReply);
  EXPECT_EQ(Classify(429, "").Kind(), common::Errc::kTooManyRequests);
  EXPECT_EQ(Classify(200, R"({"rt_cd":"0","msg_cd":"MCA00000","msg1":"ok"})").Kind(), std::nullopt);
  EXPECT_FALSE(Classify(200, R"({"rt_cd":"0","msg_cd":"MCA00000","msg1":"ok"})").ErrorCode());

  auto own = Classification::Own(common::Errc::kGateDeadline, Action::kFail, "late", "wait less");
  EXPECT_EQ(own.code, "gate_deadline");
  EXPECT_EQ(own.Kind(), common::Errc::kGateDeadline);
  EXPECT_EQ(own.ErrorCode(), common::Errc::kGateDeadline);
  EXPECT_EQ(own.hint, "wait less");
}

TEST(Classify, TokenSuccessShapes) {
  EXPECT_EQ(
      Classify(200, R"({"access_token":"x","token_type":"Bearer","expires_in":86400})").action,
      Action::kSuccess);
  EXPECT_EQ(Classify(200, R"({"approval_key":"k"})").action, Action::kSuccess);
}

}  // namespace
}  // namespace kisgate::kis

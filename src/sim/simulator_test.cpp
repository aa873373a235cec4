#include "sim/simulator.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace kisgate::sim {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kPricePath = "/uapi/domestic-stock/v1/quotations/inquire-price";

class SimulatorTest : public ::testing::Test {
 protected:
  SimulatorTest() { Make(SimOptions{}); }

  void Make(SimOptions options) {
    options.latency_ms = 0;
    options.clock = "2026-11-24T10:30:00";
    options.keys = {SimKey{"real-key", "real-secret", Environment::kReal},
                    SimKey{"mock-key", "mock-secret", Environment::kMock}};
    sim_ = std::make_unique<Simulator>(options, clock_);
  }

  http::Request TokenRequest(std::string key, std::string secret) {
    http::Request r;
    r.method = "POST";
    r.target = "/oauth2/tokenP";
    r.body = json::serialize(
        json::object{{"grant_type", "client_credentials"}, {"appkey", key}, {"appsecret", secret}});
    return r;
  }

  std::string Token(const std::string& key, const std::string& secret) {
    auto d = sim_->Handle(TokenRequest(key, secret));
    EXPECT_EQ(d.response.status, 200) << d.response.body;
    return std::string(json::parse(d.response.body).at("access_token").as_string());
  }

  http::Request Quote(const std::string& token, std::string key = "real-key",
                      std::string secret = "real-secret", std::string tr_id = "FHKST01010100",
                      std::string path = std::string(kPricePath)) {
    http::Request r;
    r.method = "GET";
    r.target = path + "?FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930";
    r.headers = {{"content-type", "application/json; charset=utf-8"},
                 {"authorization", "Bearer " + token},
                 {"appkey", key},
                 {"appsecret", secret},
                 {"tr_id", tr_id},
                 {"custtype", "P"}};
    return r;
  }

  static std::string MsgCd(const SimDecision& d) {
    auto body = json::parse(d.response.body).as_object();
    if (auto* code = body.if_contains("msg_cd")) return std::string(code->as_string());
    return std::string(body.at("error_code").as_string());
  }

  // Runs a call to completion (releases its in-flight slot).
  SimDecision Call(const http::Request& r) {
    auto d = sim_->Handle(r);
    sim_->Finish(d.key_index);
    return d;
  }

  common::ManualClock clock_;
  std::unique_ptr<Simulator> sim_;
};

TEST_F(SimulatorTest, TokenThenPriceHasKisEnvelopeAndHeaders) {
  auto token = Token("real-key", "real-secret");
  auto d = Call(Quote(token));
  ASSERT_EQ(d.response.status, 200) << d.response.body;
  auto body = json::parse(d.response.body).as_object();
  EXPECT_EQ(body.at("rt_cd").as_string(), "0");
  EXPECT_EQ(body.at("msg_cd").as_string(), "MCA00000");
  EXPECT_TRUE(body.at("output").at("stck_prpr").is_string());
  EXPECT_EQ(d.response.Header("tr_id").value_or(""), "FHKST01010100");
  EXPECT_EQ(sim_->Stats("real-key").ok, 2u);  // token + price
}

TEST_F(SimulatorTest, TokenErrorsUseTheTokenEndpointShape) {
  auto bad_key = Call(TokenRequest("nobody", "x"));
  EXPECT_EQ(bad_key.response.status, 403);
  EXPECT_EQ(MsgCd(bad_key), "EGW00103");
  auto bad_secret = Call(TokenRequest("real-key", "wrong"));
  EXPECT_EQ(bad_secret.response.status, 403);
  EXPECT_EQ(MsgCd(bad_secret), "EGW00105");
  Token("real-key", "real-secret");
  auto throttled = Call(TokenRequest("real-key", "real-secret"));
  EXPECT_EQ(throttled.response.status, 403);
  EXPECT_EQ(MsgCd(throttled), "EGW00133");
  http::Request garbage;
  garbage.method = "POST";
  garbage.target = "/oauth2/tokenP";
  garbage.body = "{not json";
  EXPECT_EQ(Call(garbage).response.status, 403);
}

// Every call counts: the 19th call inside one second gets HTTP 500 EGW00201.
TEST_F(SimulatorTest, NineteenthCallInASecondIsRateLimited) {
  auto token = Token("real-key", "real-secret");  // call 1
  clock_.Advance(1s);
  for (int i = 0; i < 18; ++i) ASSERT_EQ(Call(Quote(token)).response.status, 200) << i;
  auto d = Call(Quote(token));
  EXPECT_EQ(d.response.status, 500);
  EXPECT_EQ(MsgCd(d), "EGW00201");
  clock_.Advance(1s);
  EXPECT_EQ(Call(Quote(token)).response.status, 200);
  auto stats = sim_->Stats("real-key");
  EXPECT_EQ(stats.errors["EGW00201"], 1u);
  EXPECT_EQ(stats.max_calls_in_1s, 19u);
}

TEST_F(SimulatorTest, MockKeyHasOneCallPerSecondAndNoRealOnlyTrs) {
  auto token = Token("mock-key", "mock-secret");
  clock_.Advance(1s);
  auto overtime = Call(Quote(token, "mock-key", "mock-secret", "FHPST02300000",
                             "/uapi/domestic-stock/v1/quotations/inquire-overtime-price"));
  EXPECT_EQ(overtime.response.status, 500);
  EXPECT_EQ(MsgCd(overtime), "EGW02006");
  auto second = Call(Quote(token, "mock-key", "mock-secret"));
  EXPECT_EQ(MsgCd(second), "EGW00201");
}

TEST_F(SimulatorTest, AuthorizationErrors) {
  auto token = Token("real-key", "real-secret");
  auto no_auth = Quote(token);
  std::erase_if(no_auth.headers, [](auto& h) { return h.first == "authorization"; });
  EXPECT_EQ(MsgCd(Call(no_auth)), "EGW00122");
  auto not_bearer = Quote(token);
  not_bearer.headers[1].second = "Basic abc";
  EXPECT_EQ(MsgCd(Call(not_bearer)), "EGW00205");
  EXPECT_EQ(MsgCd(Call(Quote("forged-token"))), "EGW00121");
  EXPECT_EQ(MsgCd(Call(Quote(token, "real-key", "wrong-secret"))), "EGW00105");
  EXPECT_EQ(MsgCd(Call(Quote(token, "unknown-key"))), "EGW00103");
  clock_.Advance(24h);
  EXPECT_EQ(MsgCd(Call(Quote(token))), "EGW00123");
}

TEST_F(SimulatorTest, WrongTrIdForPathIsRefused) {
  auto token = Token("real-key", "real-secret");
  auto d = Call(Quote(token, "real-key", "real-secret", "FHKST01010200"));
  EXPECT_EQ(d.response.status, 500);
  EXPECT_EQ(MsgCd(d), "OPSQ0002");
}

// Header names are matched case-insensitively, as KIS does.
TEST_F(SimulatorTest, HeaderNamesAreCaseInsensitive) {
  auto token = Token("real-key", "real-secret");
  auto r = Quote(token);
  r.headers = {{"Authorization", "Bearer " + token},
               {"APPKEY", "real-key"},
               {"AppSecret", "real-secret"},
               {"TR_ID", "FHKST01010100"}};
  EXPECT_EQ(Call(r).response.status, 200);
}

// The burst rule: calls beyond N in flight for one key are dropped without a response.
TEST_F(SimulatorTest, InFlightCapDropsTheExtraCall) {
  SimOptions o;
  o.max_in_flight_per_key = 2;
  Make(o);
  auto token = Token("real-key", "real-secret");
  clock_.Advance(1s);
  auto a = sim_->Handle(Quote(token));
  auto b = sim_->Handle(Quote(token));
  auto c = sim_->Handle(Quote(token));
  EXPECT_FALSE(a.drop_connection);
  EXPECT_FALSE(b.drop_connection);
  EXPECT_TRUE(c.drop_connection);
  sim_->Finish(a.key_index);
  auto d = sim_->Handle(Quote(token));
  EXPECT_FALSE(d.drop_connection);
  auto stats = sim_->Stats("real-key");
  EXPECT_EQ(stats.dropped_over_in_flight, 1u);
  EXPECT_EQ(stats.max_in_flight, 2u);
}

TEST_F(SimulatorTest, FaultsAtProbabilityOneAlwaysHappen) {
  SimOptions o;
  o.fault_error = 1.0;
  Make(o);
  auto token = Token("real-key", "real-secret");
  auto d = Call(Quote(token));
  EXPECT_EQ(d.response.status, 500);
  EXPECT_EQ(MsgCd(d), "EGW00002");
  o.fault_error = 0;
  o.fault_disconnect = 1.0;
  Make(o);
  token = Token("real-key", "real-secret");
  EXPECT_TRUE(Call(Quote(token)).drop_connection);
  EXPECT_EQ(sim_->Stats("real-key").dropped_by_fault, 1u);
}

TEST_F(SimulatorTest, SlowFaultAndLatencyAddDelay) {
  SimOptions o;
  o.fault_slow = 1.0;
  o.slow_ms = 1500;
  Make(o);
  auto token = Token("real-key", "real-secret");
  EXPECT_GE(Call(Quote(token)).delay, 1500ms);
}

TEST_F(SimulatorTest, StatsJsonAndReset) {
  auto token = Token("real-key", "real-secret");
  Call(Quote(token));
  auto stats = json::parse(sim_->StatsJson()).as_object();
  auto& keys = stats.at("keys").as_array();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].at("app_key").as_string(), "real-key");
  EXPECT_EQ(keys[0].at("calls").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(keys[0].at("rate_limit").to_number<std::uint64_t>(), 18u);
  EXPECT_EQ(keys[1].at("rate_limit").to_number<std::uint64_t>(), 1u);
  sim_->ResetStats();
  EXPECT_EQ(sim_->Stats("real-key").calls, 0u);
}

// An unknown path answers 404 in KIS's envelope, which KIS clients read (not {"error": ...}).
TEST_F(SimulatorTest, UnknownPathsAre404InKisEnvelope) {
  http::Request r;
  r.method = "GET";
  r.target = "/uapi/domestic-stock/v1/trading/order-cash";
  for (const char* target : {"/uapi/domestic-stock/v1/trading/order-cash", "/nowhere"}) {
    r.target = target;
    auto d = Call(r);
    EXPECT_EQ(d.response.status, 404);
    auto body = json::parse(d.response.body).as_object();
    EXPECT_EQ(body.at("rt_cd").as_string(), "1") << target;
    EXPECT_TRUE(body.at("msg_cd").is_string());
    EXPECT_NE(std::string(body.at("msg1").as_string()).find(target), std::string::npos);
    EXPECT_FALSE(body.contains("error"));
  }
}

// Header names as KIS spells them, on every kind of reply: `Content-Type` capitalised, KIS's own
// headers in lower case. (The HTTP server writes the names as given; tests/clients checks the
// wire.)
TEST_F(SimulatorTest, HeaderNamesAsKisSpellsThem) {
  auto names = [](const SimDecision& d) {
    std::vector<std::string> out;
    for (const auto& [name, value] : d.response.headers) out.push_back(name);
    return out;
  };
  auto has_content_type = [&](const SimDecision& d) {
    auto n = names(d);
    return std::count(n.begin(), n.end(), "Content-Type") == 1 &&
           std::count(n.begin(), n.end(), "content-type") == 0;
  };
  auto token = Token("real-key", "real-secret");
  auto ok = Call(Quote(token));
  ASSERT_EQ(ok.response.status, 200);
  EXPECT_TRUE(has_content_type(ok));
  EXPECT_EQ(names(ok), (std::vector<std::string>{"Content-Type", "tr_id", "tr_cont", "gt_uid"}));
  EXPECT_TRUE(has_content_type(Call(Quote(token, "real-key", "wrong-secret"))));  // gateway error
  EXPECT_TRUE(has_content_type(Call(Quote(token, "real-key", "real-secret", "FHKST01010100",
                                          "/uapi/domestic-stock/v1/quotations/nothing"))));
  EXPECT_TRUE(has_content_type(Call(TokenRequest("real-key", "real-secret"))));  // throttled
  EXPECT_TRUE(has_content_type(Call(TokenRequest("nobody", "x"))));
  http::Request revoke;
  revoke.method = "POST";
  revoke.target = "/oauth2/revokeP";
  revoke.body = json::serialize(
      json::object{{"appkey", "real-key"}, {"appsecret", "real-secret"}, {"token", token}});
  auto revoked = Call(revoke);
  EXPECT_EQ(revoked.response.status, 200) << revoked.response.body;
  EXPECT_TRUE(has_content_type(revoked));
  http::Request approval;
  approval.method = "POST";
  approval.target = "/oauth2/Approval";
  approval.body = json::serialize(json::object{
      {"grant_type", "client_credentials"}, {"appkey", "real-key"}, {"secretkey", "real-secret"}});
  EXPECT_TRUE(has_content_type(Call(approval)));
}

// The TRs only clients call are served with KIS's envelope and headers.
TEST_F(SimulatorTest, ClientOnlyTrsAreServed) {
  auto token = Token("real-key", "real-secret");
  auto trades = Call(Quote(token, "real-key", "real-secret", "FHKST01010300",
                           "/uapi/domestic-stock/v1/quotations/inquire-ccnl"));
  ASSERT_EQ(trades.response.status, 200) << trades.response.body;
  EXPECT_EQ(trades.response.Header("tr_id").value_or(""), "FHKST01010300");
  EXPECT_FALSE(json::parse(trades.response.body).at("output").as_array().empty());
  // A product that does not exist: HTTP 200 with rt_cd "7", as python-kis expects.
  http::Request info = Quote(token, "real-key", "real-secret", "CTPF1604R",
                             "/uapi/domestic-stock/v1/quotations/search-info");
  info.target = "/uapi/domestic-stock/v1/quotations/search-info?PDNO=999999&PRDT_TYPE_CD=300";
  auto none = Call(info);
  EXPECT_EQ(none.response.status, 200);
  EXPECT_EQ(json::parse(none.response.body).at("rt_cd").as_string(), "7");
  info.target = "/uapi/domestic-stock/v1/quotations/search-info?PDNO=005930&PRDT_TYPE_CD=300";
  auto found = Call(info);
  EXPECT_EQ(json::parse(found.response.body).at("output").at("shtn_pdno").as_string(), "005930");
}

TEST(SimOptions, ValidateNamesTheFlag) {
  SimOptions o;
  EXPECT_FALSE(o.Validate().has_value());
  o.rate = 0;
  EXPECT_NE(o.Validate()->find("--rate"), std::string::npos);
  o = SimOptions{};
  o.fault_error = 1.5;
  EXPECT_NE(o.Validate()->find("--fault-error"), std::string::npos);
  o = SimOptions{};
  o.clock = "yesterday";
  EXPECT_NE(o.Validate()->find("--clock"), std::string::npos);
  o = SimOptions{};
  o.tls_cert = "cert.pem";
  EXPECT_NE(o.Validate()->find("--tls-key"), std::string::npos);
}

TEST(SimOptions, ParseKeySpec) {
  std::string error;
  auto k = ParseSimKey("abc:def:mock", error);
  ASSERT_TRUE(k);
  EXPECT_EQ(k->app_key, "abc");
  EXPECT_EQ(k->app_secret, "def");
  EXPECT_EQ(k->environment, Environment::kMock);
  k = ParseSimKey("abc:d:e:f", error);  // secrets may contain ':'
  ASSERT_TRUE(k);
  EXPECT_EQ(k->app_secret, "d:e:f");
  EXPECT_EQ(k->environment, Environment::kReal);
  EXPECT_FALSE(ParseSimKey("abc", error));
  EXPECT_NE(error.find("APPKEY:SECRET"), std::string::npos);
  EXPECT_FALSE(ParseSimKey("abc:", error));
  EXPECT_EQ(DemoAppSecret().size(), 180u);
  EXPECT_EQ(kDemoAppKey.size(), 36u);
}

// Every catalogued quotation API is served behind the same checks as the hand-written ones: the
// tr_id of the path (each of an API's tr_ids), then its required parameters.
TEST_F(SimulatorTest, ServesCataloguedApisBehindKisChecks) {
  auto token = Token("real-key", "real-secret");
  const std::string us = "/uapi/overseas-price/v1/quotations/price";
  auto call = [&](std::string tr_id, std::string query) {
    auto r = Quote(token, "real-key", "real-secret", std::move(tr_id), us);
    r.target = us + "?" + query;
    return Call(r);
  };
  auto ok = call("HHDFS00000300", "AUTH=&EXCD=NAS&SYMB=AAPL");
  ASSERT_EQ(ok.response.status, 200) << ok.response.body;
  auto body = json::parse(ok.response.body).as_object();
  EXPECT_EQ(body.at("rt_cd").as_string(), "0");
  EXPECT_EQ(body.at("output").at("rsym").as_string(), "DNASAAPL");
  const auto tr_id =
      std::ranges::find_if(ok.response.headers, [](const auto& h) { return h.first == "tr_id"; });
  ASSERT_NE(tr_id, ok.response.headers.end());
  EXPECT_EQ(tr_id->second, "HHDFS00000300");

  auto wrong_tr = call("FHKST01010100", "AUTH=&EXCD=NAS&SYMB=AAPL");
  EXPECT_EQ(wrong_tr.response.status, 500);
  EXPECT_EQ(MsgCd(wrong_tr), "OPSQ0002");

  auto missing = call("HHDFS00000300", "AUTH=&EXCD=NAS");
  EXPECT_EQ(missing.response.status, 500);
  EXPECT_EQ(MsgCd(missing), "OPSQ2001");
  EXPECT_EQ(json::parse(missing.response.body).at("msg1").as_string(),
            "ERROR : INPUT_FIELD_NAME SYMB");
}

// KIS serves the doubled slash some clients send: the hand-written answers and the catalogued
// ones alike.
TEST_F(SimulatorTest, AcceptsADoubledSlash) {
  auto token = Token("real-key", "real-secret");
  auto r = Quote(token);
  r.target = "/" + r.target;
  auto price = Call(r);
  ASSERT_EQ(price.response.status, 200) << price.response.body;
  // The hand-written answer, byte for byte, not the catalogue's generated one.
  EXPECT_EQ(price.response.body, Call(Quote(token)).response.body);
  const std::string us = "/uapi/overseas-price/v1/quotations/price";
  auto overseas = Quote(token, "real-key", "real-secret", "HHDFS00000300", us);
  overseas.target = "/" + us + "?AUTH=&EXCD=NAS&SYMB=AAPL";
  EXPECT_EQ(Call(overseas).response.status, 200);
}

}  // namespace
}  // namespace kisgate::sim

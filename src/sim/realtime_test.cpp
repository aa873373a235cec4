#include "sim/realtime.hpp"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "sim/simulator.hpp"
#include "sim/universe.hpp"

namespace kisgate::sim {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// A data frame split as KIS clients split it: "0|TR|NNN|f^f^...".
struct DataFrame {
  std::string tr_id;
  std::size_t count = 0;
  std::vector<std::string> fields;
};

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::optional<DataFrame> ParseData(const std::string& text) {
  if (text.empty() || text[0] != '0') return std::nullopt;
  auto parts = Split(text, '|');
  if (parts.size() != 4) return std::nullopt;
  DataFrame f;
  f.tr_id = parts[1];
  f.count = static_cast<std::size_t>(std::stoi(parts[2]));
  f.fields = Split(parts[3], '^');
  return f;
}

// Fields of the records of one TR, one vector per record.
std::vector<std::vector<std::string>> Records(const DataFrame& f, std::size_t width) {
  std::vector<std::vector<std::string>> out;
  for (std::size_t i = 0; i + width <= f.fields.size(); i += width) {
    out.emplace_back(f.fields.begin() + static_cast<std::ptrdiff_t>(i),
                     f.fields.begin() + static_cast<std::ptrdiff_t>(i + width));
  }
  return out;
}

class RealtimeTest : public ::testing::Test {
 protected:
  RealtimeTest() { Make(SimOptions{}); }

  void Make(SimOptions options, std::string at = "2026-11-24T10:00:00") {
    options.latency_ms = 0;
    options.clock = std::move(at);
    options.keys = {SimKey{"key-a", "secret-a", Environment::kReal},
                    SimKey{"key-b", "secret-b", Environment::kReal}};
    sim_ = std::make_unique<Simulator>(options, clock_);
    token_.clear();
  }
  Realtime& rt() { return sim_->realtime(); }

  // A REST quotation through the same simulator, as a KIS client would ask it.
  json::object Rest(const std::string& path, const std::string& tr_id, const std::string& query) {
    if (token_.empty()) {
      http::Request t;
      t.method = "POST";
      t.target = "/oauth2/tokenP";
      t.body = json::serialize(json::object{
          {"grant_type", "client_credentials"}, {"appkey", "key-a"}, {"appsecret", "secret-a"}});
      auto d = sim_->Handle(t);
      token_ = std::string(json::parse(d.response.body).at("access_token").as_string());
    }
    http::Request r;
    r.method = "GET";
    r.target = "/uapi/domestic-stock/v1/quotations/" + path + "?" + query;
    r.headers = {{"authorization", "Bearer " + token_},
                 {"appkey", "key-a"},
                 {"appsecret", "secret-a"},
                 {"tr_id", tr_id},
                 {"custtype", "P"}};
    auto d = sim_->Handle(r);
    sim_->Finish(d.key_index);
    EXPECT_EQ(d.response.status, 200) << d.response.body;
    return json::parse(d.response.body).as_object();
  }
  std::int64_t RestVolume() {
    auto body =
        Rest("inquire-price", "FHKST01010100", "FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930");
    return std::stoll(std::string(body.at("output").at("acml_vol").as_string()));
  }
  json::object RestMinuteBar(const std::string& hhmmss) {
    auto body = Rest("inquire-time-itemchartprice", "FHKST03010200",
                     "FID_ETC_CLS_CODE=&FID_COND_MRKT_DIV_CODE=J&FID_INPUT_ISCD=005930"
                     "&FID_INPUT_HOUR_1=" +
                         hhmmss + "&FID_PW_DATA_INCU_YN=N");
    return body.at("output2").as_array().at(0).as_object();
  }

  SimDecision ApprovalCall(const std::string& key, const std::string& secret,
                           const std::string& grant = "client_credentials") {
    http::Request r;
    r.method = "POST";
    r.target = "/oauth2/Approval";
    r.body = json::serialize(
        json::object{{"grant_type", grant}, {"appkey", key}, {"secretkey", secret}});
    auto d = sim_->Handle(r);
    sim_->Finish(d.key_index);
    return d;
  }
  std::string Approval(const std::string& key, const std::string& secret) {
    auto d = ApprovalCall(key, secret);
    EXPECT_EQ(d.response.status, 200) << d.response.body;
    clock_.Advance(1s);  // the next approval key of this key may come a second later
    return std::string(json::parse(d.response.body).at("approval_key").as_string());
  }

  static std::string Frame(const std::string& approval, std::string_view tr_type,
                           std::string_view tr_id, std::string_view tr_key) {
    return json::serialize(json::object{
        {"header", json::object{{"approval_key", approval},
                                {"custtype", "P"},
                                {"tr_type", tr_type},
                                {"content-type", "utf-8"}}},
        {"body", json::object{{"input", json::object{{"tr_id", tr_id}, {"tr_key", tr_key}}}}}});
  }

  // Sends one frame and returns the single ack.
  json::object Send(std::uint64_t session, const std::string& text) {
    auto replies = rt().OnText(session, text);
    EXPECT_EQ(replies.size(), 1u) << text;
    if (replies.empty()) return {};
    return json::parse(replies[0]).as_object();
  }
  json::object Subscribe(std::uint64_t session, const std::string& approval, std::string_view tr_id,
                         std::string_view code, std::string_view tr_type = "1") {
    return Send(session, Frame(approval, tr_type, tr_id, code));
  }
  static std::string MsgCd(const json::object& ack) {
    return std::string(ack.at("body").at("msg_cd").as_string());
  }

  // Polls once a second of manual time for `seconds`; returns every outgoing frame.
  std::vector<WsOutgoing> Run(int seconds) {
    std::vector<WsOutgoing> all;
    for (int i = 0; i < seconds; ++i) {
      clock_.Advance(1s);
      for (auto& o : rt().Poll()) all.push_back(std::move(o));
    }
    return all;
  }

  common::ManualClock clock_;
  std::unique_ptr<Simulator> sim_;
  std::string token_;
};

// Every ack code of kis-api.md §8, each with header.tr_id, header.tr_key and encrypt present.
TEST_F(RealtimeTest, AcksCarryEveryCodeAndAlwaysTheTrKey) {
  const auto approval = Approval("key-a", "secret-a");
  const auto s = rt().Open();
  std::map<std::string, json::object> acks;
  auto note = [&](json::object ack) {
    const auto code = MsgCd(ack);
    acks[code] = std::move(ack);
  };
  note(Subscribe(s, approval, "H0STCNT0", "005930"));
  note(Subscribe(s, approval, "H0STCNT0", "005930"));
  note(Subscribe(s, approval, "H0STCNT0", "005930", "2"));
  note(Subscribe(s, approval, "H0STCNT0", "005930", "2"));
  note(Subscribe(s, "00000000-0000-0000-0000-000000000000", "H0STCNT0", "005930"));
  note(Subscribe(s, approval, "H0XXXXX0", "005930"));
  note(Subscribe(s, approval, "H0STCNT0", "999999"));
  note(Subscribe(s, approval, "H0STCNT0", "005930", "3"));
  note(Send(s, "{not json"));
  for (const char* code : {"OPSP0000", "OPSP0002", "OPSP0001", "OPSP0003", "OPSP0011", "OPSP8991",
                           "OPSP8992", "OPSP9997", "OPSP9999"}) {
    ASSERT_TRUE(acks.contains(code)) << code;
    const auto& ack = acks[code];
    EXPECT_TRUE(ack.at("header").as_object().contains("tr_key")) << code;
    EXPECT_TRUE(ack.at("header").as_object().contains("tr_id")) << code;
    EXPECT_EQ(ack.at("header").at("encrypt").as_string(), "N") << code;
    const bool ok = std::string_view(code) == "OPSP0000" || std::string_view(code) == "OPSP0001";
    EXPECT_EQ(ack.at("body").at("rt_cd").as_string(), ok ? "0" : "1") << code;
  }
  EXPECT_EQ(acks["OPSP0000"].at("header").at("tr_key").as_string(), "005930");
  EXPECT_EQ(acks["OPSP0000"].at("body").at("output").at("iv").as_string().size(), 16u);
  EXPECT_EQ(acks["OPSP0000"].at("body").at("output").at("key").as_string().size(), 32u);
  EXPECT_EQ(acks["OPSP0001"].at("body").at("msg1").as_string(), "UNSUBSCRIBE SUCCESS");
  EXPECT_EQ(acks["OPSP9999"].at("header").at("tr_key").as_string(), "");
  EXPECT_EQ(rt().Stats().acks.at("OPSP0000"), 1u);
}

// The 42nd (tr_id, tr_key) pair of a session is refused with OPSP0008 and gets no data; the 41
// count across TRs.
TEST_F(RealtimeTest, The42ndRegistrationIsRefusedAndGetsNoData) {
  const auto approval = Approval("key-a", "secret-a");
  const auto s = rt().Open();
  const auto& stocks = Universe::Default().All();
  for (std::size_t i = 0; i < 21; ++i) {
    ASSERT_EQ(MsgCd(Subscribe(s, approval, "H0STCNT0", stocks[i].code)), "OPSP0000") << i;
  }
  for (std::size_t i = 0; i < 20; ++i) {
    ASSERT_EQ(MsgCd(Subscribe(s, approval, "H0STASP0", stocks[i].code)), "OPSP0000") << i;
  }
  const std::string extra = stocks[30].code;
  auto refused = Subscribe(s, approval, "H0STCNT0", extra);
  EXPECT_EQ(MsgCd(refused), "OPSP0008");
  EXPECT_EQ(refused.at("body").at("msg1").as_string(), "MAX SUBSCRIBE OVER");
  std::size_t frames = 0;
  for (const auto& o : Run(3)) {
    auto f = ParseData(o.text);
    if (!f) continue;
    frames++;
    EXPECT_NE(f->fields[0], extra);
  }
  EXPECT_GT(frames, 0u);
  // Unsubscribing one frees a slot.
  EXPECT_EQ(MsgCd(Subscribe(s, approval, "H0STASP0", stocks[0].code, "2")), "OPSP0001");
  EXPECT_EQ(MsgCd(Subscribe(s, approval, "H0STCNT0", extra)), "OPSP0000");
}

// One session per app key: a second connection gets OPSP8996 (rt_cd "9") while the first holds
// the key and for --ws-hold-s after it ends; then it may take the key. Other keys are unaffected.
TEST_F(RealtimeTest, OneSessionPerKeyWithAHoldAfterDisconnect) {
  SimOptions options;
  options.ws.hold = 2s;
  Make(options);
  const auto approval = Approval("key-a", "secret-a");
  const auto second_approval = Approval("key-a", "secret-a");
  const auto first = rt().Open();
  const auto second = rt().Open();
  ASSERT_EQ(MsgCd(Subscribe(first, approval, "H0STCNT0", "005930")), "OPSP0000");
  auto refused = Subscribe(second, second_approval, "H0STCNT0", "005930");
  EXPECT_EQ(MsgCd(refused), "OPSP8996");
  EXPECT_EQ(refused.at("body").at("rt_cd").as_string(), "9");
  // Another app key has its own session.
  const auto other = rt().Open();
  EXPECT_EQ(MsgCd(Subscribe(other, Approval("key-b", "secret-b"), "H0STCNT0", "005930")),
            "OPSP0000");

  rt().Closed(first, WsCloseReason::kClient);
  EXPECT_EQ(MsgCd(Subscribe(second, second_approval, "H0STCNT0", "005930")), "OPSP8996");
  clock_.Advance(2s - 1ms);
  EXPECT_EQ(MsgCd(Subscribe(second, second_approval, "H0STCNT0", "005930")), "OPSP8996");
  clock_.Advance(1ms);
  EXPECT_EQ(MsgCd(Subscribe(second, second_approval, "H0STCNT0", "005930")), "OPSP0000");
  EXPECT_EQ(rt().Stats().acks.at("OPSP8996"), 3u);
  EXPECT_EQ(rt().Stats().closes.at("client"), 1u);
}

// PINGPONG every --ws-ping-s; a text echo answers it; --ws-ping-missed unanswered ones close the
// session (and start the key's hold).
TEST_F(RealtimeTest, HeartbeatEchoKeepsTheSessionAndSilenceClosesIt) {
  SimOptions options;
  options.ws.ping_interval = 1s;
  options.ws.ping_missed = 3;
  options.ws.hold = 5s;
  Make(options);
  const auto approval = Approval("key-a", "secret-a");
  const auto s = rt().Open();
  ASSERT_EQ(MsgCd(Subscribe(s, approval, "H0STASP0", "005930")), "OPSP0000");
  std::string ping;
  for (int i = 0; i < 10; ++i) {
    for (const auto& o : Run(1)) {
      ASSERT_FALSE(o.close) << "closed although every PINGPONG was echoed";
      if (o.text.find("PINGPONG") != std::string::npos) ping = o.text;
    }
    ASSERT_FALSE(ping.empty());
    auto header = json::parse(ping).at("header").as_object();
    EXPECT_EQ(header.at("datetime").as_string().size(), 14u);
    EXPECT_TRUE(rt().OnText(s, ping).empty());  // the echo gets no reply
    EXPECT_EQ(rt().Stats().pings_unanswered, 0u);
  }
  // Silence: pings at +1, +2, +3 s go unanswered; the session is closed when the next falls due.
  std::vector<WsOutgoing> closes;
  int pings = 0;
  for (int i = 0; i < 4; ++i) {
    for (const auto& o : Run(1)) {
      if (o.close) closes.push_back(o);
      if (o.text.find("PINGPONG") != std::string::npos) pings++;
    }
    if (i < 3) {
      EXPECT_TRUE(closes.empty()) << i;
      EXPECT_EQ(rt().Stats().pings_unanswered, static_cast<std::uint64_t>(i + 1));
    }
  }
  EXPECT_EQ(rt().Stats().pings_unanswered, 0u);  // only open sessions' count
  EXPECT_EQ(pings, 3);
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes[0].reason, WsCloseReason::kPingMissed);
  EXPECT_EQ(rt().Stats().closes.at("ping_missed"), 1u);
  EXPECT_EQ(rt().Stats().pings_answered_text, 10u);
  // The key is held after the close.
  const auto next = rt().Open();
  EXPECT_EQ(MsgCd(Subscribe(next, Approval("key-a", "secret-a"), "H0STASP0", "005930")),
            "OPSP8996");
}

// A protocol-level pong answers a PINGPONG by default, and does not with --ws-strict-pingpong.
TEST_F(RealtimeTest, ProtocolPongCountsUnlessStrict) {
  for (bool strict : {false, true}) {
    SimOptions options;
    options.ws.ping_interval = 1s;
    options.ws.ping_missed = 2;
    options.ws.strict_pingpong = strict;
    Make(options);
    const auto s = rt().Open();
    bool closed = false;
    for (int i = 0; i < 8; ++i) {
      for (const auto& o : Run(1)) closed = closed || o.close;
      rt().OnPong(s);
    }
    EXPECT_EQ(closed, strict) << "strict=" << strict;
  }
}

// Approval keys: the app secret is checked like the token endpoint checks it, one a second per
// key (EGW00201 beyond), and a key bound to another app key cannot take this one's session.
TEST_F(RealtimeTest, ApprovalRules) {
  auto wrong = ApprovalCall("key-a", "not-the-secret");
  EXPECT_EQ(wrong.response.status, 403);
  EXPECT_NE(wrong.response.body.find("EGW00105"), std::string::npos);
  auto unknown = ApprovalCall("no-such-key", "secret-a");
  EXPECT_NE(unknown.response.body.find("EGW00103"), std::string::npos);
  auto bad_grant = ApprovalCall("key-a", "secret-a", "password");
  EXPECT_NE(bad_grant.response.body.find("EGW00205"), std::string::npos);
  clock_.Advance(1s);
  auto first = ApprovalCall("key-a", "secret-a");
  ASSERT_EQ(first.response.status, 200);
  auto again = ApprovalCall("key-a", "secret-a");
  EXPECT_EQ(again.response.status, 500);
  EXPECT_NE(again.response.body.find("EGW00201"), std::string::npos);
  clock_.Advance(1s);
  EXPECT_EQ(ApprovalCall("key-a", "secret-a").response.status, 200);
  const std::string key_a(json::parse(first.response.body).at("approval_key").as_string());
  EXPECT_EQ(sim_->ApprovalOwner(key_a), "key-a");
  // A session that holds key-b cannot use key-a's approval key.
  const auto s = rt().Open();
  ASSERT_EQ(MsgCd(Subscribe(s, Approval("key-b", "secret-b"), "H0STCNT0", "005930")), "OPSP0000");
  EXPECT_EQ(MsgCd(Subscribe(s, key_a, "H0STCNT0", "000660")), "OPSP8996");
  EXPECT_GE(sim_->Stats("key-a").approval_keys_issued, 2u);
}

// The trades of one minute aggregate exactly to that minute's bar of inquire-time-itemchartprice
// (open = first price, close = last, high, low, volume sum), and the last trade's ACML_VOL is the
// inquire-price volume at the moment it is sent.
TEST_F(RealtimeTest, TradesOfAMinuteAggregateToTheRestMinuteBar) {
  SimOptions options;
  options.ws.trades_per_s = 5;
  options.ws.ping_interval = 1h;
  Make(options, "2026-11-24T09:59:59");
  const auto approval = Approval("key-a", "secret-a");  // moves time to 10:00:00
  const auto s = rt().Open();
  ASSERT_EQ(MsgCd(Subscribe(s, approval, "H0STCNT0", "005930")), "OPSP0000");
  rt().Poll();  // starts the stream at 10:00:00
  std::vector<std::vector<std::string>> trades;
  std::size_t multi_record_frames = 0;
  for (int i = 0; i < 61; ++i) {
    for (const auto& o : Run(1)) {
      auto f = ParseData(o.text);
      ASSERT_TRUE(f);
      ASSERT_EQ(f->tr_id, "H0STCNT0");
      ASSERT_EQ(f->fields.size(), f->count * kTradeFields);
      if (f->count > 1) multi_record_frames++;
      for (auto& r : Records(*f, kTradeFields)) trades.push_back(std::move(r));
    }
    if (i == 30) {
      // Mid-minute: the stream's running volume is the REST volume now.
      EXPECT_EQ(trades.back()[13], std::to_string(RestVolume()));
    }
  }
  EXPECT_GT(multi_record_frames, 0u);
  std::int64_t open = 0, close = 0, high = 0, low = 0, volume = 0;
  for (const auto& t : trades) {
    if (t[1].substr(0, 4) != "1000") continue;
    EXPECT_EQ(t[0], "005930");
    EXPECT_EQ(t[33], "20261124");
    const std::int64_t price = std::stoll(t[2]);
    if (volume == 0) open = high = low = price;
    close = price;
    high = std::max(high, price);
    low = std::min(low, price);
    volume += std::stoll(t[12]);
  }
  ASSERT_GT(volume, 0);
  // The REST bar of 10:00, asked at 10:01:01.
  auto bar = RestMinuteBar("100000");
  EXPECT_EQ(bar.at("stck_cntg_hour").as_string(), "100000");
  EXPECT_EQ(std::to_string(open), bar.at("stck_oprc").as_string());
  EXPECT_EQ(std::to_string(close), bar.at("stck_prpr").as_string());
  EXPECT_EQ(std::to_string(high), bar.at("stck_hgpr").as_string());
  EXPECT_EQ(std::to_string(low), bar.at("stck_lwpr").as_string());
  EXPECT_EQ(std::to_string(volume), bar.at("cntg_vol").as_string());
  EXPECT_EQ(trades.back()[13], std::to_string(RestVolume()));
}

// The order book straddles the last trade price: BIDP1 <= price < ASKP1, and the book's ACML_VOL
// is the trades'.
TEST_F(RealtimeTest, BookStraddlesThePrice) {
  SimOptions options;
  options.ws.ping_interval = 1h;
  Make(options, "2026-11-24T13:15:00");
  const auto approval = Approval("key-a", "secret-a");
  const auto s = rt().Open();
  ASSERT_EQ(MsgCd(Subscribe(s, approval, "H0STCNT0", "000660")), "OPSP0000");
  ASSERT_EQ(MsgCd(Subscribe(s, approval, "H0STASP0", "000660")), "OPSP0000");
  rt().Poll();
  int checked = 0;
  for (int i = 0; i < 20; ++i) {
    std::vector<std::string> last_trade, book;
    for (const auto& o : Run(1)) {
      auto f = ParseData(o.text);
      ASSERT_TRUE(f);
      if (f->tr_id == "H0STCNT0") last_trade = Records(*f, kTradeFields).back();
      if (f->tr_id == "H0STASP0") {
        ASSERT_EQ(f->fields.size(), kBookFields);
        book = f->fields;
      }
    }
    if (last_trade.empty() || book.empty()) continue;
    const auto price = std::stoll(last_trade[2]);
    const auto ask1 = std::stoll(book[3]);
    const auto bid1 = std::stoll(book[13]);
    EXPECT_LE(bid1, price);
    EXPECT_LT(price, ask1);
    EXPECT_GT(std::stoll(book[4]), ask1);   // ASKP2 above ASKP1
    EXPECT_LT(std::stoll(book[14]), bid1);  // BIDP2 below BIDP1
    EXPECT_EQ(book[53], last_trade[13]);    // ACML_VOL
    checked++;
  }
  EXPECT_GT(checked, 10);
}

// After hours: H0STOUP0 (43 fields) at each single-price match, H0STOAA0 (54 fields, 9 levels);
// the regular TRs are silent.
TEST_F(RealtimeTest, AfterHoursTrsHaveTheirLayouts) {
  SimOptions options;
  options.ws.ping_interval = 1h;
  options.speed = 60;  // a market minute per second
  Make(options, "2026-11-24T16:15:00");
  const auto approval = Approval("key-a", "secret-a");
  const auto s = rt().Open();
  for (const char* tr : {"H0STOUP0", "H0STOAA0", "H0STCNT0"}) {
    ASSERT_EQ(MsgCd(Subscribe(s, approval, tr, "005930")), "OPSP0000");
  }
  std::map<std::string, std::size_t> fields;
  for (const auto& o : Run(15)) {
    auto f = ParseData(o.text);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->count, 1u);
    fields[f->tr_id] = f->fields.size();
  }
  EXPECT_EQ(fields["H0STOUP0"], kOvertimeTradeFields);
  EXPECT_EQ(fields["H0STOAA0"], kOvertimeBookFields);
  EXPECT_FALSE(fields.contains("H0STCNT0"));
}

// --ws-fault-drop: sessions are dropped at about that rate, counted, and the key is then held.
TEST_F(RealtimeTest, FaultDropClosesSessions) {
  SimOptions options;
  options.ws.ping_interval = 1h;
  options.ws.fault_drop_per_min = 30;
  Make(options);
  std::size_t drops = 0;
  for (int i = 0; i < 10; ++i) rt().Open();
  for (const auto& o : Run(60)) {
    if (o.close) {
      EXPECT_EQ(o.reason, WsCloseReason::kFaultDrop);
      drops++;
    }
  }
  EXPECT_GT(drops, 0u);
  EXPECT_LE(drops, 10u);
  EXPECT_EQ(rt().Stats().closes.at("fault_drop"), drops);
}

}  // namespace
}  // namespace kisgate::sim

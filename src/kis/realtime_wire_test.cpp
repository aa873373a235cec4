#include "kis/realtime_wire.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <fmt/format.h>

namespace kisgate::kis {
namespace {

const common::WallTime kReceivedAt{std::chrono::hours(24 * 365 * 56)};

// One record of `count` fields, each "0" unless `set` names it (0-based).
std::string Record(std::size_t count, std::vector<std::pair<std::size_t, std::string>> set) {
  std::vector<std::string> f(count, "0");
  for (auto& [i, v] : set) f.at(i) = std::move(v);
  return fmt::format("{}", fmt::join(f, "^"));
}

std::string Trade(std::string code, std::string time, std::string price, std::size_t fields = 46) {
  return Record(fields, {{0, std::move(code)},
                         {1, std::move(time)},
                         {2, std::move(price)},
                         {3, "5"},
                         {4, "-500"},
                         {5, "-0.69"},
                         {6, "71620.55"},
                         {7, "72000"},
                         {8, "72100"},
                         {9, "71400"},
                         {10, "71600"},
                         {11, "71500"},
                         {12, "15"},
                         {13, "1234567"},
                         {14, "88400000000"},
                         {33, "20261124"}});
}

std::string Frame(std::string_view tr, std::size_t n, std::string_view payload) {
  return fmt::format("0|{}|{:03}|{}", tr, n, payload);
}

// By value: callers pass a temporary frame.
template <typename T>
T As(const RealtimeFrame& f) {
  if (const auto* e = std::get_if<RealtimeError>(&f)) ADD_FAILURE() << e->message;
  EXPECT_TRUE(std::holds_alternative<T>(f));
  return std::get<T>(f);
}

RealtimeFrame Parse(std::string_view text) {
  return ParseRealtimeFrame(text, kReceivedAt, "20261124");
}

TEST(RealtimeWire, LayoutsHaveTheOfficialFieldCounts) {
  EXPECT_EQ(RealtimeFieldCount(kTradesTr), 46u);
  EXPECT_EQ(RealtimeFieldCount(kBookTr), 59u);
  EXPECT_EQ(RealtimeFieldCount(kOvertimeTradesTr), 43u);
  EXPECT_EQ(RealtimeFieldCount(kOvertimeBookTr), 54u);
  EXPECT_EQ(RealtimeFieldCount("H0STCNI0"), 0u);
}

TEST(RealtimeWire, SubscriptionFrameIsWhatKisTakes) {
  auto v = boost::json::parse(SubscriptionFrame("ak-1", kTradesTr, "005930", true)).as_object();
  const auto& h = v.at("header").as_object();
  EXPECT_EQ(h.at("approval_key").as_string(), "ak-1");
  EXPECT_EQ(h.at("custtype").as_string(), "P");
  EXPECT_EQ(h.at("tr_type").as_string(), "1");
  EXPECT_EQ(h.at("content-type").as_string(), "utf-8");
  const auto& input = v.at("body").at("input").as_object();
  EXPECT_EQ(input.at("tr_id").as_string(), "H0STCNT0");
  EXPECT_EQ(input.at("tr_key").as_string(), "005930");
  auto off = boost::json::parse(SubscriptionFrame("ak-1", kBookTr, "000660", false));
  EXPECT_EQ(off.at("header").at("tr_type").as_string(), "2");
}

TEST(RealtimeWire, AckWithAndWithoutOutput) {
  const auto& ok = As<RealtimeAck>(Parse(
      R"({"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"0","msg_cd":"OPSP0000","msg1":"SUBSCRIBE SUCCESS","output":{"iv":"0123456789abcdef","key":"0123456789abcdef0123456789abcdef"}}})"));
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.tr_id, "H0STCNT0");
  EXPECT_EQ(ok.tr_key, "005930");
  EXPECT_EQ(ok.msg_cd, "OPSP0000");
  EXPECT_EQ(ok.msg1, "SUBSCRIBE SUCCESS");
  const auto& held = As<RealtimeAck>(Parse(
      R"({"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}})"));
  EXPECT_FALSE(held.ok);
  EXPECT_EQ(held.msg_cd, "OPSP8996");
  // No tr_key and no body at all: still an ack (of nothing), not a crash.
  const auto& bare = As<RealtimeAck>(Parse(R"({"header":{"tr_id":"H0STASP0"}})"));
  EXPECT_FALSE(bare.ok);
  EXPECT_EQ(bare.tr_key, "");
}

TEST(RealtimeWire, PingPongIsEchoedVerbatim) {
  const std::string ping = R"({"header":{"tr_id":"PINGPONG","datetime":"20261124100501"}})";
  EXPECT_EQ(As<PingPong>(Parse(ping)).text, ping);
}

TEST(RealtimeWire, TradesFrameOfSeveralRecords) {
  const auto payload = Trade("005930", "100501", "71500") + "^" +
                       Trade("005930", "100501", "71600") + "^" + Trade("000660", "100502", "-1");
  const auto& data = As<RealtimeData>(Parse(Frame(kTradesTr, 3, payload)));
  ASSERT_EQ(data.ticks.size(), 3u);
  EXPECT_TRUE(data.books.empty());
  const Tick& t = data.ticks[0];
  EXPECT_EQ(t.code, "005930");
  EXPECT_EQ(t.date, "20261124");
  EXPECT_EQ(t.time, "100501");
  EXPECT_FALSE(t.after_hours);
  EXPECT_EQ(t.price, 71500);
  EXPECT_EQ(t.sign, Sign::kDown);
  EXPECT_EQ(t.change, -500);
  EXPECT_DOUBLE_EQ(t.change_pct, -0.69);
  EXPECT_DOUBLE_EQ(t.vwap, 71620.55);
  EXPECT_EQ(t.open, 72000);
  EXPECT_EQ(t.high, 72100);
  EXPECT_EQ(t.low, 71400);
  EXPECT_EQ(t.best_ask, 71600);
  EXPECT_EQ(t.best_bid, 71500);
  EXPECT_EQ(t.volume, 15);
  EXPECT_EQ(t.cum_volume, 1234567);
  EXPECT_EQ(t.cum_value, 88400000000);
  EXPECT_EQ(t.received_at, kReceivedAt);
  EXPECT_EQ(data.ticks[1].price, 71600);
  EXPECT_EQ(data.ticks[2].code, "000660");
  EXPECT_EQ(data.ticks[2].price, -1);
}

// KIS appends fields to a layout now and then: two records of 48 fields read as the first 46 of
// each, so the second record starts where it really starts.
TEST(RealtimeWire, AppendedFieldsAreSkipped) {
  const auto payload =
      Trade("005930", "100501", "71500", 48) + "^" + Trade("000660", "100502", "182000", 48);
  const auto& data = As<RealtimeData>(Parse(Frame(kTradesTr, 2, payload)));
  ASSERT_EQ(data.ticks.size(), 2u);
  EXPECT_EQ(data.fields_per_record, 48u);
  EXPECT_EQ(data.ticks[1].code, "000660");
  EXPECT_EQ(data.ticks[1].time, "100502");
  EXPECT_EQ(data.ticks[1].price, 182000);
  EXPECT_EQ(data.ticks[1].date, "20261124");
}

TEST(RealtimeWire, OrderBookFrame) {
  std::vector<std::pair<std::size_t, std::string>> set{{0, "005930"}, {1, "100501"}, {2, "0"}};
  for (std::size_t i = 0; i < 10; ++i) {
    set.emplace_back(3 + i, std::to_string(71600 + 100 * i));   // ASKP1..10
    set.emplace_back(13 + i, std::to_string(71500 - 100 * i));  // BIDP1..10
    set.emplace_back(23 + i, std::to_string(10 + i));           // ASKP_RSQN
    set.emplace_back(33 + i, std::to_string(20 + i));           // BIDP_RSQN
  }
  set.emplace_back(43, "145");
  set.emplace_back(44, "245");
  set.emplace_back(47, "71550");
  set.emplace_back(49, "3000");
  set.emplace_back(53, "1234567");
  const auto& data = As<RealtimeData>(Parse(Frame(kBookTr, 1, Record(59, set))));
  ASSERT_EQ(data.books.size(), 1u);
  const BookSnapshot& b = data.books[0];
  EXPECT_EQ(b.code, "005930");
  EXPECT_EQ(b.date, "20261124");
  EXPECT_EQ(b.time, "100501");
  EXPECT_EQ(b.asks[0].price, 71600);
  EXPECT_EQ(b.asks[9].price, 72500);
  EXPECT_EQ(b.bids[0].price, 71500);
  EXPECT_EQ(b.bids[9].price, 70600);
  EXPECT_EQ(b.asks[0].quantity, 10);
  EXPECT_EQ(b.bids[9].quantity, 29);
  EXPECT_EQ(b.total_ask_quantity, 145);
  EXPECT_EQ(b.total_bid_quantity, 245);
  EXPECT_EQ(b.expected_price, 71550);
  EXPECT_EQ(b.expected_volume, 3000);
  EXPECT_EQ(b.cum_volume, 1234567);
}

TEST(RealtimeWire, AfterHoursTradesAndBook) {
  const auto& trades =
      As<RealtimeData>(Parse(Frame(kOvertimeTradesTr, 1, Trade("005930", "162001", "71700", 43))));
  ASSERT_EQ(trades.ticks.size(), 1u);
  EXPECT_TRUE(trades.ticks[0].after_hours);
  EXPECT_EQ(trades.ticks[0].price, 71700);
  EXPECT_EQ(trades.ticks[0].date, "20261124");

  std::vector<std::pair<std::size_t, std::string>> set{{0, "005930"}, {1, "162001"}};
  for (std::size_t i = 0; i < 9; ++i) {
    set.emplace_back(3 + i, std::to_string(71800 + 100 * i));
    set.emplace_back(12 + i, std::to_string(71700 - 100 * i));
    set.emplace_back(21 + i, "7");
    set.emplace_back(30 + i, "8");
  }
  set.emplace_back(39, "63");
  set.emplace_back(40, "72");
  set.emplace_back(43, "71750");
  set.emplace_back(45, "40");
  set.emplace_back(49, "99");
  const auto& book = As<RealtimeData>(Parse(Frame(kOvertimeBookTr, 1, Record(54, set))));
  ASSERT_EQ(book.books.size(), 1u);
  const BookSnapshot& b = book.books[0];
  EXPECT_TRUE(b.after_hours);
  EXPECT_EQ(b.asks[8].price, 72600);
  EXPECT_EQ(b.asks[9].price, 0);
  EXPECT_EQ(b.bids[8].price, 70900);
  EXPECT_EQ(b.bids[8].quantity, 8);
  EXPECT_EQ(b.total_ask_quantity, 63);
  EXPECT_EQ(b.total_bid_quantity, 72);
  EXPECT_EQ(b.expected_price, 71750);
  EXPECT_EQ(b.expected_volume, 40);
  EXPECT_EQ(b.cum_volume, 99);
}

// Every malformed shape is a described error of its kind, never a crash or a partial result.
TEST(RealtimeWire, MalformedFramesAreDescribedErrors) {
  using K = RealtimeError::Kind;
  const auto one = Trade("005930", "100501", "71500");
  const struct {
    std::string text;
    K kind;
  } cases[] = {
      {"", K::kEmpty},
      {"{", K::kBadJson},
      {"{}", K::kBadJson},
      {R"({"header":{"tr_id":7}})", K::kBadJson},
      {R"({"header":"x"})", K::kBadJson},
      {std::string(100, '['), K::kBadEnvelope},
      {"{" + std::string(100, '['), K::kBadJson},
      {"0|H0STCNT0|001", K::kBadEnvelope},
      {"hello", K::kBadEnvelope},
      {"2|H0STCNT0|001|" + one, K::kBadEnvelope},
      {"1|H0STCNI0|001|c2VjcmV0", K::kEncrypted},
      {"0|H0STCNT0||" + one, K::kBadEnvelope},
      {"0|H0STCNT0|000|" + one, K::kBadEnvelope},
      {"0|H0STCNT0|-01|" + one, K::kBadEnvelope},
      {"0|H0STCNT0|0x1|" + one, K::kBadEnvelope},
      {"0|H0STCNT0|99999|" + one, K::kBadEnvelope},
      {"0|H0STCNI0|001|" + one, K::kUnknownTr},
      {"0|H0STCNT0|001|", K::kFieldCount},
      {"0|H0STCNT0|001|" + Trade("005930", "100501", "71500", 45), K::kFieldCount},
      // Two records' worth but not divisible into two (93 fields).
      {"0|H0STCNT0|002|" + one + "^" + Trade("005930", "100501", "71500", 47), K::kFieldCount},
      {"0|H0STCNT0|002|" + one, K::kFieldCount},
      {"0|H0STCNT0|001|" + Trade("005930", "100501", "71,500"), K::kBadValue},
      {"0|H0STCNT0|001|" + Trade("005930", "100501", "+"), K::kBadValue},
      {"0|H0STCNT0|001|" + Trade("005930", "100501", "99999999999999999999"), K::kBadValue},
      {"0|H0STASP0|001|" + Record(59, {{5, "abc"}}), K::kBadValue},
  };
  for (const auto& c : cases) {
    const auto frame = Parse(c.text);
    ASSERT_TRUE(std::holds_alternative<RealtimeError>(frame)) << c.text;
    const auto& e = std::get<RealtimeError>(frame);
    EXPECT_EQ(Name(e.kind), Name(c.kind)) << c.text << ": " << e.message;
    EXPECT_FALSE(e.message.empty());
  }
}

// A record must name a stock and a moment: 46 empty fields are not a trade of code "" (they were
// stored as one), nor is a code of another shape or a time that is not HHMMSS.
TEST(RealtimeWire, RecordsWithoutACodeOrTimeAreBadValues) {
  using K = RealtimeError::Kind;
  const std::string cases[] = {
      "0|H0STCNT0|001|" + std::string(45, '^'),
      "0|H0STCNT0|001|" + Trade("", "100501", "71500"),
      "0|H0STCNT0|001|" + Trade("05930", "100501", "71500"),
      "0|H0STCNT0|001|" + Trade("005930", "", "71500"),
      "0|H0STCNT0|001|" + Trade("005930", "1005", "71500"),
      "0|H0STASP0|001|" + std::string(58, '^'),
  };
  for (const auto& text : cases) {
    const auto frame = Parse(text);
    ASSERT_TRUE(std::holds_alternative<RealtimeError>(frame)) << text;
    EXPECT_EQ(Name(std::get<RealtimeError>(frame).kind), Name(K::kBadValue)) << text;
  }
  EXPECT_TRUE(std::holds_alternative<RealtimeData>(
      Parse("0|H0STCNT0|001|" + Trade("005930", "100501", "71500"))));
}

TEST(RealtimeWire, ErrorMessagesNameTheProblem) {
  const auto frame = Parse("0|H0STCNT0|002|" + Trade("005930", "100501", "71500"));
  EXPECT_EQ(std::get<RealtimeError>(frame).message,
            "H0STCNT0: 46 fields are not 2 records of 46 fields");
  const auto bad = Parse("0|H0STCNT0|001|" + Trade("005930", "100501", "x1"));
  EXPECT_EQ(std::get<RealtimeError>(bad).message,
            "H0STCNT0 record 1 field 3 = \"x1\" is not an integer");
}

}  // namespace
}  // namespace kisgate::kis

#include "kis/realtime_wire.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/stock_code.hpp"

namespace kisgate::kis {

namespace json = boost::json;

namespace {

// Field positions in the layouts (the `columns` lists of KIS's official examples, 0-based).
// Trades: H0STCNT0 (46 fields) and H0STOUP0 (43) share the first 34 positions.
namespace trade {
constexpr std::size_t kCode = 0, kTime = 1, kPrice = 2, kSign = 3, kChange = 4, kChangePct = 5,
                      kVwap = 6, kOpen = 7, kHigh = 8, kLow = 9, kAsk1 = 10, kBid1 = 11,
                      kVolume = 12, kCumVolume = 13, kCumValue = 14, kDate = 33;
}  // namespace trade

// Books: H0STASP0 has 10 levels (59 fields), H0STOAA0 9 (54); after the levels the same totals.
struct BookLayout {
  std::size_t levels;
  // Positions after the four blocks of `levels` (ask prices, bid prices, ask and bid quantities).
  std::size_t total_ask;        // TOTAL_ASKP_RSQN; TOTAL_BIDP_RSQN follows
  std::size_t expected_price;   // ANTC_CNPR
  std::size_t expected_volume;  // ANTC_VOL
  std::size_t cum_volume;       // ACML_VOL
};
// 3 + 4 x 10 = 43: TOTAL_ASKP_RSQN, TOTAL_BIDP_RSQN, OVTM x2, ANTC_CNPR 47, ANTC_CNQN, ANTC_VOL 49,
// ANTC_CNTG_VRSS, its sign, ANTC_CNTG_PRDY_CTRT, ACML_VOL 53.
constexpr BookLayout kKrxBook{10, 43, 47, 49, 53};
constexpr BookLayout kOvertimeBook{9, 39, 43, 45, 49};

struct Layout {
  std::string_view tr_id;
  std::size_t fields;
};
constexpr std::array<Layout, 4> kLayouts{
    {{kTradesTr, 46}, {kBookTr, 59}, {kOvertimeTradesTr, 43}, {kOvertimeBookTr, 54}}};

// A number field failed to parse: the frame is an error (caught in ParseData).
struct BadValue {
  std::string message;
};

class Fields {
 public:
  Fields(std::span<const std::string_view> f, std::string_view tr_id, std::size_t record)
      : f_(f), tr_id_(tr_id), record_(record) {}

  std::string_view Str(std::size_t i) const { return f_[i]; }

  // A stock code (six digits or capital letters): a record of another shape names no stock.
  std::string_view Code(std::size_t i) const {
    if (!common::IsStockCode(f_[i])) Fail(i, "a stock code");
    return f_[i];
  }

  // Exactly `n` digits (a date YYYYMMDD, a time HHMMSS).
  std::string_view Digits(std::size_t i, std::size_t n) const {
    const auto s = f_[i];
    if (s.size() != n ||
        !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      Fail(i, n == 8 ? "a date (YYYYMMDD)" : "a time (HHMMSS)");
    }
    return s;
  }

  std::int64_t Int(std::size_t i) const {
    std::string_view s = f_[i];
    if (s.empty()) return 0;
    const char* begin = s.data();
    const char* end = s.data() + s.size();
    if (*begin == '+') ++begin;
    std::int64_t value = 0;
    auto [stop, ec] = std::from_chars(begin, end, value);
    // "123.00": an integer written with an all-zero fraction.
    if (ec == std::errc{} && stop != end && *stop == '.') {
      const char* p = stop + 1;
      while (p != end && *p == '0') ++p;
      if (p == end) return value;
    }
    if (ec != std::errc{} || stop != end || begin == end) Fail(i, "an integer");
    return value;
  }

  double Real(std::size_t i) const {
    std::string_view s = f_[i];
    if (s.empty()) return 0;
    const char* begin = s.data();
    const char* end = s.data() + s.size();
    if (*begin == '+') ++begin;
    double value = 0;
    auto [stop, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc{} || stop != end || begin == end) Fail(i, "a number");
    return value;
  }

  Sign SignAt(std::size_t i) const {
    const auto v = Int(i);
    return v >= 1 && v <= 5 ? static_cast<Sign>(v) : Sign::kUnknown;
  }

 private:
  [[noreturn]] void Fail(std::size_t i, std::string_view what) const {
    throw BadValue{fmt::format("{} record {} field {} = \"{}\" is not {}", tr_id_, record_ + 1,
                               i + 1, f_[i].substr(0, 32), what)};
  }

  std::span<const std::string_view> f_;
  std::string_view tr_id_;
  std::size_t record_;
};

Tick TickOf(const Fields& f, bool after_hours, common::WallTime received_at) {
  using namespace trade;
  Tick t;
  t.code = std::string(f.Code(kCode));
  t.date = std::string(f.Digits(kDate, 8));
  t.time = std::string(f.Digits(kTime, 6));
  t.after_hours = after_hours;
  t.price = f.Int(kPrice);
  t.sign = f.SignAt(kSign);
  t.change = f.Int(kChange);
  t.change_pct = f.Real(kChangePct);
  t.vwap = f.Real(kVwap);
  t.open = f.Int(kOpen);
  t.high = f.Int(kHigh);
  t.low = f.Int(kLow);
  t.best_ask = f.Int(kAsk1);
  t.best_bid = f.Int(kBid1);
  t.volume = f.Int(kVolume);
  t.cum_volume = f.Int(kCumVolume);
  t.cum_value = f.Int(kCumValue);
  t.received_at = received_at;
  return t;
}

BookSnapshot BookOf(const Fields& f, const BookLayout& layout, bool after_hours,
                    std::string_view trading_day, common::WallTime received_at) {
  BookSnapshot b;
  b.code = std::string(f.Code(0));
  b.date = std::string(trading_day);
  b.time = std::string(f.Digits(1, 6));
  b.after_hours = after_hours;
  const std::size_t n = layout.levels;
  for (std::size_t i = 0; i < n; ++i) {
    b.asks[i].price = f.Int(3 + i);
    b.bids[i].price = f.Int(3 + n + i);
    b.asks[i].quantity = f.Int(3 + 2 * n + i);
    b.bids[i].quantity = f.Int(3 + 3 * n + i);
  }
  b.total_ask_quantity = f.Int(layout.total_ask);
  b.total_bid_quantity = f.Int(layout.total_ask + 1);
  b.expected_price = f.Int(layout.expected_price);
  b.expected_volume = f.Int(layout.expected_volume);
  b.cum_volume = f.Int(layout.cum_volume);
  b.received_at = received_at;
  return b;
}

RealtimeError Error(RealtimeError::Kind kind, std::string message) {
  return RealtimeError{kind, std::move(message)};
}

// At most this many characters of a bad frame go into a message.
std::string_view Excerpt(std::string_view s) { return s.substr(0, 40); }

std::string_view StringAt(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

RealtimeFrame ParseJson(std::string_view text) {
  json::parse_options options;
  options.max_depth = 8;  // an ack is three levels deep
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec || !v.is_object()) {
    return Error(RealtimeError::Kind::kBadJson,
                 fmt::format("a JSON frame that does not parse: \"{}\"", Excerpt(text)));
  }
  const auto* header = v.get_object().if_contains("header");
  if (header == nullptr || !header->is_object() ||
      header->get_object().if_contains("tr_id") == nullptr ||
      !header->get_object().at("tr_id").is_string()) {
    return Error(RealtimeError::Kind::kBadJson,
                 fmt::format("a JSON frame without header.tr_id: \"{}\"", Excerpt(text)));
  }
  const auto& h = header->get_object();
  const std::string_view tr_id = h.at("tr_id").get_string();
  if (tr_id == kPingPongTr) return PingPong{std::string(text)};
  RealtimeAck ack;
  ack.tr_id = std::string(tr_id);
  ack.tr_key = std::string(StringAt(h, "tr_key"));
  const auto* body = v.get_object().if_contains("body");
  if (body != nullptr && body->is_object()) {
    const auto& b = body->get_object();
    ack.rt_cd = std::string(StringAt(b, "rt_cd"));
    ack.msg_cd = std::string(StringAt(b, "msg_cd"));
    ack.msg1 = std::string(StringAt(b, "msg1"));
  }
  ack.ok = ack.rt_cd == "0";
  return ack;
}

RealtimeFrame ParseData(std::string_view text, common::WallTime received_at,
                        std::string_view trading_day) {
  // enc|TR|NNN|payload
  std::array<std::string_view, 3> part;
  std::string_view rest = text;
  for (auto& p : part) {
    const auto bar = rest.find('|');
    if (bar == std::string_view::npos) {
      return Error(RealtimeError::Kind::kBadEnvelope,
                   fmt::format("not enc|TR|NNN|payload: \"{}\"", Excerpt(text)));
    }
    p = rest.substr(0, bar);
    rest.remove_prefix(bar + 1);
  }
  const std::string_view enc = part[0];
  const std::string_view tr_id = part[1];
  const std::string_view count_text = part[2];
  if (enc == "1") {
    return Error(RealtimeError::Kind::kEncrypted,
                 fmt::format("an encrypted frame of {} (unsupported)", Excerpt(tr_id)));
  }
  if (enc != "0") {
    return Error(RealtimeError::Kind::kBadEnvelope,
                 fmt::format("encryption flag \"{}\" is neither 0 nor 1", Excerpt(enc)));
  }
  std::size_t count = 0;
  {
    const char* end = count_text.data() + count_text.size();
    auto [stop, ec] = std::from_chars(count_text.data(), end, count);
    if (count_text.empty() || count_text.size() > 4 || ec != std::errc{} || stop != end ||
        count == 0) {
      return Error(RealtimeError::Kind::kBadEnvelope,
                   fmt::format("{}: record count \"{}\" is not a positive number", Excerpt(tr_id),
                               Excerpt(count_text)));
    }
  }
  const std::size_t layout = RealtimeFieldCount(tr_id);
  if (layout == 0) {
    return Error(RealtimeError::Kind::kUnknownTr,
                 fmt::format("a data frame of {}, a TR kisgate does not read", Excerpt(tr_id)));
  }
  std::vector<std::string_view> fields;
  fields.reserve(std::min(count * layout, rest.size() + 1));
  for (std::size_t from = 0;;) {
    const auto caret = rest.find('^', from);
    if (caret == std::string_view::npos) {
      fields.push_back(rest.substr(from));
      break;
    }
    fields.push_back(rest.substr(from, caret - from));
    from = caret + 1;
  }
  // N x F exactly, or N records of more than F (KIS appended fields: read the first F of each).
  if (fields.size() % count != 0 || fields.size() / count < layout) {
    return Error(RealtimeError::Kind::kFieldCount,
                 fmt::format("{}: {} fields are not {} records of {} fields", tr_id, fields.size(),
                             count, layout));
  }
  RealtimeData data;
  data.tr_id = std::string(tr_id);
  data.records = count;
  data.fields_per_record = fields.size() / count;
  const bool after_hours = tr_id == kOvertimeTradesTr || tr_id == kOvertimeBookTr;
  const bool trades = tr_id == kTradesTr || tr_id == kOvertimeTradesTr;
  try {
    for (std::size_t r = 0; r < count; ++r) {
      const Fields f(
          std::span<const std::string_view>(fields).subspan(r * data.fields_per_record, layout),
          tr_id, r);
      if (trades) {
        data.ticks.push_back(TickOf(f, after_hours, received_at));
      } else {
        data.books.push_back(BookOf(f, after_hours ? kOvertimeBook : kKrxBook, after_hours,
                                    trading_day, received_at));
      }
    }
  } catch (const BadValue& bad) {
    return Error(RealtimeError::Kind::kBadValue, bad.message);
  }
  return data;
}

}  // namespace

std::size_t RealtimeFieldCount(std::string_view tr_id) {
  for (const auto& layout : kLayouts) {
    if (layout.tr_id == tr_id) return layout.fields;
  }
  return 0;
}

std::string ApprovalBody(const Credentials& credentials) {
  return json::serialize(json::object{{"grant_type", "client_credentials"},
                                      {"appkey", credentials.app_key},
                                      {"secretkey", credentials.app_secret}});
}

std::variant<std::string, Classification> ParseApprovalKey(std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto key = StringAt(v.get_object(), "approval_key");
    if (!key.empty()) return std::string(key);
  }
  return Classification::Own(common::Errc::kMalformedReply, Action::kFail,
                             "an /oauth2/Approval reply without approval_key",
                             "the upstream is not speaking the KIS wire format");
}

std::string SubscriptionFrame(std::string_view approval_key, std::string_view tr_id,
                              std::string_view tr_key, bool subscribe) {
  json::object header;
  header["approval_key"] = approval_key;
  header["custtype"] = "P";
  header["tr_type"] = subscribe ? "1" : "2";
  header["content-type"] = "utf-8";
  json::object input;
  input["tr_id"] = tr_id;
  input["tr_key"] = tr_key;
  json::object body;
  body["input"] = std::move(input);
  json::object frame;
  frame["header"] = std::move(header);
  frame["body"] = std::move(body);
  return json::serialize(frame);
}

std::string_view Name(RealtimeError::Kind kind) {
  switch (kind) {
    case RealtimeError::Kind::kEmpty:
      return "empty";
    case RealtimeError::Kind::kBadJson:
      return "bad_json";
    case RealtimeError::Kind::kBadEnvelope:
      return "bad_envelope";
    case RealtimeError::Kind::kEncrypted:
      return "encrypted";
    case RealtimeError::Kind::kUnknownTr:
      return "unknown_tr";
    case RealtimeError::Kind::kFieldCount:
      return "field_count";
    case RealtimeError::Kind::kBadValue:
      return "bad_value";
  }
  return "bad_envelope";
}

RealtimeFrame ParseRealtimeFrame(std::string_view text, common::WallTime received_at,
                                 std::string_view trading_day) {
  if (text.empty()) return Error(RealtimeError::Kind::kEmpty, "an empty frame");
  if (text.front() == '{') return ParseJson(text);
  return ParseData(text, received_at, trading_day);
}

}  // namespace kisgate::kis

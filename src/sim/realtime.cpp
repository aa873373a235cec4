#include "sim/realtime.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "common/kst.hpp"
#include "kis/realtime.hpp"
#include "sim/kis_text.hpp"
#include "sim/market_clock.hpp"
#include "sim/universe.hpp"

namespace kisgate::sim {

namespace json = boost::json;
using namespace std::chrono;

namespace {

// A poll that finds more unsent seconds than this (a client subscribed long ago at a high
// --speed, or a stalled timer) sends only the latest ones: a backlog is what a slow client gets
// cut for, not what the simulator should build up itself.
constexpr int kMaxBacklogSeconds = 600;
// KIS bunches several records into one frame when trades come close together; a frame never
// carries more than this many (NNN is three digits).
constexpr std::size_t kMaxRecordsPerFrame = 50;

// The acks KIS sends (kis-api.md §8). rt_cd: "0" success; "9" for OPSP8996 as KIS sends it; the
// other refusals "1" (the simulator's choice: KIS's documentation does not say, and clients only
// test rt_cd == "0").
struct AckInfo {
  std::string_view msg_cd;
  std::string_view rt_cd;
  std::string_view msg1;
};
constexpr auto kAcks = std::to_array<AckInfo>({
    {"OPSP0000", "0", "SUBSCRIBE SUCCESS"},
    {"OPSP0001", "0", "UNSUBSCRIBE SUCCESS"},
    {"OPSP0002", "1", "ALREADY IN SUBSCRIBE"},
    {"OPSP0003", "1", "UNSUBSCRIBE ERROR(not found!)"},
    {"OPSP0008", "1", "MAX SUBSCRIBE OVER"},
    {"OPSP0011", "1", "invalid approval : NOT FOUND"},
    {"OPSP8991", "1", "invalid tr_id"},
    {"OPSP8992", "1", "invalid tr_key"},
    {"OPSP8996", "9", "ALREADY IN USE appkey"},
    {"OPSP9997", "1", "invalid tr_type"},
    {"OPSP9999", "1", "JSON PARSING ERROR : invalid json format"},
});

const AckInfo& AckFor(std::string_view msg_cd) {
  for (const auto& a : kAcks) {
    if (a.msg_cd == msg_cd) return a;
  }
  return kAcks.back();
}

bool KnownTr(std::string_view tr_id) {
  return tr_id == kis::kTradesTr || tr_id == kis::kBookTr || tr_id == kis::kOvertimeTradesTr ||
         tr_id == kis::kOvertimeBookTr;
}

std::string_view StringAt(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

const json::object* ObjectAt(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

std::string RandomText(std::mt19937_64& rng, std::size_t n) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(kAlphabet[pick(rng)]);
  return s;
}

// KIS's sign of a change against the previous close: 1 upper limit, 2 up, 3 flat, 4 lower limit,
// 5 down.
char SignOf(std::int64_t price, std::int64_t base, std::int64_t upper, std::int64_t lower) {
  if (price >= upper && upper > 0) return '1';
  if (price <= lower && lower > 0) return '4';
  if (price > base) return '2';
  if (price < base) return '5';
  return '3';
}

double Ratio(std::int64_t a, std::int64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

std::string Hms(int hhmmss) { return fmt::format("{:06d}", hhmmss); }

int HhmmssOf(int seconds_after_nine) {
  const int t = 9 * 3600 + seconds_after_nine;
  return (t / 3600) * 10000 + (t / 60 % 60) * 100 + t % 60;
}

// Joins fields with '^' (KIS's field separator; records follow each other with no separator).
void Append(std::string& record, const std::string& field) {
  if (!record.empty()) record.push_back('^');
  record += field;
}

// One trade record: the 46 fields of H0STCNT0, or the first 43 (H0STOUP0, whose 22nd field is
// named cntg_cls_code but carries the same buy/sell code).
struct TradeRecord {
  const StockInfo* stock = nullptr;
  Date date;
  int hhmmss = 0;
  std::int64_t price = 0, volume = 0, cum_volume = 0, cum_value = 0;
  std::int64_t open = 0, high = 0, low = 0;
  std::int64_t prev_close = 0, upper = 0, lower = 0, prev_volume = 0;
  int high_hour = 0, low_hour = 0;
  bool buy = true;
  std::int64_t buys = 0, sells = 0, buy_volume = 0, sell_volume = 0;
  std::int64_t ask_qty = 0, bid_qty = 0, total_ask = 0, total_bid = 0;
  double session_fraction = 1;  // of the day's session so far, for the previous-day comparison
};

std::string FormatTrade(const TradeRecord& t, std::size_t fields) {
  const auto tick = TickSize(t.price);
  const auto change = t.price - t.prev_close;
  auto vs = [&](std::int64_t ref) { return std::string(1, SignOf(t.price, ref, 0, 0)); };
  const auto prev_same_time = static_cast<std::int64_t>(
      std::llround(static_cast<double>(t.prev_volume) * t.session_fraction));
  std::string r;
  r.reserve(320);
  Append(r, t.stock->code);                                                    // MKSC_SHRN_ISCD
  Append(r, Hms(t.hhmmss));                                                    // STCK_CNTG_HOUR
  Append(r, std::to_string(t.price));                                          // STCK_PRPR
  Append(r, std::string(1, SignOf(t.price, t.prev_close, t.upper, t.lower)));  // PRDY_VRSS_SIGN
  Append(r, std::to_string(change));                                           // PRDY_VRSS
  Append(r, Pct(100 * Ratio(change, t.prev_close)));                           // PRDY_CTRT
  Append(r, Pct(Ratio(t.cum_value, t.cum_volume)));                            // WGHN_AVRG_STCK_PRC
  Append(r, std::to_string(t.open));                                           // STCK_OPRC
  Append(r, std::to_string(t.high));                                           // STCK_HGPR
  Append(r, std::to_string(t.low));                                            // STCK_LWPR
  Append(r, std::to_string(t.price + tick));                                   // ASKP1
  Append(r, std::to_string(t.price));                                          // BIDP1
  Append(r, std::to_string(t.volume));                                         // CNTG_VOL
  Append(r, std::to_string(t.cum_volume));                                     // ACML_VOL
  Append(r, std::to_string(t.cum_value));                                      // ACML_TR_PBMN
  Append(r, std::to_string(t.sells));                                          // SELN_CNTG_CSNU
  Append(r, std::to_string(t.buys));                                           // SHNU_CNTG_CSNU
  Append(r, std::to_string(t.buys - t.sells));                                 // NTBY_CNTG_CSNU
  Append(r, Pct(100 * Ratio(t.buy_volume, std::max<std::int64_t>(1, t.sell_volume))));  // CTTR
  Append(r, std::to_string(t.sell_volume));  // SELN_CNTG_SMTN
  Append(r, std::to_string(t.buy_volume));   // SHNU_CNTG_SMTN
  Append(r, t.buy ? "1" : "5");              // CCLD_DVSN: 1 buy, 5 sell
  Append(r, Pct(100 * Ratio(t.buy_volume, t.buy_volume + t.sell_volume)));  // SHNU_RATE
  Append(r, Pct(100 * Ratio(t.cum_volume, t.prev_volume)));           // PRDY_VOL_VRSS_ACML_VOL_RATE
  Append(r, "090000");                                                // OPRC_HOUR
  Append(r, vs(t.open));                                              // OPRC_VRSS_PRPR_SIGN
  Append(r, std::to_string(t.price - t.open));                        // OPRC_VRSS_PRPR
  Append(r, Hms(t.high_hour));                                        // HGPR_HOUR
  Append(r, vs(t.high));                                              // HGPR_VRSS_PRPR_SIGN
  Append(r, std::to_string(t.price - t.high));                        // HGPR_VRSS_PRPR
  Append(r, Hms(t.low_hour));                                         // LWPR_HOUR
  Append(r, vs(t.low));                                               // LWPR_VRSS_PRPR_SIGN
  Append(r, std::to_string(t.price - t.low));                         // LWPR_VRSS_PRPR
  Append(r, common::FormatYmd(t.date));                               // BSOP_DATE
  Append(r, "20");                                                    // NEW_MKOP_CLS_CODE
  Append(r, "N");                                                     // TRHT_YN
  Append(r, std::to_string(t.ask_qty));                               // ASKP_RSQN1
  Append(r, std::to_string(t.bid_qty));                               // BIDP_RSQN1
  Append(r, std::to_string(t.total_ask));                             // TOTAL_ASKP_RSQN
  Append(r, std::to_string(t.total_bid));                             // TOTAL_BIDP_RSQN
  Append(r, Pct(100 * Ratio(t.cum_volume, t.stock->listed_shares)));  // VOL_TNRT
  Append(r, std::to_string(prev_same_time));                          // PRDY_SMNS_HOUR_ACML_VOL
  Append(r, Pct(100 * Ratio(t.cum_volume, prev_same_time)));  // PRDY_SMNS_HOUR_ACML_VOL_RATE
  if (fields == kTradeFields) {
    Append(r, "0");  // HOUR_CLS_CODE
    Append(r, "0");  // MRKT_TRTM_CLS_CODE
    Append(r, "0");  // VI_STND_PRC
  }
  return r;
}

// One order-book record: H0STASP0 (10 levels, 59 fields) or H0STOAA0 (9 levels, 54 fields).
struct BookRecord {
  const StockInfo* stock = nullptr;
  int hhmmss = 0;
  std::size_t levels = 10;
  std::string hour_class;
  std::array<std::int64_t, 10> ask{}, bid{}, ask_qty{}, bid_qty{};
  std::int64_t total_ask = 0, total_bid = 0;
  std::int64_t expected_price = 0, expected_qty = 0, cum_volume = 0, prev_close = 0;
};

std::string FormatBook(const BookRecord& b) {
  std::string r;
  r.reserve(512);
  Append(r, b.stock->code);  // MKSC_SHRN_ISCD
  Append(r, Hms(b.hhmmss));  // BSOP_HOUR
  Append(r, b.hour_class);   // HOUR_CLS_CODE
  for (const auto* side : {&b.ask, &b.bid, &b.ask_qty, &b.bid_qty}) {
    for (std::size_t i = 0; i < b.levels; ++i) Append(r, std::to_string((*side)[i]));
  }
  Append(r, std::to_string(b.total_ask));  // TOTAL_ASKP_RSQN
  Append(r, std::to_string(b.total_bid));  // TOTAL_BIDP_RSQN
  Append(r, "0");                          // OVTM_TOTAL_ASKP_RSQN
  Append(r, "0");                          // OVTM_TOTAL_BIDP_RSQN
  const auto expected_change = b.expected_price - b.prev_close;
  Append(r, std::to_string(b.expected_price));                              // ANTC_CNPR
  Append(r, std::to_string(b.expected_qty));                                // ANTC_CNQN
  Append(r, std::to_string(b.expected_qty));                                // ANTC_VOL
  Append(r, std::to_string(expected_change));                               // ANTC_CNTG_VRSS
  Append(r, std::string(1, SignOf(b.expected_price, b.prev_close, 0, 0)));  // ANTC_CNTG_VRSS_SIGN
  Append(r, Pct(100 * Ratio(expected_change, b.prev_close)));               // ANTC_CNTG_PRDY_CTRT
  Append(r, std::to_string(b.cum_volume));                                  // ACML_VOL
  for (int i = 0; i < 4; ++i) Append(r, "0");  // TOTAL_*_ICDC, OVTM_TOTAL_*_ICDC
  if (b.levels == 10) Append(r, "0");          // STCK_DEAL_CLS_CODE
  return r;
}

}  // namespace

std::string_view Name(WsCloseReason reason) {
  switch (reason) {
    case WsCloseReason::kClient:
      return "client";
    case WsCloseReason::kPingMissed:
      return "ping_missed";
    case WsCloseReason::kFaultDrop:
      return "fault_drop";
    case WsCloseReason::kSlowClient:
      return "slow_client";
    case WsCloseReason::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

Realtime::Realtime(WsOptions options, const MarketModel& market, const Universe& universe,
                   const common::MarketCalendar& calendar, const MarketClock& market_clock,
                   const common::Clock& clock, ApprovalOwnerFn approval_owner, std::uint64_t seed)
    : options_(std::move(options)),
      market_(market),
      universe_(universe),
      calendar_(calendar),
      market_clock_(market_clock),
      clock_(clock),
      approval_owner_(std::move(approval_owner)),
      rng_(seed ^ 0x7773ULL) {}

std::uint64_t Realtime::Open() {
  std::lock_guard lock(mutex_);
  const auto id = next_id_++;
  Session& s = sessions_[id];
  s.next_ping = clock_.Now() + options_.ping_interval;
  s.iv = RandomText(rng_, 16);
  s.key = RandomText(rng_, 32);
  stats_.sessions_opened++;
  stats_.sessions_active++;
  return id;
}

std::string Realtime::Ack(std::string_view tr_id, std::string_view tr_key, std::string_view msg_cd,
                          const Session* session) {
  const AckInfo& a = AckFor(msg_cd);
  stats_.acks[std::string(a.msg_cd)]++;
  json::object header;
  header["tr_id"] = tr_id;
  header["tr_key"] = tr_key;  // always there: the official client reads it from every ack
  header["encrypt"] = "N";
  json::object body;
  body["rt_cd"] = a.rt_cd;
  body["msg_cd"] = a.msg_cd;
  body["msg1"] = a.msg1;
  if (a.msg_cd == "OPSP0000" && session != nullptr) {
    body["output"] = json::object{{"iv", session->iv}, {"key", session->key}};
  }
  return json::serialize(json::object{{"header", std::move(header)}, {"body", std::move(body)}});
}

std::vector<std::string> Realtime::OnText(std::uint64_t id, std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  const json::object* root = !ec && v.is_object() ? &v.get_object() : nullptr;
  const json::object* header = root != nullptr ? ObjectAt(*root, "header") : nullptr;
  // Looked up before taking the lock: the owner lives behind the simulator's lock.
  std::optional<std::string> owner;
  if (header != nullptr) {
    std::string approval(StringAt(*header, "approval_key"));
    if (!approval.empty()) owner = approval_owner_(approval);
  }

  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  auto it = sessions_.find(id);
  if (it == sessions_.end() || !it->second.open) return out;
  Session& session = it->second;
  if (header == nullptr) {
    out.push_back(Ack("", "", "OPSP9999", nullptr));
    return out;
  }
  // A PINGPONG echoed back as text answers the heartbeat.
  if (StringAt(*header, "tr_id") == kis::kPingPongTr) {
    if (session.unanswered > 0) stats_.pings_answered_text++;
    session.unanswered = 0;
    return out;
  }
  const json::object* body = ObjectAt(*root, "body");
  const json::object* input = body != nullptr ? ObjectAt(*body, "input") : nullptr;
  if (input == nullptr) {
    out.push_back(Ack("", "", "OPSP9999", nullptr));
    return out;
  }
  const std::string tr_id(StringAt(*input, "tr_id"));
  const std::string tr_key(StringAt(*input, "tr_key"));
  auto reply = [&](std::string_view code) {
    out.push_back(Ack(tr_id, tr_key, code, &session));
    return out;
  };
  if (!owner) return reply("OPSP0011");
  const std::string_view tr_type = StringAt(*header, "tr_type");
  if (tr_type != "1" && tr_type != "2") return reply("OPSP9997");
  if (!KnownTr(tr_id)) return reply("OPSP8991");
  const StockInfo* stock = universe_.Find(tr_key);
  if (stock == nullptr) return reply("OPSP8992");

  // One session per app key: the first subscribe claims it; anyone else is refused while it is
  // held and for --ws-hold-s after the holder ends.
  const auto now = clock_.Now();
  if (session.app_key.empty()) {
    KeyHold& hold = holds_[*owner];
    if (hold.holder || now < hold.free_at) return reply("OPSP8996");
    hold.holder = id;
    session.app_key = *owner;
  } else if (session.app_key != *owner) {
    // A session speaks for one key; another key's approval key cannot ride on it.
    return reply("OPSP8996");
  }

  auto sub = std::find_if(session.subs.begin(), session.subs.end(),
                          [&](const Sub& s) { return s.tr_id == tr_id && s.code == tr_key; });
  if (tr_type == "1") {
    if (sub != session.subs.end()) return reply("OPSP0002");
    if (session.subs.size() >= options_.max_subs) return reply("OPSP0008");
    Sub added;
    added.tr_id = tr_id;
    added.code = tr_key;
    added.stock = stock;
    session.subs.push_back(std::move(added));
    stats_.subscriptions_active++;
    return reply("OPSP0000");
  }
  if (sub == session.subs.end()) return reply("OPSP0003");
  session.subs.erase(sub);
  stats_.subscriptions_active--;
  return reply("OPSP0001");
}

void Realtime::OnPong(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || options_.strict_pingpong) return;
  if (it->second.unanswered > 0) stats_.pings_answered_pong++;
  it->second.unanswered = 0;
}

void Realtime::CloseLocked(std::uint64_t id, Session& session, WsCloseReason reason) {
  if (!session.open) return;
  session.open = false;
  stats_.sessions_active--;
  stats_.subscriptions_active -= session.subs.size();
  stats_.closes[std::string(Name(reason))]++;
  if (!session.app_key.empty()) {
    KeyHold& hold = holds_[session.app_key];
    if (hold.holder == id) {
      hold.holder.reset();
      hold.free_at = clock_.Now() + options_.hold;
    }
  }
}

void Realtime::Closed(std::uint64_t id, WsCloseReason reason) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  CloseLocked(id, it->second, reason);
  sessions_.erase(it);
}

void Realtime::Emit(std::uint64_t id, std::string_view tr_id,
                    const std::vector<std::string>& records, std::vector<WsOutgoing>& out) {
  for (std::size_t i = 0; i < records.size(); i += kMaxRecordsPerFrame) {
    const std::size_t n = std::min(kMaxRecordsPerFrame, records.size() - i);
    std::string frame = fmt::format("0|{}|{:03d}|", tr_id, n);
    for (std::size_t j = 0; j < n; ++j) {
      if (j > 0) frame.push_back('^');
      frame += records[i + j];
    }
    out.push_back(WsOutgoing{id, std::move(frame), false, WsCloseReason::kClient});
    stats_.frames_sent++;
    stats_.records_sent += n;
  }
}

void Realtime::DataFor(std::uint64_t id, Session& session, common::WallTime market_now,
                       std::vector<WsOutgoing>& out) {
  const auto k = common::ToKst(market_now);
  if (!calendar_.IsTradingDay(k.date)) return;
  const int since_open = static_cast<int>(k.time_of_day.count()) - 9 * 3600;
  // Seconds of the regular session that are over; -1 before 09:00.
  const int done = since_open < 0 ? -1 : std::min(since_open, kSessionSeconds);
  const int tod = static_cast<int>(k.time_of_day.count());
  const bool after_hours = tod >= 16 * 3600 && tod <= 18 * 3600;
  for (Sub& sub : session.subs) {
    std::vector<std::string> records;
    if (sub.tr_id == kis::kTradesTr) {
      if (done < 0) continue;
      if (sub.day != k.date || sub.next_second < 0) {
        // A new subscription (or a new day) starts with the next second: no backfill.
        sub.day = k.date;
        sub.next_second = done;
        sub.last_price = 0;
        continue;
      }
      sub.next_second = std::max(sub.next_second, done - kMaxBacklogSeconds);
      if (sub.next_second >= done) continue;
      const auto quote = market_.QuoteAt(*sub.stock, market_now);
      const auto book = market_.BookAt(*sub.stock, market_now);
      for (int s = sub.next_second; s < done; ++s) {
        const auto second = market_.StreamTrades(*sub.stock, k.date, s, options_.trades_per_s);
        for (const auto& t : second.trades) {
          const bool buy = t.price >= sub.last_price;
          sub.last_price = t.price;
          (buy ? sub.buys : sub.sells)++;
          (buy ? sub.buy_volume : sub.sell_volume) += t.volume;
          const int hhmmss = HhmmssOf(s);
          if (sub.high == 0 || t.high > sub.high) sub.high_hour = hhmmss;
          if (sub.low == 0 || t.low < sub.low) sub.low_hour = hhmmss;
          sub.high = t.high;
          sub.low = t.low;
          TradeRecord r;
          r.stock = sub.stock;
          r.date = k.date;
          r.hhmmss = hhmmss;
          r.price = t.price;
          r.volume = t.volume;
          r.cum_volume = t.cum_volume;
          r.cum_value = t.cum_value;
          r.open = second.open;
          r.high = t.high;
          r.low = t.low;
          r.prev_close = quote.prev_close;
          r.upper = quote.upper_limit;
          r.lower = quote.lower_limit;
          r.prev_volume = quote.prev_volume;
          r.high_hour = sub.high_hour;
          r.low_hour = sub.low_hour;
          r.buy = buy;
          r.buys = sub.buys;
          r.sells = sub.sells;
          r.buy_volume = sub.buy_volume;
          r.sell_volume = sub.sell_volume;
          r.ask_qty = book.ask_qty[0];
          r.bid_qty = book.bid_qty[0];
          r.total_ask = book.total_ask;
          r.total_bid = book.total_bid;
          r.session_fraction = static_cast<double>(s + 1) / kSessionSeconds;
          records.push_back(FormatTrade(r, kTradeFields));
        }
      }
      sub.next_second = done;
    } else if (sub.tr_id == kis::kBookTr) {
      // One snapshot each time a second of the session has passed: the book of that moment.
      if (done < 0 || (sub.day == k.date && sub.next_second >= done)) continue;
      if (sub.day == k.date && sub.next_second == kSessionSeconds) continue;
      sub.day = k.date;
      sub.next_second = done;
      const auto quote = market_.QuoteAt(*sub.stock, market_now);
      const auto book = market_.BookAt(*sub.stock, market_now);
      BookRecord b;
      b.stock = sub.stock;
      b.hhmmss = HhmmssOf(done);
      b.hour_class = "0";
      b.ask = book.ask_price;
      b.bid = book.bid_price;
      b.ask_qty = book.ask_qty;
      b.bid_qty = book.bid_qty;
      b.total_ask = book.total_ask;
      b.total_bid = book.total_bid;
      b.expected_price = book.expected_price;
      b.expected_qty = book.expected_volume;
      b.cum_volume = quote.volume;
      b.prev_close = quote.prev_close;
      records.push_back(FormatBook(b));
    } else if (after_hours) {
      const auto o = market_.OvertimeAt(*sub.stock, market_now);
      if (o.day != k.date) continue;
      if (sub.tr_id == kis::kOvertimeTradesTr) {
        if (sub.day != k.date) {
          sub.day = k.date;
          sub.last_match = o.last_match_hhmmss;
          sub.overtime_volume = o.volume;
          continue;
        }
        if (o.last_match_hhmmss == sub.last_match || o.volume <= sub.overtime_volume) continue;
        TradeRecord r;
        r.stock = sub.stock;
        r.date = k.date;
        r.hhmmss = o.last_match_hhmmss;
        r.price = o.price;
        r.volume = o.volume - sub.overtime_volume;
        r.cum_volume = o.volume;
        r.cum_value = o.value;
        r.open = o.open;
        r.high = o.high;
        r.low = o.low;
        r.prev_close = o.base;
        r.upper = o.upper_limit;
        r.lower = o.lower_limit;
        r.prev_volume = o.volume;
        r.high_hour = r.low_hour = o.last_match_hhmmss;
        r.buy = o.price >= o.base;
        r.ask_qty = o.ask_qty[0];
        r.bid_qty = o.bid_qty[0];
        records.push_back(FormatTrade(r, kOvertimeTradeFields));
        sub.last_match = o.last_match_hhmmss;
        sub.overtime_volume = o.volume;
      } else {
        // The after-hours book: on subscribing, then every 10 s of market time.
        const int slot = tod / 10;
        if (sub.day == k.date && sub.next_second == slot) continue;
        sub.day = k.date;
        sub.next_second = slot;
        BookRecord b;
        b.stock = sub.stock;
        b.hhmmss = (tod / 3600) * 10000 + (tod / 60 % 60) * 100 + tod % 60;
        b.levels = 9;
        b.hour_class = "A";
        b.ask = o.ask_price;
        b.bid = o.bid_price;
        b.ask_qty = o.ask_qty;
        b.bid_qty = o.bid_qty;
        for (std::size_t i = 0; i < 9; ++i) {
          b.total_ask += o.ask_qty[i];
          b.total_bid += o.bid_qty[i];
        }
        b.expected_price = o.expected_price;
        b.expected_qty = o.expected_qty;
        b.cum_volume = o.volume;
        b.prev_close = o.base;
        records.push_back(FormatBook(b));
      }
    }
    if (!records.empty()) Emit(id, sub.tr_id, records, out);
  }
}

std::vector<WsOutgoing> Realtime::Poll() {
  const auto now = clock_.Now();
  const auto market_now = market_clock_.Now();
  std::lock_guard lock(mutex_);
  std::vector<WsOutgoing> out;
  auto close = [&](std::uint64_t id, Session& s, WsCloseReason reason) {
    CloseLocked(id, s, reason);
    out.push_back(WsOutgoing{id, {}, true, reason});
  };

  if (options_.fault_drop_per_min > 0) {
    // Drops arrive as a Poisson process of --ws-fault-drop per minute over the open sessions.
    std::exponential_distribution<double> gap(options_.fault_drop_per_min / 60.0);
    auto next_gap = [&] { return duration_cast<common::Duration>(duration<double>(gap(rng_))); };
    if (!next_fault_) next_fault_ = now + next_gap();
    while (now >= *next_fault_) {
      std::vector<std::uint64_t> open;
      for (auto& [id, s] : sessions_) {
        if (s.open) open.push_back(id);
      }
      if (!open.empty()) {
        std::uniform_int_distribution<std::size_t> pick(0, open.size() - 1);
        const auto victim = open[pick(rng_)];
        close(victim, sessions_[victim], WsCloseReason::kFaultDrop);
      }
      *next_fault_ += next_gap();
    }
  }

  const std::string ping = fmt::format(R"({{"header":{{"tr_id":"PINGPONG","datetime":"{}"}}}})",
                                       common::FormatCompactKst(clock_.WallNow()));
  for (auto& [id, s] : sessions_) {
    if (!s.open || now < s.next_ping) continue;
    // Closed when the ping after --ws-ping-missed unanswered ones falls due.
    if (s.unanswered >= options_.ping_missed) {
      close(id, s, WsCloseReason::kPingMissed);
      continue;
    }
    out.push_back(WsOutgoing{id, ping, false, WsCloseReason::kClient});
    stats_.pings_sent++;
    s.unanswered++;
    s.next_ping += options_.ping_interval;
    if (s.next_ping <= now) s.next_ping = now + options_.ping_interval;
  }

  for (auto& [id, s] : sessions_) {
    if (s.open && !s.subs.empty()) DataFor(id, s, market_now, out);
  }
  return out;
}

WsStats Realtime::Stats() const {
  std::lock_guard lock(mutex_);
  WsStats s = stats_;
  for (const auto& [id, session] : sessions_) {
    if (session.open) s.pings_unanswered += session.unanswered;
  }
  return s;
}

void Realtime::ResetStats() {
  std::lock_guard lock(mutex_);
  const auto active = stats_.sessions_active;
  const auto subs = stats_.subscriptions_active;
  stats_ = WsStats{};
  stats_.sessions_active = active;
  stats_.subscriptions_active = subs;
}

std::string Realtime::StatsJson() const {
  const WsStats s = Stats();
  json::object o;
  o["sessions_opened"] = s.sessions_opened;
  o["sessions_active"] = s.sessions_active;
  o["subscriptions_active"] = s.subscriptions_active;
  o["frames_sent"] = s.frames_sent;
  o["records_sent"] = s.records_sent;
  o["pings_sent"] = s.pings_sent;
  o["pings_answered_text"] = s.pings_answered_text;
  o["pings_answered_pong"] = s.pings_answered_pong;
  o["pings_unanswered"] = s.pings_unanswered;
  json::object acks;
  for (const auto& [code, n] : s.acks) acks[code] = n;
  o["acks"] = std::move(acks);
  json::object closes;
  for (const auto& [reason, n] : s.closes) closes[reason] = n;
  o["closes"] = std::move(closes);
  return json::serialize(o);
}

}  // namespace kisgate::sim

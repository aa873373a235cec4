#pragma once
// The KIS real-time wire protocol (kis-api.md §8) on kisgate's side: the subscribe/unsubscribe
// frames it sends, and every text frame KIS sends back, parsed into one of: an ack of a
// (un)subscribe, a PINGPONG heartbeat (to echo), a data frame of trades or books (kis::Tick,
// kis::BookSnapshot), or a described parse error. Untrusted bytes never crash or throw here.
//
// Data frames are `<enc>|<TR>|<NNN>|<payload>`, N records of F fields joined by '^' with no record
// separator. The layouts (field order) are the `columns` of ccnl_krx, asking_price_krx,
// overtime_ccnl_krx and overtime_asking_price_krx in KIS's official examples. KIS appends fields to
// layouts from time to time: a payload of N records of more than F fields is read as the first F
// of each; any other count is an error.
//
// Thread-safety: free functions without state.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "kis/errors.hpp"
#include "kis/realtime.hpp"
#include "kis/request.hpp"

namespace kisgate::kis {

// POST /oauth2/Approval (kis-api.md §8): the approval key of one WebSocket connection. The body
// names the secret "secretkey", unlike the token request.
inline constexpr std::string_view kApprovalPath = "/oauth2/Approval";
std::string ApprovalBody(const Credentials& credentials);
// The approval key of a reply that Classify found successful, or a malformed_reply
// Classification when it has none.
std::variant<std::string, Classification> ParseApprovalKey(std::string_view body);

// Fields per record of a real-time TR kisgate reads (46, 59, 43, 54); 0 for any other TR.
std::size_t RealtimeFieldCount(std::string_view tr_id);

// A register (`subscribe` true, tr_type "1") or unregister ("2") frame for (tr_id, tr_key).
std::string SubscriptionFrame(std::string_view approval_key, std::string_view tr_id,
                              std::string_view tr_key, bool subscribe);

// KIS's answer to a (un)subscribe frame. `ok` iff rt_cd == "0".
struct RealtimeAck {
  std::string tr_id;
  std::string tr_key;
  bool ok = false;
  std::string rt_cd;
  std::string msg_cd;  // OPSP0000, OPSP0002, OPSP0008, OPSP8996, ...
  std::string msg1;
};

// The server's heartbeat; the client sends `text` back unchanged, as a text frame.
struct PingPong {
  std::string text;
};

// One data frame: N records of one TR, as trades or as books.
struct RealtimeData {
  std::string tr_id;
  std::vector<Tick> ticks;            // H0STCNT0, H0STOUP0
  std::vector<BookSnapshot> books;    // H0STASP0, H0STOAA0
  std::size_t records = 0;            // N
  std::size_t fields_per_record = 0;  // what arrived: more than the layout's when KIS appended
};

// A frame that is none of the above.
struct RealtimeError {
  enum class Kind : std::uint8_t {
    kEmpty,        // an empty frame
    kBadJson,      // a '{' frame that is not JSON, or lacks header.tr_id
    kBadEnvelope,  // not `enc|TR|NNN|payload`
    kEncrypted,    // enc "1" (AES; KIS encrypts only execution notices): unsupported
    kUnknownTr,    // a data frame of a TR kisgate does not read
    kFieldCount,   // the payload does not divide into N records of at least F fields
    kBadValue,     // a numeric field that is not a number
  };
  Kind kind = Kind::kBadEnvelope;
  std::string message;  // names the TR, the counts or the field
};
std::string_view Name(RealtimeError::Kind kind);  // "empty", "bad_json", ...

using RealtimeFrame = std::variant<RealtimeAck, PingPong, RealtimeData, RealtimeError>;

// Parses one text frame. `received_at` is stamped on every record; `trading_day` (KST YYYYMMDD)
// is the date of book snapshots, whose frames carry none. Ticks get seq 0: ranking trades of the
// same second is the session's (it sees every frame).
RealtimeFrame ParseRealtimeFrame(std::string_view text, common::WallTime received_at,
                                 std::string_view trading_day);

}  // namespace kisgate::kis

#pragma once
// The audit trail of account-bound calls: every order or account call the passthrough sent to KIS
// on a key (issue 23) is one row of the table `audit`, in both back ends, written through the
// store's writer with everything else. A row answers "who sent what, on which key, and what did
// KIS say" and holds no secret: no app secret, token, account password or request body.
//
// The table, newest first:
//   sqlite3 data/kisgate.db "SELECT datetime(at_ms / 1000, 'unixepoch'), method, path, tr_id,
//     key_name, http_status, rt_cd, msg_cd, order_no, client, error FROM audit ORDER BY at_ms DESC"

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "store/record.hpp"

namespace kisgate::store {

struct AuditEntry {
  std::string id;         // the row's key; empty: the store makes a unique one
  common::WallTime at{};  // when the call ended (its reply, or its failure)
  std::string method;
  std::string path;
  std::string tr_id;
  std::string key_name;  // the configured key it went out on
  int http_status = 0;   // 0: no reply came
  std::string rt_cd;     // KIS's envelope, when KIS answered
  std::string msg_cd;
  std::string order_no;  // KIS's order number (output.ODNO), when there is one
  std::string client;    // the client's address (HOST:PORT)
  std::string error;     // kisgate's code when no reply came ("closed_without_response", ...)
};

inline constexpr std::string_view kAuditTable = "audit";

// id, at_ms (milliseconds since the Unix epoch, UTC), then the entry's fields in order.
const std::vector<ColumnSpec>& AuditColumns();
std::vector<Value> AuditRow(const AuditEntry& entry);
AuditEntry AuditFromRow(const std::vector<Value>& row);
// A fresh id: random per process, then a sequence number.
std::string NewAuditId();

// The table and its index on at_ms (a migration of each back end).
std::string AuditTableSql(bool postgres);
// INSERT of one row; a row already stored (a batch written again) is left as it is.
std::string AuditInsertSql(bool postgres);
// The newest rows first; one parameter: how many at most.
std::string AuditSelectSql(bool postgres);

}  // namespace kisgate::store

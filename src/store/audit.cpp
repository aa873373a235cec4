#include "store/audit.hpp"

#include <atomic>
#include <random>

#include <fmt/format.h>

namespace kisgate::store {

namespace {

using T = ColumnSpec;

std::string Text(const std::vector<Value>& row, std::size_t i) {
  const auto* v = i < row.size() ? std::get_if<std::string>(&row[i]) : nullptr;
  return v != nullptr ? *v : std::string();
}

std::int64_t Int(const std::vector<Value>& row, std::size_t i) {
  const auto* v = i < row.size() ? std::get_if<std::int64_t>(&row[i]) : nullptr;
  return v != nullptr ? *v : 0;
}

std::string Names() {
  std::string names;
  for (const auto& c : AuditColumns())
    names += fmt::format("{}{}", names.empty() ? "" : ", ", c.name);
  return names;
}

}  // namespace

const std::vector<ColumnSpec>& AuditColumns() {
  static const std::vector<ColumnSpec> kColumns = {{"id", T::kText},
                                                   {"at_ms", T::kInteger},
                                                   {"method", T::kText},
                                                   {"path", T::kText},
                                                   {"tr_id", T::kText},
                                                   {"key_name", T::kText},
                                                   {"http_status", T::kInteger},
                                                   {"rt_cd", T::kText},
                                                   {"msg_cd", T::kText},
                                                   {"order_no", T::kText},
                                                   {"client", T::kText},
                                                   {"error", T::kText}};
  return kColumns;
}

std::vector<Value> AuditRow(const AuditEntry& e) {
  return {e.id,
          common::UnixMillis(e.at),
          e.method,
          e.path,
          e.tr_id,
          e.key_name,
          std::int64_t{e.http_status},
          e.rt_cd,
          e.msg_cd,
          e.order_no,
          e.client,
          e.error};
}

AuditEntry AuditFromRow(const std::vector<Value>& row) {
  AuditEntry e;
  e.id = Text(row, 0);
  e.at = common::FromUnixMillis(Int(row, 1));
  e.method = Text(row, 2);
  e.path = Text(row, 3);
  e.tr_id = Text(row, 4);
  e.key_name = Text(row, 5);
  e.http_status = static_cast<int>(Int(row, 6));
  e.rt_cd = Text(row, 7);
  e.msg_cd = Text(row, 8);
  e.order_no = Text(row, 9);
  e.client = Text(row, 10);
  e.error = Text(row, 11);
  return e;
}

std::string NewAuditId() {
  static const std::uint64_t process = [] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
  }();
  static std::atomic<std::uint64_t> seq{0};
  return fmt::format("{:016x}-{:012}", process, seq.fetch_add(1));
}

std::string AuditTableSql(bool postgres) {
  std::string columns;
  for (const auto& c : AuditColumns()) {
    const char* type = c.type == T::kInteger ? (postgres ? "BIGINT" : "INTEGER") : "TEXT";
    columns += fmt::format("  {} {} NOT NULL,\n", c.name, type);
  }
  return fmt::format(
      "CREATE TABLE {0} (\n{1}  PRIMARY KEY (id)\n);\n"
      "CREATE INDEX {0}_at ON {0} (at_ms);\n",
      kAuditTable, columns);
}

std::string AuditInsertSql(bool postgres) {
  std::string params;
  for (std::size_t i = 1; i <= AuditColumns().size(); ++i)
    params += fmt::format("{}{}{}", i == 1 ? "" : ", ", postgres ? "$" : "?", i);
  return fmt::format("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING", kAuditTable, Names(),
                     params);
}

std::string AuditSelectSql(bool postgres) {
  return fmt::format("SELECT {} FROM {} ORDER BY at_ms DESC, id DESC LIMIT {}", Names(),
                     kAuditTable, postgres ? "$1" : "?1");
}

}  // namespace kisgate::store

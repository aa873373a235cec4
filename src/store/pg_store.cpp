#include "store/pg_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <limits>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <unordered_map>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "store/audit.hpp"
#include "store/stream_rows.hpp"

namespace kisgate::store {

namespace {

// Any constant: the advisory lock instances starting together take before migrating.
constexpr std::int64_t kMigrationLock = 0x6b69736761746531;  // "kisgate1"
// PostgreSQL takes at most 65535 parameters per statement; stay well below.
constexpr std::size_t kMaxParams = 30000;

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Without parameters the simple protocol, which takes several statements (the migrations).
Result Exec(pg_conn* conn, const std::string& sql, const std::vector<const char*>& params = {}) {
  if (params.empty()) return {PQexec(conn, sql.c_str()), &PQclear};
  return {PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr, params.data(),
                       nullptr, nullptr, 0),
          &PQclear};
}

bool Ok(const Result& r) {
  const auto status = PQresultStatus(r.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// libpq's messages end in a newline and may span lines: one line for logs and counters.
std::string OneLine(const char* message) {
  std::string out = message != nullptr ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

std::string Quoted(std::string_view identifier) { return fmt::format("\"{}\"", identifier); }

std::string PgType(ColumnSpec::Type type) {
  return type == ColumnSpec::kInteger ? "BIGINT"
         : type == ColumnSpec::kReal  ? "DOUBLE PRECISION"
                                      : "TEXT";
}

// Migrations in order; schema_version records how many ran. Never edit one that shipped: add one.
// Version 1 is SQLite's version 2 (collected_at in milliseconds): PostgreSQL never had text times.
std::vector<std::string> PgMigrations() {
  std::string v1;
  for (auto dataset : Datasets()) {
    std::string columns;
    for (const auto& c : *ColumnsOf(dataset))
      columns += fmt::format("  {} {},\n", Quoted(c.name), PgType(c.type));
    // COLLATE "C": market_time and code compare byte-wise, as in SQLite, whatever the locale.
    v1 += fmt::format(
        "CREATE TABLE {} (\n  code TEXT COLLATE \"C\" NOT NULL,\n"
        "  market_time TEXT COLLATE \"C\" NOT NULL,\n"
        "  collected_at BIGINT NOT NULL, -- milliseconds since the Unix epoch (UTC)\n{}"
        "  raw TEXT NOT NULL,\n  PRIMARY KEY (code, market_time)\n);\n",
        Quoted(dataset), columns);
  }
  // 2: the stream's trades and order-book snapshots (store/stream_rows.hpp), narrow typed rows.
  const auto stream_table = [](std::string_view table, const std::vector<ColumnSpec>& specs) {
    std::string columns;
    std::string key;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      columns += fmt::format("  {} {}{} NOT NULL,\n", Quoted(specs[i].name), PgType(specs[i].type),
                             specs[i].type == ColumnSpec::kText ? " COLLATE \"C\"" : "");
      if (i < kStreamKeyColumns)
        key += fmt::format("{}{}", i == 0 ? "" : ", ", Quoted(specs[i].name));
    }
    return fmt::format("CREATE TABLE {} (\n{}  PRIMARY KEY ({})\n);\n", Quoted(table), columns,
                       key);
  };
  const std::string v2 =
      stream_table(kTicksTable, TickColumns()) + stream_table(kBooksTable, BookColumns());
  // 3: the audit trail of account-bound calls (store/audit.hpp).
  const std::string v3 = AuditTableSql(/*postgres=*/true);
  return {v1, v2, v3};
}

std::int64_t ParseInt(const char* text) {
  std::int64_t value = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), value);
  return value;
}

// The connection parameters: the URL as libpq reads it, plus a connect timeout.
struct ConnParams {
  explicit ConnParams(const PgStoreOptions& o)
      : url(o.url), timeout(std::to_string(std::max<std::int64_t>(2, o.connect_timeout.count()))) {}
  const char* const* Keys() const { return keys.data(); }
  const char* const* Values() {
    values = {url.c_str(), timeout.c_str(), "kisgate", nullptr};
    return values.data();
  }
  std::string url;
  std::string timeout;
  std::array<const char*, 4> keys = {"dbname", "connect_timeout", "application_name", nullptr};
  std::array<const char*, 4> values{};
};

pg_conn* Connect(const PgStoreOptions& o) {
  ConnParams params(o);
  pg_conn* conn = PQconnectdbParams(params.Keys(), params.Values(), /*expand_dbname=*/1);
  // The server's notices ("relation already exists, skipping") go to the debug log, not stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char* message) { spdlog::debug("store: {}", OneLine(message)); },
      nullptr);
  return conn;
}

// Runs the pending migrations in one transaction; "" or what failed.
std::string Migrate(pg_conn* conn, const std::string& where) {
  const auto step = [&](const std::string& sql) {
    auto r = Exec(conn, sql);
    return Ok(r) ? std::string() : OneLine(PQresultErrorMessage(r.get()));
  };
  auto error = step("BEGIN");
  if (!error.empty()) return error;
  const auto fail = [&](const std::string& what) {
    Exec(conn, "ROLLBACK");
    return what;
  };
  if (error = step(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLock)); !error.empty())
    return fail(error);
  if (error = step("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                   "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
      !error.empty())
    return fail(error);
  auto applied_result = Exec(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!Ok(applied_result)) return fail(OneLine(PQresultErrorMessage(applied_result.get())));
  const auto applied = ParseInt(PQgetvalue(applied_result.get(), 0, 0));
  const auto migrations = PgMigrations();
  for (auto v = applied; v < static_cast<std::int64_t>(migrations.size()); ++v) {
    if (error = step(migrations[static_cast<std::size_t>(v)]); !error.empty())
      return fail(fmt::format("migration {}: {}", v + 1, error));
    if (error = step(fmt::format("INSERT INTO schema_version (version) VALUES ({})", v + 1));
        !error.empty())
      return fail(error);
    spdlog::info("store: {} at schema version {}", where, v + 1);
  }
  if (error = step("COMMIT"); !error.empty()) return fail(error);
  return {};
}

// One data set's rows of a batch as one INSERT ... ON CONFLICT DO UPDATE.
struct Upsert {
  std::string sql;
  std::vector<std::string> texts;  // parameter values as text; NULLs are marked in `null`
  std::vector<bool> null;
};

Upsert BuildUpsert(std::string_view dataset, const std::vector<const Record*>& rows) {
  const auto& specs = *ColumnsOf(dataset);
  std::string names = "code, market_time, collected_at";
  std::string updates = "collected_at = EXCLUDED.collected_at";
  for (const auto& c : specs) {
    names += fmt::format(", {}", Quoted(c.name));
    updates += fmt::format(", {0} = EXCLUDED.{0}", Quoted(c.name));
  }
  Upsert u;
  std::string values;
  std::size_t n = 0;
  const auto add = [&](std::string text, bool is_null) {
    u.texts.push_back(std::move(text));
    u.null.push_back(is_null);
    return fmt::format("${}", ++n);
  };
  for (const auto* r : rows) {
    std::string tuple = add(r->code, false);
    tuple += ", " + add(r->market_time, false);
    tuple += ", " + add(std::to_string(common::UnixMillis(r->collected_at)), false);
    for (const auto& spec : specs) {
      const auto* v = r->Column(spec.name);
      if (v == nullptr) {
        tuple += ", " + add({}, true);
      } else if (const auto* i = std::get_if<std::int64_t>(v)) {
        tuple += ", " + add(std::to_string(*i), false);
      } else if (const auto* d = std::get_if<double>(v)) {
        tuple += ", " + add(fmt::format("{}", *d), false);  // shortest text that reads back exactly
      } else {
        tuple += ", " + add(std::get<std::string>(*v), false);
      }
    }
    tuple += ", " + add(r->raw, false);
    values += fmt::format("{}({})", values.empty() ? "" : ", ", tuple);
  }
  u.sql = fmt::format(
      "INSERT INTO {} ({}, raw) VALUES {} ON CONFLICT (code, market_time) DO UPDATE SET {}, "
      "raw = EXCLUDED.raw",
      Quoted(dataset), names, values, updates);
  return u;
}

// Rows in COPY's text format: values separated by tabs, rows by newlines, with backslash, tab,
// newline and carriage return escaped in text.
std::string CopyText(const std::vector<std::vector<Value>>& rows) {
  std::string out;
  out.reserve(rows.size() * 128);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out += '\t';
      if (const auto* text = std::get_if<std::string>(&row[i])) {
        for (const char c : *text) {
          switch (c) {
            case '\\':
              out += "\\\\";
              break;
            case '\t':
              out += "\\t";
              break;
            case '\n':
              out += "\\n";
              break;
            case '\r':
              out += "\\r";
              break;
            default:
              out += c;
          }
        }
      } else {
        std::visit([&](const auto& v) { fmt::format_to(std::back_inserter(out), "{}", v); },
                   row[i]);
      }
    }
    out += '\n';
  }
  return out;
}

// Rows [first, last) of a stream table as one multi-row INSERT: with `update`, a row already stored
// is rewritten (DO UPDATE; snapshots), else left as it is (DO NOTHING).
Upsert BuildStreamInsert(std::string_view table, const std::vector<ColumnSpec>& specs,
                         const std::vector<std::vector<Value>>& rows, std::size_t first,
                         std::size_t last, bool update) {
  std::string names;
  std::string key;
  std::string updates;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto name = Quoted(specs[i].name);
    names += fmt::format("{}{}", i == 0 ? "" : ", ", name);
    if (i < kStreamKeyColumns) {
      key += fmt::format("{}{}", i == 0 ? "" : ", ", name);
    } else {
      updates += fmt::format("{}{} = EXCLUDED.{}", updates.empty() ? "" : ", ", name, name);
    }
  }
  Upsert u;
  u.texts.reserve((last - first) * specs.size());
  std::string values;
  std::size_t n = 0;
  for (std::size_t row = first; row < last; ++row) {
    values += values.empty() ? "(" : ", (";
    for (std::size_t i = 0; i < rows[row].size(); ++i) {
      values += fmt::format("{}${}", i == 0 ? "" : ", ", ++n);
      u.texts.push_back(std::visit(
          [](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
              return v;
            } else {
              return fmt::format("{}", v);  // a double: the shortest text that reads back exactly
            }
          },
          rows[row][i]));
    }
    values += ")";
  }
  u.null.assign(u.texts.size(), false);
  u.sql = fmt::format("INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO {}", Quoted(table), names,
                      values, key, update ? "UPDATE SET " + updates : std::string("NOTHING"));
  return u;
}

// Reads row `row` of a result whose columns are `specs` (from column 0).
std::vector<Value> ReadValues(const PGresult* r, int row, const std::vector<ColumnSpec>& specs) {
  std::vector<Value> out;
  out.reserve(specs.size());
  for (int i = 0; i < static_cast<int>(specs.size()); ++i) {
    const char* text = PQgetvalue(r, row, i);
    switch (specs[static_cast<std::size_t>(i)].type) {
      case ColumnSpec::kInteger:
        out.emplace_back(ParseInt(text));
        break;
      case ColumnSpec::kReal:
        out.emplace_back(std::strtod(text, nullptr));
        break;
      case ColumnSpec::kText:
        out.emplace_back(std::string(text));
        break;
    }
  }
  return out;
}

Record ReadRow(const PGresult* r, int row, const std::string& dataset, const std::string& code,
               const std::vector<ColumnSpec>& specs) {
  Record out;
  out.dataset = dataset;
  out.code = code;
  out.market_time = PQgetvalue(r, row, 0);
  out.collected_at = common::WallTime{std::chrono::milliseconds(ParseInt(PQgetvalue(r, row, 1)))};
  out.raw = PQgetvalue(r, row, 2);
  int column = 3;
  for (const auto& spec : specs) {
    const int i = column++;
    if (PQgetisnull(r, row, i) != 0) continue;  // not written: the record had no such column
    const char* text = PQgetvalue(r, row, i);
    switch (spec.type) {
      case ColumnSpec::kInteger:
        out.columns.emplace_back(spec.name, Value{ParseInt(text)});
        break;
      case ColumnSpec::kReal:
        out.columns.emplace_back(spec.name, Value{std::strtod(text, nullptr)});
        break;
      case ColumnSpec::kText:
        out.columns.emplace_back(spec.name, Value{std::string(text)});
        break;
    }
  }
  return out;
}

}  // namespace

namespace {

WriteQueueOptions QueueOptions(const PgStoreOptions& o, const std::string& masked_url) {
  WriteQueueOptions q;
  q.name = masked_url;
  q.batch_size = o.batch_size;
  q.commit_delay = o.commit_delay;
  q.retry_min = o.retry_min;
  q.retry_max = o.retry_max;
  q.max_buffered = o.max_buffered;
  return q;
}

}  // namespace

PgStore::PgStore(PgStoreOptions options)
    : options_(std::move(options)),
      masked_url_(Masked(options_.url)),
      queue_(QueueOptions(options_, masked_url_)) {
  writer_conn_ = Connect(options_);
  if (PQstatus(writer_conn_) == CONNECTION_OK) {
    if (auto error = Migrate(writer_conn_, masked_url_); !error.empty()) {
      PQfinish(writer_conn_);
      throw std::runtime_error(
          fmt::format("cannot prepare the database '{}': {}", masked_url_, error));
    }
    migrated_ = true;
  } else {
    const auto error = OneLine(PQerrorMessage(writer_conn_));
    PQfinish(writer_conn_);
    writer_conn_ = nullptr;
    // Does a server answer at all? PQping does not log in: it tells a server that is down or
    // starting (bad luck: start, buffer, connect later) from one that answers but refused us
    // (wrong password, unknown role or database) and from a URL libpq cannot read (bad config:
    // refuse to start, so the mistake is seen now and not after an hour of buffering).
    ConnParams params(options_);
    const auto ping = PQpingParams(params.Keys(), params.Values(), 1);
    if (ping != PQPING_NO_RESPONSE && ping != PQPING_REJECT) {
      throw std::runtime_error(fmt::format(
          "cannot use the database '{}': {} (check storage.url: user, password, host and "
          "database name)",
          masked_url_, error));
    }
    spdlog::warn("store: the database '{}' does not answer ({}); writes are buffered until it does",
                 masked_url_, error);
    queue_.SetConnected(false, error);
  }
  queue_.Start([this](const std::vector<WriteItem>& batch, std::string& error) {
    const bool ok = EnsureWriter(error) && Commit(batch, error);
    queue_.SetConnected(writer_conn_ != nullptr && PQstatus(writer_conn_) == CONNECTION_OK);
    return ok;
  });
}

PgStore::~PgStore() {
  queue_.Stop(options_.retry_max * 2);
  PQfinish(reader_);
  PQfinish(writer_conn_);
}

void PgStore::Write(std::vector<Record> records) {
  latest_.Update(records);
  queue_.Push(std::move(records));
}

void PgStore::WriteTicks(std::vector<kis::Tick> ticks) {
  latest_.Update(ticks);
  queue_.Push(std::move(ticks));
}

void PgStore::WriteBooks(std::vector<kis::BookSnapshot> books) {
  latest_.Update(books);
  queue_.Push(std::move(books));
}

bool PgStore::Flush(std::chrono::milliseconds timeout) { return queue_.Flush(timeout); }

bool PgStore::EnsureWriter(std::string& error) {
  // Runs on the writer thread only: writer_conn_ and migrated_ are its own.
  if (writer_conn_ == nullptr || PQstatus(writer_conn_) != CONNECTION_OK) {
    PQfinish(writer_conn_);
    writer_conn_ = Connect(options_);
    if (PQstatus(writer_conn_) != CONNECTION_OK) {
      error = fmt::format("connect: {}", OneLine(PQerrorMessage(writer_conn_)));
      PQfinish(writer_conn_);
      writer_conn_ = nullptr;
      return false;
    }
    server_back_ = true;  // readers need not wait out their retry time
  }
  if (!migrated_) {
    if (auto e = Migrate(writer_conn_, masked_url_); !e.empty()) {
      error = fmt::format("schema: {}", e);
      return false;
    }
    migrated_ = true;
  }
  return true;
}

bool PgStore::Commit(const std::vector<WriteItem>& batch, std::string& error) {
  // De-duplicate first (ON CONFLICT cannot touch one row twice in one statement): per data set
  // and key, the last record queued wins, as it would have written one after the other; so does
  // the last snapshot of a key; a trade's first stays (DO NOTHING), as the database keeps it.
  std::map<std::string, std::vector<const Record*>> by_dataset;
  std::map<std::string, std::unordered_map<std::string, std::size_t>> index;
  std::vector<std::vector<Value>> ticks;
  std::vector<std::vector<Value>> books;
  std::unordered_map<std::string, std::size_t> tick_index;
  std::unordered_map<std::string, std::size_t> book_index;
  std::vector<const AuditEntry*> audits;
  const auto key_of = [](const std::vector<Value>& row) {
    std::string key;
    for (std::size_t i = 0; i < kStreamKeyColumns; ++i)
      key += std::visit([](const auto& v) { return fmt::format("{}\x1f", v); }, row[i]);
    return key;
  };
  for (const auto& item : batch) {
    if (const auto* a = std::get_if<AuditEntry>(&item)) {
      audits.push_back(a);
      continue;
    }
    if (const auto* t = std::get_if<kis::Tick>(&item)) {
      auto row = TickRow(*t);
      if (tick_index.try_emplace(key_of(row), ticks.size()).second) ticks.push_back(std::move(row));
      continue;
    }
    if (const auto* b = std::get_if<kis::BookSnapshot>(&item)) {
      auto row = BookRow(*b);
      auto [it, fresh] = book_index.try_emplace(key_of(row), books.size());
      if (fresh) {
        books.push_back(std::move(row));
      } else {
        books[it->second] = std::move(row);
      }
      continue;
    }
    const auto& r = std::get<Record>(item);
    if (ColumnsOf(r.dataset) == nullptr) {
      spdlog::error("store: dropping a record of unknown data set '{}'", r.dataset);
      continue;
    }
    auto& rows = by_dataset[r.dataset];
    auto [it, fresh] = index[r.dataset].try_emplace(r.code + '\x1f' + r.market_time, rows.size());
    if (fresh) {
      rows.push_back(&r);
    } else {
      rows[it->second] = &r;
    }
  }
  const auto fail = [&](const std::string& what, const Result& r) {
    error = fmt::format("{}: {}", what, OneLine(PQresultErrorMessage(r.get())));
    if (PQstatus(writer_conn_) == CONNECTION_OK) Exec(writer_conn_, "ROLLBACK");
    tick_copy_ready_ = false;  // created in a transaction rolled back, or on a cut connection
    return false;
  };
  const auto execute = [&](const std::string& sql, const std::vector<std::string>& texts,
                           const std::vector<bool>& null) {
    std::vector<const char*> params;
    params.reserve(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i)
      params.push_back(null[i] ? nullptr : texts[i].c_str());
    return Exec(writer_conn_, sql, params);
  };
  if (auto r = Exec(writer_conn_, "BEGIN"); !Ok(r)) return fail("begin", r);
  for (const auto& [dataset, rows] : by_dataset) {
    const std::size_t per_row = ColumnsOf(dataset)->size() + 4;
    const std::size_t chunk = std::max<std::size_t>(1, kMaxParams / per_row);
    for (std::size_t first = 0; first < rows.size(); first += chunk) {
      const std::vector<const Record*> part(
          rows.begin() + static_cast<std::ptrdiff_t>(first),
          rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), first + chunk)));
      const auto upsert = BuildUpsert(dataset, part);
      if (auto r = execute(upsert.sql, upsert.texts, upsert.null); !Ok(r)) return fail("write", r);
    }
  }
  if (!ticks.empty()) {
    // Trades by COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO
    // NOTHING: the server parses no statement per row (several times the multi-row INSERT's rate).
    // The table lives as long as the connection; ON COMMIT DELETE ROWS empties it each time.
    if (!tick_copy_ready_) {
      if (auto r = Exec(writer_conn_, fmt::format("CREATE TEMP TABLE IF NOT EXISTS ticks_in (LIKE "
                                                  "{}) ON COMMIT DELETE ROWS",
                                                  Quoted(kTicksTable)));
          !Ok(r))
        return fail("write", r);
      tick_copy_ready_ = true;
    }
    std::string names;
    for (const auto& c : TickColumns())
      names += fmt::format("{}{}", names.empty() ? "" : ", ", Quoted(c.name));
    Result copy{PQexec(writer_conn_, fmt::format("COPY ticks_in ({}) FROM STDIN", names).c_str()),
                &PQclear};
    if (PQresultStatus(copy.get()) != PGRES_COPY_IN) return fail("write", copy);
    const auto data = CopyText(ticks);
    const bool sent =
        PQputCopyData(writer_conn_, data.data(), static_cast<int>(data.size())) == 1 &&
        PQputCopyEnd(writer_conn_, nullptr) == 1;
    Result copied{PQgetResult(writer_conn_), &PQclear};
    while (auto* more = PQgetResult(writer_conn_)) PQclear(more);
    if (!sent || !Ok(copied)) return fail("write", copied);
    if (auto r = Exec(writer_conn_,
                      fmt::format("INSERT INTO {0} ({1}) SELECT {1} FROM ticks_in ON CONFLICT DO "
                                  "NOTHING",
                                  Quoted(kTicksTable), names));
        !Ok(r))
      return fail("write", r);
  }
  const std::size_t chunk = std::max<std::size_t>(1, kMaxParams / BookColumns().size());
  for (std::size_t first = 0; first < books.size(); first += chunk) {
    const auto insert = BuildStreamInsert(kBooksTable, BookColumns(), books, first,
                                          std::min(books.size(), first + chunk), /*update=*/true);
    if (auto r = execute(insert.sql, insert.texts, insert.null); !Ok(r)) return fail("write", r);
  }
  for (const auto* a : audits) {
    std::vector<std::string> texts;
    for (const auto& value : AuditRow(*a)) {
      texts.push_back(std::visit(
          [](const auto& v) {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
              return v;
            } else {
              return fmt::format("{}", v);
            }
          },
          value));
    }
    const std::vector<bool> null(texts.size(), false);
    if (auto r = execute(AuditInsertSql(/*postgres=*/true), texts, null); !Ok(r))
      return fail("write", r);
  }
  if (auto r = Exec(writer_conn_, "COMMIT"); !Ok(r)) return fail("commit", r);
  return true;
}

pg_conn* PgStore::Reader() const {
  // Under read_mutex_.
  if (reader_ != nullptr && PQstatus(reader_) == CONNECTION_OK) return reader_;
  PQfinish(reader_);
  reader_ = nullptr;
  // While the server is away, readers try it at most every retry_max: a host that does not answer
  // would otherwise hold every read (API requests) for connect_timeout.
  const auto now = std::chrono::steady_clock::now();
  if (now < reader_retry_at_ && !server_back_.exchange(false)) return nullptr;
  reader_ = Connect(options_);
  if (PQstatus(reader_) != CONNECTION_OK) {
    PQfinish(reader_);
    reader_ = nullptr;
    reader_retry_at_ = now + options_.retry_max;
  }
  return reader_;
}

namespace {

// A read on the reader's connection, once more on a fresh connection when the first found it cut
// (the server restarted since the last read). Null when the server cannot be reached.
template <typename GetReader>
Result Read(GetReader get_reader, const std::string& sql,
            const std::vector<const char*>& params = {}) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    pg_conn* conn = get_reader();
    if (conn == nullptr) break;
    auto r = Exec(conn, sql, params);
    if (Ok(r) || PQstatus(conn) == CONNECTION_OK) return r;
  }
  return {nullptr, &PQclear};
}

}  // namespace

std::optional<Record> PgStore::Latest(const std::string& dataset, const std::string& code) const {
  return latest_.Latest(dataset, code);
}

std::optional<common::WallTime> PgStore::LatestCollectedAt(const std::string& dataset,
                                                           const std::string& code) const {
  return latest_.CollectedAt(dataset, code);
}

std::string PgStore::LatestMarketTime(const std::string& dataset, const std::string& code) const {
  if (auto r = Latest(dataset, code)) return r->market_time;
  if (ColumnsOf(dataset) == nullptr) return {};
  std::lock_guard lock(read_mutex_);
  auto r = Read([this] { return Reader(); },
                fmt::format("SELECT MAX(market_time) FROM {} WHERE code = $1", Quoted(dataset)),
                {code.c_str()});
  if (!r || !Ok(r) || PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0) != 0) return {};
  return PQgetvalue(r.get(), 0, 0);
}

std::vector<Record> PgStore::Range(const std::string& dataset, const std::string& code,
                                   const std::string& from, const std::string& to,
                                   std::size_t limit) const {
  const auto* specs = ColumnsOf(dataset);
  if (specs == nullptr || limit == 0) return {};
  const auto in_range = [&](const std::string& t) { return t >= from && (to.empty() || t <= to); };
  std::map<std::string, Record, std::greater<>> rows;
  {
    // Memory first, then the server: a record leaves the writer's batch only once committed, so
    // every record is seen in one of the two, and a queued one is newer than the server's row.
    queue_.ForEachPending([&](const WriteItem& item) {
      const auto* q = std::get_if<Record>(&item);
      if (q != nullptr && q->dataset == dataset && q->code == code && in_range(q->market_time)) {
        rows.insert_or_assign(q->market_time, *q);
      }
    });
  }
  {
    std::lock_guard lock(read_mutex_);
    std::string names;
    for (const auto& c : *specs) names += fmt::format(", {}", Quoted(c.name));
    const auto limit_text = std::to_string(limit);
    auto r = Read([this] { return Reader(); },
                  fmt::format("SELECT market_time, collected_at, raw{} FROM {} WHERE code = $1 AND "
                              "market_time >= $2 AND ($3 = '' OR market_time <= $3) "
                              "ORDER BY market_time DESC LIMIT $4",
                              names, Quoted(dataset)),
                  {code.c_str(), from.c_str(), to.c_str(), limit_text.c_str()});
    if (r && Ok(r)) {
      for (int row = 0; row < PQntuples(r.get()); ++row) {
        auto record = ReadRow(r.get(), row, dataset, code, *specs);
        rows.emplace(record.market_time, std::move(record));
      }
    }
  }
  std::vector<Record> out;
  for (auto& [t, r] : rows) {
    if (out.size() == limit) break;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Freshness> PgStore::Ages(common::WallTime now) const { return latest_.Ages(now); }

std::optional<kis::Tick> PgStore::LatestTick(const std::string& code) const {
  return latest_.Tick(code);
}

std::optional<kis::BookSnapshot> PgStore::LatestBook(const std::string& code) const {
  return latest_.Book(code);
}

std::vector<kis::Tick> PgStore::Ticks(const std::string& code, const std::string& date,
                                      const std::string& from_time, const std::string& to_time,
                                      std::size_t limit) const {
  if (limit == 0) return {};
  // Pending first, then the server: a trade leaves the writer's batch only once committed, so
  // every trade is seen in one of the two.
  auto pending = queue_.PendingTicks(code, date, from_time, to_time);
  std::vector<kis::Tick> stored;
  {
    std::lock_guard lock(read_mutex_);
    std::string names;
    for (const auto& c : TickColumns())
      names += fmt::format("{}{}", names.empty() ? "" : ", ", Quoted(c.name));
    const auto limit_text =
        std::to_string(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
    auto r =
        Read([this] { return Reader(); },
             fmt::format("SELECT {} FROM {} WHERE code = $1 AND date = $2 AND time >= $3 AND "
                         "($4 = '' OR time <= $4) ORDER BY time, seq LIMIT $5",
                         names, Quoted(kTicksTable)),
             {code.c_str(), date.c_str(), from_time.c_str(), to_time.c_str(), limit_text.c_str()});
    if (r && Ok(r)) {
      stored.reserve(static_cast<std::size_t>(PQntuples(r.get())));
      for (int row = 0; row < PQntuples(r.get()); ++row)
        stored.push_back(TickFromRow(ReadValues(r.get(), row, TickColumns())));
    }
  }
  return MergeTicks(std::move(stored), std::move(pending), limit);
}

void PgStore::WriteAudit(AuditEntry entry) {
  if (entry.id.empty()) entry.id = NewAuditId();
  queue_.Push(std::vector<AuditEntry>{std::move(entry)});
}

std::vector<AuditEntry> PgStore::Audit(std::size_t limit) const {
  std::vector<AuditEntry> out;
  std::lock_guard lock(read_mutex_);
  const auto limit_text =
      std::to_string(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
  auto r =
      Read([this] { return Reader(); }, AuditSelectSql(/*postgres=*/true), {limit_text.c_str()});
  if (r && Ok(r)) {
    for (int row = 0; row < PQntuples(r.get()); ++row)
      out.push_back(AuditFromRow(ReadValues(r.get(), row, AuditColumns())));
  }
  return out;
}

std::vector<kis::Bar> PgStore::MinuteBarsFromTicks(const std::string& code,
                                                   const std::string& date) const {
  return MinuteBarsOf(Ticks(code, date, "", "", std::numeric_limits<std::size_t>::max()));
}

std::int64_t PgStore::Count(const std::string& dataset) const {
  if (ColumnsOf(dataset) == nullptr && dataset != kTicksTable && dataset != kBooksTable) return 0;
  std::lock_guard lock(read_mutex_);
  auto r =
      Read([this] { return Reader(); }, fmt::format("SELECT COUNT(*) FROM {}", Quoted(dataset)));
  if (!r || !Ok(r) || PQntuples(r.get()) == 0) return 0;
  return ParseInt(PQgetvalue(r.get(), 0, 0));
}

std::string PgStore::IntegrityCheck() const {
  std::lock_guard lock(read_mutex_);
  std::string names;
  for (auto dataset : Datasets()) names += fmt::format("{}{}", names.empty() ? "" : ",", dataset);
  names = fmt::format("{{{},{},{},schema_version}}", names, kTicksTable, kBooksTable);
  auto r = Read([this] { return Reader(); },
                "SELECT string_agg(name, ', ' ORDER BY name) FROM unnest($1::text[]) AS name "
                "WHERE to_regclass(quote_ident(name)) IS NULL",
                {names.c_str()});
  if (!r) return fmt::format("the database '{}' cannot be reached", masked_url_);
  if (!Ok(r)) return OneLine(PQresultErrorMessage(r.get()));
  if (PQgetisnull(r.get(), 0, 0) != 0) return "ok";
  return fmt::format("missing tables: {}", PQgetvalue(r.get(), 0, 0));
}

int PgStore::SchemaVersion() const {
  std::lock_guard lock(read_mutex_);
  auto r =
      Read([this] { return Reader(); }, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!r || !Ok(r) || PQntuples(r.get()) == 0) return 0;
  return static_cast<int>(ParseInt(PQgetvalue(r.get(), 0, 0)));
}

StoreCounters PgStore::Counters() const { return queue_.Counters(); }

}  // namespace kisgate::store

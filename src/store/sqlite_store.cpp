#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include "store/audit.hpp"
#include "store/stream_rows.hpp"

namespace kisgate::store {

namespace {

std::string SqliteType(ColumnSpec::Type type) {
  return type == ColumnSpec::kInteger ? "INTEGER" : type == ColumnSpec::kReal ? "REAL" : "TEXT";
}

// Migrations in order; the database records how many ran. Never edit one that shipped: add one.
std::vector<std::string> SqliteMigrations() {
  // 1: one table per data set.
  std::string v1;
  for (auto dataset : Datasets()) {
    std::string columns;
    for (const auto& c : *ColumnsOf(dataset))
      columns += fmt::format("  {} {},\n", c.name, SqliteType(c.type));
    v1 += fmt::format(
        "CREATE TABLE {} (\n  code TEXT NOT NULL,\n  market_time TEXT NOT NULL,\n"
        "  collected_at TEXT NOT NULL,\n{}  raw TEXT NOT NULL,\n  PRIMARY KEY (code, market_time)\n"
        ") WITHOUT ROWID;\n",
        dataset, columns);
  }
  // 2: collected_at from ISO 8601 text in two shapes ("2026-11-24T10:00:01+09:00" from collection,
  // "...T10:00:01.123+09:00" from the API) to one INTEGER of milliseconds since the Unix epoch
  // (UTC). SQLite cannot change a column's type in place: each table is rebuilt. strftime reads
  // both shapes with their offset; an unreadable value is NULL and fails the migration (NOT NULL),
  // which then rolls back and leaves the file as it was.
  std::string v2;
  for (auto dataset : Datasets()) {
    std::string columns;
    std::string names;
    for (const auto& c : *ColumnsOf(dataset)) {
      columns += fmt::format("  {} {},\n", c.name, SqliteType(c.type));
      names += fmt::format("{}, ", c.name);
    }
    v2 += fmt::format(
        "CREATE TABLE {0}_v2 (\n  code TEXT NOT NULL,\n  market_time TEXT NOT NULL,\n"
        "  collected_at INTEGER NOT NULL, -- milliseconds since the Unix epoch (UTC)\n{1}"
        "  raw TEXT NOT NULL,\n  PRIMARY KEY (code, market_time)\n) WITHOUT ROWID;\n"
        "INSERT INTO {0}_v2 (code, market_time, collected_at, {2}raw)\n"
        "  SELECT code, market_time, CAST(strftime('%s', collected_at) AS INTEGER) * 1000 + "
        "CAST(substr(strftime('%f', collected_at), 4) AS INTEGER), {2}raw FROM {0};\n"
        "DROP TABLE {0};\n"
        "ALTER TABLE {0}_v2 RENAME TO {0};\n",
        dataset, columns, names);
  }
  // 3: the stream's trades and order-book snapshots (store/stream_rows.hpp), narrow typed rows.
  const auto stream_table = [](std::string_view table, const std::vector<ColumnSpec>& specs) {
    std::string columns;
    std::string key;
    for (std::size_t i = 0; i < specs.size(); ++i) {
      columns += fmt::format("  {} {} NOT NULL,\n", specs[i].name, SqliteType(specs[i].type));
      if (i < kStreamKeyColumns) key += fmt::format("{}{}", i == 0 ? "" : ", ", specs[i].name);
    }
    return fmt::format("CREATE TABLE {} (\n{}  PRIMARY KEY ({})\n) WITHOUT ROWID;\n", table,
                       columns, key);
  };
  const std::string v3 =
      stream_table(kTicksTable, TickColumns()) + stream_table(kBooksTable, BookColumns());
  // 4: the audit trail of account-bound calls (store/audit.hpp).
  const std::string v4 = AuditTableSql(/*postgres=*/false);
  return {v1, v2, v3, v4};
}

// The schema the migrations arrive at, made directly in a new file: one transaction of plain
// CREATE TABLEs instead of creating the version-1 tables and rebuilding each (a rename makes SQLite
// read the whole schema again, table after table). The same tables, columns, types and keys as
// SqliteMigrations() leaves up to version kFreshVersion (store_test checks it), recorded as
// applied; later migrations run after it as they do on any file.
constexpr std::size_t kFreshVersion = 3;

std::string FreshSchema(const std::vector<std::string>& migrations) {
  std::string sql;
  for (auto dataset : Datasets()) {
    std::string columns;
    for (const auto& c : *ColumnsOf(dataset))
      columns += fmt::format("  {} {},\n", c.name, SqliteType(c.type));
    sql += fmt::format(
        "CREATE TABLE {} (\n  code TEXT NOT NULL,\n  market_time TEXT NOT NULL,\n"
        "  collected_at INTEGER NOT NULL, -- milliseconds since the Unix epoch (UTC)\n{}"
        "  raw TEXT NOT NULL,\n  PRIMARY KEY (code, market_time)\n) WITHOUT ROWID;\n",
        dataset, columns);
  }
  sql += migrations.at(2);  // 3: the stream tables, as they are
  for (std::size_t v = 1; v <= kFreshVersion; ++v)
    sql += fmt::format("INSERT INTO schema_migrations (version) VALUES ({});\n", v);
  return sql;
}

// INSERT of one stream row; a trade already stored is left as it is, a snapshot rewritten.
std::string StreamInsertSql(std::string_view table, const std::vector<ColumnSpec>& specs,
                            bool update) {
  std::string names;
  std::string params;
  std::string updates;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    names += fmt::format("{}{}", i == 0 ? "" : ", ", specs[i].name);
    params += i == 0 ? "?" : ", ?";
    if (i >= kStreamKeyColumns) {
      updates += fmt::format("{}{} = excluded.{}", updates.empty() ? "" : ", ", specs[i].name,
                             specs[i].name);
    }
  }
  return fmt::format("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO {}", table, names, params,
                     update ? "UPDATE SET " + updates : std::string("NOTHING"));
}

// Binds a row's values (text without a copy: the row outlives the step).
void BindRow(sqlite3_stmt* stmt, const std::vector<Value>& row) {
  int i = 1;
  for (const auto& value : row) {
    if (const auto* v = std::get_if<std::int64_t>(&value)) {
      sqlite3_bind_int64(stmt, i++, *v);
    } else if (const auto* d = std::get_if<double>(&value)) {
      sqlite3_bind_double(stmt, i++, *d);
    } else {
      const auto& text = std::get<std::string>(value);
      sqlite3_bind_text(stmt, i++, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    }
  }
}

// Reads the current row's columns of the types `specs` gives.
std::vector<Value> ReadRow(sqlite3_stmt* stmt, const std::vector<ColumnSpec>& specs) {
  std::vector<Value> row;
  row.reserve(specs.size());
  for (int i = 0; i < static_cast<int>(specs.size()); ++i) {
    switch (specs[static_cast<std::size_t>(i)].type) {
      case ColumnSpec::kInteger:
        row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt, i)));
        break;
      case ColumnSpec::kReal:
        row.emplace_back(sqlite3_column_double(stmt, i));
        break;
      case ColumnSpec::kText: {
        const auto* text = sqlite3_column_text(stmt, i);
        row.emplace_back(std::string(text != nullptr ? reinterpret_cast<const char*>(text) : ""));
        break;
      }
    }
  }
  return row;
}

std::string ColumnNames(const std::vector<ColumnSpec>& specs) {
  std::string names;
  for (const auto& c : specs) names += fmt::format("{}{}", names.empty() ? "" : ", ", c.name);
  return names;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string error = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw std::runtime_error(error);
  }
}

std::int64_t QueryInt(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    throw std::runtime_error(sqlite3_errmsg(db));
  }
  std::int64_t value = 0;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

std::string UpsertSql(std::string_view dataset) {
  std::string names = "code, market_time, collected_at";
  std::string params = "?, ?, ?";
  std::string updates = "collected_at = excluded.collected_at";
  for (const auto& c : *ColumnsOf(dataset)) {
    names += fmt::format(", {}", c.name);
    params += ", ?";
    updates += fmt::format(", {0} = excluded.{0}", c.name);
  }
  return fmt::format(
      "INSERT INTO {} ({}, raw) VALUES ({}, ?) ON CONFLICT (code, market_time) DO UPDATE SET {}, "
      "raw = excluded.raw",
      dataset, names, params, updates);
}

}  // namespace

// SQLite's busy wait, cut short when the writer is asked to stop (WriteQueue::Aborted).
struct BusyWait {
  std::chrono::milliseconds timeout;
  const WriteQueue* queue = nullptr;  // null for the reader
};

namespace {

int OnBusy(void* arg, int count) {
  const auto* wait = static_cast<const BusyWait*>(arg);
  if (wait->queue != nullptr && wait->queue->Aborted()) return 0;
  constexpr int kStepMs = 10;
  if (static_cast<std::int64_t>(count) * kStepMs >= wait->timeout.count()) return 0;
  sqlite3_sleep(kStepMs);
  return 1;
}

sqlite3* OpenConnection(const std::string& path, int flags,
                        std::chrono::milliseconds busy_timeout) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string error = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error(fmt::format(
        "cannot open the database '{}': {} (check storage.url and that the folder is writable)",
        path, error));
  }
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));
  return db;
}

WriteQueueOptions QueueOptions(const StoreOptions& o) {
  WriteQueueOptions q;
  q.name = o.path;
  q.batch_size = o.batch_size;
  q.commit_delay = o.commit_delay;
  q.retry_min = o.retry_after;
  q.retry_max = o.retry_after;
  q.max_buffered = o.max_buffered;
  return q;
}

}  // namespace

SqliteStore::SqliteStore(StoreOptions options)
    : options_(std::move(options)), queue_(QueueOptions(options_)) {
  std::error_code ec;
  const auto folder = std::filesystem::path(options_.path).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("cannot create the folder '{}' for the database: {}",
                                         folder.string(), ec.message()));
  }
  db_ = OpenConnection(options_.path,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                       options_.busy_timeout);
  try {
    // WAL: readers never block the writer; NORMAL sync is durable across process crashes.
    // 8 KB pages in a new file (an existing one keeps its own): a record keeps its reply (about
    // 2 KB for a price or an order book), and every page a commit touches is written twice (to the
    // WAL, then at the checkpoint), two system calls a page each time.
    Exec(db_, "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    Exec(db_,
         "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
         "applied_at TEXT NOT NULL DEFAULT (datetime('now')))");
    const auto migrations = SqliteMigrations();
    const auto applied = QueryInt(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (applied > static_cast<std::int64_t>(migrations.size())) {
      // Its tables may not be what these statements write: every write would fail.
      throw std::runtime_error(fmt::format(
          "the file is at schema version {}, newer than this kisgate knows (version {}): a newer "
          "kisgate has migrated it; run that version, or point storage.url at another file",
          applied, migrations.size()));
    }
    if (applied == 0 && QueryInt(db_, "SELECT count(*) FROM sqlite_master") == 1) {
      // A new file (nothing but schema_migrations): the schema of kFreshVersion at once.
      Exec(db_, "BEGIN IMMEDIATE");
      try {
        Exec(db_, FreshSchema(migrations));
        Exec(db_, "COMMIT");
      } catch (const std::exception& e) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw std::runtime_error(fmt::format("creating the schema: {}", e.what()));
      }
    }
    const auto from = QueryInt(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    for (auto v = from; v < static_cast<std::int64_t>(migrations.size()); ++v) {
      // One transaction per migration: a failed one leaves the file at the previous version.
      Exec(db_, "BEGIN IMMEDIATE");
      try {
        Exec(db_, migrations[static_cast<std::size_t>(v)]);
        Exec(db_, fmt::format("INSERT INTO schema_migrations (version) VALUES ({})", v + 1));
        Exec(db_, "COMMIT");
      } catch (const std::exception& e) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw std::runtime_error(fmt::format("migration {}: {}", v + 1, e.what()));
      }
      if (applied > 0)
        spdlog::info("store: migrated {} to schema version {}", options_.path, v + 1);
    }
  } catch (const std::exception& e) {
    sqlite3_close(db_);
    throw std::runtime_error(
        fmt::format("cannot prepare the database '{}': {}", options_.path, e.what()));
  }
  reader_ = OpenConnection(options_.path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                           std::min(options_.busy_timeout, options_.timeout));
  // The writer's lock waits end when the store closes (Close cuts a write in progress short).
  writer_busy_ = std::make_unique<BusyWait>(BusyWait{options_.busy_timeout, &queue_});
  sqlite3_busy_handler(db_, OnBusy, writer_busy_.get());
  queue_.Start([this](std::span<const WriteItem> batch, std::string& error) {
    return Commit(batch, error);
  });
  StartReads(options_.timeout);
}

void SqliteStore::Close(std::chrono::milliseconds timeout) { queue_.Stop(timeout); }

// NOLINTNEXTLINE(bugprone-exception-escape): throws only on a bug (a failed join)
SqliteStore::~SqliteStore() {
  StopReads();
  Close(options_.retry_after * 4);
  for (auto& [key, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close(reader_);
  sqlite3_close(db_);
}

void SqliteStore::Write(std::vector<Record> records) {
  if (!KeepValid(records)) return;
  latest_.Update(records);
  queue_.Push(std::move(records));
}

void SqliteStore::WriteTicks(std::vector<kis::Tick> ticks) {
  if (!KeepValid(ticks)) return;
  latest_.Update(ticks);
  queue_.Push(std::move(ticks));
}

void SqliteStore::WriteBooks(std::vector<kis::BookSnapshot> books) {
  if (!KeepValid(books)) return;
  latest_.Update(books);
  queue_.Push(std::move(books));
}

bool SqliteStore::Flush(std::chrono::milliseconds timeout) { return queue_.Flush(timeout); }

void SqliteStore::WriteAudit(AuditEntry entry) {
  if (entry.id.empty()) entry.id = NewAuditId();
  queue_.Push(std::vector<AuditEntry>{std::move(entry)});
}

std::vector<AuditEntry> SqliteStore::Audit(std::size_t limit) const {
  std::vector<AuditEntry> out;
  std::lock_guard lock(read_mutex_);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(reader_, AuditSelectSql(/*postgres=*/false).c_str(), -1, &stmt, nullptr) ==
      SQLITE_OK) {
    sqlite3_bind_int64(stmt, 1,
                       static_cast<sqlite3_int64>(std::min<std::size_t>(
                           limit, std::numeric_limits<sqlite3_int64>::max())));
    while (sqlite3_step(stmt) == SQLITE_ROW)
      out.push_back(AuditFromRow(ReadRow(stmt, AuditColumns())));
  }
  sqlite3_finalize(stmt);
  return out;
}

sqlite3_stmt* SqliteStore::Prepared(const std::string& key, const std::string& sql) {
  auto& stmt = statements_[key];
  if (stmt == nullptr && sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                                            nullptr) != SQLITE_OK) {
    stmt = nullptr;
  }
  return stmt;
}

CommitOutcome SqliteStore::Commit(std::span<const WriteItem> batch, std::string& error) {
  // Runs on the writer thread only: db_ and statements_ are its own.
  auto fail = [&](const std::string& what) {
    error = fmt::format("{}: {}", what, sqlite3_errmsg(db_));
    // A value the file refuses (a constraint, a value too big) fails again as it is; the others
    // (locked, full, an I/O error) may pass later.
    const int code = sqlite3_errcode(db_) & 0xff;
    const bool bad_data = code == SQLITE_CONSTRAINT || code == SQLITE_TOOBIG ||
                          code == SQLITE_MISMATCH || code == SQLITE_RANGE;
    for (auto& [key, stmt] : statements_) {
      if (stmt != nullptr) sqlite3_reset(stmt);
    }
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return bad_data ? CommitOutcome::kBadData : CommitOutcome::kRetry;
  };
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail("begin");
  // Prepared once per batch, reused for every row.
  sqlite3_stmt* tick_insert = nullptr;
  sqlite3_stmt* book_insert = nullptr;
  const auto step_row = [&](sqlite3_stmt* stmt, const std::vector<Value>& row) {
    sqlite3_reset(stmt);
    BindRow(stmt, row);
    const bool done = sqlite3_step(stmt) == SQLITE_DONE;
    sqlite3_reset(stmt);
    return done;
  };
  for (const auto& item : batch) {
    if (const auto* t = std::get_if<kis::Tick>(&item)) {
      if (tick_insert == nullptr) {
        tick_insert = Prepared(std::string(kTicksTable),
                               StreamInsertSql(kTicksTable, TickColumns(), /*update=*/false));
        if (tick_insert == nullptr) return fail("prepare");
      }
      if (!step_row(tick_insert, TickRow(*t))) return fail("write");
      continue;
    }
    if (const auto* a = std::get_if<AuditEntry>(&item)) {
      auto* insert = Prepared(std::string(kAuditTable), AuditInsertSql(/*postgres=*/false));
      if (insert == nullptr) return fail("prepare");
      if (!step_row(insert, AuditRow(*a))) return fail("write");
      continue;
    }
    if (const auto* b = std::get_if<kis::BookSnapshot>(&item)) {
      if (book_insert == nullptr) {
        book_insert = Prepared(std::string(kBooksTable),
                               StreamInsertSql(kBooksTable, BookColumns(), /*update=*/true));
        if (book_insert == nullptr) return fail("prepare");
      }
      if (!step_row(book_insert, BookRow(*b))) return fail("write");
      continue;
    }
    const auto& r = std::get<Record>(item);
    const auto* columns = ColumnsOf(r.dataset);
    if (columns == nullptr) {
      spdlog::error("store: dropping a record of unknown data set '{}'", r.dataset);
      continue;
    }
    // The statement is made once per connection: its text only when it is not made yet.
    auto cached = statements_.find(r.dataset);
    auto* stmt = cached != statements_.end() && cached->second != nullptr
                     ? cached->second
                     : Prepared(r.dataset, UpsertSql(r.dataset));
    if (stmt == nullptr) return fail("prepare");
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    int i = 1;
    sqlite3_bind_text(stmt, i++, r.code.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, i++, r.market_time.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, i++, common::UnixMillis(r.collected_at));
    for (const auto& spec : *columns) {
      auto it = std::find_if(r.columns.begin(), r.columns.end(),
                             [&](const auto& c) { return c.first == spec.name; });
      if (it == r.columns.end()) {
        sqlite3_bind_null(stmt, i++);
      } else if (const auto* v = std::get_if<std::int64_t>(&it->second)) {
        sqlite3_bind_int64(stmt, i++, *v);
      } else if (const auto* d = std::get_if<double>(&it->second)) {
        sqlite3_bind_double(stmt, i++, *d);
      } else {
        sqlite3_bind_text(stmt, i++, std::get<std::string>(it->second).c_str(), -1,
                          SQLITE_TRANSIENT);
      }
    }
    sqlite3_bind_text(stmt, i, r.raw.c_str(), static_cast<int>(r.raw.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(stmt) != SQLITE_DONE) return fail("write");
    sqlite3_reset(stmt);
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("commit");
  return CommitOutcome::kCommitted;
}

std::optional<Record> SqliteStore::Latest(const std::string& dataset,
                                          const std::string& code) const {
  return latest_.Latest(dataset, code);
}

std::optional<common::WallTime> SqliteStore::LatestCollectedAt(const std::string& dataset,
                                                               const std::string& code) const {
  return latest_.CollectedAt(dataset, code);
}

ReadResult<std::string> SqliteStore::CheckedLatestMarketTime(const std::string& dataset,
                                                             const std::string& code) const {
  if (auto r = Latest(dataset, code)) return {r->market_time, ReadError::kNone, {}};
  if (ColumnsOf(dataset) == nullptr) return {};
  std::lock_guard lock(read_mutex_);
  sqlite3_stmt* stmt = nullptr;
  ReadResult<std::string> result;
  const auto sql = fmt::format("SELECT MAX(market_time) FROM {} WHERE code = ?", dataset);
  if (sqlite3_prepare_v2(reader_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, code.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_TEXT) {
      result.value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
  }
  sqlite3_finalize(stmt);
  return result;
}

ReadResult<std::vector<Record>> SqliteStore::CheckedRange(const std::string& dataset,
                                                          const std::string& code,
                                                          const std::string& from,
                                                          const std::string& to,
                                                          std::size_t limit) const {
  const auto* specs = ColumnsOf(dataset);
  if (specs == nullptr || limit == 0) return {};
  const auto in_range = [&](const std::string& t) { return t >= from && (to.empty() || t <= to); };
  // Keyed by market_time: a queued record replaces the file's row, as it will once written.
  std::map<std::string, Record, std::greater<>> rows;
  {
    // Memory first, then the file: a record leaves the writer's batch only once committed, so
    // every record is seen in one of the two, and a queued one is newer than the file's row.
    queue_.ForEachPending([&](const WriteItem& item) {
      const auto* q = std::get_if<Record>(&item);
      if (q != nullptr && q->dataset == dataset && q->code == code && in_range(q->market_time)) {
        rows.insert_or_assign(q->market_time, *q);
      }
    });
  }
  {
    std::lock_guard lock(read_mutex_);
    sqlite3_stmt* stmt = nullptr;
    std::string names;
    for (const auto& c : *specs) names += fmt::format(", {}", c.name);
    const auto sql = fmt::format(
        "SELECT market_time, collected_at, raw{} FROM {} WHERE code = ?1 AND market_time >= ?2 "
        "AND (?3 = '' OR market_time <= ?3) ORDER BY market_time DESC LIMIT ?4",
        names, dataset);
    if (sqlite3_prepare_v2(reader_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, code.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 2, from.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 3, to.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 4, static_cast<sqlite3_int64>(limit));
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        Record r;
        r.dataset = dataset;
        r.code = code;
        r.market_time = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        r.collected_at = common::FromUnixMillis(sqlite3_column_int64(stmt, 1));
        r.raw = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2));
        int i = 3;
        for (const auto& spec : *specs) {
          const int column = i++;
          switch (sqlite3_column_type(stmt, column)) {
            case SQLITE_NULL:
              break;  // not written: the record had no such column
            case SQLITE_INTEGER:
              r.columns.emplace_back(
                  spec.name, Value{static_cast<std::int64_t>(sqlite3_column_int64(stmt, column))});
              break;
            case SQLITE_FLOAT:
              r.columns.emplace_back(spec.name, Value{sqlite3_column_double(stmt, column)});
              break;
            default:
              r.columns.emplace_back(spec.name, Value{std::string(reinterpret_cast<const char*>(
                                                    sqlite3_column_text(stmt, column)))});
          }
        }
        rows.emplace(r.market_time, std::move(r));
      }
    }
    sqlite3_finalize(stmt);
  }
  ReadResult<std::vector<Record>> out;
  for (auto& [t, r] : rows) {
    if (out.value.size() == limit) break;
    out.value.push_back(std::move(r));
  }
  return out;
}

std::vector<Freshness> SqliteStore::Ages(common::WallTime now) const { return latest_.Ages(now); }

std::optional<kis::Tick> SqliteStore::LatestTick(const std::string& code) const {
  return latest_.Tick(code);
}

std::optional<kis::BookSnapshot> SqliteStore::LatestBook(const std::string& code) const {
  return latest_.Book(code);
}

std::vector<kis::Tick> SqliteStore::Ticks(const std::string& code, const std::string& date,
                                          const std::string& from_time, const std::string& to_time,
                                          std::size_t limit) const {
  if (limit == 0) return {};
  // Pending first, then the file: a trade leaves the writer's batch only once committed, so every
  // trade is seen in one of the two.
  auto pending = queue_.PendingTicks(code, date, from_time, to_time);
  std::vector<kis::Tick> stored;
  {
    std::lock_guard lock(read_mutex_);
    sqlite3_stmt* stmt = nullptr;
    const auto sql = fmt::format(
        "SELECT {} FROM {} WHERE code = ?1 AND date = ?2 AND time >= ?3 AND (?4 = '' OR time <= "
        "?4) ORDER BY time, seq LIMIT ?5",
        ColumnNames(TickColumns()), kTicksTable);
    if (sqlite3_prepare_v2(reader_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, code.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 2, date.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 3, from_time.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(stmt, 4, to_time.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(stmt, 5,
                         static_cast<sqlite3_int64>(std::min<std::size_t>(
                             limit, std::numeric_limits<sqlite3_int64>::max())));
      while (sqlite3_step(stmt) == SQLITE_ROW)
        stored.push_back(TickFromRow(ReadRow(stmt, TickColumns())));
    }
    sqlite3_finalize(stmt);
  }
  return MergeTicks(std::move(stored), std::move(pending), limit);
}

std::vector<kis::Bar> SqliteStore::MinuteBarsFromTicks(const std::string& code,
                                                       const std::string& date) const {
  return MinuteBarsOf(Ticks(code, date, "", "", std::numeric_limits<std::size_t>::max()));
}

std::int64_t SqliteStore::Count(const std::string& dataset) const {
  if (ColumnsOf(dataset) == nullptr && dataset != kTicksTable && dataset != kBooksTable) return 0;
  std::lock_guard lock(read_mutex_);
  return QueryInt(reader_, fmt::format("SELECT COUNT(*) FROM {}", dataset));
}

std::string SqliteStore::IntegrityCheck() const {
  std::lock_guard lock(read_mutex_);
  sqlite3_stmt* stmt = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(reader_, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  return result;
}

int SqliteStore::SchemaVersion() const {
  std::lock_guard lock(read_mutex_);
  return static_cast<int>(
      QueryInt(reader_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
}

StoreCounters SqliteStore::Counters() const {
  auto c = queue_.Counters();
  c.invalid = Invalid();
  c.read_timeouts = ReadTimeouts();
  return c;
}

}  // namespace kisgate::store

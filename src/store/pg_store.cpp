#include "store/pg_store.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

#include <spdlog/spdlog.h>

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

std::string SqlType(ColumnSpec::Type type) {
  return type == ColumnSpec::kInteger ? "BIGINT"
         : type == ColumnSpec::kReal  ? "DOUBLE PRECISION"
                                      : "TEXT";
}

// Migrations in order; schema_version records how many ran. Never edit one that shipped: add one.
// Version 1 is SQLite's version 2 (collected_at in milliseconds): PostgreSQL never had text times.
std::vector<std::string> Migrations() {
  std::string v1;
  for (auto dataset : Datasets()) {
    std::string columns;
    for (const auto& c : *ColumnsOf(dataset))
      columns += fmt::format("  {} {},\n", Quoted(c.name), SqlType(c.type));
    // COLLATE "C": market_time and code compare byte-wise, as in SQLite, whatever the locale.
    v1 += fmt::format(
        "CREATE TABLE {} (\n  code TEXT COLLATE \"C\" NOT NULL,\n"
        "  market_time TEXT COLLATE \"C\" NOT NULL,\n"
        "  collected_at BIGINT NOT NULL, -- milliseconds since the Unix epoch (UTC)\n{}"
        "  raw TEXT NOT NULL,\n  PRIMARY KEY (code, market_time)\n);\n",
        Quoted(dataset), columns);
  }
  return {v1};
}

std::int64_t ToMillis(common::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
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
  const auto migrations = Migrations();
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
    tuple += ", " + add(std::to_string(ToMillis(r->collected_at)), false);
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

PgStore::PgStore(PgStoreOptions options)
    : options_(std::move(options)), masked_url_(Masked(options_.url)) {
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
    counters_.connected = false;
    counters_.last_error = error;
  }
  writer_ = std::thread([this] { WriterLoop(); });
}

PgStore::~PgStore() {
  Flush(options_.retry_max * 2);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
  const auto lost = queue_.size() + writing_batch_.size();
  if (lost > 0) {
    spdlog::error("store: {} records could not be written to {}: {}", lost, masked_url_,
                  counters_.last_error);
  }
  PQfinish(reader_);
  PQfinish(writer_conn_);
}

void PgStore::Write(std::vector<Record> records) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    wake = queue_.empty() || queue_.size() + records.size() >= options_.batch_size;
    for (auto& r : records) {
      // The database keeps milliseconds: memory holds the same, so a value reads alike from both.
      r.collected_at = std::chrono::floor<std::chrono::milliseconds>(r.collected_at);
      auto& latest = latest_[{r.dataset, r.code}];
      if (r.market_time >= latest.market_time) latest = r;
      queue_.push_back(std::move(r));
    }
    // Beyond the bound the oldest queued records go: the newest are what readers and the
    // freshness checks want, and an older value of a series is more often superseded or can be
    // fetched again (daily bars) than the latest one. The batch being retried is kept whole.
    std::size_t dropped = 0;
    while (!queue_.empty() && queue_.size() + writing_batch_.size() > options_.max_buffered) {
      queue_.pop_front();
      ++dropped;
    }
    if (dropped > 0) {
      counters_.dropped += dropped;
      if (!drop_logged_) {
        drop_logged_ = true;
        spdlog::error(
            "store: the database '{}' is unreachable and the write buffer ({} records, "
            "storage.max_buffered) is full: dropping the oldest records until it answers ({})",
            masked_url_, options_.max_buffered, counters_.last_error);
      }
    }
  }
  if (wake) wake_.notify_one();
}

bool PgStore::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ++flushing_;
  wake_.notify_all();
  const bool drained =
      drained_.wait_for(lock, timeout, [this] { return queue_.empty() && !writing_; });
  --flushing_;
  return drained;
}

void PgStore::WriterLoop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    wake_.wait_for(lock, options_.commit_delay, [this] {
      return stopping_ || flushing_ > 0 || queue_.size() >= options_.batch_size;
    });
    // The batch stays readable (Range) while it is committed and retried: readers only read it,
    // and the writer changes it only under the lock.
    auto& batch = writing_batch_;
    while (!queue_.empty() && batch.size() < options_.batch_size) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    writing_ = true;
    auto backoff = options_.retry_min;
    for (;;) {
      lock.unlock();
      std::string error;
      const bool ok = EnsureWriter(error) && Commit(batch, error);
      const bool connected = writer_conn_ != nullptr && PQstatus(writer_conn_) == CONNECTION_OK;
      lock.lock();
      counters_.connected = connected;
      if (ok) {
        if (counters_.last_write_failed) {
          spdlog::info("store: writing to {} again", masked_url_);
        }
        counters_.written += batch.size();
        counters_.transactions++;
        counters_.last_write_failed = false;
        drop_logged_ = false;
        batch.clear();
        break;
      }
      // The whole batch is retried: a transaction cut by the outage was rolled back by the
      // server, or committed before the reply was lost; the upsert makes either safe.
      if (!counters_.last_write_failed) {
        spdlog::warn("store: writing {} records to {} failed ({}); retrying", batch.size(),
                     masked_url_, error);
      }
      counters_.failed_transactions++;
      counters_.last_error = error;
      counters_.last_write_failed = true;
      if (stopping_) {
        writing_ = false;
        return;
      }
      wake_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff = std::min(backoff * 2, options_.retry_max);
    }
    writing_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

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

bool PgStore::Commit(const std::vector<Record>& batch, std::string& error) {
  // De-duplicate first (ON CONFLICT cannot touch one row twice in one statement): per data set
  // and key, the last record queued wins, as it would have written one after the other.
  std::map<std::string, std::vector<const Record*>> by_dataset;
  std::map<std::string, std::unordered_map<std::string, std::size_t>> index;
  for (const auto& r : batch) {
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
    return false;
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
      std::vector<const char*> params;
      params.reserve(upsert.texts.size());
      for (std::size_t i = 0; i < upsert.texts.size(); ++i)
        params.push_back(upsert.null[i] ? nullptr : upsert.texts[i].c_str());
      if (auto r = Exec(writer_conn_, upsert.sql, params); !Ok(r)) return fail("write", r);
    }
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
  std::lock_guard lock(mutex_);
  auto it = latest_.find({dataset, code});
  if (it == latest_.end()) return std::nullopt;
  return it->second;
}

std::optional<common::WallTime> PgStore::LatestCollectedAt(const std::string& dataset,
                                                           const std::string& code) const {
  std::lock_guard lock(mutex_);
  auto it = latest_.find({dataset, code});
  if (it == latest_.end()) return std::nullopt;
  return it->second.collected_at;
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
    std::lock_guard lock(mutex_);
    const auto take = [&](const Record& q) {
      if (q.dataset == dataset && q.code == code && in_range(q.market_time)) {
        rows.insert_or_assign(q.market_time, q);
      }
    };
    for (const auto& q : writing_batch_) take(q);
    for (const auto& q : queue_) take(q);
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

std::vector<Freshness> PgStore::Ages(common::WallTime now) const {
  std::vector<Freshness> out;
  std::lock_guard lock(mutex_);
  for (const auto& [key, record] : latest_) {
    out.push_back(Freshness{key.first, key.second, record.collected_at,
                            std::chrono::duration<double>(now - record.collected_at).count()});
  }
  std::sort(out.begin(), out.end(),
            [](const Freshness& a, const Freshness& b) { return a.age_s > b.age_s; });
  return out;
}

std::int64_t PgStore::Count(const std::string& dataset) const {
  if (ColumnsOf(dataset) == nullptr) return 0;
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
  names = "{" + names + ",schema_version}";
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

StoreCounters PgStore::Counters() const {
  std::lock_guard lock(mutex_);
  auto c = counters_;
  c.queued = queue_.size();
  return c;
}

}  // namespace kisgate::store

#include "store/pg_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>

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
using SteadyTime = std::chrono::steady_clock::time_point;

bool Ok(const Result& r) {
  const auto status = PQresultStatus(r.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// How long each wait on the server may take, and who may cut it short. Every libpq call below runs
// on a connection in non-blocking mode and waits in poll() slices: a server that stops answering
// (SIGSTOP, a network path dropping packets) costs at most `timeout`, never a thread for good.
struct Within {
  SteadyTime deadline;
  std::function<bool()> aborted;  // may be empty
};

// Why a wait ended without the server's answer.
enum class Io { kOk, kTimeout, kAborted, kBroken };

// Waits until the connection's socket is readable (or writable with `write`), the deadline
// passes, or the wait is aborted.
Io WaitSocket(pg_conn* conn, bool write, const Within& within) {
  const int fd = PQsocket(conn);
  if (fd < 0) return Io::kBroken;
  for (;;) {
    if (within.aborted && within.aborted()) return Io::kAborted;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        within.deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Io::kTimeout;
    pollfd p{fd, static_cast<short>(write ? (POLLOUT | POLLIN) : POLLIN), 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 50)));
    if (n > 0) return Io::kOk;
    if (n < 0 && errno != EINTR) return Io::kBroken;
  }
}

// A statement's answer: the server's result (its first error, else its last result), or why none
// came; after anything but kOk the connection is unusable and the caller drops it.
struct Reply {
  Result result{nullptr, &PQclear};
  Io io = Io::kOk;
  std::string error;  // why, when io is not kOk
  bool ok() const { return io == Io::kOk && result && Ok(result); }
};

std::string IoError(Io io, const Within& within, pg_conn* conn) {
  switch (io) {
    case Io::kOk:
      return {};
    case Io::kTimeout:
      return "the database did not answer in time (storage.timeout)";
    case Io::kAborted:
      return "the store is closing";
    case Io::kBroken: {
      std::string message = conn != nullptr ? PQerrorMessage(conn) : "";
      while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
      std::replace(message.begin(), message.end(), '\n', ' ');
      return message.empty() ? "the connection broke" : message;
    }
  }
  (void)within;
  return {};
}

// Sends what libpq holds for the server.
Io FlushOut(pg_conn* conn, const Within& within) {
  for (;;) {
    const int f = PQflush(conn);
    if (f == 0) return Io::kOk;
    if (f < 0) return Io::kBroken;
    if (auto io = WaitSocket(conn, true, within); io != Io::kOk) return io;
    if (PQconsumeInput(conn) == 0) return Io::kBroken;
  }
}

// Reads the results of what was sent, up to the end (or a COPY IN, which the caller feeds).
Reply Collect(pg_conn* conn, const Within& within) {
  Reply reply;
  for (;;) {
    while (PQisBusy(conn) != 0) {
      if (auto io = WaitSocket(conn, false, within); io != Io::kOk) {
        reply.io = io;
        reply.result.reset();
        reply.error = IoError(io, within, conn);
        return reply;
      }
      if (PQconsumeInput(conn) == 0) {
        reply.io = Io::kBroken;
        reply.result.reset();
        reply.error = IoError(Io::kBroken, within, conn);
        return reply;
      }
    }
    PGresult* next = PQgetResult(conn);
    if (next == nullptr) break;
    const auto status = PQresultStatus(next);
    // The first error is the answer (several statements stop at it); else the last result.
    const auto kept = reply.result ? PQresultStatus(reply.result.get()) : PGRES_EMPTY_QUERY;
    if (kept == PGRES_FATAL_ERROR || kept == PGRES_BAD_RESPONSE) {
      PQclear(next);
    } else {
      reply.result.reset(next);
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) break;
  }
  if (!reply.result) {
    reply.io = Io::kBroken;
    reply.error = IoError(Io::kBroken, within, conn);
  }
  return reply;
}

// Runs `sql` (with parameters: the extended protocol; without: the simple one, which takes
// several statements, as the migrations have) within the deadline.
Reply ExecWithin(pg_conn* conn, const std::string& sql, const Within& within,
                 const std::vector<const char*>& params = {}) {
  const int sent = params.empty()
                       ? PQsendQuery(conn, sql.c_str())
                       : PQsendQueryParams(conn, sql.c_str(), static_cast<int>(params.size()),
                                           nullptr, params.data(), nullptr, nullptr, 0);
  Reply reply;
  if (sent == 0) {
    reply.io = Io::kBroken;
    reply.error = IoError(Io::kBroken, within, conn);
    return reply;
  }
  if (auto io = FlushOut(conn, within); io != Io::kOk) {
    reply.io = io;
    reply.error = IoError(io, within, conn);
    return reply;
  }
  return Collect(conn, within);
}

// Feeds a COPY IN that ExecWithin opened, ends it and reads its result.
Reply CopyWithin(pg_conn* conn, const std::string& data, const Within& within) {
  Reply reply;
  const auto fail = [&](Io io) {
    reply.io = io;
    reply.error = IoError(io, within, conn);
    return std::move(reply);
  };
  for (;;) {
    const int put = PQputCopyData(conn, data.data(), static_cast<int>(data.size()));
    if (put == 1) break;
    if (put < 0) return fail(Io::kBroken);
    if (auto io = WaitSocket(conn, true, within); io != Io::kOk) return fail(io);
    if (PQconsumeInput(conn) == 0) return fail(Io::kBroken);
  }
  for (;;) {
    const int end = PQputCopyEnd(conn, nullptr);
    if (end == 1) break;
    if (end < 0) return fail(Io::kBroken);
    if (auto io = WaitSocket(conn, true, within); io != Io::kOk) return fail(io);
  }
  if (auto io = FlushOut(conn, within); io != Io::kOk) return fail(io);
  return Collect(conn, within);
}

// Whether a failed statement failed for the values it was given (SQLSTATE classes 22 data
// exception: invalid bytes, a value out of range; 23 integrity constraint; 54 program limit: an
// index row over btree's limit): the same values would fail again, whereas other errors (a lock,
// a full disk, a missing table, a shutdown) may pass later.
bool DataError(const Result& r) {
  if (!r) return false;
  const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
  if (state == nullptr) return false;
  const std::string_view code(state);
  return code.starts_with("22") || code.starts_with("23") || code.starts_with("54");
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
      : url(o.url),
        timeout(std::to_string(std::max<std::int64_t>(
            2, std::chrono::ceil<std::chrono::seconds>(o.timeout).count()))) {}
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

// Connects within the deadline, or returns null with `error` set (`io`: why the wait ended; kOk
// with null when the server refused or the URL is unreadable).
pg_conn* ConnectWithin(const PgStoreOptions& o, const Within& within, std::string& error, Io& io) {
  ConnParams params(o);
  io = Io::kOk;
  pg_conn* conn = PQconnectStartParams(params.Keys(), params.Values(), /*expand_dbname=*/1);
  if (conn == nullptr) {
    error = "out of memory";
    return nullptr;
  }
  // The server's notices ("relation already exists, skipping") go to the debug log, not stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char* message) { spdlog::debug("store: {}", OneLine(message)); },
      nullptr);
  auto polling = PGRES_POLLING_WRITING;
  while (PQstatus(conn) != CONNECTION_BAD && polling != PGRES_POLLING_OK &&
         polling != PGRES_POLLING_FAILED) {
    if (io = WaitSocket(conn, polling == PGRES_POLLING_WRITING, within); io != Io::kOk) break;
    polling = PQconnectPoll(conn);
  }
  if (io == Io::kOk && polling == PGRES_POLLING_OK && PQstatus(conn) == CONNECTION_OK &&
      PQsetnonblocking(conn, 1) == 0) {
    return conn;
  }
  error = io == Io::kTimeout   ? "the database did not answer in time (storage.timeout)"
          : io == Io::kAborted ? "the store is closing"
                               : OneLine(PQerrorMessage(conn));
  PQfinish(conn);
  return nullptr;
}

// Runs the pending migrations in one transaction, each statement within `timeout`; "" or what
// failed. A database at a newer version than this binary knows is refused (its tables may not be
// what these statements write); `newer` is then set.
std::string Migrate(pg_conn* conn, const std::string& where, std::chrono::milliseconds timeout,
                    const std::function<bool()>& aborted, bool* newer = nullptr) {
  const auto within = [&] { return Within{std::chrono::steady_clock::now() + timeout, aborted}; };
  const auto error_of = [](const Reply& r) {
    if (r.io != Io::kOk) return r.error;
    return OneLine(PQresultErrorMessage(r.result.get()));
  };
  const auto step = [&](const std::string& sql) {
    auto r = ExecWithin(conn, sql, within());
    return r.ok() ? std::string() : error_of(r);
  };
  auto error = step("BEGIN");
  if (!error.empty()) return error;
  const auto fail = [&](const std::string& what) {
    ExecWithin(conn, "ROLLBACK", within());
    return what;
  };
  if (error = step(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLock)); !error.empty())
    return fail(error);
  if (error = step("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                   "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
      !error.empty())
    return fail(error);
  auto applied_result =
      ExecWithin(conn, "SELECT COALESCE(MAX(version), 0) FROM schema_version", within());
  if (!applied_result.ok()) return fail(error_of(applied_result));
  const auto applied = ParseInt(PQgetvalue(applied_result.result.get(), 0, 0));
  const auto migrations = PgMigrations();
  const auto known = static_cast<std::int64_t>(migrations.size());
  if (applied > known) {
    if (newer != nullptr) *newer = true;
    return fail(fmt::format(
        "the database is at schema version {}, newer than this kisgate knows (version {}): a "
        "newer kisgate has migrated it; run that version, or point storage.url at another "
        "database",
        applied, known));
  }
  for (auto v = applied; v < known; ++v) {
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
  std::string error;
  Io io = Io::kOk;
  writer_conn_ = ConnectWithin(options_, Within{Deadline(), {}}, error, io);
  if (writer_conn_ != nullptr) {
    if (auto e = Migrate(writer_conn_, masked_url_, options_.timeout, {}); !e.empty()) {
      PQfinish(writer_conn_);
      throw std::runtime_error(fmt::format("cannot prepare the database '{}': {}", masked_url_, e));
    }
    migrated_ = true;
  } else {
    // Does a server answer at all? PQping does not log in: it tells a server that is down or
    // starting (bad luck: start, buffer, connect later) from one that answers but refused us
    // (wrong password, unknown role or database) and from a URL libpq cannot read (bad config:
    // refuse to start, so the mistake is seen now and not after an hour of buffering). A server
    // that did not answer in time is not asked again (the ping would wait as long).
    const auto ping = io == Io::kTimeout ? PQPING_NO_RESPONSE : [&] {
      ConnParams params(options_);
      return PQpingParams(params.Keys(), params.Values(), 1);
    }();
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
  queue_.Start([this](std::span<const WriteItem> batch, std::string& error) {
    auto outcome = EnsureWriter(error) ? Commit(batch, error) : CommitOutcome::kRetry;
    queue_.SetConnected(writer_conn_ != nullptr && PQstatus(writer_conn_) == CONNECTION_OK);
    return outcome;
  });
  StartReads(options_.timeout);
}

// NOLINTNEXTLINE(bugprone-exception-escape): throws only on a bug (a failed join)
PgStore::~PgStore() {
  StopReads();
  Close(options_.timeout);
  PQfinish(reader_);
  PQfinish(writer_conn_);
}

std::chrono::steady_clock::time_point PgStore::Deadline() const {
  return std::chrono::steady_clock::now() + options_.timeout;
}

void PgStore::Close(std::chrono::milliseconds timeout) { queue_.Stop(timeout); }

void PgStore::Write(std::vector<Record> records) {
  if (!KeepValid(records)) return;
  latest_.Update(records);
  queue_.Push(std::move(records));
}

void PgStore::WriteTicks(std::vector<kis::Tick> ticks) {
  if (!KeepValid(ticks)) return;
  latest_.Update(ticks);
  queue_.Push(std::move(ticks));
}

void PgStore::WriteBooks(std::vector<kis::BookSnapshot> books) {
  if (!KeepValid(books)) return;
  latest_.Update(books);
  queue_.Push(std::move(books));
}

bool PgStore::Flush(std::chrono::milliseconds timeout) { return queue_.Flush(timeout); }

bool PgStore::EnsureWriter(std::string& error) {
  // Runs on the writer thread only: writer_conn_ and migrated_ are its own.
  const auto aborted = [this] { return queue_.Aborted(); };
  if (writer_conn_ == nullptr || PQstatus(writer_conn_) != CONNECTION_OK) {
    PQfinish(writer_conn_);
    tick_copy_ready_ = false;
    Io io = Io::kOk;
    std::string why;
    writer_conn_ = ConnectWithin(options_, Within{Deadline(), aborted}, why, io);
    if (writer_conn_ == nullptr) {
      error = fmt::format("connect: {}", why);
      return false;
    }
    server_back_ = true;  // readers need not wait out their retry time
  }
  if (!migrated_) {
    bool newer = false;
    if (auto e = Migrate(writer_conn_, masked_url_, options_.timeout, aborted, &newer);
        !e.empty()) {
      error = fmt::format("schema: {}", e);
      if (newer && !newer_logged_) {
        newer_logged_ = true;
        spdlog::error("store: {}: {}; nothing is written to it", masked_url_, e);
      }
      if (PQtransactionStatus(writer_conn_) != PQTRANS_IDLE) {
        PQfinish(writer_conn_);
        writer_conn_ = nullptr;
      }
      return false;
    }
    migrated_ = true;
  }
  return true;
}

CommitOutcome PgStore::Commit(std::span<const WriteItem> batch, std::string& error) {
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
  const auto aborted = [this] { return queue_.Aborted(); };
  const auto within = [&] { return Within{Deadline(), aborted}; };
  // A statement that failed: for its values (the batch is split), or for the server's sake (the
  // same is tried again; a connection that timed out or broke is dropped and made anew).
  const auto fail = [&](const std::string& what, const Reply& r) {
    tick_copy_ready_ = false;  // created in a transaction rolled back, or on a cut connection
    if (r.io != Io::kOk) {
      error = fmt::format("{}: {}", what, r.error);
      PQfinish(writer_conn_);
      writer_conn_ = nullptr;
      return CommitOutcome::kRetry;
    }
    error = fmt::format("{}: {}", what, OneLine(PQresultErrorMessage(r.result.get())));
    const bool bad_data = DataError(r.result);
    if (PQstatus(writer_conn_) != CONNECTION_OK ||
        !ExecWithin(writer_conn_, "ROLLBACK", within()).ok()) {
      PQfinish(writer_conn_);
      writer_conn_ = nullptr;
      return CommitOutcome::kRetry;
    }
    return bad_data ? CommitOutcome::kBadData : CommitOutcome::kRetry;
  };
  const auto execute = [&](const std::string& sql, const std::vector<std::string>& texts,
                           const std::vector<bool>& null) {
    std::vector<const char*> params;
    params.reserve(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i)
      params.push_back(null[i] ? nullptr : texts[i].c_str());
    return ExecWithin(writer_conn_, sql, within(), params);
  };
  if (auto r = ExecWithin(writer_conn_, "BEGIN", within()); !r.ok()) return fail("begin", r);
  for (const auto& [dataset, rows] : by_dataset) {
    const std::size_t per_row = ColumnsOf(dataset)->size() + 4;
    const std::size_t chunk = std::max<std::size_t>(1, kMaxParams / per_row);
    for (std::size_t first = 0; first < rows.size(); first += chunk) {
      const std::vector<const Record*> part(
          rows.begin() + static_cast<std::ptrdiff_t>(first),
          rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), first + chunk)));
      const auto upsert = BuildUpsert(dataset, part);
      if (auto r = execute(upsert.sql, upsert.texts, upsert.null); !r.ok()) return fail("write", r);
    }
  }
  if (!ticks.empty()) {
    // Trades by COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO
    // NOTHING: the server parses no statement per row (several times the multi-row INSERT's rate).
    // The table lives as long as the connection; ON COMMIT DELETE ROWS empties it each time.
    if (!tick_copy_ready_) {
      if (auto r = ExecWithin(writer_conn_,
                              fmt::format("CREATE TEMP TABLE IF NOT EXISTS ticks_in (LIKE {}) ON "
                                          "COMMIT DELETE ROWS",
                                          Quoted(kTicksTable)),
                              within());
          !r.ok())
        return fail("write", r);
      tick_copy_ready_ = true;
    }
    std::string names;
    for (const auto& c : TickColumns())
      names += fmt::format("{}{}", names.empty() ? "" : ", ", Quoted(c.name));
    auto copy =
        ExecWithin(writer_conn_, fmt::format("COPY ticks_in ({}) FROM STDIN", names), within());
    if (copy.io != Io::kOk || PQresultStatus(copy.result.get()) != PGRES_COPY_IN)
      return fail("write", copy);
    if (auto r = CopyWithin(writer_conn_, CopyText(ticks), within()); !r.ok())
      return fail("write", r);
    if (auto r = ExecWithin(writer_conn_,
                            fmt::format("INSERT INTO {0} ({1}) SELECT {1} FROM ticks_in ON "
                                        "CONFLICT DO NOTHING",
                                        Quoted(kTicksTable), names),
                            within());
        !r.ok())
      return fail("write", r);
  }
  const std::size_t chunk = std::max<std::size_t>(1, kMaxParams / BookColumns().size());
  for (std::size_t first = 0; first < books.size(); first += chunk) {
    const auto insert = BuildStreamInsert(kBooksTable, BookColumns(), books, first,
                                          std::min(books.size(), first + chunk), /*update=*/true);
    if (auto r = execute(insert.sql, insert.texts, insert.null); !r.ok()) return fail("write", r);
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
    if (auto r = execute(AuditInsertSql(/*postgres=*/true), texts, null); !r.ok())
      return fail("write", r);
  }
  if (auto r = ExecWithin(writer_conn_, "COMMIT", within()); !r.ok()) return fail("commit", r);
  return CommitOutcome::kCommitted;
}

pg_conn* PgStore::Reader() const {
  // Under read_mutex_.
  if (reader_ != nullptr && PQstatus(reader_) == CONNECTION_OK) return reader_;
  PQfinish(reader_);
  reader_ = nullptr;
  // While the server is away, readers try it at most every retry_max: a host that does not answer
  // would otherwise hold every read (API requests) for the timeout.
  const auto now = std::chrono::steady_clock::now();
  if (now < reader_retry_at_ && !server_back_.exchange(false)) return nullptr;
  std::string error;
  Io io = Io::kOk;
  reader_ =
      ConnectWithin(options_, Within{Deadline(), [this] { return ReadsStopping(); }}, error, io);
  if (reader_ == nullptr) {
    reader_retry_at_ = now + options_.retry_max;
    reader_timed_out_ = io == Io::kTimeout;
  }
  return reader_;
}

bool PgStore::Answer::Ok() const {
  if (error != ReadError::kNone || !result) return false;
  const auto status = PQresultStatus(result.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

PgStore::Answer PgStore::Read(const std::string& sql,
                              const std::vector<const char*>& params) const {
  // Under read_mutex_. Once more on a fresh connection when the first found it cut (the server
  // restarted since the last read).
  Answer answer;
  for (int attempt = 0; attempt < 2; ++attempt) {
    reader_timed_out_ = false;
    pg_conn* conn = Reader();
    if (conn == nullptr) {
      answer.error = reader_timed_out_ ? ReadError::kTimeout : ReadError::kUnavailable;
      answer.message = fmt::format("the database '{}' {}", masked_url_,
                                   answer.error == ReadError::kTimeout
                                       ? "did not answer in time (storage.timeout)"
                                       : "cannot be reached");
      return answer;
    }
    auto r = ExecWithin(conn, sql, Within{Deadline(), [this] { return ReadsStopping(); }}, params);
    if (r.io == Io::kOk) {
      answer.error = ReadError::kNone;
      answer.message.clear();
      answer.result = std::move(r.result);
      return answer;
    }
    // The connection is unusable after any of these: dropped, and not tried again for a while
    // when the server did not answer (every read would wait as long).
    PQfinish(reader_);
    reader_ = nullptr;
    answer.error = r.io == Io::kTimeout ? ReadError::kTimeout : ReadError::kUnavailable;
    answer.message = fmt::format("the database '{}': {}", masked_url_, r.error);
    if (r.io != Io::kBroken) {
      reader_retry_at_ = std::chrono::steady_clock::now() + options_.retry_max;
      return answer;
    }
  }
  return answer;
}

std::optional<Record> PgStore::Latest(const std::string& dataset, const std::string& code) const {
  return latest_.Latest(dataset, code);
}

std::optional<common::WallTime> PgStore::LatestCollectedAt(const std::string& dataset,
                                                           const std::string& code) const {
  return latest_.CollectedAt(dataset, code);
}

ReadResult<std::string> PgStore::CheckedLatestMarketTime(const std::string& dataset,
                                                         const std::string& code) const {
  if (auto r = Latest(dataset, code)) return {r->market_time, ReadError::kNone, {}};
  if (ColumnsOf(dataset) == nullptr) return {};
  std::lock_guard lock(read_mutex_);
  auto a = Read(fmt::format("SELECT MAX(market_time) FROM {} WHERE code = $1", Quoted(dataset)),
                {code.c_str()});
  ReadResult<std::string> out{{}, a.error, a.message};
  const auto* r = a.result.get();
  if (a.Ok() && PQntuples(r) > 0 && PQgetisnull(r, 0, 0) == 0) out.value = PQgetvalue(r, 0, 0);
  return out;
}

ReadResult<std::vector<Record>> PgStore::CheckedRange(const std::string& dataset,
                                                      const std::string& code,
                                                      const std::string& from,
                                                      const std::string& to,
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
  ReadResult<std::vector<Record>> out;
  {
    std::lock_guard lock(read_mutex_);
    std::string names;
    for (const auto& c : *specs) names += fmt::format(", {}", Quoted(c.name));
    const auto limit_text = std::to_string(limit);
    auto a = Read(fmt::format("SELECT market_time, collected_at, raw{} FROM {} WHERE code = $1 AND "
                              "market_time >= $2 AND ($3 = '' OR market_time <= $3) "
                              "ORDER BY market_time DESC LIMIT $4",
                              names, Quoted(dataset)),
                  {code.c_str(), from.c_str(), to.c_str(), limit_text.c_str()});
    out.error = a.error;
    out.message = a.message;
    if (a.Ok()) {
      for (int row = 0; row < PQntuples(a.result.get()); ++row) {
        auto record = ReadRow(a.result.get(), row, dataset, code, *specs);
        rows.emplace(record.market_time, std::move(record));
      }
    }
  }
  for (auto& [t, r] : rows) {
    if (out.value.size() == limit) break;
    out.value.push_back(std::move(r));
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
    auto a =
        Read(fmt::format("SELECT {} FROM {} WHERE code = $1 AND date = $2 AND time >= $3 AND "
                         "($4 = '' OR time <= $4) ORDER BY time, seq LIMIT $5",
                         names, Quoted(kTicksTable)),
             {code.c_str(), date.c_str(), from_time.c_str(), to_time.c_str(), limit_text.c_str()});
    if (a.Ok()) {
      stored.reserve(static_cast<std::size_t>(PQntuples(a.result.get())));
      for (int row = 0; row < PQntuples(a.result.get()); ++row)
        stored.push_back(TickFromRow(ReadValues(a.result.get(), row, TickColumns())));
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
  auto a = Read(AuditSelectSql(/*postgres=*/true), {limit_text.c_str()});
  if (a.Ok()) {
    for (int row = 0; row < PQntuples(a.result.get()); ++row)
      out.push_back(AuditFromRow(ReadValues(a.result.get(), row, AuditColumns())));
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
  auto a = Read(fmt::format("SELECT COUNT(*) FROM {}", Quoted(dataset)));
  if (!a.Ok() || PQntuples(a.result.get()) == 0) return 0;
  return ParseInt(PQgetvalue(a.result.get(), 0, 0));
}

std::string PgStore::IntegrityCheck() const {
  std::lock_guard lock(read_mutex_);
  std::string names;
  for (auto dataset : Datasets()) names += fmt::format("{}{}", names.empty() ? "" : ",", dataset);
  names = fmt::format("{{{},{},{},schema_version}}", names, kTicksTable, kBooksTable);
  auto a = Read(
      "SELECT string_agg(name, ', ' ORDER BY name) FROM unnest($1::text[]) AS name "
      "WHERE to_regclass(quote_ident(name)) IS NULL",
      {names.c_str()});
  if (a.error != ReadError::kNone) return a.message;
  if (!a.Ok()) return OneLine(PQresultErrorMessage(a.result.get()));
  if (PQgetisnull(a.result.get(), 0, 0) != 0) return "ok";
  return fmt::format("missing tables: {}", PQgetvalue(a.result.get(), 0, 0));
}

int PgStore::SchemaVersion() const {
  std::lock_guard lock(read_mutex_);
  auto a = Read("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  if (!a.Ok() || PQntuples(a.result.get()) == 0) return 0;
  return static_cast<int>(ParseInt(PQgetvalue(a.result.get(), 0, 0)));
}

StoreCounters PgStore::Counters() const {
  auto c = queue_.Counters();
  c.invalid = Invalid();
  c.read_timeouts = ReadTimeouts();
  return c;
}

}  // namespace kisgate::store

// The storage suite, run against both back ends (StoreTest, parameterised: SQLite files and a
// real PostgreSQL this binary starts once), then what only one back end has: SQLite's files,
// locks and migrations from version 1 (SqliteStoreTest), PostgreSQL's outages (PgStoreTest).
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <atomic>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/kst.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"
#include "support/pg_server.hpp"
#include "support/test_client.hpp"

namespace kisgate::store {
namespace {

using namespace std::chrono_literals;

std::string CodeOf(int i) { return std::to_string(100000 + i); }

const common::WallTime kCollectedAt = *common::ParseKstDateTime("2026-11-24 10:00:01");

Record Price(std::string code, std::string market_time, std::int64_t price) {
  return Record{"price",
                std::move(code),
                std::move(market_time),
                kCollectedAt,
                {{"price", price}, {"change", std::int64_t{-500}}, {"change_pct", -0.69}},
                R"({"rt_cd":"0","output":{"stck_prpr":")" + std::to_string(price) + R"("}})"};
}

std::vector<Record> Cycle(const std::string& market_time, int codes, std::int64_t price = 71500) {
  std::vector<Record> out;
  out.reserve(static_cast<std::size_t>(codes));
  for (int i = 0; i < codes; ++i) out.push_back(Price(CodeOf(i), market_time, price + i));
  return out;
}

enum class Backend { kSqlite, kPostgres };

// One fresh database per test: a new file, or a new database on the shared server.
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      auto& pg = testing::SharedPgServer();
      url_ = pg.Url(pg.CreateDatabase());
    } else {
      url_ = "sqlite://" + dir_.path() + "/data/kisgate.db";
    }
  }
  std::unique_ptr<Store> MakeStore() const { return Open(url_); }
  // SQLite's version 1 held text times; PostgreSQL started at SQLite's version 2.
  static int CurrentSchemaVersion() { return GetParam() == Backend::kSqlite ? 2 : 1; }

  testing::TempDir dir_;
  std::string url_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

TEST_P(StoreTest, RangeSeesCommittedAndQueuedRecordsNewestFirst) {
  auto owned = MakeStore();
  auto& store = *owned;
  store.Write({Price("005930", "20261124100000", 71500), Price("005930", "20261124100500", 71600),
               Price("005930", "20261125100000", 71700),
               Price("000660", "20261124100000", 182000)});
  // Read at once: whatever the writer has not committed yet comes from its queue.
  auto all = store.Range("price", "005930", "", "", 10);
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].market_time, "20261125100000");
  EXPECT_EQ(all[2].market_time, "20261124100000");
  ASSERT_TRUE(store.Flush(5s));
  auto day = store.Range("price", "005930", "20261124000000", "20261124235959", 10);
  ASSERT_EQ(day.size(), 2U);
  EXPECT_EQ(day[0].market_time, "20261124100500");
  EXPECT_NE(day[0].raw.find("71600"), std::string::npos);
  // Read from the file: the typed columns and the time come back as written.
  EXPECT_EQ(day[0].collected_at, kCollectedAt);
  ASSERT_NE(day[0].Column("price"), nullptr);
  EXPECT_EQ(std::get<std::int64_t>(*day[0].Column("price")), 71600);
  EXPECT_DOUBLE_EQ(std::get<double>(*day[0].Column("change_pct")), -0.69);
  EXPECT_EQ(day[0].Column("volume"), nullptr);  // never written
  EXPECT_EQ(store.Range("price", "005930", "", "", 1).size(), 1U);
  EXPECT_TRUE(store.Range("price", "035420", "", "", 10).empty());
  EXPECT_TRUE(store.Range("no_such_dataset", "005930", "", "", 10).empty());
  // A rewrite of a stored row is seen with its new value before it is committed.
  store.Write({Price("005930", "20261124100500", 99999)});
  auto rewritten = store.Range("price", "005930", "20261124100500", "20261124100500", 10);
  ASSERT_EQ(rewritten.size(), 1U);
  EXPECT_NE(rewritten[0].raw.find("99999"), std::string::npos);
}

TEST_P(StoreTest, WritesMigratesAndKeepsTheLatestInMemory) {
  auto owned = MakeStore();
  auto& store = *owned;
  EXPECT_EQ(store.SchemaVersion(), CurrentSchemaVersion());
  store.Write({Price("005930", "20261124100000", 71500), Price("005930", "20261124100500", 71600),
               Price("000660", "20261124100000", 182000)});
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("price"), 3);
  auto latest = store.Latest("price", "005930");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->market_time, "20261124100500");
  EXPECT_EQ(store.Counters().written, 3U);
  EXPECT_EQ(store.IntegrityCheck(), "ok");
  // Every (data set, code) has a known age: collected at 10:00:01 KST, asked at 10:00:31.
  auto ages = store.Ages(*common::ParseKstDateTime("2026-11-24 10:00:31"));
  ASSERT_EQ(ages.size(), 2U);
  EXPECT_DOUBLE_EQ(ages[0].age_s, 30.0);
}

// Re-running a cycle (or retrying it) writes the same keys: no duplicate rows, newest values.
TEST_P(StoreTest, WritingTheSameCycleTwiceAddsNoRows) {
  auto owned = MakeStore();
  auto& store = *owned;
  store.Write(Cycle("20261124100000", 100));
  store.Write(Cycle("20261124100000", 100, 80000));
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("price"), 100);
  EXPECT_EQ(std::get<std::int64_t>(store.Latest("price", CodeOf(0))->columns[0].second), 80000);
}

TEST_P(StoreTest, ReopenKeepsRowsAndDoesNotMigrateAgain) {
  {
    auto store = MakeStore();
    store->Write(Cycle("20261124100000", 10));
  }  // the destructor flushes
  auto owned = MakeStore();
  auto& reopened = *owned;
  EXPECT_EQ(reopened.Count("price"), 10);
  EXPECT_EQ(reopened.SchemaVersion(), CurrentSchemaVersion());
  // A restarted collector learns where it stopped from the file.
  EXPECT_EQ(reopened.LatestMarketTime("price", CodeOf(3)), "20261124100000");
  EXPECT_EQ(reopened.LatestMarketTime("price", "999999"), "");
}

// Every data set's table takes its typed columns (integers, reals, absent ones) and gives them
// back; one write holding a key twice keeps its last value (PostgreSQL's batch must de-duplicate
// it).
TEST_P(StoreTest, EveryDatasetRoundTripsAndABatchMayRepeatAKey) {
  auto store = MakeStore();
  std::vector<Record> batch;
  for (auto dataset : Datasets()) {
    Record r{std::string(dataset), "005930", "20261124100000", kCollectedAt + 123ms, {}, "{}"};
    std::int64_t n = 1;
    for (const auto& c : *ColumnsOf(dataset)) {
      if (c.type == ColumnSpec::kReal) {
        r.columns.emplace_back(c.name, Value{-0.1 * static_cast<double>(n++)});
      } else if (c.type == ColumnSpec::kInteger && n % 3 != 0) {
        r.columns.emplace_back(c.name, Value{std::int64_t{-9000000000} * n++});
      } else {
        ++n;  // left out: reads back as absent
      }
    }
    batch.push_back(r);
    batch.push_back(std::move(r));
  }
  batch.push_back(Price("005930", "20261124100000", 1));
  batch.push_back(Price("005930", "20261124100000", 2));
  const auto written = batch;
  store->Write(batch);
  ASSERT_TRUE(store->Flush(10s));
  EXPECT_EQ(store->Counters().last_error, "");
  for (auto dataset : Datasets()) {
    EXPECT_EQ(store->Count(std::string(dataset)), 1) << dataset;
    const auto rows = store->Range(std::string(dataset), "005930", "", "", 10);
    ASSERT_EQ(rows.size(), 1U) << dataset;
    EXPECT_EQ(rows[0].collected_at, dataset == "price" ? kCollectedAt : kCollectedAt + 123ms);
    if (dataset == "price") {
      EXPECT_EQ(std::get<std::int64_t>(*rows[0].Column("price")), 2);
      continue;
    }
    const auto& expected = *std::find_if(written.begin(), written.end(),
                                         [&](const Record& r) { return r.dataset == dataset; });
    EXPECT_EQ(rows[0].columns, expected.columns) << dataset;
  }
  EXPECT_EQ(store->IntegrityCheck(), "ok");
}

// What only the SQLite back end has: its file, its locks, its migration from version 1.
class SqliteStoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.path = dir_.path() + "/data/kisgate.db";
    return o;
  }
  testing::TempDir dir_;
};

TEST_F(SqliteStoreTest, UnwritableLocationIsNamed) {
  StoreOptions o;
  o.path = "/proc/kisgate-cannot-exist/kisgate.db";
  try {
    SqliteStore store(o);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/kisgate-cannot-exist"), std::string::npos)
        << e.what();
  }
}

// Another process holds the database: the batch fails, stays queued (and in memory), and is
// written once the lock goes away. Nothing already stored is touched.
TEST_F(SqliteStoreTest, LockedDatabaseRetriesWithoutLosingRecords) {
  auto o = Options();
  o.busy_timeout = 20ms;
  o.retry_after = 50ms;
  SqliteStore store(o);
  store.Write(Cycle("20261124100000", 5));
  ASSERT_TRUE(store.Flush(5s));
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  store.Write(Cycle("20261124100500", 5));
  EXPECT_FALSE(store.Flush(300ms));
  EXPECT_GE(store.Counters().failed_transactions, 1U);
  EXPECT_FALSE(store.Counters().last_error.empty());
  EXPECT_EQ(store.Latest("price", CodeOf(0))->market_time, "20261124100500");  // served from memory
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("price"), 10);
}

// Schema version 1 as it shipped: collected_at held ISO 8601 text.
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')));
CREATE TABLE bars_daily (code TEXT NOT NULL, market_time TEXT NOT NULL, collected_at TEXT NOT NULL,
  open INTEGER, high INTEGER, low INTEGER, close INTEGER, volume INTEGER, traded_value INTEGER,
  raw TEXT NOT NULL, PRIMARY KEY (code, market_time)) WITHOUT ROWID;
CREATE TABLE bars_minute (code TEXT NOT NULL, market_time TEXT NOT NULL, collected_at TEXT NOT NULL,
  open INTEGER, high INTEGER, low INTEGER, close INTEGER, volume INTEGER, traded_value INTEGER,
  raw TEXT NOT NULL, PRIMARY KEY (code, market_time)) WITHOUT ROWID;
CREATE TABLE investors (code TEXT NOT NULL, market_time TEXT NOT NULL, collected_at TEXT NOT NULL,
  close INTEGER, individuals_net INTEGER, foreigners_net INTEGER, institutions_net INTEGER,
  raw TEXT NOT NULL, PRIMARY KEY (code, market_time)) WITHOUT ROWID;
CREATE TABLE orderbook (code TEXT NOT NULL, market_time TEXT NOT NULL, collected_at TEXT NOT NULL,
  best_ask INTEGER, best_bid INTEGER, total_ask_quantity INTEGER, total_bid_quantity INTEGER,
  expected_price INTEGER, raw TEXT NOT NULL, PRIMARY KEY (code, market_time)) WITHOUT ROWID;
CREATE TABLE overtime_orderbook (code TEXT NOT NULL, market_time TEXT NOT NULL, collected_at TEXT NOT NULL,
  best_ask INTEGER, best_bid INTEGER, total_ask_quantity INTEGER, total_bid_quantity INTEGER,
  raw TEXT NOT NULL, PRIMARY KEY (code, market_time)) WITHOUT ROWID;
CREATE TABLE overtime_price (code TEXT NOT NULL, market_time TEXT NOT NULL, collected_at TEXT NOT NULL,
  price INTEGER, change INTEGER, volume INTEGER, raw TEXT NOT NULL,
  PRIMARY KEY (code, market_time)) WITHOUT ROWID;
CREATE TABLE price (code TEXT NOT NULL, market_time TEXT NOT NULL, collected_at TEXT NOT NULL,
  price INTEGER, change INTEGER, change_pct REAL, open INTEGER, high INTEGER, low INTEGER,
  volume INTEGER, traded_value INTEGER, raw TEXT NOT NULL,
  PRIMARY KEY (code, market_time)) WITHOUT ROWID;
INSERT INTO schema_migrations (version) VALUES (1);
-- Both shapes the version-1 code wrote: whole seconds (collection), milliseconds (the API).
INSERT INTO price (code, market_time, collected_at, price, change_pct, raw) VALUES
  ('005930', '20261124100000', '2026-11-24T10:00:01+09:00', 71500, -0.69, '{"rt_cd":"0","output":{"stck_prpr":"71500"}}'),
  ('005930', '20261124100500', '2026-11-24T10:05:01.123+09:00', 71600, NULL, '{"rt_cd":"0","output":{"stck_prpr":"71600"}}');
INSERT INTO bars_daily (code, market_time, collected_at, open, high, low, close, volume, traded_value, raw) VALUES
  ('005930', '20261120', '2026-11-24T10:00:02+09:00', 70000, 71000, 69000, 70500, 1000, 70500000, '{"stck_bsop_date":"20261120"}');
)sql";

void MakeFile(const std::string& path, const std::string& sql) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      if (!out.empty()) out += ",";
      const auto* text = sqlite3_column_text(stmt, 0);
      out += text ? reinterpret_cast<const char*>(text) : "NULL";
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// A file of schema version 1 (times as text, in two shapes) opens migrated: every row keeps its
// values, its time reads back to the millisecond, new writes land in the migrated tables, and a
// second open changes nothing.
TEST_F(SqliteStoreTest, MigratesAVersion1FileToMillisecondTimes) {
  const auto path = Options().path;
  MakeFile(path, kVersion1Schema);
  const auto at_10_00_01 = *common::ParseKstDateTime("2026-11-24 10:00:01");
  const auto at_10_05_01_123 = *common::ParseKstDateTime("2026-11-24 10:05:01") + 123ms;
  const auto check = [&](const SqliteStore& store) {
    EXPECT_EQ(store.SchemaVersion(), 2);
    auto rows = store.Range("price", "005930", "", "", 10);
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows[0].collected_at, at_10_05_01_123);
    EXPECT_EQ(rows[1].collected_at, at_10_00_01);
    EXPECT_EQ(std::get<std::int64_t>(*rows[0].Column("price")), 71600);
    EXPECT_EQ(rows[0].Column("change_pct"), nullptr);
    EXPECT_DOUBLE_EQ(std::get<double>(*rows[1].Column("change_pct")), -0.69);
    EXPECT_EQ(rows[1].raw, R"({"rt_cd":"0","output":{"stck_prpr":"71500"}})");
    auto bars = store.Range("bars_daily", "005930", "", "", 10);
    ASSERT_EQ(bars.size(), 1U);
    EXPECT_EQ(bars[0].collected_at, at_10_00_01 + 1s);
    EXPECT_EQ(std::get<std::int64_t>(*bars[0].Column("traded_value")), 70500000);
    EXPECT_EQ(store.IntegrityCheck(), "ok");
  };
  {
    SqliteStore store(Options());
    check(store);
    store.Write({Price("000660", "20261124100000", 182000)});
    ASSERT_TRUE(store.Flush(5s));
    EXPECT_EQ(store.Count("price"), 3);
  }
  EXPECT_EQ(QueryText(path, "SELECT version FROM schema_migrations ORDER BY version"), "1,2");
  EXPECT_EQ(QueryText(path, "SELECT DISTINCT typeof(collected_at) FROM price"), "integer");
  EXPECT_EQ(QueryText(path, "SELECT collected_at FROM price WHERE market_time = '20261124100500'"),
            "1795482301123");
  SqliteStore again(Options());
  check(again);
  EXPECT_EQ(again.Count("price"), 3);
  EXPECT_EQ(QueryText(path, "SELECT version FROM schema_migrations ORDER BY version"), "1,2");
}

// A migration that cannot finish (here: a time no one can read) rolls back whole: the file stays
// at version 1 with its rows, and the error names the file and the migration.
TEST_F(SqliteStoreTest, FailedMigrationLeavesTheFileAsItWas) {
  const auto path = Options().path;
  MakeFile(path, std::string(kVersion1Schema) +
                     "INSERT INTO orderbook (code, market_time, collected_at, raw) VALUES "
                     "('005930', '20261124100000', 'yesterday', '{}');");
  try {
    SqliteStore store(Options());
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("migration 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(QueryText(path, "SELECT version FROM schema_migrations"), "1");
  EXPECT_EQ(QueryText(path, "SELECT collected_at FROM price ORDER BY market_time"),
            "2026-11-24T10:00:01+09:00,2026-11-24T10:05:01.123+09:00");
  EXPECT_EQ(QueryText(path, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v2'"), "0");
}

// store::Open picks the back end from the URL and names what it cannot open.
TEST_F(SqliteStoreTest, OpenTakesSqliteUrlsAndNamesOthers) {
  const auto path = Options().path;
  auto store = Open("sqlite://" + path);
  store->Write({Price("005930", "20261124100000", 71500)});
  ASSERT_TRUE(store->Flush(5s));
  EXPECT_EQ(store->Count("price"), 1);
  EXPECT_EQ(store->SchemaVersion(), 2);
  const auto message = [](const std::string& url) {
    try {
      Open(url);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto other = message("mysql://kisgate:hunter2@db.local/kisgate");
  EXPECT_NE(other.find("mysql://kisgate:***@db.local/kisgate"), std::string::npos) << other;
  EXPECT_EQ(other.find("hunter2"), std::string::npos) << other;
  EXPECT_NE(message("mysql://localhost/kisgate").find("'mysql://localhost/kisgate'"),
            std::string::npos);
  EXPECT_NE(message("sqlite://").find("names no file"), std::string::npos);
  EXPECT_NE(message("sqlite://:memory:").find("in-memory"), std::string::npos);
  EXPECT_NE(message("kisgate.db").find("'kisgate.db'"), std::string::npos);
}

// SIGKILL in the middle of writing: the file stays sound, and writing the same cycles again
// after the restart adds nothing.
TEST_F(SqliteStoreTest, KilledMidWriteLeavesASoundFileAndNoDuplicates) {
  const auto o = Options();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SqliteStore store(o);
    for (int cycle = 0;; ++cycle) {
      store.Write(Cycle(std::to_string(20261124100000 + cycle), 50));
      usleep(2000);
    }
  }
  std::this_thread::sleep_for(300ms);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  SqliteStore store(o);
  EXPECT_EQ(store.IntegrityCheck(), "ok");
  const auto rows = store.Count("price");
  EXPECT_GT(rows, 0);
  EXPECT_EQ(rows % 50, 0);  // whole transactions only
  // The restarted collector re-runs the first cycles: no new rows.
  for (int cycle = 0; cycle < 3; ++cycle)
    store.Write(Cycle(std::to_string(20261124100000 + cycle), 50));
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("price"), rows);
}

// What only the PostgreSQL back end has: a server that goes away and comes back.
class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg_.CreateDatabase(); }
  void TearDown() override {
    // A test that failed with the server stopped leaves it running for the next one.
    try {
      pg_.Query("postgres", "SELECT 1");
    } catch (const std::exception&) {
      pg_.Start();
    }
  }
  // Short waits: the tests bring the server back within a second or two.
  PgStoreOptions Options() const {
    PgStoreOptions o;
    o.url = pg_.Url(db_);
    o.commit_delay = 2ms;
    o.retry_min = 10ms;
    o.retry_max = 100ms;
    return o;
  }
  static std::string MarketTime(int cycle) { return std::to_string(20261124090000 + cycle); }
  // Waits (boundless but for the test's timeout) until `done` holds.
  template <typename Done>
  static void WaitUntil(Done done) {
    while (!done()) std::this_thread::sleep_for(5ms);
  }

  testing::PgServer& pg_ = testing::SharedPgServer();
  std::string db_;
};

// The server restarts (pg_ctl restart -m fast cuts every connection) while a writer writes: the
// writer's transactions fail, are retried whole, and every record is there exactly once.
TEST_F(PgStoreTest, ServerRestartedMidWriteLosesAndDuplicatesNothing) {
  PgStore store(Options());
  constexpr int kCycles = 120;
  constexpr int kCodes = 50;
  std::atomic<int> cycles_written{0};
  std::thread writer([&] {
    for (int cycle = 0; cycle < kCycles; ++cycle) {
      store.Write(Cycle(MarketTime(cycle), kCodes, 70000 + cycle));
      cycles_written = cycle + 1;
      std::this_thread::sleep_for(5ms);
    }
  });
  WaitUntil([&] { return store.Counters().written > 0; });
  pg_.Restart();
  // At least one cycle is written after the restart, on the connection the restart cut.
  const int after_restart = cycles_written + 1;
  WaitUntil([&] { return cycles_written >= std::min(after_restart, kCycles); });
  writer.join();
  ASSERT_TRUE(store.Flush(30s)) << store.Counters().last_error;
  const auto counters = store.Counters();
  EXPECT_GE(counters.failed_transactions, 1U);
  EXPECT_FALSE(counters.last_write_failed);
  EXPECT_TRUE(counters.connected);
  EXPECT_EQ(counters.dropped, 0U);
  EXPECT_EQ(store.Count("price"), kCycles * kCodes);
  EXPECT_EQ(pg_.Query(db_, "SELECT count(DISTINCT (code, market_time)) FROM price"),
            std::to_string(kCycles * kCodes));
  // Every record holds the value of its own cycle.
  EXPECT_EQ(pg_.Query(db_,
                      "SELECT count(*) FROM price WHERE price <> 70000 + "
                      "(market_time::bigint - 20261124090000) + (code::int - 100000)"),
            "0");
  EXPECT_EQ(store.IntegrityCheck(), "ok");
}

// An outage longer than the buffer holds: what is beyond the bound is dropped and counted, the
// store says it is disconnected meanwhile, and what was kept is written once the server is back.
TEST_F(PgStoreTest, OutageBeyondTheBufferCountsDroppedRecords) {
  auto o = Options();
  o.max_buffered = 100;
  PgStore store(o);
  store.Write(Cycle(MarketTime(0), 10));
  ASSERT_TRUE(store.Flush(10s));
  pg_.Stop();
  for (int cycle = 1; cycle <= 5; ++cycle) store.Write(Cycle(MarketTime(cycle), 50));
  WaitUntil([&] { return !store.Counters().connected; });
  auto counters = store.Counters();
  EXPECT_EQ(counters.dropped, 150U);  // 250 written, 100 held
  EXPECT_TRUE(counters.last_write_failed);
  EXPECT_FALSE(counters.last_error.empty());
  EXPECT_EQ(store.Latest("price", CodeOf(0))->market_time, MarketTime(5));  // from memory
  pg_.Start();
  ASSERT_TRUE(store.Flush(30s)) << store.Counters().last_error;
  counters = store.Counters();
  EXPECT_TRUE(counters.connected);
  EXPECT_FALSE(counters.last_write_failed);
  EXPECT_EQ(counters.dropped, 150U);
  EXPECT_EQ(store.Count("price"), 10 + 100);
}

// A server that is down when kisgate starts is bad luck: the store opens, buffers, and creates the
// schema and writes once the server answers (here through the unix socket, "?host=DIR").
TEST_F(PgStoreTest, ServerDownAtStartBuffersThenMigratesAndWrites) {
  auto o = Options();
  o.url = pg_.SocketUrl(db_);
  pg_.Stop();
  PgStore store(o);
  EXPECT_FALSE(store.Counters().connected);
  EXPECT_EQ(store.SchemaVersion(), 0);
  store.Write(Cycle(MarketTime(0), 20));
  EXPECT_EQ(store.Latest("price", CodeOf(19))->market_time, MarketTime(0));
  EXPECT_EQ(store.Range("price", CodeOf(0), "", "", 10).size(), 1U);
  pg_.Start();
  ASSERT_TRUE(store.Flush(30s)) << store.Counters().last_error;
  EXPECT_TRUE(store.Counters().connected);
  EXPECT_EQ(store.SchemaVersion(), 1);
  EXPECT_EQ(store.Count("price"), 20);
}

// A server that answers but refuses is bad config: kisgate refuses to start, naming the URL with
// its password masked and libpq's reason.
TEST_F(PgStoreTest, WrongPasswordOrUnknownDatabaseRefusesAtStart) {
  const auto message = [](const std::string& url) {
    try {
      Open(url);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto wrong =
      message(fmt::format("postgresql://postgres:hunter2@127.0.0.1:{}/{}", pg_.port(), db_));
  EXPECT_NE(wrong.find(fmt::format("postgresql://postgres:***@127.0.0.1:{}/{}", pg_.port(), db_)),
            std::string::npos)
      << wrong;
  EXPECT_NE(wrong.find("password authentication failed"), std::string::npos) << wrong;
  EXPECT_EQ(wrong.find("hunter2"), std::string::npos) << wrong;
  const auto unknown = message(pg_.Url("no_such_database"));
  EXPECT_NE(unknown.find("\"no_such_database\" does not exist"), std::string::npos) << unknown;
  EXPECT_EQ(unknown.find(pg_.password()), std::string::npos) << unknown;
  const auto query =
      message(fmt::format("postgres://postgres@127.0.0.1:{}/{}?password=hunter2", pg_.port(), db_));
  EXPECT_NE(query.find("password=***"), std::string::npos) << query;
  EXPECT_EQ(query.find("hunter2"), std::string::npos) << query;
}

// Instances starting together migrate once: the advisory lock serialises them.
TEST_F(PgStoreTest, InstancesStartingTogetherMigrateOnce) {
  std::vector<std::unique_ptr<Store>> stores(4);
  std::vector<std::string> errors(stores.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < stores.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        stores[i] = Open(pg_.Url(db_));
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < stores.size(); ++i) {
    ASSERT_TRUE(stores[i]) << errors[i];
    EXPECT_EQ(stores[i]->SchemaVersion(), 1);
  }
  EXPECT_EQ(pg_.Query(db_, "SELECT version FROM schema_version"), "1");
}

}  // namespace
}  // namespace kisgate::store

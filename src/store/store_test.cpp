// The storage suite, run against both back ends (StoreTest, parameterised: SQLite files and a
// real PostgreSQL this binary starts once), then what only one back end has: SQLite's files,
// locks and migrations from version 1 (SqliteStoreTest), PostgreSQL's outages (PgStoreTest).
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include "common/kst.hpp"
#include "kis/realtime.hpp"
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

// A trade of 2026-11-24 with every field set, so a round trip shows each column.
kis::Tick Trade(std::string code, std::string time, std::uint32_t seq, std::int64_t price,
                std::int64_t volume) {
  kis::Tick t;
  t.code = std::move(code);
  t.date = "20261124";
  t.time = std::move(time);
  t.seq = seq;
  t.price = price;
  t.sign = kis::Sign::kDown;
  t.change = -500;
  t.change_pct = -0.69;
  t.vwap = 71234.56;
  t.open = 71000;
  t.high = 72000;
  t.low = 70500;
  t.best_ask = price + 100;
  t.best_bid = price;
  t.volume = volume;
  t.cum_volume = 1000 + volume;
  t.cum_value = 71000000 + price * volume;
  t.received_at = kCollectedAt + 250ms + std::chrono::milliseconds(seq);
  return t;
}

auto Fields(const kis::Tick& t) {
  return std::tie(t.code, t.date, t.time, t.after_hours, t.price, t.sign, t.change, t.change_pct,
                  t.vwap, t.open, t.high, t.low, t.best_ask, t.best_bid, t.volume, t.cum_volume,
                  t.cum_value, t.received_at, t.seq);
}

kis::BookSnapshot Book(std::string code, std::string time, std::int64_t best_ask,
                       common::WallTime received_at) {
  kis::BookSnapshot b;
  b.code = std::move(code);
  b.date = "20261124";
  b.time = std::move(time);
  for (std::size_t i = 0; i < 10; ++i) {
    const auto n = static_cast<std::int64_t>(i);
    b.asks[i] = kis::BookLevel{best_ask + 100 * n, 1000 + n, 0};
    b.bids[i] = kis::BookLevel{best_ask - 100 * (n + 1), 2000 + n, 0};
  }
  b.total_ask_quantity = 10045;
  b.total_bid_quantity = 20045;
  b.expected_price = best_ask - 50;
  b.expected_volume = 77;
  b.cum_volume = 123456;
  b.received_at = received_at;
  return b;
}

auto Fields(const kis::BookSnapshot& b) {
  std::vector<std::int64_t> levels;
  for (const auto* side : {&b.asks, &b.bids}) {
    for (const auto& l : *side) {
      levels.push_back(l.price);
      levels.push_back(l.quantity);
    }
  }
  return std::tuple(b.code, b.date, b.time, b.after_hours, levels, b.total_ask_quantity,
                    b.total_bid_quantity, b.expected_price, b.expected_volume, b.cum_volume,
                    b.received_at);
}

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

enum class Backend { kSqlite, kPostgres };

// One fresh database per test: a new file, or a new database on the shared server.
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      auto& pg = testing::SharedPgServer();
      db_ = pg.CreateDatabase();
      url_ = pg.Url(db_);
    } else {
      url_ = "sqlite://" + dir_.path() + "/data/kisgate.db";
    }
  }
  // The first column of every row `sql` returns, joined by ",", read from the database directly.
  std::string QueryDb(const std::string& sql) const {
    if (GetParam() == Backend::kPostgres) return testing::SharedPgServer().Query(db_, sql);
    return QueryText(dir_.path() + "/data/kisgate.db", sql);
  }
  std::unique_ptr<Store> MakeStore() const { return Open(url_); }
  // SQLite's version 1 held text times; PostgreSQL started at SQLite's version 2.
  static int CurrentSchemaVersion() { return GetParam() == Backend::kSqlite ? 4 : 3; }

  testing::TempDir dir_;
  std::string db_;
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

// Trades read back field for field, oldest first by (time, seq), from the queue before the writer
// commits them and from the database after; the latest per code comes from memory.
TEST_P(StoreTest, TicksRoundTripOldestFirstAndTheLatestIsInMemory) {
  auto store = MakeStore();
  const std::vector<kis::Tick> ticks = {
      Trade("005930", "090000", 0, 71000, 10), Trade("005930", "090000", 1, 71100, 5),
      Trade("005930", "090001", 0, 71200, 7), Trade("000660", "090000", 0, 182000, 3),
      Trade("005930", "090105", 0, 70900, 20)};
  store->WriteTicks({ticks[2], ticks[0], ticks[3]});
  store->WriteTicks({ticks[4], ticks[1]});
  const auto check = [&] {
    const auto all = store->Ticks("005930", "20261124", "", "", 100);
    ASSERT_EQ(all.size(), 4U);
    EXPECT_EQ(Fields(all[0]), Fields(ticks[0]));
    EXPECT_EQ(Fields(all[1]), Fields(ticks[1]));
    EXPECT_EQ(Fields(all[2]), Fields(ticks[2]));
    EXPECT_EQ(Fields(all[3]), Fields(ticks[4]));
    const auto window = store->Ticks("005930", "20261124", "090000", "090059", 2);
    ASSERT_EQ(window.size(), 2U);
    EXPECT_EQ(window[1].seq, 1U);
    EXPECT_EQ(store->Ticks("005930", "20261124", "090001", "", 100).size(), 2U);
    EXPECT_TRUE(store->Ticks("005930", "20261125", "", "", 100).empty());
    EXPECT_EQ(store->Ticks("000660", "20261124", "", "", 100).size(), 1U);
  };
  check();  // before the writer commits (commit_delay)
  ASSERT_TRUE(store->Flush(5s));
  check();
  EXPECT_EQ(store->Count("ticks"), 5);
  const auto latest = store->LatestTick("005930");
  ASSERT_TRUE(latest);
  EXPECT_EQ(Fields(*latest), Fields(ticks[4]));
  EXPECT_FALSE(store->LatestTick("035420"));
  EXPECT_EQ(store->Counters().ticks_written, 5U);
  EXPECT_EQ(store->IntegrityCheck(), "ok");
}

// A reconnect re-delivers trades already stored (and a batch may hold one twice): (code, date,
// time, seq) names a trade, so nothing changes: no new rows, the first values kept.
TEST_P(StoreTest, ReingestingTradesChangesNothing) {
  auto store = MakeStore();
  std::vector<kis::Tick> first;
  for (std::uint32_t i = 0; i < 200; ++i)
    first.push_back(Trade(CodeOf(static_cast<int>(i % 4)), "100000", i / 4, 71000 + i, 1 + i));
  store->WriteTicks(first);
  ASSERT_TRUE(store->Flush(5s));
  auto again = first;
  for (auto& t : again) {
    t.price += 1;
    t.received_at += 3s;
  }
  again.push_back(again.front());
  store->WriteTicks(again);
  // Read before the rewrite is committed: the stored trade wins over its queued copy.
  EXPECT_EQ(store->Ticks(CodeOf(0), "20261124", "", "", 1000).size(), 50U);
  EXPECT_EQ(store->Ticks(CodeOf(0), "20261124", "", "", 1).at(0).price, 71000);
  ASSERT_TRUE(store->Flush(5s));
  EXPECT_EQ(store->Count("ticks"), 200);
  const auto stored = store->Ticks(CodeOf(1), "20261124", "", "", 1000);
  ASSERT_EQ(stored.size(), 50U);
  for (std::size_t i = 0; i < stored.size(); ++i)
    EXPECT_EQ(Fields(stored[i]), Fields(first[i * 4 + 1])) << i;
  EXPECT_EQ(store->Counters().last_error, "");
}

// The audit trail of account-bound calls: every field round-trips, rows come back newest first,
// each write is one row (ids are made unique), and a row written again with its id adds nothing.
TEST_P(StoreTest, AuditRowsRoundTripNewestFirst) {
  auto store = MakeStore();
  AuditEntry order;
  order.at = kCollectedAt;
  order.method = "POST";
  order.path = "/uapi/domestic-stock/v1/trading/order-cash";
  order.tr_id = "TTTC0802U";
  order.key_name = "main";
  order.http_status = 200;
  order.rt_cd = "0";
  order.msg_cd = "APBK0013";
  order.order_no = "0000012345";
  order.client = "127.0.0.1:50123";
  AuditEntry lost = order;
  lost.at = kCollectedAt + 1500ms;
  lost.http_status = 0;
  lost.rt_cd = lost.msg_cd = lost.order_no = "";
  lost.error = "closed_without_response";
  store->WriteAudit(order);
  store->WriteAudit(lost);
  store->WriteAudit(order);  // the same call audited twice is two rows: two ids
  ASSERT_TRUE(store->Flush(10s)) << store->Counters().last_error;
  auto rows = store->Audit(10);
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[0].error, "closed_without_response");
  EXPECT_EQ(rows[0].http_status, 0);
  EXPECT_EQ(rows[0].at, kCollectedAt + 1500ms);
  for (const auto* row : {&rows[1], &rows[2]}) {
    EXPECT_EQ(row->at, kCollectedAt);
    EXPECT_EQ(row->method, "POST");
    EXPECT_EQ(row->path, order.path);
    EXPECT_EQ(row->tr_id, "TTTC0802U");
    EXPECT_EQ(row->key_name, "main");
    EXPECT_EQ(row->http_status, 200);
    EXPECT_EQ(row->rt_cd, "0");
    EXPECT_EQ(row->msg_cd, "APBK0013");
    EXPECT_EQ(row->order_no, "0000012345");
    EXPECT_EQ(row->client, "127.0.0.1:50123");
    EXPECT_EQ(row->error, "");
  }
  EXPECT_NE(rows[1].id, rows[2].id);
  EXPECT_EQ(store->Audit(1).size(), 1U);
  store->WriteAudit(rows[1]);  // a batch written again: its rows are stored once
  ASSERT_TRUE(store->Flush(10s));
  EXPECT_EQ(store->Audit(10).size(), 3U);
  EXPECT_EQ(store->Counters().last_error, "");
}

// Order-book snapshots: every level and total round-trips, the latest per code is in memory, and
// writing a snapshot again (same code, time and received millisecond) adds no row.
TEST_P(StoreTest, BookSnapshotsRoundTripAndRewritingOneAddsNoRow) {
  auto store = MakeStore();
  const auto b1 = Book("005930", "090000", 71100, kCollectedAt);
  const auto b2 = Book("005930", "090000", 71200, kCollectedAt + 400ms);
  const auto b3 = Book("000660", "090001", 182500, kCollectedAt + 900ms);
  store->WriteBooks({b1, b2, b3});
  store->WriteBooks({b1, b1});
  ASSERT_TRUE(store->Flush(5s));
  EXPECT_EQ(store->Count("books"), 3);
  const auto latest = store->LatestBook("005930");
  ASSERT_TRUE(latest);
  EXPECT_EQ(Fields(*latest), Fields(b2));
  EXPECT_FALSE(store->LatestBook("035420"));
  const auto counters = store->Counters();
  EXPECT_EQ(counters.books_written, 5U);
  EXPECT_EQ(counters.last_error, "");
  // As the database holds them: every level of the rewritten snapshot, in order.
  EXPECT_EQ(QueryDb("SELECT ask_price_1 || ':' || ask_quantity_10 || ':' || bid_price_10 || ':' || "
                    "bid_quantity_1 || ':' || expected_volume FROM books ORDER BY code, "
                    "received_at"),
            "182500:1009:181500:2000:77,71100:1009:70100:2000:77,71200:1009:70200:2000:77");
  // After a reopen memory starts empty; the rows stay.
  store.reset();
  store = MakeStore();
  EXPECT_FALSE(store->LatestBook("005930"));
  EXPECT_EQ(store->Count("books"), 3);
}

// Minute bars from the stored trades equal bars computed by hand: first/last trade's price, high,
// low, summed volume and value, a bar per minute that had a trade, after-hours trades left out;
// trades still queued count too.
TEST_P(StoreTest, MinuteBarsFromTicksEqualHandComputedBars) {
  auto store = MakeStore();
  store->WriteTicks(
      {Trade("005930", "090000", 0, 71000, 10), Trade("005930", "090010", 0, 71500, 4),
       Trade("005930", "090010", 1, 70800, 6), Trade("005930", "090059", 0, 71100, 1),
       Trade("000660", "090030", 0, 182000, 9), Trade("005930", "090300", 0, 71300, 2)});
  ASSERT_TRUE(store->Flush(5s));
  auto late = Trade("005930", "090359", 0, 71400, 3);
  auto after_hours = Trade("005930", "161000", 0, 71900, 50);
  after_hours.after_hours = true;
  store->WriteTicks({late, after_hours, Trade("005930", "090000", 0, 99999, 99)});  // + a re-send
  const auto bars = store->MinuteBarsFromTicks("005930", "20261124");
  ASSERT_EQ(bars.size(), 2U);
  const auto expect = [](const kis::Bar& bar, const char* time, std::int64_t open,
                         std::int64_t high, std::int64_t low, std::int64_t close,
                         std::int64_t volume, std::int64_t value) {
    EXPECT_EQ(bar.date, "20261124");
    EXPECT_EQ(bar.time, time);
    EXPECT_EQ(std::tie(bar.open, bar.high, bar.low, bar.close, bar.volume, bar.traded_value),
              std::tie(open, high, low, close, volume, value))
        << time;
  };
  expect(bars[0], "090000", 71000, 71500, 70800, 71100, 21,
         71000 * 10 + 71500 * 4 + 70800 * 6 + 71100 * 1);
  expect(bars[1], "090300", 71300, 71400, 71300, 71400, 5, 71300 * 2 + 71400 * 3);
  EXPECT_TRUE(store->MinuteBarsFromTicks("005930", "20261125").empty());
  ASSERT_TRUE(store->Flush(5s));
  EXPECT_EQ(store->MinuteBarsFromTicks("005930", "20261124").size(), 2U);
  EXPECT_EQ(store->MinuteBarsFromTicks("000660", "20261124").at(0).volume, 9);
}

// Values that are not what the tables are keyed by never reach the database (nor memory): a
// 3,000-character code, a code holding a NUL, a 3,000-digit date, a trade's code of 3,000
// characters or with a NUL. They are counted, and the valid ones around them are written.
TEST_P(StoreTest, InvalidCodesAndDatesAreNotStored) {
  auto store = MakeStore();
  auto records = Cycle("20261124100000", 3);
  records.push_back(Price(std::string(3000, '7'), "20261124100000", 1));
  records.push_back(Price("005930", std::string(3000, '2'), 1));
  records.push_back(Price(std::string("0059\0"
                                      "30",
                                      6),
                          "20261124100000", 1));
  store->Write(records);
  store->WriteTicks({Trade("005930", "090000", 1, 71000, 10),
                     Trade(std::string(3000, 'A'), "090000", 2, 71000, 10),
                     Trade(std::string("00\0"
                                       "5930",
                                       7),
                           "090000", 3, 71000, 10)});
  ASSERT_TRUE(store->Flush(10s)) << store->Counters().last_error;
  EXPECT_EQ(store->Count("price"), 3);
  EXPECT_EQ(store->Count("ticks"), 1);
  EXPECT_EQ(store->Counters().invalid, 5U);
  EXPECT_FALSE(store->Latest("price", "005930"));
  EXPECT_FALSE(store->Counters().last_write_failed);
  // What comes after them is written as ever.
  store->Write(Cycle("20261124100500", 3));
  ASSERT_TRUE(store->Flush(10s));
  EXPECT_EQ(store->Count("price"), 6);
}

// The write queue is bounded (storage.max_buffered) for SQLite as for PostgreSQL: beyond it the
// oldest queued items are dropped and counted. Here 250 records arrive at once, before the writer
// (waiting out its group-commit delay) has taken any.
TEST_P(StoreTest, WriteQueueIsBoundedDroppingTheOldest) {
  auto store = Open(url_, 100);
  store->Write(Cycle("20261124100000", 250));
  EXPECT_EQ(store->Counters().dropped, 150U);
  ASSERT_TRUE(store->Flush(10s)) << store->Counters().last_error;
  EXPECT_EQ(store->Count("price"), 100);
  // The newest were kept.
  EXPECT_EQ(store->Range("price", CodeOf(249), "", "", 1).size(), 1U);
  EXPECT_TRUE(store->Range("price", CodeOf(0), "", "", 1).empty());
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

// A file a newer kisgate migrated is refused at open, naming both versions, rather than opened to
// fail every write.
TEST_F(SqliteStoreTest, NewerSchemaVersionIsRefusedNamingBothVersions) {
  const auto o = Options();
  int known = 0;  // the newest version this build migrates to
  {
    SqliteStore store(o);
    known = store.SchemaVersion();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations (version) VALUES (9)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  try {
    SqliteStore store(o);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(fmt::format("schema version 9, newer than this kisgate knows (version {})",
                                    known)),
              std::string::npos)
        << what;
  }
}

// Closing while another process holds the file's lock gives up at Close's timeout (the writer's
// lock wait is cut short), counting what was not written.
TEST_F(SqliteStoreTest, CloseGivesUpOnALockedFileWithinItsTimeout) {
  auto o = Options();
  o.busy_timeout = 30s;
  o.commit_delay = 1ms;
  SqliteStore store(o);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(o.path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  store.Write(Cycle("20261124100000", 5));
  std::this_thread::sleep_for(100ms);  // the writer waits for the lock
  const auto start = std::chrono::steady_clock::now();
  store.Close(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(store.Counters().unwritten, 5U);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
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

// A file of schema version 1 (times as text, in two shapes) opens migrated: every row keeps its
// values, its time reads back to the millisecond, new writes land in the migrated tables, and a
// second open changes nothing.
TEST_F(SqliteStoreTest, MigratesAVersion1FileToMillisecondTimes) {
  const auto path = Options().path;
  MakeFile(path, kVersion1Schema);
  const auto at_10_00_01 = *common::ParseKstDateTime("2026-11-24 10:00:01");
  const auto at_10_05_01_123 = *common::ParseKstDateTime("2026-11-24 10:05:01") + 123ms;
  const auto check = [&](const SqliteStore& store) {
    EXPECT_EQ(store.SchemaVersion(), 4);
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
  EXPECT_EQ(QueryText(path, "SELECT version FROM schema_migrations ORDER BY version"), "1,2,3,4");
  EXPECT_EQ(QueryText(path, "SELECT DISTINCT typeof(collected_at) FROM price"), "integer");
  EXPECT_EQ(QueryText(path, "SELECT collected_at FROM price WHERE market_time = '20261124100500'"),
            "1795482301123");
  SqliteStore again(Options());
  check(again);
  EXPECT_EQ(again.Count("price"), 3);
  EXPECT_EQ(QueryText(path, "SELECT version FROM schema_migrations ORDER BY version"), "1,2,3,4");
}

// A new file gets the migrations' schema in one go: every table has the columns, types, NOT NULLs
// and key that a version-1 file has once migrated, and the same versions are recorded.
TEST_F(SqliteStoreTest, NewFileHasTheSchemaTheMigrationsMake) {
  const auto migrated = dir_.path() + "/migrated/kisgate.db";
  MakeFile(migrated, kVersion1Schema);
  StoreOptions o = Options();
  { SqliteStore fresh(o); }
  o.path = migrated;
  { SqliteStore old(o); }
  const auto shape = [](const std::string& path) {
    std::string out;
    const auto tables =
        QueryText(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    std::stringstream names(tables);
    for (std::string table; std::getline(names, table, ',');) {
      out +=
          table + ": " +
          QueryText(path,
                    "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || pk FROM "
                    "pragma_table_info('" +
                        table + "')") +
          "; " +
          QueryText(path, "SELECT (sql LIKE '%WITHOUT ROWID%') FROM sqlite_master WHERE name = '" +
                              table + "'") +
          "\n";
    }
    return out;
  };
  EXPECT_EQ(shape(Options().path), shape(migrated));
  EXPECT_NE(shape(Options().path)
                .find("price: code TEXT 1 1,market_time TEXT 1 2,collected_at "
                      "INTEGER 1 0"),
            std::string::npos)
      << shape(Options().path);
  EXPECT_EQ(QueryText(Options().path, "SELECT version FROM schema_migrations ORDER BY version"),
            "1,2,3,4");
}

// A file of the version before the stream's tables (2) gains them when opened: its rows stay, and
// trades are written and read back.
TEST_F(SqliteStoreTest, MigratesAVersion2FileToTheStreamTables) {
  const auto path = Options().path;
  {
    SqliteStore store(Options());
    store.Write(Cycle("20261124100000", 10));
  }
  // Back to what a kisgate of schema version 2 left: no stream tables.
  MakeFile(path,
           "DROP TABLE ticks; DROP TABLE books; DROP TABLE audit; DELETE FROM schema_migrations "
           "WHERE version >= 3;");
  ASSERT_EQ(QueryText(path, "SELECT count(*) FROM sqlite_master WHERE name IN ('ticks', 'books')"),
            "0");
  SqliteStore store(Options());
  EXPECT_EQ(store.SchemaVersion(), 4);
  EXPECT_EQ(store.Count("price"), 10);
  store.WriteTicks({Trade("005930", "090000", 0, 71000, 10)});
  store.WriteBooks({Book("005930", "090000", 71100, kCollectedAt)});
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("ticks"), 1);
  EXPECT_EQ(store.Count("books"), 1);
  EXPECT_EQ(store.Ticks("005930", "20261124", "", "", 10).size(), 1U);
  EXPECT_EQ(QueryText(path, "SELECT version FROM schema_migrations ORDER BY version"), "1,2,3,4");
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
  EXPECT_EQ(store->SchemaVersion(), 4);
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
// after the restart adds nothing. The kill comes once the child has committed (however slow its
// start, e.g. under ThreadSanitizer), while it goes on writing.
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
  // The file exists once the child opened it (opening it here first would create it).
  const auto committed = [&] {
    if (!std::filesystem::exists(o.path)) return false;
    const auto rows = QueryText(o.path, "SELECT count(*) FROM price");  // "" before migrating
    return !rows.empty() && rows != "0";
  };
  while (!committed()) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, WNOHANG), 0) << "the writing child ended by itself";
    std::this_thread::sleep_for(5ms);
  }
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

// The same with trades, in the batches a stream session delivers: every trade is there exactly
// once after a restart cut the writer's connection mid-write.
TEST_F(PgStoreTest, ServerRestartedDuringTickWritesLosesNothing) {
  PgStore store(Options());
  constexpr int kBatches = 120;
  constexpr int kPerBatch = 100;
  std::atomic<int> batches_written{0};
  std::thread writer([&] {
    for (int batch = 0; batch < kBatches; ++batch) {
      std::vector<kis::Tick> ticks;
      for (int i = 0; i < kPerBatch; ++i) {
        const int n = batch * kPerBatch + i;
        ticks.push_back(Trade(CodeOf(n % 10), fmt::format("{:06}", 90000 + n / 10 / 5),
                              static_cast<std::uint32_t>(n / 10 % 5), 70000 + n, 1 + n % 7));
      }
      store.WriteTicks(std::move(ticks));
      batches_written = batch + 1;
      std::this_thread::sleep_for(5ms);
    }
  });
  WaitUntil([&] { return store.Counters().ticks_written > 0; });
  pg_.Restart();
  const int after_restart = batches_written + 1;
  WaitUntil([&] { return batches_written >= std::min(after_restart, kBatches); });
  writer.join();
  ASSERT_TRUE(store.Flush(30s)) << store.Counters().last_error;
  const auto counters = store.Counters();
  EXPECT_GE(counters.failed_transactions, 1U);
  EXPECT_FALSE(counters.last_write_failed);
  EXPECT_EQ(counters.ticks_dropped, 0U);
  EXPECT_EQ(counters.ticks_written, static_cast<std::uint64_t>(kBatches * kPerBatch));
  EXPECT_EQ(store.Count("ticks"), kBatches * kPerBatch);
  // Every trade holds its own price: n = (time - 090000) * 50 + seq * 10 + code.
  EXPECT_EQ(pg_.Query(db_,
                      "SELECT count(*) FROM ticks WHERE price <> 70000 + (time::int - 90000) * 50 "
                      "+ seq * 10 + (code::int - 100000)"),
            "0");
}

// A database of schema version 1 (before the stream's tables) gains them when opened; its rows
// stay.
TEST_F(PgStoreTest, MigratesAVersion1DatabaseToTheStreamTables) {
  {
    PgStore store(Options());
    store.Write(Cycle(MarketTime(0), 10));
  }
  pg_.Query(db_,
            "DROP TABLE ticks; DROP TABLE books; DROP TABLE audit; DELETE FROM schema_version "
            "WHERE version >= 2");
  ASSERT_EQ(pg_.Query(db_, "SELECT count(*) FROM pg_tables WHERE tablename IN ('ticks', 'books')"),
            "0");
  PgStore store(Options());
  EXPECT_EQ(store.SchemaVersion(), 3);
  EXPECT_EQ(store.Count("price"), 10);
  store.WriteTicks({Trade("005930", "090000", 0, 71000, 10)});
  ASSERT_TRUE(store.Flush(10s)) << store.Counters().last_error;
  EXPECT_EQ(store.Count("ticks"), 1);
  EXPECT_EQ(store.IntegrityCheck(), "ok");
}

// Resumes a paused server when a test ends, however it ends.
struct ResumeAtEnd {
  testing::PgServer& pg;
  ~ResumeAtEnd() { pg.Resume(); }
};

// A server that stops answering (SIGSTOP) with its connections open holds neither a read nor the
// io thread: an awaited read answers kTimeout at the store's timeout while a timer on the same io
// thread keeps ticking, a blocking read returns within it too, and a write waits and is written
// once the server answers again.
TEST_F(PgStoreTest, StalledServerAnswersReadsWithinTheTimeout) {
  auto o = Options();
  o.timeout = 300ms;
  PgStore store(o);
  store.Write(Cycle(MarketTime(0), 5));
  ASSERT_TRUE(store.Flush(10s));
  ASSERT_EQ(store.Range("price", CodeOf(0), "", "", 10).size(), 1U);  // the reader is connected
  pg_.Pause();
  ResumeAtEnd resume{pg_};
  namespace asio = boost::asio;
  asio::io_context io;
  int ticks = 0;
  std::optional<ReadResult<std::vector<Record>>> read;
  const auto start = std::chrono::steady_clock::now();
  // A coroutine that throws fails the test from io.run(), rather than leaving it waiting.
  const auto Rethrow = [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
  };
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto op = store.RangeAsync("price", CodeOf(0), "", "", 10);
        read = co_await std::move(op);
      },
      Rethrow);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        while (!read) {
          timer.expires_after(20ms);
          co_await timer.async_wait(asio::use_awaitable);
          ++ticks;
        }
      },
      Rethrow);
  io.run();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->error, ReadError::kTimeout) << read->message;
  EXPECT_GE(ticks, 5);  // the io thread ran on while the database did not answer
  EXPECT_EQ(store.Counters().read_timeouts, 1U);
  // A blocking read (a data set not held in memory) returns within the timeout too.
  const auto blocking = std::chrono::steady_clock::now();
  EXPECT_NE(store.CheckedLatestMarketTime("bars_daily", CodeOf(0)).error, ReadError::kNone);
  EXPECT_LT(std::chrono::steady_clock::now() - blocking, 2s);
  // A write waits for the server, and is written once it answers.
  store.Write(Cycle(MarketTime(1), 5));
  EXPECT_FALSE(store.Flush(500ms));
  pg_.Resume();
  ASSERT_TRUE(store.Flush(30s)) << store.Counters().last_error;
  EXPECT_EQ(store.Count("price"), 10);
}

// Closing while the server does not answer gives up at Close's timeout, cutting the write in
// progress short (its own timeout is longer), and counts what was not written.
TEST_F(PgStoreTest, CloseGivesUpOnAStalledServerWithinItsTimeout) {
  auto o = Options();
  o.timeout = 10s;
  PgStore store(o);
  store.Write(Cycle(MarketTime(0), 5));
  ASSERT_TRUE(store.Flush(10s));
  pg_.Pause();
  ResumeAtEnd resume{pg_};
  store.Write(Cycle(MarketTime(1), 7));
  std::this_thread::sleep_for(100ms);  // the writer waits for the server
  const auto start = std::chrono::steady_clock::now();
  store.Close(300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(store.Counters().unwritten, 7U);
}

// A value the server refuses (bytes that are not UTF-8) fails its batch: the batch is written
// again in halves, the refused record alone is dropped and counted, every other one is written,
// and the writes after it go on (they waited forever behind it before).
TEST_F(PgStoreTest, ARefusedValueIsDroppedAndTheRestOfItsBatchWritten) {
  auto o = Options();
  o.commit_delay = 200ms;  // the 40 records in one batch
  PgStore store(o);
  auto cycle = Cycle(MarketTime(0), 40);
  cycle[17].raw = "{\"bad\":\"\xff\xfe\"}";
  store.Write(cycle);
  ASSERT_TRUE(store.Flush(30s)) << store.Counters().last_error;
  store.Write(Cycle(MarketTime(1), 40));
  ASSERT_TRUE(store.Flush(30s)) << store.Counters().last_error;
  EXPECT_EQ(store.Count("price"), 79);
  EXPECT_EQ(pg_.Query(db_, "SELECT count(*) FROM price WHERE code = '100017'"), "1");
  const auto counters = store.Counters();
  EXPECT_EQ(counters.refused, 1U);
  EXPECT_FALSE(counters.last_write_failed);
}

// A database a newer kisgate migrated is refused at start, naming both versions.
TEST_F(PgStoreTest, NewerSchemaVersionIsRefusedNamingBothVersions) {
  int known = 0;  // the newest version this build migrates to
  {
    PgStore store(Options());
    known = store.SchemaVersion();
  }
  pg_.Query(db_, "INSERT INTO schema_version (version) VALUES (7)");
  try {
    PgStore store(Options());
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(fmt::format("schema version 7, newer than this kisgate knows (version {})",
                                    known)),
              std::string::npos)
        << what;
  }
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
  EXPECT_EQ(store.SchemaVersion(), 3);
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
    EXPECT_EQ(stores[i]->SchemaVersion(), 3);
  }
  EXPECT_EQ(pg_.Query(db_, "SELECT version FROM schema_version ORDER BY version"), "1,2,3");
}

}  // namespace
}  // namespace kisgate::store

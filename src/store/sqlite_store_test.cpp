#include "store/sqlite_store.hpp"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

#include "common/kst.hpp"
#include "support/test_client.hpp"

namespace kisgate::store {
namespace {

using namespace std::chrono_literals;

std::string CodeOf(int i) { return std::to_string(100000 + i); }

Record Price(std::string code, std::string market_time, std::int64_t price) {
  return Record{"price", std::move(code), std::move(market_time), "2026-11-24T10:00:01+09:00",
                {{"price", price}, {"change", std::int64_t{-500}}, {"change_pct", -0.69}},
                R"({"rt_cd":"0","output":{"stck_prpr":")" + std::to_string(price) + R"("}})"};
}

std::vector<Record> Cycle(const std::string& market_time, int codes, std::int64_t price = 71500) {
  std::vector<Record> out;
  for (int i = 0; i < codes; ++i) out.push_back(Price(CodeOf(i), market_time, price + i));
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.path = dir_.path() + "/data/kisgate.db";
    return o;
  }
  testing::TempDir dir_;
};

TEST_F(StoreTest, RangeSeesCommittedAndQueuedRecordsNewestFirst) {
  SqliteStore store(Options());
  store.Write({Price("005930", "20261124100000", 71500), Price("005930", "20261124100500", 71600),
               Price("005930", "20261125100000", 71700), Price("000660", "20261124100000", 182000)});
  // Read at once: whatever the writer has not committed yet comes from its queue.
  auto all = store.Range("price", "005930", "", "", 10);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].market_time, "20261125100000");
  EXPECT_EQ(all[2].market_time, "20261124100000");
  ASSERT_TRUE(store.Flush(5s));
  auto day = store.Range("price", "005930", "20261124000000", "20261124235959", 10);
  ASSERT_EQ(day.size(), 2u);
  EXPECT_EQ(day[0].market_time, "20261124100500");
  EXPECT_NE(day[0].raw.find("71600"), std::string::npos);
  EXPECT_EQ(store.Range("price", "005930", "", "", 1).size(), 1u);
  EXPECT_TRUE(store.Range("price", "035420", "", "", 10).empty());
  EXPECT_TRUE(store.Range("no_such_dataset", "005930", "", "", 10).empty());
  // A rewrite of a stored row is seen with its new value before it is committed.
  store.Write({Price("005930", "20261124100500", 99999)});
  auto rewritten = store.Range("price", "005930", "20261124100500", "20261124100500", 10);
  ASSERT_EQ(rewritten.size(), 1u);
  EXPECT_NE(rewritten[0].raw.find("99999"), std::string::npos);
}

TEST_F(StoreTest, WritesMigratesAndKeepsTheLatestInMemory) {
  SqliteStore store(Options());
  EXPECT_EQ(store.SchemaVersion(), 1);
  store.Write({Price("005930", "20261124100000", 71500), Price("005930", "20261124100500", 71600),
               Price("000660", "20261124100000", 182000)});
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("price"), 3);
  auto latest = store.Latest("price", "005930");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->market_time, "20261124100500");
  EXPECT_EQ(store.Counters().written, 3u);
  EXPECT_EQ(store.IntegrityCheck(), "ok");
  // Every (data set, code) has a known age: collected at 10:00:01 KST, asked at 10:00:31.
  auto ages = store.Ages(*common::ParseKstDateTime("2026-11-24 10:00:31"));
  ASSERT_EQ(ages.size(), 2u);
  EXPECT_DOUBLE_EQ(ages[0].age_s, 30.0);
}

// Re-running a cycle (or retrying it) writes the same keys: no duplicate rows, newest values.
TEST_F(StoreTest, WritingTheSameCycleTwiceAddsNoRows) {
  SqliteStore store(Options());
  store.Write(Cycle("20261124100000", 100));
  store.Write(Cycle("20261124100000", 100, 80000));
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("price"), 100);
  EXPECT_EQ(std::get<std::int64_t>(store.Latest("price", CodeOf(0))->columns[0].second), 80000);
}

TEST_F(StoreTest, ReopenKeepsRowsAndDoesNotMigrateAgain) {
  {
    SqliteStore store(Options());
    store.Write(Cycle("20261124100000", 10));
  }  // the destructor flushes
  SqliteStore reopened(Options());
  EXPECT_EQ(reopened.Count("price"), 10);
  EXPECT_EQ(reopened.SchemaVersion(), 1);
  // A restarted collector learns where it stopped from the file.
  EXPECT_EQ(reopened.LatestMarketTime("price", CodeOf(3)), "20261124100000");
  EXPECT_EQ(reopened.LatestMarketTime("price", "999999"), "");
}

TEST_F(StoreTest, UnwritableLocationIsNamed) {
  StoreOptions o;
  o.path = "/proc/kisgate-cannot-exist/kisgate.db";
  try {
    SqliteStore store(o);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/kisgate-cannot-exist"), std::string::npos) << e.what();
  }
}

// Another process holds the database: the batch fails, stays queued (and in memory), and is
// written once the lock goes away. Nothing already stored is touched.
TEST_F(StoreTest, LockedDatabaseRetriesWithoutLosingRecords) {
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
  EXPECT_GE(store.Counters().failed_transactions, 1u);
  EXPECT_FALSE(store.Counters().last_error.empty());
  EXPECT_EQ(store.Latest("price", CodeOf(0))->market_time, "20261124100500");  // served from memory
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("price"), 10);
}

// SIGKILL in the middle of writing: the file stays sound, and writing the same cycles again
// after the restart adds nothing.
TEST_F(StoreTest, KilledMidWriteLeavesASoundFileAndNoDuplicates) {
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
  for (int cycle = 0; cycle < 3; ++cycle) store.Write(Cycle(std::to_string(20261124100000 + cycle), 50));
  ASSERT_TRUE(store.Flush(5s));
  EXPECT_EQ(store.Count("price"), rows);
}

}  // namespace
}  // namespace kisgate::store

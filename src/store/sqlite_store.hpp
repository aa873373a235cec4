#pragma once
// The embedded store: one SQLite file in WAL mode, one table per data set keyed by (code,
// market_time), written idempotently (a retry, a re-run cycle or a restart never duplicates a row)
// by a writer thread in batched transactions, so nothing blocks the network loop. Schema
// migrations run at open, each in a transaction; the table schema_migrations records which ran.
// collected_at is an INTEGER of milliseconds since the Unix epoch (UTC) (schema version 2; version
// 1 held ISO 8601 text, converted when such a file is opened). The latest record per (data set,
// code) is also kept in memory.
//
// Thread-safety: every public method may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kisgate::store {

struct StoreOptions {
  std::string path;              // the database file; its folder is created
  std::size_t batch_size = 500;  // records per transaction at most
  // Group commit: after the first record arrives the writer waits this long for more before it
  // commits (a Flush or a full batch cuts the wait short). One transaction for a second's records
  // instead of one each: far less CPU, the same durability once Flush returns.
  std::chrono::milliseconds commit_delay{200};
  std::chrono::milliseconds retry_after{500};    // after a failed transaction (disk full, locked)
  std::chrono::milliseconds busy_timeout{5000};  // wait this long for another process's lock
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database and migrates it. Throws std::runtime_error naming the path and
  // the reason when it cannot be opened or written.
  explicit SqliteStore(StoreOptions options);
  // Writes what is queued (waiting at most `retry_after` × 4 for a failing disk), then closes.
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Queues records for the writer and updates the in-memory latest values at once.
  void Write(std::vector<Record> records) override;
  // Waits at most `timeout` (e.g. for a full disk).
  bool Flush(std::chrono::milliseconds timeout) override;

  std::optional<Record> Latest(const std::string& dataset, const std::string& code) const override;
  std::optional<common::WallTime> LatestCollectedAt(const std::string& dataset,
                                                    const std::string& code) const override;
  std::string LatestMarketTime(const std::string& dataset, const std::string& code) const override;
  // The file's rows plus those still queued for the writer.
  std::vector<Record> Range(const std::string& dataset, const std::string& code,
                            const std::string& from, const std::string& to,
                            std::size_t limit) const override;
  std::int64_t Count(const std::string& dataset) const override;
  std::vector<Freshness> Ages(common::WallTime now) const override;
  // PRAGMA integrity_check.
  std::string IntegrityCheck() const override;
  int SchemaVersion() const override;
  StoreCounters Counters() const override;

 private:
  void WriterLoop();
  bool Commit(const std::vector<Record>& batch, std::string& error);

  StoreOptions options_;
  sqlite3* db_ = nullptr;      // the writer's connection
  sqlite3* reader_ = nullptr;  // reads, under read_mutex_
  mutable std::mutex read_mutex_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<Record> queue_;
  std::vector<Record> writing_batch_;             // being committed by the writer
  int flushing_ = 0;                              // Flush calls waiting: the writer commits at once
  std::map<std::string, sqlite3_stmt*> upserts_;  // per data set; the writer's, kept prepared
  bool writing_ = false;
  bool stopping_ = false;
  StoreCounters counters_;
  std::map<std::pair<std::string, std::string>, Record> latest_;
  std::thread writer_;
};

}  // namespace kisgate::store

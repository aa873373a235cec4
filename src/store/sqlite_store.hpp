#pragma once
// The embedded store: one SQLite file in WAL mode, one table per data set keyed by (code,
// market_time), written idempotently (a retry, a re-run cycle or a restart never duplicates a row)
// by a writer thread in batched transactions, so nothing blocks the network loop. Schema
// migrations run at open, each in a transaction; the table schema_migrations records which ran.
// collected_at is an INTEGER of milliseconds since the Unix epoch (UTC) (schema version 2; version
// 1 held ISO 8601 text, converted when such a file is opened). Version 3 adds the stream's tables
// (store/stream_rows.hpp), written through the same writer (store/write_queue.hpp) with a reused
// prepared statement per table. The latest record per (data set, code), trade and order-book
// snapshot per code are also kept in memory.
//
// A file at a newer schema version than this binary knows is refused at open. The write queue
// holds at most max_buffered items (storage.max_buffered): beyond it the oldest queued are
// dropped and counted, as PostgreSQL's. Reads wait at most `timeout` for a lock; the Async reads
// run on the reader thread (store/store.hpp).
//
// Thread-safety: every public method may be called from any thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/latest_values.hpp"
#include "store/store.hpp"
#include "store/write_queue.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kisgate::store {

struct BusyWait;

struct StoreOptions {
  std::string path;              // the database file; its folder is created
  std::size_t batch_size = 500;  // records, trades and snapshots per transaction at most
  // Group commit: after the first record arrives the writer waits this long for more before it
  // commits (a Flush or a full batch cuts the wait short). One transaction for a second's records
  // instead of one each: far less CPU, the same durability once Flush returns. Each commit
  // rewrites every page its rows touched (the same B-tree leaves, cycle after cycle), so fewer,
  // larger transactions write fewer pages: a second, not a fifth of one.
  std::chrono::milliseconds commit_delay{1000};
  std::chrono::milliseconds retry_after{500};      // after a failed transaction (disk full, locked)
  std::chrono::milliseconds busy_timeout{5000};    // wait this long for another process's lock
  std::size_t max_buffered = kDefaultMaxBuffered;  // items queued at most (storage.max_buffered)
  std::chrono::milliseconds timeout = kDefaultTimeout;  // a read's wait at most (storage.timeout)
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database and migrates it. Throws std::runtime_error naming the path and
  // the reason when it cannot be opened or written.
  explicit SqliteStore(StoreOptions options);
  // Writes what is queued (waiting at most `retry_after` × 4 for a failing disk), then closes.
  ~SqliteStore() override;  // NOLINT(bugprone-exception-escape): throws only on a bug
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Queue for the writer and update the in-memory latest values at once.
  void Write(std::vector<Record> records) override;
  void WriteTicks(std::vector<kis::Tick> ticks) override;
  void WriteBooks(std::vector<kis::BookSnapshot> books) override;
  // Waits at most `timeout` (e.g. for a full disk).
  bool Flush(std::chrono::milliseconds timeout) override;
  void Close(std::chrono::milliseconds timeout) override;

  std::optional<Record> Latest(const std::string& dataset, const std::string& code) const override;
  std::optional<common::WallTime> LatestCollectedAt(const std::string& dataset,
                                                    const std::string& code) const override;
  ReadResult<std::string> CheckedLatestMarketTime(const std::string& dataset,
                                                  const std::string& code) const override;
  // The file's rows plus those still queued for the writer.
  ReadResult<std::vector<Record>> CheckedRange(const std::string& dataset, const std::string& code,
                                               const std::string& from, const std::string& to,
                                               std::size_t limit) const override;
  // Also "ticks" and "books".
  std::int64_t Count(const std::string& dataset) const override;
  std::vector<Freshness> Ages(common::WallTime now) const override;
  std::vector<kis::Tick> Ticks(const std::string& code, const std::string& date,
                               const std::string& from_time, const std::string& to_time,
                               std::size_t limit) const override;
  std::optional<kis::Tick> LatestTick(const std::string& code) const override;
  std::optional<kis::BookSnapshot> LatestBook(const std::string& code) const override;
  std::vector<kis::Bar> MinuteBarsFromTicks(const std::string& code,
                                            const std::string& date) const override;
  void WriteAudit(AuditEntry entry) override;
  std::vector<AuditEntry> Audit(std::size_t limit) const override;
  // PRAGMA integrity_check.
  std::string IntegrityCheck() const override;
  int SchemaVersion() const override;
  StoreCounters Counters() const override;

 private:
  // The writer thread's: one transaction for the batch.
  CommitOutcome Commit(std::span<const WriteItem> batch, std::string& error);
  // The writer's statement for `sql`, prepared once and kept.
  sqlite3_stmt* Prepared(const std::string& key, const std::string& sql);

  StoreOptions options_;
  sqlite3* db_ = nullptr;      // the writer's connection
  sqlite3* reader_ = nullptr;  // reads, under read_mutex_
  mutable std::mutex read_mutex_;
  // Per data set and stream table; the writer's, kept prepared.
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
  LatestValues latest_;
  WriteQueue queue_;
  std::unique_ptr<BusyWait> writer_busy_;  // the writer's busy handler's state
};

}  // namespace kisgate::store

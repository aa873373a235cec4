#pragma once
// The server store: PostgreSQL through libpq, for deployments of several kisgate instances (issue
// 13). The same tables and columns as SqliteStore (one per data set keyed by (code, market_time);
// collected_at a BIGINT of milliseconds since the Unix epoch, UTC), created and versioned at start
// (table schema_version; all pending migrations in one transaction under an advisory lock, so
// instances starting together migrate once).
//
// Schema version 2 adds the stream's tables (store/stream_rows.hpp).
//
// Writes go through a writer thread (store/write_queue.hpp): each batch is de-duplicated (a key
// once, its last value; a trade once, its first) and written in one transaction: records and
// snapshots as one multi-row INSERT ... ON CONFLICT DO UPDATE per table, trades by COPY into a
// temporary table and one INSERT ... SELECT ... ON CONFLICT DO NOTHING; so a batch retried after a
// cut connection never duplicates a row. While the server is unreachable
// the writer keeps its batch and retries with backoff (retry_min doubling to retry_max); new
// records, trades and snapshots wait in a bounded buffer (max_buffered items, the batch
// included); beyond it the oldest queued are dropped and counted (StoreCounters::dropped,
// ticks_dropped, books_dropped), logged once per outage. The latest record per (data set, code),
// trade and snapshot per code are kept in memory, so readers see a write at once.
//
// Every wait on the server (connecting, each statement, each read) is bounded by `timeout`
// (storage.timeout): the connections are in non-blocking mode and wait in poll() slices, so a
// server that stops answering (SIGSTOP, a network path that drops packets) holds neither the
// writer nor the reader thread past it. A write past it drops its connection and is retried with
// backoff; a read past it answers ReadError::kTimeout, drops the reader's connection, and reads
// answer kUnavailable (what is queued) until the next connection attempt, at most every retry_max.
// A batch the server refuses for its values (SQLSTATE classes 22, 23, 54) is split down to the
// rows it refuses, which are dropped (store/write_queue.hpp). A database at a newer schema
// version than this binary knows is refused.
//
// Thread-safety: every public method may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/latest_values.hpp"
#include "store/store.hpp"
#include "store/write_queue.hpp"

struct pg_conn;
struct pg_result;

namespace kisgate::store {

struct PgStoreOptions {
  // A libpq connection URI: "postgresql://user:pass@host:port/db", "?host=/socket/dir" allowed.
  std::string url;
  // Records, trades and snapshots per transaction at most. Larger than SQLite's: each commit waits
  // for the server's fsync, and a stream's trades come by the thousand (bench/results/store.md:
  // 2,000 per transaction about doubled the trades' rate over 500).
  std::size_t batch_size = 2000;
  // Group commit, as SqliteStore: wait this long after the first record for more.
  std::chrono::milliseconds commit_delay{200};
  std::chrono::milliseconds retry_min{100};  // first wait after a failure; doubles each time
  std::chrono::milliseconds retry_max{2000};
  // Records held while the server is unreachable (see config::StorageConfig::max_buffered).
  std::size_t max_buffered = kDefaultMaxBuffered;
  // Each wait on the server at most (storage.timeout).
  std::chrono::milliseconds timeout = kDefaultTimeout;
};

class PgStore final : public Store {
 public:
  // Connects, creates or migrates the schema, and starts the writer. A server that does not
  // answer (down, restarting) is bad luck, not bad config: the store starts disconnected, buffers,
  // and connects and migrates when the server comes. A server that answers but refuses (wrong
  // password, unknown role or database) or a URL libpq cannot read is bad config: throws
  // std::runtime_error with the masked URL and libpq's reason, so kisgate refuses to start.
  explicit PgStore(PgStoreOptions options);
  // Writes what is queued (waiting at most `timeout` for the server), then closes.
  ~PgStore() override;  // NOLINT(bugprone-exception-escape): throws only on a bug
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  void Write(std::vector<Record> records) override;
  void WriteTicks(std::vector<kis::Tick> ticks) override;
  void WriteBooks(std::vector<kis::BookSnapshot> books) override;
  bool Flush(std::chrono::milliseconds timeout) override;
  void Close(std::chrono::milliseconds timeout) override;

  std::optional<Record> Latest(const std::string& dataset, const std::string& code) const override;
  std::optional<common::WallTime> LatestCollectedAt(const std::string& dataset,
                                                    const std::string& code) const override;
  ReadResult<std::string> CheckedLatestMarketTime(const std::string& dataset,
                                                  const std::string& code) const override;
  // The server's rows plus those still queued; only the queued ones while it is unreachable
  // (kUnavailable) or did not answer in time (kTimeout).
  ReadResult<std::vector<Record>> CheckedRange(const std::string& dataset, const std::string& code,
                                               const std::string& from, const std::string& to,
                                               std::size_t limit) const override;
  // Also "ticks" and "books"; 0 while the server is unreachable.
  std::int64_t Count(const std::string& dataset) const override;
  std::vector<Freshness> Ages(common::WallTime now) const override;
  // The server's trades plus those still queued; only the queued ones while it is unreachable.
  std::vector<kis::Tick> Ticks(const std::string& code, const std::string& date,
                               const std::string& from_time, const std::string& to_time,
                               std::size_t limit) const override;
  std::optional<kis::Tick> LatestTick(const std::string& code) const override;
  std::optional<kis::BookSnapshot> LatestBook(const std::string& code) const override;
  std::vector<kis::Bar> MinuteBarsFromTicks(const std::string& code,
                                            const std::string& date) const override;
  // "ok" when the server answers and every table of the schema is there, else what is wrong.
  void WriteAudit(AuditEntry entry) override;
  std::vector<AuditEntry> Audit(std::size_t limit) const override;
  std::string IntegrityCheck() const override;
  int SchemaVersion() const override;
  StoreCounters Counters() const override;

 private:
  // A read's server result, or why there is none.
  struct Answer {
    std::unique_ptr<pg_result, void (*)(pg_result*)> result{nullptr, nullptr};
    ReadError error = ReadError::kUnavailable;
    std::string message;
    bool Ok() const;  // the server answered, without an error
  };

  std::chrono::steady_clock::time_point Deadline() const;  // now + timeout
  // Connects the writer and migrates once; false (error set) when the server cannot be used.
  bool EnsureWriter(std::string& error);
  // The writer thread's: connects if needed, then one transaction for the batch.
  CommitOutcome Commit(std::span<const WriteItem> batch, std::string& error);
  // The reader's connection, (re)connected if needed; null when the server is unreachable.
  // Under read_mutex_.
  pg_conn* Reader() const;
  // One read on the reader's connection (again on a fresh one when it was found cut). Under
  // read_mutex_.
  Answer Read(const std::string& sql, const std::vector<const char*>& params = {}) const;

  PgStoreOptions options_;
  std::string masked_url_;
  pg_conn* writer_conn_ = nullptr;  // the writer thread's
  bool migrated_ = false;           // the writer thread's
  bool tick_copy_ready_ = false;    // the writer thread's: its connection has the temp table
  bool newer_logged_ = false;       // the writer thread's: a newer schema is logged once
  mutable pg_conn* reader_ = nullptr;
  mutable std::chrono::steady_clock::time_point reader_retry_at_{};  // no reconnect before
  mutable bool reader_timed_out_ = false;  // the last connection attempt did not finish in time
  mutable std::atomic<bool> server_back_{false};  // the writer connected: readers may try now
  mutable std::mutex read_mutex_;

  LatestValues latest_;
  WriteQueue queue_;
};

}  // namespace kisgate::store

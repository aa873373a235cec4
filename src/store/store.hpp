#pragma once
// Storage as collect/ and api/ use it: records written idempotently (one row per data set, code
// and market_time; writing a key again replaces its values) and read back typed; and the
// real-time stream's trades and order-book snapshots (kis/realtime.hpp), in narrow typed tables,
// from which minute bars are derived. Which back end holds them is chosen by the storage URL
// (store::Open): SQLite (store/sqlite_store.hpp) or PostgreSQL (store/pg_store.hpp).
//
// Times: `collected_at` is a common::WallTime everywhere at this interface; how a back end keeps
// it is its own affair (SQLite: integer milliseconds since the Unix epoch, UTC).
//
// Reads that touch the database (Range, LatestMarketTime) each wait at most the store's timeout
// (storage.timeout). Coroutines on the io thread never call them directly: they await RangeAsync
// and LatestMarketTimeAsync, which run the read on the store's reader thread
// (store/read_thread.hpp) and resume on the caller's executor with the answer, or with
// ReadError::kTimeout at the deadline, whatever the database does meanwhile.
//
// Thread-safety: every method may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/clock.hpp"
#include "kis/quotes.hpp"
#include "kis/realtime.hpp"
#include "store/audit.hpp"
#include "store/record.hpp"

namespace kisgate::store {

class ReadThread;

// Why a read of the database has no complete answer.
enum class ReadError {
  kNone,
  kTimeout,      // the database did not answer within the store's timeout (counted)
  kUnavailable,  // the database cannot be reached (known down): the answer holds what is queued
};

// What a read found: `value` (what is queued for writing included), and whether the database gave
// its part in time.
template <typename T>
struct ReadResult {
  T value{};
  ReadError error = ReadError::kNone;
  std::string message;  // what went wrong, for logs and replies; "" when error is kNone
};

// How long a database may take for one wait (connecting, a statement, a read) by default
// (storage.timeout): a read past it is answered with an error, a write past it is retried.
inline constexpr std::chrono::milliseconds kDefaultTimeout{3000};

// How old the latest value of one (data set, code) is.
struct Freshness {
  std::string dataset;
  std::string code;
  common::WallTime collected_at{};
  double age_s = 0;
};

struct StoreCounters {
  std::uint64_t written = 0;  // records committed (inserted or replaced)
  std::uint64_t transactions = 0;
  std::uint64_t failed_transactions = 0;
  std::size_t queued = 0;  // waiting for the writer
  std::string last_error;
  bool last_write_failed = false;  // the latest transaction failed (disk full, locked)
  // Records given up beyond the bounded write buffer while the back end was unreachable.
  std::uint64_t dropped = 0;
  // Items the database refused for their values (a batch that failed for a data error is
  // written again in halves down to single items; those that still fail are dropped here).
  std::uint64_t refused = 0;
  // Items refused before they were queued: a code that is not a stock code, a date that is not a
  // date (Write, WriteTicks, WriteBooks check them).
  std::uint64_t invalid = 0;
  // Reads the database did not answer within the store's timeout.
  std::uint64_t read_timeouts = 0;
  // Items still queued when the store was closed (Close): not written.
  std::uint64_t unwritten = 0;
  bool connected = true;  // false while a server back end (PostgreSQL) cannot be reached
  // The stream's trades and order-book snapshots: committed (a re-ingested one counts again,
  // though it changes nothing), and given up beyond the write buffer as records are.
  std::uint64_t ticks_written = 0;
  std::uint64_t books_written = 0;
  std::uint64_t ticks_dropped = 0;
  std::uint64_t books_dropped = 0;
};

class Store {
 public:
  Store();
  virtual ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Queues records for writing; readers see them at once (Latest, Range). A record whose code is
  // not a stock code or whose market_time is not a date (YYYYMMDD, or YYYYMMDDHHMMSS) is
  // dropped, counted (StoreCounters::invalid) and logged.
  virtual void Write(std::vector<Record> records) = 0;
  // Waits until everything queued so far is committed; false on timeout (e.g. the disk is full).
  virtual bool Flush(std::chrono::milliseconds timeout) = 0;
  // Waits at most `timeout` for what is queued to be written, then stops the writer, cutting a
  // write in progress short; what was not written is counted (StoreCounters::unwritten) and
  // logged. Writes after it are not made. Readers keep working. The destructor closes too.
  virtual void Close(std::chrono::milliseconds timeout) = 0;

  // The latest value of (dataset, code) written since the store was opened, typed columns and raw.
  virtual std::optional<Record> Latest(const std::string& dataset,
                                       const std::string& code) const = 0;
  // When that latest value was collected, without copying it.
  virtual std::optional<common::WallTime> LatestCollectedAt(const std::string& dataset,
                                                            const std::string& code) const = 0;
  // The newest market_time stored for (dataset, code), from memory or else from the database
  // (what a restarted collector needs to fetch only what is new); "" when there is none.
  virtual ReadResult<std::string> CheckedLatestMarketTime(const std::string& dataset,
                                                          const std::string& code) const = 0;
  // Records of (dataset, code) with market_time in [from, to] (inclusive; "" = open end), newest
  // first, at most `limit`, with their typed columns and raw JSON; every write made before the
  // call is seen.
  virtual ReadResult<std::vector<Record>> CheckedRange(const std::string& dataset,
                                                       const std::string& code,
                                                       const std::string& from,
                                                       const std::string& to,
                                                       std::size_t limit) const = 0;
  // The same, blocking the calling thread (at most the store's timeout): the value alone.
  std::string LatestMarketTime(const std::string& dataset, const std::string& code) const {
    return CheckedLatestMarketTime(dataset, code).value;
  }
  std::vector<Record> Range(const std::string& dataset, const std::string& code,
                            const std::string& from, const std::string& to,
                            std::size_t limit) const {
    return CheckedRange(dataset, code, from, to, limit).value;
  }
  // The same on the store's reader thread, for coroutines: resumes on the caller's executor with
  // the answer, or with ReadError::kTimeout once the store's timeout has passed since the call.
  // Arguments by value: the read may run after the caller's temporaries are gone.
  boost::asio::awaitable<ReadResult<std::string>> LatestMarketTimeAsync(std::string dataset,
                                                                        std::string code) const;
  boost::asio::awaitable<ReadResult<std::vector<Record>>> RangeAsync(std::string dataset,
                                                                     std::string code,
                                                                     std::string from,
                                                                     std::string to,
                                                                     std::size_t limit) const;
  // Rows stored for `dataset`, or for the stream's tables "ticks" and "books" (0 for an unknown
  // one).
  virtual std::int64_t Count(const std::string& dataset) const = 0;
  // The age at `now` of every (data set, code) value held, oldest first (for metrics and logs).
  virtual std::vector<Freshness> Ages(common::WallTime now) const = 0;

  // Queues trades for writing, in the same queue and transactions as records. (code, date, time,
  // seq) names a trade: one already stored is left as it is, so re-ingesting after a reconnect
  // changes nothing. LatestTick sees them at once.
  virtual void WriteTicks(std::vector<kis::Tick> ticks) = 0;
  // Queues order-book snapshots, keyed (code, date, time, received_at in milliseconds); writing
  // one again writes the same values. LatestBook sees them at once.
  virtual void WriteBooks(std::vector<kis::BookSnapshot> books) = 0;
  // The trades of `code` on `date` (YYYYMMDD) with time (HHMMSS) in [from_time, to_time]
  // (inclusive; "" = open end), oldest first by (time, seq), at most `limit`; every write made
  // before the call is seen.
  virtual std::vector<kis::Tick> Ticks(const std::string& code, const std::string& date,
                                       const std::string& from_time, const std::string& to_time,
                                       std::size_t limit) const = 0;
  // The newest trade of `code` written since the store was opened (from memory: what
  // /v1/stocks/{code}/price compares with the polled price to answer from the stream).
  virtual std::optional<kis::Tick> LatestTick(const std::string& code) const = 0;
  // The newest order-book snapshot of `code` written since the store was opened (from memory).
  virtual std::optional<kis::BookSnapshot> LatestBook(const std::string& code) const = 0;
  // The minute bars of `code` on `date` derived from its stored trades (MinuteBarsOf), oldest
  // first; every write made before the call is seen.
  virtual std::vector<kis::Bar> MinuteBarsFromTicks(const std::string& code,
                                                    const std::string& date) const = 0;

  // The audit trail of account-bound calls (store/audit.hpp): queued with the other writes (an
  // empty id gets a fresh one). Audit reads the committed rows, newest first, at most `limit`; it
  // waits for the database: not for the io thread.
  virtual void WriteAudit(AuditEntry entry) = 0;
  virtual std::vector<AuditEntry> Audit(std::size_t limit) const = 0;

  // "ok" when the database is sound, else what is wrong.
  virtual std::string IntegrityCheck() const = 0;
  // The number of schema migrations applied.
  virtual int SchemaVersion() const = 0;
  virtual StoreCounters Counters() const = 0;

 protected:
  // Starts the reader thread of the Async reads, which wait at most `timeout` each. A back end
  // calls it once its connections are open, and StopReads first thing in its destructor (reads
  // in progress are cut short through ReadsStopping()).
  void StartReads(std::chrono::milliseconds timeout);
  void StopReads();
  bool ReadsStopping() const;
  // Counts a read that the database did not answer in time (StoreCounters::read_timeouts).
  void CountReadTimeout() const;
  std::uint64_t ReadTimeouts() const;
  // Removes what InvalidKey refuses (counted in Invalid(); the first few and then one in a
  // thousand logged with what is wrong); true when anything is left to write.
  bool KeepValid(std::vector<Record>& records);
  bool KeepValid(std::vector<kis::Tick>& ticks);
  bool KeepValid(std::vector<kis::BookSnapshot>& books);
  std::uint64_t Invalid() const;

 private:
  std::unique_ptr<ReadThread> reads_;
  std::chrono::milliseconds read_timeout_{kDefaultTimeout};
  mutable std::atomic<std::uint64_t> read_timeouts_{0};
  std::atomic<std::uint64_t> invalid_{0};
};

// Whether a record, trade or snapshot has the shape the tables key it by (a stock code, a date,
// a time of six digits); "" when it has, else what is wrong (for the log).
std::string InvalidKey(const Record& r);
std::string InvalidKey(const kis::Tick& t);
std::string InvalidKey(const kis::BookSnapshot& b);

// Records a back end holds while it cannot write (a server unreachable, a file locked), by default.
// Sized for a 30-s outage at the full collection rate with room to spare: one key allows 18
// calls/s, and the largest replies carry 100 records (daily bars; minute bars 30), so at most 18 ×
// 100 = 1,800 records/s, 54,000 in 30 s; 100,000 covers about 55 s (some 50 MB of records with
// their raw JSON). Several keys collecting at once need storage.max_buffered raised in proportion.
inline constexpr std::size_t kDefaultMaxBuffered = 100'000;

// The minute bars of one day's trades given oldest first by (time, seq), computed in C++ (one pass;
// the back ends read the day's trades and call this, so queued trades count too): a bar per
// minute with a trade, labelled by the minute's start (time "HHMM00", date the trades' date, as
// KIS's minute bars), open = the first trade's price, close = the last's, high/low, volume = the
// sum of the trades' volumes, traded_value = the sum of price x volume. After-hours trades
// (Tick::after_hours) are left out: KIS's minute bars are the regular session's.
std::vector<kis::Bar> MinuteBarsOf(const std::vector<kis::Tick>& ticks);

// Opens the store a storage URL names: "sqlite://PATH" (the file and its folder are created; a
// relative PATH is relative to the working directory; "sqlite:///abs/path" is absolute), or
// "postgresql://user:pass@host:port/db" ("postgres://" alike; libpq's URI, so "?host=/socket/dir"
// works). `max_buffered` bounds the write queue of either back end (storage.max_buffered: beyond
// it the oldest queued items are dropped and counted); `timeout` bounds each wait on the database
// (storage.timeout). Throws std::runtime_error naming the URL (a password in it is masked) and the
// fix for any other scheme, an empty path, a database that cannot be opened or is at a newer
// schema version than this binary knows, or a server that refuses the login.
std::unique_ptr<Store> Open(std::string_view url, std::size_t max_buffered = kDefaultMaxBuffered,
                            std::chrono::milliseconds timeout = kDefaultTimeout);

// The URL with the password of its user info (scheme://user:PASSWORD@host) masked, for messages.
std::string Masked(std::string_view url);

}  // namespace kisgate::store

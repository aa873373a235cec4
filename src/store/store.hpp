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
// Thread-safety: every method may be called from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "kis/quotes.hpp"
#include "kis/realtime.hpp"
#include "store/audit.hpp"
#include "store/record.hpp"

namespace kisgate::store {

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
  virtual ~Store() = default;

  // Queues records for writing; readers see them at once (Latest, Range).
  virtual void Write(std::vector<Record> records) = 0;
  // Waits until everything queued so far is committed; false on timeout (e.g. the disk is full).
  virtual bool Flush(std::chrono::milliseconds timeout) = 0;

  // The latest value of (dataset, code) written since the store was opened, typed columns and raw.
  virtual std::optional<Record> Latest(const std::string& dataset,
                                       const std::string& code) const = 0;
  // When that latest value was collected, without copying it.
  virtual std::optional<common::WallTime> LatestCollectedAt(const std::string& dataset,
                                                            const std::string& code) const = 0;
  // The newest market_time stored for (dataset, code), from memory or else from the database
  // (what a restarted collector needs to fetch only what is new); "" when there is none.
  virtual std::string LatestMarketTime(const std::string& dataset,
                                       const std::string& code) const = 0;
  // Records of (dataset, code) with market_time in [from, to] (inclusive; "" = open end), newest
  // first, at most `limit`, with their typed columns and raw JSON; every write made before the
  // call is seen.
  virtual std::vector<Record> Range(const std::string& dataset, const std::string& code,
                                    const std::string& from, const std::string& to,
                                    std::size_t limit) const = 0;
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
};

// Records a server back end holds while the server is unreachable, by default. Sized for a 30-s
// outage at the full collection rate with room to spare: one key allows 18 calls/s, and the
// largest replies carry 100 records (daily bars; minute bars 30), so at most 18 × 100 = 1,800
// records/s, 54,000 in 30 s; 100,000 covers about 55 s (some 50 MB of records with their raw
// JSON). Several keys collecting at once need storage.max_buffered raised in proportion.
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
// works) with a write buffer of `max_buffered` records for outages (store/pg_store.hpp). Throws
// std::runtime_error naming the URL (a password in it is masked) and the fix for any other
// scheme, an empty path, a database that cannot be opened, or a server that refuses the login.
std::unique_ptr<Store> Open(std::string_view url, std::size_t max_buffered = kDefaultMaxBuffered);

// The URL with the password of its user info (scheme://user:PASSWORD@host) masked, for messages.
std::string Masked(std::string_view url);

}  // namespace kisgate::store

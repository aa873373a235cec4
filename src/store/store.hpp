#pragma once
// Storage as collect/ and api/ use it: records written idempotently (one row per data set, code
// and market_time; writing a key again replaces its values) and read back typed. Which back end
// holds them is chosen by the storage URL (store::Open); today SQLite (store/sqlite_store.hpp).
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
  // Rows stored for `dataset` (0 for an unknown one).
  virtual std::int64_t Count(const std::string& dataset) const = 0;
  // The age at `now` of every (data set, code) value held, oldest first (for metrics and logs).
  virtual std::vector<Freshness> Ages(common::WallTime now) const = 0;
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

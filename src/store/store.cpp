#include "store/store.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"

namespace kisgate::store {

namespace {

// scheme://user:PASSWORD@host -> scheme://user:***@host.
std::string MaskedUserInfo(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto authority = scheme_end + 3;
  const auto at = url.find('@', authority);
  const auto slash = url.find('/', authority);
  if (at == std::string_view::npos || (slash != std::string_view::npos && slash < at)) {
    return std::string(url);
  }
  const auto colon = url.find(':', authority);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return fmt::format("{}***{}", url.substr(0, colon + 1), url.substr(at));
}

}  // namespace

// Hand-written: the store needs no URL library for these two rules (the user info, and libpq's
// "password=" query parameter).
std::string Masked(std::string_view url) {
  auto out = MaskedUserInfo(url);
  constexpr std::string_view kPassword = "password=";
  if (const auto p = out.find(kPassword); p != std::string::npos) {
    const auto end = out.find('&', p);
    out.replace(p + kPassword.size(),
                (end == std::string::npos ? out.size() : end) - p - kPassword.size(), "***");
  }
  return out;
}

std::vector<kis::Bar> MinuteBarsOf(const std::vector<kis::Tick>& ticks) {
  std::vector<kis::Bar> bars;
  for (const auto& t : ticks) {
    if (t.after_hours || t.time.size() < 4) continue;
    const auto minute = t.time.substr(0, 4) + "00";
    if (bars.empty() || bars.back().time != minute || bars.back().date != t.date) {
      bars.push_back(kis::Bar{t.date, minute, t.price, t.price, t.price, t.price, 0, 0});
    }
    auto& bar = bars.back();
    bar.high = std::max(bar.high, t.price);
    bar.low = std::min(bar.low, t.price);
    bar.close = t.price;
    bar.volume += t.volume;
    bar.traded_value += t.price * t.volume;
  }
  return bars;
}

std::unique_ptr<Store> Open(std::string_view url, std::size_t max_buffered) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.starts_with(kSqlite)) {
    const auto path = url.substr(kSqlite.size());
    if (path.empty()) {
      throw std::runtime_error(
          fmt::format("storage.url '{}' names no file: use \"sqlite://PATH\" (e.g. "
                      "\"sqlite://./data/kisgate.db\")",
                      url));
    }
    if (path == ":memory:") {
      // The writer and the reader are two connections, which would see two separate databases.
      throw std::runtime_error(fmt::format(
          "storage.url '{}': an in-memory SQLite database is not supported; use a file, e.g. "
          "\"sqlite:///tmp/kisgate.db\"",
          url));
    }
    StoreOptions options;
    options.path = std::string(path);
    return std::make_unique<SqliteStore>(std::move(options));
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    PgStoreOptions options;
    options.url = std::string(url);
    options.max_buffered = max_buffered;
    return std::make_unique<PgStore>(std::move(options));
  }
  throw std::runtime_error(
      fmt::format("storage.url '{}': unknown storage; use \"sqlite://PATH\" (e.g. "
                  "\"sqlite://./data/kisgate.db\") or \"postgresql://user:pass@host:port/db\"",
                  Masked(url)));
}

}  // namespace kisgate::store

#include "store/store.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "store/sqlite_store.hpp"

namespace kisgate::store {

namespace {

// The URL with the password of its user info (scheme://user:PASSWORD@host) masked, for messages.
// Hand-written: the store needs no URL library for this one rule.
std::string Masked(std::string_view url) {
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

std::unique_ptr<Store> Open(std::string_view url) {
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
    throw std::runtime_error(fmt::format(
        "storage.url '{}': PostgreSQL is not supported yet (it comes with issue 13); use "
        "\"sqlite://PATH\" for now",
        Masked(url)));
  }
  throw std::runtime_error(
      fmt::format("storage.url '{}': unknown storage; use \"sqlite://PATH\" (e.g. "
                  "\"sqlite://./data/kisgate.db\")",
                  Masked(url)));
}

}  // namespace kisgate::store

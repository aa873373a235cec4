#include "common/spawn.hpp"

#include <atomic>

#include <spdlog/spdlog.h>

namespace kisgate::common {

namespace {
std::atomic<std::uint64_t> g_spawn_exceptions{0};
}  // namespace

std::uint64_t SpawnExceptions() { return g_spawn_exceptions.load(); }

std::string NoteException(std::string_view task, const std::exception_ptr& e) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  g_spawn_exceptions++;
  spdlog::error("{}: uncaught exception: {}", task, what);
  return what;
}

void LogExceptions::operator()(const std::exception_ptr& e) const {
  if (e) NoteException(task, e);
}

}  // namespace kisgate::common

#include "support/pg_server.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace kisgate::testing {

namespace {

namespace fs = std::filesystem;

// The newest /usr/lib/postgresql/<version>/bin holding initdb (Debian's layout).
std::string FindBin() {
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto bin = entry.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl")) continue;
    const int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version) {
      best_version = version;
      best = bin.string();
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "PostgreSQL's initdb and pg_ctl are not under /usr/lib/postgresql/*/bin: run "
        "scripts/bootstrap.sh (Debian package postgresql)");
  }
  return best;
}

// A TCP port free on 127.0.0.1 now (the kernel's pick for port 0).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free TCP port for PostgreSQL");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// initdb refuses to run as root: then the server's commands run as `postgres`, which owns `dir`.
std::string AsServerUser() { return ::geteuid() == 0 ? "runuser -u postgres -- " : ""; }

void Run(const std::string& command, const std::string& log) {
  if (std::system(command.c_str()) != 0) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    throw std::runtime_error(fmt::format("'{}' failed:\n{}", command, text.str()));
  }
}

}  // namespace

PgServer::PgServer(std::string server_options)
    : server_options_(std::move(server_options)), bin_(FindBin()) {
  std::string pattern = (fs::temp_directory_path() / "kisgate-pg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      throw std::runtime_error(
          "no user 'postgres' to run PostgreSQL as: run scripts/bootstrap.sh (package postgresql)");
    }
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown");
  }
  { std::ofstream(dir_ + "/pwfile") << password_ << "\n"; }
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (::chown((dir_ + "/pwfile").c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("chown");
    }
  }
  Run(fmt::format("{}{}/initdb -D {}/data -U postgres --pwfile={}/pwfile --auth-local=trust "
                  "--auth-host=scram-sha-256 -N -E UTF8 --locale=C > {}/initdb.log 2>&1",
                  AsServerUser(), bin_, dir_, dir_, dir_),
      dir_ + "/initdb.log");
  port_ = FreePort();
  Start();
}

PgServer::~PgServer() {
  if (running_) {
    std::system(fmt::format("{}{}/pg_ctl -D {}/data -w -s -m immediate stop > /dev/null 2>&1",
                            AsServerUser(), bin_, dir_)
                    .c_str());
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PgServer::PgCtl(const std::string& action) const {
  Run(fmt::format("{}{}/pg_ctl -D {}/data -w -s -l {}/server.log -m fast -o \"-p {} -k {} -c "
                  "listen_addresses=127.0.0.1 {}\" {} >> {}/pg_ctl.log 2>&1",
                  AsServerUser(), bin_, dir_, dir_, port_, dir_, server_options_, action, dir_),
      dir_ + "/server.log");
}

void PgServer::Start() {
  PgCtl("start");
  running_ = true;
}

void PgServer::Stop() {
  PgCtl("stop");
  running_ = false;
}

void PgServer::Pause() {
  // The postmaster's pid is the first line of postmaster.pid; its children are the backends.
  std::system(
      fmt::format("p=$(head -1 {0}/data/postmaster.pid); kill -STOP $p $(pgrep -P $p)", dir_)
          .c_str());
}

void PgServer::Resume() {
  std::system(
      fmt::format("p=$(head -1 {0}/data/postmaster.pid); kill -CONT $p $(pgrep -P $p)", dir_)
          .c_str());
}

void PgServer::Restart() {
  PgCtl("restart");
  running_ = true;
}

std::string PgServer::Url(const std::string& db) const {
  return fmt::format("postgresql://postgres:{}@127.0.0.1:{}/{}", password_, port_, db);
}

std::string PgServer::SocketUrl(const std::string& db) const {
  return fmt::format("postgresql://postgres@/{}?host={}&port={}", db, dir_, port_);
}

std::string PgServer::CreateDatabase() {
  auto name = fmt::format("kisgate_{}", ++databases_);
  Query("postgres", fmt::format("CREATE DATABASE {}", name));
  return name;
}

std::string PgServer::Query(const std::string& db, const std::string& sql) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(SocketUrl(db).c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error(fmt::format("connect to {}: {}", db, PQerrorMessage(conn.get())));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
  const auto status = PQresultStatus(r.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    throw std::runtime_error(fmt::format("{}: {}", sql, PQresultErrorMessage(r.get())));
  }
  std::string out;
  for (int row = 0; row < PQntuples(r.get()); ++row) {
    if (row > 0) out += ",";
    out += PQgetisnull(r.get(), row, 0) != 0 ? "NULL" : PQgetvalue(r.get(), row, 0);
  }
  return out;
}

PgServer& SharedPgServer() {
  static PgServer server;
  return server;
}

}  // namespace kisgate::testing

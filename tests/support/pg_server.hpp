#pragma once
// A throw-away PostgreSQL server for tests: initdb in a fresh temporary directory (as the
// `postgres` user when run as root: initdb refuses root), started by pg_ctl on a free TCP port of
// 127.0.0.1 with its unix socket in that directory, stopped and removed by the destructor. Logins
// over TCP need the password (scram-sha-256), so tests can try a wrong one. By default fsync is
// off (a test server need not survive a power cut, and tests run faster); benchmarks pass "" to
// measure a durable server. The binaries come from Debian's
// postgresql package (scripts/bootstrap.sh): when they are missing the constructor throws, so the
// test fails rather than skips.
//
// Thread-safety: none; one test thread drives it.

#include <string>

namespace kisgate::testing {

class PgServer {
 public:
  // server_options: extra "-c name=value" settings for the server.
  explicit PgServer(std::string server_options = "-c fsync=off -c full_page_writes=off");
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  // "postgresql://postgres:PASSWORD@127.0.0.1:PORT/DB".
  std::string Url(const std::string& db) const;
  // The same database through the unix socket: "postgresql://postgres@/DB?host=DIR&port=PORT".
  std::string SocketUrl(const std::string& db) const;
  // Creates a fresh, empty database and returns its name.
  std::string CreateDatabase();
  // The first column of every row `sql` returns on `db`, joined by ","; throws on an error.
  std::string Query(const std::string& db, const std::string& sql) const;

  // pg_ctl stop/start/restart, each waiting until done (stop and restart: -m fast, which cuts
  // every open connection).
  void Stop();
  void Start();
  void Restart();
  // SIGSTOP / SIGCONT to the server and all its processes: a server that stops answering (hung, or
  // a network path that drops packets) while its connections stay open.
  void Pause();
  void Resume();

 private:
  void PgCtl(const std::string& action) const;

  std::string server_options_;
  std::string bin_;  // the folder of initdb and pg_ctl
  std::string dir_;
  std::string password_ = "kisgate-test-password";
  int port_ = 0;
  int databases_ = 0;
  bool running_ = false;
};

// The one server of this test binary, started on first use and stopped at exit.
PgServer& SharedPgServer();

}  // namespace kisgate::testing

// SQLite's own Windows CE code on CEKernel: the unmodified amalgamation built with
// SQLITE_OS_WINCE (file locks emulated with a named mutex and a named RAM-backed mapping of
// lock counters), several processes sharing one database in the CE object store. Each
// process is a sqlite_worker (tests/sqlite/sqlite_worker.c) on a private kernel. See
// docs/sqlite.md.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

constexpr const char* kDatabase = "\\My Documents\\ledger.db";
constexpr const char* kHostDatabase = "My Documents/ledger.db";

// A program run_sqlite_test.sh built, named by the environment variable `var`.
std::string built_program(const char* var) {
    const char* path = std::getenv(var);
    if (!path || !*path)
        throw std::runtime_error(std::string(var) + " is not set: run this test with meson test");
    return path;
}
// The worker without WAL (every test but one), and the same worker with SQLite's WAL compiled in.
std::string worker_program() { return built_program("CEK_SQLITE_WORKER"); }
std::string wal_worker_program() { return built_program("CEK_SQLITE_WAL_WORKER"); }

// A sqlite_worker attached to the fixture's kernel with the database open.
std::unique_ptr<Child> open_worker(KernelFixture& k, int busy_timeout_ms = 0,
                                   const std::string& program = worker_program()) {
    auto w = std::make_unique<Child>(std::vector<std::string>{program, kDatabase},
                                     k.client_env());
    std::string opened = w->ask("open", 30s);
    if (opened != "ok") throw std::runtime_error("sqlite_worker open: " + opened);
    if (w->ask("timeout " + std::to_string(busy_timeout_ms)) != "ok")
        throw std::runtime_error("sqlite_worker timeout failed");
    return w;
}

off_t host_size(const KernelFixture& k, const std::string& rel) {
    struct stat st;
    return ::stat((k.root() + "/" + rel).c_str(), &st) == 0 ? st.st_size : -1;
}

size_t objects_named(const cek::proto::Snapshot& s, const std::string& type,
                     const std::u16string& name) {
    size_t n = 0;
    for (const auto& o : s.objects) n += o.type == type && o.named && o.name == name;
    return n;
}

long number(const std::string& answer, size_t index) {
    return std::stol(field(answer, index));
}

// What one "run" reported: the last committed sequence number and the closing counters.
struct RunReport {
    long last_seq = 0;
    long commits = 0, busy = 0, reads = 0, inconsistent = 0;
    bool finished = false;
    std::string failure;
};

// Reads a worker's "commit W SEQ" lines up to its "done" line.
RunReport collect_run(Child& w, int worker, std::chrono::milliseconds timeout) {
    RunReport r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        auto line = w.read_line(left);
        if (!line) break;
        if (field(*line, 0) == "commit" && number(*line, 1) == worker) {
            long seq = number(*line, 2);
            if (seq <= r.last_seq) r.failure = "commits out of order: " + *line;
            r.last_seq = seq;
        } else if (field(*line, 0) == "done") {
            r.commits = number(*line, 1);
            r.busy = number(*line, 2);
            r.reads = number(*line, 3);
            r.inconsistent = number(*line, 4);
            r.finished = true;
            break;
        } else {
            r.failure = *line;
            break;
        }
    }
    return r;
}

}  // namespace

TEST_CASE("SQLite's CE build: concurrent transactions from four processes, one killed with -9 "
          "in mid-transaction, lose no committed row",
          "[sqlite][multiproc][death]") {
    KernelFixture k;
    {
        auto setup = open_worker(k);
        REQUIRE(setup->ask("schema") == "ok");
        REQUIRE(setup->ask("close") == "ok");
    }
    constexpr int kWorkers = 4;
    constexpr int kVictim = kWorkers - 1;
    constexpr int kRowsPerCommit = 5;
    std::vector<std::unique_ptr<Child>> workers;
    for (int i = 0; i < kWorkers; ++i) workers.push_back(open_worker(k, 100));

    // Everybody writes and reads; the victim stops first, then opens a transaction larger than
    // its page cache, so SQLite has written into the database file (under an exclusive lock,
    // with a hot journal) when the kill comes. The others are still running then.
    for (int i = 0; i < kVictim; ++i)
        workers[i]->write_line("run " + std::to_string(i) + " " +
                               std::to_string(kRowsPerCommit) + " 3000");
    workers[kVictim]->write_line("run " + std::to_string(kVictim) + " " +
                                 std::to_string(kRowsPerCommit) + " 1000");
    std::map<int, RunReport> reports;
    reports[kVictim] = collect_run(*workers[kVictim], kVictim, 60s);
    REQUIRE(reports[kVictim].failure == "");
    REQUIRE(reports[kVictim].finished);
    REQUIRE(workers[kVictim]->ask("exec PRAGMA cache_size = 16") == "ok");
    std::string held = workers[kVictim]->ask("hold " + std::to_string(kVictim) + " 200", 60s);
    REQUIRE(field(held, 0) == "holding");
    CHECK(number(held, 1) == reports[kVictim].last_seq + 1);
    CHECK(host_size(k, std::string(kHostDatabase) + "-journal") > 0);

    workers[kVictim]->kill(SIGKILL);
    auto status = workers[kVictim]->wait(10s);
    REQUIRE(status);
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGKILL);

    for (int i = 0; i < kVictim; ++i) {
        reports[i] = collect_run(*workers[i], i, 120s);
        INFO("worker " << i);
        REQUIRE(reports[i].failure == "");
        REQUIRE(reports[i].finished);
        CHECK(reports[i].inconsistent == 0);
        CHECK(reports[i].commits == reports[i].last_seq / kRowsPerCommit);
    }
    long committed = 0;
    for (auto& [i, r] : reports) {
        committed += r.last_seq;
        UNSCOPED_INFO("worker " << i << ": " << r.commits << " commits, " << r.busy
                                << " busy, " << r.reads << " reads, last row " << r.last_seq);
    }
    CHECK(committed > 0);

    // SQLite's CE lock emulation keeps its lock counters in shared memory that outlives the
    // killed process's handles: its reserved and exclusive locks stay taken (as on a CE
    // device) until every process has closed the database.
    CHECK(workers[0]->ask("timeout 0") == "ok");
    CHECK(workers[0]->ask("exec BEGIN IMMEDIATE") == "busy");
    CHECK(workers[0]->ask("value SELECT count(*) FROM ledger") == "busy");
    for (int i = 0; i < kVictim; ++i) {
        CHECK(workers[i]->ask("close") == "ok");
        workers[i]->close_stdin();
        auto exited = workers[i]->wait(10s);
        REQUIRE(exited);
        CHECK(WIFEXITED(*exited));
        CHECK(WEXITSTATUS(*exited) == 0);
    }
    REQUIRE(k.wait_for([](const auto& s) { return app_processes(s) == 0; }));

    // A fresh process rolls the hot journal back: the database is intact, holds exactly the
    // committed rows (none of the killed transaction's), and takes new writes.
    auto check = open_worker(k);
    CHECK(check->ask("integrity") == "integrity ok");
    CHECK(host_size(k, std::string(kHostDatabase) + "-journal") <= 0);
    for (auto& [i, r] : reports) {
        INFO("worker " << i);
        long first = r.last_seq > 0 ? 1 : 0;
        CHECK(check->ask("stats " + std::to_string(i)) ==
              "stats " + std::to_string(r.last_seq) + " " + std::to_string(first) + " " +
                  std::to_string(r.last_seq) + " " + std::to_string(r.last_seq));
    }
    CHECK(check->ask("value SELECT count(*) FROM ledger") == "value " + std::to_string(committed));
    CHECK(check->ask("exec INSERT INTO totals(worker, n) VALUES (99, 0)") == "ok");
    CHECK(check->ask("value SELECT count(*) FROM totals WHERE worker = 99") == "value 1");
    // VACUUM rebuilds the file through a temporary database (SQLite's CE temp files).
    CHECK(check->ask("exec VACUUM", 60s) == "ok");
    CHECK(check->ask("integrity") == "integrity ok");
    CHECK(check->ask("value SELECT count(*) FROM ledger") == "value " + std::to_string(committed));
    CHECK(check->ask("close") == "ok");
}

TEST_CASE("SQLite's CE build: a reader meets a writer's exclusive lock with SQLITE_BUSY and "
          "proceeds once the writer commits",
          "[sqlite][multiproc][lock]") {
    KernelFixture k;
    auto writer = open_worker(k);
    auto reader = open_worker(k);
    REQUIRE(writer->ask("schema") == "ok");
    REQUIRE(writer->ask("exec INSERT INTO totals(worker, n) VALUES (1, 10)") == "ok");
    REQUIRE(reader->ask("value SELECT n FROM totals WHERE worker = 1") == "value 10");
    // SQLite's CE locks: one named mutex (the path in lower case, '\\' as '_') and one named
    // mapping of lock counters (the same name in upper case), shared by both processes.
    auto snapshot = k.snapshot();
    CHECK(objects_named(snapshot, "mutex", u"_my documents_ledger.db") == 1);
    CHECK(objects_named(snapshot, "mapping", u"_MY DOCUMENTS_LEDGER.DB") == 1);

    REQUIRE(writer->ask("exec BEGIN EXCLUSIVE") == "ok");
    REQUIRE(writer->ask("exec UPDATE totals SET n = 11 WHERE worker = 1") == "ok");
    CHECK(reader->ask("value SELECT n FROM totals WHERE worker = 1") == "busy");
    CHECK(reader->ask("exec BEGIN IMMEDIATE") == "busy");

    // The reader waits through SQLite's busy handler; it has met the lock before the commit.
    reader->write_line("blocking SELECT n FROM totals WHERE worker = 1");
    REQUIRE(reader->read_line(30s) == "blocked");
    REQUIRE(writer->ask("exec COMMIT") == "ok");
    CHECK(reader->read_line(40s) == "value 11");
}

TEST_CASE("SQLite's CE build: a reserved writer lets readers see the committed data and turns "
          "other writers away",
          "[sqlite][multiproc][lock]") {
    KernelFixture k;
    auto writer = open_worker(k);
    auto reader = open_worker(k);
    auto other = open_worker(k);
    REQUIRE(writer->ask("schema") == "ok");
    REQUIRE(writer->ask("exec INSERT INTO totals(worker, n) VALUES (1, 10)") == "ok");

    REQUIRE(writer->ask("exec BEGIN IMMEDIATE") == "ok");
    REQUIRE(writer->ask("exec UPDATE totals SET n = 11 WHERE worker = 1") == "ok");
    CHECK(reader->ask("value SELECT n FROM totals WHERE worker = 1") == "value 10");
    CHECK(other->ask("exec BEGIN IMMEDIATE") == "busy");
    CHECK(other->ask("exec UPDATE totals SET n = 12 WHERE worker = 1") == "busy");
    REQUIRE(writer->ask("exec COMMIT") == "ok");

    CHECK(reader->ask("value SELECT n FROM totals WHERE worker = 1") == "value 11");
    CHECK(other->ask("exec UPDATE totals SET n = n + 1 WHERE worker = 1") == "ok");
    CHECK(reader->ask("value SELECT n FROM totals WHERE worker = 1") == "value 12");
}

TEST_CASE("SQLite's CE build: a reader's shared lock keeps a writer's COMMIT busy, and the "
          "writer's pending lock keeps new readers out, until the reader ends",
          "[sqlite][multiproc][lock]") {
    KernelFixture k;
    auto writer = open_worker(k);
    auto reader = open_worker(k);
    auto late = open_worker(k);
    REQUIRE(writer->ask("schema") == "ok");
    REQUIRE(writer->ask("exec INSERT INTO totals(worker, n) VALUES (1, 10)") == "ok");

    REQUIRE(reader->ask("exec BEGIN") == "ok");
    REQUIRE(reader->ask("value SELECT n FROM totals WHERE worker = 1") == "value 10");
    REQUIRE(writer->ask("exec BEGIN IMMEDIATE") == "ok");
    REQUIRE(writer->ask("exec UPDATE totals SET n = 11 WHERE worker = 1") == "ok");
    CHECK(writer->ask("exec COMMIT") == "busy");
    CHECK(late->ask("value SELECT n FROM totals WHERE worker = 1") == "busy");
    CHECK(reader->ask("value SELECT n FROM totals WHERE worker = 1") == "value 10");

    REQUIRE(reader->ask("exec COMMIT") == "ok");
    REQUIRE(writer->ask("exec COMMIT") == "ok");
    CHECK(late->ask("value SELECT n FROM totals WHERE worker = 1") == "value 11");
    CHECK(reader->ask("value SELECT n FROM totals WHERE worker = 1") == "value 11");
}

TEST_CASE("SQLite's CE build with WAL: CE 5 refuses the shared-memory file's mapping at the "
          "first statement, and no data is lost",
          "[sqlite][wal][ce5]") {
    KernelFixture k;
    {
        auto setup = open_worker(k);
        REQUIRE(setup->ask("schema") == "ok");
        REQUIRE(setup->ask("exec INSERT INTO totals VALUES(7, 42)") == "ok");
        REQUIRE(setup->ask("close") == "ok");
    }
    auto wal = open_worker(k, 0, wal_worker_program());
    // The switch succeeds: SQLite marks the file as WAL (header bytes 18 and 19 become 2) before
    // it first needs the shared memory.
    CHECK(wal->ask("text PRAGMA journal_mode=WAL") == "text wal");
    // The first statement maps the -shm file through a CreateFileW handle, which CE 5's
    // CreateFileMapping refuses (ERROR_INVALID_PARAMETER); SQLite reports an I/O error.
    CHECK(wal->ask("value SELECT n FROM totals WHERE worker = 7") == "error 10 disk I/O error");
    const std::string log = wal->ask("log");
    CHECK(log.find("(87) winShmMap3(\\My Documents\\ledger.db) - The parameter is incorrect.") !=
          std::string::npos);
    REQUIRE(wal->ask("close") == "ok");

    // The build without WAL refuses a file marked as WAL...
    auto refused = open_worker(k);
    CHECK(refused->ask("integrity") == "error 26 file is not a database");
    REQUIRE(refused->ask("close") == "ok");
    // ...yet nothing is lost: marked as a rollback database again (bytes 18 and 19 back to 1,
    // what journal_mode=DELETE writes), every row is there and the database takes writes.
    {
        std::fstream db(k.root() + "/" + kHostDatabase,
                        std::ios::in | std::ios::out | std::ios::binary);
        REQUIRE(db);
        db.seekp(18);
        db.write("\x01\x01", 2);
        REQUIRE(db);
    }
    auto check = open_worker(k);
    CHECK(check->ask("integrity") == "integrity ok");
    CHECK(check->ask("value SELECT n FROM totals WHERE worker = 7") == "value 42");
    CHECK(check->ask("exec INSERT INTO totals VALUES(8, 1)") == "ok");
    CHECK(check->ask("close") == "ok");
}

TEST_CASE("SQLite's CE build with WAL: under CE 6 three processes share one WAL database "
          "through the mapped -shm file, and a writer killed with -9 loses only its own "
          "uncommitted rows",
          "[sqlite][wal][ce6]") {
    KernelFixture k({"--personality", "ce6"});
    const std::string wal_program = wal_worker_program();
    std::vector<std::unique_ptr<Child>> workers;
    for (int i = 0; i < 3; ++i) workers.push_back(open_worker(k, 0, wal_program));
    REQUIRE(workers[0]->ask("schema") == "ok");
    REQUIRE(workers[0]->ask("text PRAGMA journal_mode=WAL") == "text wal");
    REQUIRE(workers[0]->ask("exec INSERT INTO totals VALUES(7, 0)") == "ok");
    // CE 6 maps the -shm file through its CreateFileW handle; every process sees the same
    // wal-index, so each one reads the others' commits (a private copy would leave it reading a
    // stale snapshot). SQLite's CE code takes no cross-process lock on the -shm file (its lock
    // emulation covers the main database only), so the processes take turns here, as a CE 6
    // application sharing a WAL database must arrange for itself.
    CHECK(host_size(k, std::string(kHostDatabase) + "-shm") > 0);
    CHECK(host_size(k, std::string(kHostDatabase) + "-wal") > 0);
    for (int round = 1; round <= 30; ++round) {
        INFO("round " << round);
        Child& writer = *workers[round % 3];
        REQUIRE(writer.ask("exec UPDATE totals SET n = n + 1 WHERE worker = 7") == "ok");
        REQUIRE(writer.ask("exec INSERT INTO ledger(worker, seq, payload) VALUES (7, " +
                           std::to_string(round) + ", 'row')") == "ok");
        for (auto& reader : workers)
            REQUIRE(reader->ask("value SELECT n FROM totals WHERE worker = 7") ==
                    "value " + std::to_string(round));
        if (round % 10 == 0)  // a checkpoint from one process moves the pages into the file
            REQUIRE(workers[(round + 1) % 3]->ask("text PRAGMA wal_checkpoint") == "text 0");
    }

    // A writer dies with -9 in the middle of a transaction large enough to have spilled frames
    // into the WAL: the others never see its rows and go on writing.
    REQUIRE(workers[2]->ask("exec PRAGMA cache_size = 16") == "ok");
    REQUIRE(field(workers[2]->ask("hold 8 200", 60s), 0) == "holding");
    workers[2]->kill(SIGKILL);
    REQUIRE(workers[2]->wait(10s));
    workers.pop_back();
    CHECK(workers[0]->ask("value SELECT count(*) FROM ledger WHERE worker = 8") == "value 0");
    CHECK(workers[1]->ask("exec UPDATE totals SET n = n + 1 WHERE worker = 7") == "ok");
    CHECK(workers[0]->ask("value SELECT n FROM totals WHERE worker = 7") == "value 31");
    CHECK(workers[0]->ask("integrity") == "integrity ok");
    for (auto& w : workers) REQUIRE(w->ask("close") == "ok");
    workers.clear();

    // A new process of the WAL build finds every committed row.
    auto check = open_worker(k, 0, wal_program);
    CHECK(check->ask("integrity") == "integrity ok");
    CHECK(check->ask("value SELECT count(*) FROM ledger") == "value 30");
    CHECK(check->ask("value SELECT n FROM totals WHERE worker = 7") == "value 31");
    CHECK(check->ask("close") == "ok");
}

/*
 * sqlite_worker: one process of the SQLite acceptance test. A CE program: SQLite's own Windows
 * CE build (os_win.c with SQLITE_OS_WINCE, compiled from the unmodified amalgamation) on top
 * of coredll, using one database file in the CE object store.
 *
 *   sqlite_worker DB_PATH        (a CE path, e.g. "\My Documents\ledger.db")
 *
 * Commands arrive on stdin, one a line; each gets one answer line on stdout, except "run",
 * which reports every commit as it happens, and "blocking", which says "blocked" when SQLite
 * first finds the database locked. Errors are answered "error <sqlite code> <message>" and a
 * lock conflict "busy".
 *
 *   open | close                      open (creating) / close the database
 *   timeout MS                        sqlite3_busy_timeout
 *   schema                            the ledger and totals tables
 *   exec SQL                          -> ok
 *   value SQL                         -> value N (first column of the first row)
 *   blocking SQL                      like value, waiting through locks: "blocked" first
 *   run WORKER ROWS MS                write and read transactions for MS milliseconds:
 *                                     "commit WORKER LASTSEQ" after each COMMIT returns,
 *                                     then "done COMMITS BUSY READS INCONSISTENT"
 *   hold WORKER ROWS                  opens a write transaction of ROWS large rows and keeps
 *                                     it open: "holding FIRSTSEQ LASTSEQ"
 *   text SQL                          -> text T (first column of the first row, as text)
 *   log                               -> log <SQLite's log messages since the last "log",
 *                                        "code: message" each, joined by " | ">
 *   integrity                         -> integrity <PRAGMA integrity_check's first row>
 *   stats WORKER                      -> stats COUNT MINSEQ MAXSEQ TOTAL
 */
#include <windows.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

#define SMALL_PAYLOAD 64
#define LARGE_PAYLOAD 4000
#define BLOCKING_LIMIT_MS 30000

static sqlite3* g_db;
static const char* g_path;
static int g_timeout_ms; /* the busy timeout set by "timeout" */

static void answer(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void answer(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* SQLite's error log (SQLITE_CONFIG_LOG), kept for "log". */
static char g_log[2048];

static void log_message(void* unused, int code, const char* message) {
    (void)unused;
    size_t used = strlen(g_log);
    if (used + 8 >= sizeof g_log) return;
    snprintf(g_log + used, sizeof g_log - used, "%s%d: %s", used ? " | " : "", code, message);
}

static int is_busy(int rc) {
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* Answers a failed call: "busy" for a lock conflict, else the code and SQLite's message. */
static void answer_failure(int rc) {
    if (is_busy(rc))
        answer("busy");
    else
        answer("error %d %s", rc, g_db ? sqlite3_errmsg(g_db) : sqlite3_errstr(rc));
}

/* Runs every statement of `sql`; the first row's first column goes to *value if given. */
static int run_sql(const char* sql, sqlite3_int64* value) {
    const char* tail = sql;
    int have_value = 0;
    while (*tail) {
        sqlite3_stmt* stmt = NULL;
        int rc = sqlite3_prepare_v2(g_db, tail, -1, &stmt, &tail);
        if (rc != SQLITE_OK) return rc;
        if (!stmt) break; /* trailing blanks or a comment */
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (value && !have_value) {
                *value = sqlite3_column_int64(stmt, 0);
                have_value = 1;
            }
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE) return rc;
    }
    if (value && !have_value) *value = 0;
    return SQLITE_OK;
}

/* The busy handler of "blocking": announces the first conflict, then retries with SQLite's
 * own sleep until the lock goes or BLOCKING_LIMIT_MS pass. */
static int blocking_handler(void* start_tick, int attempts) {
    if (attempts == 0) answer("blocked");
    if (GetTickCount() - *(DWORD*)start_tick > BLOCKING_LIMIT_MS) return 0;
    sqlite3_sleep(1);
    return 1;
}

static void cmd_blocking(const char* sql) {
    DWORD start = GetTickCount();
    sqlite3_int64 value = 0;
    sqlite3_busy_handler(g_db, blocking_handler, &start);
    int rc = run_sql(sql, &value);
    sqlite3_busy_timeout(g_db, g_timeout_ms);
    if (rc == SQLITE_OK)
        answer("value %lld", (long long)value);
    else
        answer_failure(rc);
}

static const char kSchema[] =
    "CREATE TABLE IF NOT EXISTS ledger("
    "  worker INTEGER NOT NULL, seq INTEGER NOT NULL, payload BLOB NOT NULL,"
    "  PRIMARY KEY (worker, seq));"
    "CREATE INDEX IF NOT EXISTS ledger_by_seq ON ledger(seq, worker);"
    "CREATE TABLE IF NOT EXISTS totals(worker INTEGER PRIMARY KEY, n INTEGER NOT NULL);";

/* The highest committed sequence number of `worker`. */
static int last_seq(int worker, sqlite3_int64* seq) {
    sqlite3_stmt* stmt;
    int rc = sqlite3_prepare_v2(g_db, "SELECT coalesce(max(seq), 0) FROM ledger WHERE worker = ?",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_int(stmt, 1, worker);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(stmt, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* Inserts rows first..last of `worker` with `payload_size`-byte payloads and counts them in
 * totals, inside the caller's transaction. */
static int insert_rows(int worker, sqlite3_int64 first, sqlite3_int64 last, int payload_size) {
    sqlite3_stmt* row;
    sqlite3_stmt* total;
    int rc = sqlite3_prepare_v2(g_db,
                                "INSERT INTO ledger(worker, seq, payload) VALUES(?, ?, randomblob(?))",
                                -1, &row, NULL);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_prepare_v2(g_db,
                            "INSERT INTO totals(worker, n) VALUES(?, ?) "
                            "ON CONFLICT(worker) DO UPDATE SET n = n + excluded.n",
                            -1, &total, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(row);
        return rc;
    }
    for (sqlite3_int64 seq = first; seq <= last && rc == SQLITE_OK; ++seq) {
        sqlite3_bind_int(row, 1, worker);
        sqlite3_bind_int64(row, 2, seq);
        sqlite3_bind_int(row, 3, payload_size);
        rc = sqlite3_step(row);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        sqlite3_reset(row);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(total, 1, worker);
        sqlite3_bind_int64(total, 2, last - first + 1);
        rc = sqlite3_step(total);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(row);
    sqlite3_finalize(total);
    return rc;
}

/* One write transaction of `rows` rows after *seq; advances *seq once COMMIT has returned. */
static int write_transaction(int worker, int rows, sqlite3_int64* seq) {
    int rc = run_sql("BEGIN IMMEDIATE", NULL);
    if (rc != SQLITE_OK) return rc;
    rc = insert_rows(worker, *seq + 1, *seq + rows, SMALL_PAYLOAD);
    if (rc == SQLITE_OK) rc = run_sql("COMMIT", NULL);
    if (rc != SQLITE_OK) {
        if (sqlite3_get_autocommit(g_db) == 0) run_sql("ROLLBACK", NULL);
        return rc;
    }
    *seq += rows;
    return SQLITE_OK;
}

/* One read transaction: the ledger's row count must equal the sum of totals at every
 * committed state. Sets *consistent. */
static int read_transaction(int* consistent) {
    sqlite3_int64 rows = 0, counted = 0;
    int rc = run_sql("BEGIN", NULL);
    if (rc == SQLITE_OK) rc = run_sql("SELECT count(*) FROM ledger", &rows);
    if (rc == SQLITE_OK) rc = run_sql("SELECT coalesce(sum(n), 0) FROM totals", &counted);
    if (rc == SQLITE_OK) rc = run_sql("COMMIT", NULL);
    if (rc != SQLITE_OK) {
        if (sqlite3_get_autocommit(g_db) == 0) run_sql("ROLLBACK", NULL);
        return rc;
    }
    *consistent = rows == counted;
    return SQLITE_OK;
}

static void cmd_run(int worker, int rows, DWORD ms) {
    sqlite3_int64 seq = 0;
    long commits = 0, busy = 0, reads = 0, inconsistent = 0;
    DWORD start = GetTickCount();
    /* The first read is a transaction like the others: the workers already running may keep
     * it busy for longer than the busy timeout, and then it is tried again. */
    int rc = last_seq(worker, &seq);
    while (is_busy(rc) && GetTickCount() - start < ms) {
        ++busy;
        rc = last_seq(worker, &seq);
    }
    while (rc == SQLITE_OK && GetTickCount() - start < ms) {
        rc = write_transaction(worker, rows, &seq);
        if (rc == SQLITE_OK) {
            ++commits;
            answer("commit %d %lld", worker, (long long)seq);
        } else if (is_busy(rc)) {
            ++busy;
            rc = SQLITE_OK;
        }
        if (rc != SQLITE_OK) break;
        int consistent = 1;
        rc = read_transaction(&consistent);
        if (rc == SQLITE_OK) {
            ++reads;
            inconsistent += !consistent;
        } else if (is_busy(rc)) {
            ++busy;
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        answer_failure(rc);
    else
        answer("done %ld %ld %ld %ld", commits, busy, reads, inconsistent);
}

/* Waits through other processes' locks, including while the page cache spills. */
static void cmd_hold(int worker, int rows) {
    sqlite3_int64 seq = 0;
    sqlite3_busy_timeout(g_db, BLOCKING_LIMIT_MS);
    int rc = last_seq(worker, &seq);
    if (rc == SQLITE_OK) rc = run_sql("BEGIN IMMEDIATE", NULL);
    if (rc == SQLITE_OK) {
        rc = insert_rows(worker, seq + 1, seq + rows, LARGE_PAYLOAD);
        if (rc != SQLITE_OK) run_sql("ROLLBACK", NULL);
    }
    sqlite3_busy_timeout(g_db, g_timeout_ms);
    if (rc == SQLITE_OK)
        answer("holding %lld %lld", (long long)seq + 1, (long long)(seq + rows));
    else
        answer_failure(rc);
}

static void cmd_integrity(void) {
    sqlite3_stmt* stmt;
    int rc = sqlite3_prepare_v2(g_db, "PRAGMA integrity_check", -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) answer("integrity %s", (const char*)sqlite3_column_text(stmt, 0));
        sqlite3_finalize(stmt);
    }
    if (rc != SQLITE_ROW) answer_failure(rc);
}

static void cmd_stats(int worker) {
    sqlite3_stmt* stmt;
    int rc = sqlite3_prepare_v2(g_db,
                                "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0),"
                                " (SELECT coalesce(sum(n), 0) FROM totals WHERE worker = ?1)"
                                " FROM ledger WHERE worker = ?1",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(stmt, 1, worker);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            answer("stats %lld %lld %lld %lld", (long long)sqlite3_column_int64(stmt, 0),
                   (long long)sqlite3_column_int64(stmt, 1),
                   (long long)sqlite3_column_int64(stmt, 2),
                   (long long)sqlite3_column_int64(stmt, 3));
        sqlite3_finalize(stmt);
    }
    if (rc != SQLITE_ROW) answer_failure(rc);
}

static void cmd_open(void) {
    int rc = sqlite3_open_v2(g_path, &g_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        answer_failure(rc);
        sqlite3_close(g_db);
        g_db = NULL;
        return;
    }
    answer("ok");
}

static void dispatch(char* line) {
    char* arg = strchr(line, ' ');
    if (arg) *arg++ = '\0';
    else arg = line + strlen(line);

    if (strcmp(line, "open") == 0) {
        cmd_open();
        return;
    }
    if (!g_db) {
        answer("error %d database not open", SQLITE_MISUSE);
        return;
    }
    int a = 0, b = 0, c = 0;
    if (strcmp(line, "close") == 0) {
        int rc = sqlite3_close(g_db);
        if (rc == SQLITE_OK) {
            g_db = NULL;
            answer("ok");
        } else {
            answer_failure(rc);
        }
    } else if (strcmp(line, "timeout") == 0 && sscanf(arg, "%d", &a) == 1) {
        g_timeout_ms = a;
        sqlite3_busy_timeout(g_db, a);
        answer("ok");
    } else if (strcmp(line, "schema") == 0) {
        int rc = run_sql(kSchema, NULL);
        if (rc == SQLITE_OK) answer("ok");
        else answer_failure(rc);
    } else if (strcmp(line, "exec") == 0) {
        int rc = run_sql(arg, NULL);
        if (rc == SQLITE_OK) answer("ok");
        else answer_failure(rc);
    } else if (strcmp(line, "value") == 0) {
        sqlite3_int64 value = 0;
        int rc = run_sql(arg, &value);
        if (rc == SQLITE_OK) answer("value %lld", (long long)value);
        else answer_failure(rc);
    } else if (strcmp(line, "text") == 0) {
        sqlite3_stmt* stmt = NULL;
        int rc = sqlite3_prepare_v2(g_db, arg, -1, &stmt, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            const unsigned char* text = sqlite3_column_text(stmt, 0);
            answer("text %s", text ? (const char*)text : "");
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            answer("text");
            rc = SQLITE_OK;
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_OK) answer_failure(rc);
    } else if (strcmp(line, "log") == 0) {
        answer("log %s", g_log);
        g_log[0] = '\0';
    } else if (strcmp(line, "blocking") == 0) {
        cmd_blocking(arg);
    } else if (strcmp(line, "run") == 0 && sscanf(arg, "%d %d %d", &a, &b, &c) == 3 && b > 0 &&
               c > 0) {
        cmd_run(a, b, (DWORD)c);
    } else if (strcmp(line, "hold") == 0 && sscanf(arg, "%d %d", &a, &b) == 2 && b > 0) {
        cmd_hold(a, b);
    } else if (strcmp(line, "integrity") == 0) {
        cmd_integrity();
    } else if (strcmp(line, "stats") == 0 && sscanf(arg, "%d", &a) == 1) {
        cmd_stats(a);
    } else {
        answer("error %d unknown command or bad arguments: %s", SQLITE_MISUSE, line);
    }
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DB_PATH\n", argv[0]);
        return 2;
    }
    g_path = argv[1];
    sqlite3_config(SQLITE_CONFIG_LOG, log_message, (void*)0);
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0]) dispatch(line);
    }
    if (g_db && sqlite3_close(g_db) != SQLITE_OK) return 1;
    return 0;
}

// Hive files in SQLite (hive.h; docs/decisions/0009-registry.md).
#include "fsys/registry/hive.h"

#include <sqlite3.h>

#include <cstring>

namespace cek::fsys::registry {

namespace {

constexpr int kFormat = 1;

const char* const kSchema =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS keys(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL,"
    " root INTEGER NOT NULL, name BLOB NOT NULL, class BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS vals(key INTEGER NOT NULL, fname BLOB NOT NULL,"
    " name BLOB NOT NULL, type INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(key, fname)) WITHOUT ROWID;";

}  // namespace

// A prepared statement, finalized on scope exit. Outside the anonymous namespace because
// Hive::Statements (external linkage) holds some.
namespace detail {

class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK; }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool ok() const { return ok_; }
    sqlite3_stmt* get() { return s_; }
    void text16(int i, std::u16string_view s) {
        sqlite3_bind_blob(s_, i, s.data(), static_cast<int>(s.size() * 2), SQLITE_STATIC);
    }
    void blob(int i, const std::vector<std::byte>& d) {
        // A zero-length blob, not NULL.
        sqlite3_bind_blob(s_, i, d.empty() ? "" : static_cast<const void*>(d.data()),
                          static_cast<int>(d.size()), SQLITE_STATIC);
    }
    void i64(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
    bool run() {
        int rc = sqlite3_step(s_);
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
        return rc == SQLITE_DONE;
    }

private:
    sqlite3_stmt* s_ = nullptr;
    bool ok_ = false;
};

}  // namespace detail

using detail::Stmt;

namespace {

std::u16string column_text16(sqlite3_stmt* s, int i) {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
    const int n = sqlite3_column_bytes(s, i);
    std::u16string out(static_cast<size_t>(n) / 2, u'\0');
    if (n >= 2) std::memcpy(out.data(), p, out.size() * 2);
    return out;
}

bool exec(sqlite3* db, const char* sql, std::string& error) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
    error = msg != nullptr ? msg : sqlite3_errmsg(db);
    sqlite3_free(msg);
    return false;
}

}  // namespace

std::unique_ptr<Hive> Hive::open(const std::string& path, HiveId id, std::string& error,
                                 bool* locked) {
    if (locked != nullptr) *locked = false;
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    std::unique_ptr<Hive> hive(new Hive(db, path, id));
    if (rc != SQLITE_OK) {
        error = db != nullptr ? sqlite3_errmsg(db) : "cannot open";
        return nullptr;
    }
    // WAL: a commit appends to the log and fsyncs it once (synchronous=FULL); a crash at any
    // point leaves the last committed transaction. The kernel is the only writer. A checkpoint
    // every 64 pages keeps the log under 300 KiB, so a commit overwrites blocks the file has
    // already rather than allocating new ones: a flush cost 1.5x the bare fsync of its bytes
    // instead of 2-2.5x with SQLite's default of 1,000 (docs/performance.md, Registry).
    if (!exec(db,
              "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
              "PRAGMA wal_autocheckpoint=64;",
              error) ||
        !exec(db, kSchema, error)) {
        if (locked != nullptr) *locked = (sqlite3_extended_errcode(db) & 0xFF) == SQLITE_BUSY;
        return nullptr;
    }
    Stmt q(db, "SELECT v FROM meta WHERE k='format'");
    if (!q.ok()) {
        error = sqlite3_errmsg(db);
        return nullptr;
    }
    if (sqlite3_step(q.get()) == SQLITE_ROW) {
        if (sqlite3_column_int(q.get(), 0) != kFormat) {
            error = "unknown hive format " + std::to_string(sqlite3_column_int(q.get(), 0));
            return nullptr;
        }
    } else {
        hive->fresh_ = true;
    }
    return hive;
}

Result<void> Hive::load(Tree& tree, size_t& skipped, std::string& error) {
    skipped = 0;
    Stmt k(db_, "SELECT id, parent, root, name, class FROM keys ORDER BY id");
    Stmt v(db_, "SELECT key, name, type, data FROM vals");
    if (!k.ok() || !v.ok()) {
        error = sqlite3_errmsg(db_);
        return Win32Error::ERROR_READ_FAULT;
    }
    int rc;
    while ((rc = sqlite3_step(k.get())) == SQLITE_ROW) {
        auto* s = k.get();
        if (!tree.load_key(id_, static_cast<uint32_t>(sqlite3_column_int64(s, 2)),
                           static_cast<uint64_t>(sqlite3_column_int64(s, 0)),
                           static_cast<uint64_t>(sqlite3_column_int64(s, 1)), column_text16(s, 3),
                           column_text16(s, 4)))
            ++skipped;
    }
    if (rc != SQLITE_DONE) {
        error = sqlite3_errmsg(db_);
        return Win32Error::ERROR_READ_FAULT;
    }
    while ((rc = sqlite3_step(v.get())) == SQLITE_ROW) {
        auto* s = v.get();
        const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(s, 3));
        std::vector<std::byte> data(p, p + sqlite3_column_bytes(s, 3));
        if (!tree.load_value(id_, static_cast<uint64_t>(sqlite3_column_int64(s, 0)),
                             column_text16(s, 1), static_cast<uint32_t>(sqlite3_column_int64(s, 2)),
                             std::move(data)))
            ++skipped;
    }
    if (rc != SQLITE_DONE) {
        error = sqlite3_errmsg(db_);
        return Win32Error::ERROR_READ_FAULT;
    }
    return {};
}

struct Hive::Statements {
    explicit Statements(sqlite3* db)
        : del_key(db, "DELETE FROM keys WHERE id=?1"),
          del_vals(db, "DELETE FROM vals WHERE key=?1"),
          put_key(db, "INSERT OR REPLACE INTO keys(id, parent, root, name, class) "
                      "VALUES(?1, ?2, ?3, ?4, ?5)"),
          put_val(db, "INSERT OR REPLACE INTO vals(key, fname, name, type, data) "
                      "VALUES(?1, ?2, ?3, ?4, ?5)"),
          del_val(db, "DELETE FROM vals WHERE key=?1 AND fname=?2"),
          meta(db, "INSERT OR REPLACE INTO meta(k, v) VALUES('format', ?1)") {}
    bool ok() const {
        return del_key.ok() && del_vals.ok() && put_key.ok() && put_val.ok() && del_val.ok() &&
               meta.ok();
    }
    Stmt del_key, del_vals, put_key, put_val, del_val, meta;
};

Hive::Hive(sqlite3* db, std::string path, HiveId id) : db_(db), path_(std::move(path)), id_(id) {}

Hive::~Hive() {
    statements_.reset();  // finalized before the database closes
    sqlite3_close(db_);
}

Result<void> Hive::flush(Tree& tree, std::string& error) {
    const HiveChanges& ch = tree.changes(id_);
    if (ch.empty() && !fresh_) return {};
    if (!statements_) {
        auto prepared = std::make_unique<Statements>(db_);
        if (!prepared->ok()) {
            error = sqlite3_errmsg(db_);
            return Win32Error::ERROR_WRITE_FAULT;
        }
        statements_ = std::move(prepared);
    }
    if (!exec(db_, "BEGIN IMMEDIATE", error)) return Win32Error::ERROR_WRITE_FAULT;
    bool ok = true;
    {
        auto& [del_key, del_vals, put_key, put_val, del_val, meta] = *statements_;
        for (uint64_t id : ch.deleted_keys) {
            if (!ok) break;
            del_key.i64(1, static_cast<int64_t>(id));
            del_vals.i64(1, static_cast<int64_t>(id));
            ok = del_key.run() && del_vals.run();
        }
        for (uint64_t id : ch.keys) {
            if (!ok) break;
            const Key* key = tree.by_id(id_, id);
            if (key == nullptr) continue;  // deleted since (its rows go above)
            put_key.i64(1, static_cast<int64_t>(id));
            put_key.i64(2, static_cast<int64_t>(key->parent()->parent() == nullptr ? 0 : key->parent()->id()));
            put_key.i64(3, key->root());
            put_key.text16(4, key->name());
            put_key.text16(5, key->class_name());
            ok = put_key.run();
        }
        for (const auto& [id, folded] : ch.values) {
            if (!ok) break;
            const Key* key = tree.by_id(id_, id);
            if (key == nullptr) continue;
            const Value* v = key->find_value(folded);
            if (v != nullptr) {
                put_val.i64(1, static_cast<int64_t>(id));
                put_val.text16(2, folded);
                put_val.text16(3, v->name);
                put_val.i64(4, v->type);
                put_val.blob(5, v->data);
                ok = put_val.run();
            } else {
                del_val.i64(1, static_cast<int64_t>(id));
                del_val.text16(2, folded);
                ok = del_val.run();
            }
        }
        if (ok && fresh_) {  // the format mark, once
            meta.i64(1, kFormat);
            ok = meta.run();
        }
        if (!ok) error = sqlite3_errmsg(db_);
    }
    if (!ok || !exec(db_, "COMMIT", error)) {
        std::string ignored;
        exec(db_, "ROLLBACK", ignored);
        return Win32Error::ERROR_WRITE_FAULT;
    }
    fresh_ = false;
    (void)tree.take_changes(id_);
    return {};
}

}  // namespace cek::fsys::registry

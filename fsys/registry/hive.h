// A hive file: the persistent half of the registry (docs/decisions/0009-registry.md). Each hive
// (system, user) is an SQLite database in WAL mode; the tree is read whole at boot, and a flush
// writes only what changed since the last one, in one transaction committed with
// synchronous=FULL, so after a crash at any moment the file holds exactly the last committed
// flush. Volatile keys never reach it.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "fsys/registry/key.h"

struct sqlite3;

namespace cek::fsys::registry {

class Hive {
public:
    // Opens (creating) the database at `path` for `id`. On failure, `error` says why, and
    // `locked` (if given) is set when another process (another kernel) holds the file.
    static std::unique_ptr<Hive> open(const std::string& path, HiveId id, std::string& error,
                                      bool* locked = nullptr);
    ~Hive();
    Hive(const Hive&) = delete;
    Hive& operator=(const Hive&) = delete;

    HiveId id() const { return id_; }
    const std::string& path() const { return path_; }
    // True when the file held no registry yet (first boot: import the defaults).
    bool fresh() const { return fresh_; }

    // Reads every key and value into `tree` (whose hive must be empty). Rows the tree refuses
    // (broken by hand) are skipped and counted in `skipped`.
    Result<void> load(Tree& tree, size_t& skipped, std::string& error);
    // Writes the tree's changes for this hive in one durable transaction. On failure the
    // changes are kept for the next flush and ERROR_WRITE_FAULT is returned.
    Result<void> flush(Tree& tree, std::string& error);

private:
    struct Statements;  // the flush's statements, prepared at the first flush and kept
    Hive(sqlite3* db, std::string path, HiveId id);
    sqlite3* db_;
    std::unique_ptr<Statements> statements_;
    std::string path_;
    HiveId id_;
    bool fresh_ = false;
};

}  // namespace cek::fsys::registry

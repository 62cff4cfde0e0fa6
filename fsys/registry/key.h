// The CE registry tree (ce-kernel-objects.md §6; docs/semantics/registry.md): keys, values and
// the CE rules on them, with no handles, processes or wire protocol. One Tree holds the four
// roots; HKEY_CURRENT_USER lives in the user hive, the other roots in the system hive. Every
// change to a non-volatile key is remembered per hive until Hive::flush writes it
// (docs/decisions/0009-registry.md). Single-threaded: the kernel's thread owns the tree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"

namespace cek::fsys::registry {

inline constexpr size_t kMaxNameChars = 255;     // key and value names, per component
inline constexpr size_t kMaxClassChars = 255;
inline constexpr size_t kMaxValueBytes = 4096;   // a 4096-byte value works, more fails
inline constexpr size_t kMaxDepth = 16;          // levels counting the root
// The longest subkey path that can name a key: 15 names of 255 below a root, their separators,
// one leading and one trailing separator (3,841), rounded up.
inline constexpr size_t kMaxPathChars = 4096;

// The four CE roots (HKEY values); the others (HKEY_CURRENT_CONFIG...) are not supported.
inline constexpr uint32_t kClassesRoot = 0x80000000u;
inline constexpr uint32_t kCurrentUser = 0x80000001u;
inline constexpr uint32_t kLocalMachine = 0x80000002u;
inline constexpr uint32_t kUsers = 0x80000003u;
inline constexpr uint32_t kRootCount = 4;
// "HKEY_LOCAL_MACHINE" for kLocalMachine..., nullptr for anything else.
const char* root_name(uint32_t hkey);
// The root whose name (or short form HKLM, HKCU, HKCR, HKU) is `name`, case-insensitively.
std::optional<uint32_t> root_by_name(std::u16string_view name);

enum class HiveId : uint8_t { System = 0, User = 1 };
inline constexpr size_t kHiveCount = 2;
constexpr HiveId hive_of_root(uint32_t hkey) {
    return hkey == kCurrentUser ? HiveId::User : HiveId::System;
}

struct Value {
    std::u16string name;  // as first set (a later set with other case keeps it)
    uint32_t type = 0;    // opaque: any number is stored and read back
    std::vector<std::byte> data;
    uint64_t stamp = 0;   // changes with every set: a reader of a value in parts checks it
};

class Key;
using KeyRef = std::shared_ptr<Key>;

class Key : public std::enable_shared_from_this<Key> {
public:
    uint64_t id() const { return id_; }  // unique within its hive, kept on disk
    const std::u16string& name() const { return name_; }
    const std::u16string& class_name() const { return class_; }
    bool is_volatile() const { return volatile_; }
    bool deleted() const { return deleted_; }
    HiveId hive() const { return hive_; }
    uint32_t root() const { return root_; }
    Key* parent() const { return parent_; }
    size_t depth() const { return depth_; }  // 1 for a root
    const std::vector<KeyRef>& children() const { return children_; }
    const std::vector<Value>& values() const { return values_; }
    const Value* find_value(std::u16string_view name) const;
    Key* find_child(std::u16string_view name) const;
    // The path below its root ("Software\\App"; "" for a root).
    std::u16string path() const;

private:
    friend class Tree;
    uint64_t id_ = 0;
    std::u16string name_;
    std::u16string class_;
    bool volatile_ = false;
    bool deleted_ = false;
    HiveId hive_ = HiveId::System;
    uint32_t root_ = 0;
    Key* parent_ = nullptr;
    KeyRef parent_keep_;  // once deleted: keeps parent_ valid for path() (no cycle: children_ is emptied)
    size_t depth_ = 1;
    std::vector<KeyRef> children_;                      // creation order
    std::unordered_map<std::u16string, Key*> child_index_;  // folded name -> child
    std::vector<Value> values_;                         // first-set order
    std::unordered_map<std::u16string, size_t> value_index_;  // folded name -> values_ index
};

// RegQueryInfoKey's counts; lengths in characters without terminators, data in bytes.
struct KeyInfo {
    uint32_t subkeys = 0;
    uint32_t max_subkey_chars = 0;
    uint32_t max_class_chars = 0;
    uint32_t values = 0;
    uint32_t max_value_name_chars = 0;
    uint32_t max_value_bytes = 0;
};

// What changed in one hive since its last flush: key ids to write (created, or a class set),
// key ids whose rows go (deleted subtrees, ids of keys created since the flush excluded), and
// (key id, folded value name) pairs to write or delete.
struct HiveChanges {
    std::set<uint64_t> keys;
    std::set<uint64_t> deleted_keys;
    std::set<std::pair<uint64_t, std::u16string>> values;
    bool empty() const { return keys.empty() && deleted_keys.empty() && values.empty(); }
    size_t count() const { return keys.size() + deleted_keys.size() + values.size(); }
};

struct Opened {
    KeyRef key;
    bool created = false;  // REG_CREATED_NEW_KEY, else REG_OPENED_EXISTING_KEY
};

class Tree {
public:
    Tree();
    Tree(const Tree&) = delete;
    Tree& operator=(const Tree&) = delete;

    // The root key for an HKEY value, or null.
    const KeyRef& root(uint32_t hkey) const;

    // RegCreateKeyEx below `base`: a path of '\\'-separated names (one leading and one trailing
    // '\\' tolerated; an empty or NULL path opens `base` again). Missing keys are created with
    // `class_name` on the last one and volatile when `volatile_key` or when their parent is.
    // ERROR_INVALID_PARAMETER for a name over 255 characters, an empty component, a class over
    // 255, or a result deeper than 16 levels; nothing is created then. ERROR_KEY_DELETED when
    // `base` was deleted.
    Result<Opened> create(const KeyRef& base, std::u16string_view path,
                          std::u16string_view class_name, bool volatile_key);
    // RegOpenKeyEx: ERROR_FILE_NOT_FOUND when a part is missing.
    Result<KeyRef> open(const KeyRef& base, std::u16string_view path) const;
    // RegDeleteKey: the key and all its subkeys; open handles to them see ERROR_KEY_DELETED.
    // ERROR_INVALID_PARAMETER for an empty path; ERROR_FILE_NOT_FOUND when missing.
    Result<void> remove(const KeyRef& base, std::u16string_view path);

    // RegSetValueEx: any type; ERROR_INVALID_PARAMETER for a name over 255 or data over 4 KB.
    Result<void> set_value(const KeyRef& key, std::u16string_view name, uint32_t type,
                           std::span<const std::byte> data);
    // ERROR_FILE_NOT_FOUND when there is no such value.
    Result<const Value*> query_value(const KeyRef& key, std::u16string_view name) const;
    Result<void> delete_value(const KeyRef& key, std::u16string_view name);
    // RegEnumKeyEx / RegEnumValue by index: ERROR_NO_MORE_ITEMS past the end.
    Result<const Key*> enum_key(const KeyRef& key, uint32_t index) const;
    Result<const Value*> enum_value(const KeyRef& key, uint32_t index) const;
    Result<KeyInfo> info(const KeyRef& key) const;

    // The changes a flush of `hive` must write; take_changes hands them over and starts anew.
    const HiveChanges& changes(HiveId hive) const { return changes_[static_cast<size_t>(hive)]; }
    HiveChanges take_changes(HiveId hive);
    // A live key of `hive` by id (null if gone or volatile): for the flush.
    const Key* by_id(HiveId hive, uint64_t id) const;

    // Loading a hive (Hive::load): a key under a parent given by id (0: the root of `hkey`),
    // not recorded as a change. False when the parent is unknown or the key is invalid.
    bool load_key(HiveId hive, uint32_t hkey, uint64_t id, uint64_t parent_id,
                  std::u16string name, std::u16string class_name);
    bool load_value(HiveId hive, uint64_t key_id, std::u16string name, uint32_t type,
                    std::vector<std::byte> data);

    size_t key_count() const;

private:
    KeyRef make_key(Key* parent, std::u16string name, std::u16string class_name, bool volatile_key,
                    uint64_t id);
    void mark_deleted(Key& key);
    HiveChanges& changes_of(const Key& key) { return changes_[static_cast<size_t>(key.hive_)]; }

    KeyRef roots_[kRootCount];
    KeyRef none_;
    HiveChanges changes_[kHiveCount];
    uint64_t next_stamp_ = 1;
    uint64_t next_id_[kHiveCount] = {kRootCount + 1, kRootCount + 1};
    std::unordered_map<uint64_t, Key*> by_id_[kHiveCount];
};

// Splits a registry path into its names ('\\'-separated, one leading and one trailing '\\'
// tolerated). nullopt for an empty component or a name over 255 characters.
std::optional<std::vector<std::u16string_view>> split_path(std::u16string_view path);

}  // namespace cek::fsys::registry

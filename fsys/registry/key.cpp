// The registry tree's rules (key.h; docs/semantics/registry.md).
#include "fsys/registry/key.h"

#include <algorithm>

#include "fsys/fold.h"

namespace cek::fsys::registry {

namespace {

constexpr uint64_t root_id(uint32_t hkey) { return hkey - kClassesRoot + 1; }
bool valid_root(uint32_t hkey) { return hkey >= kClassesRoot && hkey < kClassesRoot + kRootCount; }

struct RootName {
    uint32_t hkey;
    std::u16string_view name;
    std::u16string_view short_name;
    const char* text;
};
constexpr RootName kRoots[] = {
    {kClassesRoot, u"HKEY_CLASSES_ROOT", u"HKCR", "HKEY_CLASSES_ROOT"},
    {kCurrentUser, u"HKEY_CURRENT_USER", u"HKCU", "HKEY_CURRENT_USER"},
    {kLocalMachine, u"HKEY_LOCAL_MACHINE", u"HKLM", "HKEY_LOCAL_MACHINE"},
    {kUsers, u"HKEY_USERS", u"HKU", "HKEY_USERS"},
};

}  // namespace

const char* root_name(uint32_t hkey) {
    for (const auto& r : kRoots)
        if (r.hkey == hkey) return r.text;
    return nullptr;
}

std::optional<uint32_t> root_by_name(std::u16string_view name) {
    for (const auto& r : kRoots)
        if (equal_folded(name, r.name) || equal_folded(name, r.short_name)) return r.hkey;
    return std::nullopt;
}

std::optional<std::vector<std::u16string_view>> split_path(std::u16string_view path) {
    std::vector<std::u16string_view> parts;
    if (!path.empty() && path.front() == u'\\') path.remove_prefix(1);
    if (!path.empty() && path.back() == u'\\') path.remove_suffix(1);
    if (path.empty()) return parts;
    size_t start = 0;
    while (true) {
        size_t end = path.find(u'\\', start);
        std::u16string_view part = path.substr(start, end == std::u16string_view::npos
                                                          ? std::u16string_view::npos
                                                          : end - start);
        if (part.empty() || part.size() > kMaxNameChars) return std::nullopt;
        parts.push_back(part);
        if (end == std::u16string_view::npos) break;
        start = end + 1;
    }
    return parts;
}

const Value* Key::find_value(std::u16string_view name) const {
    auto it = value_index_.find(fold(name));
    return it == value_index_.end() ? nullptr : &values_[it->second];
}

Key* Key::find_child(std::u16string_view name) const {
    auto it = child_index_.find(fold(name));
    return it == child_index_.end() ? nullptr : it->second;
}

std::u16string Key::path() const {
    std::vector<const Key*> chain;
    for (const Key* k = this; k->parent_ != nullptr; k = k->parent_) chain.push_back(k);
    std::u16string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        if (!out.empty()) out += u'\\';
        out += (*it)->name_;
    }
    return out;
}

Tree::Tree() {
    for (uint32_t i = 0; i < kRootCount; ++i) {
        auto k = std::make_shared<Key>();
        k->root_ = kClassesRoot + i;
        k->hive_ = hive_of_root(k->root_);
        k->id_ = root_id(k->root_);
        k->depth_ = 1;
        by_id_[static_cast<size_t>(k->hive_)][k->id_] = k.get();
        roots_[i] = std::move(k);
    }
}

const KeyRef& Tree::root(uint32_t hkey) const {
    return valid_root(hkey) ? roots_[hkey - kClassesRoot] : none_;
}

KeyRef Tree::make_key(Key* parent, std::u16string name, std::u16string class_name,
                      bool volatile_key, uint64_t id) {
    auto k = std::make_shared<Key>();
    k->name_ = std::move(name);
    k->class_ = std::move(class_name);
    k->volatile_ = volatile_key || parent->volatile_;
    k->hive_ = parent->hive_;
    k->root_ = parent->root_;
    k->parent_ = parent;
    k->depth_ = parent->depth_ + 1;
    const auto h = static_cast<size_t>(k->hive_);
    k->id_ = id != 0 ? id : next_id_[h]++;
    if (k->id_ >= next_id_[h]) next_id_[h] = k->id_ + 1;
    if (!k->volatile_) by_id_[h][k->id_] = k.get();
    parent->child_index_[fold(k->name_)] = k.get();
    parent->children_.push_back(k);
    return k;
}

Result<Opened> Tree::create(const KeyRef& base, std::u16string_view path,
                            std::u16string_view class_name, bool volatile_key) {
    if (!base) return Win32Error::ERROR_INVALID_HANDLE;
    if (base->deleted_) return Win32Error::ERROR_KEY_DELETED;
    auto parts = split_path(path);
    if (!parts || class_name.size() > kMaxClassChars) return Win32Error::ERROR_INVALID_PARAMETER;
    if (base->depth_ + parts->size() > kMaxDepth) return Win32Error::ERROR_INVALID_PARAMETER;
    Key* at = base.get();
    KeyRef ref = base;
    bool created = false;
    for (size_t i = 0; i < parts->size(); ++i) {
        if (Key* child = at->find_child((*parts)[i])) {
            at = child;
            continue;
        }
        const bool last = i + 1 == parts->size();
        ref = make_key(at, std::u16string((*parts)[i]),
                       last ? std::u16string(class_name) : std::u16string(), volatile_key, 0);
        if (!ref->volatile_) changes_of(*ref).keys.insert(ref->id_);
        at = ref.get();
        created = last;
    }
    if (!created && at != base.get()) ref = at->shared_from_this();
    return Opened{ref, created};
}

Result<KeyRef> Tree::open(const KeyRef& base, std::u16string_view path) const {
    if (!base) return Win32Error::ERROR_INVALID_HANDLE;
    if (base->deleted_) return Win32Error::ERROR_KEY_DELETED;
    auto parts = split_path(path);
    if (!parts) return Win32Error::ERROR_FILE_NOT_FOUND;
    if (parts->empty()) return base;
    Key* at = base.get();
    for (auto part : *parts) {
        at = at->find_child(part);
        if (at == nullptr) return Win32Error::ERROR_FILE_NOT_FOUND;
    }
    return at->shared_from_this();
}

void Tree::mark_deleted(Key& key) {
    for (const auto& c : key.children_) mark_deleted(*c);
    key.parent_keep_ = key.parent_->shared_from_this();
    key.children_.clear();
    key.child_index_.clear();
    key.deleted_ = true;
    if (key.volatile_) return;
    auto& ch = changes_of(key);
    if (ch.keys.erase(key.id_) == 0) ch.deleted_keys.insert(key.id_);
    by_id_[static_cast<size_t>(key.hive_)].erase(key.id_);
}

Result<void> Tree::remove(const KeyRef& base, std::u16string_view path) {
    if (!base) return Win32Error::ERROR_INVALID_HANDLE;
    if (base->deleted_) return Win32Error::ERROR_KEY_DELETED;
    auto parts = split_path(path);
    if (!parts || parts->empty()) return Win32Error::ERROR_INVALID_PARAMETER;
    auto found = open(base, path);
    if (!found) return found.error();
    Key& key = *found.value();
    Key* parent = key.parent_;
    mark_deleted(key);
    parent->child_index_.erase(fold(key.name_));
    auto& c = parent->children_;
    c.erase(std::find_if(c.begin(), c.end(), [&](const KeyRef& k) { return k.get() == &key; }));
    return {};
}

Result<void> Tree::set_value(const KeyRef& key, std::u16string_view name, uint32_t type,
                             std::span<const std::byte> data) {
    if (!key) return Win32Error::ERROR_INVALID_HANDLE;
    if (key->deleted_) return Win32Error::ERROR_KEY_DELETED;
    if (name.size() > kMaxNameChars || data.size() > kMaxValueBytes)
        return Win32Error::ERROR_INVALID_PARAMETER;
    std::u16string folded = fold(name);
    auto it = key->value_index_.find(folded);
    Value* v;
    if (it == key->value_index_.end()) {
        key->value_index_.emplace(folded, key->values_.size());
        key->values_.push_back(Value{std::u16string(name), 0, {}});
        v = &key->values_.back();
    } else {
        v = &key->values_[it->second];
    }
    v->type = type;
    v->data.assign(data.begin(), data.end());
    v->stamp = next_stamp_++;
    if (!key->volatile_) changes_of(*key).values.emplace(key->id_, std::move(folded));
    return {};
}

Result<const Value*> Tree::query_value(const KeyRef& key, std::u16string_view name) const {
    if (!key) return Win32Error::ERROR_INVALID_HANDLE;
    if (key->deleted_) return Win32Error::ERROR_KEY_DELETED;
    if (name.size() > kMaxNameChars) return Win32Error::ERROR_FILE_NOT_FOUND;
    const Value* v = key->find_value(name);
    if (v == nullptr) return Win32Error::ERROR_FILE_NOT_FOUND;
    return v;
}

Result<void> Tree::delete_value(const KeyRef& key, std::u16string_view name) {
    if (!key) return Win32Error::ERROR_INVALID_HANDLE;
    if (key->deleted_) return Win32Error::ERROR_KEY_DELETED;
    if (name.size() > kMaxNameChars) return Win32Error::ERROR_FILE_NOT_FOUND;
    std::u16string folded = fold(name);
    auto it = key->value_index_.find(folded);
    if (it == key->value_index_.end()) return Win32Error::ERROR_FILE_NOT_FOUND;
    const size_t at = it->second;
    key->values_.erase(key->values_.begin() + static_cast<ptrdiff_t>(at));
    key->value_index_.erase(it);
    for (auto& [n, i] : key->value_index_)
        if (i > at) --i;
    if (!key->volatile_) changes_of(*key).values.emplace(key->id_, std::move(folded));
    return {};
}

Result<const Key*> Tree::enum_key(const KeyRef& key, uint32_t index) const {
    if (!key) return Win32Error::ERROR_INVALID_HANDLE;
    if (key->deleted_) return Win32Error::ERROR_KEY_DELETED;
    if (index >= key->children_.size()) return Win32Error::ERROR_NO_MORE_ITEMS;
    return static_cast<const Key*>(key->children_[index].get());
}

Result<const Value*> Tree::enum_value(const KeyRef& key, uint32_t index) const {
    if (!key) return Win32Error::ERROR_INVALID_HANDLE;
    if (key->deleted_) return Win32Error::ERROR_KEY_DELETED;
    if (index >= key->values_.size()) return Win32Error::ERROR_NO_MORE_ITEMS;
    return &key->values_[index];
}

Result<KeyInfo> Tree::info(const KeyRef& key) const {
    if (!key) return Win32Error::ERROR_INVALID_HANDLE;
    if (key->deleted_) return Win32Error::ERROR_KEY_DELETED;
    KeyInfo i;
    i.subkeys = static_cast<uint32_t>(key->children_.size());
    for (const auto& c : key->children_) {
        i.max_subkey_chars = std::max<uint32_t>(i.max_subkey_chars, c->name_.size());
        i.max_class_chars = std::max<uint32_t>(i.max_class_chars, c->class_.size());
    }
    i.values = static_cast<uint32_t>(key->values_.size());
    for (const auto& v : key->values_) {
        i.max_value_name_chars = std::max<uint32_t>(i.max_value_name_chars, v.name.size());
        i.max_value_bytes = std::max<uint32_t>(i.max_value_bytes, v.data.size());
    }
    return i;
}

HiveChanges Tree::take_changes(HiveId hive) {
    HiveChanges out = std::move(changes_[static_cast<size_t>(hive)]);
    changes_[static_cast<size_t>(hive)] = HiveChanges{};
    return out;
}

const Key* Tree::by_id(HiveId hive, uint64_t id) const {
    const auto& m = by_id_[static_cast<size_t>(hive)];
    auto it = m.find(id);
    return it == m.end() ? nullptr : it->second;
}

bool Tree::load_key(HiveId hive, uint32_t hkey, uint64_t id, uint64_t parent_id,
                    std::u16string name, std::u16string class_name) {
    if (!valid_root(hkey) || hive_of_root(hkey) != hive || id <= kRootCount) return false;
    const auto h = static_cast<size_t>(hive);
    if (by_id_[h].count(id) != 0) return false;
    auto it = by_id_[h].find(parent_id == 0 ? root_id(hkey) : parent_id);
    if (it == by_id_[h].end() || it->second->root_ != hkey) return false;
    Key* parent = it->second;
    if (name.empty() || name.size() > kMaxNameChars || class_name.size() > kMaxClassChars ||
        parent->depth_ + 1 > kMaxDepth || parent->find_child(name) != nullptr)
        return false;
    make_key(parent, std::move(name), std::move(class_name), false, id);
    return true;
}

bool Tree::load_value(HiveId hive, uint64_t key_id, std::u16string name, uint32_t type,
                      std::vector<std::byte> data) {
    const auto h = static_cast<size_t>(hive);
    auto it = by_id_[h].find(key_id);
    if (it == by_id_[h].end() || name.size() > kMaxNameChars || data.size() > kMaxValueBytes)
        return false;
    Key* key = it->second;
    std::u16string folded = fold(name);
    if (key->value_index_.count(folded) != 0) return false;
    key->value_index_.emplace(std::move(folded), key->values_.size());
    key->values_.push_back(Value{std::move(name), type, std::move(data)});
    return true;
}

size_t Tree::key_count() const {
    return by_id_[0].size() + by_id_[1].size();
}

}  // namespace cek::fsys::registry

// The registry calls (ce-kernel-objects.md §6; docs/semantics/registry.md). The tree is in
// kernel memory, so a query never reads the disk; the hive files are written by RegFlushKey,
// by RegCloseKey when flush-on-close is on, and at a clean stop
// (docs/decisions/0009-registry.md).
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fsys/registry/reg_file.h"
#include "kernel/kernel_impl.h"

namespace cek::kernel {

namespace reg = fsys::registry;

namespace {

bool is_root(uint32_t hkey) {
    return hkey >= reg::kClassesRoot && hkey < reg::kClassesRoot + reg::kRootCount;
}

std::string hive_file(const std::string& dir, reg::HiveId id) {
    return id == reg::HiveId::System ? dir + "/system.hv" : dir + "/default/user.hv";
}

}  // namespace

bool Kernel::open_registry(std::string& error) {
    registry_flush_on_close_ = config_.registry_flush_on_close;
    bool fresh = false;
    if (!config_.registry_dir.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(config_.registry_dir + "/default", ec);
        if (ec) {
            error = "cannot create " + config_.registry_dir + ": " + ec.message();
            return false;
        }
        bool locked = false;
        for (size_t i = 0; i < reg::kHiveCount && !locked; ++i) {
            const std::string path = hive_file(config_.registry_dir, static_cast<reg::HiveId>(i));
            std::string why;
            hives_[i] = reg::Hive::open(path, static_cast<reg::HiveId>(i), why, &locked);
            if (locked) {
                // Another kernel (another instance on the same root) holds the hives: this one
                // keeps its registry in memory only.
                log::registry()->warn("hive {} is held by another kernel: registry in memory only",
                                      path);
                for (auto& h : hives_) h.reset();
            } else if (!hives_[i]) {
                error = "cannot open the hive " + path + ": " + why;
                return false;
            }
        }
        for (size_t i = 0; i < reg::kHiveCount && hives_[i]; ++i) {
            std::string why;
            size_t skipped = 0;
            if (auto r = hives_[i]->load(registry_, skipped, why); !r) {
                error = "cannot read the hive " + hives_[i]->path() + ": " + why;
                return false;
            }
            if (skipped != 0)
                log::registry()->error("hive {}: {} rows skipped (not a valid key or value)",
                                       hives_[i]->path(), skipped);
        }
        fresh = !hives_[0] || hives_[0]->fresh();
    } else {
        fresh = true;  // memory only: every boot is a first boot
    }
    if (fresh && !config_.registry_defaults.empty()) {
        std::ifstream in(config_.registry_defaults, std::ios::binary);
        if (!in) {
            error = "cannot read " + config_.registry_defaults + ": " + std::strerror(errno);
            return false;
        }
        std::stringstream text;
        text << in.rdbuf();
        std::vector<reg::RegOp> ops;
        reg::RegParseError e;
        auto vars = [](std::string_view name) -> std::optional<std::string> {
            const char* v = std::getenv(std::string(name).c_str());
            if (v == nullptr) return std::nullopt;
            return std::string(v);
        };
        if (!reg::parse_reg(text.str(), vars, ops, e) || !reg::apply_reg(registry_, ops, e)) {
            error = config_.registry_defaults + ":" + std::to_string(e.line) + ": " + e.message;
            return false;
        }
        log::registry()->info("registry defaults imported from {} ({} entries)",
                              config_.registry_defaults, ops.size());
    }
    if (fresh && hives_[0]) {
        // The first boot's tree becomes the hives at once.
        for (size_t i = 0; i < reg::kHiveCount; ++i)
            if (auto r = flush_hive(static_cast<reg::HiveId>(i)); !r) {
                error = "cannot write the hive " + hives_[i]->path();
                return false;
            }
    }
    // HKLM\init\BootVars\RegistryFlags bit 0: flush on close (ce-kernel-objects.md §6.5).
    if (auto k = registry_.open(registry_.root(reg::kLocalMachine), u"init\\BootVars"); k.ok()) {
        const reg::Value* v = k.value()->find_value(u"RegistryFlags");
        if (v != nullptr && !v->data.empty() && (std::to_integer<uint32_t>(v->data[0]) & 1) != 0)
            registry_flush_on_close_ = true;
    }
    log::registry()->info("registry ready: {} keys, {}{}", registry_.key_count(),
                          hives_[0] ? "hives in " + config_.registry_dir : "memory only",
                          registry_flush_on_close_ ? ", flush on close" : "");
    return true;
}

Result<void> Kernel::flush_hive(reg::HiveId hive) {
    auto& h = hives_[static_cast<size_t>(hive)];
    if (!h) return Win32Error::ERROR_NOT_SUPPORTED;
    std::string why;
    const size_t changes = registry_.changes(hive).count();
    auto r = h->flush(registry_, why);
    if (!r) {
        log::registry()->error("flush of {} failed: {}", h->path(), why);
        return r.error();
    }
    log::registry()->debug("flushed {} ({} changes)", h->path(), changes);
    return {};
}

Result<void> Kernel::save_registry() {
    Result<void> out;
    for (size_t i = 0; i < reg::kHiveCount; ++i) {
        if (!hives_[i]) continue;
        if (auto r = flush_hive(static_cast<reg::HiveId>(i)); !r) out = r.error();
    }
    return out;
}

Result<reg::KeyRef> Kernel::reg_key(ProcessId caller, uint32_t hkey) {
    if (is_root(hkey)) {
        if (processes_.count(caller) == 0) return Win32Error::ERROR_INVALID_HANDLE;
        return registry_.root(hkey);
    }
    CEK_TRY(RegKeyObject * key, lookup<RegKeyObject>(caller, HandleValue{hkey}));
    return key->key();
}

Result<RegCreated> Kernel::reg_create_key(ProcessId caller, uint32_t hkey,
                                          std::u16string_view subkey,
                                          std::u16string_view class_name, uint32_t options) {
    CEK_TRY(reg::KeyRef base, reg_key(caller, hkey));
    CEK_TRY(reg::Opened opened,
            registry_.create(base, subkey, class_name, (options & ce::kRegOptionVolatile) != 0));
    auto handle = insert_handle(make_ref<RegKeyObject>(opened.key), caller, 0);
    if (!handle) return handle.error();  // a created key stays, as a later open would find it
    return RegCreated{handle.value().raw, opened.created};
}

Result<uint32_t> Kernel::reg_open_key(ProcessId caller, uint32_t hkey, std::u16string_view subkey) {
    CEK_TRY(reg::KeyRef base, reg_key(caller, hkey));
    CEK_TRY(reg::KeyRef key, registry_.open(base, subkey));
    CEK_TRY(HandleValue handle, insert_handle(make_ref<RegKeyObject>(key), caller, 0));
    return handle.raw;
}

Result<void> Kernel::reg_close_key(ProcessId caller, uint32_t hkey) {
    if (is_root(hkey)) return reg_key(caller, hkey).ok() ? Result<void>{} : Win32Error::ERROR_INVALID_HANDLE;
    CEK_TRY(RegKeyObject * key, lookup<RegKeyObject>(caller, HandleValue{hkey}));
    Result<void> flushed;
    if (registry_flush_on_close_ && hives_[0] && !key->key()->is_volatile())
        flushed = flush_hive(key->key()->hive());
    CEK_TRY_VOID(close_handle(caller, HandleValue{hkey}));
    return flushed;  // the key is closed even when the flush failed
}

Result<const reg::Value*> Kernel::reg_query_value(ProcessId caller, uint32_t hkey,
                                                  std::u16string_view name) {
    CEK_TRY(reg::KeyRef key, reg_key(caller, hkey));
    return registry_.query_value(key, name);
}

Result<void> Kernel::reg_set_value(ProcessId caller, uint32_t hkey, std::u16string_view name,
                                   uint32_t type, std::span<const std::byte> data) {
    CEK_TRY(reg::KeyRef key, reg_key(caller, hkey));
    return registry_.set_value(key, name, type, data);
}

Result<uint32_t> Kernel::reg_set_value_part(ThreadRef caller, uint32_t hkey,
                                            std::u16string_view name, uint32_t type,
                                            uint32_t total, uint32_t offset,
                                            std::span<const std::byte> part) {
    Process* p = process(caller.process);
    if (p == nullptr) return Win32Error::ERROR_INVALID_HANDLE;
    CEK_TRY(reg::KeyRef key, reg_key(caller.process, hkey));
    if (total > reg::kMaxValueBytes || name.size() > reg::kMaxNameChars) {
        p->reg_staging.erase(caller.tid);
        return Win32Error::ERROR_INVALID_PARAMETER;
    }
    auto& staged = p->reg_staging[caller.tid];
    if (offset == 0) staged.clear();
    if (offset != staged.size() || offset + part.size() > total) {
        p->reg_staging.erase(caller.tid);
        return Win32Error::ERROR_INVALID_PARAMETER;
    }
    staged.insert(staged.end(), part.begin(), part.end());
    if (staged.size() < total) return static_cast<uint32_t>(staged.size());
    std::vector<std::byte> data = std::move(staged);
    p->reg_staging.erase(caller.tid);
    CEK_TRY_VOID(registry_.set_value(key, name, type, data));
    return total;
}

Result<void> Kernel::reg_delete_key(ProcessId caller, uint32_t hkey, std::u16string_view subkey) {
    CEK_TRY(reg::KeyRef key, reg_key(caller, hkey));
    return registry_.remove(key, subkey);
}

Result<void> Kernel::reg_delete_value(ProcessId caller, uint32_t hkey, std::u16string_view name) {
    CEK_TRY(reg::KeyRef key, reg_key(caller, hkey));
    return registry_.delete_value(key, name);
}

Result<const reg::Key*> Kernel::reg_enum_key(ProcessId caller, uint32_t hkey, uint32_t index) {
    CEK_TRY(reg::KeyRef key, reg_key(caller, hkey));
    return registry_.enum_key(key, index);
}

Result<const reg::Value*> Kernel::reg_enum_value(ProcessId caller, uint32_t hkey, uint32_t index) {
    CEK_TRY(reg::KeyRef key, reg_key(caller, hkey));
    return registry_.enum_value(key, index);
}

Result<reg::KeyInfo> Kernel::reg_query_info(ProcessId caller, uint32_t hkey,
                                            std::u16string& class_name) {
    CEK_TRY(reg::KeyRef key, reg_key(caller, hkey));
    CEK_TRY(reg::KeyInfo info, registry_.info(key));
    class_name = key->class_name();
    return info;
}

Result<void> Kernel::reg_flush_key(ProcessId caller, uint32_t hkey) {
    CEK_TRY(reg::KeyRef key, reg_key(caller, hkey));
    if (key->deleted()) return Win32Error::ERROR_KEY_DELETED;
    // Hive mode: the dirty data of the key's hive, durably; memory only: no persistence hook.
    return flush_hive(key->hive());
}

}  // namespace cek::kernel

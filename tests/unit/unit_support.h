// Shared helpers of the kernel unit tests: a kernel with fake processes, Catch2 printers for the
// kernel's strong types, and the CE constants the tests spell out.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "protocol/ce_constants.h"
#include "protocol/mutex_word.h"
#include "common/errors.h"

namespace cek {

inline std::ostream& operator<<(std::ostream& os, Win32Error e) {
    return os << error_name(e) << '(' << to_u32(e) << ')';
}

namespace kernel {

inline std::ostream& operator<<(std::ostream& os, HandleValue h) {
    return os << "handle 0x" << std::hex << h.raw << std::dec;
}
inline std::ostream& operator<<(std::ostream& os, ProcessId p) {
    return os << "process " << p.raw;
}

}  // namespace kernel

namespace unit {

using kernel::HandleValue;
using kernel::Kernel;
using kernel::KernelConfig;
using kernel::LastError;
using kernel::ProcessId;

inline constexpr uint64_t kWindowBase = 0x2000'0000'0000ULL;
inline constexpr uint64_t kWindowSize = 1ULL << 30;
inline constexpr uint64_t kGranule = 64ULL << 10;

// Protection and access values the tests need beyond ce_constants.h (Win32 values).
inline constexpr uint32_t kPageWriteCopy = 0x08;
inline constexpr uint32_t kPageExecuteReadWrite = 0x40;
inline constexpr uint32_t kSecImage = 0x01000000;
inline constexpr uint32_t kFileMapExecute = 0x20;

// The personality the suite runs under: CE 5 unless CEK_TEST_PERSONALITY names another (the
// suite's second run under ce6, tests/meson.build). A test of a row where CE 5 and CE 6 differ
// is tagged [ce5] or [ce6] and names its personality itself (docs/testing.md).
inline uint32_t test_personality() {
    const char* name = std::getenv("CEK_TEST_PERSONALITY");
    if (name == nullptr || *name == 0 || std::string(name) == "ce5") return 5;
    if (std::string(name) == "ce6") return 6;
    throw std::invalid_argument(std::string("CEK_TEST_PERSONALITY: unknown personality ") + name);
}

inline KernelConfig config(uint64_t window_size = kWindowSize,
                           uint32_t handle_capacity = kernel::HandleTable::kMaxEntries) {
    KernelConfig c;
    c.personality = test_personality();
    c.window_base = kWindowBase;
    c.window_size = window_size;
    c.handle_capacity = handle_capacity;
    return c;
}

// The configuration of a test that checks a CE 5 or a CE 6 row whatever the suite's run.
inline KernelConfig config_of(uint32_t personality, uint64_t window_size = kWindowSize,
                              uint32_t handle_capacity = kernel::HandleTable::kMaxEntries) {
    KernelConfig c = config(window_size, handle_capacity);
    c.personality = personality;
    return c;
}

// Wait results and the infinite timeout, as the wait calls spell them.
inline constexpr uint32_t kWaitObject0 = 0;
inline constexpr uint32_t kWaitAbandoned0 = 0x80;
inline constexpr uint32_t kWaitTimeout = 258;
inline constexpr uint32_t kInfinite = ce::kWaitInfinite;

// The error of a result that must have failed.
template <class T>
Win32Error error_of(const Result<T>& r) {
    REQUIRE_FALSE(r.ok());
    return r.error();
}

// The smallest possible kernel object, for tests of the handle table, which never looks inside.
class DummyObject final : public kernel::KernelObject {
public:
    static constexpr kernel::ObjectType kType = kernel::ObjectType::File;
    DummyObject() : KernelObject(kType) {}
    void describe(kernel::ObjectDetails&) const override {}
};

inline kernel::Ref<kernel::KernelObject> dummy() {
    return kernel::Ref<kernel::KernelObject>(new DummyObject);
}

// A kernel plus helpers that spell the CE calls the way the tests read best.
struct Scene {
    explicit Scene(KernelConfig c = config()) : k(c) {}

    ProcessId attach(const std::string& exe = "app.exe") {
        auto r = k.attach_process(next_pid++, exe, false);
        REQUIRE(r.ok());
        return r.value();
    }

    // CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, protect, high, low, name).
    Result<HandleValue> create(ProcessId p, uint32_t size_low, const std::u16string* name,
                               LastError& le, uint32_t protect = ce::kPageReadWrite,
                               uint32_t size_high = 0, uint32_t file = ce::kInvalidHandle) {
        return k.create_mapping(p, HandleValue{file}, protect, size_high, size_low, name, le);
    }
    Result<HandleValue> create(ProcessId p, uint32_t size_low, const std::u16string* name,
                               uint32_t protect = ce::kPageReadWrite, uint32_t size_high = 0) {
        LastError le = LastError::to(Win32Error::ERROR_FILE_NOT_FOUND);
        return create(p, size_low, name, le, protect, size_high);
    }
    // A mapping that must be created; fails the test otherwise.
    HandleValue make(ProcessId p, uint32_t size_low, const std::u16string* name = nullptr) {
        auto r = create(p, size_low, name);
        REQUIRE(r.ok());
        return r.value();
    }
    kernel::MapViewResult view(ProcessId p, HandleValue h, uint32_t offset = 0, uint64_t size = 0,
                               uint32_t access = ce::kFileMapWrite) {
        auto r = k.map_view(p, h, access, 0, offset, size);
        REQUIRE(r.ok());
        return r.value();
    }

    // CE 5 gives every opener of an object the same global value; CE 6 a value of its own.
    bool ce5() const { return k.personality().version() == 5; }
    // Whether `a` in `p` and `b` in `q` name one object (the same value in CE 5 only).
    bool same_object(ProcessId p, HandleValue a, ProcessId q, HandleValue b) {
        const auto* x = k.handles().find_for(a, p);
        const auto* y = k.handles().find_for(b, q);
        return x != nullptr && y != nullptr && x->object.get() == y->object.get();
    }

    // A handle of `p` on process `other`: its global value in CE 5, OpenProcess's in CE 6.
    HandleValue process_handle_in(ProcessId p, ProcessId other) {
        if (ce5()) return k.process_handle(other);
        auto r = k.open_process(p, k.process_id(other), false);
        REQUIRE(r.ok());
        return r.value();
    }

    // Handle entries besides the processes' own (every attached process has one, its id):
    // what a test of another object family counts.
    size_t object_handles() {
        size_t n = 0;
        k.handles().for_each([&n](HandleValue, const kernel::HandleTable::Entry& e) {
            n += e.object->type() != kernel::ObjectType::Process ? 1 : 0;
        });
        return n;
    }

    Kernel k;
    int next_pid = 1000;

protected:
    // For scenes that give the kernel a file system (FileScene).
    Scene(KernelConfig c, std::unique_ptr<fsys::Root> root) : k(c, std::move(root)) {}
};

// A scene whose tests park waits and watch them complete (the kernel's completions, by tag).
struct WaitScene : Scene {
    using Scene::Scene;
    uint64_t next_tag = 1;

    // A wait that must be left pending; returns its tag.
    uint64_t wait_pending(kernel::ThreadRef t, std::vector<HandleValue> hs,
                          uint32_t timeout = ce::kWaitInfinite) {
        uint64_t tag = next_tag++;
        auto r = k.wait(t, hs, false, timeout, tag);
        INFO((!r.has_value() ? std::string("pending")
              : r->ok()      ? "result " + std::to_string(r->value())
                             : "error " + std::to_string(to_u32(r->error()))));
        REQUIRE_FALSE(r.has_value());
        return tag;
    }
    // A wait with a zero time-out that must succeed; returns its WAIT_* value.
    uint32_t wait_now(kernel::ThreadRef t, std::vector<HandleValue> hs) {
        auto r = k.wait(t, hs, false, 0, next_tag++);
        REQUIRE(r.has_value());
        REQUIRE(r->ok());
        return r->value();
    }
    // Whether the wait `tag` completed with `result` since the last look.
    bool completed(uint64_t tag, uint32_t result) {
        for (const auto& c : k.take_completions())
            if (c.tag == tag && c.result == result) return true;
        return false;
    }
};

// A fresh host directory (mkdtemp under $TMPDIR or /tmp), removed with its contents at scope
// exit. Write bits are restored first so that READONLY files cannot block the removal.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                            "/cek-unit-XXXXXX";
        std::vector<char> buf(templ.begin(), templ.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = buf.data();
    }
    ~TempDir() {
        std::error_code ec;
        for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
            if (!it->is_symlink()) ::chmod(it->path().c_str(), 0700);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline std::unique_ptr<fsys::Root> open_root(const std::filesystem::path& dir) {
    auto r = fsys::Root::open(dir);
    if (!r) throw std::runtime_error("fsys::Root::open failed");
    return std::move(r).value();
}

// A Scene whose kernel has a CE file system rooted in a private temporary directory. The
// directory (a base class) outlives the kernel, so every descriptor closes before removal.
struct FileScene : TempDir, Scene {
    explicit FileScene(KernelConfig c = config()) : TempDir(), Scene(c, open_root(path())) {}

    // The host path of a CE path relative to the root ("Temp/a.txt" for \Temp\a.txt).
    std::filesystem::path host(const std::string& rel) const { return path() / rel; }
    void write_host(const std::string& rel, const std::string& data) const {
        std::ofstream out(host(rel), std::ios::binary | std::ios::trunc);
        out << data;
        if (!out) throw std::runtime_error("write_host failed: " + rel);
    }
    std::string read_host(const std::string& rel) const {
        std::ifstream in(host(rel), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    uint64_t host_size(const std::string& rel) const {
        struct stat st {};
        if (::stat(host(rel).c_str(), &st) != 0) return UINT64_MAX;
        return static_cast<uint64_t>(st.st_size);
    }

    // CreateFileW(path, access, share, NULL, disposition, flags, NULL).
    Result<HandleValue> open(ProcessId p, const std::u16string& path, uint32_t access,
                             uint32_t share, uint32_t disposition, LastError& le,
                             uint32_t flags = 0) {
        return k.create_file(p, file_args(path, access, share, disposition, flags, false), le);
    }
    Result<HandleValue> open(ProcessId p, const std::u16string& path, uint32_t access,
                             uint32_t share, uint32_t disposition = 3 /* OPEN_EXISTING */) {
        LastError le;
        return open(p, path, access, share, disposition, le);
    }
    // CreateFileForMappingW(path, access, share, NULL, disposition, flags, NULL).
    Result<HandleValue> cffm(ProcessId p, const std::u16string& path, uint32_t access,
                             uint32_t share = 0, uint32_t disposition = 3 /* OPEN_EXISTING */,
                             uint32_t flags = 0) {
        LastError le;
        return k.create_file(p, file_args(path, access, share, disposition, flags, true), le);
    }
    static kernel::CreateFileArgs file_args(const std::u16string& path, uint32_t access,
                                            uint32_t share, uint32_t disposition, uint32_t flags,
                                            bool for_mapping) {
        kernel::CreateFileArgs a;
        a.path = path;
        a.access = access;
        a.share = share;
        a.disposition = disposition;
        a.flags_and_attributes = flags;
        a.for_mapping = for_mapping;
        return a;
    }
    // CreateFileMappingW(hFile, NULL, protect, 0, size_low, name).
    Result<HandleValue> map_file(ProcessId p, HandleValue file, uint32_t protect,
                                 uint32_t size_low, const std::u16string* name, LastError& le) {
        return k.create_mapping(p, file, protect, 0, size_low, name, le);
    }
    Result<HandleValue> map_file(ProcessId p, HandleValue file, uint32_t protect,
                                 uint32_t size_low = 0, const std::u16string* name = nullptr) {
        LastError le;
        return map_file(p, file, protect, size_low, name, le);
    }
};

// MutexWord for `p` and the mutex `h`, mapped here as the shim maps it (the request's publish
// step included); unmapped at the end of the scope.
class MappedMutexWord {
public:
    MappedMutexWord(kernel::Kernel& k, ProcessId p, HandleValue h) {
        auto r = k.mutex_word(p, h);
        REQUIRE(r.ok());
        REQUIRE(r.value() != nullptr);
        k.publish_mutex_words();
        page_ = ::mmap(nullptr, proto::kMutexWordBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                       r.value()->word_fd(), 0);
        REQUIRE(page_ != MAP_FAILED);
    }
    ~MappedMutexWord() { ::munmap(page_, proto::kMutexWordBytes); }
    MappedMutexWord(const MappedMutexWord&) = delete;
    MappedMutexWord& operator=(const MappedMutexWord&) = delete;

    std::atomic<uint64_t>& word() const { return *static_cast<std::atomic<uint64_t>*>(page_); }

private:
    void* page_ = nullptr;
};

}  // namespace unit
}  // namespace cek

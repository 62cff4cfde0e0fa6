// soak_worker: one process of the crash soak test (tests/soak/soak_test.cpp). Two threads call
// the API at random, forever, until the driver kills the process with SIGKILL:
//   - named RAM mappings shared by every worker ("soak-shared-0..7"), each thread owning one
//     8-byte cell per mapping, checked whenever the thread opens the name again;
//   - unnamed RAM mappings, views at random byte offsets, filled and read back;
//   - three ways of making file data durable, each reported on stdout once it returned:
//       FlushFileBuffers after WriteFile, WriteFile on a FILE_FLAG_WRITE_THROUGH handle, and
//       FlushViewOfFile on a view of a file mapping (CreateFileForMappingW, CE 5's sequence);
//   - files shared by every worker ("\soak\common-0..3.dat"), opened with and without sharing.
// Objects are kept for a while (bounded lists), so a kill usually finds the process holding
// handles, views and open files, and often in the middle of a call.
//
// Usage: soak_worker <slot> <generation> <seed>. Files are "\soak\s<slot>-g<gen>-...": a new
// generation first deletes what earlier ones of its slot left (the driver has verified them).
// Output lines (stdout, one write each, so the two threads never interleave inside a line):
//   ready
//   flushed <host path under the root> <offset> <length> <tag>    data = pattern(tag, length)
//   fail <thread> <what> <GetLastError()>                          then the process exits 1
#include <unistd.h>
#include <windows.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "soak_pattern.h"

namespace {

constexpr int kThreads = 2;
constexpr int kSharedNames = 8;
constexpr int kCommonFiles = 4;
constexpr uint32_t kFileLimit = 256 * 1024;  // a file is retired past this size
constexpr uint32_t kMappedFileSize = 64 * 1024;
constexpr size_t kHeldLimit = 6;

int g_slot = 0;
int g_gen = 0;
std::mutex g_out_mutex;

void emit(const std::string& line) {
    std::string l = line + "\n";
    std::lock_guard lock(g_out_mutex);
    const char* p = l.data();
    size_t left = l.size();
    while (left > 0) {
        ssize_t n = ::write(1, p, left);
        if (n <= 0) std::_Exit(3);  // the driver is gone
        p += n;
        left -= static_cast<size_t>(n);
    }
}

[[noreturn]] void fail(int thread, const std::string& what) {
    DWORD err = GetLastError();
    emit("fail " + std::to_string(thread) + " " + what + " " + std::to_string(err));
    std::_Exit(1);
}

std::u16string wide(const std::string& s) { return std::u16string(s.begin(), s.end()); }

uint32_t shared_size(int k) { return static_cast<uint32_t>(k + 1) * 16 * 1024; }

// One thread's random walk over the API.
class Walker {
public:
    Walker(int thread, uint64_t seed) : t_(thread), rng_(seed) {}

    void run() {
        for (;;) {
            switch (rng_() % 8) {
            case 0:
            case 1: shared_mapping(); break;
            case 2: private_mapping(); break;
            case 3: append_and_flush(); break;
            case 4: write_through(); break;
            case 5: mapped_file(); break;
            case 6: common_file(); break;
            case 7: release_one(); break;
            }
        }
    }

private:
    struct Held {  // a mapping handle with (optionally) a view of it
        HANDLE handle = nullptr;
        void* view = nullptr;
        int shared = -1;  // index of the shared name, or -1
    };

    uint32_t below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
    uint64_t next_tag() { return (static_cast<uint64_t>(g_slot) << 48) | (uint64_t(g_gen) << 24) | (uint64_t(t_) << 20) | ++tags_; }
    std::string file_name(const char* kind, int n) {
        return "s" + std::to_string(g_slot) + "-g" + std::to_string(g_gen) + "-t" +
               std::to_string(t_) + "-" + kind + std::to_string(n) + ".dat";
    }
    void report(const std::string& name, uint64_t offset, uint32_t length, uint64_t tag) {
        emit("flushed soak/" + name + " " + std::to_string(offset) + " " + std::to_string(length) +
             " " + std::to_string(tag));
    }

    void hold(Held h) {
        held_.push_back(h);
        while (held_.size() > kHeldLimit) release_one();
    }

    void release_one() {
        if (held_.empty()) return;
        size_t i = below(static_cast<uint32_t>(held_.size()));
        Held h = held_[i];
        held_.erase(held_.begin() + static_cast<ptrdiff_t>(i));
        if (h.view != nullptr && !UnmapViewOfFile(h.view)) fail(t_, "UnmapViewOfFile");
        if (!CloseHandle(h.handle)) fail(t_, "CloseHandle(mapping)");
        if (h.shared >= 0) --holding_[h.shared];
    }

    // A shared name: this thread's cell holds the last value it wrote while any process kept
    // the mapping alive; a mapping this thread created is new, so its cell reads zero.
    void shared_mapping() {
        int k = static_cast<int>(below(kSharedNames));
        std::u16string name = wide("soak-shared-" + std::to_string(k));
        SetLastError(0);
        HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0,
                                      shared_size(k), name.c_str());
        if (m == nullptr) fail(t_, "CreateFileMappingW(" + std::to_string(k) + ")");
        bool existed = GetLastError() == ERROR_ALREADY_EXISTS;
        if (holding_[k] > 0 && !existed) fail(t_, "held-name-recreated");
        auto* base = static_cast<volatile uint64_t*>(MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0));
        if (base == nullptr) fail(t_, "MapViewOfFile(shared)");
        volatile uint64_t& cell = base[g_slot * kThreads + t_];
        uint64_t seen = cell;
        bool fine = !existed ? seen == 0
                    : holding_[k] > 0 ? seen == last_[k]
                                      : seen == 0 || seen == last_[k] || (seen >> 32) < uint64_t(g_gen);
        if (!fine) fail(t_, "shared-cell-" + std::to_string(k) + "-holds-" + std::to_string(seen));
        last_[k] = (uint64_t(g_gen) << 32) | ++writes_;
        cell = last_[k];
        ++holding_[k];
        if (below(2) == 0) {
            hold({m, const_cast<uint64_t*>(base), k});
        } else {
            if (!UnmapViewOfFile(const_cast<uint64_t*>(base))) fail(t_, "UnmapViewOfFile(shared)");
            hold({m, nullptr, k});
        }
    }

    void private_mapping() {
        uint32_t size = 4096 + below(256 * 1024);
        HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, size, nullptr);
        if (m == nullptr) fail(t_, "CreateFileMappingW(unnamed)");
        uint32_t offset = below(size);
        uint32_t length = 1 + below(size - offset);
        auto* p = static_cast<unsigned char*>(MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, offset, length));
        if (p == nullptr) fail(t_, "MapViewOfFile(unnamed)");
        uint64_t tag = next_tag();
        cek::soak::fill(p, length, tag);
        if (!cek::soak::matches(p, length, tag)) fail(t_, "unnamed-view-readback");
        hold({m, p, -1});
    }

    struct OpenFile {
        HANDLE h = INVALID_HANDLE_VALUE;
        std::string name;
        uint32_t size = 0;
    };

    bool open_new(OpenFile& f, const char* kind, DWORD flags) {
        f.name = file_name(kind, ++files_);
        f.h = CreateFileW(wide("\\soak\\" + f.name).c_str(), GENERIC_READ | GENERIC_WRITE, 0,
                          nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL | flags, nullptr);
        if (f.h == INVALID_HANDLE_VALUE) fail(t_, "CreateFileW(" + f.name + ")");
        f.size = 0;
        return true;
    }

    void retire(OpenFile& f) {
        if (f.h != INVALID_HANDLE_VALUE && !CloseHandle(f.h)) fail(t_, "CloseHandle(file)");
        f.h = INVALID_HANDLE_VALUE;
    }

    void append(OpenFile& f, bool flush) {
        uint32_t length = 1 + below(8192);
        std::vector<unsigned char> data(length);
        uint64_t tag = next_tag();
        cek::soak::fill(data.data(), length, tag);
        DWORD written = 0;
        if (!WriteFile(f.h, data.data(), length, &written, nullptr) || written != length)
            fail(t_, "WriteFile(" + f.name + ")");
        if (flush && !FlushFileBuffers(f.h)) fail(t_, "FlushFileBuffers(" + f.name + ")");
        report(f.name, f.size, length, tag);
        f.size += length;
        if (f.size > kFileLimit || below(16) == 0) retire(f);
    }

    void append_and_flush() {
        if (flushed_.h == INVALID_HANDLE_VALUE) open_new(flushed_, "f", 0);
        append(flushed_, true);
    }

    void write_through() {
        if (through_.h == INVALID_HANDLE_VALUE) open_new(through_, "w", FILE_FLAG_WRITE_THROUGH);
        append(through_, false);
    }

    // CE 5: CreateFileForMappingW, CreateFileMappingW takes the file over, then views.
    void mapped_file() {
        if (mapped_view_ == nullptr) {
            mapped_name_ = file_name("m", ++files_);
            HANDLE f = CreateFileForMappingW(wide("\\soak\\" + mapped_name_).c_str(),
                                             GENERIC_READ | GENERIC_WRITE, 0, nullptr, CREATE_NEW,
                                             FILE_ATTRIBUTE_NORMAL, nullptr);
            if (f == INVALID_HANDLE_VALUE) fail(t_, "CreateFileForMappingW(" + mapped_name_ + ")");
            mapping_ = CreateFileMappingW(f, nullptr, PAGE_READWRITE, 0, kMappedFileSize, nullptr);
            if (mapping_ == nullptr) fail(t_, "CreateFileMappingW(" + mapped_name_ + ")");
            mapped_view_ = static_cast<unsigned char*>(MapViewOfFile(mapping_, FILE_MAP_ALL_ACCESS, 0, 0, 0));
            if (mapped_view_ == nullptr) fail(t_, "MapViewOfFile(" + mapped_name_ + ")");
            mapped_used_ = 0;
        }
        uint32_t length = 1 + below(4096);
        if (mapped_used_ + length > kMappedFileSize) length = kMappedFileSize - mapped_used_;
        uint64_t tag = next_tag();
        cek::soak::fill(mapped_view_ + mapped_used_, length, tag);
        if (!FlushViewOfFile(mapped_view_ + mapped_used_, length)) fail(t_, "FlushViewOfFile(" + mapped_name_ + ")");
        report(mapped_name_, mapped_used_, length, tag);
        mapped_used_ += length;
        if (mapped_used_ == kMappedFileSize || below(16) == 0) {
            if (!UnmapViewOfFile(mapped_view_)) fail(t_, "UnmapViewOfFile(" + mapped_name_ + ")");
            if (!CloseHandle(mapping_)) fail(t_, "CloseHandle(" + mapped_name_ + ")");
            mapped_view_ = nullptr;
        }
    }

    // Every worker opens these; an exclusive opener makes the others fail with
    // ERROR_SHARING_VIOLATION, the one error expected here.
    void common_file() {
        std::u16string path = wide("\\soak\\common-" + std::to_string(below(kCommonFiles)) + ".dat");
        bool exclusive = below(4) == 0;
        HANDLE h = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE,
                               exclusive ? 0 : FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                               OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
        if (h == INVALID_HANDLE_VALUE) {
            if (GetLastError() == ERROR_SHARING_VIOLATION) return;
            fail(t_, "CreateFileW(common)");
        }
        LONG at = static_cast<LONG>(below(64 * 1024));
        if (SetFilePointer(h, at, nullptr, FILE_BEGIN) != static_cast<DWORD>(at))
            fail(t_, "SetFilePointer(common)");
        char buf[64];
        std::memset(buf, 'a' + g_slot % 26, sizeof buf);
        DWORD n = 0;
        if (!WriteFile(h, buf, sizeof buf, &n, nullptr) || n != sizeof buf) fail(t_, "WriteFile(common)");
        if (GetFileSize(h, nullptr) < static_cast<DWORD>(at) + sizeof buf) fail(t_, "GetFileSize(common)");
        if (!CloseHandle(h)) fail(t_, "CloseHandle(common)");
    }

    int t_;
    std::mt19937_64 rng_;
    uint64_t tags_ = 0;
    uint64_t writes_ = 0;
    int files_ = 0;
    std::vector<Held> held_;
    int holding_[kSharedNames] = {};
    uint64_t last_[kSharedNames] = {};
    OpenFile flushed_, through_;
    std::string mapped_name_;
    HANDLE mapping_ = nullptr;
    unsigned char* mapped_view_ = nullptr;
    uint32_t mapped_used_ = 0;
};

// Deletes what earlier generations of this slot left: the driver verified it before starting
// this process, and the kernel closed it when they died.
void clean_slot() {
    if (!CreateDirectoryW(u"\\soak", nullptr) && GetLastError() != ERROR_ALREADY_EXISTS)
        fail(-1, "CreateDirectoryW");
    std::u16string pattern = wide("\\soak\\s" + std::to_string(g_slot) + "-*");
    WIN32_FIND_DATAW data;
    HANDLE find = FindFirstFileW(pattern.c_str(), &data);
    if (find == INVALID_HANDLE_VALUE) {
        if (GetLastError() == ERROR_FILE_NOT_FOUND || GetLastError() == ERROR_NO_MORE_FILES) return;
        fail(-1, "FindFirstFileW");
    }
    std::vector<std::u16string> names;
    do {
        names.emplace_back(data.cFileName);
    } while (FindNextFileW(find, &data));
    if (GetLastError() != ERROR_NO_MORE_FILES) fail(-1, "FindNextFileW");
    if (!FindClose(find)) fail(-1, "FindClose");
    for (const auto& n : names)
        if (!DeleteFileW((u"\\soak\\" + n).c_str())) fail(-1, "DeleteFileW");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: soak_worker <slot> <generation> <seed>\n");
        return 2;
    }
    g_slot = std::atoi(argv[1]);
    g_gen = std::atoi(argv[2]);
    uint64_t seed = std::strtoull(argv[3], nullptr, 0);
    clean_slot();
    emit("ready");
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([t, seed] { Walker(t, seed * kThreads + static_cast<uint64_t>(t)).run(); });
    for (auto& th : threads) th.join();  // never: the driver kills the process
    return 0;
}

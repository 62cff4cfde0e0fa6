// Fuzz target: sequences of CE calls from several fake processes on one Kernel, every call sent
// through decode_and_dispatch, checked against a model of what each process holds.
//
// Input: a flags byte (bit 0: CE file system in a fresh temporary store, bit 1: a 16-entry
// handle table), then operations until the input ends: one byte picks the operation, the bytes
// after it pick the caller and the arguments (handles and addresses mostly from what the
// processes hold, sometimes stale or raw values).
//
// The model follows each process's handle references (creations, opens by name, views, closes),
// its CreateFileForMapping handles and its views, and requires exact agreement: a close succeeds
// exactly when the model says the caller holds the handle, an unmap exactly at one of its view
// addresses, the first view of a mapping in a process exactly comes with a descriptor, and after
// every step the snapshot shows exactly the model's references and views. A raw request (any
// code of requests.def, body from the input with handle placeholders filled in) may do anything:
// after one, the model is rebuilt from the snapshot and only the kernel-wide invariants remain.
// At the end every process dies: nothing may be left, and no descriptor may leak.
#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "kernel_harness.h"
#include "protocol/ce_constants.h"
#include "protocol/file_position.h"
#include "protocol/mutex_word.h"

using namespace cek;
using namespace cek::fuzz;

namespace {

constexpr uint32_t kMaxProcesses = 6;

struct ViewModel {
    uint32_t handle;
    uint64_t object_id;
};

struct ProcessModel {
    ProcessId id;
    std::map<uint32_t, uint32_t> refs;          // handle -> references the process holds
    std::vector<uint32_t> cffm;                 // CreateFileForMapping handles on its list
    std::multimap<uint64_t, ViewModel> views;   // by address
    std::map<uint64_t, uint64_t> huge;          // huge reservations: base -> length
};

const std::u16string kNames[] = {u"Shared", u"shared", u"Other", u"Name\\With/Separators", u""};
const std::u16string kPaths[] = {
    u"\\Temp\\a.txt", u"\\TEMP\\A.TXT",  u"\\Temp\\b.dat", u"\\Temp",         u"\\Temp\\sub",
    u"\\Temp\\sub\\c", u"\\Windows\\w", u"\\",           u"Temp\\..\\Temp\\a.txt.", u"\\nope\\x",
};
const std::u16string kPatterns[] = {u"\\*", u"\\Temp\\*", u"\\Temp\\*.txt", u"\\nope\\*",
                                    u"\\Temp\\?.*", u"\\Temp\\sub\\*"};

std::span<const std::byte> as_bytes(const std::u16string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

class Sequence {
public:
    Sequence(Input& in, bool with_fsys, uint32_t capacity)
        : in_(in), h_(with_fsys, capacity), fsys_(with_fsys) {
        attach();
        attach();
    }

    void run() {
        for (int steps = 0; !in_.empty() && steps < 200; ++steps) {
            step();
            check();
        }
        std::vector<ProcessId> alive;
        for (const auto& p : procs_) alive.push_back(p.id);
        h_.finish(alive);
    }

private:
    void attach() {
        if (procs_.size() >= kMaxProcesses) return;
        if (auto id = h_.try_attach()) procs_.push_back(ProcessModel{*id, {}, {}, {}});
    }

    void die(size_t i) {
        h_.detach(procs_[i].id);
        procs_.erase(procs_.begin() + static_cast<long>(i));
    }

    ProcessModel& caller() { return procs_[in_.below(static_cast<uint32_t>(procs_.size()))]; }

    // A handle value: mostly one the caller holds, else another process's, a stale one or raw.
    uint32_t pick_handle(const ProcessModel& p) {
        const uint8_t b = in_.byte();
        auto nth = [&](const auto& range, size_t n) {
            auto it = range.begin();
            std::advance(it, static_cast<long>(n % range.size()));
            return it;
        };
        switch (b & 7) {
        case 0:
        case 1:
        case 2:
            if (!p.refs.empty()) return nth(p.refs, b >> 3)->first;
            break;
        case 3:
            if (!p.cffm.empty()) return *nth(p.cffm, b >> 3);
            break;
        case 4:
        case 5:
            if (!seen_.empty()) return seen_[(b >> 3) % seen_.size()];
            break;
        case 6:
            return ce::kInvalidHandle;
        default:
            return in_.take<uint32_t>();
        }
        return seen_.empty() ? 0 : seen_.back();
    }

    uint64_t pick_address(const ProcessModel& p) {
        const uint8_t b = in_.byte();
        uint64_t base = kWindowBase;
        if ((b & 3) == 0) return in_.take<uint64_t>();
        const ProcessModel& owner = (b & 3) == 1 ? procs_[(b >> 2) % procs_.size()] : p;
        if (!owner.views.empty()) {
            auto it = owner.views.begin();
            std::advance(it, static_cast<long>((b >> 4) % owner.views.size()));
            base = it->first;
        }
        return (b & 0x80) != 0 ? base + in_.take<uint16_t>() : base;
    }

    template <class T, size_t N>
    T from_table(const T (&table)[N]) {
        const uint8_t b = in_.byte();
        if (b >= 0xF0) return in_.take<T>();
        return table[b % N];
    }

    void remember(uint32_t handle) {
        if (std::find(seen_.begin(), seen_.end(), handle) == seen_.end()) seen_.push_back(handle);
    }

    void forget_cffm(ProcessModel& p, uint32_t handle) {
        p.cffm.erase(std::remove(p.cffm.begin(), p.cffm.end(), handle), p.cffm.end());
    }

    void release_ref(ProcessModel& p, uint32_t handle) {
        auto it = p.refs.find(handle);
        if (it != p.refs.end() && --it->second == 0) p.refs.erase(it);
    }

    // ---- operations ----

    void create_mapping() {
        ProcessModel& p = caller();
        static constexpr uint32_t kProtects[] = {ce::kPageReadWrite, ce::kPageReadOnly,
                                                 ce::kPageReadWrite | ce::kSecCommit, 0, 0x40};
        static constexpr uint32_t kSizes[] = {4096, 1, 65536, 65537, 0, 1u << 20, 100u << 20,
                                              0x7FFFFFFF, 0x80000000};
        const uint8_t shape = in_.byte();
        proto::CreateMappingRequest req{};
        req.file = (shape & 1) != 0 ? pick_handle(p) : ce::kInvalidHandle;
        req.protect = from_table(kProtects);
        req.size_low = from_table(kSizes);
        req.size_high = (shape & 2) != 0 ? 1 : 0;
        std::u16string name;
        if ((shape & 4) != 0) {
            req.has_name = 1;
            if ((shape & 8) != 0) {
                auto raw = in_.bytes(32);
                for (size_t i = 0; i + 1 < raw.size(); i += 2)
                    name += static_cast<char16_t>(raw[i] | (raw[i + 1] << 8));
            } else {
                name = kNames[(shape >> 4) % std::size(kNames)];
            }
            if ((shape & 0x80) != 0) name.resize(ce::kMaxNameChars + (shape & 0x40 ? 1 : 0), u'n');
            req.name_chars = static_cast<uint32_t>(name.size());
        }
        Reply r = h_.call(p.id, req, as_bytes(name));
        const bool file_backed = req.file != ce::kInvalidHandle;
        if (file_backed) forget_cffm(p, req.file);  // taken on every path
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.header.set_error == 1, "CreateFileMapping failure without an error");
            return;
        }
        const auto handle = r.as<proto::CreateMappingReply>().handle;
        const bool opened = r.header.set_error == 1 && r.error() == Win32Error::ERROR_ALREADY_EXISTS;
        if (req.has_name != 0)
            CEK_FUZZ_CHECK(r.header.set_error == 1 && (opened || r.error() == Win32Error::ERROR_SUCCESS),
                           "named CreateFileMapping last error");
        else
            CEK_FUZZ_CHECK(r.header.set_error == 0, "unnamed CreateFileMapping touched the last error");
        if (opened) {
            CEK_FUZZ_CHECK(!exact_ || (names_.count(name) == 1 && names_[name] == handle),
                           "opened a name the model does not know");
        } else if (req.has_name != 0) {
            names_[name] = handle;
        }
        if (file_backed && !opened)
            for (auto& other : procs_) forget_cffm(other, req.file);
        ++p.refs[handle];
        remember(handle);
    }

    void map_view() {
        ProcessModel& p = caller();
        static constexpr uint32_t kAccess[] = {ce::kFileMapWrite, ce::kFileMapRead,
                                               ce::kFileMapAllAccess,
                                               ce::kFileMapRead | ce::kFileMapWrite, 0,
                                               ce::kFileMapCopy};
        static constexpr uint32_t kOffsets[] = {0, 0, 1, 4095, 65536, 4096};
        static constexpr uint64_t kSizes[] = {0, 0, 1, 4096, 65536, 65537};
        proto::MapViewRequest req{};
        req.mapping = pick_handle(p);
        req.access = from_table(kAccess);
        req.offset_low = from_table(kOffsets);
        req.size = from_table(kSizes);
        req.offset_high = in_.byte() == 0xFF ? 1 : 0;
        Reply r = h_.call(p.id, req);
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.header.set_error == 1, "MapViewOfFile failure without an error");
            return;
        }
        const auto v = r.as<proto::MapViewReply>();
        CEK_FUZZ_CHECK(exact_ ? p.refs.count(req.mapping) == 1 : true,
                       "mapped a handle the caller does not hold");
        CEK_FUZZ_CHECK(v.map_base % (64 << 10) == 0 && v.map_base >= kWindowBase &&
                           v.map_length <= kWindowBase + kWindowSize - v.map_base &&
                           v.address >= v.map_base && v.address < v.map_base + v.map_length,
                       "view outside its mapping's range");
        // A view's pages lie in its range; only CE 6's RAM views open their own pages.
        CEK_FUZZ_CHECK(v.view_length != 0 && v.view_length <= v.map_base + v.map_length - v.address,
                       "view longer than its range");
        CEK_FUZZ_CHECK((v.flags & proto::kViewPagesOwn) == 0 ||
                           ((v.flags & proto::kViewFileBacked) == 0 &&
                            h_.kernel().personality().version() == 6),
                       "own pages on a view that is not a CE 6 RAM view");
        CEK_FUZZ_CHECK((v.flags & proto::kViewWrites) == 0 || (v.flags & proto::kViewPagesOwn) != 0,
                       "kViewWrites without kViewPagesOwn");
        bool first = true;
        for (const auto& [address, view] : p.views) first = first && view.object_id != v.object_id;
        if (exact_) CEK_FUZZ_CHECK(first == (v.kernel_fd >= 0), "descriptor on a view that is not the first");
        if (v.kernel_fd >= 0) CEK_FUZZ_CHECK(::fcntl(v.kernel_fd, F_GETFD) >= 0, "dead descriptor");
        CEK_FUZZ_CHECK((v.kernel_fd >= 0) == (r.attachment.fd >= 0),
                       "first view without its descriptor to send, or a later one with one");
        ++p.refs[req.mapping];
        p.views.emplace(v.address, ViewModel{req.mapping, v.object_id});
    }

    void unmap_view() {
        ProcessModel& p = caller();
        proto::UnmapViewRequest req{pick_address(p)};
        Reply r = h_.call(p.id, req);
        auto it = p.views.find(req.address);
        if (exact_) CEK_FUZZ_CHECK(r.ok() == (it != p.views.end()), "unmap disagrees with the model");
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.error() == Win32Error::ERROR_INVALID_ADDRESS, "unmap error");
            return;
        }
        if (it == p.views.end()) return;
        const ViewModel view = it->second;
        p.views.erase(it);
        bool last = true;
        for (const auto& [address, other] : p.views) last = last && other.object_id != view.object_id;
        const auto u = r.as<proto::UnmapViewReply>();
        CEK_FUZZ_CHECK(last == (u.release_length != 0),
                       "range released while views remain, or kept after the last");
        CEK_FUZZ_CHECK((u.view_flags == 0) == (u.view_length == 0) &&
                           (u.view_flags & ~(proto::kViewPagesOwn | proto::kViewWrites)) == 0,
                       "unmap names a view that went without its length, or other flags");
        release_ref(p, view.handle);
    }

    void flush_view() {
        ProcessModel& p = caller();
        proto::FlushViewRequest req{pick_address(p), from_table({uint64_t{0}, uint64_t{1}, uint64_t{1} << 20})};
        Reply r = h_.call(p.id, req);
        bool inside = false;
        for (const auto& q : procs_)
            for (const auto& [address, view] : q.views) inside = inside || address == req.address;
        if (inside && exact_) CEK_FUZZ_CHECK(r.ok() || r.error() == Win32Error::ERROR_WRITE_FAULT,
                                             "flush of a view start failed");
        if (!r.ok()) CEK_FUZZ_CHECK(r.header.set_error == 0 || r.error() == Win32Error::ERROR_WRITE_FAULT,
                                    "flush error");
        // The same address touched (CE 5's global view): it names the mapping there, if any.
        Reply t = h_.call(p.id, proto::WindowTouchRequest{req.address});
        if (inside) CEK_FUZZ_CHECK(t.ok(), "touch of a view start failed");
        if (!t.ok()) {
            CEK_FUZZ_CHECK(t.error() == Win32Error::ERROR_INVALID_ADDRESS, "touch error");
            return;
        }
        const auto& rep = t.as<proto::WindowTouchReply>();
        CEK_FUZZ_CHECK(rep.kernel_fd >= 0 && req.address - rep.map_base < rep.map_length,
                       "touch reply does not hold the address");
    }

    void close() {
        ProcessModel& p = caller();
        const uint32_t handle = pick_handle(p);
        Reply r = h_.call(p.id, proto::CloseHandleRequest{handle, 0});
        const bool listed = std::find(p.cffm.begin(), p.cffm.end(), handle) != p.cffm.end();
        const bool held = p.refs.count(handle) == 1;
        if (exact_) CEK_FUZZ_CHECK(r.ok() == (listed || held), "close disagrees with the model");
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.error() == Win32Error::ERROR_INVALID_HANDLE, "close error");
            return;
        }
        if (listed)
            forget_cffm(p, handle);
        else
            release_ref(p, handle);
    }

    void create_file() {
        ProcessModel& p = caller();
        static constexpr uint32_t kAccess[] = {ce::kGenericRead | ce::kGenericWrite, ce::kGenericRead,
                                               ce::kGenericWrite, 0, ce::kGenericAll};
        static constexpr uint32_t kShare[] = {0, 1, 2, 3, 3, ce::kFileShareWriteOverride};
        static constexpr uint32_t kDisposition[] = {4, 2, 1, 3, 5, 0, 6};
        static constexpr uint32_t kFlags[] = {0, 0, ce::kFileFlagBackupSemantics,
                                              ce::kFileFlagWriteThrough, 1 /* READONLY */,
                                              ce::kFileFlagRandomAccess};
        proto::CreateFileRequest req{};
        req.access = from_table(kAccess);
        req.share = from_table(kShare);
        req.disposition = from_table(kDisposition);
        req.flags_and_attributes = from_table(kFlags);
        req.for_mapping = in_.byte() & 1;
        const std::u16string& path = kPaths[in_.below(std::size(kPaths))];
        req.path_chars = static_cast<uint32_t>(path.size());
        Reply r = h_.call(p.id, req, as_bytes(path));
        if (!fsys_) CEK_FUZZ_CHECK(!r.ok() && r.error() == Win32Error::ERROR_NOT_SUPPORTED, "file call without fsys");
        if (!r.ok()) return;
        CEK_FUZZ_CHECK(r.header.set_error == 1, "CreateFile success must set the last error");
        const auto handle = r.as<proto::CreateFileReply>().handle;
        if (req.for_mapping != 0)
            p.cffm.push_back(handle);
        else
            ++p.refs[handle];
        remember(handle);
    }

    // FilePositions, and a scribble on the table as a hostile client may write anything there:
    // the kernel reads it as a claim (a takeover, SetEndOfFile) and must stay whole.
    void positions_call(ProcessModel& p) {
        Reply r = h_.call(p.id, proto::FilePositionsRequest{});
        if (!r.ok() || r.attachment.fd < 0) return;
        void* table = ::mmap(nullptr, proto::kPositionTableBytes, PROT_READ | PROT_WRITE,
                             MAP_SHARED, r.attachment.fd, 0);
        CEK_FUZZ_CHECK(table != MAP_FAILED, "the table of positions cannot be mapped");
        const uint32_t slot = in_.byte() % 4;  // where the first files' positions live
        const auto word = in_.take<uint64_t>();
        if (in_.byte() % 2 == 0)
            static_cast<std::atomic<uint64_t>*>(table)[slot].store(word);
        ::munmap(table, proto::kPositionTableBytes);
    }

    void file_call() {
        ProcessModel& p = caller();
        const uint8_t which = in_.byte();
        const uint32_t handle = pick_handle(p);
        Reply r;
        switch (which % 5) {
        case 0: {
            const uint32_t send_fd = (which / 5) & 1;  // with and without the descriptor sent
            const uint32_t keep = (which / 10) & 1;   // and with the position kept or not
            if (keep != 0 && (which / 20) % 3 == 0) positions_call(p);
            r = h_.call(p.id, proto::FileDescriptorRequest{handle, send_fd, keep, 0});
            if (r.ok()) {
                const auto d = r.as<proto::FileDescriptorReply>();
                CEK_FUZZ_CHECK(::fcntl(d.kernel_fd, F_GETFD) >= 0, "FileDescriptor gave a dead descriptor");
                CEK_FUZZ_CHECK((r.attachment.fd >= 0) == (send_fd != 0),
                               "FileDescriptor sends a descriptor exactly when asked");
                CEK_FUZZ_CHECK(d.position == 0 ||
                                   proto::position_ref_slot(d.position) < proto::kPositionSlots,
                               "FileDescriptor named a slot outside the table");
            }
            break;
        }
        case 1:
            r = h_.call(p.id, proto::SetEndOfFileRequest{handle, 0});
            break;
        case 2:
            r = h_.call(p.id, proto::FileInfoRequest{handle, 0});
            break;
        case 3:
            r = h_.call(p.id, proto::SetFileTimeRequest{handle, in_.byte(), in_.take<uint64_t>(), 0,
                                                        in_.take<uint64_t>()});
            break;
        default:
            r = h_.call(p.id, proto::FindNextRequest{handle, 0});
            break;
        }
        if (!r.ok()) CEK_FUZZ_CHECK(r.header.set_error == 1, "file call failed without an error");
    }

    void find() {
        ProcessModel& p = caller();
        if ((in_.byte() & 1) != 0) {
            const uint32_t handle = pick_handle(p);
            Reply r = h_.call(p.id, proto::FindCloseRequest{handle, 0});
            if (exact_ && r.ok()) CEK_FUZZ_CHECK(p.refs.count(handle) == 1, "FindClose of a handle not held");
            if (r.ok()) release_ref(p, handle);
            return;
        }
        const std::u16string& pattern = kPatterns[in_.below(std::size(kPatterns))];
        proto::FindFirstRequest req{static_cast<uint32_t>(pattern.size()), 0};
        Reply r = h_.call(p.id, req, as_bytes(pattern));
        if (!r.ok()) return;
        const auto handle = r.as<proto::FindFirstReply>().handle;
        ++p.refs[handle];
        remember(handle);
    }

    void path_call() {
        ProcessModel& p = caller();
        const uint8_t which = in_.byte();
        const std::u16string& a = kPaths[in_.below(std::size(kPaths))];
        const std::u16string& b = kPaths[in_.below(std::size(kPaths))];
        if (which % 7 < 5) {
            proto::PathOpRequest req{which % 7 + 1u, in_.byte() & 0x27u,
                                     static_cast<uint32_t>(a.size()), 0};
            h_.call(p.id, req, as_bytes(a));
        } else {
            proto::MovePathRequest req{which % 7 == 6 ? 1u : 0u, (which >> 3) & 1u,
                                       static_cast<uint32_t>(a.size()), static_cast<uint32_t>(b.size())};
            std::u16string both = a + b;
            h_.call(p.id, req, as_bytes(both));
        }
    }

    // The snapshot as cedump reads it: Snapshot, then SnapshotRead chunks, decoded.
    void snapshot() {
        ProcessModel& p = caller();
        Reply r = h_.call(p.id, proto::SnapshotRequest{0});
        CEK_FUZZ_CHECK(r.ok(), "Snapshot failed");
        const uint64_t total = r.as<proto::SnapshotReply>().total_bytes;
        std::vector<std::byte> bytes;
        while (bytes.size() < total) {
            Reply chunk = h_.call(p.id, proto::SnapshotReadRequest{bytes.size()});
            CEK_FUZZ_CHECK(chunk.ok(), "SnapshotRead failed");
            const auto rep = chunk.as<proto::SnapshotReadReply>();
            CEK_FUZZ_CHECK(rep.total_bytes == total && rep.chunk_bytes != 0 &&
                               chunk.body.size() == sizeof rep + rep.chunk_bytes,
                           "SnapshotRead chunk");
            bytes.insert(bytes.end(), chunk.body.begin() + sizeof rep, chunk.body.end());
        }
        CEK_FUZZ_CHECK(bytes.size() == total, "snapshot length");
        Reply past = h_.call(p.id, proto::SnapshotReadRequest{total + 1});
        CEK_FUZZ_CHECK(!past.ok() && past.error() == Win32Error::ERROR_INVALID_PARAMETER, "read past the end");
        proto::ByteReader reader(bytes.data(), bytes.size());
        proto::Snapshot s;
        CEK_FUZZ_CHECK(proto::decode(reader, s) && reader.at_end(), "wire snapshot does not decode");
        CEK_FUZZ_CHECK(s.handles.size() == h_.kernel().handle_count() &&
                           s.processes.size() == procs_.size() + h_.children(),
                       "wire snapshot disagrees with the kernel");
    }

    // Any request of requests.def; u32 words of the form 0xCEC0DExx become handles.
    void raw_request() {
        ProcessModel& p = caller();
        const uint32_t code = in_.byte() % kCodeCount;
        auto body = in_.bytes(96);
        std::vector<std::byte> bytes(body.size());
        if (!body.empty()) std::memcpy(bytes.data(), body.data(), body.size());
        std::vector<uint32_t> pool;
        for (const auto& [handle, count] : p.refs) pool.push_back(handle);
        pool.insert(pool.end(), p.cffm.begin(), p.cffm.end());
        pool.insert(pool.end(), seen_.begin(), seen_.end());
        for (size_t i = 0; i + 4 <= bytes.size() && !pool.empty(); i += 4) {
            uint32_t word;
            std::memcpy(&word, bytes.data() + i, 4);
            if ((word & 0xFFFFFF00u) != 0xCEC0DE00u) continue;
            word = pool[(word & 0xFF) % pool.size()];
            std::memcpy(bytes.data() + i, &word, 4);
        }
        const bool short_body = bytes.size() < kRequestBodySizes[code];
        Reply r = h_.send(p.id, Harness::encode(code, bytes.data(), bytes.size(), {}));
        if (short_body) return;
        // From here on the model only follows the snapshot.
        exact_ = false;
        if (r.ok() && r.body.size() >= 4) {
            uint32_t maybe_handle;
            std::memcpy(&maybe_handle, r.body.data(), 4);
            if ((maybe_handle & 3) == 2) remember(maybe_handle);
        }
    }

    // ---- synchronization objects ----

    std::u16string pick_name(uint8_t shape) {
        return kNames[(shape >> 4) % std::size(kNames)];
    }

    void sync_create() {
        ProcessModel& p = caller();
        static constexpr uint32_t kKinds[] = {1, 2, 3, 1, 2, 3, 0, 4};
        static constexpr int32_t kCounts[] = {0, 1, 2, -1, 0x7FFFFFFF};
        const uint8_t shape = in_.byte();
        proto::SyncCreateRequest req{};
        req.kind = from_table(kKinds);
        req.flags = shape & 3;
        req.initial = from_table(kCounts);
        req.maximum = from_table(kCounts);
        std::u16string name;
        if ((shape & 4) != 0) {
            req.has_name = 1;
            name = pick_name(shape);
            req.name_chars = static_cast<uint32_t>(name.size());
        }
        Reply r = h_.call(p.id, req, as_bytes(name), thread());
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.header.set_error == 1, "sync create failure without an error");
            return;
        }
        const auto handle = r.as<proto::SyncCreateReply>().handle;
        ++p.refs[handle];
        remember(handle);
    }

    void sync_open() {
        ProcessModel& p = caller();
        const uint8_t shape = in_.byte();
        const std::u16string name = pick_name(shape);
        proto::SyncOpenRequest req{shape & 3u, in_.take<uint32_t>(), (shape & 8) != 0 ? 1u : 0u,
                                   static_cast<uint32_t>(name.size())};
        Reply r = h_.call(p.id, req, as_bytes(name));
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.header.set_error == 1, "sync open failure without an error");
            return;
        }
        const auto handle = r.as<proto::SyncOpenReply>().handle;
        ++p.refs[handle];
        remember(handle);
    }

    void sync_signal() {
        ProcessModel& p = caller();
        const uint8_t which = in_.byte();
        const uint32_t handle = pick_handle(p);
        Reply r;
        if (which % 5 == 0)
            r = h_.call(p.id, proto::EventSetRequest{handle, which / 5 % 4u}, {}, thread());
        else if (which % 5 == 1)
            r = h_.call(p.id, proto::MutexReleaseRequest{handle, 0}, {}, thread());
        else if (which % 5 == 2)
            r = h_.call(p.id, proto::SemaphoreReleaseRequest{handle, from_table({1, 1, 2, 0, -1})},
                        {}, thread());
        else if (which % 5 == 3)
            r = h_.call(p.id, proto::MutexWordRequest{handle, 0});
        else
            return mutex_word_op(p, handle, which / 5);
        if (!r.ok()) CEK_FUZZ_CHECK(r.header.set_error == 1, "signal failure without an error");
    }

    // What a client does with a mutex's shared word without the kernel: takes it, releases it,
    // or (a hostile one) writes anything. The kernel must make a state of whatever it finds.
    void mutex_word_op(ProcessModel& p, uint32_t handle, uint32_t op) {
        auto grant = h_.kernel().mutex_word(p.id, HandleValue{handle});
        h_.kernel().publish_mutex_words();
        if (!grant || grant.value() == nullptr) return;
        void* page = ::mmap(nullptr, proto::kMutexWordBytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                            grant.value()->word_fd(), 0);
        CEK_FUZZ_CHECK(page != MAP_FAILED, "a mutex word cannot be mapped");
        auto& word = *static_cast<std::atomic<uint64_t>*>(page);
        if (op % 3 == 0)
            (void)proto::mutex_word_acquire(word, thread());
        else if (op % 3 == 1)
            (void)proto::mutex_word_release(word, thread());
        else
            word.store(from_table({uint64_t{0}, proto::kMutexKernel, uint64_t{5},
                                   proto::mutex_word(7, 1), uint64_t{1} << 40,
                                   ~uint64_t{0}}));
        ::munmap(page, proto::kMutexWordBytes);
    }

    void wait() {
        ProcessModel& p = caller();
        const uint8_t shape = in_.byte();
        std::vector<uint32_t> handles(shape % 4 == 3 ? 0 : shape % 4 + 1u);
        for (auto& h : handles) h = pick_handle(p);
        proto::WaitObjectsRequest req{};
        req.count = static_cast<uint32_t>(handles.size());
        req.wait_all = (shape & 0x80) != 0 ? 1 : 0;
        req.timeout_ms = from_table({0u, proto::kWaitInfinite, 10u, 1000u});
        Reply r = h_.call(p.id, req, std::as_bytes(std::span(handles)), thread());
        if (r.pending) return;
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.header.set_error == 1, "wait failure without an error");
            return;
        }
        const uint32_t result = r.as<proto::WaitObjectsReply>().result;
        CEK_FUZZ_CHECK(result < req.count || (result >= 0x80 && result < 0x80 + req.count) ||
                           (result == 0x102 && req.timeout_ms == 0),
                       "wait result " + std::to_string(result));
    }

    void wait_control() {
        const uint8_t which = in_.byte();
        if ((which & 1) != 0 || h_.pending().empty()) {
            h_.advance(which & 0x80 ? 2000 : 0);
            return;
        }
        auto it = h_.pending().begin();
        std::advance(it, static_cast<long>((which >> 1) % h_.pending().size()));
        h_.cancel(ProcessId{it->first}, it->second);
    }

    void duplicate() {
        ProcessModel& p = caller();
        const uint8_t shape = in_.byte();
        proto::DuplicateRequest req{};
        req.source_process = (shape & 1) != 0 ? 0x1234 : proto::kCurrentProcessHandle;
        req.handle = pick_handle(p);
        req.target_process = (shape & 2) != 0 ? 0x1234 : proto::kCurrentProcessHandle;
        req.access = 0;
        req.inherit = (shape & 4) != 0 ? 1 : 0;
        req.options = from_table({proto::kDuplicateSameAccess,
                                  proto::kDuplicateSameAccess | proto::kDuplicateCloseSource,
                                  proto::kDuplicateCloseSource, 0u});
        Reply r = h_.call(p.id, req);
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.error() == Win32Error::ERROR_INVALID_PARAMETER, "duplicate error");
            return;
        }
        const auto handle = r.as<proto::DuplicateReply>().handle;
        if (exact_) CEK_FUZZ_CHECK(p.refs.count(req.handle) == 1, "duplicated a handle not held");
        CEK_FUZZ_CHECK(handle == req.handle, "duplicate returned another value");
        if ((req.options & proto::kDuplicateCloseSource) == 0) ++p.refs[handle];
    }

    // VmReserve or VmRelease (a huge reservation): the window hands out whole ranges that never
    // overlap a mapping's, released by their owner only.
    void huge() {
        ProcessModel& p = caller();
        if (in_.below(2) == 0) {
            const uint64_t kLengths[] = {uint64_t{2} << 20, uint64_t{4} << 20, uint64_t{1} << 20,
                                         0x3C000001, uint64_t{3} << 20, kWindowSize};
            proto::VmReserveRequest req{from_table(kLengths)};
            Reply r = h_.call(p.id, req);
            const bool possible = req.length >= (uint64_t{2} << 20) && req.length <= 0x3C000000;
            if (!r.ok()) {
                CEK_FUZZ_CHECK(r.error() == Win32Error::ERROR_OUTOFMEMORY, "huge reserve error");
                return;
            }
            const auto& v = r.as<proto::VmReserveReply>();
            CEK_FUZZ_CHECK(possible && v.length >= req.length && v.address % (uint64_t{2} << 20) == 0 &&
                               v.address >= kWindowBase &&
                               v.length <= kWindowBase + kWindowSize - v.address,
                           "huge reservation outside the window or too small");
            for (const auto& q : procs_)
                for (const auto& [base, length] : q.huge)
                    CEK_FUZZ_CHECK(base + length <= v.address || v.address + v.length <= base,
                                   "huge reservations overlap");
            p.huge.emplace(v.address, v.length);
            return;
        }
        // Release: one of its own, another process's, or an address inside one.
        uint64_t address = kWindowBase + (uint64_t{2} << 20) * in_.below(8);
        const ProcessModel& owner = procs_[in_.below(static_cast<uint32_t>(procs_.size()))];
        if (!owner.huge.empty()) {
            auto it = owner.huge.begin();
            std::advance(it, in_.below(static_cast<uint32_t>(owner.huge.size())));
            address = it->first + (in_.below(4) == 0 ? 0x10000 : 0);
        }
        Reply r = h_.call(p.id, proto::VmReleaseRequest{address});
        const bool mine = p.huge.count(address) != 0;
        if (exact_) CEK_FUZZ_CHECK(r.ok() == mine, "huge release disagrees with the model");
        if (!r.ok()) CEK_FUZZ_CHECK(r.error() == Win32Error::ERROR_INVALID_PARAMETER, "huge release error");
        if (r.ok()) p.huge.erase(address);
    }

    // ---- message queues ----

    void msgqueue_create() {
        ProcessModel& p = caller();
        const uint8_t shape = in_.byte();
        Reply r;
        if ((shape & 0x80) != 0) {
            // OpenMsgQueue of a handle the caller holds (or a stale one), from itself or another
            // process's handle space.
            proto::MsgQueueOpenRequest req{};
            // Another process is named by its id, its process handle value (CE 5).
            req.source_process = proto::kCurrentProcessHandle;
            if ((shape & 0x40) != 0) {
                const ProcessId other = procs_[in_.below(static_cast<uint32_t>(procs_.size()))].id;
                req.source_process = h_.kernel().process_handle(other).raw;
            }
            req.handle = pick_handle(p);
            req.options_size = from_table({20u, 20u, 19u, 0u});
            req.read_access = shape & 1u;
            r = h_.call(p.id, req);
        } else {
            proto::MsgQueueCreateRequest req{};
            req.options_size = from_table({20u, 20u, 19u, 28u});
            req.flags = from_table({0u, 1u, 2u, 3u, 4u, 0x80000002u});
            req.max_messages = from_table({4u, 1u, 0u, 0x100000u, 0x100001u, 17u});
            req.max_bytes = from_table({64u, 1u, 0u, 0x100000u, 5000u, 0x100001u});
            req.read_access = shape & 1u;
            std::u16string name;
            if ((shape & 4) != 0) {
                req.has_name = 1;
                name = pick_name(shape);
                req.name_chars = static_cast<uint32_t>(name.size());
            }
            r = h_.call(p.id, req, as_bytes(name));
        }
        if (!r.ok()) {
            CEK_FUZZ_CHECK(r.header.set_error == 1, "msgqueue create failure without an error");
            return;
        }
        CEK_FUZZ_CHECK(r.header.set_error == 1, "msgqueue create success leaves the last error");
        const auto handle = r.as<proto::MsgQueueCreateReply>().handle;
        ++p.refs[handle];
        remember(handle);
    }

    void msgqueue_io() {
        ProcessModel& p = caller();
        const uint8_t shape = in_.byte();
        const uint32_t handle = pick_handle(p);
        Reply r;
        switch (shape % 6) {
        case 0: {  // a whole message, or a part of one at an offset
            const uint32_t total = from_table({1u, 64u, 5000u, 0u, 0x100001u});
            const uint32_t offset = (shape & 0x10) != 0 ? from_table({0u, 4000u, 5000u}) : 0u;
            const uint32_t part = std::min<uint32_t>(
                (shape & 0x20) != 0 ? 4000u : total, proto::kMsgQueueWriteInline);
            message_.assign(part, std::byte{0x5a});
            const uint32_t timeout = from_table({0u, proto::kWaitInfinite, 10u});
            r = h_.call(p.id,
                        proto::MsgQueueWriteRequest{handle, (shape >> 6) & 1u, total, offset,
                                                    timeout, 0},
                        message_, thread());
            break;
        }
        case 1: {  // a read, or the rest of one
            const uint32_t capacity = from_table({64u, 1u, 0u, 0x100000u, 0x80000000u});
            const uint32_t offset = (shape & 0x10) != 0 ? from_table({4064u, 1u}) : 0u;
            const uint32_t timeout = from_table({0u, proto::kWaitInfinite, 10u});
            r = h_.call(p.id, proto::MsgQueueReadRequest{handle, capacity, offset, timeout}, {},
                        thread());
            if (r.ok() && offset == 0) {
                const auto rep = r.as<proto::MsgQueueReadReply>();
                CEK_FUZZ_CHECK(rep.size >= 1 && rep.size <= capacity, "read size out of range");
                CEK_FUZZ_CHECK(r.body.size() == sizeof rep + std::min(rep.size, proto::kMsgQueueReadInline),
                               "read reply data length");
            }
            break;
        }
        case 2: {  // the ring a client asks for at its first use of the handle
            const uint32_t send = (shape >> 3) & 1u;
            r = h_.call(p.id, proto::MsgQueueRingRequest{handle, send});
            if (r.ok()) {
                const auto rep = r.as<proto::MsgQueueRingReply>();
                const uint64_t expected = proto::msg_ring_bytes(rep.max_messages, rep.max_bytes);
                CEK_FUZZ_CHECK(rep.ring_bytes == 0 || rep.ring_bytes == expected,
                               "ring size is not the queue's");
                CEK_FUZZ_CHECK((send != 0 && rep.ring_bytes != 0) == (rep.kernel_fd >= 0),
                               "a ring's descriptor sent unasked, or not sent");
            }
            break;
        }
        case 3:
            r = h_.call(p.id, proto::MsgQueueNotifyRequest{handle, 0});
            break;
        case 4: {
            // A hostile client scribbles on its ring: what the kernel reads there (counts,
            // waits' readiness, GetMsgQueueInfo) must stay within the queue.
            auto grant = h_.kernel().msg_queue_ring(p.id, HandleValue{handle});
            if (!grant || grant.value().ring == nullptr) return;
            auto& h = const_cast<kernel::MsgRingMemory*>(grant.value().ring)->ring().header();
            std::atomic<uint32_t>* words[] = {&h.state, &h.head, &h.tail, &h.alert,
                                              &h.high_water, &h.kernel_watch[0],
                                              &h.kernel_watch[1], &h.read_sleepers};
            words[shape >> 5]->store(from_table({0u, 1u, 0xFFFFFFFFu, 0x80000000u, 5u}));
            r = h_.call(p.id, proto::MsgQueueInfoRequest{handle, 28});
            if (r.ok()) {
                const auto rep = r.as<proto::MsgQueueInfoReply>();
                CEK_FUZZ_CHECK(rep.max_messages == 0 || (rep.current <= rep.max_messages &&
                                                         rep.high_water <= rep.max_messages),
                               "a scribbled ring's counts leave the queue");
            }
            break;
        }
        default:
            r = h_.call(p.id, proto::MsgQueueInfoRequest{handle, from_table({28u, 27u})});
            break;
        }
        if (r.pending) return;  // parked: its reply comes as a completion
        if (!r.ok()) CEK_FUZZ_CHECK(r.header.set_error == 1, "msgqueue failure without an error");
    }

    // ---- registry ----

    // A root (selector bit 7 set; bits 0-2 pick it, 4 and up being no root), or what
    // pick_handle gives: a key handle the caller holds, another handle, a stale value.
    uint32_t pick_hkey(ProcessModel& p) {
        const uint8_t b = in_.byte();
        if ((b & 0x80) != 0) return 0x80000000u + (b & 7u);
        return pick_handle(p);
    }

    std::u16string reg_path(uint8_t shape) {
        static const char16_t* const kPaths[] = {u"", u"Software", u"software\\App", u"A\\B\\C",
                                                 u"\\lead\\", u"a\\\\b", u"x"};
        std::u16string path = kPaths[shape % 7];
        if ((shape & 0x40) != 0) path += u"\\" + std::u16string(256, u'n');  // a name too long
        return path;
    }

    // StageText: `path` staged in two parts for the caller's thread (a long path gets eight
    // more names of 255), sometimes one unit short of its total, out of order, or half sent.
    void stage_reg_path(ProcessModel& p, std::u16string path) {
        const uint8_t how = in_.byte();
        if ((how & 0x80) != 0)
            for (int i = 0; i < 8; ++i)
                path += u"\\" + std::u16string(255, static_cast<char16_t>(u'a' + i));
        const auto size = static_cast<uint32_t>(path.size());
        const uint32_t total = size + ((how & 0x10) != 0 ? 1u : 0u);
        const uint32_t half = size / 2;
        const uint32_t first_at = (how & 0x20) != 0 ? 1u : 0u;
        h_.call(p.id, proto::StageTextRequest{total, first_at, half, 0},
                as_bytes(path.substr(0, half)));
        if ((how & 0x40) == 0)
            h_.call(p.id, proto::StageTextRequest{total, half, size - half, 0},
                    as_bytes(path.substr(half)));
    }

    void registry_keys() {
        ProcessModel& p = caller();
        const uint8_t shape = in_.byte();
        const uint32_t hkey = pick_hkey(p);
        std::u16string path = reg_path(in_.byte());
        // Bit 3: the path goes staged (StageText), the request names none of its own.
        uint32_t path_chars = static_cast<uint32_t>(path.size());
        if ((shape & 0x08) != 0) {
            stage_reg_path(p, path);
            path.clear();
            path_chars = proto::kTextStaged;
        }
        Reply r;
        uint32_t handle = 0;
        switch (shape % 4) {
        case 0: {
            const std::u16string cls = (shape & 0x80) != 0 ? u"class" : u"";
            std::u16string both = path + cls;
            r = h_.call(p.id,
                        proto::RegCreateKeyRequest{hkey, (shape >> 2) & 1u, path_chars,
                                                   static_cast<uint32_t>(cls.size())},
                        as_bytes(both));
            if (r.ok()) handle = r.as<proto::RegCreateKeyReply>().hkey;
            break;
        }
        case 1:
            r = h_.call(p.id, proto::RegOpenKeyRequest{hkey, path_chars}, as_bytes(path));
            if (r.ok()) handle = r.as<proto::RegOpenKeyReply>().hkey;
            break;
        case 2:
            r = h_.call(p.id, proto::RegDeleteKeyRequest{hkey, path_chars}, as_bytes(path));
            break;
        default: {
            r = h_.call(p.id, proto::RegCloseKeyRequest{hkey, 0});
            if (r.ok() && hkey < 0x80000000u) release_ref(p, hkey);
            break;
        }
        }
        if (handle != 0) {
            ++p.refs[handle];
            remember(handle);
        }
    }

    void registry_values() {
        ProcessModel& p = caller();
        const uint8_t shape = in_.byte();
        const uint32_t hkey = pick_hkey(p);
        static const char16_t* const kNames[] = {u"", u"v", u"V", u"value two"};
        const std::u16string name = kNames[in_.byte() % 4];
        Reply r;
        switch (shape % 6) {
        case 0: {  // a whole value, or a part of one
            const uint32_t total = from_table({4u, 0u, 4096u, 4097u, 3000u});
            const uint32_t offset = (shape & 0x40) != 0 ? from_table({0u, 2000u, 3000u}) : 0u;
            const uint32_t part = std::min<uint32_t>(total, (shape & 0x80) != 0 ? 2000u : 4096u);
            std::vector<std::byte> extra(as_bytes(name).begin(), as_bytes(name).end());
            extra.resize(extra.size() + std::min<uint32_t>(part, proto::reg_set_value_inline(name.size())),
                         std::byte{0x42});
            r = h_.call(p.id,
                        proto::RegSetValueRequest{hkey, from_table({4u, 1u, 0xBAADu}),
                                                  static_cast<uint32_t>(name.size()), total, offset, 0},
                        extra, thread());
            break;
        }
        case 1: {
            const uint32_t offset = (shape & 0x40) != 0 ? from_table({4064u, 1u}) : 0u;
            r = h_.call(p.id,
                        proto::RegQueryValueRequest{hkey, static_cast<uint32_t>(name.size()), offset, 0,
                                                    in_.byte()},
                        as_bytes(name));
            if (r.ok() && offset == 0) {
                const auto rep = r.as<proto::RegQueryValueReply>();
                CEK_FUZZ_CHECK(rep.size <= 4096, "a value over 4 KB");
                CEK_FUZZ_CHECK(r.body.size() == sizeof rep + std::min(rep.size, proto::kRegValueReplyInline),
                               "query reply data length");
            }
            break;
        }
        case 2:
            r = h_.call(p.id, proto::RegDeleteValueRequest{hkey, static_cast<uint32_t>(name.size())},
                        as_bytes(name));
            break;
        case 3:
            r = h_.call(p.id, proto::RegEnumKeyRequest{hkey, in_.below(4)});
            break;
        case 4:
            r = h_.call(p.id, proto::RegEnumValueRequest{hkey, in_.below(4)});
            break;
        default:
            r = (shape & 0x40) != 0 ? h_.call(p.id, proto::RegQueryInfoRequest{hkey, 0})
                                    : h_.call(p.id, proto::RegFlushKeyRequest{hkey, 0});
            break;
        }
        if (!r.ok()) CEK_FUZZ_CHECK(r.error() != Win32Error::ERROR_SUCCESS, "registry failure without a code");
    }

    uint32_t thread() { return in_.below(3) + 1; }

    // ---- threads ----

    // CreateThread's kernel half, a thread's first call (binding or adopting), ExitThread,
    // Suspend/Resume/TerminateThread, priorities, quanta and exit codes, from threads 1-3 of the
    // caller; the agent's side of another process's stops (ThreadRemote take and done). Threads
    // hold references of their own that come and go with them, so the model takes the caller's
    // references from the snapshot after each of these calls.
    void thread_call() {
        ProcessModel& p = caller();
        const uint8_t shape = in_.byte();
        const uint32_t tid = thread();
        const uint32_t handle = (shape & 0x80) != 0 ? proto::kCurrentThreadHandle : pick_handle(p);
        Reply r;
        switch (shape % 6) {
        case 5:
            r = h_.call(p.id,
                        proto::ThreadRemoteRequest{from_table({1u, 2u, 0u, 3u}),
                                                   from_table({0u, 1u, 2u, 0xFFFFFFFFu})},
                        {}, tid);
            break;
        case 0:
            r = h_.call(p.id,
                        proto::ThreadCreateRequest{from_table({0u, 4u, 0x10000u, 0x10004u, 1u}),
                                                   from_table({0u, 65536u, 0x80000000u})},
                        {}, tid);
            if (r.ok()) remember(r.as<proto::ThreadCreateReply>().handle);
            break;
        case 1:
            r = h_.call(p.id, proto::ThreadAttachRequest{(shape & 0x10) != 0 ? handle : 0u, 0}, {},
                        tid);
            break;
        case 2:
            r = h_.call(p.id, proto::ThreadExitRequest{from_table({0u, 7u, 0x103u}), 0}, {}, tid);
            break;
        case 3:
            r = h_.call(p.id,
                        proto::ThreadControlRequest{handle, from_table({1u, 2u, 3u, 0u, 4u}),
                                                    from_table({0u, 5u}), 0},
                        {}, tid);
            break;
        default:
            r = h_.call(p.id,
                        proto::ThreadQueryRequest{handle,
                                                  from_table({1u, 2u, 3u, 4u, 5u, 6u, 100u, 0u}),
                                                  from_table({0u, 3u, 8u, 251u, 256u,
                                                              0x80000000u}),
                                                  0},
                        {}, tid);
            break;
        }
        resync_ = true;
        // Only a suspend or terminate of another process's thread waits (for that process's
        // agent: the ThreadRemote calls above carry it out).
        if (r.pending) {
            CEK_FUZZ_CHECK(shape % 6 == 3, "a thread call was parked");
            return;
        }
        if (!r.ok()) CEK_FUZZ_CHECK(r.header.set_error == 1, "thread failure without an error");
    }

    void step() {
        if (procs_.empty()) attach();
        if (procs_.empty()) return;  // a full table: no process could attach
        const uint8_t op = in_.byte();
        switch (op % 30) {
        case 0:
            attach();
            break;
        case 1:
            if (procs_.size() > 1 || (op & 0x80) != 0) die(in_.below(static_cast<uint32_t>(procs_.size())));
            if (procs_.empty()) attach();
            break;
        case 2:
        case 3:
            create_mapping();
            break;
        case 4:
        case 5:
            map_view();
            break;
        case 6:
            unmap_view();
            break;
        case 7:
            flush_view();
            break;
        case 8:
            close();
            break;
        case 9:
        case 10:
            create_file();
            break;
        case 11:
            file_call();
            break;
        case 12:
            find();
            break;
        case 13:
            path_call();
            break;
        case 14:
            snapshot();
            break;
        case 15:
            raw_request();
            break;
        case 16:
        case 17:
            sync_create();
            break;
        case 18:
            sync_open();
            break;
        case 19:
        case 20:
            sync_signal();
            break;
        case 21:
            wait();
            break;
        case 22:
            wait_control();
            break;
        case 24:
            huge();
            break;
        case 25:
            msgqueue_create();
            break;
        case 26:
            msgqueue_io();
            break;
        case 27:
            registry_keys();
            break;
        case 28:
            registry_values();
            break;
        case 29:
            thread_call();
            break;
        default:
            duplicate();
            break;
        }
    }

    // The kernel's invariants, then the model against the snapshot (or the model rebuilt).
    void check() {
        const proto::Snapshot& s = h_.check_invariants();
        kernel_owned_.clear();
        for (const auto& hd : s.handles)
            if (hd.kernel_owned) kernel_owned_.push_back(hd.value);
        std::sort(kernel_owned_.begin(), kernel_owned_.end());
        const auto kernel_owns = [&](uint32_t h) {
            return std::binary_search(kernel_owned_.begin(), kernel_owned_.end(), h);
        };
        // Names the model knows stay exactly those in the kernel.
        for (auto it = names_.begin(); it != names_.end();) {
            bool live = false;
            for (const auto& o : s.objects) live = live || (o.named && o.type == "mapping" && o.name == it->first);
            it = live ? std::next(it) : names_.erase(it);
        }
        for (auto& p : procs_) {
            refs_.clear();
            for (const auto& hd : s.handles)
                for (const auto& ref : hd.refs)
                    if (!hd.kernel_owned && ref.process_id == p.id.raw)
                        refs_.emplace_back(hd.value, ref.count);
            std::sort(refs_.begin(), refs_.end());
            views_.clear();
            for (const auto& v : s.views)
                if (v.process_id == p.id.raw) views_.emplace_back(v.address, v.object_id);
            std::sort(views_.begin(), views_.end());
            if (exact_ && !resync_) {
                const std::string who = ", process " + std::to_string(p.id.raw);
                CEK_FUZZ_CHECK(std::ranges::equal(p.refs, refs_,
                                                  [](const auto& a, const auto& b) {
                                                      return a.first == b.first &&
                                                             a.second == b.second;
                                                  }),
                               "references differ from the model" + who);
                CEK_FUZZ_CHECK(std::ranges::equal(p.views, views_,
                                                  [](const auto& a, const auto& b) {
                                                      return a.first == b.first &&
                                                             a.second.object_id == b.second;
                                                  }),
                               "views differ from the model" + who);
                for (uint32_t h : p.cffm)
                    CEK_FUZZ_CHECK(kernel_owns(h), "CreateFileForMapping handle vanished");
                CEK_FUZZ_CHECK(p.huge == h_.kernel().huge_reservations(p.id),
                               "huge reservations differ from the model" + who);
            } else {
                p.refs = std::map<uint32_t, uint32_t>(refs_.begin(), refs_.end());
                p.views.clear();
                for (const auto& [address, object_id] : views_) {
                    uint32_t handle = 0;
                    for (const auto& o : s.objects)
                        if (o.id == object_id) handle = o.handle;
                    p.views.emplace(address, ViewModel{handle, object_id});
                }
                std::erase_if(p.cffm, [&](uint32_t h) { return !kernel_owns(h); });
                p.huge = h_.kernel().huge_reservations(p.id);
            }
        }
        resync_ = false;
    }

    Input& in_;
    Harness h_;
    bool fsys_;
    bool exact_ = true;
    bool resync_ = false;  // a thread call: take the references from the snapshot once
    std::vector<ProcessModel> procs_;
    std::vector<uint32_t> seen_;                 // every handle value handed out
    std::map<std::u16string, uint32_t> names_;  // mapping names the model created
    // Scratch for check(), kept so that a check allocates almost nothing.
    std::vector<uint32_t> kernel_owned_;
    std::vector<std::pair<uint32_t, uint32_t>> refs_;   // handle, references
    std::vector<std::pair<uint64_t, uint64_t>> views_;  // address, mapping id
    std::vector<std::byte> message_;                    // message bytes to write
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Input in(data, size);
    const uint8_t flags = in.byte();
    Sequence seq(in, (flags & 1) != 0, (flags & 2) != 0 ? 16 : kernel::HandleTable::kMaxEntries);
    seq.run();
    return 0;
}

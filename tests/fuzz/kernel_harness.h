// Shared by the kernel fuzz targets: a Kernel with fake processes (and optionally a CE file
// system in a fresh temporary store), requests sent through decode_and_dispatch with every reply
// checked for shape, and the kernel-wide invariants checked on a snapshot.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <time.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <csignal>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "fsys/root.h"
#include "fuzz_support.h"
#include "kernel/dispatch/dispatch.h"
#include "kernel/kernel.h"
#include "kernel/objects/mapping_object.h"
#include "protocol/ce_constants.h"
#include "protocol/channel.h"
#include "common/errors.h"
#include "protocol/messages.h"
#include "protocol/snapshot.h"
#include "protocol/wire.h"

namespace cek::fuzz {

using kernel::HandleValue;
using kernel::Kernel;
using kernel::ProcessId;
using proto::ReplyHeader;
using proto::RequestCode;
using proto::RequestHeader;

inline constexpr uint32_t kCodeCount = static_cast<uint32_t>(RequestCode::Count);

// Body sizes per request code, straight from requests.def, so new requests are covered as they
// are added.
inline constexpr size_t kRequestBodySizes[] = {
#define CEK_REQUEST(name) sizeof(proto::name##Request),
#include "protocol/requests.def"
#undef CEK_REQUEST
};
inline constexpr size_t kReplyBodySizes[] = {
#define CEK_REQUEST(name) sizeof(proto::name##Reply),
#include "protocol/requests.def"
#undef CEK_REQUEST
};

inline constexpr uint64_t kWindowBase = 0x2000'0000'0000ULL;
inline constexpr uint64_t kWindowSize = 256ULL << 20;  // small enough to fill

inline size_t open_fd_count() {
    size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr) ++n;
        ::closedir(d);
    }
    return n;
}

// One temporary directory per fuzzing process, removed at exit; each harness gets a fresh store
// inside it.
inline const std::filesystem::path& scratch_dir() {
    struct Scratch {
        std::filesystem::path path;
        Scratch() {
            const char* tmp = std::getenv("TMPDIR");
            std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                                "/cek-fuzz-XXXXXX";
            if (::mkdtemp(templ.data()) == nullptr) std::abort();
            path = templ;
        }
        ~Scratch() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    };
    static Scratch scratch;
    return scratch.path;
}

struct Reply {
    ReplyHeader header{};
    std::vector<std::byte> body;

    bool pending = false;  // a wait left pending: no reply yet
    // The descriptor the reply tells the caller to take (the transport would send it; nothing
    // is sent here): fd -1 when none.
    kernel::Attachment attachment;

    bool ok() const { return !pending && header.failed == 0; }
    Win32Error error() const { return static_cast<Win32Error>(header.error); }
    template <class T>
    T as() const {
        T t{};
        CEK_FUZZ_CHECK(body.size() >= sizeof t, "reply body too short");
        std::memcpy(&t, body.data(), sizeof t);
        return t;
    }
};

inline uint64_t detail_number(const proto::ObjectInfo& o, std::string_view key) {
    for (const auto& [k, v] : o.details)
        if (k == key) return std::strtoull(v.c_str(), nullptr, 0);
    fail(__FILE__, __LINE__, "detail missing", std::string(key));
}

class Harness {
public:
    // `personality`: 5 (ce5) or 6 (ce6, per-process handle tables).
    Harness(bool with_fsys, uint32_t handle_capacity, uint32_t personality = 5)
        : fds_before_(open_fd_count()) {
        static const bool quiet = [] {
            spdlog::set_level(spdlog::level::off);
            return true;
        }();
        (void)quiet;
        std::unique_ptr<fsys::Root> root;
        if (with_fsys) {
            const auto store = scratch_dir() / "store";
            std::error_code ec;
            std::filesystem::remove_all(store, ec);
            auto r = fsys::Root::open(store);
            CEK_FUZZ_CHECK(r.ok(), "cannot open the fuzz store");
            root = std::move(r).value();
            // A program CreateProcessW can find and "start" (the launcher below starts nothing).
            std::filesystem::create_directories(store / "Windows", ec);
            std::ofstream(store / "Windows" / "run.exe") << "#!/bin/sh -e\nexit 0\n";
        }
        kernel::KernelConfig c;
        c.window_base = kWindowBase;
        c.window_size = kWindowSize;
        c.handle_capacity = handle_capacity;
        c.max_processes = 64;
        c.trace_capacity = 16;  // small: the fuzzer reaches its wrap-around, and cheaply
        c.personality = personality;
        per_process_ = personality >= 6;
        kernel_ = std::make_unique<Kernel>(c, std::move(root));
        // CreateProcessW starts nothing here: the launcher hands out pids, and a kill of one of
        // those children is its end with SIGKILL, told after the request (reap_killed). Other
        // processes cannot be killed (as if in another PID namespace).
        kernel_->set_launcher([this](const kernel::LaunchSpec& spec) -> Result<kernel::Launched> {
            CEK_FUZZ_CHECK(!spec.argv.empty(), "a launch without a program");
            const int pid = next_child_pid_++;
            children_.push_back(pid);
            return kernel::Launched{pid, static_cast<uint32_t>(pid)};
        });
        kernel_->set_thread_id_check([](int) { return true; });  // made-up pids and tids
        kernel_->set_killer([this](ProcessId id) {
            const int pid = kernel_->pid_of(id);
            if (!kernel_->child_by_pid(pid)) return false;
            killed_.push_back(pid);
            return true;
        });
    }

    // Programs CreateProcessW started that have not ended.
    size_t children() const {
        size_t n = 0;
        for (int pid : children_) n += kernel_->child_by_pid(pid) ? 1 : 0;
        return n;
    }
    // The children TerminateProcess killed end now; with `all`, every child ends (exit 0).
    void reap_killed(bool all = false) {
        std::vector<int> ending = std::exchange(killed_, {});
        if (all) ending.insert(ending.end(), children_.begin(), children_.end());
        for (int pid : ending) {
            if (auto id = kernel_->child_by_pid(pid)) {
                kernel_->child_exited(*id, all ? 0 : SIGKILL);
                std::erase_if(pending_, [&](const auto& w) { return w.first == id->raw; });
            }
        }
        drain_completions();
    }

    Kernel& kernel() { return *kernel_; }

    // Attached as the server attaches a connected process: with an agent to stop its threads
    // for others (its pokes are dropped here: the input calls ThreadRemote itself).
    ProcessId attach() {
        auto r = kernel_->attach_process(next_pid_++, "fuzz.exe", false);
        CEK_FUZZ_CHECK(r.ok(), "attach failed");
        kernel_->agent_ready(r.value());
        return r.value();
    }
    // An attach that may find no room: every process takes a handle entry (its id).
    std::optional<ProcessId> try_attach() {
        auto r = kernel_->attach_process(next_pid_++, "fuzz.exe", false);
        if (!r) {
            CEK_FUZZ_CHECK(r.error() == Win32Error::ERROR_NOT_ENOUGH_MEMORY ||
                               r.error() == Win32Error::ERROR_NO_MORE_USER_HANDLES,
                           "attach failed with room in the table");
            return std::nullopt;
        }
        kernel_->agent_ready(r.value());
        return r.value();
    }

    // One request, exactly `request.size()` bytes on the heap so ASan sees any overread. A wait
    // the kernel leaves pending (reply size 0) is remembered until it completes, is cancelled or
    // its process dies.
    Reply send(ProcessId caller, std::span<const std::byte> request) {
        std::vector<std::byte> in(request.begin(), request.end());
        std::vector<std::byte> out(proto::kReplyBytes, std::byte{0xCD});
        const uint64_t tag = next_tag_++;
        Reply r;
        const size_t n = kernel::decode_and_dispatch(*kernel_, caller, in, out, tag, &r.attachment);
        if (n == 0) {
            RequestHeader q{};
            CEK_FUZZ_CHECK(in.size() >= sizeof q, "short request left pending");
            std::memcpy(&q, in.data(), sizeof q);
            CEK_FUZZ_CHECK(q.code == static_cast<uint32_t>(RequestCode::WaitObjects) ||
                               q.code == static_cast<uint32_t>(RequestCode::MsgQueueRead) ||
                               q.code == static_cast<uint32_t>(RequestCode::MsgQueueWrite) ||
                               q.code == static_cast<uint32_t>(RequestCode::MovePath) ||
                               q.code == static_cast<uint32_t>(RequestCode::ProcessCreate) ||
                               q.code == static_cast<uint32_t>(RequestCode::ThreadControl),
                           "only a wait (on objects, a queue or a resume), a copy or a creation "
                           "may be left pending, code " + std::to_string(q.code));
            CEK_FUZZ_CHECK(kernel_->process_alive(caller), "a dead process's call left pending");
            pending_.emplace(caller.raw, tag);
            r.pending = true;
            return r;
        }
        CEK_FUZZ_CHECK(n >= sizeof(ReplyHeader) && n <= out.size(), std::to_string(n));
        reap_killed();
        std::memcpy(&r.header, out.data(), sizeof r.header);
        r.body.assign(out.begin() + sizeof(ReplyHeader), out.begin() + static_cast<long>(n));
        check_reply(in, r, n);
        return r;
    }

    template <class Req>
    Reply call(ProcessId caller, const Req& req, std::span<const std::byte> extra = {},
               uint32_t thread = 1) {
        return send(caller, encode(static_cast<uint32_t>(proto::RequestTraits<Req>::kCode), &req,
                                   sizeof req, extra, thread));
    }

    static std::vector<std::byte> encode(uint32_t code, const void* body, size_t body_size,
                                         std::span<const std::byte> extra, uint32_t thread = 1) {
        RequestHeader h{};
        h.code = code;
        h.size = static_cast<uint32_t>(sizeof h + body_size + extra.size());
        h.thread_id = thread;
        std::vector<std::byte> out(h.size);
        std::memcpy(out.data(), &h, sizeof h);
        if (body_size != 0) std::memcpy(out.data() + sizeof h, body, body_size);
        if (!extra.empty()) std::memcpy(out.data() + sizeof h + body_size, extra.data(), extra.size());
        return out;
    }

    // Takes the waits the kernel completed: each must be one still pending, and its reply must
    // encode like any other.
    void drain_completions() {
        (void)kernel_->take_pokes();  // no agent threads here: inputs call ThreadRemote
        while (kernel_->has_background_work()) kernel_->run_background(UINT64_MAX);  // copies
        for (const kernel::WaitCompletion& c : kernel_->take_completions()) {
            CEK_FUZZ_CHECK(pending_.erase({c.process.raw, c.tag}) == 1,
                           "completion of no pending wait, process " + std::to_string(c.process.raw));
            if (c.code != RequestCode::WaitObjects || c.failed) {
                // A wait fails only when TerminateThread ended its thread.
                CEK_FUZZ_CHECK(c.code != RequestCode::WaitObjects ||
                                   c.error == Win32Error::ERROR_OPERATION_ABORTED,
                               "failed wait with error " +
                                   std::to_string(static_cast<uint32_t>(c.error)));
                std::vector<std::byte> out(proto::kReplyBytes);
                CEK_FUZZ_CHECK(kernel::encode_completion(c, out) >= sizeof(ReplyHeader),
                               "background completion reply size");
                continue;
            }
            CEK_FUZZ_CHECK(c.result < 64 || (c.result >= 0x80 && c.result < 0x80 + 64) ||
                               c.result == 0x102,
                           "completion result " + std::to_string(c.result));
            std::vector<std::byte> out(proto::kReplyBytes);
            const size_t n = kernel::encode_wait_completion(c.result, out);
            ReplyHeader h{};
            CEK_FUZZ_CHECK(n >= sizeof h + sizeof(proto::WaitObjectsReply) && n <= out.size(),
                           "completion reply size");
            std::memcpy(&h, out.data(), sizeof h);
            CEK_FUZZ_CHECK(h.size == n && h.failed == 0, "completion reply header");
        }
    }
    const std::set<std::pair<uint32_t, uint64_t>>& pending() const { return pending_; }
    void cancel(ProcessId caller, uint64_t tag) {
        kernel_->cancel_wait(caller, tag);
        pending_.erase({caller.raw, tag});
    }
    // Time passes: every wait whose deadline is within `ms` from now times out.
    void advance(uint32_t ms) {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC, &ts);
        const uint64_t now = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
                             static_cast<uint64_t>(ts.tv_nsec);
        kernel_->expire_waits(now + uint64_t{ms} * 1'000'000ULL);
        drain_completions();
    }
    void detach(ProcessId p) {
        drain_completions();
        kernel_->detach_process(p);
        std::erase_if(pending_, [&](const auto& w) { return w.first == p.raw; });
        for (const kernel::WaitCompletion& c : kernel_->take_completions()) {
            CEK_FUZZ_CHECK(c.process != p, "completion for a process that died");
            CEK_FUZZ_CHECK(pending_.erase({c.process.raw, c.tag}) == 1, "completion of no pending wait");
        }
    }

    // How much a check looks at. Every step checks the structure: processes, handles,
    // references, objects and views, from a snapshot without the objects' details (which ask the
    // host for paths, sizes and attributes), with mappings read from the kernel's own objects and
    // address window. The last state of each input is checked in full: the details too, and the
    // snapshot through its wire encoding. The sequence target's Snapshot operation also decodes
    // the kernel's own reply. (With a full check after every step, built on maps and sets, the
    // seed replay took 27 s instead of 14.7 s: docs/fuzzing.md.)
    enum class Depth { structure, full };

    // The kernel-wide invariants, on a fresh snapshot, which stays valid until the next check.
    const proto::Snapshot& check_invariants(Depth depth = Depth::structure) {
        drain_completions();
        const size_t parked = kernel_->pending_waits() + kernel_->pending_remote_controls();
        CEK_FUZZ_CHECK(parked == pending_.size(), "pending waits " + std::to_string(parked) +
                                                      " vs " + std::to_string(pending_.size()));
        snapshot_ = kernel_->snapshot(depth == Depth::full ? Kernel::SnapshotDepth::full
                                                           : Kernel::SnapshotDepth::structure);
        const proto::Snapshot& s = snapshot_;
        if (depth == Depth::full) check_wire(s);
        CEK_FUZZ_CHECK(s.handles.size() == kernel_->handle_count(), "handle_count");
        CEK_FUZZ_CHECK(s.processes.size() == kernel_->process_count(), "process_count");

        // Scratch vectors kept between checks, so that a check allocates almost nothing.
        processes_.clear();
        for (const auto& p : s.processes) processes_.push_back(p.id);
        std::sort(processes_.begin(), processes_.end());
        CEK_FUZZ_CHECK(std::adjacent_find(processes_.begin(), processes_.end()) == processes_.end(),
                       "process id twice");
        handles_per_process_.assign(processes_.size(), 0);
        views_per_process_.assign(processes_.size(), 0);

        objects_.clear();
        for (const auto& o : s.objects) {
            objects_.emplace_back(o.id, &o);
            CEK_FUZZ_CHECK(o.references >= 1, "listed object without references");
        }
        std::sort(objects_.begin(), objects_.end());
        for (size_t i = 1; i < objects_.size(); ++i)
            CEK_FUZZ_CHECK(objects_[i - 1].first != objects_[i].first, "object twice");

        values_.clear();
        for (const auto& h : s.handles) {
            const proto::ObjectInfo* o = object(h.object_id);
            if (per_process_) {
                // CE 6: odd values from index 64, one entry per open, each in one table.
                CEK_FUZZ_CHECK((h.value & 3) == 3 && (h.value >> 16) >= 64, "handle value shape");
                CEK_FUZZ_CHECK(!h.kernel_owned && h.refs.size() == 1, "per-process entry");
                values_.push_back(uint64_t{h.refs[0].process_id} << 32 | h.value);
                CEK_FUZZ_CHECK(o != nullptr && o->type == h.type,
                               "handle's object missing from the snapshot");
            } else {
                CEK_FUZZ_CHECK((h.value & 3) == 2 && h.value != ce::kInvalidHandle,
                               "handle value shape");
                values_.push_back(h.value);
                CEK_FUZZ_CHECK(o != nullptr && o->handle == h.value && o->type == h.type,
                               "handle's object missing from the snapshot");
            }
            CEK_FUZZ_CHECK(!h.refs.empty(), "live handle without references");
            if (h.kernel_owned) {
                CEK_FUZZ_CHECK(h.refs.size() == 1 && h.refs[0].process_id == 0 && h.refs[0].count == 1,
                               "kernel-owned handle references");
            }
            for (size_t i = 0; i < h.refs.size(); ++i) {
                const proto::HandleRef& ref = h.refs[i];
                CEK_FUZZ_CHECK(ref.count >= 1, "zero reference count listed");
                for (size_t j = 0; j < i; ++j)
                    CEK_FUZZ_CHECK(h.refs[j].process_id != ref.process_id, "process listed twice");
                // A thread's and a process's own reference is the kernel's (process 0).
                const bool own = h.type == "thread" || h.type == "process";
                if (!h.kernel_owned && !(ref.process_id == 0 && own)) {
                    const size_t p = process_index(ref.process_id);
                    CEK_FUZZ_CHECK(p != kNoProcess,
                                   "handle held by a dead process " + std::to_string(ref.process_id));
                    ++handles_per_process_[p];
                }
            }
        }
        std::sort(values_.begin(), values_.end());
        CEK_FUZZ_CHECK(std::adjacent_find(values_.begin(), values_.end()) == values_.end(),
                       "handle value twice");

        // A name lives as long as the object's handle entry: an object kept only by views has
        // left the namespace, and a new object may take its name.
        named_.clear();
        size_t mappings = 0;
        std::set<uint64_t> unplaced;  // CE 6 file mappings: their views have the ranges
        for (const auto& o : s.objects) {
            if (o.named && o.handle != 0) named_.push_back(&o);
            if (o.type != "mapping") continue;
            ++mappings;
            if (o.handle != 0) {
                const auto* e = mapping_entry(s, o);
                CEK_FUZZ_CHECK(e != nullptr, "mapping's handle missing from the table");
                if (check_mapping(o, e->object.get(), 0)->base() == 0) unplaced.insert(o.id);
            }
        }
        const auto by_name = [](const proto::ObjectInfo* a, const proto::ObjectInfo* b) {
            return std::tie(a->type, a->name) < std::tie(b->type, b->name);
        };
        std::sort(named_.begin(), named_.end(), by_name);
        for (size_t i = 1; i < named_.size(); ++i)
            CEK_FUZZ_CHECK(by_name(named_[i - 1], named_[i]), "name twice");
        // Every address range of the window belongs to a mapping still reachable or to a huge
        // reservation of a live process, which owns no object there.
        size_t huge = 0;
        for (const auto& p : s.processes) {
            for (const auto& [base, length] : kernel_->huge_reservations(ProcessId{p.id})) {
                CEK_FUZZ_CHECK(kernel_->window().owner_of(base) == nullptr && length != 0 &&
                                   kernel_->window().owner_of(base + length - 1) == nullptr,
                               "huge reservation overlaps a mapping");
                ++huge;
            }
        }
        size_t own_ranges = 0;  // CE 6 file views each own a range
        for (const auto& v : s.views) {
            const size_t p = process_index(v.process_id);
            CEK_FUZZ_CHECK(p != kNoProcess, "view of a dead process");
            ++views_per_process_[p];
            const proto::ObjectInfo* o = object(v.object_id);
            CEK_FUZZ_CHECK(o != nullptr && o->type == "mapping", "view of no mapping");
            uint64_t base = 0;
            const auto* m = check_mapping(*o, kernel_->window().owner_of(v.address, &base), base);
            CEK_FUZZ_CHECK(v.size != 0 && v.offset < m->size() && v.size <= m->size() - v.offset,
                           "view range");
            if (m->base() != 0) {
                CEK_FUZZ_CHECK(v.address == m->base() + v.offset, "view address");
            } else {
                CEK_FUZZ_CHECK(per_process_ && !m->ram_backed(), "a mapping without a range");
                CEK_FUZZ_CHECK(v.address - base == (v.offset & 0xFFFF), "own view address");
                unplaced.insert(o->id);
                ++own_ranges;
            }
        }
        // Retired ranges: freed mappings that a live process touched by address.
        const size_t retired = kernel_->window().retired_count();
        const size_t placed = mappings - unplaced.size();
        CEK_FUZZ_CHECK(kernel_->window().range_count() == placed + own_ranges + huge + retired,
                       "window ranges " + std::to_string(kernel_->window().range_count()) +
                           " vs mappings " + std::to_string(placed) + " + views " +
                           std::to_string(own_ranges) + " + huge " + std::to_string(huge) +
                           " + retired " + std::to_string(retired));
        if (s.processes.empty())
            CEK_FUZZ_CHECK(retired == 0, "a retired range outlived every process");
        for (const auto& p : s.processes) {
            const size_t i = process_index(p.id);
            CEK_FUZZ_CHECK(p.handle_count == handles_per_process_[i], "process handle_count");
            CEK_FUZZ_CHECK(p.view_count == views_per_process_[i], "process view_count");
        }
        return s;
    }

    // Checks the last state (through the wire too), kills every process, then checks that nothing
    // is left and that no descriptor leaked.
    void finish(const std::vector<ProcessId>& alive) {
        check_invariants(Depth::full);
        reap_killed(true);
        for (ProcessId p : alive) {
            detach(p);
            check_invariants();
        }
        CEK_FUZZ_CHECK(pending_.empty() && kernel_->pending_waits() == 0, "waits left");
        const proto::Snapshot& s = check_invariants();
        CEK_FUZZ_CHECK(kernel_->process_count() == 0, "processes left");
        CEK_FUZZ_CHECK(kernel_->handle_count() == 0 && s.handles.empty(),
                       "handles left: " + std::to_string(kernel_->handle_count()));
        CEK_FUZZ_CHECK(s.objects.empty() && s.views.empty(), "objects or views left");
        CEK_FUZZ_CHECK(kernel_->window().range_count() == 0 && kernel_->window().bytes_in_use() == 0,
                       "window ranges left");
        kernel_.reset();
        CEK_FUZZ_CHECK(open_fd_count() == fds_before_, "descriptors leaked");
    }

private:
    static constexpr size_t kNoProcess = ~size_t{0};
    int next_child_pid_ = 50000;
    std::vector<int> children_;  // pids the launcher handed out
    std::vector<int> killed_;    // children TerminateProcess killed, not yet reaped

    // The table entry of the handle value a snapshot lists for mapping `o` (with per-process
    // tables, in the table of the process the snapshot's entry names).
    const kernel::HandleTable::Entry* mapping_entry(const proto::Snapshot& s,
                                                    const proto::ObjectInfo& o) {
        if (!per_process_) return kernel_->handles().find_id(o.handle);
        for (const auto& h : s.handles)
            if (h.object_id == o.id && h.value == o.handle && !h.refs.empty())
                return kernel_->handles().find_for(kernel::HandleValue{h.value},
                                                   ProcessId{h.refs[0].process_id});
        return nullptr;
    }

    size_t process_index(uint32_t id) const {
        auto it = std::lower_bound(processes_.begin(), processes_.end(), id);
        return it != processes_.end() && *it == id ? static_cast<size_t>(it - processes_.begin())
                                                   : kNoProcess;
    }
    const proto::ObjectInfo* object(uint64_t id) const {
        auto it = std::lower_bound(objects_.begin(), objects_.end(),
                                   std::pair<uint64_t, const proto::ObjectInfo*>{id, nullptr});
        return it != objects_.end() && it->first == id ? it->second : nullptr;
    }

    // The mapping object behind a snapshot entry: reached through its handle or through the
    // window range at `base` (0: find the range from the mapping's own address). It owns its
    // range of the window, is not empty, and agrees with the details when the snapshot has them.
    const kernel::MappingObject* check_mapping(const proto::ObjectInfo& o,
                                               kernel::KernelObject* owner, uint64_t base) {
        const auto* m = kernel::object_cast<kernel::MappingObject>(owner);
        CEK_FUZZ_CHECK(m != nullptr && m->id() == o.id, "mapping object missing");
        CEK_FUZZ_CHECK(m->size() != 0, "empty mapping");
        if (m->base() == 0) return m;  // CE 6 file mapping: each view has a range (caller checks)
        uint64_t range = 0;
        CEK_FUZZ_CHECK(kernel_->window().owner_of(m->base(), &range) == m && range == m->base() &&
                           (base == 0 || base == range),
                       "mapping does not own its window range");
        CEK_FUZZ_CHECK(m->base() >= kWindowBase &&
                           m->base() + m->size() <= kWindowBase + kWindowSize,
                       "mapping outside the window");
        if (!o.details.empty())
            CEK_FUZZ_CHECK(detail_number(o, "size") == m->size() &&
                               detail_number(o, "address") == m->base(),
                           "mapping details");
        return m;
    }

    // The snapshot encodes and decodes to the same records.
    static void check_wire(const proto::Snapshot& s) {
        proto::ByteWriter w;
        proto::encode(w, s);
        proto::ByteReader r(w.bytes().data(), w.bytes().size());
        proto::Snapshot back;
        CEK_FUZZ_CHECK(proto::decode(r, back) && r.at_end(), "snapshot does not decode");
        CEK_FUZZ_CHECK(back.processes == s.processes && back.handles == s.handles &&
                           back.objects == s.objects && back.views == s.views &&
                           back.waits == s.waits,
                       "snapshot round trip");
    }

    static void check_reply(std::span<const std::byte> in, const Reply& r, size_t n) {
        const ReplyHeader& h = r.header;
        CEK_FUZZ_CHECK(h.size == n, "reply size field");
        CEK_FUZZ_CHECK(h.failed <= 1 && h.set_error <= 1, "reply flags");
        if (h.failed != 0 && h.set_error != 0)
            CEK_FUZZ_CHECK(h.error != 0, "failure with ERROR_SUCCESS");
        if (h.set_error != 0 || h.failed != 0)
            CEK_FUZZ_CHECK(error_name(r.error()) != "ERROR_<unknown>",
                           "unknown error " + std::to_string(h.error));
        RequestHeader q{};
        bool well_formed = in.size() >= sizeof q;
        if (well_formed) {
            std::memcpy(&q, in.data(), sizeof q);
            well_formed = q.size >= sizeof q && q.size <= in.size() && q.code < kCodeCount;
        }
        if (!well_formed) {
            CEK_FUZZ_CHECK(h.failed == 1 && r.error() == Win32Error::ERROR_INVALID_PARAMETER,
                           "malformed request not refused");
            return;
        }
        if (q.size - sizeof q < kRequestBodySizes[q.code])
            CEK_FUZZ_CHECK(h.failed == 1, "short body accepted, code " + std::to_string(q.code));
        if (h.failed == 0)
            CEK_FUZZ_CHECK(r.body.size() >= kReplyBodySizes[q.code], "success reply too short");
        check_attachment(q, r);
    }

    // Only a successful call that shares memory or a file (MapView, FileDescriptor, WindowTouch,
    // MsgQueueRing, MutexWord, FilePositions) names a descriptor to send: a live one of the
    // kernel's, the one its reply names.
    static void check_attachment(const RequestHeader& q, const Reply& r) {
        const kernel::Attachment& a = r.attachment;
        if (a.fd < 0) return;
        CEK_FUZZ_CHECK(r.header.failed == 0, "descriptor attached to a failed reply");
        CEK_FUZZ_CHECK(::fcntl(a.fd, F_GETFD) >= 0, "attached a dead descriptor");
        if (q.code == static_cast<uint32_t>(RequestCode::MapView)) {
            const auto v = r.as<proto::MapViewReply>();
            CEK_FUZZ_CHECK(v.kernel_fd == a.fd && v.dev == a.dev && v.ino == a.ino &&
                               v.address == a.undo_view,
                           "MapView attachment differs from its reply");
        } else if (q.code == static_cast<uint32_t>(RequestCode::FileDescriptor)) {
            const auto d = r.as<proto::FileDescriptorReply>();
            CEK_FUZZ_CHECK(d.kernel_fd == a.fd && d.dev == a.dev && d.ino == a.ino &&
                               a.undo_view == 0,
                           "FileDescriptor attachment differs from its reply");
        } else if (q.code == static_cast<uint32_t>(RequestCode::WindowTouch)) {
            const auto t = r.as<proto::WindowTouchReply>();
            CEK_FUZZ_CHECK(t.kernel_fd == a.fd && t.dev == a.dev && t.ino == a.ino &&
                               a.undo_view == 0,
                           "WindowTouch attachment differs from its reply");
        } else if (q.code == static_cast<uint32_t>(RequestCode::MsgQueueRing)) {
            const auto g = r.as<proto::MsgQueueRingReply>();
            CEK_FUZZ_CHECK(g.kernel_fd == a.fd && g.dev == a.dev && g.ino == a.ino &&
                               a.undo_view == 0 && g.ring_bytes != 0,
                           "MsgQueueRing attachment differs from its reply");
        } else if (q.code == static_cast<uint32_t>(RequestCode::MutexWord)) {
            const auto m = r.as<proto::MutexWordReply>();
            CEK_FUZZ_CHECK(m.kernel_fd == a.fd && m.dev == a.dev && m.ino == a.ino &&
                               a.undo_view == 0 && m.available == 1,
                           "MutexWord attachment differs from its reply");
        } else if (q.code == static_cast<uint32_t>(RequestCode::FilePositions)) {
            const auto t = r.as<proto::FilePositionsReply>();
            CEK_FUZZ_CHECK(t.kernel_fd == a.fd && t.dev == a.dev && t.ino == a.ino &&
                               a.undo_view == 0 && t.available == 1,
                           "FilePositions attachment differs from its reply");
        } else {
            CEK_FUZZ_CHECK(false, "descriptor attached to request code " + std::to_string(q.code));
        }
    }

    std::unique_ptr<Kernel> kernel_;
    proto::Snapshot snapshot_;  // of the last check
    std::vector<uint32_t> processes_, handles_per_process_, views_per_process_;
    std::vector<uint64_t> values_;  // (owner << 32 | value) with per-process tables, else value
    bool per_process_ = false;      // ce6: one handle table per process
    std::vector<std::pair<uint64_t, const proto::ObjectInfo*>> objects_;
    std::vector<const proto::ObjectInfo*> named_;
    std::set<std::pair<uint32_t, uint64_t>> pending_;  // (process, tag) of waits left pending
    uint64_t next_tag_ = 1;
    size_t fds_before_;
    int next_pid_ = 1000;
};

}  // namespace cek::fuzz

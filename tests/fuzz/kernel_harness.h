// Shared by the kernel fuzz targets: a Kernel with fake processes (and optionally a CE file
// system in a fresh temporary store), requests sent through decode_and_dispatch with every reply
// checked for shape, and the kernel-wide invariants checked on a snapshot.
#pragma once

#include <dirent.h>
#include <time.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fsys/root.h"
#include "fuzz_support.h"
#include "kernel/dispatch.h"
#include "kernel/kernel.h"
#include "protocol/ce_constants.h"
#include "protocol/channel.h"
#include "protocol/errors.h"
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
    Harness(bool with_fsys, uint32_t handle_capacity) : fds_before_(open_fd_count()) {
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
        }
        kernel::KernelConfig c;
        c.window_base = kWindowBase;
        c.window_size = kWindowSize;
        c.handle_capacity = handle_capacity;
        c.max_processes = 64;
        c.trace_capacity = 16;  // small: the fuzzer reaches its wrap-around, and cheaply
        kernel_ = std::make_unique<Kernel>(c, std::move(root));
    }

    Kernel& kernel() { return *kernel_; }

    ProcessId attach() {
        auto r = kernel_->attach_process(next_pid_++, "fuzz.exe", false);
        CEK_FUZZ_CHECK(r.ok(), "attach failed");
        return r.value();
    }

    // One request, exactly `request.size()` bytes on the heap so ASan sees any overread. A wait
    // the kernel leaves pending (reply size 0) is remembered until it completes, is cancelled or
    // its process dies.
    Reply send(ProcessId caller, std::span<const std::byte> request) {
        std::vector<std::byte> in(request.begin(), request.end());
        std::vector<std::byte> out(proto::kReplyBytes, std::byte{0xCD});
        const uint64_t tag = next_tag_++;
        const size_t n = kernel::decode_and_dispatch(*kernel_, caller, in, out, tag);
        Reply r;
        if (n == 0) {
            RequestHeader q{};
            CEK_FUZZ_CHECK(in.size() >= sizeof q, "short request left pending");
            std::memcpy(&q, in.data(), sizeof q);
            CEK_FUZZ_CHECK(q.code == static_cast<uint32_t>(RequestCode::WaitObjects),
                           "only a wait may be left pending, code " + std::to_string(q.code));
            CEK_FUZZ_CHECK(kernel_->process_alive(caller), "a dead process's call left pending");
            pending_.emplace(caller.raw, tag);
            r.pending = true;
            return r;
        }
        CEK_FUZZ_CHECK(n >= sizeof(ReplyHeader) && n <= out.size(), std::to_string(n));
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
        for (const kernel::WaitCompletion& c : kernel_->take_completions()) {
            CEK_FUZZ_CHECK(pending_.erase({c.process.raw, c.tag}) == 1,
                           "completion of no pending wait, process " + std::to_string(c.process.raw));
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

    // Whether check_invariants also pushes the snapshot through its wire encoding. Every step
    // checks without (the round trip took about a seventh of the fuzzers' time); the last state
    // of each input goes through it, and the sequence target's Snapshot operation decodes the
    // kernel's own reply.
    enum class Wire { skip, round_trip };

    // The kernel-wide invariants, on a fresh snapshot.
    proto::Snapshot check_invariants(Wire wire = Wire::skip) {
        drain_completions();
        CEK_FUZZ_CHECK(kernel_->pending_waits() == pending_.size(),
                       "pending waits " + std::to_string(kernel_->pending_waits()) + " vs " +
                           std::to_string(pending_.size()));
        proto::Snapshot s = kernel_->snapshot();
        if (wire == Wire::round_trip) {
            proto::ByteWriter w;
            proto::encode(w, s);
            proto::ByteReader r(w.bytes().data(), w.bytes().size());
            proto::Snapshot back;
            CEK_FUZZ_CHECK(proto::decode(r, back) && r.at_end(), "snapshot does not decode");
            CEK_FUZZ_CHECK(back.processes.size() == s.processes.size() &&
                               back.handles.size() == s.handles.size() &&
                               back.objects.size() == s.objects.size() &&
                               back.views.size() == s.views.size(),
                           "snapshot round trip");
        }
        CEK_FUZZ_CHECK(s.handles.size() == kernel_->handle_count(), "handle_count");
        CEK_FUZZ_CHECK(s.processes.size() == kernel_->process_count(), "process_count");

        std::map<uint32_t, uint32_t> handles_per_process, views_per_process;
        std::set<uint32_t> processes;
        for (const auto& p : s.processes) CEK_FUZZ_CHECK(processes.insert(p.id).second, "process id twice");
        std::map<uint64_t, const proto::ObjectInfo*> objects;
        for (const auto& o : s.objects) {
            CEK_FUZZ_CHECK(objects.emplace(o.id, &o).second, "object twice");
            CEK_FUZZ_CHECK(o.references >= 1, "listed object without references");
        }
        std::set<uint32_t> values;
        for (const auto& h : s.handles) {
            CEK_FUZZ_CHECK(values.insert(h.value).second, "handle value twice");
            CEK_FUZZ_CHECK((h.value & 3) == 2 && h.value != ce::kInvalidHandle, "handle value shape");
            auto o = objects.find(h.object_id);
            CEK_FUZZ_CHECK(o != objects.end() && o->second->handle == h.value &&
                               o->second->type == h.type,
                           "handle's object missing from the snapshot");
            CEK_FUZZ_CHECK(!h.refs.empty(), "live handle without references");
            if (h.kernel_owned) {
                CEK_FUZZ_CHECK(h.refs.size() == 1 && h.refs[0].process_id == 0 && h.refs[0].count == 1,
                               "kernel-owned handle references");
            }
            std::set<uint32_t> holders;
            for (const auto& ref : h.refs) {
                CEK_FUZZ_CHECK(ref.count >= 1, "zero reference count listed");
                CEK_FUZZ_CHECK(holders.insert(ref.process_id).second, "process listed twice");
                if (!h.kernel_owned) {
                    CEK_FUZZ_CHECK(processes.count(ref.process_id) == 1,
                                   "handle held by a dead process " + std::to_string(ref.process_id));
                    ++handles_per_process[ref.process_id];
                }
            }
        }
        std::map<std::pair<std::string, std::u16string>, uint64_t> names;
        size_t mappings = 0;
        for (const auto& o : s.objects) {
            // A name lives as long as the object's handle entry: an object kept only by views
            // has left the namespace, and a new object may take its name.
            if (o.named && o.handle != 0)
                CEK_FUZZ_CHECK(names.emplace(std::pair(o.type, o.name), o.id).second, "name twice");
            if (o.type == "mapping") {
                ++mappings;
                CEK_FUZZ_CHECK(detail_number(o, "size") != 0, "empty mapping");
            }
        }
        // Every address range of the window belongs to a mapping still reachable.
        CEK_FUZZ_CHECK(kernel_->window().range_count() == mappings,
                       "window ranges " + std::to_string(kernel_->window().range_count()) +
                           " vs mappings " + std::to_string(mappings));
        for (const auto& v : s.views) {
            CEK_FUZZ_CHECK(processes.count(v.process_id) == 1, "view of a dead process");
            ++views_per_process[v.process_id];
            auto o = objects.find(v.object_id);
            CEK_FUZZ_CHECK(o != objects.end() && o->second->type == "mapping", "view of no mapping");
            const uint64_t size = detail_number(*o->second, "size");
            const uint64_t base = detail_number(*o->second, "address");
            CEK_FUZZ_CHECK(v.size != 0 && v.offset < size && v.size <= size - v.offset, "view range");
            CEK_FUZZ_CHECK(v.address == base + v.offset, "view address");
            CEK_FUZZ_CHECK(base >= kWindowBase && base + size <= kWindowBase + kWindowSize,
                           "mapping outside the window");
        }
        for (const auto& p : s.processes) {
            CEK_FUZZ_CHECK(p.handle_count == handles_per_process[p.id], "process handle_count");
            CEK_FUZZ_CHECK(p.view_count == views_per_process[p.id], "process view_count");
        }
        return s;
    }

    // Checks the last state (through the wire too), kills every process, then checks that nothing
    // is left and that no descriptor leaked.
    void finish(const std::vector<ProcessId>& alive) {
        check_invariants(Wire::round_trip);
        for (ProcessId p : alive) {
            detach(p);
            check_invariants();
        }
        CEK_FUZZ_CHECK(pending_.empty() && kernel_->pending_waits() == 0, "waits left");
        proto::Snapshot s = check_invariants();
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
    }

    std::unique_ptr<Kernel> kernel_;
    std::set<std::pair<uint32_t, uint64_t>> pending_;  // (process, tag) of waits left pending
    uint64_t next_tag_ = 1;
    size_t fds_before_;
    int next_pid_ = 1000;
};

}  // namespace cek::fuzz

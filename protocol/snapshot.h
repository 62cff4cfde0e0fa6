// The diagnostics snapshot: a consistent picture of the kernel's processes, handles, objects,
// views and names, encoded by the kernel in one go and decoded by cedump. Layout, in order:
// SnapshotHeader, then process_count processes, handle_count handles, object_count objects and
// view_count views, then the waits (a u32 count first), each as described below (ByteWriter
// encoding: PODs and u32-length strings).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "wire.h"

namespace cek::proto {

inline constexpr uint32_t kSnapshotMagic = 0x50414E53;  // "SNAP"

struct SnapshotHeader {
    uint32_t magic;
    uint32_t version;
    uint64_t boot_time_ns;     // CLOCK_REALTIME
    uint64_t uptime_ns;
    uint64_t kernel_memory_bytes;
    uint32_t personality;
    int32_t kernel_pid;
    uint32_t process_count;
    uint32_t handle_count;
    uint32_t object_count;
    uint32_t view_count;
};

struct ProcessInfo {
    uint32_t id = 0;
    int32_t pid = 0;
    uint64_t attach_time_ns = 0;  // CLOCK_REALTIME
    uint32_t handle_count = 0;
    uint32_t view_count = 0;
    std::string executable;
    std::string channel_state;  // "idle", "busy", "diagnostics"

    bool operator==(const ProcessInfo&) const = default;
};

struct HandleRef {
    uint32_t process_id;
    uint32_t count;
    uint32_t access;
    uint32_t reserved;

    bool operator==(const HandleRef&) const = default;
};

struct HandleInfo {
    uint32_t value = 0;
    uint64_t object_id = 0;
    std::string type;
    bool kernel_owned = false;
    std::vector<HandleRef> refs;

    bool operator==(const HandleInfo&) const = default;
};

struct ObjectInfo {
    uint64_t id = 0;
    std::string type;
    std::u16string name;
    bool named = false;
    uint32_t handle = 0;      // 0 when it has no handle any more (kept alive by views)
    uint32_t references = 0;  // kernel references: handle entry, views, other objects
    // Type-specific facts in display order ("size" -> "65536", "backing" -> "ram", ...).
    std::vector<std::pair<std::string, std::string>> details;

    bool operator==(const ObjectInfo&) const = default;
};

struct ViewInfo {
    uint32_t process_id = 0;
    uint32_t access = 0;
    uint64_t address = 0;
    uint64_t object_id = 0;
    uint64_t offset = 0;
    uint64_t size = 0;

    bool operator==(const ViewInfo&) const = default;
};

// A thread blocked in WaitForSingleObject / WaitForMultipleObjects.
struct WaitInfo {
    uint32_t process_id = 0;
    uint32_t thread_id = 0;
    uint32_t timeout_ms = 0;  // as asked; 0xFFFFFFFF is INFINITE
    uint32_t reserved = 0;
    uint64_t waited_ns = 0;   // how long it has been waiting
    std::vector<uint32_t> handles;

    bool operator==(const WaitInfo&) const = default;
};

struct Snapshot {
    SnapshotHeader header{};
    std::vector<ProcessInfo> processes;
    std::vector<HandleInfo> handles;
    std::vector<ObjectInfo> objects;
    std::vector<ViewInfo> views;
    std::vector<WaitInfo> waits;  // after the views: a u32 count, then each wait
};

inline void encode(ByteWriter& w, const Snapshot& s) {
    SnapshotHeader h = s.header;
    h.magic = kSnapshotMagic;
    h.process_count = static_cast<uint32_t>(s.processes.size());
    h.handle_count = static_cast<uint32_t>(s.handles.size());
    h.object_count = static_cast<uint32_t>(s.objects.size());
    h.view_count = static_cast<uint32_t>(s.views.size());
    w.put(h);
    for (const auto& p : s.processes) {
        w.put(p.id);
        w.put(p.pid);
        w.put(p.attach_time_ns);
        w.put(p.handle_count);
        w.put(p.view_count);
        w.put_string(p.executable);
        w.put_string(p.channel_state);
    }
    for (const auto& hd : s.handles) {
        w.put(hd.value);
        w.put(hd.object_id);
        w.put_string(hd.type);
        w.put(static_cast<uint32_t>(hd.kernel_owned));
        w.put(static_cast<uint32_t>(hd.refs.size()));
        for (const auto& r : hd.refs) w.put(r);
    }
    for (const auto& o : s.objects) {
        w.put(o.id);
        w.put_string(o.type);
        w.put(static_cast<uint32_t>(o.named));
        w.put_u16string(o.name);
        w.put(o.handle);
        w.put(o.references);
        w.put(static_cast<uint32_t>(o.details.size()));
        for (const auto& [k, v] : o.details) {
            w.put_string(k);
            w.put_string(v);
        }
    }
    for (const auto& v : s.views) w.put(v);
    w.put(static_cast<uint32_t>(s.waits.size()));
    for (const auto& wt : s.waits) {
        w.put(wt.process_id);
        w.put(wt.thread_id);
        w.put(wt.timeout_ms);
        w.put(static_cast<uint32_t>(wt.handles.size()));
        w.put(wt.waited_ns);
        for (uint32_t h : wt.handles) w.put(h);
    }
}

// Returns false on any malformed input (cedump then reports a protocol error).
inline bool decode(ByteReader& r, Snapshot& s) {
    if (!r.get(s.header) || s.header.magic != kSnapshotMagic) return false;
    // Every record takes at least 8 bytes: counts beyond what the input can hold are lies, and
    // must not make us allocate before the reads fail.
    const uint64_t room = r.remaining() / 8;
    if (s.header.process_count > room || s.header.handle_count > room ||
        s.header.object_count > room || s.header.view_count > room)
        return false;
    s.processes.resize(s.header.process_count);
    for (auto& p : s.processes) {
        r.get(p.id);
        r.get(p.pid);
        r.get(p.attach_time_ns);
        r.get(p.handle_count);
        r.get(p.view_count);
        r.get_string(p.executable);
        r.get_string(p.channel_state);
    }
    s.handles.resize(s.header.handle_count);
    for (auto& hd : s.handles) {
        uint32_t kernel_owned = 0, n = 0;
        r.get(hd.value);
        r.get(hd.object_id);
        r.get_string(hd.type);
        r.get(kernel_owned);
        hd.kernel_owned = kernel_owned != 0;
        if (!r.get(n) || n > r.remaining() / sizeof(HandleRef)) return false;
        hd.refs.resize(n);
        for (auto& ref : hd.refs) r.get(ref);
    }
    s.objects.resize(s.header.object_count);
    for (auto& o : s.objects) {
        uint32_t named = 0, n = 0;
        r.get(o.id);
        r.get_string(o.type);
        r.get(named);
        o.named = named != 0;
        r.get_u16string(o.name);
        r.get(o.handle);
        r.get(o.references);
        if (!r.get(n) || n > 256 || n > r.remaining() / 8) return false;
        o.details.resize(n);
        for (auto& [k, v] : o.details) {
            r.get_string(k);
            r.get_string(v);
        }
    }
    s.views.resize(s.header.view_count);
    for (auto& v : s.views) r.get(v);
    uint32_t waits = 0;
    if (!r.get(waits) || waits > r.remaining() / 24) return false;
    s.waits.resize(waits);
    for (auto& wt : s.waits) {
        uint32_t n = 0;
        r.get(wt.process_id);
        r.get(wt.thread_id);
        r.get(wt.timeout_ms);
        if (!r.get(n) || n > 64) return false;
        r.get(wt.waited_ns);
        wt.handles.resize(n);
        for (auto& h : wt.handles) r.get(h);
    }
    return r.ok();
}

}  // namespace cek::proto

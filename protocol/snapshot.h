// The diagnostics snapshot: a consistent picture of the kernel's processes, handles, objects,
// views and names, encoded by the kernel in one go and decoded by cedump. Layout, in order:
// SnapshotHeader, then process_count processes, handle_count handles, object_count objects and
// view_count views, then the waits and the threads (a u32 count first each), each as described below (ByteWriter
// encoding: PODs and u32-length strings).
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <type_traits>
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
    uint64_t huge_bytes = 0;  // its huge reservations (VirtualAlloc, docs/semantics/vmem.md §6)
    std::string executable;
    std::string channel_state;  // "idle", "busy", "diagnostics"
    uint32_t handle = 0;        // its CE id, the process object's handle value (0: a tool)
    uint32_t parent = 0;        // the creator's id (CreateProcessW), else 0
    std::string image;          // the CE path of a program CreateProcessW started, else ""

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

// A CE thread with a handle (ce-kernel-objects.md §2): its process, id (= handle value), Linux
// tid (0 until it starts), suspend count, exit code (STILL_ACTIVE while it runs), CE priority
// (0-255) and quantum. Travels as its bytes.
inline constexpr uint32_t kThreadExited = 1;
inline constexpr uint32_t kThreadCreated = 2;  // by CreateThread; else adopted
struct ThreadInfo {
    uint32_t process_id;
    uint32_t handle;
    uint32_t tid;
    uint32_t suspend_count;
    uint32_t exit_code;
    uint32_t priority;
    uint32_t quantum;
    uint32_t flags;  // kThreadExited, kThreadCreated

    bool operator==(const ThreadInfo&) const = default;
};

struct Snapshot {
    SnapshotHeader header{};
    std::vector<ProcessInfo> processes;
    std::vector<HandleInfo> handles;
    std::vector<ObjectInfo> objects;
    std::vector<ViewInfo> views;
    std::vector<WaitInfo> waits;  // after the views: a u32 count, then each wait
    std::vector<ThreadInfo> threads;  // after the waits: a u32 count, then each thread
};

// The wire schema, described once per record and walked by both encode and decode.
//
// fields(f, record) calls f on each wire field in order. Besides plain fields (a trivially
// copyable value travels as its bytes, a std::string or std::u16string with a u32 length first,
// a std::pair as its two members, a record by its own fields()) it names three wire shapes:
// flag(b), a bool as a u32; count(list, ...), a list's size as a u32, with the bounds decode
// checks before allocating; items(list), the elements themselves. A count and its items may
// stand apart (a wait sends its waited_ns between them). HandleRef and ViewInfo travel as their
// bytes, whole.
namespace wire {

template <class B>
struct Flag {
    B& value;
};
template <class V>
struct Count {
    V& list;
    uint32_t max;        // more is malformed
    uint32_t min_bytes;  // each element takes at least this much of the input; 0: not checked
};
template <class V>
struct Items {
    V& list;
};

template <class B>
Flag<B> flag(B& b) {
    return {b};
}
template <class V>
Count<V> count(V& list, uint32_t max, uint32_t min_bytes) {
    return {list, max, min_bytes};
}
template <class V>
Items<V> items(V& list) {
    return {list};
}

template <class T, class U>
concept record_of = std::same_as<std::remove_const_t<T>, U>;

inline constexpr uint32_t kAny = 0xFFFFFFFFu;

}  // namespace wire

template <class F, wire::record_of<ProcessInfo> P>
void fields(F&& f, P& p) {
    f(p.id);
    f(p.pid);
    f(p.attach_time_ns);
    f(p.handle_count);
    f(p.view_count);
    f(p.huge_bytes);
    f(p.executable);
    f(p.channel_state);
    f(p.handle);
    f(p.parent);
    f(p.image);
}

template <class F, wire::record_of<HandleInfo> H>
void fields(F&& f, H& h) {
    f(h.value);
    f(h.object_id);
    f(h.type);
    f(wire::flag(h.kernel_owned));
    f(wire::count(h.refs, wire::kAny, sizeof(HandleRef)));
    f(wire::items(h.refs));
}

template <class F, wire::record_of<ObjectInfo> O>
void fields(F&& f, O& o) {
    f(o.id);
    f(o.type);
    f(wire::flag(o.named));
    f(o.name);
    f(o.handle);
    f(o.references);
    f(wire::count(o.details, 256, 8));
    f(wire::items(o.details));
}

template <class F, wire::record_of<WaitInfo> W>
void fields(F&& f, W& w) {
    f(w.process_id);
    f(w.thread_id);
    f(w.timeout_ms);
    f(wire::count(w.handles, 64, 0));
    f(w.waited_ns);
    f(wire::items(w.handles));
}

// After the header (whose counts size the first four lists): the lists, then the waits.
template <class F, wire::record_of<Snapshot> S>
void fields(F&& f, S& s) {
    f(wire::items(s.processes));
    f(wire::items(s.handles));
    f(wire::items(s.objects));
    f(wire::items(s.views));
    f(wire::count(s.waits, wire::kAny, 24));
    f(wire::items(s.waits));
    f(wire::count(s.threads, wire::kAny, sizeof(ThreadInfo)));
    f(wire::items(s.threads));
}

namespace wire {

template <class T>
concept has_fields = requires(T& t) { fields([](auto&&) {}, t); };

template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};

// What both directions share: a value is a string, a pair, a record with fields() or bytes.
// `Self` supplies value(v) for strings and trivially copyable values, and the three shapes.
template <class Self>
struct Walk {
    template <class T>
    void operator()(T& v) {
        auto& self = static_cast<Self&>(*this);
        if constexpr (is_pair<std::remove_const_t<T>>::value) {
            self(v.first);
            self(v.second);
        } else if constexpr (has_fields<T>) {
            fields(self, v);
        } else {
            self.value(v);
        }
    }
};

struct Encoder : Walk<Encoder> {
    explicit Encoder(ByteWriter& writer) : w(writer) {}
    ByteWriter& w;

    using Walk::operator();
    void value(const std::string& v) { w.put_string(v); }
    void value(const std::u16string& v) { w.put_u16string(v); }
    template <class T>
    void value(const T& v) {
        w.put(v);
    }
    template <class B>
    void operator()(Flag<B> f) {
        w.put(static_cast<uint32_t>(f.value));
    }
    template <class V>
    void operator()(Count<V> c) {
        w.put(static_cast<uint32_t>(c.list.size()));
    }
    template <class V>
    void operator()(Items<V> it) {
        for (auto& e : it.list) (*this)(e);
    }
};

// Reads on after a failed read (the reader then fails every read, and decode returns false), but
// stops at a count out of bounds, before it allocates: `ok` is false from there.
struct Decoder : Walk<Decoder> {
    explicit Decoder(ByteReader& reader) : r(reader) {}
    ByteReader& r;
    bool ok = true;

    using Walk::operator();
    void value(std::string& v) {
        if (ok) r.get_string(v);
    }
    void value(std::u16string& v) {
        if (ok) r.get_u16string(v);
    }
    template <class T>
    void value(T& v) {
        if (ok) r.get(v);
    }
    template <class B>
    void operator()(Flag<B> f) {
        uint32_t v = 0;
        if (ok) r.get(v);
        f.value = v != 0;
    }
    template <class V>
    void operator()(Count<V> c) {
        uint32_t n = 0;
        if (!ok || !r.get(n) || n > c.max || (c.min_bytes != 0 && n > r.remaining() / c.min_bytes)) {
            ok = false;
            return;
        }
        c.list.resize(n);
    }
    template <class V>
    void operator()(Items<V> it) {
        if (!ok) return;
        for (auto& e : it.list) (*this)(e);
    }
};

}  // namespace wire

inline void encode(ByteWriter& w, const Snapshot& s) {
    SnapshotHeader h = s.header;
    h.magic = kSnapshotMagic;
    h.process_count = static_cast<uint32_t>(s.processes.size());
    h.handle_count = static_cast<uint32_t>(s.handles.size());
    h.object_count = static_cast<uint32_t>(s.objects.size());
    h.view_count = static_cast<uint32_t>(s.views.size());
    w.put(h);
    wire::Encoder e(w);
    fields(e, s);
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
    s.handles.resize(s.header.handle_count);
    s.objects.resize(s.header.object_count);
    s.views.resize(s.header.view_count);
    wire::Decoder d(r);
    fields(d, s);
    return d.ok && r.ok();
}

}  // namespace cek::proto

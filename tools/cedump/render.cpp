// Tables and JSON: both walk one description of the sections (sections() below): for each, the
// rows a filter lets through, its table columns and its JSON fields.
#include "tools/cedump/render.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <tuple>
#include <vector>

#include "tools/cedump/model.h"

namespace cek::cedump {

namespace {

using Row = std::vector<std::string>;

// Left-aligned columns two spaces apart; trailing blanks trimmed so goldens stay stable.
std::string table(const Row& head, std::vector<Row> rows) {
    // An empty cell reads as "-": a blank would let columns slide into each other.
    for (auto& r : rows)
        for (auto& cell : r)
            if (cell.empty()) cell = "-";
    std::vector<size_t> width(head.size());
    for (size_t i = 0; i < head.size(); ++i) width[i] = head[i].size();
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], r[i].size());
    std::string out;
    auto line = [&](const Row& r) {
        std::string l;
        for (size_t i = 0; i < r.size(); ++i) {
            l += r[i];
            if (i + 1 < r.size()) l += std::string(width[i] - r[i].size() + 2, ' ');
        }
        while (!l.empty() && l.back() == ' ') l.pop_back();
        out += l + "\n";
    };
    line(head);
    for (const auto& r : rows) line(r);
    return out;
}

// `parts` joined by `separator`.
std::string join(const std::vector<std::string>& parts, const char* separator) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : separator) + parts[i];
    return out;
}

std::string json_bool(bool b) { return b ? "true" : "false"; }

std::string json_name(const proto::ObjectInfo* o) {
    return o != nullptr && o->named ? json_string(name_of(*o)) : std::string("null");
}

std::string clock_time(uint64_t realtime_ns) {
    time_t t = static_cast<time_t>(realtime_ns / 1'000'000'000ULL);
    tm local{};
    localtime_r(&t, &local);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &local);
    return buf;
}

std::string view_access(uint32_t access) {
    if (access & 0x2) return "read,write";  // FILE_MAP_WRITE (CE 5: implies read)
    if (access & 0x4) return "read";
    return access == 0 ? "read" : hex(access);
}

bool section_on(Section asked, Section s) { return asked == Section::All || asked == s; }

std::string holders_text(const proto::HandleInfo& h, const ProcessMap& procs) {
    std::string out;
    for (const auto& r : h.refs) {
        if (!out.empty()) out += " ";
        out += pid_of(procs, r.process_id) + ":" + std::to_string(r.count) + ":" + hex(r.access);
    }
    return out.empty() ? "-" : out;
}

std::string owner_of(const proto::HandleInfo& h, const ProcessMap& procs) {
    if (h.kernel_owned) return "kernel";
    return h.refs.empty() ? "-" : pid_of(procs, h.refs[0].process_id);
}

// Whether snapshot entry `hd` is what `value` means to kernel process `process`: CE 5's values
// are global; CE 6's belong to one process's table (the entry's one holder).
bool names_for(const Context& c, const proto::HandleInfo& hd, uint32_t value, uint32_t process) {
    if (hd.value != value) return false;
    return c.s.header.personality < 6 || (!hd.refs.empty() && hd.refs[0].process_id == process);
}

// The object behind a handle value of `process`, if the snapshot has it.
const proto::ObjectInfo* object_of_handle(const Context& c, uint32_t value, uint32_t process) {
    const proto::ObjectInfo* o = nullptr;
    for (const auto& hd : c.s.handles)
        if (names_for(c, hd, value, process)) o = find(c.objects, hd.object_id);
    return o;
}

// One section, described once: which rows it has, how a table shows them, how JSON does.
template <class Item>
using Text = std::function<std::string(const Context&, const Item&)>;
template <class Item>
struct Column {
    const char* head;
    Text<Item> cell;
};
template <class Item>
struct JsonField {
    const char* key;
    Text<Item> value;  // JSON text
};
template <class Item>
struct SectionDef {
    Section id;
    const char* title;  // the table's heading in `all`
    const char* key;    // the JSON array
    std::vector<const Item*> (*rows)(const Context&);
    bool (*table_only)(const Context&, const Item&);  // the table's further filter, or null
    std::vector<Column<Item>> columns;
    std::vector<JsonField<Item>> fields;
};

// All elements of `list` that `keep` lets through.
template <class Item, class Keep>
std::vector<const Item*> rows_of(const std::vector<Item>& list, Keep keep) {
    std::vector<const Item*> out;
    for (const auto& item : list)
        if (keep(item)) out.push_back(&item);
    return out;
}

// A process id (a handle value) in hex, or "-" for none.
std::string hex_or_dash(uint32_t v) { return v == 0 ? std::string("-") : hex(v); }

SectionDef<proto::ProcessInfo> processes_section() {
    using P = proto::ProcessInfo;
    return {Section::Processes, "PROCESSES", "processes",
            [](const Context& c) {
                return rows_of(c.s.processes, [&](const P& p) { return !c.f.pid || p.pid == *c.f.pid; });
            },
            nullptr,
            {{"PID", [](const Context&, const P& p) { return std::to_string(p.pid); }},
             {"ID", [](const Context&, const P& p) { return std::to_string(p.id); }},
             {"CE-ID", [](const Context&, const P& p) { return hex_or_dash(p.handle); }},
             {"PARENT", [](const Context&, const P& p) { return hex_or_dash(p.parent); }},
             {"ATTACHED", [](const Context&, const P& p) { return clock_time(p.attach_time_ns); }},
             {"HANDLES", [](const Context&, const P& p) { return std::to_string(p.handle_count); }},
             {"VIEWS", [](const Context&, const P& p) { return std::to_string(p.view_count); }},
             {"HUGE", [](const Context&, const P& p) { return u64(p.huge_bytes); }},
             {"CHANNEL", [](const Context&, const P& p) { return p.channel_state; }},
             {"EXECUTABLE", [](const Context&, const P& p) { return p.executable; }}},
            {{"id", [](const Context&, const P& p) { return std::to_string(p.id); }},
             {"pid", [](const Context&, const P& p) { return std::to_string(p.pid); }},
             {"attach_time_ns", [](const Context&, const P& p) { return u64(p.attach_time_ns); }},
             {"handles", [](const Context&, const P& p) { return std::to_string(p.handle_count); }},
             {"views", [](const Context&, const P& p) { return std::to_string(p.view_count); }},
             {"huge_bytes", [](const Context&, const P& p) { return u64(p.huge_bytes); }},
             {"state", [](const Context&, const P& p) { return json_string(p.channel_state); }},
             {"executable", [](const Context&, const P& p) { return json_string(p.executable); }},
             {"ce_id", [](const Context&, const P& p) { return std::to_string(p.handle); }},
             {"parent", [](const Context&, const P& p) { return std::to_string(p.parent); }},
             {"image", [](const Context&, const P& p) { return json_string(p.image); }}}};
}

std::string json_references(const Context& c, const proto::HandleInfo& h) {
    std::vector<std::string> refs;
    for (const auto& r : h.refs) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "{\"process\": %u, \"pid\": %d, \"count\": %u, \"access\": %u}",
                      r.process_id, pid_number(c.procs, r.process_id), r.count, r.access);
        refs.push_back(buf);
    }
    return "[" + join(refs, ", ") + "]";
}

SectionDef<proto::HandleInfo> handles_section() {
    using H = proto::HandleInfo;
    return {Section::Handles, "HANDLES", "handles",
            [](const Context& c) {
                auto rows = rows_of(c.s.handles, [&](const H& h) {
                    return handle_matches(h, c.procs, c.objects, c.f);
                });
                // CE 6: one table per process, shown one after the other.
                if (c.s.header.personality >= 6)
                    std::stable_sort(rows.begin(), rows.end(), [](const H* a, const H* b) {
                        const uint32_t pa = a->refs.empty() ? 0 : a->refs[0].process_id;
                        const uint32_t pb = b->refs.empty() ? 0 : b->refs[0].process_id;
                        return std::tie(pa, a->value) < std::tie(pb, b->value);
                    });
                return rows;
            },
            nullptr,
            {{"HANDLE", [](const Context&, const H& h) { return hex(h.value); }},
             {"TYPE", [](const Context&, const H& h) { return h.type; }},
             {"NAME", [](const Context& c, const H& h) { return label(find(c.objects, h.object_id)); }},
             {"OWNER", [](const Context& c, const H& h) { return owner_of(h, c.procs); }},
             {"HOLDERS(pid:count:access)",
              [](const Context& c, const H& h) { return holders_text(h, c.procs); }}},
            {{"value", [](const Context&, const H& h) { return std::to_string(h.value); }},
             {"object", [](const Context&, const H& h) { return u64(h.object_id); }},
             {"kernel_owned", [](const Context&, const H& h) { return json_bool(h.kernel_owned); }},
             {"type", [](const Context&, const H& h) { return json_string(h.type); }},
             {"name", [](const Context& c, const H& h) { return json_name(find(c.objects, h.object_id)); }},
             {"references", json_references}}};
}

// Objects and files share their JSON form.
std::vector<JsonField<proto::ObjectInfo>> object_json_fields() {
    using O = proto::ObjectInfo;
    return {{"id", [](const Context&, const O& o) { return u64(o.id); }},
            {"handle", [](const Context&, const O& o) { return std::to_string(o.handle); }},
            {"references", [](const Context&, const O& o) { return std::to_string(o.references); }},
            {"type", [](const Context&, const O& o) { return json_string(o.type); }},
            {"name", [](const Context&, const O& o) { return json_name(&o); }},
            {"details", [](const Context&, const O& o) {
                 std::vector<std::string> facts;
                 for (const auto& [k, v] : o.details) facts.push_back(json_string(k) + ": " + json_string(v));
                 return "{" + join(facts, ", ") + "}";
             }}};
}

// With --pid, the table keeps the objects reachable from the process: through a handle it
// holds or a view.
bool reachable(const Context& c, const proto::ObjectInfo& o) {
    if (!c.f.pid) return true;
    bool mine = false;
    auto h = c.by_object.find(o.id);
    if (h != c.by_object.end())
        for (const auto& r : h->second->refs) mine = mine || process_matches(c.procs, r.process_id, c.f);
    for (const auto& v : c.s.views)
        mine = mine || (v.object_id == o.id && process_matches(c.procs, v.process_id, c.f));
    return mine;
}

SectionDef<proto::ObjectInfo> objects_section() {
    using O = proto::ObjectInfo;
    return {Section::Objects, "OBJECTS", "objects",
            [](const Context& c) {
                return rows_of(c.s.objects,
                               [&](const O& o) { return object_matches(&o, c.f) && object_has_handle(o, c.f); });
            },
            reachable,
            {{"ID", [](const Context&, const O& o) { return std::to_string(o.id); }},
             {"TYPE", [](const Context&, const O& o) { return o.type; }},
             {"NAME", [](const Context&, const O& o) { return o.named ? name_of(o) : ""; }},
             {"HANDLE", [](const Context&, const O& o) { return o.handle != 0 ? hex(o.handle) : "-"; }},
             {"REFS", [](const Context&, const O& o) { return std::to_string(o.references); }},
             {"DETAILS",
              [](const Context&, const O& o) {
                  std::string facts;
                  for (const auto& [k, v] : o.details) facts += (facts.empty() ? "" : " ") + k + "=" + v;
                  return facts;
              }}},
            object_json_fields()};
}

SectionDef<proto::ViewInfo> views_section() {
    using V = proto::ViewInfo;
    return {Section::Views, "VIEWS", "views",
            [](const Context& c) {
                return rows_of(c.s.views, [&](const V& v) {
                    const proto::ObjectInfo* o = find(c.objects, v.object_id);
                    return process_matches(c.procs, v.process_id, c.f) && object_matches(o, c.f) &&
                           !(c.f.handle && (o == nullptr || o->handle != *c.f.handle));
                });
            },
            nullptr,
            {{"PID", [](const Context& c, const V& v) { return pid_of(c.procs, v.process_id); }},
             {"ADDRESS", [](const Context&, const V& v) { return hex(v.address); }},
             {"MAPPING",
              [](const Context& c, const V& v) {
                  const proto::ObjectInfo* o = find(c.objects, v.object_id);
                  return o != nullptr && o->named ? name_of(*o) : "#" + u64(v.object_id);
              }},
             {"BACKING",
              [](const Context& c, const V& v) {
                  const proto::ObjectInfo* o = find(c.objects, v.object_id);
                  return o != nullptr ? detail(*o, "backing") : "";
              }},
             {"OFFSET", [](const Context&, const V& v) { return u64(v.offset); }},
             {"SIZE", [](const Context&, const V& v) { return u64(v.size); }},
             {"ACCESS", [](const Context&, const V& v) { return view_access(v.access); }},
             {"DIRTY", [](const Context&, const V&) { return std::string("?"); }}},
            {{"process", [](const Context&, const V& v) { return std::to_string(v.process_id); }},
             {"pid", [](const Context& c, const V& v) { return std::to_string(pid_number(c.procs, v.process_id)); }},
             {"address", [](const Context&, const V& v) { return u64(v.address); }},
             {"object", [](const Context&, const V& v) { return u64(v.object_id); }},
             {"offset", [](const Context&, const V& v) { return u64(v.offset); }},
             {"size", [](const Context&, const V& v) { return u64(v.size); }},
             {"access", [](const Context&, const V& v) { return std::to_string(v.access); }},
             {"dirty", [](const Context&, const V&) { return std::string("null"); }}}};
}

// With --pid, the files table keeps the files whose handle the process holds.
bool file_held(const Context& c, const proto::ObjectInfo& o) {
    auto h = c.by_object.find(o.id);
    if (h != c.by_object.end()) return !c.f.pid || handle_matches(*h->second, c.procs, c.objects, c.f);
    return !c.f.pid;
}

std::string file_holders(const Context& c, const proto::ObjectInfo& o) {
    auto h = c.by_object.find(o.id);
    if (h == c.by_object.end()) return "-";
    return h->second->kernel_owned ? "kernel" : holders_text(*h->second, c.procs);
}

// A column that shows one detail of an object as it stands.
Column<proto::ObjectInfo> detail_column(const char* head, const char* key) {
    return {head, [key](const Context&, const proto::ObjectInfo& o) { return detail(o, key); }};
}

SectionDef<proto::ObjectInfo> files_section() {
    using O = proto::ObjectInfo;
    return {Section::Files, "FILES", "files",
            [](const Context& c) {
                return rows_of(c.s.objects, [&](const O& o) {
                    return o.type == "file" && object_matches(&o, c.f) && object_has_handle(o, c.f);
                });
            },
            file_held,
            {{"HANDLE", [](const Context&, const O& o) { return o.handle != 0 ? hex(o.handle) : "-"; }},
             detail_column("PATH", "path"),
             detail_column("SIZE", "size"),
             detail_column("ACCESS", "access"),
             {"SHARE",
              [](const Context&, const O& o) {
                  std::string share = detail(o, "share");
                  return share == "none" ? "exclusive" : share;
              }},
             detail_column("ATTRIBUTES", "attributes"),
             detail_column("FLAGS", "flags"),
             {"HOLDERS", file_holders},
             {"MAPPED_BY",
              [](const Context&, const O& o) {
                  std::string mapped = detail(o, "mapped_by");
                  return mapped.empty() ? "-" : "#" + mapped;
              }},
             detail_column("HOST_PATH", "host_path")},
            object_json_fields()};
}

std::vector<const proto::ObjectInfo*> named_objects(const Context& c) {
    auto out = rows_of(c.s.objects, [&](const proto::ObjectInfo& o) {
        return o.named && o.handle != 0 && object_matches(&o, c.f) && object_has_handle(o, c.f);
    });
    std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) {
        return std::tie(a->type, a->name) < std::tie(b->type, b->name);
    });
    return out;
}

SectionDef<proto::ObjectInfo> names_section() {
    using O = proto::ObjectInfo;
    return {Section::Names, "NAMES", "names", named_objects, nullptr,
            {{"TYPE", [](const Context&, const O& o) { return o.type; }},
             {"NAME", [](const Context&, const O& o) { return name_of(o); }},
             {"HANDLE", [](const Context&, const O& o) { return hex(o.handle); }},
             {"REFS", [](const Context&, const O& o) { return std::to_string(o.references); }}},
            {{"type", [](const Context&, const O& o) { return json_string(o.type); }},
             {"name", [](const Context&, const O& o) { return json_string(name_of(o)); }},
             {"handle", [](const Context&, const O& o) { return std::to_string(o.handle); }},
             {"object", [](const Context&, const O& o) { return u64(o.id); }}}};
}

// The waits a filter lets through: by process, and by handle or object type/name waited on.
std::vector<const proto::WaitInfo*> waits_shown(const Context& c) {
    const Filter& f = c.f;
    return rows_of(c.s.waits, [&](const proto::WaitInfo& w) {
        if (!process_matches(c.procs, w.process_id, f)) return false;
        bool any = f.type.empty() && f.name.empty() && !f.handle;
        for (uint32_t h : w.handles) {
            if (f.handle && h != *f.handle) continue;
            for (const auto& hd : c.s.handles)
                if (names_for(c, hd, h, w.process_id) &&
                    object_matches(find(c.objects, hd.object_id), f))
                    any = true;
        }
        return any;
    });
}

std::string waiting_on(const Context& c, const proto::WaitInfo& w) {
    std::vector<std::string> on;
    for (uint32_t h : w.handles) {
        const proto::ObjectInfo* o = object_of_handle(c, h, w.process_id);
        on.push_back(hex(h) +
                     (o != nullptr ? "(" + o->type + (o->named ? " " + name_of(*o) : "") + ")" : ""));
    }
    return join(on, " ");
}

SectionDef<proto::WaitInfo> waits_section() {
    using W = proto::WaitInfo;
    constexpr uint32_t kInfinite = 0xFFFFFFFFu;
    return {Section::Waits, "WAITS", "waits", waits_shown, nullptr,
            {{"PID", [](const Context& c, const W& w) { return pid_of(c.procs, w.process_id); }},
             {"TID", [](const Context&, const W& w) { return std::to_string(w.thread_id); }},
             {"WAITING ON", waiting_on},
             {"TIMEOUT",
              [](const Context&, const W& w) {
                  return w.timeout_ms == kInfinite ? "INFINITE" : std::to_string(w.timeout_ms) + " ms";
              }},
             {"WAITED",
              [](const Context&, const W& w) {
                  char waited[32];
                  std::snprintf(waited, sizeof waited, "%.3f s", w.waited_ns / 1e9);
                  return std::string(waited);
              }}},
            {{"process", [](const Context&, const W& w) { return std::to_string(w.process_id); }},
             {"pid", [](const Context& c, const W& w) { return std::to_string(pid_number(c.procs, w.process_id)); }},
             {"tid", [](const Context&, const W& w) { return std::to_string(w.thread_id); }},
             {"timeout_ms",
              [](const Context&, const W& w) {
                  return w.timeout_ms == kInfinite ? "null" : std::to_string(w.timeout_ms);
              }},
             {"waited_ns", [](const Context&, const W& w) { return u64(w.waited_ns); }},
             {"handles",
              [](const Context&, const W& w) {
                  std::vector<std::string> values;
                  for (uint32_t h : w.handles) values.push_back(std::to_string(h));
                  return "[" + join(values, ", ") + "]";
              }}}};
}

// The threads a filter lets through: by process, and by handle.
std::vector<const proto::ThreadInfo*> threads_shown(const Context& c) {
    const Filter& f = c.f;
    return rows_of(c.s.threads, [&](const proto::ThreadInfo& t) {
        if (!process_matches(c.procs, t.process_id, f)) return false;
        if (f.handle && t.handle != *f.handle) return false;
        return f.type.empty() || f.type == "thread";
    });
}

// The wait a thread is parked in, if any.
const proto::WaitInfo* wait_of(const Context& c, const proto::ThreadInfo& t) {
    if (t.tid == 0) return nullptr;
    for (const auto& w : c.s.waits)
        if (w.process_id == t.process_id && w.thread_id == t.tid) return &w;
    return nullptr;
}

std::string thread_state(const Context& c, const proto::ThreadInfo& t) {
    if ((t.flags & proto::kThreadExited) != 0) return "exited, code " + hex(t.exit_code);
    std::string out;
    if (t.suspend_count != 0) out = "suspended (" + std::to_string(t.suspend_count) + ")";
    if (const proto::WaitInfo* w = wait_of(c, t))
        out += (out.empty() ? "" : ", ") + std::string("waiting on ") + waiting_on(c, *w);
    if (out.empty()) out = t.tid == 0 ? "starting" : "running";
    return out;
}

// CE's 0-7 constant for a priority of the default map (248 + n), else the raw level.
std::string priority_text(uint32_t p) {
    static constexpr const char* kNames[] = {"TIME_CRITICAL", "HIGHEST", "ABOVE_NORMAL", "NORMAL",
                                             "BELOW_NORMAL", "LOWEST", "ABOVE_IDLE", "IDLE"};
    return std::to_string(p) + (p >= 248 && p <= 255 ? std::string(" ") + kNames[p - 248] : "");
}

SectionDef<proto::ThreadInfo> threads_section() {
    using T = proto::ThreadInfo;
    return {Section::Threads, "THREADS", "threads", threads_shown, nullptr,
            {{"PID", [](const Context& c, const T& t) { return pid_of(c.procs, t.process_id); }},
             {"THREAD", [](const Context&, const T& t) { return hex(t.handle); }},
             {"TID", [](const Context&, const T& t) { return std::to_string(t.tid); }},
             {"STATE", thread_state},
             {"PRIORITY", [](const Context&, const T& t) { return priority_text(t.priority); }},
             {"QUANTUM",
              [](const Context&, const T& t) { return std::to_string(t.quantum) + " ms"; }},
             {"ORIGIN",
              [](const Context&, const T& t) {
                  return std::string((t.flags & proto::kThreadCreated) != 0 ? "CreateThread"
                                                                            : "adopted");
              }}},
            {{"process", [](const Context&, const T& t) { return std::to_string(t.process_id); }},
             {"pid", [](const Context& c, const T& t) { return std::to_string(pid_number(c.procs, t.process_id)); }},
             {"handle", [](const Context&, const T& t) { return std::to_string(t.handle); }},
             {"tid", [](const Context&, const T& t) { return std::to_string(t.tid); }},
             {"state",
              [](const Context& c, const T& t) {
                  if ((t.flags & proto::kThreadExited) != 0) return json_string("exited");
                  if (t.suspend_count != 0) return json_string("suspended");
                  if (wait_of(c, t) != nullptr) return json_string("waiting");
                  return json_string(t.tid == 0 ? "starting" : "running");
              }},
             {"suspend_count", [](const Context&, const T& t) { return std::to_string(t.suspend_count); }},
             {"exit_code",
              [](const Context&, const T& t) {
                  return (t.flags & proto::kThreadExited) != 0 ? std::to_string(t.exit_code)
                                                               : std::string("null");
              }},
             {"waiting_on",
              [](const Context& c, const T& t) {
                  const proto::WaitInfo* w = wait_of(c, t);
                  if (w == nullptr) return std::string("[]");
                  std::vector<std::string> values;
                  for (uint32_t h : w->handles) values.push_back(std::to_string(h));
                  return "[" + join(values, ", ") + "]";
              }},
             {"priority", [](const Context&, const T& t) { return std::to_string(t.priority); }},
             {"quantum_ms", [](const Context&, const T& t) { return std::to_string(t.quantum); }},
             {"created", [](const Context&, const T& t) {
                  return std::string((t.flags & proto::kThreadCreated) != 0 ? "true" : "false");
              }}}};
}

// Every section, in output order.
const auto& sections() {
    static const auto all = std::make_tuple(processes_section(), handles_section(), objects_section(),
                                            views_section(), files_section(), names_section(),
                                            waits_section(), threads_section());
    return all;
}

// Calls `visit` with each section's description, in order.
template <class Visit>
void for_each_section(Visit visit) {
    std::apply([&](const auto&... d) { (visit(d), ...); }, sections());
}

template <class Item>
std::string table_of(const Context& c, const SectionDef<Item>& d) {
    Row head;
    for (const auto& col : d.columns) head.push_back(col.head);
    std::vector<Row> rows;
    for (const Item* item : d.rows(c)) {
        if (d.table_only != nullptr && !d.table_only(c, *item)) continue;
        Row& r = rows.emplace_back();
        for (const auto& col : d.columns) r.push_back(col.cell(c, *item));
    }
    return table(head, std::move(rows));
}

template <class Item>
std::string json_of(const Context& c, const SectionDef<Item>& d) {
    std::string out = ",\n  \"" + std::string(d.key) + "\": [";
    bool first = true;
    for (const Item* item : d.rows(c)) {
        std::vector<std::string> members;
        for (const auto& field : d.fields)
            members.push_back("\"" + std::string(field.key) + "\": " + field.value(c, *item));
        out += (first ? "\n    {" : ",\n    {") + join(members, ", ") + "}";
        first = false;
    }
    return out + "\n  ]";
}

}  // namespace

std::optional<Section> parse_section(std::string_view w) {
    if (w == "all") return Section::All;
    std::optional<Section> found;
    for_each_section([&](const auto& d) {
        if (w == d.key) found = d.id;
    });
    return found;
}

std::string summary(const proto::Snapshot& s) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "kernel pid %d, personality ce%u, up %.1f s: %zu processes, %zu handles, "
                  "%zu objects, %zu views, %.1f KiB kernel memory\n",
                  s.header.kernel_pid, s.header.personality, s.header.uptime_ns / 1e9,
                  s.processes.size(), s.handles.size(), s.objects.size(), s.views.size(),
                  s.header.kernel_memory_bytes / 1024.0);
    return buf;
}

std::string render_table(const proto::Snapshot& s, Section section, const Filter& f) {
    const Context c(s, f);
    std::string out;
    for_each_section([&](const auto& d) {
        if (!section_on(section, d.id)) return;
        if (section == Section::All) out += (out.empty() ? "" : "\n") + std::string(d.title) + "\n";
        out += table_of(c, d);
    });
    return out + summary(s);
}

std::string render_json(const proto::Snapshot& s, Section section, const Filter& f) {
    const Context c(s, f);
    std::string out = "{\n  \"schema\": \"cekernel.cedump\",\n  \"version\": " +
                      std::to_string(kJsonVersion) + ",\n";
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "  \"kernel\": {\"pid\": %d, \"personality\": \"ce%u\", \"uptime_ns\": %llu, "
                  "\"boot_time_ns\": %llu, \"memory_bytes\": %llu}",
                  s.header.kernel_pid, s.header.personality,
                  static_cast<unsigned long long>(s.header.uptime_ns),
                  static_cast<unsigned long long>(s.header.boot_time_ns),
                  static_cast<unsigned long long>(s.header.kernel_memory_bytes));
    out += buf;
    for_each_section([&](const auto& d) {
        if (section_on(section, d.id)) out += json_of(c, d);
    });
    return out + "\n}\n";
}

}  // namespace cek::cedump

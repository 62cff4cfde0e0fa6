#include "tools/cedump/render.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "common/errors.h"

namespace cek::cedump {

namespace {

using Row = std::vector<std::string>;
using ProcessMap = std::map<uint32_t, const proto::ProcessInfo*>;
using ObjectMap = std::map<uint64_t, const proto::ObjectInfo*>;

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string u64(uint64_t v) { return std::to_string(v); }

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

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string dot_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out + "\"";
}

ProcessMap processes_by_id(const proto::Snapshot& s) {
    ProcessMap m;
    for (const auto& p : s.processes) m[p.id] = &p;
    return m;
}

ObjectMap objects_by_id(const proto::Snapshot& s) {
    ObjectMap m;
    for (const auto& o : s.objects) m[o.id] = &o;
    return m;
}

const proto::ObjectInfo* find(const ObjectMap& m, uint64_t id) {
    auto it = m.find(id);
    return it == m.end() ? nullptr : it->second;
}

std::string detail(const proto::ObjectInfo& o, std::string_view key) {
    for (const auto& [k, v] : o.details)
        if (k == key) return v;
    return "";
}

// A name for an object in one column: its CE name, a file's path, or nothing.
std::string label(const proto::ObjectInfo* o) {
    if (o == nullptr) return "";
    if (o->named) return utf8(o->name);
    if (o->type == "file") return detail(*o, "path");
    if (o->type == "search") return detail(*o, "pattern");
    return "";
}

bool object_matches(const proto::ObjectInfo* o, const Filter& f) {
    if (!f.type.empty() && (o == nullptr || o->type != f.type)) return false;
    if (!f.name.empty() && (o == nullptr || label(o).find(f.name) == std::string::npos))
        return false;
    return true;
}

bool process_matches(const ProcessMap& procs, uint32_t id, const Filter& f) {
    if (!f.pid) return true;
    auto it = procs.find(id);
    return it != procs.end() && it->second->pid == *f.pid;
}

std::string pid_of(const ProcessMap& procs, uint32_t id) {
    if (id == 0) return "kernel";
    auto it = procs.find(id);
    return it == procs.end() ? "?" + std::to_string(id) : std::to_string(it->second->pid);
}

int32_t pid_number(const ProcessMap& procs, uint32_t id) {
    auto it = procs.find(id);
    return it == procs.end() ? 0 : it->second->pid;
}

// Handles by the object they name (an object has at most one handle entry in CE 5).
std::map<uint64_t, const proto::HandleInfo*> handles_by_object(const proto::Snapshot& s) {
    std::map<uint64_t, const proto::HandleInfo*> m;
    for (const auto& h : s.handles) m[h.object_id] = &h;
    return m;
}

bool handle_matches(const proto::HandleInfo& h, const ProcessMap& procs, const ObjectMap& objects,
                    const Filter& f) {
    if (f.handle && h.value != *f.handle) return false;
    if (!object_matches(find(objects, h.object_id), f)) return false;
    if (!f.pid) return true;
    return std::any_of(h.refs.begin(), h.refs.end(),
                       [&](const proto::HandleRef& r) { return process_matches(procs, r.process_id, f); });
}

std::string owner_of(const proto::HandleInfo& h, const ProcessMap& procs) {
    if (h.kernel_owned) return "kernel";
    return h.refs.empty() ? "-" : pid_of(procs, h.refs[0].process_id);
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

// Whether a snapshot row should appear when only `handle` is asked for.
bool object_has_handle(const proto::ObjectInfo& o, const Filter& f) {
    return !f.handle || o.handle == *f.handle;
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

std::vector<const proto::ObjectInfo*> named_objects(const proto::Snapshot& s, const Filter& f) {
    std::vector<const proto::ObjectInfo*> out;
    for (const auto& o : s.objects)
        if (o.named && o.handle != 0 && object_matches(&o, f) && object_has_handle(o, f))
            out.push_back(&o);
    std::stable_sort(out.begin(), out.end(), [](auto* a, auto* b) {
        return std::tie(a->type, a->name) < std::tie(b->type, b->name);
    });
    return out;
}

// The waits a filter lets through: by process, and by handle or object type/name waited on.
std::vector<const proto::WaitInfo*> waits_shown(const proto::Snapshot& s, const ProcessMap& procs,
                                                const ObjectMap& objects, const Filter& f) {
    std::vector<const proto::WaitInfo*> out;
    for (const auto& w : s.waits) {
        if (!process_matches(procs, w.process_id, f)) continue;
        bool any = f.type.empty() && f.name.empty() && !f.handle;
        for (uint32_t h : w.handles) {
            if (f.handle && h != *f.handle) continue;
            for (const auto& hd : s.handles)
                if (hd.value == h && object_matches(find(objects, hd.object_id), f)) any = true;
        }
        if (any) out.push_back(&w);
    }
    return out;
}

}  // namespace

std::optional<Section> parse_section(std::string_view w) {
    if (w == "processes") return Section::Processes;
    if (w == "handles") return Section::Handles;
    if (w == "objects") return Section::Objects;
    if (w == "views") return Section::Views;
    if (w == "files") return Section::Files;
    if (w == "names") return Section::Names;
    if (w == "waits") return Section::Waits;
    if (w == "all") return Section::All;
    return std::nullopt;
}

std::string utf8(const std::u16string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        uint32_t c = s[i];
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] < 0xE000)
            c = 0x10000 + ((c - 0xD800) << 10) + (s[++i] - 0xDC00);
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out += static_cast<char>(0xE0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (c >> 18));
            out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
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
    auto procs = processes_by_id(s);
    auto objects = objects_by_id(s);
    auto by_object = handles_by_object(s);
    const bool all = section == Section::All;
    std::string out;
    auto heading = [&](const char* title) {
        if (all) out += (out.empty() ? "" : "\n") + std::string(title) + "\n";
    };
    if (section_on(section, Section::Processes)) {
        std::vector<Row> rows;
        for (const auto& p : s.processes) {
            if (f.pid && p.pid != *f.pid) continue;
            rows.push_back({std::to_string(p.pid), std::to_string(p.id), clock_time(p.attach_time_ns),
                            std::to_string(p.handle_count), std::to_string(p.view_count),
                            p.channel_state, p.executable});
        }
        heading("PROCESSES");
        out += table({"PID", "ID", "ATTACHED", "HANDLES", "VIEWS", "CHANNEL", "EXECUTABLE"}, rows);
    }
    if (section_on(section, Section::Handles)) {
        std::vector<Row> rows;
        for (const auto& h : s.handles) {
            if (!handle_matches(h, procs, objects, f)) continue;
            rows.push_back({hex(h.value), h.type, label(find(objects, h.object_id)),
                            owner_of(h, procs), holders_text(h, procs)});
        }
        heading("HANDLES");
        out += table({"HANDLE", "TYPE", "NAME", "OWNER", "HOLDERS(pid:count:access)"}, rows);
    }
    if (section_on(section, Section::Objects)) {
        std::vector<Row> rows;
        for (const auto& o : s.objects) {
            if (!object_matches(&o, f) || !object_has_handle(o, f)) continue;
            if (f.pid) {
                // Objects reachable from the process: through a handle it holds or a view.
                bool mine = false;
                auto h = by_object.find(o.id);
                if (h != by_object.end())
                    for (const auto& r : h->second->refs)
                        mine = mine || process_matches(procs, r.process_id, f);
                for (const auto& v : s.views)
                    mine = mine || (v.object_id == o.id && process_matches(procs, v.process_id, f));
                if (!mine) continue;
            }
            std::string facts;
            for (const auto& [k, v] : o.details) facts += (facts.empty() ? "" : " ") + k + "=" + v;
            rows.push_back({std::to_string(o.id), o.type, o.named ? utf8(o.name) : "",
                            o.handle != 0 ? hex(o.handle) : "-", std::to_string(o.references),
                            facts});
        }
        heading("OBJECTS");
        out += table({"ID", "TYPE", "NAME", "HANDLE", "REFS", "DETAILS"}, rows);
    }
    if (section_on(section, Section::Views)) {
        std::vector<Row> rows;
        for (const auto& v : s.views) {
            if (!process_matches(procs, v.process_id, f)) continue;
            const proto::ObjectInfo* o = find(objects, v.object_id);
            if (!object_matches(o, f)) continue;
            if (f.handle && (o == nullptr || o->handle != *f.handle)) continue;
            std::string mapping = o != nullptr && o->named ? utf8(o->name) : "#" + u64(v.object_id);
            std::string backing = o != nullptr ? detail(*o, "backing") : "";
            rows.push_back({pid_of(procs, v.process_id), hex(v.address), mapping, backing,
                            u64(v.offset), u64(v.size), view_access(v.access), "?"});
        }
        heading("VIEWS");
        out += table({"PID", "ADDRESS", "MAPPING", "BACKING", "OFFSET", "SIZE", "ACCESS", "DIRTY"},
                     rows);
    }
    if (section_on(section, Section::Files)) {
        std::vector<Row> rows;
        for (const auto& o : s.objects) {
            if (o.type != "file" || !object_matches(&o, f) || !object_has_handle(o, f)) continue;
            std::string holders = "-";
            auto h = by_object.find(o.id);
            if (h != by_object.end()) {
                if (f.pid && !handle_matches(*h->second, procs, objects, f)) continue;
                holders = h->second->kernel_owned ? "kernel" : holders_text(*h->second, procs);
            } else if (f.pid) {
                continue;
            }
            std::string share = detail(o, "share");
            std::string mapped = detail(o, "mapped_by");
            rows.push_back({o.handle != 0 ? hex(o.handle) : "-", detail(o, "path"),
                            detail(o, "size"), detail(o, "access"),
                            share == "none" ? "exclusive" : share, detail(o, "attributes"),
                            detail(o, "flags"), holders, mapped.empty() ? "-" : "#" + mapped,
                            detail(o, "host_path")});
        }
        heading("FILES");
        out += table({"HANDLE", "PATH", "SIZE", "ACCESS", "SHARE", "ATTRIBUTES", "FLAGS",
                      "HOLDERS", "MAPPED_BY", "HOST_PATH"},
                     rows);
    }
    if (section_on(section, Section::Names)) {
        std::vector<Row> rows;
        for (const auto* o : named_objects(s, f))
            rows.push_back({o->type, utf8(o->name), hex(o->handle), std::to_string(o->references)});
        heading("NAMES");
        out += table({"TYPE", "NAME", "HANDLE", "REFS"}, rows);
    }
    if (section_on(section, Section::Waits)) {
        std::vector<Row> rows;
        for (const auto& w : waits_shown(s, procs, objects, f)) {
            std::string on;
            for (uint32_t h : w->handles) {
                const proto::ObjectInfo* o = nullptr;
                for (const auto& hd : s.handles)
                    if (hd.value == h) o = find(objects, hd.object_id);
                on += (on.empty() ? "" : " ") + hex(h) +
                      (o != nullptr ? "(" + o->type + (o->named ? " " + utf8(o->name) : "") + ")"
                                    : "");
            }
            char waited[32];
            std::snprintf(waited, sizeof waited, "%.3f s", w->waited_ns / 1e9);
            rows.push_back({pid_of(procs, w->process_id), std::to_string(w->thread_id), on,
                            w->timeout_ms == 0xFFFFFFFFu ? "INFINITE"
                                                          : std::to_string(w->timeout_ms) + " ms",
                            waited});
        }
        heading("WAITS");
        out += table({"PID", "TID", "WAITING ON", "TIMEOUT", "WAITED"}, rows);
    }
    out += summary(s);
    return out;
}

std::string render_json(const proto::Snapshot& s, Section section, const Filter& f) {
    auto procs = processes_by_id(s);
    auto objects = objects_by_id(s);
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
    auto open_array = [&](const char* name) { out += ",\n  \"" + std::string(name) + "\": ["; };
    auto item = [&](bool& first) {
        out += first ? "\n    " : ",\n    ";
        first = false;
    };
    auto object_json = [&](const proto::ObjectInfo& o) {
        std::snprintf(buf, sizeof buf, "{\"id\": %llu, \"handle\": %u, \"references\": %u, \"type\": ",
                      static_cast<unsigned long long>(o.id), o.handle, o.references);
        out += buf + json_string(o.type) + ", \"name\": " +
               (o.named ? json_string(utf8(o.name)) : std::string("null")) + ", \"details\": {";
        for (size_t i = 0; i < o.details.size(); ++i)
            out += (i == 0 ? "" : ", ") + json_string(o.details[i].first) + ": " +
                   json_string(o.details[i].second);
        out += "}}";
    };
    if (section_on(section, Section::Processes)) {
        open_array("processes");
        bool first = true;
        for (const auto& p : s.processes) {
            if (f.pid && p.pid != *f.pid) continue;
            item(first);
            std::snprintf(buf, sizeof buf,
                          "{\"id\": %u, \"pid\": %d, \"attach_time_ns\": %llu, \"handles\": %u, "
                          "\"views\": %u, \"state\": ",
                          p.id, p.pid, static_cast<unsigned long long>(p.attach_time_ns),
                          p.handle_count, p.view_count);
            out += buf + json_string(p.channel_state) + ", \"executable\": " +
                   json_string(p.executable) + "}";
        }
        out += "\n  ]";
    }
    if (section_on(section, Section::Handles)) {
        open_array("handles");
        bool first = true;
        for (const auto& h : s.handles) {
            if (!handle_matches(h, procs, objects, f)) continue;
            item(first);
            const proto::ObjectInfo* o = find(objects, h.object_id);
            std::snprintf(buf, sizeof buf,
                          "{\"value\": %u, \"object\": %llu, \"kernel_owned\": %s, \"type\": ",
                          h.value, static_cast<unsigned long long>(h.object_id),
                          h.kernel_owned ? "true" : "false");
            out += buf + json_string(h.type) + ", \"name\": " +
                   (o != nullptr && o->named ? json_string(utf8(o->name)) : std::string("null")) +
                   ", \"references\": [";
            for (size_t i = 0; i < h.refs.size(); ++i) {
                std::snprintf(buf, sizeof buf,
                              "%s{\"process\": %u, \"pid\": %d, \"count\": %u, \"access\": %u}",
                              i == 0 ? "" : ", ", h.refs[i].process_id,
                              pid_number(procs, h.refs[i].process_id), h.refs[i].count,
                              h.refs[i].access);
                out += buf;
            }
            out += "]}";
        }
        out += "\n  ]";
    }
    if (section_on(section, Section::Objects)) {
        open_array("objects");
        bool first = true;
        for (const auto& o : s.objects) {
            if (!object_matches(&o, f) || !object_has_handle(o, f)) continue;
            item(first);
            object_json(o);
        }
        out += "\n  ]";
    }
    if (section_on(section, Section::Views)) {
        open_array("views");
        bool first = true;
        for (const auto& v : s.views) {
            if (!process_matches(procs, v.process_id, f)) continue;
            const proto::ObjectInfo* o = find(objects, v.object_id);
            if (!object_matches(o, f)) continue;
            if (f.handle && (o == nullptr || o->handle != *f.handle)) continue;
            item(first);
            std::snprintf(buf, sizeof buf,
                          "{\"process\": %u, \"pid\": %d, \"address\": %llu, \"object\": %llu, "
                          "\"offset\": %llu, \"size\": %llu, \"access\": %u, \"dirty\": null}",
                          v.process_id, pid_number(procs, v.process_id),
                          static_cast<unsigned long long>(v.address),
                          static_cast<unsigned long long>(v.object_id),
                          static_cast<unsigned long long>(v.offset),
                          static_cast<unsigned long long>(v.size), v.access);
            out += buf;
        }
        out += "\n  ]";
    }
    if (section_on(section, Section::Files)) {
        open_array("files");
        bool first = true;
        for (const auto& o : s.objects) {
            if (o.type != "file" || !object_matches(&o, f) || !object_has_handle(o, f)) continue;
            item(first);
            object_json(o);
        }
        out += "\n  ]";
    }
    if (section_on(section, Section::Names)) {
        open_array("names");
        bool first = true;
        for (const auto* o : named_objects(s, f)) {
            item(first);
            std::snprintf(buf, sizeof buf, ", \"handle\": %u, \"object\": %llu}", o->handle,
                          static_cast<unsigned long long>(o->id));
            out += "{\"type\": " + json_string(o->type) + ", \"name\": " +
                   json_string(utf8(o->name)) + buf;
        }
        out += "\n  ]";
    }
    if (section_on(section, Section::Waits)) {
        open_array("waits");
        bool first = true;
        for (const auto* w : waits_shown(s, procs, objects, f)) {
            item(first);
            std::string handles;
            for (uint32_t h : w->handles)
                handles += (handles.empty() ? "" : ", ") + std::to_string(h);
            std::snprintf(buf, sizeof buf,
                          "{\"process\": %u, \"pid\": %d, \"tid\": %u, \"timeout_ms\": %s, "
                          "\"waited_ns\": %llu, \"handles\": [",
                          w->process_id, pid_number(procs, w->process_id), w->thread_id,
                          w->timeout_ms == 0xFFFFFFFFu ? "null"
                                                       : std::to_string(w->timeout_ms).c_str(),
                          static_cast<unsigned long long>(w->waited_ns));
            out += buf + handles + "]}";
        }
        out += "\n  ]";
    }
    out += "\n}\n";
    return out;
}

std::string render_dot(const proto::Snapshot& s, const Filter& f) {
    auto procs = processes_by_id(s);
    auto objects = objects_by_id(s);
    std::string out =
        "digraph cekernel {\n"
        "  rankdir=LR;\n"
        "  node [fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [fontname=\"Helvetica\", fontsize=9];\n";
    std::set<uint64_t> shown;  // object ids drawn
    bool kernel_node = false;
    for (const auto& p : s.processes) {
        if (f.pid && p.pid != *f.pid) continue;
        std::string exe = p.executable.substr(p.executable.rfind('/') + 1);
        out += "  p" + std::to_string(p.id) + " [shape=box, style=\"rounded,filled\", " +
               "fillcolor=\"#dde8f7\", label=" +
               dot_string("pid " + std::to_string(p.pid) + "\n" + exe + "\n" + p.channel_state) +
               "];\n";
    }
    for (const auto& h : s.handles) {
        if (!handle_matches(h, procs, objects, f)) continue;
        std::string hn = "h" + hex(h.value).substr(2);
        out += "  " + hn + " [shape=ellipse, label=" + dot_string(hex(h.value)) + "];\n";
        if (h.kernel_owned) {
            if (!kernel_node)
                out += "  kernel [shape=octagon, style=filled, fillcolor=\"#eeeeee\", "
                       "label=\"kernel\"];\n";
            kernel_node = true;
            out += "  kernel -> " + hn + " [style=dotted, label=\"owns\"];\n";
        }
        for (const auto& r : h.refs) {
            if (!process_matches(procs, r.process_id, f) || procs.count(r.process_id) == 0)
                continue;
            out += "  p" + std::to_string(r.process_id) + " -> " + hn + " [label=" +
                   dot_string(std::to_string(r.count) + " ref" + (r.count == 1 ? "" : "s")) +
                   "];\n";
        }
        out += "  " + hn + " -> o" + u64(h.object_id) + ";\n";
        shown.insert(h.object_id);
    }
    for (const auto& v : s.views) {
        if (!process_matches(procs, v.process_id, f)) continue;
        if (!object_matches(find(objects, v.object_id), f)) continue;
        out += "  p" + std::to_string(v.process_id) + " -> o" + u64(v.object_id) +
               " [style=dashed, color=\"#3060a0\", label=" +
               dot_string("view " + hex(v.address) + "\n+" + u64(v.offset) + " " + u64(v.size)) +
               "];\n";
        shown.insert(v.object_id);
    }
    // Mappings pull in the files they took over even when the file has no handle of its own.
    for (const auto& o : s.objects) {
        std::string backing = detail(o, "backing");
        if (shown.count(o.id) != 0 && backing.rfind("file ", 0) == 0) {
            uint64_t file = std::strtoull(backing.c_str() + 5, nullptr, 10);
            out += "  o" + u64(o.id) + " -> o" + u64(file) + " [label=\"backed by\"];\n";
            shown.insert(file);
        }
    }
    for (const auto& o : s.objects) {
        if (shown.count(o.id) == 0) continue;
        std::string text = o.type + " #" + u64(o.id);
        if (o.named) text += "\n" + utf8(o.name);
        if (o.type == "file") text += "\n" + detail(o, "path") + "\nshare " + detail(o, "share");
        if (o.type == "mapping")
            text += "\n" + detail(o, "size") + " bytes at " + detail(o, "address");
        const char* color = o.type == "file" ? "#f7ecd0" : o.type == "mapping" ? "#d8f0d8" : "#f0f0f0";
        out += "  o" + u64(o.id) + " [shape=" + (o.type == "file" ? "note" : "box3d") +
               ", style=filled, fillcolor=\"" + color + "\", label=" + dot_string(text) + "];\n";
    }
    out += "}\n";
    return out;
}

bool decode_trace(std::span<const std::byte> data, uint32_t count, std::vector<TraceLine>& out) {
    for (uint32_t i = 0; i < count; ++i) {
        TraceLine line;
        if (data.size() < sizeof line.record) return false;
        std::memcpy(&line.record, data.data(), sizeof line.record);
        data = data.subspan(sizeof line.record);
        size_t a = line.record.args_bytes, r = line.record.result_bytes;
        if (data.size() < a + r) return false;
        line.args.assign(reinterpret_cast<const char*>(data.data()), a);
        line.result.assign(reinterpret_cast<const char*>(data.data()) + a, r);
        data = data.subspan(a + r);
        out.push_back(std::move(line));
    }
    return true;
}

std::string format_trace(const TraceLine& line) {
    const auto& r = line.record;
    char when[48];
    time_t t = static_cast<time_t>(r.time_ns / 1'000'000'000ULL);
    tm local{};
    localtime_r(&t, &local);
    size_t n = std::strftime(when, sizeof when, "%H:%M:%S", &local);
    std::snprintf(when + n, sizeof when - n, ".%06llu",
                  static_cast<unsigned long long>((r.time_ns % 1'000'000'000ULL) / 1000));
    auto code = static_cast<proto::RequestCode>(r.code);
    std::string out = std::string(when) + " pid " + std::to_string(r.pid) + " tid " +
                      std::to_string(r.thread_id) + " " + proto::request_name(code) + "(" +
                      line.args + ") = ";
    std::string error = std::string(error_name(static_cast<Win32Error>(r.error))) + "(" +
                        std::to_string(r.error) + ")";
    if (r.failed != 0)
        out += "FAILED" + (r.set_error != 0 ? " " + error : std::string(" (last error kept)"));
    else
        out += (line.result.empty() ? "TRUE" : line.result) +
               (r.set_error != 0 ? " [last error " + error + "]" : "");
    char took[32];
    std::snprintf(took, sizeof took, " <%.1f us>", r.duration_ns / 1000.0);
    return out + took;
}

}  // namespace cek::cedump

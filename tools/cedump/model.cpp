#include "tools/cedump/model.h"

#include <algorithm>
#include <cstdio>

#include "common/utf.h"

namespace cek::cedump {

Context::Context(const proto::Snapshot& snapshot, const Filter& filter) : s(snapshot), f(filter) {
    for (const auto& p : s.processes) procs[p.id] = &p;
    for (const auto& o : s.objects) objects[o.id] = &o;
    for (const auto& h : s.handles) by_object[h.object_id] = &h;
}

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string u64(uint64_t v) { return std::to_string(v); }

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

const proto::ObjectInfo* find(const ObjectMap& m, uint64_t id) {
    auto it = m.find(id);
    return it == m.end() ? nullptr : it->second;
}

std::string detail(const proto::ObjectInfo& o, std::string_view key) {
    for (const auto& [k, v] : o.details)
        if (k == key) return v;
    return "";
}

std::string label(const proto::ObjectInfo* o) {
    if (o == nullptr) return "";
    if (o->named) return name_of(*o);
    if (o->type == "file") return detail(*o, "path");
    if (o->type == "search") return detail(*o, "pattern");
    return "";
}

std::string name_of(const proto::ObjectInfo& o) { return utf8_from_utf16(o.name); }

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

bool handle_matches(const proto::HandleInfo& h, const ProcessMap& procs, const ObjectMap& objects,
                    const Filter& f) {
    if (f.handle && h.value != *f.handle) return false;
    if (!object_matches(find(objects, h.object_id), f)) return false;
    if (!f.pid) return true;
    return std::any_of(h.refs.begin(), h.refs.end(),
                       [&](const proto::HandleRef& r) { return process_matches(procs, r.process_id, f); });
}

bool object_has_handle(const proto::ObjectInfo& o, const Filter& f) {
    return !f.handle || o.handle == *f.handle;
}

}  // namespace cek::cedump

#include "tools/cedump/render.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

namespace cek::cedump {

namespace {

using Row = std::vector<std::string>;

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string table(const Row& head, const std::vector<Row>& rows) {
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

std::map<uint32_t, const proto::ProcessInfo*> processes_by_id(const proto::Snapshot& s) {
    std::map<uint32_t, const proto::ProcessInfo*> m;
    for (const auto& p : s.processes) m[p.id] = &p;
    return m;
}

std::map<uint64_t, const proto::ObjectInfo*> objects_by_id(const proto::Snapshot& s) {
    std::map<uint64_t, const proto::ObjectInfo*> m;
    for (const auto& o : s.objects) m[o.id] = &o;
    return m;
}

bool object_matches(const proto::ObjectInfo* o, const Filter& f) {
    if (!f.type.empty() && (o == nullptr || o->type != f.type)) return false;
    if (!f.name.empty() && (o == nullptr || utf8(o->name).find(f.name) == std::string::npos))
        return false;
    return true;
}

// The process ids (kernel's) whose Linux pid matches the filter.
bool process_matches(const std::map<uint32_t, const proto::ProcessInfo*>& procs, uint32_t id,
                     const Filter& f) {
    if (!f.pid) return true;
    auto it = procs.find(id);
    return it != procs.end() && it->second->pid == *f.pid;
}

std::string pid_of(const std::map<uint32_t, const proto::ProcessInfo*>& procs, uint32_t id) {
    if (id == 0) return "kernel";
    auto it = procs.find(id);
    return it == procs.end() ? "?" + std::to_string(id) : std::to_string(it->second->pid);
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

}  // namespace

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

std::string render_table(const proto::Snapshot& s, Section section, const Filter& f) {
    auto procs = processes_by_id(s);
    auto objects = objects_by_id(s);
    std::string out;
    bool all = section == Section::All;
    if (all || section == Section::Processes) {
        std::vector<Row> rows;
        for (const auto& p : s.processes) {
            if (f.pid && p.pid != *f.pid) continue;
            rows.push_back({std::to_string(p.pid), std::to_string(p.id),
                            std::to_string(p.handle_count), std::to_string(p.view_count),
                            p.channel_state, p.executable});
        }
        if (all) out += "PROCESSES\n";
        out += table({"PID", "ID", "HANDLES", "VIEWS", "STATE", "EXECUTABLE"}, rows);
    }
    if (all || section == Section::Handles) {
        std::vector<Row> rows;
        for (const auto& h : s.handles) {
            auto it = objects.find(h.object_id);
            const proto::ObjectInfo* o = it == objects.end() ? nullptr : it->second;
            if (f.handle && h.value != *f.handle) continue;
            if (!object_matches(o, f)) continue;
            bool any = !f.pid;
            std::string holders;
            for (const auto& r : h.refs) {
                if (process_matches(procs, r.process_id, f)) any = true;
                if (!holders.empty()) holders += " ";
                holders += pid_of(procs, r.process_id) + ":" + std::to_string(r.count);
            }
            if (!any) continue;
            rows.push_back({hex(h.value), h.type, o != nullptr && o->named ? utf8(o->name) : "",
                            h.kernel_owned ? "kernel" : pid_of(procs, h.refs.empty() ? 0 : h.refs[0].process_id),
                            holders});
        }
        if (all) out += "\nHANDLES\n";
        out += table({"HANDLE", "TYPE", "NAME", "OWNER", "REFERENCES(pid:count)"}, rows);
    }
    if (all || section == Section::Objects) {
        std::vector<Row> rows;
        for (const auto& o : s.objects) {
            if (!object_matches(&o, f)) continue;
            std::string facts;
            for (const auto& [k, v] : o.details) facts += (facts.empty() ? "" : " ") + k + "=" + v;
            rows.push_back({std::to_string(o.id), o.type, o.named ? utf8(o.name) : "",
                            o.handle != 0 ? hex(o.handle) : "-", std::to_string(o.references),
                            facts});
        }
        if (all) out += "\nOBJECTS\n";
        out += table({"ID", "TYPE", "NAME", "HANDLE", "REFS", "DETAILS"}, rows);
    }
    if (all || section == Section::Views) {
        std::vector<Row> rows;
        for (const auto& v : s.views) {
            if (!process_matches(procs, v.process_id, f)) continue;
            auto it = objects.find(v.object_id);
            if (!object_matches(it == objects.end() ? nullptr : it->second, f)) continue;
            rows.push_back({pid_of(procs, v.process_id), hex(v.address), std::to_string(v.object_id),
                            std::to_string(v.offset), std::to_string(v.size), hex(v.access)});
        }
        if (all) out += "\nVIEWS\n";
        out += table({"PID", "ADDRESS", "OBJECT", "OFFSET", "SIZE", "ACCESS"}, rows);
    }
    if (all || section == Section::Names) {
        std::vector<Row> rows;
        for (const auto& o : s.objects) {
            if (!o.named || o.handle == 0 || !object_matches(&o, f)) continue;
            rows.push_back({o.type, utf8(o.name), hex(o.handle)});
        }
        if (all) out += "\nNAMES\n";
        out += table({"TYPE", "NAME", "HANDLE"}, rows);
    }
    out += summary(s);
    return out;
}

std::string render_json(const proto::Snapshot& s, Section section, const Filter& f) {
    auto procs = processes_by_id(s);
    auto objects = objects_by_id(s);
    bool all = section == Section::All;
    std::string out = "{\n  \"schema\": \"cekernel.cedump\",\n  \"version\": 1,\n";
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "  \"kernel\": {\"pid\": %d, \"personality\": \"ce%u\", \"uptime_ns\": %llu, "
                  "\"boot_time_ns\": %llu, \"memory_bytes\": %llu}",
                  s.header.kernel_pid, s.header.personality,
                  static_cast<unsigned long long>(s.header.uptime_ns),
                  static_cast<unsigned long long>(s.header.boot_time_ns),
                  static_cast<unsigned long long>(s.header.kernel_memory_bytes));
    out += buf;
    if (all || section == Section::Processes) {
        out += ",\n  \"processes\": [";
        bool first = true;
        for (const auto& p : s.processes) {
            if (f.pid && p.pid != *f.pid) continue;
            std::snprintf(buf, sizeof buf,
                          "%s\n    {\"id\": %u, \"pid\": %d, \"attach_time_ns\": %llu, "
                          "\"handles\": %u, \"views\": %u, \"state\": ",
                          first ? "" : ",", p.id, p.pid,
                          static_cast<unsigned long long>(p.attach_time_ns), p.handle_count,
                          p.view_count);
            out += buf + json_string(p.channel_state) + ", \"executable\": " +
                   json_string(p.executable) + "}";
            first = false;
        }
        out += "\n  ]";
    }
    if (all || section == Section::Handles) {
        out += ",\n  \"handles\": [";
        bool first = true;
        for (const auto& h : s.handles) {
            auto it = objects.find(h.object_id);
            if (f.handle && h.value != *f.handle) continue;
            if (!object_matches(it == objects.end() ? nullptr : it->second, f)) continue;
            bool any = !f.pid;
            for (const auto& r : h.refs) any = any || process_matches(procs, r.process_id, f);
            if (!any) continue;
            std::snprintf(buf, sizeof buf,
                          "%s\n    {\"value\": %u, \"object\": %llu, \"kernel_owned\": %s, "
                          "\"type\": ",
                          first ? "" : ",", h.value, static_cast<unsigned long long>(h.object_id),
                          h.kernel_owned ? "true" : "false");
            out += buf + json_string(h.type) + ", \"references\": [";
            for (size_t i = 0; i < h.refs.size(); ++i) {
                auto pit = procs.find(h.refs[i].process_id);
                std::snprintf(buf, sizeof buf, "%s{\"process\": %u, \"pid\": %d, \"count\": %u, \"access\": %u}",
                              i == 0 ? "" : ", ", h.refs[i].process_id,
                              pit == procs.end() ? 0 : pit->second->pid, h.refs[i].count,
                              h.refs[i].access);
                out += buf;
            }
            out += "]}";
            first = false;
        }
        out += "\n  ]";
    }
    if (all || section == Section::Objects || section == Section::Names) {
        out += ",\n  \"objects\": [";
        bool first = true;
        for (const auto& o : s.objects) {
            if (!object_matches(&o, f)) continue;
            if (section == Section::Names && (!o.named || o.handle == 0)) continue;
            std::snprintf(buf, sizeof buf, "%s\n    {\"id\": %llu, \"handle\": %u, \"references\": %u, \"type\": ",
                          first ? "" : ",", static_cast<unsigned long long>(o.id), o.handle,
                          o.references);
            out += buf + json_string(o.type) + ", \"name\": " +
                   (o.named ? json_string(utf8(o.name)) : std::string("null")) + ", \"details\": {";
            for (size_t i = 0; i < o.details.size(); ++i)
                out += (i == 0 ? "" : ", ") + json_string(o.details[i].first) + ": " +
                       json_string(o.details[i].second);
            out += "}}";
            first = false;
        }
        out += "\n  ]";
    }
    if (all || section == Section::Views) {
        out += ",\n  \"views\": [";
        bool first = true;
        for (const auto& v : s.views) {
            if (!process_matches(procs, v.process_id, f)) continue;
            auto it = objects.find(v.object_id);
            if (!object_matches(it == objects.end() ? nullptr : it->second, f)) continue;
            auto pit = procs.find(v.process_id);
            std::snprintf(buf, sizeof buf,
                          "%s\n    {\"process\": %u, \"pid\": %d, \"address\": %llu, \"object\": %llu, "
                          "\"offset\": %llu, \"size\": %llu, \"access\": %u}",
                          first ? "" : ",", v.process_id, pit == procs.end() ? 0 : pit->second->pid,
                          static_cast<unsigned long long>(v.address),
                          static_cast<unsigned long long>(v.object_id),
                          static_cast<unsigned long long>(v.offset),
                          static_cast<unsigned long long>(v.size), v.access);
            out += buf;
            first = false;
        }
        out += "\n  ]";
    }
    out += "\n}\n";
    return out;
}

}  // namespace cek::cedump

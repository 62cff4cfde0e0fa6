// cedump --dot: the object graph. Processes hold handles (solid edges, with their reference
// counts) and views (dashed) of objects; a mapping points at the file it took over; a thread
// shows its state and points at the handles it waits on (dotted).
#include <cstdlib>
#include <set>

#include "tools/cedump/model.h"

namespace cek::cedump {

std::string render_dot(const proto::Snapshot& s, const Filter& f) {
    const Context c(s, f);
    const auto& procs = c.procs;
    const auto& objects = c.objects;
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
        if (o.named) text += "\n" + name_of(o);
        if (o.type == "file") text += "\n" + detail(o, "path") + "\nshare " + detail(o, "share");
        if (o.type == "mapping")
            text += "\n" + detail(o, "size") + " bytes at " + detail(o, "address");
        if (o.type == "thread") {
            text += "\n" + detail(o, "state") + "\npriority " + detail(o, "priority");
            for (const auto& t : s.threads) {
                if (t.handle != o.handle || t.tid == 0) continue;
                for (const auto& w : s.waits)
                    if (w.process_id == t.process_id && w.thread_id == t.tid)
                        for (uint32_t h : w.handles)
                            out += "  o" + u64(o.id) + " -> h" + hex(h).substr(2) +
                                   " [style=dotted, color=\"#a03030\", label=\"waits\"];\n";
            }
        }
        const char* color = o.type == "file"      ? "#f7ecd0"
                            : o.type == "mapping" ? "#d8f0d8"
                            : o.type == "thread"  ? "#f7dede"
                                                  : "#f0f0f0";
        out += "  o" + u64(o.id) + " [shape=" + (o.type == "file" ? "note" : "box3d") +
               ", style=filled, fillcolor=\"" + color + "\", label=" + dot_string(text) + "];\n";
    }
    out += "}\n";
    return out;
}

}  // namespace cek::cedump

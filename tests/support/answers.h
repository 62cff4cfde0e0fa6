// Reading ce_child's answers and kernel snapshots in multi-process tests.
#pragma once

#include <cstddef>
#include <string>

#include "protocol/snapshot.h"
#include "support/process.h"

namespace cek::test {

// Word `index` of an answer line ("ok 0x400102 183" -> [0] "ok", [1] "0x400102", [2] "183").
inline std::string field(const std::string& answer, size_t index) {
    auto w = words(answer);
    return index < w.size() ? w[index] : "";
}

// Attached application processes (cedump and the fixture's own probes are diagnostics).
inline size_t app_processes(const proto::Snapshot& s) {
    size_t n = 0;
    for (const auto& p : s.processes) n += p.channel_state != "diagnostics";
    return n;
}

// Handle entries besides the processes' own (each application process has one: its id).
inline size_t object_handles(const proto::Snapshot& s) {
    size_t n = 0;
    for (const auto& h : s.handles) n += h.type != "process";
    return n;
}

// Detail `key` of the first object of type `type` ("mutex", "mapping"...), "" when none has it.
inline std::string object_detail(const proto::Snapshot& s, const std::string& type,
                                 const std::string& key) {
    for (const auto& o : s.objects)
        if (o.type == type)
            for (const auto& [name, value] : o.details)
                if (name == key) return value;
    return "";
}

// The kernel's ProcessId of the attached process with Linux pid `pid`, or 0.
inline uint32_t process_id_of(const proto::Snapshot& s, int pid) {
    for (const auto& p : s.processes)
        if (p.pid == pid) return p.id;
    return 0;
}

// The CE id (the process handle value, what GetCurrentProcessId returns) of the attached
// process with Linux pid `pid`, or 0.
inline uint32_t ce_id_of(const proto::Snapshot& s, int pid) {
    for (const auto& p : s.processes)
        if (p.pid == pid) return p.handle;
    return 0;
}

}  // namespace cek::test

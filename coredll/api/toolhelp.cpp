// Toolhelp (<tlhelp32.h>): CreateToolhelp32Snapshot, Process32First/Next, Thread32First/Next,
// Module32First/Next, CloseToolhelp32Snapshot. Rules: docs/semantics/processes.md §7.
//
// A snapshot is the kernel's diagnostics snapshot (the request cedump uses), reduced to the
// entries toolhelp gives and kept in the process, as CE keeps it in the caller's memory. Its
// handle is the shim's own: an odd value, which no kernel handle ever is.
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "coredll/api/api.h"
#include "coredll/client/diagnostics.h"
#include "coredll/client/thread_park.h"
// clang-format off
#include <tlhelp32.h>  // after api.h, which orders the kernel's names before <windows.h>'s
// clang-format on

using namespace cek::coredll;

namespace {

struct Snapshot {
    std::vector<PROCESSENTRY32> processes;
    std::vector<THREADENTRY32> threads;
    std::vector<MODULEENTRY32> modules;
    size_t next_process = 0;
    size_t next_thread = 0;
    size_t next_module = 0;
};

struct Snapshots {
    std::mutex mutex;
    std::unordered_map<uintptr_t, std::unique_ptr<Snapshot>> by_handle;
    uintptr_t next = 1;
};

Snapshots& snapshots() {
    static auto* s = new Snapshots;  // outlives static destructors
    return *s;
}

template <size_t N>
void copy_name(WCHAR (&out)[N], const std::u16string& name) {
    const size_t n = std::min(name.size(), N - 1);
    std::memcpy(out, name.data(), n * sizeof(char16_t));
    out[n] = 0;
}

std::u16string file_part(const std::string& path) {
    const size_t slash = path.find_last_of("\\/");
    return cek::utf16_from_utf8(slash == std::string::npos ? path : path.substr(slash + 1));
}

// Runs `f` on the snapshot behind `h` under the lock; ERROR_INVALID_HANDLE when there is none.
template <class F>
BOOL with_snapshot(HANDLE h, F&& f) {
    Snapshots& all = snapshots();
    DeferredLock lock(all.mutex);
    auto it = all.by_handle.find(reinterpret_cast<uintptr_t>(h));
    if (it == all.by_handle.end()) {
        set_last_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    return f(*it->second);
}

// The next entry of `list` into `out` (which says its size first).
template <class Entry>
BOOL next_entry(const std::vector<Entry>& list, size_t& next, Entry* out, bool first) {
    if (out == nullptr || out->dwSize < sizeof(Entry)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    if (first) next = 0;
    if (next >= list.size()) {
        set_last_error(ERROR_NO_MORE_FILES);
        return FALSE;
    }
    const DWORD size = out->dwSize;
    *out = list[next++];
    out->dwSize = size;
    return TRUE;
}

}  // namespace

extern "C" {

HANDLE WINAPI CreateToolhelp32Snapshot(DWORD dwFlags, DWORD th32ProcessID) {
    auto snap = std::make_unique<Snapshot>();
    const DWORD self = GetCurrentProcessId();
    if ((dwFlags & (TH32CS_SNAPPROCESS | TH32CS_SNAPTHREAD)) != 0) {
        auto s = fetch_snapshot(Connection::instance());
        if (!s) {
            set_last_error(Connection::instance().kernel_gone() ? ERROR_SERVICE_NOT_ACTIVE
                                                                : ERROR_NOT_ENOUGH_MEMORY);
            return INVALID_HANDLE_VALUE;
        }
        std::unordered_map<uint32_t, uint32_t> ce_id;  // kernel record -> CE process id
        std::unordered_map<uint32_t, DWORD> threads;   // kernel record -> live threads
        for (const auto& p : s->processes)
            if (p.handle != 0) ce_id[p.id] = p.handle;
        for (const auto& t : s->threads) {
            if ((t.flags & cek::proto::kThreadExited) != 0 || ce_id.count(t.process_id) == 0)
                continue;
            ++threads[t.process_id];
            if ((dwFlags & TH32CS_SNAPTHREAD) == 0) continue;
            THREADENTRY32 e{};
            e.dwSize = sizeof e;
            e.cntUsage = 1;
            e.th32ThreadID = t.handle;
            e.th32OwnerProcessID = ce_id[t.process_id];
            e.tpBasePri = static_cast<LONG>(t.priority);
            e.th32CurrentProcessID = e.th32OwnerProcessID;
            snap->threads.push_back(e);
        }
        if ((dwFlags & TH32CS_SNAPPROCESS) != 0) {
            for (const auto& p : s->processes) {
                if (p.handle == 0) continue;  // a tool, not a CE process
                PROCESSENTRY32 e{};
                e.dwSize = sizeof e;
                e.cntUsage = 1;
                e.th32ProcessID = p.handle;
                e.cntThreads = threads[p.id];
                e.th32ParentProcessID = p.parent;
                e.pcPriClassBase = 251;  // THREAD_PRIORITY_NORMAL's CE level
                copy_name(e.szExeFile, file_part(p.image.empty() ? p.executable : p.image));
                snap->processes.push_back(e);
            }
        }
    }
    if ((dwFlags & TH32CS_SNAPMODULE) != 0 && (th32ProcessID == 0 || th32ProcessID == self)) {
        // The program itself: its CE path, its module handle.
        MODULEENTRY32 e{};
        e.dwSize = sizeof e;
        e.th32ModuleID = 1;
        e.th32ProcessID = self;
        e.GlblcntUsage = e.ProccntUsage = 1;
        e.hModule = GetModuleHandleW(nullptr);
        WCHAR path[MAX_PATH];
        const DWORD n = GetModuleFileNameW(nullptr, path, MAX_PATH);
        std::u16string full(reinterpret_cast<const char16_t*>(path), n);
        copy_name(e.szExePath, full);
        copy_name(e.szModule, file_part(cek::utf8_from_utf16(full)));
        snap->modules.push_back(e);
    }
    Snapshots& all = snapshots();
    DeferredLock lock(all.mutex);
    const uintptr_t handle = (all.next++ << 2) | 1;  // odd: never a kernel handle
    all.by_handle.emplace(handle, std::move(snap));
    return reinterpret_cast<HANDLE>(handle);
}

BOOL WINAPI CloseToolhelp32Snapshot(HANDLE hSnapshot) {
    Snapshots& all = snapshots();
    DeferredLock lock(all.mutex);
    if (all.by_handle.erase(reinterpret_cast<uintptr_t>(hSnapshot)) == 0) {
        set_last_error(ERROR_INVALID_HANDLE);
        return FALSE;
    }
    return TRUE;
}

BOOL WINAPI Process32First(HANDLE h, LPPROCESSENTRY32 e) {
    return with_snapshot(
        h, [&](Snapshot& s) { return next_entry(s.processes, s.next_process, e, true); });
}
BOOL WINAPI Process32Next(HANDLE h, LPPROCESSENTRY32 e) {
    return with_snapshot(
        h, [&](Snapshot& s) { return next_entry(s.processes, s.next_process, e, false); });
}
BOOL WINAPI Thread32First(HANDLE h, LPTHREADENTRY32 e) {
    return with_snapshot(
        h, [&](Snapshot& s) { return next_entry(s.threads, s.next_thread, e, true); });
}
BOOL WINAPI Thread32Next(HANDLE h, LPTHREADENTRY32 e) {
    return with_snapshot(
        h, [&](Snapshot& s) { return next_entry(s.threads, s.next_thread, e, false); });
}
BOOL WINAPI Module32First(HANDLE h, LPMODULEENTRY32 e) {
    return with_snapshot(
        h, [&](Snapshot& s) { return next_entry(s.modules, s.next_module, e, true); });
}
BOOL WINAPI Module32Next(HANDLE h, LPMODULEENTRY32 e) {
    return with_snapshot(
        h, [&](Snapshot& s) { return next_entry(s.modules, s.next_module, e, false); });
}

}  // extern "C"

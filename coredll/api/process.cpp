// Processes: CreateProcessW, OpenProcess, TerminateProcess, ExitProcess, GetExitCodeProcess,
// GetCommandLineW, GetModuleFileNameW, GetModuleHandleW. Rules: docs/semantics/processes.md;
// design: docs/decisions/0011-processes.md.
//
// The kernel starts the programs (it is their parent and reaps them); a CE program it starts
// finds in its environment the descriptor of its connection to the kernel (already the process
// its creator waits for), its CE image path and its command line. The shim reads them before
// main, connects at once and forgets them, so a program this one starts by other means does not
// inherit them.
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "coredll/api/api.h"
#include "coredll/client/log.h"
#include "protocol/channel.h"

using namespace cek::coredll;
namespace proto = cek::proto;

namespace {

// What the program knows of itself: its CE path and its CE command line.
struct Self {
    std::once_flag once;
    bool started_by_kernel = false;
    std::u16string image;
    std::u16string command_line;
};

Self& self() {
    static auto* s = new Self;  // outlives static destructors
    return *s;
}

// An argument as the C runtime's splitting reads it back (the inverse of CE's parsing rules).
std::string quote(const std::string& arg) {
    if (!arg.empty() && arg.find_first_of(" \t\"") == std::string::npos) return arg;
    std::string out = "\"";
    size_t backslashes = 0;
    for (char c : arg) {
        if (c == '\\') {
            ++backslashes;
            continue;
        }
        out.append(c == '"' ? backslashes * 2 + 1 : backslashes, '\\');
        backslashes = 0;
        out.push_back(c);
    }
    out.append(backslashes * 2, '\\');
    return out + "\"";
}

// A program started from a shell: its arguments after the program name, joined, and a CE path
// for its executable (the path inside the object store when it is there, else \Windows\<name>).
void describe_host_program(Self& s) {
    std::string all;
    if (int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC); fd >= 0) {
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
            if (n > 0) all.append(buf, static_cast<size_t>(n));
        ::close(fd);
    }
    std::vector<std::string> args;
    for (size_t start = 0; start < all.size();) {
        size_t end = all.find('\0', start);
        if (end == std::string::npos) end = all.size();
        args.push_back(all.substr(start, end - start));
        start = end + 1;
    }
    std::string line;
    for (size_t i = 1; i < args.size(); ++i) line += (i > 1 ? " " : "") + quote(args[i]);
    s.command_line = cek::utf16_from_utf8(line);

    char exe[4096];
    ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    std::string path = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string();
    std::string ce;
    char root[4096];
    const char* env_root = std::getenv("CEK_ROOT");
    if (env_root != nullptr && ::realpath(env_root, root) != nullptr) {
        std::string r = root;
        if (path.size() > r.size() && path.compare(0, r.size(), r) == 0 && path[r.size()] == '/')
            ce = path.substr(r.size());
    }
    if (ce.empty()) ce = "/Windows/" + path.substr(path.find_last_of('/') + 1);
    for (char& c : ce)
        if (c == '/') c = '\\';
    s.image = cek::utf16_from_utf8(ce);
}

const Self& known_self() {
    Self& s = self();
    std::call_once(s.once, [&s] {
        if (!s.started_by_kernel) describe_host_program(s);
    });
    return s;
}

// Tells the kernel the process ends with `code` (all 32 bits; the host's exit status keeps
// only 8), without waiting for the answer: the process ends next, and the kernel serves what a
// process published before it went (decision 0011, "Exit codes"). A program that never used
// the kernel says nothing.
void tell_exit(uint32_t code) {
    // ExitProcess tells, then exit()'s report_exit tells again: the first code recorded wins,
    // and nothing is skipped that another thread may not have told yet.
    Connection& c = Connection::instance();
    if (!c.connected() || c.kernel_gone()) return;
    (void)c.post(proto::ProcessControlRequest{
        proto::kCurrentProcessHandle, static_cast<uint32_t>(proto::ProcessOp::Exit), code, 0});
}

// main returned or exit() was called.
void report_exit(int status, void*) { tell_exit(static_cast<uint32_t>(status)); }

// Before main (and before the application's own constructors: they run after their
// libraries'): a program the kernel started attaches now, its creator waits for that.
__attribute__((constructor)) void start_process() {
    ::on_exit(&report_exit, nullptr);
    const char* socket = std::getenv(proto::kStartedSocketEnv);
    if (socket == nullptr) return;
    Self& s = self();
    s.started_by_kernel = true;
    if (const char* image = std::getenv("CEK_IMAGE")) s.image = cek::utf16_from_utf8(image);
    if (const char* line = std::getenv("CEK_CMDLINE")) s.command_line = cek::utf16_from_utf8(line);
    char* end = nullptr;
    const long fd = std::strtol(socket, &end, 10);
    Connection::instance().set_started_socket(
        *socket != '\0' && *end == '\0' && fd >= 0 && fd <= INT_MAX ? static_cast<int>(fd) : -1);
    ::unsetenv(proto::kStartedSocketEnv);
    ::unsetenv("CEK_IMAGE");
    ::unsetenv("CEK_CMDLINE");
    if (Connection::instance().ensure_connected()) attach_primary_thread();
}

bool is_self(HANDLE h) {
    const uint32_t v = handle_to_wire(h);
    return v == proto::kCurrentProcessHandle || v == GetCurrentProcessId();
}

bool control(HANDLE h, proto::ProcessOp op, DWORD code, uint32_t& value) {
    proto::ProcessControlRequest req{handle_to_wire(h), static_cast<uint32_t>(op), code, 0};
    proto::ProcessControlReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return false;
    value = rep.value;
    return true;
}

// The executable's own module handle (GetModuleHandleW(NULL), WinMain's hInstance).
HMODULE program_module() {
    static void* handle = ::dlopen(nullptr, RTLD_LAZY);
    return static_cast<HMODULE>(handle);
}

}  // namespace

extern "C" {

BOOL WINAPI CreateProcessW(LPCWSTR pszImageName, LPCWSTR pszCmdLine,
                           LPSECURITY_ATTRIBUTES /*ignored*/, LPSECURITY_ATTRIBUTES /*ignored*/,
                           BOOL fInheritHandles, DWORD fdwCreate, LPVOID pvEnvironment,
                           LPCWSTR pszCurDir, LPSTARTUPINFOW /*ignored*/,
                           LPPROCESS_INFORMATION pProcInfo) {
    proto::ProcessCreateRequest req{};
    req.flags = fdwCreate;
    req.inherit = fInheritHandles ? 1 : 0;
    req.has_environment = pvEnvironment != nullptr ? 1 : 0;
    req.has_current_dir = pszCurDir != nullptr ? 1 : 0;
    std::u16string extra;
    if (pszImageName != nullptr) {
        req.has_image = 1;
        req.image_chars = object_name_length(pszImageName);
        extra.append(reinterpret_cast<const char16_t*>(pszImageName), req.image_chars);
    }
    // A long command line is staged first; one longer than any the kernel takes is only said
    // to be, to be refused there in the personality's order of checks.
    const uint32_t command = length_capped(pszCmdLine, proto::kProcessCommandLongest);
    if (command > proto::kProcessCommandLongest) {
        req.command_overflow = 1;
    } else if (command > proto::kProcessCommandInline) {
        if (!finish(stage_text(proto::kStageCommandLine, pszCmdLine, command))) return FALSE;
        req.command_chars = proto::kTextStaged;
    } else {
        req.command_chars = command;
        extra.append(reinterpret_cast<const char16_t*>(pszCmdLine), command);
    }
    proto::ProcessCreateReply rep{};
    if (!finish(Connection::instance().call(req, rep, std::as_bytes(std::span(extra)))))
        return FALSE;
    if (pProcInfo == nullptr) {
        // CE 5: without PROCESS_INFORMATION both handles are closed before returning.
        (void)CloseHandle(handle_from_wire(rep.thread));
        (void)CloseHandle(handle_from_wire(rep.process));
        return TRUE;
    }
    pProcInfo->hProcess = handle_from_wire(rep.process);
    pProcInfo->hThread = handle_from_wire(rep.thread);
    pProcInfo->dwProcessId = rep.process_id;  // CE 5: the handle values
    pProcInfo->dwThreadId = rep.thread_id;
    return TRUE;
}

HANDLE WINAPI OpenProcess(DWORD /*fdwAccess: ignored by CE*/, BOOL fInherit, DWORD IDProcess) {
    proto::ProcessOpenRequest req{IDProcess, fInherit ? 1u : 0u, 0, 0};
    proto::ProcessOpenReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return nullptr;
    return handle_from_wire(rep.handle);
}

HANDLE WINAPI OpenThread(DWORD /*dwDesiredAccess: ignored by CE*/, BOOL bInheritHandle,
                         DWORD dwThreadId) {
    proto::ProcessOpenRequest req{dwThreadId, bInheritHandle ? 1u : 0u, 1, 0};
    proto::ProcessOpenReply rep{};
    if (!finish(Connection::instance().call(req, rep))) return nullptr;
    return handle_from_wire(rep.handle);
}

namespace {
DWORD id_query(HANDLE h, proto::IdQuery what) {
    proto::IdQueryRequest req{handle_to_wire(h), static_cast<uint32_t>(what)};
    proto::IdQueryReply rep{};
    return finish(Connection::instance().call(req, rep)) ? rep.id : 0;
}
}  // namespace

DWORD WINAPI GetThreadId(HANDLE hThread) { return id_query(hThread, proto::IdQuery::Thread); }
DWORD WINAPI GetProcessId(HANDLE hProcess) { return id_query(hProcess, proto::IdQuery::Process); }
DWORD WINAPI GetProcessIdOfThread(HANDLE hThread) {
    return id_query(hThread, proto::IdQuery::ProcessOfThread);
}

BOOL WINAPI TerminateProcess(HANDLE hProcess, DWORD uExitCode) {
    uint32_t outcome = 0;
    const bool self_target = is_self(hProcess);
    if (!control(hProcess, proto::ProcessOp::Terminate, uExitCode, outcome)) {
        // CE 5 on the calling process: the call fails (ERROR_ACCESS_DENIED) and the process
        // ends anyway, with the code (the kernel has it); no exit handlers run.
        if (self_target && GetLastError() == ERROR_ACCESS_DENIED) ::_exit(uExitCode & 0xFF);
        return FALSE;
    }
    // CE 6 on the calling process (any handle of it: the kernel answers kTerminatedCaller): the
    // call succeeds and the process ends, the same way.
    if (outcome == proto::kTerminatedCaller) ::_exit(uExitCode & 0xFF);
    // The kernel has killed it: CE waits up to 3 s for the end, then reports failure (the
    // termination goes on): ERROR_ACCESS_DENIED in CE 5, ERROR_BUSY in CE 6.
    if (WaitForSingleObject(hProcess, 3000) != WAIT_OBJECT_0) {
        set_last_error(ce6_rules() ? ERROR_BUSY : ERROR_ACCESS_DENIED);
        return FALSE;
    }
    return TRUE;
}

void WINAPI ExitProcess(UINT uExitCode) {
    tell_exit(uExitCode);
    ::exit(static_cast<int>(uExitCode));
}

BOOL WINAPI GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode) {
    if (lpExitCode == nullptr) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return FALSE;
    }
    uint32_t code = 0;
    if (!control(hProcess, proto::ProcessOp::ExitCode, 0, code)) return FALSE;
    if (code != STILL_ACTIVE) acquired(hProcess);  // what the process wrote is seen
    *lpExitCode = code;
    return TRUE;
}

LPWSTR WINAPI GetCommandLineW(void) {
    return reinterpret_cast<LPWSTR>(const_cast<char16_t*>(known_self().command_line.c_str()));
}

HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName) {
    if (lpModuleName == nullptr) return program_module();
    // Modules are host shared objects (LoadLibraryW): found only once loaded.
    set_last_error(ERROR_MOD_NOT_FOUND);
    return nullptr;
}

DWORD WINAPI GetModuleFileNameW(HMODULE hModule, LPWSTR lpFilename, DWORD nSize) {
    if (hModule != nullptr && hModule != program_module()) {
        set_last_error(ERROR_INVALID_HANDLE);
        return 0;
    }
    if (lpFilename == nullptr || nSize == 0) {
        set_last_error(ERROR_INSUFFICIENT_BUFFER);
        return 0;
    }
    const std::u16string& image = known_self().image;
    const size_t n = std::min<size_t>(image.size(), nSize - 1);
    std::memcpy(lpFilename, image.data(), n * sizeof(char16_t));
    lpFilename[n] = 0;
    if (n < image.size()) set_last_error(ERROR_INSUFFICIENT_BUFFER);
    return static_cast<DWORD>(n);
}

}  // extern "C"

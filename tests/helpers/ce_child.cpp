// ce_child: a CE application driven line by line over stdin/stdout, the "other process" of the
// multi-process tests. Each command prints exactly one answer line:
//   ok [values...]   or   fail <GetLastError()>
// Before each call the last error is set to 0xDEADBEEF (printed as "keep" when untouched),
// so tests can tell "set to 0" from "left alone". Numbers are hex where they are handles or
// addresses. Commands:
//   ping | pid | exit <code>
//   create <name|-> <size> <protect> [size_high]   -> ok <handle> <lasterror>
//   map <handle> <access> <offset> <size> [offset_high] -> ok <address> <lasterror>
//   unmap <address> | flush <address> <size> | close <handle>
//   write <address> <text> | read <address> <length> -> ok <text>
//   fill <address> <length> <byte> | check <address> <length> <byte>
//   storm <iterations> <seed>   (prints "started" first; creates/maps/unmaps/closes in a loop)
//   threads <threads> <iterations>  -> ok <failures>
//   forkcheck <handle>  (fork; the child must not see the handle and must work on its own)
//   exec  (prints "ok", then becomes a fresh ce_child with the same pipes)
// Files (paths use '/' or '\'; access, share, flags in hex):
//   open <path> <access> <share> <disposition> [flags]   -> ok <handle> <lasterror>
//   cffm <path> <access> <share> <disposition>           (CreateFileForMappingW) -> same
//   fmap <file> <protect> <size> [name]                  -> ok <handle> <lasterror>
//   fwrite <handle> <text> -> ok <written> | fread <handle> <n> -> ok <text>
//   seek <handle> <distance> <method> -> ok <position> | fsize <handle> -> ok <size>
//   fflush <handle> | eof <handle> | del <path> | attrs <path> -> ok <attributes>
#include <sys/wait.h>
#include <unistd.h>
#include <windows.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr DWORD kSentinel = 0xDEADBEEF;

std::u16string wide(const std::string& s) { return std::u16string(s.begin(), s.end()); }

uint64_t num(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 0); }

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string last_error() {
    DWORD e = GetLastError();
    return e == kSentinel ? "keep" : std::to_string(e);
}

std::string fail() { return "fail " + std::to_string(GetLastError()); }

void* ptr(const std::string& s) { return reinterpret_cast<void*>(static_cast<uintptr_t>(num(s))); }
HANDLE handle(const std::string& s) {
    if (s == "invalid") return INVALID_HANDLE_VALUE;
    return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(num(s)));
}

// One create/map/touch/unmap/close cycle; false on any failure.
bool cycle(const std::u16string& name, uint32_t size) {
    SetLastError(0);
    HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, size,
                                  name.empty() ? nullptr : name.c_str());
    if (m == nullptr) return false;
    // A name another process created may be shorter than asked: every storm mapping has at
    // least 4096 bytes, so touch only those then.
    if (GetLastError() == ERROR_ALREADY_EXISTS) size = 4096;
    auto* p = static_cast<volatile char*>(MapViewOfFile(m, FILE_MAP_ALL_ACCESS, 0, 0, 0));
    bool ok = p != nullptr;
    if (p != nullptr) {
        p[0] = 1;
        p[size - 1] = 2;
        ok = UnmapViewOfFile(const_cast<char*>(p)) != FALSE;
    }
    return CloseHandle(m) != FALSE && ok;
}

std::string run(const std::vector<std::string>& w) {
    const std::string& cmd = w[0];
    SetLastError(kSentinel);
    if (cmd == "ping") return "ok";
    if (cmd == "pid") return "ok " + std::to_string(::getpid());
    if (cmd == "exit") std::exit(w.size() > 1 ? static_cast<int>(num(w[1])) : 0);
    if (cmd == "create" && w.size() >= 4) {
        std::u16string name = wide(w[1]);
        DWORD high = w.size() > 4 ? static_cast<DWORD>(num(w[4])) : 0;
        HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, static_cast<DWORD>(num(w[3])),
                                      high, static_cast<DWORD>(num(w[2])),
                                      w[1] == "-" ? nullptr : name.c_str());
        if (h == nullptr) return fail();
        return "ok " + hex(reinterpret_cast<uintptr_t>(h)) + " " + last_error();
    }
    if (cmd == "map" && w.size() >= 5) {
        DWORD high = w.size() > 5 ? static_cast<DWORD>(num(w[5])) : 0;
        void* p = MapViewOfFile(handle(w[1]), static_cast<DWORD>(num(w[2])), high,
                                static_cast<DWORD>(num(w[3])), static_cast<SIZE_T>(num(w[4])));
        if (p == nullptr) return fail();
        return "ok " + hex(reinterpret_cast<uintptr_t>(p)) + " " + last_error();
    }
    if (cmd == "unmap" && w.size() >= 2)
        return UnmapViewOfFile(ptr(w[1])) ? "ok " + last_error() : fail();
    if (cmd == "flush" && w.size() >= 3)
        return FlushViewOfFile(ptr(w[1]), static_cast<SIZE_T>(num(w[2]))) ? "ok " + last_error()
                                                                          : "fail " + last_error();
    if (cmd == "close" && w.size() >= 2) return CloseHandle(handle(w[1])) ? "ok " + last_error() : fail();
    if (cmd == "write" && w.size() >= 3) {
        std::memcpy(ptr(w[1]), w[2].data(), w[2].size());
        return "ok";
    }
    if (cmd == "read" && w.size() >= 3) {
        return "ok " + std::string(static_cast<const char*>(ptr(w[1])), num(w[2]));
    }
    if (cmd == "fill" && w.size() >= 4) {
        std::memset(ptr(w[1]), static_cast<int>(num(w[3])), num(w[2]));
        return "ok";
    }
    if (cmd == "check" && w.size() >= 4) {
        auto* p = static_cast<const unsigned char*>(ptr(w[1]));
        for (uint64_t i = 0; i < num(w[2]); ++i)
            if (p[i] != num(w[3])) return "fail at " + std::to_string(i);
        return "ok";
    }
    if (cmd == "storm" && w.size() >= 3) {
        std::mt19937 rng(static_cast<uint32_t>(num(w[2])));
        std::cout << "started" << std::endl;
        uint64_t n = num(w[1]);
        for (uint64_t i = 0; n == 0 || i < n; ++i) {
            std::u16string name = u"storm-" + wide(std::to_string(rng() % 8));
            if (!cycle(rng() % 2 ? name : std::u16string(), 4096 + rng() % 65536)) return fail();
        }
        return "ok";
    }
    if (cmd == "threads" && w.size() >= 3) {
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (uint64_t t = 0; t < num(w[1]); ++t) {
            threads.emplace_back([&, t] {
                std::u16string name = u"thread-" + wide(std::to_string(t));
                for (uint64_t i = 0; i < num(w[2]); ++i)
                    if (!cycle(i % 2 ? name : std::u16string(), 8192)) ++failures;
            });
        }
        for (auto& th : threads) th.join();
        return "ok " + std::to_string(failures.load());
    }
    if (cmd == "forkcheck" && w.size() >= 2) {
        // CE: a new process holds nothing of its parent's. The child must not be able to use
        // the parent's handle, and must get a working identity of its own.
        pid_t pid = ::fork();
        if (pid == 0) {
            if (CloseHandle(handle(w[1])) || GetLastError() != ERROR_INVALID_HANDLE) _exit(1);
            if (!cycle(u"", 4096)) _exit(2);
            _exit(0);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0
                   ? "ok"
                   : "fail child status " + std::to_string(status);
    }
    if ((cmd == "open" || cmd == "cffm") && w.size() >= 5) {
        std::u16string path = wide(w[1]);
        auto open = cmd == "open" ? CreateFileW : CreateFileForMappingW;
        HANDLE h = open(path.c_str(), static_cast<DWORD>(num(w[2])), static_cast<DWORD>(num(w[3])),
                        nullptr, static_cast<DWORD>(num(w[4])),
                        w.size() > 5 ? static_cast<DWORD>(num(w[5])) : 0, nullptr);
        if (h == INVALID_HANDLE_VALUE) return fail();
        return "ok " + hex(reinterpret_cast<uintptr_t>(h)) + " " + last_error();
    }
    if (cmd == "fmap" && w.size() >= 4) {
        std::u16string name = w.size() > 4 ? wide(w[4]) : u"";
        HANDLE h = CreateFileMappingW(handle(w[1]), nullptr, static_cast<DWORD>(num(w[2])), 0,
                                      static_cast<DWORD>(num(w[3])),
                                      w.size() > 4 ? name.c_str() : nullptr);
        if (h == nullptr) return fail();
        return "ok " + hex(reinterpret_cast<uintptr_t>(h)) + " " + last_error();
    }
    if (cmd == "fwrite" && w.size() >= 3) {
        DWORD written = 0;
        if (!WriteFile(handle(w[1]), w[2].data(), static_cast<DWORD>(w[2].size()), &written, nullptr))
            return fail();
        return "ok " + std::to_string(written);
    }
    if (cmd == "fread" && w.size() >= 3) {
        std::string buf(num(w[2]), '\0');
        DWORD got = 0;
        if (!ReadFile(handle(w[1]), buf.data(), static_cast<DWORD>(buf.size()), &got, nullptr))
            return fail();
        buf.resize(got);
        return "ok " + buf;
    }
    if (cmd == "seek" && w.size() >= 4) {
        DWORD at = SetFilePointer(handle(w[1]), static_cast<LONG>(std::strtol(w[2].c_str(), nullptr, 0)),
                                  nullptr, static_cast<DWORD>(num(w[3])));
        if (at == INVALID_SET_FILE_POINTER && GetLastError() != NO_ERROR) return fail();
        return "ok " + std::to_string(at);
    }
    if (cmd == "fsize" && w.size() >= 2) {
        DWORD size = GetFileSize(handle(w[1]), nullptr);
        if (size == INVALID_FILE_SIZE && GetLastError() != NO_ERROR) return fail();
        return "ok " + std::to_string(size);
    }
    if (cmd == "fflush" && w.size() >= 2) return FlushFileBuffers(handle(w[1])) ? "ok" : fail();
    if (cmd == "eof" && w.size() >= 2) return SetEndOfFile(handle(w[1])) ? "ok" : fail();
    if (cmd == "del" && w.size() >= 2) return DeleteFileW(wide(w[1]).c_str()) ? "ok" : fail();
    if (cmd == "attrs" && w.size() >= 2) {
        DWORD a = GetFileAttributesW(wide(w[1]).c_str());
        if (a == INVALID_FILE_ATTRIBUTES) return fail();
        return "ok " + hex(a);
    }
    if (cmd == "exec") {
        // Replace this image with a fresh ce_child: the kernel must see the old image's
        // connection close (CLOEXEC) and the new one attach as a new process.
        std::cout << "ok" << std::endl;
        char self[] = "/proc/self/exe";
        char* argv[] = {self, nullptr};
        ::execv(self, argv);
        return fail();
    }
    return "error unknown command";
}

}  // namespace

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::vector<std::string> w;
        for (std::string s; in >> s;) w.push_back(s);
        if (w.empty()) continue;
        std::cout << run(w) << std::endl;
    }
    return 0;
}

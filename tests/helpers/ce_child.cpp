// ce_child: a CE application driven line by line over stdin/stdout, the "other process" of the
// multi-process tests. Each command prints exactly one answer line:
//   ok [values...]   or   fail <GetLastError()>
// Before each call the last error is set to 0xDEADBEEF (printed as "keep" when untouched),
// so tests can tell "set to 0" from "left alone". Numbers are hex where they are handles or
// addresses. Commands:
//   ping | pid | exit <code>
//   bg <command>   the command on a thread of its own: "started" now, "bg <answer>" when done
//   create <name|-> <size> <protect> [size_high]   -> ok <handle> <lasterror>
//   map <handle> <access> <offset> <size> [offset_high] -> ok <address> <lasterror>
//   unmap <address> | flush <address> <size> | close <handle>
//   write <address> <text> | read <address> <length> -> ok <text>
//   mtread <address> <length> <threads>  (all threads read at once; CE 5 touch by address)
//   fill <address> <length> <byte> | check <address> <length> <byte>
//   storm <iterations> <seed>   (prints "started" first; creates/maps/unmaps/closes in a loop)
//   threads <threads> <iterations>  -> ok <failures>
//   fdtakes <threads> <rounds>  first I/O on new files and first views of new mappings, all
//       threads at once, every descriptor checked by content -> ok <failures>
//   forkcheck <handle>  (fork; the child must not see the handle and must work on its own)
//   exec  (prints "ok", then becomes a fresh ce_child with the same pipes)
// Virtual memory (numbers as strtoull reads them):
//   valloc <address> <size> <type> <protect> -> ok <address>
//   vfree <address> <size> <type> | vquery <address> -> ok <state> <protect> <type> <size> <base>
// Files (paths use '/' or '\'; access, share, flags in hex):
//   open <path> <access> <share> <disposition> [flags]   -> ok <handle> <lasterror>
//   cffm <path> <access> <share> <disposition>           (CreateFileForMappingW) -> same
//   fmap <file> <protect> <size> [name]                  -> ok <handle> <lasterror>
//   fwrite <handle> <text> -> ok <written> | fread <handle> <n> -> ok <text>
//   fwritefrom | freadinto <handle> <address> <n> -> ok <bytes>  (WriteFile/ReadFile at an address)
//   seek <handle> <distance> <method> -> ok <position> | fsize <handle> -> ok <size>
//   fflush <handle> | eof <handle> | del <path> | attrs <path> -> ok <attributes>
//   fwriter <handle> -> ok <thread>  (a thread writing 16-byte records until a write fails)
//   frecords <handle> <threads> <records> <tag>  (threads write 16-byte records "<tag><thread
//       hex digit><13-digit seq>\n" through the one handle) -> ok <failed writes>
// Synchronization (the answer to a wait comes when the wait ends; results in hex):
//   event <name|-> <manual> <initial> | mutex <name|-> <owned> | sem <name|-> <initial> <max>
//                                                       -> ok <handle> <lasterror>
//   openevent <name> -> ok <handle> | set|reset|pulse|release <handle> | tid -> ok <tid>
//   peek32 <address> -> ok <the u32 there, decimal>
//   semrel <handle> <count> -> ok <previous> | dup <handle> <options> -> ok <handle>
//   wait <timeout|inf> <handle> [handle...] -> ok <WAIT_* value>
//   mutexloop <mutex> <mapping> <threads> <iterations> (a counter in a named mapping, bumped
//       non-atomically under a named mutex) -> ok <failures>
//   slotflood <threads> (threads block in waits on one event while this thread sets it)
//       -> ok <released>
// Message queues (<msgqueue.h>; timeouts: a number or inf; flags in hex):
//   mq <name|-> <read 0|1> <max_messages> <max_bytes> <flags> -> ok <handle> <lasterror>
//   mqopen <process id|self> <handle> <read 0|1>            -> ok <handle> <lasterror>
//   mqwrite <handle> <timeout> <flags> <text>               -> ok <lasterror>
//   mqread <handle> <timeout> <capacity>                     -> ok <text> <flags> <lasterror>
//   mqinfo <handle> -> ok <flags> <max> <cbmax> <current> <high-water> <readers> <writers>
//   mqstream <handle> <size>  (prints "started" after its first message, then writes numbered
//       messages of <size> bytes, waiting for room, until a write fails) -> fail <error>
//   mqwriters <handle> <threads> <messages> <first id>  (each thread writes <messages> 64-byte
//       messages {id, seq}) -> ok <failures>
//   mqreaders <handle> <threads>  (each thread reads until a stop message, id 0; checks that
//       each writer's messages come in order) -> ok <count> <sum> <order errors> <failures>
//   mqstop <handle> <count>  (writes <count> stop messages)  -> ok
// Registry (keys: HKLM, HKCU, HKCR, HKU or a handle; answers carry the call's return code):
//   regcreate <key> <path> [volatile] -> ok <handle> <disposition> | regopen <key> <path>
//   regclose|regflush <key> | regset <key> <name> <dword> | regget <key> <name> -> ok <type> <v>
//   regstorm <key> <seed> <every>  (sets v0, v1... = i, RegFlushKey every <every>-th, printing
//       "flushed i" after each, until a call fails) -> fail <code>
// Threads:
//   thread  (a CE thread that waits on a new auto-reset event, then returns 9)
//       -> ok <thread handle> <event handle>
//   exitcode <thread> -> ok <GetExitCodeThread's code, hex>
//   spinner  (a CE thread that counts as fast as it can) -> ok <thread handle> <its id>
//   waiter   (a CE thread that counts each time a new auto-reset event lets it through)
//       -> ok <thread handle> <its id> <event handle>
//   counted -> ok <the spinner's count> <the waiter's count> (decimal)
//   suspend|resume <thread> -> ok <previous count> | tterminate <thread> <code> (TerminateThread)
// Ids (CE 6's calls fail under ce5; every number hex, a failed call as "fail<error>"):
//   ids -> ok <GetCurrentProcessId> <GetCurrentThreadId> <GetThreadId(GetCurrentThread())>
//          <GetProcessId(GetCurrentProcess())> <GetVersionEx's major version>
//   threadids -> ok <CreateThread's handle> <its id> <GetThreadId> <GetProcessIdOfThread>
//   openproc <id> | openthread <id> -> ok <handle>
//   dupto <handle> <target process handle> <options> (DuplicateHandle from this process)
//       -> ok <the value in the target's table>
// The shim's own rules (they differ between ce5 and ce6):
//   tlsalloc -> ok <slot> <lasterror> | tlsfree <slot> -> ok <lasterror>
//   tlsfill  (TlsAlloc until it fails) -> ok <slots> <the failing call's lasterror>
//   nullthread (CreateThread with a NULL start routine; ce6 only) -> fail <error>
//   exitcodele <thread> -> ok <code> <lasterror>
#include <sys/wait.h>
#include <unistd.h>
#include <windows.h>
// clang-format off
#include <msgqueue.h>
// clang-format on

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <latch>
#include <random>
#include <sstream>
#include <string>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr DWORD kSentinel = 0xDEADBEEF;
std::atomic<uint64_t> g_spun{0};   // the spinner thread's count
std::atomic<uint64_t> g_woken{0};  // the waiter thread's count

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

// One thread's part of "fdtakes": a file of its own, written (the handle's first I/O takes its
// descriptor) and read back; the file again through CreateFileForMappingW (a kernel-owned
// handle: its first read takes the descriptor, the next ones ask for none) and a view of it (a
// mapping's first view takes the mapping's descriptor), which must show that file's bytes and
// no other's; a RAM mapping's first view, filled and checked. `tag` makes every file's and
// mapping's content distinct.
bool fd_take_round(uint32_t tag) {
    constexpr DWORD kBytes = 8192;
    const std::u16string path = u"\\fdtake-" + wide(std::to_string(tag)) + u".bin";
    std::string data(kBytes, static_cast<char>('A' + tag % 26));
    std::memcpy(data.data(), &tag, sizeof tag);
    HANDLE f = CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                           0, nullptr);
    if (f == INVALID_HANDLE_VALUE) return false;
    DWORD done = 0;
    bool ok = WriteFile(f, data.data(), kBytes, &done, nullptr) && done == kBytes;
    std::string back(kBytes, '\0');
    ok = ok && SetFilePointer(f, 0, nullptr, FILE_BEGIN) == 0 &&
         ReadFile(f, back.data(), kBytes, &done, nullptr) && done == kBytes && back == data;
    ok = CloseHandle(f) && ok;
    HANDLE cf = CreateFileForMappingW(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr,
                                      OPEN_EXISTING, 0, nullptr);
    if (cf == INVALID_HANDLE_VALUE) return false;
    for (int i = 0; i < 2; ++i) {
        back.assign(kBytes, '\0');
        ok = ok && SetFilePointer(cf, 0, nullptr, FILE_BEGIN) == 0 &&
             ReadFile(cf, back.data(), kBytes, &done, nullptr) && done == kBytes && back == data;
    }
    HANDLE fm = CreateFileMappingW(cf, nullptr, PAGE_READONLY, 0, 0, nullptr);  // takes cf over
    auto* fv = fm != nullptr ? static_cast<const char*>(MapViewOfFile(fm, FILE_MAP_READ, 0, 0, 0))
                             : nullptr;
    ok = ok && fv != nullptr && std::memcmp(fv, data.data(), kBytes) == 0;
    HANDLE rm =
        CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 65536, nullptr);
    auto* rv = rm != nullptr
                   ? static_cast<uint32_t*>(MapViewOfFile(rm, FILE_MAP_ALL_ACCESS, 0, 0, 0))
                   : nullptr;
    if (rv != nullptr) {
        for (uint32_t i = 0; i < 65536 / 4; ++i) rv[i] = tag ^ i;
        for (uint32_t i = 0; i < 65536 / 4; ++i) ok = ok && rv[i] == (tag ^ i);
        ok = UnmapViewOfFile(rv) && ok;
    } else {
        ok = false;
    }
    if (fv != nullptr) ok = UnmapViewOfFile(fv) && ok;
    if (rm != nullptr) ok = CloseHandle(rm) && ok;
    if (fm != nullptr) ok = CloseHandle(fm) && ok;
    return DeleteFileW(path.c_str()) && ok;
}

// `threads` threads released together, each running `rounds` of fd_take_round at once.
std::string fd_takes(uint64_t threads, uint64_t rounds) {
    std::atomic<int> failures{0};
    std::latch start(static_cast<std::ptrdiff_t>(threads));
    std::vector<std::thread> pool;
    for (uint64_t t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            start.arrive_and_wait();
            for (uint64_t r = 0; r < rounds; ++r)
                if (!fd_take_round(static_cast<uint32_t>(t * rounds + r))) ++failures;
        });
    }
    for (auto& th : pool) th.join();
    return "ok " + std::to_string(failures.load());
}

LPCWSTR optional_name(const std::u16string& name) { return name == u"-" ? nullptr : name.c_str(); }

std::string created(HANDLE h) {
    return h != nullptr ? "ok " + hex(reinterpret_cast<uintptr_t>(h)) + " " + last_error() : fail();
}

DWORD timeout_of(const std::string& s) { return s == "inf" ? INFINITE : static_cast<DWORD>(num(s)); }

// The throughput messages: 64 bytes, a writer id (0: stop) and a sequence number.
struct TestMessage {
    uint32_t id;
    uint32_t seq;
    char fill[56];
};

std::string mq_writers(HANDLE q, int threads, uint32_t messages, uint32_t first_id) {
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            TestMessage m{};
            m.id = first_id + static_cast<uint32_t>(t);
            for (uint32_t i = 1; i <= messages; ++i) {
                m.seq = i;
                if (!WriteMsgQueue(q, &m, sizeof m, INFINITE, 0)) ++failures;
            }
        });
    }
    for (auto& th : pool) th.join();
    return "ok " + std::to_string(failures.load());
}

std::string mq_readers(HANDLE q, int threads) {
    std::atomic<uint64_t> count{0}, sum{0};
    std::atomic<int> order_errors{0}, failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            std::vector<uint32_t> last(1024, 0);  // per writer id: the last sequence seen
            for (;;) {
                TestMessage m{};
                DWORD got = 0, flags = 0;
                if (!ReadMsgQueue(q, &m, sizeof m, &got, INFINITE, &flags) || got != sizeof m) {
                    ++failures;
                    return;
                }
                if (m.id == 0) return;
                if (m.id >= last.size() || m.seq <= last[m.id]) ++order_errors;
                if (m.id < last.size()) last[m.id] = m.seq;
                ++count;
                sum += uint64_t{m.id} * 1'000'000u + m.seq;
            }
        });
    }
    for (auto& th : pool) th.join();
    return "ok " + std::to_string(count.load()) + " " + std::to_string(sum.load()) + " " +
           std::to_string(order_errors.load()) + " " + std::to_string(failures.load());
}

std::string mq_command(const std::vector<std::string>& w) {
    const std::string& cmd = w[0];
    if (cmd == "mq" && w.size() >= 6) {
        MSGQUEUEOPTIONS o{sizeof(MSGQUEUEOPTIONS), static_cast<DWORD>(num(w[5])),
                          static_cast<DWORD>(num(w[3])), static_cast<DWORD>(num(w[4])),
                          num(w[2]) != 0};
        return created(CreateMsgQueue(optional_name(wide(w[1])), &o));
    }
    if (cmd == "mqopen" && w.size() >= 4) {
        MSGQUEUEOPTIONS o{sizeof(MSGQUEUEOPTIONS), 0, 0, 0, num(w[3]) != 0};
        HANDLE process = w[1] == "self" ? GetCurrentProcess() : handle(w[1]);
        return created(OpenMsgQueue(process, handle(w[2]), &o));
    }
    if (cmd == "mqwrite" && w.size() >= 5)
        return WriteMsgQueue(handle(w[1]), const_cast<char*>(w[4].data()),
                             static_cast<DWORD>(w[4].size()), timeout_of(w[2]),
                             static_cast<DWORD>(num(w[3])))
                   ? "ok " + last_error()
                   : fail();
    if (cmd == "mqread" && w.size() >= 4) {
        std::string buf(num(w[3]), '\0');
        DWORD got = 0, flags = 0;
        if (!ReadMsgQueue(handle(w[1]), buf.data(), static_cast<DWORD>(buf.size()), &got,
                          timeout_of(w[2]), &flags))
            return fail();
        buf.resize(got);
        return "ok " + buf + " " + hex(flags) + " " + last_error();
    }
    if (cmd == "mqinfo" && w.size() >= 2) {
        MSGQUEUEINFO i{};
        i.dwSize = sizeof i;
        if (!GetMsgQueueInfo(handle(w[1]), &i)) return fail();
        return "ok " + hex(i.dwFlags) + " " + std::to_string(i.dwMaxMessages) + " " +
               std::to_string(i.cbMaxMessage) + " " + std::to_string(i.dwCurrentMessages) + " " +
               std::to_string(i.dwMaxQueueMessages) + " " + std::to_string(i.wNumReaders) + " " +
               std::to_string(i.wNumWriters);
    }
    if (cmd == "mqstream" && w.size() >= 3) {
        std::string msg(num(w[2]), 'm');
        for (uint64_t i = 0;; ++i) {
            std::snprintf(msg.data(), msg.size(), "%08llu", static_cast<unsigned long long>(i));
            if (!WriteMsgQueue(handle(w[1]), msg.data(), static_cast<DWORD>(msg.size()), INFINITE, 0))
                return fail();
            if (i == 0) std::cout << "started" << std::endl;
        }
    }
    if (cmd == "mqwriters" && w.size() >= 5)
        return mq_writers(handle(w[1]), static_cast<int>(num(w[2])), static_cast<uint32_t>(num(w[3])),
                          static_cast<uint32_t>(num(w[4])));
    if (cmd == "mqreaders" && w.size() >= 3)
        return mq_readers(handle(w[1]), static_cast<int>(num(w[2])));
    if (cmd == "mqstop" && w.size() >= 3) {
        TestMessage stop{};
        for (uint64_t i = 0; i < num(w[2]); ++i)
            if (!WriteMsgQueue(handle(w[1]), &stop, sizeof stop, INFINITE, 0)) return fail();
        return "ok";
    }
    return "error unknown command";
}


// One round of the calls whose state the shim keeps under a lock of its own, as CE keeps it in
// its kernel: a view of a RAM mapping, a VirtualAlloc, a TLS slot. False at the first failure.
bool shim_state_round() {
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 65536,
                                    nullptr);
    if (map == nullptr) return false;
    void* view = MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    bool ok = view != nullptr;
    if (ok) {
        static_cast<volatile char*>(view)[0] = 1;
        ok = UnmapViewOfFile(view) != FALSE;
    }
    ok = CloseHandle(map) != FALSE && ok;
    void* memory = VirtualAlloc(nullptr, 65536, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (memory == nullptr) return false;
    static_cast<volatile char*>(memory)[4096] = 1;
    ok = VirtualFree(memory, 0, MEM_RELEASE) != FALSE && ok;
    const DWORD slot = TlsAlloc();
    if (slot == TLS_OUT_OF_INDEXES) return false;
    ok = TlsSetValue(slot, &ok) != FALSE && ok;
    return TlsFree(slot) != FALSE && ok;
}

// Threads of this process bump a counter in a named mapping, read-yield-write, under a named
// mutex; any lost update means two owners at once. Returns the number of failed calls.
int mutex_loop(const std::u16string& mutex_name, const std::u16string& map_name, int threads,
               int iterations) {
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            HANDLE m = CreateMutexW(nullptr, FALSE, mutex_name.c_str());
            HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0,
                                            4096, map_name.c_str());
            auto* counter = map != nullptr ? static_cast<volatile uint32_t*>(
                                                 MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0))
                                           : nullptr;
            if (m == nullptr || counter == nullptr) {
                ++failures;
                return;
            }
            for (int i = 0; i < iterations; ++i) {
                if (WaitForSingleObject(m, 10000) != WAIT_OBJECT_0) {
                    ++failures;
                    continue;
                }
                uint32_t v = *counter;
                std::this_thread::yield();
                *counter = v + 1;
                if (!ReleaseMutex(m)) ++failures;
            }
            UnmapViewOfFile(const_cast<uint32_t*>(counter));
            CloseHandle(map);
            CloseHandle(m);
        });
    }
    for (auto& t : pool) t.join();
    return failures.load();
}

// `threads` threads each write `records` 16-byte records "<tag><thread><13-digit seq>\n"
// through one file handle, one WriteFile each. Returns the number of failed writes.
int file_records(HANDLE file, int threads, int records, char tag) {
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            for (int i = 0; i < records; ++i) {
                char record[17];
                std::snprintf(record, sizeof record, "%c%x%013d\n", tag, t, i);
                DWORD written = 0;
                if (!WriteFile(file, record, 16, &written, nullptr) || written != 16) ++failures;
            }
        });
    }
    for (auto& t : pool) t.join();
    return failures.load();
}

// `threads` threads wait on one manual-reset event (more waits than the channel has slots for
// waits); this thread's SetEvent must still get through. Returns how many waits succeeded.
int slot_flood(int threads) {
    HANDLE e = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (e == nullptr) return -1;
    std::atomic<int> released{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            if (WaitForSingleObject(e, 30000) == WAIT_OBJECT_0) ++released;
        });
    // Calls from this thread keep working while every wait slot may be taken.
    for (int i = 0; i < 100; ++i) ResetEvent(e);
    SetEvent(e);
    for (auto& t : pool) t.join();
    CloseHandle(e);
    return released.load();
}

// Registry commands (tests/multiproc/registry_test.cpp). Keys: HKLM, HKCU, HKCR, HKU or a
// handle value; answers "ok ..." or "fail CODE" with the code the call returned.
HKEY hkey(const std::string& s) {
    if (s == "HKLM") return HKEY_LOCAL_MACHINE;
    if (s == "HKCU") return HKEY_CURRENT_USER;
    if (s == "HKCR") return HKEY_CLASSES_ROOT;
    if (s == "HKU") return HKEY_USERS;
    return reinterpret_cast<HKEY>(handle(s));
}

std::string reg_result(LONG e) { return e == ERROR_SUCCESS ? "ok" : "fail " + std::to_string(e); }

std::string reg_command(const std::vector<std::string>& w) {
    const std::string& cmd = w[0];
    if (cmd == "regcreate" && w.size() >= 3) {
        HKEY k = nullptr;
        DWORD disp = 0;
        const DWORD options = w.size() >= 4 && w[3] == "volatile" ? REG_OPTION_VOLATILE : 0;
        LONG e = RegCreateKeyExW(hkey(w[1]), wide(w[2]).c_str(), 0, nullptr, options, 0, nullptr,
                                 &k, &disp);
        if (e != ERROR_SUCCESS) return reg_result(e);
        return "ok " + hex(reinterpret_cast<uintptr_t>(k)) + " " + std::to_string(disp);
    }
    if (cmd == "regopen" && w.size() >= 3) {
        HKEY k = nullptr;
        LONG e = RegOpenKeyExW(hkey(w[1]), wide(w[2]).c_str(), 0, 0, &k);
        if (e != ERROR_SUCCESS) return reg_result(e);
        return "ok " + hex(reinterpret_cast<uintptr_t>(k));
    }
    if (cmd == "regclose" && w.size() >= 2) return reg_result(RegCloseKey(hkey(w[1])));
    if (cmd == "regflush" && w.size() >= 2) return reg_result(RegFlushKey(hkey(w[1])));
    if (cmd == "regset" && w.size() >= 4) {
        const DWORD v = static_cast<DWORD>(num(w[3]));
        return reg_result(RegSetValueExW(hkey(w[1]), wide(w[2]).c_str(), 0, REG_DWORD,
                                         reinterpret_cast<const BYTE*>(&v), sizeof v));
    }
    if (cmd == "regget" && w.size() >= 3) {
        DWORD v = 0, type = 0, size = sizeof v;
        LONG e = RegQueryValueExW(hkey(w[1]), wide(w[2]).c_str(), nullptr, &type,
                                  reinterpret_cast<BYTE*>(&v), &size);
        if (e != ERROR_SUCCESS) return reg_result(e);
        return "ok " + std::to_string(type) + " " + std::to_string(v);
    }
    if (cmd == "regstorm" && w.size() >= 4) {
        // Writes values v0, v1... = i under key w[1] forever, flushing every w[3]-th and saying
        // "flushed i" once RegFlushKey returned; stops at the first failure (the kernel died).
        const uint64_t every = std::max<uint64_t>(1, num(w[3]));
        HKEY k = hkey(w[1]);
        (void)w[2];
        for (DWORD i = 0;; ++i) {
            const std::u16string name = u"v" + wide(std::to_string(i));
            LONG e = RegSetValueExW(k, name.c_str(), 0, REG_DWORD, reinterpret_cast<const BYTE*>(&i),
                                    sizeof i);
            if (e == ERROR_SUCCESS && (i + 1) % every == 0) {
                e = RegFlushKey(k);
                if (e == ERROR_SUCCESS) std::cout << "flushed " << i << std::endl;
            }
            if (e != ERROR_SUCCESS) return reg_result(e);
        }
    }
    return "error unknown command";
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
    if (cmd == "mtread" && w.size() >= 4) {  // THREADS threads read LEN bytes at ADDR at once
        const size_t threads = num(w[3]);
        std::vector<std::string> got(threads);
        std::latch start(static_cast<std::ptrdiff_t>(threads));
        std::vector<std::thread> pool;
        for (size_t i = 0; i < threads; ++i)
            pool.emplace_back([&, i] {
                start.arrive_and_wait();
                got[i].assign(static_cast<const char*>(ptr(w[1])), num(w[2]));
            });
        for (auto& t : pool) t.join();
        for (const auto& g : got)
            if (g != got[0]) return "fail threads disagree";
        return "ok " + got[0];
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
    if (cmd == "fdtakes" && w.size() >= 3) return fd_takes(num(w[1]), num(w[2]));
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
    if ((cmd == "fwritefrom" || cmd == "freadinto") && w.size() >= 4) {  // data at an address
        DWORD moved = 0;
        const auto n = static_cast<DWORD>(num(w[3]));
        const bool ok = cmd == "fwritefrom" ? WriteFile(handle(w[1]), ptr(w[2]), n, &moved, nullptr)
                                            : ReadFile(handle(w[1]), ptr(w[2]), n, &moved, nullptr);
        if (!ok) return fail();
        return "ok " + std::to_string(moved);
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
    if (cmd == "event" && w.size() >= 4)
        return created(CreateEventW(nullptr, num(w[2]) != 0, num(w[3]) != 0,
                                    optional_name(wide(w[1]))));
    if (cmd == "mutex" && w.size() >= 3)
        return created(CreateMutexW(nullptr, num(w[2]) != 0, optional_name(wide(w[1]))));
    if (cmd == "sem" && w.size() >= 4)
        return created(CreateSemaphoreW(nullptr, static_cast<LONG>(num(w[2])),
                                        static_cast<LONG>(num(w[3])), optional_name(wide(w[1]))));
    if (cmd == "openevent" && w.size() >= 2) {
        HANDLE h = OpenEventW(EVENT_ALL_ACCESS, FALSE, wide(w[1]).c_str());
        return h != nullptr ? "ok " + hex(reinterpret_cast<uintptr_t>(h)) : fail();
    }
    if (cmd == "set" && w.size() >= 2) return SetEvent(handle(w[1])) ? "ok" : fail();
    if (cmd == "reset" && w.size() >= 2) return ResetEvent(handle(w[1])) ? "ok" : fail();
    if (cmd == "pulse" && w.size() >= 2) return PulseEvent(handle(w[1])) ? "ok" : fail();
    if (cmd == "release" && w.size() >= 2) return ReleaseMutex(handle(w[1])) ? "ok" : fail();
    if (cmd == "semrel" && w.size() >= 3) {
        LONG previous = -1;
        return ReleaseSemaphore(handle(w[1]), static_cast<LONG>(num(w[2])), &previous)
                   ? "ok " + std::to_string(previous)
                   : fail();
    }
    if (cmd == "peek32" && w.size() >= 2)
        return "ok " + std::to_string(*static_cast<volatile uint32_t*>(ptr(w[1])));
    if (cmd == "tid") return "ok " + std::to_string(::gettid());
    if (cmd == "dup" && w.size() >= 3) {
        HANDLE out = nullptr;
        return DuplicateHandle(GetCurrentProcess(), handle(w[1]), GetCurrentProcess(), &out, 0,
                               FALSE, static_cast<DWORD>(num(w[2])))
                   ? "ok " + hex(reinterpret_cast<uintptr_t>(out))
                   : fail();
    }
    if (cmd == "wait" && w.size() >= 3) {
        DWORD timeout = w[1] == "inf" ? INFINITE : static_cast<DWORD>(num(w[1]));
        std::vector<HANDLE> hs;
        for (size_t i = 2; i < w.size(); ++i) hs.push_back(handle(w[i]));
        DWORD r = WaitForMultipleObjects(static_cast<DWORD>(hs.size()), hs.data(), FALSE, timeout);
        return r == WAIT_FAILED ? fail() : "ok " + hex(r);
    }
    if (cmd == "thread") {  // ok <handle> <event that ends it> <id>
        HANDLE ev = CreateEventW(nullptr, FALSE, FALSE, nullptr);
        DWORD id = 0;
        HANDLE t = CreateThread(
            nullptr, 0,
            [](LPVOID e) -> DWORD {
                return WaitForSingleObject(static_cast<HANDLE>(e), INFINITE) == WAIT_OBJECT_0 ? 9
                                                                                             : 1;
            },
            ev, 0, &id);
        return t != nullptr ? "ok " + hex(reinterpret_cast<uintptr_t>(t)) + " " +
                                  hex(reinterpret_cast<uintptr_t>(ev)) + " " + hex(id)
                            : fail();
    }
    if (cmd == "spinner" || cmd == "waiter") {
        const bool spinner = cmd == "spinner";
        HANDLE ev = spinner ? nullptr : CreateEventW(nullptr, FALSE, FALSE, nullptr);
        DWORD id = 0;
        LPTHREAD_START_ROUTINE spin = [](LPVOID) -> DWORD {
            for (;;) g_spun.fetch_add(1, std::memory_order_relaxed);
        };
        LPTHREAD_START_ROUTINE wait = [](LPVOID e) -> DWORD {
            while (WaitForSingleObject(static_cast<HANDLE>(e), INFINITE) == WAIT_OBJECT_0)
                g_woken.fetch_add(1, std::memory_order_relaxed);
            return 1;
        };
        HANDLE t = CreateThread(nullptr, 0, spinner ? spin : wait, ev, 0, &id);
        if (t == nullptr) return fail();
        return "ok " + hex(reinterpret_cast<uintptr_t>(t)) + " " + hex(id) +
               (spinner ? "" : " " + hex(reinterpret_cast<uintptr_t>(ev)));
    }
    if (cmd == "fwriter" && w.size() >= 2) {  // a thread writing 16-byte records until it fails
        DWORD id = 0;
        HANDLE t = CreateThread(
            nullptr, 0,
            [](LPVOID f) -> DWORD {
                static const char kRecord[] = "W-thread-record\n";
                DWORD n = 0;
                while (WriteFile(static_cast<HANDLE>(f), kRecord, 16, &n, nullptr) && n == 16) {}
                return 1;
            },
            handle(w[1]), 0, &id);
        return t != nullptr ? "ok " + hex(reinterpret_cast<uintptr_t>(t)) : fail();
    }
    if (cmd == "statelooper") {  // a thread making shim_state_round()s until one fails
        HANDLE first = CreateEventW(nullptr, TRUE, FALSE, nullptr);
        DWORD id = 0;
        HANDLE t = CreateThread(
            nullptr, 0,
            [](LPVOID e) -> DWORD {
                bool told = false;
                while (shim_state_round())
                    if (!std::exchange(told, true)) SetEvent(static_cast<HANDLE>(e));
                return 1;
            },
            first, 0, &id);
        if (t == nullptr) return fail();
        return WaitForSingleObject(first, 30000) == WAIT_OBJECT_0
                   ? "ok " + hex(reinterpret_cast<uintptr_t>(t))
                   : "error the looper made no round";
    }
    if (cmd == "stateround") return shim_state_round() ? "ok" : fail();
    if (cmd == "counted")
        return "ok " + std::to_string(g_spun.load()) + " " + std::to_string(g_woken.load());
    if ((cmd == "suspend" || cmd == "resume") && w.size() >= 2) {
        HANDLE h = handle(w[1]);
        DWORD previous = cmd == "suspend" ? SuspendThread(h) : ResumeThread(h);
        return previous != 0xFFFFFFFF ? "ok " + std::to_string(previous) : fail();
    }
    if (cmd == "tterminate" && w.size() >= 3)
        return TerminateThread(handle(w[1]), static_cast<DWORD>(num(w[2]))) ? "ok" : fail();
    if (cmd == "ids") {
        auto id = [](DWORD v) {
            return v != 0 ? hex(v) : "fail" + std::to_string(GetLastError());
        };
        OSVERSIONINFOW version{};
        version.dwOSVersionInfoSize = sizeof version;
        GetVersionExW(&version);
        return "ok " + id(GetCurrentProcessId()) + " " + id(GetCurrentThreadId()) + " " +
               id(GetThreadId(GetCurrentThread())) + " " + id(GetProcessId(GetCurrentProcess())) +
               " " + hex(version.dwMajorVersion);
    }
    if (cmd == "threadids") {
        DWORD tid = 0;
        HANDLE t = CreateThread(nullptr, 0, [](LPVOID) -> DWORD { return 0; }, nullptr, 0, &tid);
        if (t == nullptr) return fail();
        auto id = [](DWORD v) {
            return v != 0 ? hex(v) : "fail" + std::to_string(GetLastError());
        };
        std::string out = "ok " + hex(reinterpret_cast<uintptr_t>(t)) + " " + hex(tid) + " " +
                          id(GetThreadId(t)) + " " + id(GetProcessIdOfThread(t));
        WaitForSingleObject(t, INFINITE);
        CloseHandle(t);
        return out;
    }
    if ((cmd == "openproc" || cmd == "openthread") && w.size() >= 2) {
        const auto id = static_cast<DWORD>(num(w[1]));
        HANDLE h = cmd == "openproc" ? OpenProcess(0, FALSE, id) : OpenThread(0, FALSE, id);
        return h != nullptr ? "ok " + hex(reinterpret_cast<uintptr_t>(h)) : fail();
    }
    if (cmd == "dupto" && w.size() >= 4) {
        HANDLE out = nullptr;
        return DuplicateHandle(GetCurrentProcess(), handle(w[1]), handle(w[2]), &out, 0, FALSE,
                               static_cast<DWORD>(num(w[3])))
                   ? "ok " + hex(reinterpret_cast<uintptr_t>(out))
                   : fail();
    }
    if (cmd == "tlsalloc") {
        DWORD slot = TlsAlloc();
        return slot != TLS_OUT_OF_INDEXES ? "ok " + std::to_string(slot) + " " + last_error()
                                          : fail();
    }
    if (cmd == "tlsfree" && w.size() >= 2)
        return TlsFree(static_cast<DWORD>(num(w[1]))) ? "ok " + last_error()
                                                     : "fail " + last_error();
    if (cmd == "tlsfill") {
        int slots = 0;
        while (TlsAlloc() != TLS_OUT_OF_INDEXES) ++slots;
        return "ok " + std::to_string(slots) + " " + last_error();
    }
    if (cmd == "nullthread") {
        HANDLE t = CreateThread(nullptr, 0, nullptr, nullptr, 0, nullptr);
        return t == nullptr ? fail() : "ok " + hex(reinterpret_cast<uintptr_t>(t));
    }
    if (cmd == "exitcodele" && w.size() >= 2) {
        DWORD code = 0;
        return GetExitCodeThread(handle(w[1]), &code) ? "ok " + hex(code) + " " + last_error()
                                                      : fail();
    }
    if (cmd == "terminate" && w.size() >= 3)  // TerminateProcess; on oneself, no answer comes
        return TerminateProcess(handle(w[1]), static_cast<DWORD>(num(w[2]))) ? "ok" : fail();
    if (cmd == "pexitcode" && w.size() >= 2) {
        DWORD code = 0;
        return GetExitCodeProcess(handle(w[1]), &code) ? "ok " + hex(code) : fail();
    }
    if (cmd == "exitcode" && w.size() >= 2) {
        DWORD code = 0;
        return GetExitCodeThread(handle(w[1]), &code) ? "ok " + hex(code) : fail();
    }
    if (cmd == "frecords" && w.size() >= 5)
        return "ok " + std::to_string(file_records(handle(w[1]), static_cast<int>(num(w[2])),
                                                   static_cast<int>(num(w[3])), w[4][0]));
    if (cmd == "mutexloop" && w.size() >= 5)
        return "ok " + std::to_string(mutex_loop(wide(w[1]), wide(w[2]),
                                                 static_cast<int>(num(w[3])),
                                                 static_cast<int>(num(w[4]))));
    if (cmd == "slotflood" && w.size() >= 2)
        return "ok " + std::to_string(slot_flood(static_cast<int>(num(w[1]))));
    if (cmd == "valloc" && w.size() >= 5) {
        void* p = VirtualAlloc(ptr(w[1]), static_cast<SIZE_T>(num(w[2])),
                               static_cast<DWORD>(num(w[3])), static_cast<DWORD>(num(w[4])));
        return p == nullptr ? fail() : "ok " + hex(reinterpret_cast<uintptr_t>(p));
    }
    if (cmd == "vfree" && w.size() >= 4)
        return VirtualFree(ptr(w[1]), static_cast<SIZE_T>(num(w[2])),
                           static_cast<DWORD>(num(w[3])))
                   ? "ok"
                   : fail();
    if (cmd == "vprotect" && w.size() >= 4) {  // vprotect ADDR SIZE PROTECT [null]
        DWORD old = 0;
        const bool null_old = w.size() > 4 && w[4] == "null";
        return VirtualProtect(ptr(w[1]), static_cast<SIZE_T>(num(w[2])),
                              static_cast<DWORD>(num(w[3])), null_old ? nullptr : &old)
                   ? "ok " + hex(old)
                   : fail();
    }
    if (cmd == "vquery" && w.size() >= 2) {
        MEMORY_BASIC_INFORMATION info{};
        if (VirtualQuery(ptr(w[1]), &info, sizeof info) == 0) return fail();
        return "ok " + hex(info.State) + " " + hex(info.Protect) + " " + hex(info.Type) + " " +
               hex(info.RegionSize) + " " + hex(reinterpret_cast<uintptr_t>(info.AllocationBase));
    }
    if (cmd.rfind("mq", 0) == 0) return mq_command(w);
    if (cmd.rfind("reg", 0) == 0) return reg_command(w);
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

std::mutex g_output;  // answers from the main thread and from "bg" threads, a line each

void answer(const std::string& line) {
    std::lock_guard lock(g_output);
    std::cout << line << std::endl;
}

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::vector<std::string> w;
        for (std::string s; in >> s;) w.push_back(s);
        if (w.empty()) continue;
        if (w[0] == "bg" && w.size() > 1) {
            // "bg <command>": the command on a thread of its own, answered "bg <answer>" when
            // it is done; "started" now.
            std::thread([rest = std::vector<std::string>(w.begin() + 1, w.end())] {
                answer("bg " + run(rest));
            }).detach();
            answer("started");
            continue;
        }
        answer(run(w));
    }
    return 0;
}

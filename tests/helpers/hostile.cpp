// hostile: a misbehaving client, driven line by line over stdin/stdout like ce_child. It speaks
// the raw protocol (protocol/channel.h) to do what the shim never would, and the CE API (linked
// statically, so it also runs as another user from a copy outside the build tree) for the
// well-formed abuse: quotas, the window, call loops. Each command prints one answer line.
//
// Raw connection (one at a time, "the connection"):
//   hello [magic] [version] [extra_fds]  -> status <HelloStatus> | closed | timeout | error <errno>
//   silent                  connect and never say hello (kept open)          -> ok
//   null [cookie]           one Null round trip on the connection            -> ok | fail <why>
//   malformed               every malformed request this file knows, each with its expected
//                           error                                            -> ok <n> | fail <why>
//   garbage <count> <seed>  random bytes in random slots, every reply must be well-formed
//   scribble <count>        one thread rewrites slot 0 without pause while this one publishes it
//   noreply <count>         publishes in slot 1 and never reads a reply       -> ok
//   spurious <count>        ready bits for slots with nothing new; none may be answered -> ok
//   flood / stop            all 64 slots published continuously by a thread until "stop"
//                           -> started / ok <published> <answered>
//   channel                 resize, seal and scribble the channel's header   -> ok <errnos>
//   unmap                   drop our mapping and descriptor of the channel   -> ok
//   data                    send bytes on the socket after the hello         -> closed | open
//   fdsend                  send a descriptor (and a KernelFdMessage) on the socket after the
//                           hello                                            -> closed | open
//   fdflood <path> <count>  CreateFile <path>, then up to <count> FileDescriptor calls asking
//                           for the descriptor, never reading the socket
//                           -> ok <count> | refused <calls that succeeded> <error> | fail <why>
//   drop                    close the connection                             -> ok
//   rawid                   the connection's process id (decimal)            -> ok <id>
//   lastwords <code> [posted]  once the kernel sleeps, ExitProcess(<code>)'s request published
//                           (posted as the shim posts it unless [posted] is 0) without a ring,
//                           and the connection closed at once           -> ok | fail <why>
// CE API:
//   quota                   CreateEventW until it fails                      -> ok <count> <error>
//   open-name <name>        CreateFileMappingW of an existing name           -> ok | fail <error>
//   mqlock <name> hold|set <tid>|free  the ring lock of queue <name>'s writer end (4 x 64 bytes):
//                           held for good, or its owner word set or cleared  -> held | ok | fail
//   create <size>           one unnamed RAM mapping                          -> ok <h> | fail <error>
//   window                  mappings until the window is full to the page   -> ok <count> <error>
//   map-all                 MapViewOfFile of every mapping "window" made     -> ok <count> | fail
//   close-all               close every handle this helper made
//                           -> ok | fail <handles not closed> <last error>
//   loop                    create/map/unmap/close cycles until a call fails
//                           -> started (after the first cycle), then: stopped <error> <cycles>
//   setattr <path> <attributes>                                              -> ok | fail <error>
//   attrstorm <path> <a> <b>  SetFileAttributesW a, b, a, ... until one fails
//                           -> started, then: stopped <error> <calls>
//   probe <kernel pid> <socket>  what another user can reach (run under setpriv)
//                           -> connect=<..> procfd=<opened>/<tried> getfd=<got> mem=<..>
// Trust and revocation (tests/multiproc/trust_test.cpp):
//   wedge                   tries every way to write the kernel page (a writable mmap, write(2),
//                           mprotect, a writable reopen); if one works, a thread keeps
//                           `sleeping` at 0 through it -> wedging <how> | refused <errnos...>
//   republish <count>       a pending wait in slot 0, replaced by a new one <count> times
//                                                                            -> ok | fail <why>
//   rawfork <mutex>         CreateMutexW(owned), then a child by the raw fork syscall (no atfork
//                           handlers: it keeps the connection) that only sleeps -> ok <child pid>
//   fake-kernel <uid> <gid> <socket>  binds the socket, becomes uid/gid, listens -> listening
//   fake-accept <ms>        one connection within <ms>: the bytes it sent before hanging up
//                                                              -> connected <bytes> | none
//   oldfile <path>          CreateFileW + 4096 bytes of 'b'               -> ok <handle>
//   oldmap <path>           a writable view of a file made with CreateFileForMappingW, filled
//                           with 4096 bytes of 'b'                        -> ok <address>
//   oldwrite <handle>       WriteFile of "after"                   -> ok | fail <error>
//   oldview <address>       a write of 'a' into the view, a fault caught -> ok | fault
//   gone                    whether this process knows its kernel died and took back its files
//                           and views (no call made) -> yes | no
// Many connections from this one process (kept apart from "the connection"):
//   conns <n>               up to n more connections, stopping at the first refusal
//                           -> ok <opened> none | ok <opened> <hello answer of the refused one>
//   conns-fill              unnamed events over all of them, round-robin, until one fails
//                           -> ok <created> <error> | fail <why>
//   conns-drop              close them all                                   -> ok
// Expensive legal requests:
//   copy <from> <to>        CopyFileW(from, to, FALSE)     -> started, then: ok | fail <error>
//   searches <pattern>      FindFirstFileW until it fails, all kept open  -> ok <count> <error>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

// Before <windows.h>: the Win32Error enum names clash with its macros.
#include "coredll/client/connection.h"
#include "coredll/client/msg_ring_cache.h"
#include "coredll/client/thread_id.h"
#include "protocol/channel.h"
#include "protocol/futex.h"
#include "protocol/messages.h"
#include "protocol/paths.h"
#include "protocol/version.h"

namespace {
// Request codes by name, before <windows.h> turns CreateFile into CreateFileW.
constexpr uint32_t code_of(cek::proto::RequestCode c) { return static_cast<uint32_t>(c); }
constexpr uint32_t kCreateFileCode = code_of(cek::proto::RequestCode::CreateFile);
constexpr uint32_t kFileDescriptorCode = code_of(cek::proto::RequestCode::FileDescriptor);
}  // namespace

#include <windows.h>
#include <msgqueue.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace proto = cek::proto;

constexpr uint64_t kReplyTimeoutNs = 10'000'000'000ULL;  // a kernel that never answers

uint64_t num(const std::string& s) { return std::strtoull(s.c_str(), nullptr, 0); }

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

// ---- The raw connection ----

struct Raw {
    int sock = -1;
    int channel_fd = -1;
    int doorbell = -1;
    int page_fd = -1;
    proto::Channel* channel = nullptr;
    const proto::KernelPage* page = nullptr;
    void* page_map = nullptr;
    uint32_t process_id = 0;  // the HelloReply's
};
Raw g_raw;

int connect_socket() {
    std::string path = proto::socket_path(proto::runtime_dir(),
                                          std::getenv("CEK_INSTANCE") ? std::getenv("CEK_INSTANCE")
                                                                      : "default");
    int sock = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(sock);
        errno = e;
        return -1;
    }
    return sock;
}

bool wait_readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1;
}

void drop_raw() {
    if (g_raw.channel != nullptr) ::munmap(g_raw.channel, sizeof(proto::Channel));
    if (g_raw.page_map != nullptr) ::munmap(g_raw.page_map, sizeof(proto::KernelPage));
    for (int fd : {g_raw.sock, g_raw.channel_fd, g_raw.doorbell, g_raw.page_fd})
        if (fd >= 0) ::close(fd);
    g_raw = Raw{};
}

// Sends a hello, optionally with `extra_fds` descriptors attached, and reads the answer.
std::string hello(uint32_t magic, uint32_t version, int extra_fds) {
    drop_raw();
    int sock = connect_socket();
    if (sock < 0) return "error " + std::to_string(errno);
    proto::Hello h{magic, version, 0, 0};
    iovec iov{&h, sizeof h};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)]{};
    std::vector<int> extra;
    for (int i = 0; i < extra_fds && i < 8; ++i) extra.push_back(::open("/dev/null", O_RDONLY));
    if (!extra.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * extra.size());
        cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * extra.size());
        std::memcpy(CMSG_DATA(cm), extra.data(), sizeof(int) * extra.size());
    }
    ssize_t sent = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    for (int fd : extra) ::close(fd);
    if (sent != static_cast<ssize_t>(sizeof h)) {
        ::close(sock);
        return "error " + std::to_string(errno);
    }
    if (!wait_readable(sock, 10'000)) {
        ::close(sock);
        return "timeout";
    }
    proto::HelloReply reply{};
    iovec riov{&reply, sizeof reply};
    msghdr rmsg{};
    rmsg.msg_iov = &riov;
    rmsg.msg_iovlen = 1;
    alignas(cmsghdr) char rcontrol[CMSG_SPACE(sizeof(int) * 4)]{};
    rmsg.msg_control = rcontrol;
    rmsg.msg_controllen = sizeof rcontrol;
    ssize_t n = ::recvmsg(sock, &rmsg, MSG_CMSG_CLOEXEC);
    if (n < 0) {  // a refused connection is reset: the header was not filled in
        const int e = errno;
        ::close(sock);
        return "error " + std::to_string(e);
    }
    std::vector<int> fds;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&rmsg); cm != nullptr; cm = CMSG_NXTHDR(&rmsg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
            fds.push_back(fd);
        }
    }
    if (n == 0) {
        ::close(sock);
        return "closed";
    }
    if (n != static_cast<ssize_t>(sizeof reply)) {
        for (int fd : fds) ::close(fd);
        ::close(sock);
        return "error short-reply";
    }
    if (reply.status != static_cast<uint32_t>(proto::HelloStatus::Ok) || fds.size() != 4) {
        for (int fd : fds) ::close(fd);
        ::close(sock);
        return "status " + std::to_string(reply.status);
    }
    void* ch = ::mmap(nullptr, sizeof(proto::Channel), PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
    void* pg = ::mmap(nullptr, sizeof(proto::KernelPage), PROT_READ, MAP_SHARED, fds[1], 0);
    if (ch == MAP_FAILED || pg == MAP_FAILED) {
        for (int fd : fds) ::close(fd);
        ::close(sock);
        return "error mmap";
    }
    g_raw.sock = sock;
    g_raw.channel_fd = fds[0];
    g_raw.page_fd = fds[1];
    g_raw.doorbell = fds[2];
    ::close(fds[3]);  // the notice: this client runs no agent
    g_raw.channel = static_cast<proto::Channel*>(ch);
    g_raw.page = static_cast<const proto::KernelPage*>(pg);
    g_raw.page_map = pg;
    g_raw.process_id = reply.process_id;
    return "status 0";
}

void ring() {
    if (g_raw.page->sleeping.load(std::memory_order_seq_cst) != 0) {
        uint64_t one = 1;
        (void)::write(g_raw.doorbell, &one, sizeof one);
    }
}

// Publishes whatever slot `index` holds now under a new sequence; returns that sequence.
uint32_t publish(uint32_t index) {
    proto::Slot& slot = g_raw.channel->slots[index];
    uint32_t seq = slot.control.req_seq.load(std::memory_order_relaxed) + 1;
    slot.control.req_seq.store(seq, std::memory_order_release);
    g_raw.channel->header.ready_mask.fetch_or(uint64_t{1} << index, std::memory_order_seq_cst);
    ring();
    return seq;
}

// Waits for the reply to `seq` in slot `index`; false when none comes in time.
bool await(uint32_t index, uint32_t seq) {
    proto::Slot& slot = g_raw.channel->slots[index];
    uint64_t deadline = proto::monotonic_ns() + kReplyTimeoutNs;
    slot.control.client_waiting.store(1, std::memory_order_seq_cst);
    for (;;) {
        uint32_t seen = slot.control.rep_seq.load(std::memory_order_seq_cst);
        if (seen == seq) break;
        uint64_t now = proto::monotonic_ns();
        if (now >= deadline) return false;
        proto::futex_wait(slot.control.rep_seq, seen, std::min<uint64_t>(deadline - now, 10'000'000));
    }
    slot.control.client_waiting.store(0, std::memory_order_relaxed);
    return true;
}

// A request `code` with `body` (the header's size says `claimed` bytes when given).
uint32_t put_request(uint32_t index, uint32_t code, const void* body, size_t body_bytes,
                     int64_t claimed = -1) {
    proto::Slot& slot = g_raw.channel->slots[index];
    proto::RequestHeader h{code,
                           claimed >= 0 ? static_cast<uint32_t>(claimed)
                                        : static_cast<uint32_t>(sizeof h + body_bytes),
                           static_cast<uint32_t>(::gettid()), 0};
    std::memcpy(slot.request, &h, sizeof h);
    if (body_bytes != 0) std::memcpy(slot.request + sizeof h, body, body_bytes);
    return publish(index);
}

struct Answer {
    bool arrived = false;
    proto::ReplyHeader header{};
    std::vector<std::byte> body;
};

Answer call(uint32_t index, uint32_t code, const void* body, size_t body_bytes,
            int64_t claimed = -1) {
    Answer a;
    uint32_t seq = put_request(index, code, body, body_bytes, claimed);
    if (!await(index, seq)) return a;
    a.arrived = true;
    const proto::Slot& slot = g_raw.channel->slots[index];
    std::memcpy(&a.header, slot.reply, sizeof a.header);
    size_t n = std::min<size_t>(a.header.size, proto::kReplyBytes);
    if (n > sizeof a.header) a.body.assign(slot.reply + sizeof a.header, slot.reply + n);
    return a;
}

// A reply the kernel may give to anything: a header that describes itself.
bool well_formed(const proto::ReplyHeader& h) {
    return h.size >= sizeof h && h.size <= proto::kReplyBytes && h.failed <= 1 &&
           h.set_error <= 1 && !(h.failed == 0 && h.size == sizeof h);
}

template <class T>
std::vector<std::byte> bytes_of(const T& v, std::u16string_view tail = {}) {
    std::vector<std::byte> out(sizeof v + tail.size() * 2);
    std::memcpy(out.data(), &v, sizeof v);
    if (!tail.empty()) std::memcpy(out.data() + sizeof v, tail.data(), tail.size() * 2);
    return out;
}

// Requests the kernel answers at once whatever their arguments (later ones may wait): the
// random ones stay among these, so every one must be answered.
constexpr uint32_t kPromptCodes = static_cast<uint32_t>(proto::RequestCode::TraceRead) + 1;

constexpr size_t kRequestSizes[] = {
#define CEK_REQUEST(name) sizeof(proto::name##Request),
#include "protocol/requests.def"
#undef CEK_REQUEST
};

// The personality's answers for an address of no view: UnmapViewOfFile's error (CE 5: 487,
// CE 6: 87) and FlushViewOfFile's (CE 5: a failure that leaves the last error, 0xFFFFFFFF;
// CE 6: 87).
std::string malformed(uint32_t unmap_error, uint32_t flush_error) {
    if (g_raw.channel == nullptr) return "fail no connection";
    struct Case {
        std::string what;
        uint32_t code;
        std::vector<std::byte> body;
        int64_t claimed;
        uint32_t error;  // expected; 0xFFFFFFFF: failed without touching the last error
    };
    constexpr uint32_t kSilent = 0xFFFFFFFF;
    constexpr uint32_t kCount = static_cast<uint32_t>(proto::RequestCode::Count);
    std::vector<Case> cases;
    auto code = code_of;
    cases.push_back({"size below the header", 0, {}, 0, 87});
    cases.push_back({"size 15", 0, {}, 15, 87});
    cases.push_back({"size beyond the slot", 0, std::vector<std::byte>(8), 0xFFFFFFFF, 87});
    cases.push_back({"code Count", kCount, std::vector<std::byte>(64), -1, 87});
    cases.push_back({"code 0xFFFFFFFF", 0xFFFFFFFF, std::vector<std::byte>(64), -1, 87});
    // Every request with its fixed part one byte short.
    for (uint32_t c = 0; c < kCount; ++c)
        if (kRequestSizes[c] != 0)
            cases.push_back({"short body of code " + std::to_string(c), c,
                             std::vector<std::byte>(kRequestSizes[c] - 1), -1, 87});
    // Counts that claim more than was sent.
    proto::CreateMappingRequest cm{0xFFFFFFFF, 4, 0, 4096, 1, 0xFFFFFFFF};
    cases.push_back({"mapping name_chars 2^32-1", code(proto::RequestCode::CreateMapping),
                     bytes_of(cm, u"ab"), -1, 87});
    cm.name_chars = 0x80000000;
    cases.push_back({"mapping name_chars 2^31", code(proto::RequestCode::CreateMapping),
                     bytes_of(cm, u"ab"), -1, 87});
    proto::CreateFileRequest cf{0x80000000, 0, 3, 0, 0, 2049};
    cases.push_back({"file path_chars past the slot", kCreateFileCode,
                     bytes_of(cf, u"\\x"), -1, 87});
    proto::PathOpRequest po{1, 0, 0x7FFFFFFF, 0};
    cases.push_back({"path op path_chars huge", code(proto::RequestCode::PathOp),
                     bytes_of(po, u"\\x"), -1, 87});
    po = {99, 0, 2, 0};
    cases.push_back({"path op 99", code(proto::RequestCode::PathOp), bytes_of(po, u"\\x"), -1, 87});
    proto::MovePathRequest mp{0, 0, 2, 0xFFFFFFF0};
    cases.push_back({"move to_chars huge", code(proto::RequestCode::MovePath),
                     bytes_of(mp, u"\\a\\b"), -1, 87});
    proto::FindFirstRequest ff{0xFFFFFFFF, 0};
    cases.push_back({"find path_chars huge", code(proto::RequestCode::FindFirst),
                     bytes_of(ff), -1, 87});
    proto::SnapshotReadRequest sr{~uint64_t{0}};
    cases.push_back({"snapshot offset without a snapshot", code(proto::RequestCode::SnapshotRead),
                     bytes_of(sr), -1, 87});
    // Values out of range.
    proto::MapViewRequest mv{0x12345676, 2, 0, 0, 0};
    cases.push_back({"map view of a made-up handle", code(proto::RequestCode::MapView),
                     bytes_of(mv), -1, 6});
    proto::CloseHandleRequest ch{0xFFFFFFFE, 0};
    cases.push_back({"close 0xFFFFFFFE", code(proto::RequestCode::CloseHandle), bytes_of(ch), -1, 6});
    ch.handle = 0;
    cases.push_back({"close 0", code(proto::RequestCode::CloseHandle), bytes_of(ch), -1, 6});
    proto::UnmapViewRequest uv{~uint64_t{0}};
    cases.push_back({"unmap 2^64-1", code(proto::RequestCode::UnmapView), bytes_of(uv), -1,
                     unmap_error});
    proto::FlushViewRequest fv{~uint64_t{0} - 4095, ~uint64_t{0}};
    cases.push_back({"flush past the address space", code(proto::RequestCode::FlushView),
                     bytes_of(fv), -1, flush_error});
    cm = {0xFFFFFFFF, 4, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0};
    cases.push_back({"mapping of 2^64-1 bytes", code(proto::RequestCode::CreateMapping),
                     bytes_of(cm), -1, 87});
    proto::SetFileTimeRequest st{0x12345676, 7, ~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}};
    cases.push_back({"file time of a made-up handle", code(proto::RequestCode::SetFileTime),
                     bytes_of(st), -1, 6});

    for (const Case& c : cases) {
        Answer a = call(7, c.code, c.body.data(), c.body.size(), c.claimed);
        if (!a.arrived) return "fail no reply to: " + c.what;
        if (!well_formed(a.header)) return "fail ill-formed reply to: " + c.what;
        if (a.header.failed != 1) return "fail accepted: " + c.what;
        if (c.error == kSilent) {
            if (a.header.set_error != 0) return "fail set an error on: " + c.what;
        } else if (a.header.set_error != 1 || a.header.error != c.error) {
            return "fail " + c.what + " -> " + std::to_string(a.header.error);
        }
    }
    return "ok " + std::to_string(cases.size());
}

std::string null_call(uint64_t cookie) {
    if (g_raw.channel == nullptr) return "fail no connection";
    proto::NullRequest req{cookie};
    Answer a = call(2, static_cast<uint32_t>(proto::RequestCode::Null), &req, sizeof req);
    if (!a.arrived) return "fail no reply";
    proto::NullReply rep{};
    if (a.header.failed != 0 || a.body.size() != sizeof rep) return "fail bad reply";
    std::memcpy(&rep, a.body.data(), sizeof rep);
    return rep.cookie == cookie ? "ok" : "fail wrong cookie";
}

std::string garbage(uint64_t count, uint32_t seed) {
    if (g_raw.channel == nullptr) return "fail no connection";
    std::mt19937 rng(seed);
    uint64_t failed = 0;
    for (uint64_t i = 0; i < count; ++i) {
        uint32_t index = rng() % proto::kSlotCount;
        proto::Slot& slot = g_raw.channel->slots[index];
        size_t n = rng() % proto::kRequestBytes;
        for (size_t b = 0; b < n; ++b) slot.request[b] = static_cast<std::byte>(rng());
        // Half the time a plausible header, so the bodies reach the handlers.
        if (rng() % 2 != 0 && n >= sizeof(proto::RequestHeader)) {
            proto::RequestHeader h{static_cast<uint32_t>(rng() % kPromptCodes),
                                   static_cast<uint32_t>(sizeof h + rng() % (n - sizeof h + 1)),
                                   0, 0};
            std::memcpy(slot.request, &h, sizeof h);
        }
        uint32_t seq = publish(index);
        if (!await(index, seq)) return "fail no reply to request " + std::to_string(i);
        proto::ReplyHeader h{};
        std::memcpy(&h, slot.reply, sizeof h);
        if (!well_formed(h)) return "fail ill-formed reply to request " + std::to_string(i);
        failed += h.failed;
    }
    return "ok " + std::to_string(count) + " " + std::to_string(failed);
}

std::string scribble(uint64_t count) {
    if (g_raw.channel == nullptr) return "fail no connection";
    std::atomic<bool> stop{false};
    proto::Slot& slot = g_raw.channel->slots[0];
    // Rewrites the header and body without pause: code, size and body change under the kernel.
    std::thread scribbler([&] {
        std::mt19937 rng(7);
        auto* words = reinterpret_cast<volatile uint32_t*>(slot.request);
        while (!stop.load(std::memory_order_relaxed)) {
            for (size_t i = 0; i < 64; ++i) words[i] = static_cast<uint32_t>(rng());
            words[0] = rng() % (kPromptCodes + 4);  // real codes and a few past the end
            words[1] = rng() % 5000;      // sizes on both sides of the slot's end
        }
    });
    uint64_t answered = 0;
    for (uint64_t i = 0; i < count; ++i) {
        uint32_t seq = publish(0);
        if (!await(0, seq)) break;
        proto::ReplyHeader h{};
        std::memcpy(&h, slot.reply, sizeof h);
        if (!well_formed(h)) break;
        ++answered;
    }
    stop = true;
    scribbler.join();
    return answered == count ? "ok " + std::to_string(answered)
                             : "fail after " + std::to_string(answered);
}

std::string noreply(uint64_t count) {
    if (g_raw.channel == nullptr) return "fail no connection";
    proto::NullRequest req{1};
    for (uint64_t i = 0; i < count; ++i)
        put_request(1, static_cast<uint32_t>(proto::RequestCode::Null), &req, sizeof req);
    return "ok";
}

// ExitProcess's request with `code`, published without a ring once the kernel sleeps (so it
// does not look), and the connection closed at once: the process's last words, which the
// kernel reads before it detaches the process when they are posted (kRequestPosted).
std::string last_words(uint32_t code, bool posted) {
    if (g_raw.channel == nullptr) return "fail no connection";
    const uint64_t deadline = proto::monotonic_ns() + kReplyTimeoutNs;
    while (g_raw.page->sleeping.load(std::memory_order_seq_cst) == 0)
        if (proto::monotonic_ns() > deadline) return "fail the kernel never slept";
    proto::ProcessControlRequest req{proto::kCurrentProcessHandle,
                                     static_cast<uint32_t>(proto::ProcessOp::Exit), code, 0};
    proto::Slot& slot = g_raw.channel->slots[5];
    proto::RequestHeader h{static_cast<uint32_t>(proto::RequestCode::ProcessControl),
                           static_cast<uint32_t>(sizeof h + sizeof req),
                           static_cast<uint32_t>(::gettid()), posted ? proto::kRequestPosted : 0u};
    std::memcpy(slot.request, &h, sizeof h);
    std::memcpy(slot.request + sizeof h, &req, sizeof req);
    slot.control.req_seq.store(slot.control.req_seq.load() + 1, std::memory_order_release);
    g_raw.channel->header.ready_mask.fetch_or(uint64_t{1} << 5, std::memory_order_seq_cst);
    drop_raw();
    return "ok";
}

std::string spurious(uint64_t count) {
    if (g_raw.channel == nullptr) return "fail no connection";
    // Whatever was published before is answered first, so that any later answer stands out.
    std::vector<uint32_t> before(proto::kSlotCount);
    for (uint32_t i = 0; i < proto::kSlotCount; ++i) {
        uint32_t seq = g_raw.channel->slots[i].control.req_seq.load();
        if (seq != 0 && !await(i, seq)) return "fail slot " + std::to_string(i) + " unanswered";
        before[i] = g_raw.channel->slots[i].control.rep_seq.load();
    }
    for (uint64_t i = 0; i < count; ++i) {
        g_raw.channel->header.ready_mask.store(~uint64_t{0}, std::memory_order_seq_cst);
        ring();
    }
    // A real request behind them is still answered, and only it.
    std::string r = null_call(0x5eed);
    if (r != "ok") return r;
    for (uint32_t i = 0; i < proto::kSlotCount; ++i)
        if (i != 2 && g_raw.channel->slots[i].control.rep_seq.load() != before[i])
            return "fail slot " + std::to_string(i) + " answered with nothing new";
    return "ok";
}

std::thread g_flooder;
std::atomic<bool> g_flood_stop{false};
std::atomic<uint64_t> g_flood_published{0};

std::string flood_start() {
    if (g_raw.channel == nullptr) return "fail no connection";
    g_flood_stop = false;
    g_flooder = std::thread([] {
        proto::NullRequest req{2};
        while (!g_flood_stop.load(std::memory_order_relaxed)) {
            for (uint32_t i = 0; i < proto::kSlotCount; ++i)
                put_request(i, static_cast<uint32_t>(proto::RequestCode::Null), &req, sizeof req);
            g_flood_published += proto::kSlotCount;
        }
    });
    return "started";
}

std::string flood_stop() {
    if (!g_flooder.joinable()) return "fail not flooding";
    g_flood_stop = true;
    g_flooder.join();
    // The last request of every slot gets its answer.
    uint64_t answered = 0;
    for (uint32_t i = 0; i < proto::kSlotCount; ++i) {
        uint32_t seq = g_raw.channel->slots[i].control.req_seq.load();
        if (await(i, seq)) ++answered;
    }
    return "ok " + std::to_string(g_flood_published.load()) + " " + std::to_string(answered);
}

std::string channel_abuse() {
    if (g_raw.channel == nullptr) return "fail no connection";
    std::string out = "ok";
    auto note = [&](const char* what, int r) { out += std::string(" ") + what + "=" + (r == 0 ? "0" : std::to_string(errno)); };
    note("shrink", ::ftruncate(g_raw.channel_fd, 0));
    note("grow", ::ftruncate(g_raw.channel_fd, sizeof(proto::Channel) * 2));
    note("seal", ::fcntl(g_raw.channel_fd, F_ADD_SEALS, F_SEAL_WRITE));
    note("punch", ::fallocate(g_raw.channel_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                              sizeof(proto::Channel)));
    // The header is the client's to ruin: the kernel reads only ready_mask from it.
    auto& h = g_raw.channel->header;
    h.magic = 0;
    h.version = 0xFFFFFFFF;
    h.slot_count = 0xFFFFFFFF;
    h.slot_bytes = 1;
    h.busy_mask.store(~uint64_t{0});
    h.free_seq.store(0xFFFFFFFF);
    h.free_waiters.store(0xFFFFFFFF);
    return out;
}

std::string unmap_channel() {
    if (g_raw.channel == nullptr) return "fail no connection";
    ::munmap(g_raw.channel, sizeof(proto::Channel));
    ::close(g_raw.channel_fd);
    g_raw.channel = nullptr;
    g_raw.channel_fd = -1;
    return "ok";
}

std::string socket_data() {
    if (g_raw.sock < 0) return "fail no connection";
    const char junk[] = "more hello";
    if (::send(g_raw.sock, junk, sizeof junk, MSG_NOSIGNAL) < 0) return "fail send";
    if (!wait_readable(g_raw.sock, 10'000)) return "open";
    char byte;
    return ::recv(g_raw.sock, &byte, 1, MSG_DONTWAIT) == 0 ? "closed" : "open";
}

std::string socket_fd() {
    if (g_raw.sock < 0) return "fail no connection";
    // What a kernel would send a client, sent the other way.
    const proto::KernelFdMessage m{3, 0, 0, 0};
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    iovec iov{const_cast<proto::KernelFdMessage*>(&m), sizeof m};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    ssize_t sent = ::sendmsg(g_raw.sock, &msg, MSG_NOSIGNAL);
    ::close(fd);
    if (sent != static_cast<ssize_t>(sizeof m)) return "fail send";
    if (!wait_readable(g_raw.sock, 10'000)) return "open";
    // Only a hang-up may follow: read past nothing else (the kernel sent no descriptors here).
    char byte;
    return ::recv(g_raw.sock, &byte, 1, MSG_DONTWAIT) == 0 ? "closed" : "open";
}

std::string fd_flood(const std::string& path, uint64_t count) {
    if (g_raw.channel == nullptr) return "fail no connection";
    const std::u16string name(path.begin(), path.end());
    // GENERIC_READ | GENERIC_WRITE, OPEN_ALWAYS.
    proto::CreateFileRequest cf{0xC0000000, 0, 4, 0, 0, static_cast<uint32_t>(name.size())};
    auto body = bytes_of(cf, name);
    Answer a = call(3, kCreateFileCode, body.data(), body.size());
    if (!a.arrived || a.header.failed != 0) return "fail CreateFile";
    proto::CreateFileReply file{};
    std::memcpy(&file, a.body.data(), std::min(sizeof file, a.body.size()));
    const proto::FileDescriptorRequest req{file.handle, 1};
    for (uint64_t i = 0; i < count; ++i) {
        a = call(3, kFileDescriptorCode, &req, sizeof req);
        if (!a.arrived) return "fail no reply";
        if (a.header.failed != 0)
            return "refused " + std::to_string(i) + " " + std::to_string(a.header.error);
    }
    return "ok " + std::to_string(count);
}

// ---- CE API abuse ----

std::vector<HANDLE> g_handles;

std::string quota() {
    HANDLE f = CreateFileW(u"\\quota.txt", GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, 0, nullptr);
    if (f == INVALID_HANDLE_VALUE) return "fail create " + std::to_string(GetLastError());
    g_handles.push_back(f);
    // Events: searches are capped by the process's memory budget long before its handle quota.
    for (uint64_t n = 1;; ++n) {
        HANDLE h = CreateEventW(nullptr, TRUE, FALSE, nullptr);
        if (h == nullptr) return "ok " + std::to_string(n) + " " + std::to_string(GetLastError());
        g_handles.push_back(h);
    }
}

std::string open_name(const std::string& name) {
    std::u16string wide(name.begin(), name.end());
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 0, wide.c_str());
    if (h == nullptr) return "fail " + std::to_string(GetLastError());
    g_handles.push_back(h);
    return "ok " + hex(reinterpret_cast<uintptr_t>(h)) + " " + std::to_string(GetLastError());
}

// The ring lock of queue `name`'s writer end (4 messages of 64 bytes): "hold" takes it for good
// (a process then killed inside a call), "set <tid>" writes that owner into the lock word (a
// scribble naming a live thread), "free" clears it.
std::string mqlock(const std::string& name, const std::string& how, uint32_t tid) {
    std::u16string wide(name.begin(), name.end());
    MSGQUEUEOPTIONS o{sizeof o, 0, 4, 64, FALSE};
    HANDLE h = CreateMsgQueue(reinterpret_cast<LPCWSTR>(wide.c_str()), &o);
    if (h == nullptr) return "fail " + std::to_string(GetLastError());
    g_handles.push_back(h);
    cek::Win32Error error{};
    auto entry = cek::coredll::MsgRingCache::instance().get(
        static_cast<uint32_t>(reinterpret_cast<uintptr_t>(h)), error);
    if (!entry || !entry->ring) return "fail no ring";
    cek::proto::MsgRing& ring = entry->ring->ring;
    if (how == "hold")
        return ring.try_lock(cek::coredll::current_tid()) ? "held" : "fail busy";
    ring.header().lock.store(how == "set" ? tid : 0);
    return "ok";
}

struct WindowMap {
    HANDLE handle;
    DWORD size;
};
std::vector<WindowMap> g_window_maps;

std::string create(uint64_t size) {
    HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0,
                                  static_cast<DWORD>(size), nullptr);
    if (h == nullptr) return "fail " + std::to_string(GetLastError());
    g_handles.push_back(h);
    return "ok " + hex(reinterpret_cast<uintptr_t>(h));
}

// Fills the window to the last page: 2 GB mappings, then ever smaller ones for the gaps.
std::string window() {
    DWORD size = 0x7FFFF000;
    DWORD error = 0;
    for (;;) {
        HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, size, nullptr);
        if (h != nullptr) {
            g_window_maps.push_back({h, size});
            g_handles.push_back(h);
            continue;
        }
        error = GetLastError();
        if (error != ERROR_NOT_ENOUGH_MEMORY || size <= 4096) break;
        size = std::max<DWORD>(4096, (size / 2) & ~DWORD{4095});
    }
    return "ok " + std::to_string(g_window_maps.size()) + " " + std::to_string(error);
}

std::string map_all() {
    for (const WindowMap& m : g_window_maps) {
        auto* p = static_cast<volatile char*>(MapViewOfFile(m.handle, FILE_MAP_WRITE, 0, 0, 0));
        if (p == nullptr) return "fail " + std::to_string(GetLastError());
        p[m.size - 1] = 1;  // the last byte: the whole range is there
    }
    return "ok " + std::to_string(g_window_maps.size());
}

std::string close_all() {
    size_t failed = 0;
    DWORD error = 0;
    for (HANDLE h : g_handles) {
        // Search handles close with FindClose; everything else with CloseHandle.
        if (!FindClose(h) && !CloseHandle(h)) {
            ++failed;
            error = GetLastError();
        }
    }
    g_handles.clear();
    g_window_maps.clear();
    if (failed != 0) return "fail " + std::to_string(failed) + " " + std::to_string(error);
    return "ok";
}

// One create/map/unmap/close cycle; false when a call failed.
bool cycle() {
    HANDLE m = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, 4096, nullptr);
    void* p = m != nullptr ? MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0) : nullptr;
    return p != nullptr && UnmapViewOfFile(p) && CloseHandle(m);
}

std::string loop() {
    if (!cycle()) return "fail " + std::to_string(GetLastError());
    std::cout << "started" << std::endl;  // after a first cycle the kernel answered
    for (uint64_t cycles = 1;; ++cycles)
        if (!cycle()) return "stopped " + std::to_string(GetLastError()) + " " + std::to_string(cycles);
}

std::string setattr(const std::string& path, uint32_t attributes) {
    std::u16string wide(path.begin(), path.end());
    if (!SetFileAttributesW(wide.c_str(), attributes)) return "fail " + std::to_string(GetLastError());
    return "ok";
}

std::string attrstorm(const std::string& path, uint32_t a, uint32_t b) {
    std::u16string wide(path.begin(), path.end());
    std::cout << "started" << std::endl;
    for (uint64_t calls = 0;; ++calls) {
        if (!SetFileAttributesW(wide.c_str(), calls % 2 == 0 ? a : b))
            return "stopped " + std::to_string(GetLastError()) + " " + std::to_string(calls);
    }
}

// ---- Another user's view ----

std::string probe(int kernel_pid, const std::string& socket) {
    std::string out;
    int sock = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    if (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        out += "connect=errno" + std::to_string(errno);
    } else {
        proto::Hello h{proto::kMagic, proto::kProtocolVersion, 0, 0};
        (void)::send(sock, &h, sizeof h, MSG_NOSIGNAL);
        proto::HelloReply reply{};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)]{};
        iovec iov{&reply, sizeof reply};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = wait_readable(sock, 10'000) ? ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) : -1;
        bool fds = CMSG_FIRSTHDR(&msg) != nullptr && n > 0;
        if (n == static_cast<ssize_t>(sizeof reply))
            out += "connect=status" + std::to_string(reply.status) + (fds ? "+fds" : "");
        else
            out += n == 0 ? "connect=closed" : "connect=noreply";
    }
    ::close(sock);
    // The kernel's descriptors (its channels and mappings are memfds) through /proc.
    int opened = 0, tried = 0;
    for (int fd = 0; fd < 64; ++fd, ++tried) {
        std::string path = "/proc/" + std::to_string(kernel_pid) + "/fd/" + std::to_string(fd);
        int f = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (f >= 0) {
            ++opened;
            ::close(f);
        }
    }
    out += " procfd=" + std::to_string(opened) + "/" + std::to_string(tried);
    int got = 0;
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, kernel_pid, 0));
    for (int fd = 0; pidfd >= 0 && fd < 64; ++fd) {
        int f = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
        if (f >= 0) {
            ++got;
            ::close(f);
        }
    }
    if (pidfd >= 0) ::close(pidfd);
    out += " getfd=" + std::to_string(got);
    std::string mem = "/proc/" + std::to_string(kernel_pid) + "/mem";
    int m = ::open(mem.c_str(), O_RDONLY | O_CLOEXEC);
    out += " mem=" + std::string(m >= 0 ? "open" : "errno" + std::to_string(errno));
    if (m >= 0) ::close(m);
    return out;
}

// ---- Trust and revocation (tests/multiproc/trust_test.cpp) ----

std::atomic<bool> g_wedging{false};

std::string wedge() {
    if (g_raw.page_fd < 0) return "fail no connection";
    auto* page_bytes = static_cast<char*>(g_raw.page_map);
    const size_t sleeping_at =
        reinterpret_cast<const char*>(&g_raw.page->sleeping) - static_cast<const char*>(page_bytes);
    auto error_of = [](bool ok) { return ok ? 0 : errno; };
    void* shared = ::mmap(nullptr, sizeof(proto::KernelPage), PROT_READ | PROT_WRITE, MAP_SHARED,
                          g_raw.page_fd, 0);
    const int mmap_error = error_of(shared != MAP_FAILED);
    uint32_t zero = 0;
    const int write_error = error_of(::pwrite(g_raw.page_fd, &zero, sizeof zero,
                                              static_cast<off_t>(sleeping_at)) == sizeof zero);
    const int protect_error = error_of(
        ::mprotect(g_raw.page_map, sizeof(proto::KernelPage), PROT_READ | PROT_WRITE) == 0);
    std::string again = "/proc/self/fd/" + std::to_string(g_raw.page_fd);
    void* reopened = MAP_FAILED;
    int reopen_error = 0;
    if (int rw = ::open(again.c_str(), O_RDWR | O_CLOEXEC); rw < 0) {
        reopen_error = errno;
    } else {
        reopened = ::mmap(nullptr, sizeof(proto::KernelPage), PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0);
        reopen_error = error_of(reopened != MAP_FAILED);
        ::close(rw);
    }
    char* writable = mmap_error == 0 ? static_cast<char*>(shared)
                     : protect_error == 0 ? page_bytes
                     : reopen_error == 0 ? static_cast<char*>(reopened)
                                         : nullptr;
    if (writable == nullptr && write_error != 0)
        return "refused " + std::to_string(mmap_error) + " " + std::to_string(write_error) + " " +
               std::to_string(protect_error) + " " + std::to_string(reopen_error);
    g_wedging = true;
    const int fd = g_raw.page_fd;
    std::thread([writable, fd, sleeping_at] {
        uint32_t z = 0;
        while (g_wedging) {
            if (writable != nullptr)
                reinterpret_cast<std::atomic<uint32_t>*>(writable + sleeping_at)->store(0);
            else
                (void)::pwrite(fd, &z, sizeof z, static_cast<off_t>(sleeping_at));
        }
    }).detach();
    return writable != nullptr ? "wedging mapping" : "wedging write";
}

std::string republish(uint64_t count) {
    if (g_raw.channel == nullptr) return "fail no connection";
    proto::SyncCreateRequest create{static_cast<uint32_t>(proto::SyncKind::Event), 0, 0, 0, 0, 0};
    Answer made = call(1, code_of(proto::RequestCode::SyncCreate), &create, sizeof create);
    proto::SyncCreateReply event{};
    if (!made.arrived || made.header.failed != 0 || made.body.size() < sizeof event)
        return "fail no event";
    std::memcpy(&event, made.body.data(), sizeof event);
    struct {
        proto::WaitObjectsRequest wait;
        uint32_t handle;
    } body{{1, 0, proto::kWaitInfinite, 0}, event.handle};
    for (uint64_t i = 0; i <= count; ++i) {
        put_request(0, code_of(proto::RequestCode::WaitObjects), &body, sizeof body);
        // Slots are served in order, so once slot 1 is answered the kernel has taken slot 0.
        proto::NullRequest null{i};
        if (!call(1, code_of(proto::RequestCode::Null), &null, sizeof null).arrived)
            return "fail no reply";
    }
    return "ok";
}

std::string rawfork(const std::string& name) {
    std::u16string wide(name.begin(), name.end());
    HANDLE m = CreateMutexW(nullptr, TRUE, reinterpret_cast<LPCWSTR>(wide.c_str()));
    if (m == nullptr) return "fail " + std::to_string(GetLastError());
    // The raw system call: glibc's fork() would run the shim's atfork handlers, which drop the
    // child's copy of the connection.
    long child = ::syscall(SYS_fork);
    if (child == 0) {
        // Raw system calls only: the sanitizers' interceptors were not told about this fork.
        ::syscall(SYS_close, 0);
        ::syscall(SYS_close, 1);
        for (;;) ::syscall(SYS_pause);
    }
    if (child < 0) return "fail fork " + std::to_string(errno);
    return "ok " + std::to_string(child);
}

int g_fake_listener = -1;

std::string fake_kernel(uid_t uid, gid_t gid, const std::string& path) {
    int sock = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return "fail bind " + std::to_string(errno);
    ::chmod(path.c_str(), 0777);
    // The listener's credentials are taken at listen(2): from now on this is another user.
    if (::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0)
        return "fail setuid " + std::to_string(errno);
    if (::listen(sock, 4) != 0) return "fail listen " + std::to_string(errno);
    g_fake_listener = sock;
    return "listening";
}

std::string fake_accept(int timeout_ms) {
    if (!wait_readable(g_fake_listener, timeout_ms)) return "none";
    int c = ::accept4(g_fake_listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return "fail accept " + std::to_string(errno);
    size_t total = 0;
    char buf[256];
    while (wait_readable(c, 10'000)) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        total += static_cast<size_t>(n);
    }
    ::close(c);
    return "connected " + std::to_string(total);
}

std::string oldfile(const std::string& path) {
    std::u16string wide(path.begin(), path.end());
    HANDLE f = CreateFileW(reinterpret_cast<LPCWSTR>(wide.c_str()), GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_ALWAYS, 0, nullptr);
    if (f == INVALID_HANDLE_VALUE) return "fail open " + std::to_string(GetLastError());
    std::string before(4096, 'b');
    DWORD written = 0;
    if (!WriteFile(f, before.data(), 4096, &written, nullptr))
        return "fail write " + std::to_string(GetLastError());
    return "ok " + hex(reinterpret_cast<uintptr_t>(f));
}

std::string oldmap(const std::string& path) {
    std::u16string wide(path.begin(), path.end());
    HANDLE f = CreateFileForMappingW(reinterpret_cast<LPCWSTR>(wide.c_str()),
                                     GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                     nullptr, OPEN_ALWAYS, 0, nullptr);
    if (f == INVALID_HANDLE_VALUE) return "fail open " + std::to_string(GetLastError());
    HANDLE m = CreateFileMappingW(f, nullptr, PAGE_READWRITE, 0, 4096, nullptr);
    if (m == nullptr) return "fail mapping " + std::to_string(GetLastError());
    void* view = MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    if (view == nullptr) return "fail view " + std::to_string(GetLastError());
    std::memset(view, 'b', 4096);
    if (!FlushViewOfFile(view, 4096)) return "fail flush " + std::to_string(GetLastError());
    return "ok " + hex(reinterpret_cast<uintptr_t>(view));
}

std::string oldwrite(uint64_t handle) {
    DWORD written = 0;
    if (!WriteFile(reinterpret_cast<HANDLE>(handle), "after", 5, &written, nullptr))
        return "fail " + std::to_string(GetLastError());
    return "ok";
}

sigjmp_buf g_fault_jump;

std::string oldview(uint64_t address) {
    struct sigaction catcher{}, previous{};
    catcher.sa_handler = [](int) { siglongjmp(g_fault_jump, 1); };
    ::sigaction(SIGSEGV, &catcher, &previous);
    std::string result = "fault";
    if (sigsetjmp(g_fault_jump, 1) == 0) {
        *reinterpret_cast<volatile char*>(address) = 'a';
        result = "ok";
    }
    ::sigaction(SIGSEGV, &previous, nullptr);
    return result;
}

// ---- Many connections from one host process ----

std::vector<Raw> g_conns;

// Runs `f` with connection `i` as "the connection".
template <class F>
auto on_conn(size_t i, F&& f) {
    std::swap(g_raw, g_conns[i]);
    auto result = f();
    std::swap(g_raw, g_conns[i]);
    return result;
}

std::string conns_open(uint64_t n) {
    const Raw mine = std::exchange(g_raw, Raw{});
    std::string refused = "none";
    uint64_t opened = 0;
    for (; opened < n; ++opened) {
        std::string answer = hello(proto::kMagic, proto::kProtocolVersion, 0);
        if (answer != "status 0") {
            refused = answer;
            break;
        }
        g_conns.push_back(std::exchange(g_raw, Raw{}));
    }
    g_raw = mine;
    return "ok " + std::to_string(opened) + " " + refused;
}

std::string conns_fill() {
    if (g_conns.empty()) return "fail no connections";
    proto::SyncCreateRequest req{static_cast<uint32_t>(proto::SyncKind::Event), 0, 0, 0, 0, 0};
    for (uint64_t made = 0;; ++made) {
        Answer a = on_conn(made % g_conns.size(), [&] {
            return call(0, code_of(proto::RequestCode::SyncCreate), &req, sizeof req);
        });
        if (!a.arrived) return "fail no reply after " + std::to_string(made);
        if (a.header.failed != 0)
            return "ok " + std::to_string(made) + " " + std::to_string(a.header.error);
    }
}

std::string conns_drop() {
    for (size_t i = 0; i < g_conns.size(); ++i)
        on_conn(i, [] {
            drop_raw();
            return 0;
        });
    g_conns.clear();
    return "ok";
}

// ---- Expensive legal requests (issue 16, finding 6: tests/multiproc/fairness_test.cpp) ----

std::u16string ce_path(const std::string& s) { return std::u16string(s.begin(), s.end()); }

// CopyFileW(from, to, FALSE): "started" just before the call, then its outcome on a second line.
std::string copy_file(const std::string& from, const std::string& to) {
    std::cout << "started" << std::endl;
    if (!CopyFileW(ce_path(from).c_str(), ce_path(to).c_str(), FALSE))
        return "fail " + std::to_string(GetLastError());
    return "ok";
}

// FindFirstFileW(pattern) until it fails, keeping every search open: how many, and the error.
std::string searches(const std::string& pattern) {
    WIN32_FIND_DATAW data;
    for (uint64_t n = 0;; ++n) {
        HANDLE h = FindFirstFileW(ce_path(pattern).c_str(), &data);
        if (h == INVALID_HANDLE_VALUE) return "ok " + std::to_string(n) + " " + std::to_string(GetLastError());
        g_handles.push_back(h);
    }
}

std::string run_expensive(const std::vector<std::string>& w) {
    if (w[0] == "copy" && w.size() > 2) return copy_file(w[1], w[2]);
    if (w[0] == "searches" && w.size() > 1) return searches(w[1]);
    return "error unknown command";
}

std::string run(const std::vector<std::string>& w) {
    const std::string& cmd = w[0];
    auto arg = [&](size_t i, uint64_t fallback) { return w.size() > i ? num(w[i]) : fallback; };
    if (cmd == "ping") return "ok";
    if (cmd == "hello")
        return hello(static_cast<uint32_t>(arg(1, proto::kMagic)),
                     static_cast<uint32_t>(arg(2, proto::kProtocolVersion)),
                     static_cast<int>(arg(3, 0)));
    if (cmd == "silent") {
        drop_raw();
        g_raw.sock = connect_socket();
        return g_raw.sock >= 0 ? "ok" : "error " + std::to_string(errno);
    }
    if (cmd == "null") return null_call(arg(1, 0x1234));
    if (cmd == "malformed")
        return malformed(static_cast<uint32_t>(arg(1, 487)), static_cast<uint32_t>(arg(2, 0xFFFFFFFF)));
    if (cmd == "garbage") return garbage(arg(1, 1000), static_cast<uint32_t>(arg(2, 1)));
    if (cmd == "scribble") return scribble(arg(1, 1000));
    if (cmd == "noreply") return noreply(arg(1, 100));
    if (cmd == "spurious") return spurious(arg(1, 100));
    if (cmd == "flood") return flood_start();
    if (cmd == "stop") return flood_stop();
    if (cmd == "channel") return channel_abuse();
    if (cmd == "unmap") return unmap_channel();
    if (cmd == "data") return socket_data();
    if (cmd == "fdsend") return socket_fd();
    if (cmd == "fdflood" && w.size() > 1) return fd_flood(w[1], arg(2, 1000));
    if (cmd == "drop") {
        drop_raw();
        return "ok";
    }
    if (cmd == "rawid") return g_raw.channel != nullptr ? "ok " + std::to_string(g_raw.process_id)
                                                        : "fail no connection";
    if (cmd == "lastwords") return last_words(static_cast<uint32_t>(arg(1, 0)), arg(2, 1) != 0);
    if (cmd == "quota") return quota();
    if (cmd == "open-name" && w.size() > 1) return open_name(w[1]);
    if (cmd == "mqlock" && w.size() > 2)
        return mqlock(w[1], w[2], static_cast<uint32_t>(w.size() > 3 ? num(w[3]) : 0));
    if (cmd == "create") return create(arg(1, 4096));
    if (cmd == "window") return window();
    if (cmd == "map-all") return map_all();
    if (cmd == "close-all") return close_all();
    if (cmd == "loop") return loop();
    if (cmd == "attrstorm" && w.size() > 3)
        return attrstorm(w[1], static_cast<uint32_t>(num(w[2])), static_cast<uint32_t>(num(w[3])));
    if (cmd == "setattr" && w.size() > 2) return setattr(w[1], static_cast<uint32_t>(num(w[2])));
    if (cmd == "probe" && w.size() > 2) return probe(static_cast<int>(num(w[1])), w[2]);
    if (cmd == "wedge") return wedge();
    if (cmd == "republish") return republish(arg(1, 1000));
    if (cmd == "rawfork" && w.size() > 1) return rawfork(w[1]);
    if (cmd == "fake-kernel" && w.size() > 3)
        return fake_kernel(static_cast<uid_t>(num(w[1])), static_cast<gid_t>(num(w[2])), w[3]);
    if (cmd == "fake-accept") return fake_accept(static_cast<int>(arg(1, 10'000)));
    if (cmd == "oldfile" && w.size() > 1) return oldfile(w[1]);
    if (cmd == "oldmap" && w.size() > 1) return oldmap(w[1]);
    if (cmd == "oldwrite") return oldwrite(arg(1, 0));
    if (cmd == "oldview") return oldview(arg(1, 0));
    if (cmd == "gone")
        return cek::coredll::Connection::instance().kernel_death_handled() ? "yes" : "no";
    // Many connections from one host process.
    if (cmd == "conns") return conns_open(arg(1, 1));
    if (cmd == "conns-fill") return conns_fill();
    if (cmd == "conns-drop") return conns_drop();
    return run_expensive(w);
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

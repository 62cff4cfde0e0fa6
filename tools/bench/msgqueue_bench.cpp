// msgqueue_bench: a 64-byte message between two processes through a CE message queue, against
// a POSIX message queue (mq_send/mq_receive) and a pipe, from one run (docs/performance.md).
// A private kernel (--kernel, default $CEK_KERNEL) on a fresh root. Two measurements each:
//   ping-pong  process A sends a message, B answers it through a second queue (pipe); the time
//              per round trip (two messages, two wake-ups)
//   stream     A writes --messages messages as fast as the queue takes them, B reads them; the
//              time per message (queue depth 16 for ours, the system's default limit, 10, for
//              POSIX queues, a pipe's 64 KiB)
// Prints the medians of --runs runs and the ratio of ours to the faster of the other two. Not a
// test: it asserts nothing but the messages' contents (--quick is the smoke run).
//
//   msgqueue_bench [--quick] [--kernel PATH] [--messages N] [--runs N]
#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "private_kernel.h"
#include "protocol/futex.h"
// clang-format off
#include <windows.h>
#include <msgqueue.h>
// clang-format on

namespace {

using cek::bench::die;
using cek::bench::fork_child;
using cek::bench::Pipe;
using cek::bench::reap;

constexpr size_t kMessageBytes = 64;

struct Options {
    std::string kernel;
    int messages = 100'000;
    int runs = 5;
};

// One transport: a channel A->B and one B->A, each end made in the process that uses it.
struct Transport {
    const char* name;
    // Opens process `side`'s ends (0: A, 1: B); called in that process after the fork.
    std::function<void(int side)> open;
    std::function<void(int direction, const void* msg)> send;  // direction 0: A->B
    std::function<void(int direction, void* msg)> receive;
};

void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "msgqueue_bench: %s failed\n", what);
        std::_Exit(3);
    }
}

// ---- CE message queues ----
HANDLE g_ce[2][2];  // [direction][0: writer, 1: reader] in this process

Transport ce_queues() {
    Transport t{"CE msgqueue", {}, {}, {}};
    t.open = [](int side) {
        for (int dir = 0; dir < 2; ++dir) {
            // A writes direction 0 and reads direction 1; B the other way round.
            const bool reader = (dir == 0) == (side == 1);
            // ALLOW_BROKEN: the last message is not lost when its writer exits first.
            MSGQUEUEOPTIONS o{sizeof o, MSGQUEUE_ALLOW_BROKEN, 16, kMessageBytes, reader};
            const WCHAR* names[2] = {u"bench-ab", u"bench-ba"};
            HANDLE h = CreateMsgQueue(reinterpret_cast<LPCWSTR>(names[dir]), &o);
            check(h != nullptr, "CreateMsgQueue");
            g_ce[dir][reader ? 1 : 0] = h;
        }
    };
    t.send = [](int dir, const void* msg) {
        check(WriteMsgQueue(g_ce[dir][0], const_cast<void*>(msg), kMessageBytes, INFINITE, 0),
              "WriteMsgQueue");
    };
    t.receive = [](int dir, void* msg) {
        DWORD got = 0, flags = 0;
        check(ReadMsgQueue(g_ce[dir][1], msg, kMessageBytes, &got, INFINITE, &flags) &&
                  got == kMessageBytes,
              "ReadMsgQueue");
    };
    return t;
}

// ---- POSIX message queues ----
mqd_t g_mq[2];
std::string g_mq_names[2];

Transport posix_queues() {
    Transport t{"POSIX mq", {}, {}, {}};
    for (int dir = 0; dir < 2; ++dir) {
        g_mq_names[dir] = "/cek-bench-" + std::to_string(::getpid()) + "-" + std::to_string(dir);
        mq_attr a{};
        a.mq_maxmsg = 10;
        a.mq_msgsize = kMessageBytes;
        mqd_t q = mq_open(g_mq_names[dir].c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &a);
        if (q == static_cast<mqd_t>(-1)) die("mq_open");
        mq_close(q);
    }
    t.open = [](int) {
        for (int dir = 0; dir < 2; ++dir) {
            g_mq[dir] = mq_open(g_mq_names[dir].c_str(), O_RDWR);
            check(g_mq[dir] != static_cast<mqd_t>(-1), "mq_open");
        }
    };
    t.send = [](int dir, const void* msg) {
        check(mq_send(g_mq[dir], static_cast<const char*>(msg), kMessageBytes, 0) == 0, "mq_send");
    };
    t.receive = [](int dir, void* msg) {
        check(mq_receive(g_mq[dir], static_cast<char*>(msg), kMessageBytes, nullptr) ==
                  static_cast<ssize_t>(kMessageBytes),
              "mq_receive");
    };
    return t;
}

// ---- Pipes ----
int g_pipe[2][2];

Transport pipes() {
    Transport t{"pipe", {}, {}, {}};
    for (auto& p : g_pipe)
        if (::pipe(p) != 0) die("pipe");
    t.open = [](int) {};
    t.send = [](int dir, const void* msg) {
        check(::write(g_pipe[dir][1], msg, kMessageBytes) == static_cast<ssize_t>(kMessageBytes),
              "write");
    };
    t.receive = [](int dir, void* msg) {
        size_t got = 0;
        while (got < kMessageBytes) {
            ssize_t n = ::read(g_pipe[dir][0], static_cast<char*>(msg) + got, kMessageBytes - got);
            check(n > 0, "read");
            got += static_cast<size_t>(n);
        }
    };
    return t;
}

// Runs `messages` ping-pongs (stream: one-way messages) between two forked processes; returns
// ns per round trip (per message). The message carries its number, checked on arrival.
double measure(const Transport& t, int messages, bool stream) {
    Pipe ready, go, result;
    const pid_t b = fork_child([&] {
        ::close(result.w);  // A's death ends the parent's wait
        t.open(1);
        ready.put('r');
        char msg[kMessageBytes] = {};
        for (int i = 0; i < messages; ++i) {
            t.receive(0, msg);
            uint32_t n = 0;
            std::memcpy(&n, msg, sizeof n);
            check(n == static_cast<uint32_t>(i), "message order");
            if (!stream) t.send(1, msg);
        }
        if (stream) t.send(1, msg);  // the end
        return 0;
    });
    const pid_t a = fork_child([&] {
        t.open(0);
        ready.put('r');
        go.get();
        char msg[kMessageBytes] = {};
        const uint64_t start = cek::proto::monotonic_ns();
        for (int i = 0; i < messages; ++i) {
            const auto n = static_cast<uint32_t>(i);
            std::memcpy(msg, &n, sizeof n);
            t.send(0, msg);
            if (!stream) t.receive(1, msg);
        }
        if (stream) t.receive(1, msg);
        const uint64_t ns = cek::proto::monotonic_ns() - start;
        (void)!::write(result.w, &ns, sizeof ns);
        return 0;
    });
    ready.get();
    ready.get();
    go.put('g');
    ::close(result.w);
    uint64_t ns = 0;
    pollfd p{result.r, POLLIN, 0};
    // A run that has not ended after two minutes is stuck (a side failed): stop both.
    if (::poll(&p, 1, 120'000) != 1 || ::read(result.r, &ns, sizeof ns) != sizeof ns) {
        ns = 0;
        ::kill(a, SIGKILL);
        ::kill(b, SIGKILL);
    }
    const int sa = reap(a), sb = reap(b);
    if (ns == 0 || sa != 0 || sb != 0) {
        std::fprintf(stderr, "msgqueue_bench: %s run failed (status %d, %d)\n", t.name, sa, sb);
        std::exit(3);
    }
    return static_cast<double>(ns) / messages;
}

double median_of(const Transport& t, const Options& o, bool stream) {
    std::vector<double> v;
    for (int r = 0; r < o.runs; ++r) v.push_back(measure(t, o.messages, stream));
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (const char* k = std::getenv("CEK_KERNEL")) o.kernel = k;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--quick") {
            o.messages = 2000;
            o.runs = 1;
        } else if (a == "--kernel") {
            o.kernel = next();
        } else if (a == "--messages") {
            o.messages = std::atoi(next().c_str());
        } else if (a == "--runs") {
            o.runs = std::max(1, std::atoi(next().c_str()));
        } else {
            std::fprintf(stderr, "usage: see the comment at the top of msgqueue_bench.cpp\n");
            return 2;
        }
    }
    if (o.kernel.empty()) {
        std::fprintf(stderr, "msgqueue_bench: no kernel (--kernel or $CEK_KERNEL)\n");
        return 2;
    }
    const cek::bench::PrivateKernel kernel(o.kernel, "msgqueue");
    const Transport ours = ce_queues(), mq = posix_queues(), pipe = pipes();
    std::printf("64-byte messages between two processes; median of %d runs of %d messages\n",
                o.runs, o.messages);
    std::printf("%-12s %14s %14s\n", "transport", "ping-pong ns", "stream ns/msg");
    double rt[3], st[3];
    const Transport* all[3] = {&ours, &mq, &pipe};
    for (int i = 0; i < 3; ++i) {
        rt[i] = median_of(*all[i], o, false);
        st[i] = median_of(*all[i], o, true);
        std::printf("%-12s %14.0f %14.0f\n", all[i]->name, rt[i], st[i]);
    }
    std::printf("ratio CE / faster of POSIX mq and pipe: ping-pong %.2f, stream %.2f\n",
                rt[0] / std::min(rt[1], rt[2]), st[0] / std::min(st[1], st[2]));
    for (const auto& name : g_mq_names) mq_unlink(name.c_str());
    return 0;
}

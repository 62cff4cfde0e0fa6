// PID namespaces (issue 17, docs/deploy.md): a client in a PID namespace of its own (as in a
// container, or under `unshare --pid --fork --mount-proc`) talks to a kernel outside it, and a
// kernel in a PID namespace serves clients outside it, whose pids it cannot see (SO_PEERCRED
// says 0). Each such peer is a process of its own; the connections of one host process still
// share one quota where the host names processes without pids (SO_PEERPIDFD and pidfs); a
// peer's death is seen through its pidfd even when its socket stays open.
//
// Needs `unshare --pid` (root, or unprivileged user namespaces): elsewhere each case says so
// and does nothing.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

// --kill-child: the process inside dies with the unshare the test holds (and kills).
const std::vector<std::string> kUnshare = {"/usr/bin/unshare", "--pid", "--fork", "--kill-child",
                                           "--mount-proc"};

// Whether this host lets us make a PID namespace (root here and in CI; a container may not).
bool can_unshare_pid() {
    if (::access(kUnshare[0].c_str(), X_OK) != 0) return false;
    std::vector<std::string> argv = kUnshare;
    argv.push_back("/usr/bin/true");
    Child probe(argv, {});
    probe.close_stdin();
    auto status = probe.wait(30s);
    return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

#define REQUIRE_PID_NAMESPACES()                                                              \
    if (!can_unshare_pid()) {                                                                 \
        WARN("SKIPPED: `unshare --pid --fork` (util-linux) is missing or not permitted on "  \
             "this host (needs root or user namespaces)");                                   \
        return;                                                                               \
    }

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

// Whether the host gives a socket's peer as a pidfd (Linux 6.5), and pidfds an inode of their
// own (pidfs, Linux 6.9): then the kernel tells processes apart without seeing their pids.
bool host_names_invisible_peers() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return false;
    int fd = -1;
    socklen_t len = sizeof fd;
    bool ok = ::getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0 && fd >= 0;
    struct statfs fs {};
    ok = ok && ::fstatfs(fd, &fs) == 0 && fs.f_type == 0x50494446;
    if (fd >= 0) ::close(fd);
    ::close(sv[0]);
    ::close(sv[1]);
    return ok;
}

std::unique_ptr<Child> spawn_in_namespace(KernelFixture& k, const std::string& program_path) {
    std::vector<std::string> argv = kUnshare;
    argv.push_back(program_path);
    auto c = std::make_unique<Child>(argv, k.client_env());
    REQUIRE(c->ask("ping", 30s) == "ok");
    return c;
}

// The kernel in a PID namespace of its own: clients outside are invisible to it.
void restart_in_namespace(KernelFixture& k) {
    k.kill_kernel(SIGTERM);
    REQUIRE(k.wait_kernel(10s));
    k.start_kernel({}, kUnshare);
}

// Readiness for a client whose pid the test does not know: some wait is parked.
bool some_wait(KernelFixture& k) {
    return k.wait_for([](const cek::proto::Snapshot& s) { return !s.waits.empty(); });
}

size_t processes_with_pid(const cek::proto::Snapshot& s, int pid) {
    return static_cast<size_t>(std::count_if(s.processes.begin(), s.processes.end(), [&](const auto& p) {
        return p.pid == pid && p.channel_state != "diagnostics";
    }));
}

}  // namespace

TEST_CASE("a client in a PID namespace of its own works with a kernel outside it",
          "[multiproc][pidns]") {
    REQUIRE_PID_NAMESPACES();
    KernelFixture k;
    auto inside = spawn_in_namespace(k, program("CEK_CHILD"));
    CHECK(inside->ask("pid") == "ok 1");  // it is its namespace's first process
    auto outside = k.spawn_child();
    // Named objects, waits and shared views across the boundary.
    std::string e = inside->ask("event pidns-event 0 0");
    REQUIRE(field(e, 0) == "ok");
    CHECK(field(outside->ask("event pidns-event 0 0"), 2) == "183");
    std::string m = inside->ask("create pidns-map 65536 4");
    REQUIRE(field(m, 0) == "ok");
    std::string view = inside->ask("map " + field(m, 1) + " 2 0 0");
    REQUIRE(field(view, 0) == "ok");
    REQUIRE(inside->ask("write " + field(view, 1) + " across") == "ok");
    std::string m2 = outside->ask("create pidns-map 65536 4");
    std::string view2 = outside->ask("map " + field(m2, 1) + " 2 0 0");
    REQUIRE(field(view2, 0) == "ok");
    CHECK(outside->ask("read " + field(view2, 1) + " 6") == "ok across");
    inside->write_line("wait inf " + field(e, 1));
    REQUIRE(some_wait(k));
    std::string e2 = outside->ask("openevent pidns-event");
    REQUIRE(outside->ask("set " + field(e2, 1)) == "ok");
    CHECK(inside->read_line(10s).value_or("timeout") == "ok 0x0");
    // The kernel sees the real pid (ours is an ancestor namespace): a process like any other.
    auto snap = k.snapshot();
    CHECK(app_processes(snap) == 2);
    for (const auto& p : snap.processes) CHECK(p.pid > 0);
    // Its death (the namespace goes with it) releases what it held.
    inside->kill(SIGKILL);
    REQUIRE(inside->wait(10s));
    CHECK(k.wait_for([](const cek::proto::Snapshot& s) { return app_processes(s) == 1; }));
}

TEST_CASE("clients in PID namespaces of their own, whose thread ids repeat, exclude each other "
          "through a mutex",
          "[multiproc][pidns][word]") {
    REQUIRE_PID_NAMESPACES();
    KernelFixture k;
    auto one = spawn_in_namespace(k, program("CEK_CHILD"));
    auto two = spawn_in_namespace(k, program("CEK_CHILD"));
    REQUIRE(one->ask("tid") == two->ask("tid"));  // both main threads are their namespace's 1
    std::string m1 = one->ask("mutex pidns-mutex 0");
    REQUIRE(field(m1, 0) == "ok");
    std::string m2 = two->ask("mutex pidns-mutex 0");
    REQUIRE(field(m2, 2) == "183");
    CHECK(one->ask("wait 0 " + field(m1, 1)) == "ok 0x0");
    // The same thread id in another namespace is another thread: no second owner.
    CHECK(two->ask("wait 0 " + field(m2, 1)) == "ok 0x102");
    CHECK(two->ask("release " + field(m2, 1)) == "fail 288");
    two->write_line("wait inf " + field(m2, 1));
    REQUIRE(some_wait(k));
    CHECK(one->ask("release " + field(m1, 1)) == "ok");
    CHECK(two->read_line(10s).value_or("timeout") == "ok 0x0");
    CHECK(one->ask("wait 0 " + field(m1, 1)) == "ok 0x102");
    CHECK(two->ask("release " + field(m2, 1)) == "ok");
    CHECK(one->ask("wait 0 " + field(m1, 1)) == "ok 0x0");
    CHECK(one->ask("release " + field(m1, 1)) == "ok");
}

TEST_CASE("a mutex owned by a client in a PID namespace of its own stays with the kernel while "
          "it owns it; a client in the kernel's namespace goes on through the word",
          "[multiproc][pidns][word]") {
    REQUIRE_PID_NAMESPACES();
    KernelFixture k;
    auto inside = spawn_in_namespace(k, program("CEK_CHILD"));
    auto outside = k.spawn_child();
    auto word_state = [&] { return object_detail(k.snapshot(), "mutex", "word"); };
    std::string mo = outside->ask("mutex pidns-mixed 0");
    REQUIRE(field(mo, 0) == "ok");
    CHECK(outside->ask("wait 0 " + field(mo, 1)) == "ok 0x0");
    CHECK(outside->ask("release " + field(mo, 1)) == "ok");
    CHECK(word_state() == "shared, 1 processes");
    std::string mi = inside->ask("mutex pidns-mixed 0");
    REQUIRE(field(mi, 2) == "183");
    // Its thread id is its namespace's own: the word must not carry it.
    CHECK(inside->ask("wait 0 " + field(mi, 1)) == "ok 0x0");
    CHECK(word_state() == "kernel");
    CHECK(outside->ask("wait 0 " + field(mo, 1)) == "ok 0x102");
    CHECK(inside->ask("release " + field(mi, 1)) == "ok");
    CHECK(word_state() == "shared, 1 processes");
    CHECK(outside->ask("wait 0 " + field(mo, 1)) == "ok 0x0");
    CHECK(inside->ask("wait 0 " + field(mi, 1)) == "ok 0x102");
    CHECK(outside->ask("release " + field(mo, 1)) == "ok");
}

TEST_CASE("a kernel in a PID namespace serves clients it cannot see, each a process of its own",
          "[multiproc][pidns]") {
    REQUIRE_PID_NAMESPACES();
    KernelFixture k;
    restart_in_namespace(k);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string e = a->ask("event pidns-seen 0 0");
    REQUIRE(field(e, 0) == "ok");
    CHECK(field(b->ask("event pidns-seen 0 0"), 2) == "183");
    a->write_line("wait inf " + field(e, 1));
    REQUIRE(some_wait(k));
    auto snap = k.snapshot();
    // SO_PEERCRED gives 0 for a peer outside the kernel's namespace: two records, not one.
    CHECK(processes_with_pid(snap, 0) == 2);
    REQUIRE(app_processes(snap) == 2);
    std::string e2 = b->ask("openevent pidns-seen");
    REQUIRE(b->ask("set " + field(e2, 1)) == "ok");
    CHECK(a->read_line(10s).value_or("timeout") == "ok 0x0");
    // One's death takes its objects and leaves the other's.
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s));
    CHECK(k.wait_for([](const cek::proto::Snapshot& s) { return app_processes(s) == 1; }));
    CHECK(field(b->ask("event pidns-seen 0 0"), 2) == "183");  // b's handle keeps it
    k.kill_kernel(SIGKILL);  // unshare ignores SIGTERM; --kill-child takes the kernel along
    REQUIRE(k.wait_kernel(10s));
}

TEST_CASE("a kernel in a PID namespace still gives one host process one quota",
          "[multiproc][pidns][quota]") {
    REQUIRE_PID_NAMESPACES();
    KernelFixture k;
    restart_in_namespace(k);
    auto first = spawn_hostile(k);
    auto second = spawn_hostile(k);
    if (host_names_invisible_peers()) {
        // SO_PEERPIDFD and pidfs name each process: its connections are grouped as before,
        // and another process has a cap of its own.
        CHECK(first->ask("conns 20") == "ok 8 status 3");
        CHECK(second->ask("conns 20") == "ok 8 status 3");
    } else {
        WARN("this host has no SO_PEERPIDFD or pidfs: every connection of an invisible peer is a "
             "host process of its own");
        CHECK(first->ask("conns 20") == "ok 20 none");
    }
    REQUIRE(first->ask("conns-drop") == "ok");
    REQUIRE(second->ask("conns-drop") == "ok");
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
}

TEST_CASE("a kernel in a PID namespace sees an invisible client die while a raw fork child holds "
          "its socket",
          "[multiproc][pidns]") {
    REQUIRE_PID_NAMESPACES();
    if (!host_names_invisible_peers()) {
        WARN("SKIPPED: no SO_PEERPIDFD on this host: the kernel has no pidfd for a peer it "
             "cannot see, and learns of its death only from the socket");
        return;
    }
    KernelFixture k;
    restart_in_namespace(k);
    auto parent = spawn_hostile(k);
    std::string forked = parent->ask("rawfork pidns-lock");
    REQUIRE(field(forked, 0) == "ok");
    const pid_t raw_child = std::stoi(field(forked, 1));
    auto waiter = k.spawn_child();
    std::string opened = waiter->ask("mutex pidns-lock 0");
    REQUIRE(field(opened, 2) == "183");
    waiter->write_line("wait inf " + field(opened, 1));
    REQUIRE(some_wait(k));
    parent->kill(SIGKILL);
    REQUIRE(parent->wait(10s).has_value());
    CHECK(waiter->read_line(10s).value_or("timeout") == "ok 0x80");  // WAIT_ABANDONED
    ::kill(raw_child, SIGKILL);
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
}

// Hostile clients (tests/helpers/hostile): whatever one client does to its channel, its socket
// or the kernel's limits, the kernel answers it with a clear error or drops it, and a normal
// neighbour process making calls all along keeps working with its state intact. Afterwards the
// kernel holds nothing of either (cedump --json).
#include <catch2/catch.hpp>
#include <dirent.h>
#include <signal.h>

#include <memory>
#include <string>

#include "protocol/channel.h"
#include "protocol/version.h"
#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

// The hostile helper's "malformed" command with the answers UnmapViewOfFile and FlushViewOfFile
// give for an address of no view under k's personality: CE 5 ERROR_INVALID_ADDRESS and a
// failure that sets no error, CE 6 ERROR_INVALID_PARAMETER for both.
std::string malformed_command(const KernelFixture& k) {
    return k.ce5() ? "malformed 487 0xFFFFFFFF" : "malformed 87 87";
}

// A well-behaved ce_child: a mapping it filled before the trouble, and a storm of calls to run
// while the hostile client does its worst.
class Neighbour {
public:
    explicit Neighbour(KernelFixture& k) : child_(k.spawn_child()) {
        std::string h = child_->ask("create neighbour-guard 65536 4");
        REQUIRE(field(h, 0) == "ok");
        view_ = field(child_->ask("map " + field(h, 1) + " 2 0 0"), 1);
        REQUIRE(!view_.empty());
        REQUIRE(child_->ask("fill " + view_ + " 65536 0x5a") == "ok");
    }
    // Starts `cycles` create/map/unmap/close cycles; finish() collects their result.
    void start_storm(int cycles, int seed) {
        child_->write_line("storm " + std::to_string(cycles) + " " + std::to_string(seed));
        REQUIRE(child_->read_line(10s) == std::optional<std::string>("started"));
    }
    void finish_storm() { CHECK(child_->read_line(120s) == std::optional<std::string>("ok")); }
    // Its mapping still holds what it wrote, and it can still make new objects.
    void check_intact() {
        CHECK(child_->ask("check " + view_ + " 65536 0x5a") == "ok");
        std::string h = child_->ask("create - 4096 4");
        CHECK(field(h, 0) == "ok");
        CHECK(field(child_->ask("close " + field(h, 1)), 0) == "ok");
    }
    Child& child() { return *child_; }
    void leave() {
        child_->close_stdin();
        CHECK(child_->wait(10s));
    }

private:
    std::unique_ptr<Child> child_;
    std::string view_;
};

void leave(Child& c) {
    c.close_stdin();
    REQUIRE(c.wait(30s));
}

std::string cedump_json(KernelFixture& k) {
    Child dump({program("CEK_CEDUMP"), "--json"}, k.client_env());
    std::string out;
    while (auto line = dump.read_line(10s)) out += *line + "\n";
    dump.wait(10s);
    return out;
}

// Once every client has gone: no process, handle, object, view or name is left.
void require_nothing_leaked(KernelFixture& k) {
    REQUIRE(k.wait_for([](const cek::proto::Snapshot& s) {
        return app_processes(s) == 0 && s.handles.empty() && s.objects.empty();
    }));
    std::string json = cedump_json(k);
    CHECK(json.find("\"handles\": [\n  ]") != std::string::npos);
    CHECK(json.find("\"objects\": [\n  ]") != std::string::npos);
    CHECK(json.find("\"views\": [\n  ]") != std::string::npos);
    CHECK(json.find("\"names\": [\n  ]") != std::string::npos);
}

size_t open_descriptors(pid_t pid) {
    size_t n = 0;
    std::string path = "/proc/" + std::to_string(pid) + "/fd";
    if (DIR* d = ::opendir(path.c_str())) {
        while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
        ::closedir(d);
    }
    return n;
}

const std::string kHelloMagic = std::to_string(cek::proto::kMagic);
const std::string kHelloVersion = std::to_string(cek::proto::kProtocolVersion);

}  // namespace

TEST_CASE("garbage, truncated and out-of-range requests each get a clear error",
          "[multiproc][hostile]") {
    KernelFixture k;
    Neighbour n(k);
    auto h = spawn_hostile(k);
    REQUIRE(h->ask("hello") == "status 0");
    n.start_storm(3000, 1);
    // Every request the dispatcher can get wrong, with the exact error (or none) it must give.
    const std::string malformed = h->ask(malformed_command(k));
    INFO(malformed);
    CHECK(field(malformed, 0) == "ok");
    // Random bytes in random slots: every one answered with a well-formed reply.
    CHECK(field(h->ask("garbage 5000 11", 60s), 0) == "ok");
    CHECK(h->ask("null") == "ok");
    n.finish_storm();
    n.check_intact();
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("a request rewritten while the kernel reads it is answered from one copy",
          "[multiproc][hostile]") {
    KernelFixture k;
    Neighbour n(k);
    auto h = spawn_hostile(k);
    REQUIRE(h->ask("hello") == "status 0");
    n.start_storm(3000, 2);
    CHECK(h->ask("scribble 5000", 60s) == "ok 5000");
    n.finish_storm();
    n.check_intact();
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("replies never read and ready bits with nothing new change nothing",
          "[multiproc][hostile]") {
    KernelFixture k;
    Neighbour n(k);
    auto h = spawn_hostile(k);
    REQUIRE(h->ask("hello") == "status 0");
    n.start_storm(3000, 3);
    CHECK(h->ask("noreply 1000") == "ok");
    // Spurious bits for all 64 slots: none of them is answered, a real request still is.
    CHECK(h->ask("spurious 1000") == "ok");
    n.finish_storm();
    n.check_intact();
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("a client flooding all 64 slots does not starve its neighbour",
          "[multiproc][hostile]") {
    KernelFixture k;
    Neighbour n(k);
    auto h = spawn_hostile(k);
    REQUIRE(h->ask("hello") == "status 0");
    REQUIRE(h->ask("flood") == "started");
    n.start_storm(2000, 4);
    n.finish_storm();  // completes while the flood goes on
    n.check_intact();
    std::string stopped = h->ask("stop", 30s);
    CHECK(field(stopped, 0) == "ok");
    CHECK(field(stopped, 2) == "64");  // the last request of every slot was answered
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("a client at its handle quota fails with its personality's error and starves no one",
          "[multiproc][hostile][quota]") {
    KernelFixture k;
    Neighbour n(k);
    std::string shared = n.child().ask("create quota-shared 4096 4");
    REQUIRE(field(shared, 0) == "ok");
    auto h = spawn_hostile(k);
    // 65,536 handles per process (one file, then events): the next one is
    // ERROR_NOT_ENOUGH_MEMORY, CE 5's answer to a full handle list. CE 6's own table holds
    // 65,472 (indices 64 to 65,535), then ERROR_NO_MORE_USER_HANDLES.
    const std::string full = k.ce5() ? "8" : "1158";
    CHECK(h->ask("quota", 120s) == (k.ce5() ? "ok 65536 " : "ok 65472 ") + full);
    // Opening an existing name would add a handle too.
    CHECK(h->ask("open-name quota-shared") == "fail " + full);
    // The global table is not full: the neighbour goes on creating and opening.
    n.check_intact();
    CHECK(field(n.child().ask("create quota-shared 0 4"), 2) == "183");
    REQUIRE(h->ask("close-all", 120s) == "ok");
    const std::string reopened = h->ask("open-name quota-shared");
    INFO("after closing everything: " << reopened);
    CHECK(field(reopened, 0) == "ok");
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("a client filling the shared mapping window gets ERROR_NOT_ENOUGH_MEMORY",
          "[multiproc][hostile][window][ce5]") {
    // CE 5's rule: a mapping takes its range of the one window when it is created.
    KernelFixture k(kCe5Kernel);
    Neighbour n(k);
    auto h = spawn_hostile(k);
    // Mappings until the 64 GiB window is full to the last page (32 of 2 GB, then the gaps),
    // then CE's error.
    std::string filled = h->ask("window", 60s);
    REQUIRE(field(filled, 0) == "ok");
    CHECK(std::stoi(field(filled, 1)) >= 32);
    CHECK(field(filled, 2) == "8");
    // Views of what it has still work: their addresses were given at creation (CE 5).
    CHECK(field(h->ask("map-all", 60s), 0) == "ok");
    // The window is one for all, as in CE 5: a new mapping fails for everyone while it is full,
    // but everything that exists keeps working.
    CHECK(n.child().ask("create - 65536 4") == "fail 8");
    n.start_storm(1, 5);
    CHECK(n.child().read_line(30s) == std::optional<std::string>("fail 8"));
    REQUIRE(h->ask("close-all", 60s) == "ok");
    leave(*h);  // its views go with it
    n.check_intact();
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("bad hellos are refused and clients that never say hello hold nothing",
          "[multiproc][hostile][hello][descriptors]") {
    KernelFixture k;
    const size_t fds_before = open_descriptors(k.kernel_pid());
    Neighbour n(k);
    auto h = spawn_hostile(k);
    // Wrong magic: dropped without a word. Wrong version: told which one the kernel speaks.
    CHECK(h->ask("hello 0x12345678 " + kHelloVersion) == "closed");
    CHECK(h->ask("hello " + kHelloMagic + " 0xFFFF") == "status 1");
    // Descriptors sent along with a hello are never kept by the kernel.
    INFO("magic " << kHelloMagic << " version " << kHelloVersion);
    CHECK(h->ask("hello " + kHelloMagic + " " + kHelloVersion + " 5") == "status 0");
    CHECK(h->ask("null") == "ok");
    // Anything on the socket after the hello ends the connection, a descriptor too: they go
    // one way only (docs/decisions/0008-descriptor-passing.md), and the host drops it unread.
    CHECK(h->ask("data") == "closed");
    CHECK(h->ask("hello") == "status 0");
    CHECK(h->ask("fdsend") == "closed");
    // Connections that never say hello: nothing attached, nothing blocked.
    auto silent = spawn_hostile(k);
    CHECK(silent->ask("silent") == "ok");
    auto silent2 = spawn_hostile(k);
    CHECK(silent2->ask("silent") == "ok");
    n.check_intact();
    CHECK(k.snapshot().processes.size() == 2);  // the neighbour and this snapshot
    leave(*silent);
    leave(*silent2);
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
    REQUIRE(k.wait_for([&](const auto&) { return open_descriptors(k.kernel_pid()) == fds_before; }));
}

TEST_CASE("a client that never reads the descriptors it asks for is refused more, not the kernel",
          "[multiproc][hostile][descriptors]") {
    KernelFixture k;
    Neighbour n(k);
    auto h = spawn_hostile(k);
    REQUIRE(h->ask("hello") == "status 0");
    // 128 unread descriptor messages may queue on its socket, in what the host charges one
    // (fewer only where the socket's send buffer fills first: more than 1.6 KiB a message);
    // past that every call that would send one more fails with ERROR_TOO_MANY_OPEN_FILES (4),
    // and the kernel goes on.
    const std::string flood = h->ask("fdflood \\fdflood.bin 1000", 60s);
    INFO(flood);
    REQUIRE(field(flood, 0) == "refused");
    CHECK(std::stoi(field(flood, 1)) <= cek::proto::kMaxQueuedFdMessages);
    CHECK(std::stoi(field(flood, 1)) >= cek::proto::kMaxQueuedFdMessages / 2);
    CHECK(field(flood, 2) == "4");
    CHECK(field(h->ask("fdflood \\fdflood2.bin 1"), 0) == "refused");  // still full
    CHECK(h->ask("null") == "ok");  // calls that send nothing still work
    // The neighbour still gets its descriptors: a new mapping's first view, a new file's I/O.
    n.check_intact();
    const std::string m = field(n.child().ask("create - 65536 4"), 1);
    const std::string view = field(n.child().ask("map " + m + " 2 0 0"), 1);
    REQUIRE(!view.empty());
    CHECK(n.child().ask("fill " + view + " 65536 0x33") == "ok");
    CHECK(n.child().ask("check " + view + " 65536 0x33") == "ok");
    const std::string f = field(n.child().ask("open \\neighbour.txt 0xc0000000 0 2"), 1);
    REQUIRE(!f.empty());
    CHECK(n.child().ask("fwrite " + f + " hello") == "ok 5");
    CHECK(field(n.child().ask("seek " + f + " 0 0"), 0) == "ok");
    CHECK(n.child().ask("fread " + f + " 5") == "ok hello");
    CHECK(field(n.child().ask("unmap " + view), 0) == "ok");
    CHECK(field(n.child().ask("close " + m), 0) == "ok");
    CHECK(field(n.child().ask("close " + f), 0) == "ok");
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("a client that resizes, seals or unmaps its channel hurts only itself",
          "[multiproc][hostile][channel]") {
    KernelFixture k;
    Neighbour n(k);
    auto h = spawn_hostile(k);
    REQUIRE(h->ask("hello") == "status 0");
    // The channel is sealed against resizing and further seals (EPERM); the header, which the
    // kernel never trusts, is scribbled over.
    std::string abuse = h->ask("channel");
    CHECK(abuse.rfind("ok shrink=1 grow=1 seal=1", 0) == 0);
    CHECK(h->ask("null") == "ok");
    CHECK(h->ask(malformed_command(k)).rfind("ok", 0) == 0);
    // Dropping its own mapping of the channel changes nothing for the kernel.
    CHECK(h->ask("unmap") == "ok");
    n.check_intact();
    CHECK(h->ask("drop") == "ok");
    REQUIRE(k.wait_for([](const auto& s) { return app_processes(s) == 1; }));
    n.check_intact();
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("a kernel out of descriptors refuses new connections and keeps serving its clients",
          "[multiproc][hostile][descriptors]") {
    KernelFixture k;
    Neighbour n(k);
    const pid_t kernel = k.kernel_pid();
    auto set_limit = [&](const std::string& limit) {
        Child prlimit({"/usr/bin/prlimit", "--pid", std::to_string(kernel), "--nofile=" + limit}, {});
        REQUIRE(prlimit.wait(10s) == std::optional<int>(0));
    };
    // Descriptors are numbered from 0 without gaps here: the next one would pass the limit.
    const size_t in_use = open_descriptors(kernel);
    set_limit(std::to_string(in_use) + ":");
    auto h = spawn_hostile(k);
    std::string refused = h->ask("hello");
    CHECK(refused != "status 0");
    CHECK(refused != "timeout");
    // The loop did not wedge on the pending connection: its client is served (opening an
    // existing name needs no new descriptor).
    std::string again = n.child().ask("create neighbour-guard 0 4");
    CHECK(field(again, 2) == "183");
    CHECK(field(n.child().ask("close " + field(again, 1)), 0) == "ok");
    set_limit(std::to_string(in_use + 100) + ":");
    CHECK(h->ask("hello") == "status 0");
    CHECK(h->ask("null") == "ok");
    leave(*h);
    n.leave();
    require_nothing_leaked(k);
}

TEST_CASE("a process killed holding a queue ring's lock hands it on; a scribbled lock costs "
          "only the time-out", "[multiproc][msgqueue][death][hostile]") {
    KernelFixture k;
    auto reader = k.spawn_child();
    auto writer = k.spawn_child();
    auto hostile = spawn_hostile(k);
    const std::string r = field(reader->ask("mq locked 1 4 64 0"), 1);
    const std::string w = field(writer->ask("mq locked 0 4 64 0"), 1);
    // A lock word naming a live thread (the reader's): a call gives up at its time-out, and one
    // that must not wait after a short patience, both with ERROR_TIMEOUT.
    REQUIRE(hostile->ask("mqlock locked set " + std::to_string(reader->pid())) == "ok");
    CHECK(writer->ask("mqwrite " + w + " 50 0 late", 10s) == "fail 1460");
    CHECK(writer->ask("mqwrite " + w + " 0 0 late", 10s) == "fail 1460");
    REQUIRE(hostile->ask("mqlock locked free") == "ok");
    CHECK(writer->ask("mqwrite " + w + " 0 0 one") == "ok 0");
    // The hostile process takes the lock inside a call and is killed there: the writer blocked
    // behind it takes the lock over and writes.
    REQUIRE(hostile->ask("mqlock locked hold") == "held");
    writer->write_line("mqwrite " + w + " inf 0 two");
    CHECK(reader->ask("mqread " + r + " 0 64") == "fail 1460");  // the reader cannot get in
    hostile->kill(SIGKILL);
    REQUIRE(hostile->wait(10s).has_value());
    CHECK(writer->read_line(10s).value_or("timeout") == "ok 0");
    CHECK(reader->ask("mqread " + r + " 0 64") == "ok one 0x0 0");
    CHECK(reader->ask("mqread " + r + " 0 64") == "ok two 0x0 0");
}

TEST_CASE("a process's posted exit code is served after it went; nothing else it left is",
          "[multiproc][hostile]") {
    // ExitProcess posts its code without waiting for the answer (decision 0011, "Exit codes");
    // a process that closes its connection right after must not lose it, even when the kernel
    // looks at the hang-up before the channel. A call it made and did not post is dropped.
    KernelFixture k;
    for (const char* posted : {"1", "0"}) {
        auto h = spawn_hostile(k);
        REQUIRE(h->ask("hello") == "status 0");
        const std::string id = field(h->ask("rawid"), 1);
        REQUIRE(!id.empty());
        auto watcher = k.spawn_child();
        const std::string process = field(watcher->ask("openproc " + id), 1);
        REQUIRE(!process.empty());
        REQUIRE(h->ask(std::string("lastwords 0x2468ace0 ") + posted) == "ok");
        CHECK(watcher->ask("wait 10000 " + process) == "ok 0x0");
        // Not told: a process from a shell that ends without a code reports 0.
        CHECK(watcher->ask("pexitcode " + process) ==
              (std::string(posted) == "1" ? "ok 0x2468ace0" : "ok 0x0"));
    }
}

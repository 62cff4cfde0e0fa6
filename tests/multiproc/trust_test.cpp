// Trust between clients and their kernel (docs/security.md, issue 16): a client talks only to a
// kernel of its own user; no client can make the kernel page lie to the others; a flood delays
// no one's connection or hang-up; no client can grow the kernel's log without bound; a process
// whose kernel died can no longer write its files or views; a child made with the raw fork
// system call does not keep its dead parent's objects.
//
// The other user of the first case is a fresh uid that no account uses, taken by the hostile
// helper with setresuid (as root only: elsewhere the case says so and does nothing).
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

std::unique_ptr<Child> spawn_hostile(const std::map<std::string, std::string>& env) {
    auto h = std::make_unique<Child>(std::vector<std::string>{program("CEK_HOSTILE")}, env);
    REQUIRE(h->ask("ping") == "ok");
    return h;
}

std::string file_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

// A client whose runtime directory is `dir`: its first call, and whether a fake kernel
// listening there as another user got anything from it.
struct SpoofResult {
    std::string answer;
    std::string fake_saw;
};

SpoofResult try_spoofed_kernel(const std::string& dir, bool chown_dir, mode_t mode) {
    const uid_t other = unused_uid(61000 + static_cast<uid_t>(::getpid() % 1000));
    std::map<std::string, std::string> env = {
        {"CEK_RUNTIME_DIR", dir}, {"CEK_INSTANCE", "spoofed"}, {"CEK_AUTOSTART", "0"}};
    REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
    auto fake = spawn_hostile(env);
    REQUIRE(fake->ask("fake-kernel " + std::to_string(other) + " " + std::to_string(other) + " " +
                      dir + "/spoofed.sock") == "listening");
    if (chown_dir) REQUIRE(::chown(dir.c_str(), other, other) == 0);
    REQUIRE(::chmod(dir.c_str(), mode) == 0);
    Child victim({program("CEK_CHILD")}, env);
    SpoofResult r;
    r.answer = victim.ask("event - 0 0", 30s);
    // Whatever the victim did is in the fake's backlog by now: no need to wait for it.
    r.fake_saw = fake->ask("fake-accept 0");
    return r;
}

}  // namespace

TEST_CASE("a client refuses a runtime directory or a kernel socket of another user",
          "[multiproc][trust]") {
    if (::geteuid() != 0) {
        WARN("skipped: needs root to act as a second user (setresuid to a fresh uid)");
        return;
    }
    TempDir base("cek-spoof");
    SECTION("the directory belongs to another user") {
        auto r = try_spoofed_kernel(base.path() + "/theirs", true, 0700);
        CHECK(r.answer == "fail 1062");  // ERROR_SERVICE_NOT_ACTIVE: no kernel to talk to
        CHECK(r.fake_saw == "none");
    }
    SECTION("the directory is ours but open to everyone") {
        auto r = try_spoofed_kernel(base.path() + "/open", false, 0777);
        CHECK(r.answer == "fail 1062");
        CHECK(r.fake_saw == "none");
    }
    SECTION("the directory is private but the socket's listener is another user") {
        auto r = try_spoofed_kernel(base.path() + "/planted", false, 0700);
        CHECK(r.answer == "fail 1062");
        CHECK(r.fake_saw == "connected 0");  // connected, then hung up without a word
    }
}

TEST_CASE("no client can write the kernel page, so none can keep the others from waking it",
          "[multiproc][trust]") {
    KernelFixture k;
    auto neighbour = k.spawn_child();
    auto hostile = spawn_hostile(k.client_env());
    REQUIRE(hostile->ask("hello") == "status 0");
    // A writable mapping, write(2), mprotect and a writable reopen: each refused by the host.
    std::string w = hostile->ask("wedge");
    CHECK(field(w, 0) == "refused");
    // Calls that each need the kernel woken keep completing.
    for (int i = 0; i < 200; ++i) {
        std::string e = neighbour->ask("event - 0 0");
        REQUIRE(field(e, 0) == "ok");
        REQUIRE(field(neighbour->ask("close " + field(e, 1)), 0) == "ok");
    }
}

TEST_CASE("a client flooding its slots delays no one's connection or hang-up",
          "[multiproc][trust]") {
    KernelFixture k;
    auto hostile = spawn_hostile(k.client_env());
    REQUIRE(hostile->ask("hello") == "status 0");
    REQUIRE(hostile->ask("flood") == "started");
    for (int i = 0; i < 5; ++i) {
        auto c = k.spawn_child();
        REQUIRE(field(c->ask("event - 0 0"), 0) == "ok");
        const pid_t pid = c->pid();
        c->kill(SIGKILL);
        REQUIRE(c->wait(10s).has_value());
        CHECK(k.wait_for([&](const cek::proto::Snapshot& s) { return process_id_of(s, pid) == 0; }));
    }
    CHECK(field(hostile->ask("stop", 30s), 0) == "ok");
}

TEST_CASE("a client replacing its pending waits cannot grow the kernel's log without bound",
          "[multiproc][trust]") {
    KernelFixture k;
    const std::string log = k.runtime_dir() + "/bounded.log";
    k.kill_kernel(SIGTERM);
    REQUIRE(k.wait_kernel(10s));
    k.start_kernel({"--log-file", log});
    auto hostile = spawn_hostile(k.client_env());
    REQUIRE(hostile->ask("hello") == "status 0");
    // Each replacement is a complaint the kernel could log: 20,000 of them.
    REQUIRE(hostile->ask("republish 20000", 120s) == "ok");
    REQUIRE(hostile->ask("null") == "ok");
    struct stat st {};
    REQUIRE(::stat(log.c_str(), &st) == 0);
    CHECK(st.st_size < 16 * 1024);
    INFO(file_text(log));
    CHECK(file_text(log).find("reused slot 0 with a call pending") != std::string::npos);
}

TEST_CASE("a process whose kernel died can no longer write its files or views",
          "[multiproc][trust]") {
    KernelFixture k;
    auto old_client = spawn_hostile(k.client_env());
    std::string file = old_client->ask("oldfile \\data.bin");
    REQUIRE(field(file, 0) == "ok");
    std::string view = old_client->ask("oldmap \\view.bin");
    REQUIRE(field(view, 0) == "ok");
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
    // The old client learns of the death, and takes back what the kernel granted, without
    // making a call (its watcher thread may be scheduled late on a loaded machine: 10 s).
    bool gone = false;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!gone && std::chrono::steady_clock::now() < deadline)
        gone = old_client->ask("gone") == "yes";
    REQUIRE(gone);
    // A new kernel on the same root, and a client of it holding the file exclusively.
    k.start_kernel();
    auto new_client = k.spawn_child();
    REQUIRE(field(new_client->ask("open \\data.bin c0000000 0 3"), 0) == "ok");
    REQUIRE(field(new_client->ask("open \\view.bin c0000000 0 3"), 0) == "ok");
    CHECK(old_client->ask("oldwrite " + field(file, 1)) == "fail 1062");
    CHECK(old_client->ask("oldview " + field(view, 1)) == "fault");
    CHECK(file_text(k.root() + "/data.bin") == std::string(4096, 'b'));
    CHECK(file_text(k.root() + "/view.bin") == std::string(4096, 'b'));
}

TEST_CASE("a child made with the raw fork system call does not keep its parent's objects",
          "[multiproc][trust]") {
    KernelFixture k;
    auto parent = spawn_hostile(k.client_env());
    std::string forked = parent->ask("rawfork forked-lock");
    REQUIRE(field(forked, 0) == "ok");
    const pid_t raw_child = std::stoi(field(forked, 1));
    auto waiter = k.spawn_child();
    std::string opened = waiter->ask("mutex forked-lock 0");
    REQUIRE(field(opened, 2) == "183");
    waiter->write_line("wait inf " + field(opened, 1));
    REQUIRE(waiting(k, *waiter));
    // The parent dies; its raw child still holds the connection's socket.
    parent->kill(SIGKILL);
    REQUIRE(parent->wait(10s).has_value());
    CHECK(waiter->read_line(10s).value_or("timeout") == "ok 0x80");
    ::kill(raw_child, SIGKILL);
}

TEST_CASE("a program told of a kernel connection it does not have connects nowhere else",
          "[multiproc][trust]") {
    // CEK_KERNEL_FD names the socket the kernel starts a CE program with (decision 0011). A
    // program that finds it set to something else must not fall back to the instance's socket:
    // that connection would be a process no creator waits for.
    KernelFixture k;
    auto env = k.client_env();
    env["CEK_KERNEL_FD"] = "0";  // the helper's stdin: a pipe
    Child victim({program("CEK_CHILD")}, env);
    REQUIRE(victim.ask("ping") == "ok");
    CHECK(victim.ask("event - 0 0", 30s) == "fail 1062");  // ERROR_SERVICE_NOT_ACTIVE
    CHECK(victim.ask("event - 0 0", 30s) == "fail 1062");  // and no second try elsewhere
    CHECK(process_id_of(k.snapshot(), victim.pid()) == 0);
}

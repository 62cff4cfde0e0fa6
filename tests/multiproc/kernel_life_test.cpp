// The kernel's life: one per instance, death and restart, idle exit, auto-start, cedump.
#include <catch2/catch.hpp>
#include <signal.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;


TEST_CASE("a second kernel for the same instance refuses to start", "[multiproc][kernel]") {
    KernelFixture k;
    Child second({program("CEK_KERNEL"), "--instance", k.instance(), "--root", k.root(),
                  "--foreground"},
                 k.client_env());
    auto status = second.wait(10s);
    REQUIRE(status);
    REQUIRE(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 3);
}

TEST_CASE("calls fail promptly with ERROR_SERVICE_NOT_ACTIVE once the kernel is killed",
          "[multiproc][kernel]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string h = field(a->ask("create before-death 4096 4"), 1);
    REQUIRE(!h.empty());
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
    auto start = std::chrono::steady_clock::now();
    CHECK(a->ask("create after-death 4096 4", 5s) == "fail 1062");
    CHECK(a->ask("close " + h, 5s) == "fail 1062");
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("a kernel restarted after kill -9 serves the same instance cleanly",
          "[multiproc][kernel]") {
    KernelFixture k;
    {
        auto a = k.spawn_child();
        REQUIRE(field(a->ask("create old-world 4096 4"), 0) == "ok");
    }
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
    k.start_kernel();
    auto b = k.spawn_child();
    // Nothing of the old kernel survives: the name is new again.
    CHECK(field(b->ask("create old-world 4096 4"), 2) == "0");
}

TEST_CASE("a kernel with --idle-exit leaves after its last client", "[multiproc][kernel]") {
    KernelFixture k;
    k.kill_kernel(SIGTERM);
    REQUIRE(k.wait_kernel(10s));
    k.start_kernel({"--idle-exit", "1"});
    {
        auto a = k.spawn_child();
        REQUIRE(field(a->ask("create short-lived 4096 4"), 0) == "ok");
        a->close_stdin();
        REQUIRE(a->wait(10s));
    }
    auto status = k.wait_kernel(15s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
}

TEST_CASE("the first call of a process starts a kernel when none runs", "[multiproc][kernel]") {
    KernelFixture k;
    auto env = k.client_env();
    env["CEK_INSTANCE"] = k.instance() + "-auto";
    env.insert_or_assign("CEK_AUTOSTART", std::string(1, '1'));  // (GCC 12 -Wrestrict false alarm on = "1")
    env["CEK_KERNEL"] = program("CEK_KERNEL");
    Child a({program("CEK_CHILD")}, env);
    CHECK(field(a.ask("create autostarted 4096 4", 20s), 0) == "ok");
    a.close_stdin();
    REQUIRE(a.wait(10s));
    // The auto-started kernel exits on its own a few seconds after its last client: find its
    // pid through cedump and wait for its end on a pidfd (an event, with a timeout).
    Child dump({program("CEK_CEDUMP"), "--instance", k.instance() + "-auto", "--json"}, env);
    std::string out;
    while (auto line = dump.read_line(10s)) out += *line + "\n";
    auto at = out.find("\"pid\": ");
    REQUIRE(at != std::string::npos);
    int kernel_pid = std::stoi(out.substr(at + 7));
    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, kernel_pid, 0));
    REQUIRE(pidfd >= 0);
    pollfd p{pidfd, POLLIN, 0};
    CHECK(::poll(&p, 1, 20'000) == 1);
    ::close(pidfd);
}

TEST_CASE("cedump lists processes, handles, objects and views of a live kernel",
          "[multiproc][cedump]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string h = field(a->ask("create dump-me 65536 4"), 1);
    std::string view = field(a->ask("map " + h + " 2 0 0"), 1);
    Child dump({program("CEK_CEDUMP"), "all"}, k.client_env());
    std::string text;
    while (auto line = dump.read_line(10s)) text += *line + "\n";
    REQUIRE(dump.wait(10s));
    CHECK(text.find("dump-me") != std::string::npos);
    CHECK(text.find(std::to_string(a->pid())) != std::string::npos);
    CHECK(text.find(h) != std::string::npos);
    CHECK(text.find(view) != std::string::npos);
    CHECK(text.find("1 processes") == std::string::npos);  // two: the child and cedump
    Child json({program("CEK_CEDUMP"), "--json", "handles"}, k.client_env());
    std::string out;
    while (auto line = json.read_line(10s)) out += *line + "\n";
    CHECK(out.find("\"schema\": \"cekernel.cedump\"") != std::string::npos);
    CHECK(out.find("\"handles\": [") != std::string::npos);
}

TEST_CASE("cedump reports a missing kernel clearly", "[multiproc][cedump]") {
    KernelFixture k;
    auto env = k.client_env();
    Child dump({program("CEK_CEDUMP"), "--instance", "nobody-home"}, env);
    auto st = dump.wait(10s);
    REQUIRE(st);
    CHECK(WEXITSTATUS(*st) == 1);
}

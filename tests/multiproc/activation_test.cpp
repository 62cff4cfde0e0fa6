// Socket activation (docs/deploy.md, kernel/systemd/): a kernel started by
// systemd-socket-activate (as by the cekernel.socket user unit) serves on the socket it was
// given, leaves it in place when it exits, and refuses a socket that is not its instance's.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <cstring>
#include <string>
#include <vector>

#include "protocol/paths.h"
#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

constexpr const char* kActivate = "/usr/bin/systemd-socket-activate";

// The next line of `c` that starts with `prefix`, skipping others; nullopt on timeout or EOF.
std::optional<std::string> line_starting(Child& c, const std::string& prefix) {
    for (;;) {
        auto line = c.read_line(20s);
        if (!line || line->rfind(prefix, 0) == 0) return line;
    }
}

// The kernel of `k`'s instance behind systemd-socket-activate listening on `listen` (a
// SOCK_SEQPACKET socket unless `stream`).
std::unique_ptr<Child> activator(KernelFixture& k, const std::string& listen, bool stream) {
    // Its stderr joins stdout: it says "Listening on" once the socket listens (a connect before
    // that would be refused).
    std::vector<std::string> argv = {"/bin/sh", "-c", "exec 2>&1; exec \"$@\"", "sh", kActivate,
                                     "-l", listen, "-E", "CEK_RUNTIME_DIR"};
    if (!stream) argv.insert(argv.begin() + 5, "--seqpacket");
    for (std::string a : {program("CEK_KERNEL"), std::string("--instance"), k.instance(),
                          std::string("--root"), k.root(), std::string("--foreground"),
                          std::string("--log-level"), std::string("warn")})
        argv.push_back(a);
    auto c = std::make_unique<Child>(argv, k.client_env());
    REQUIRE(line_starting(*c, "Listening on").has_value());
    return c;
}

// Connects to `path` as a client would and says nothing: enough to make the activator start
// the kernel.
int poke(const std::string& path, int type) {
    int s = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    return s;
}

}  // namespace

#define REQUIRE_ACTIVATOR()                                                   \
    if (::access(kActivate, X_OK) != 0) {                                     \
        WARN("SKIPPED: no " << kActivate << " (systemd) on this host");      \
        return;                                                               \
    }

TEST_CASE("a socket-activated kernel serves on the socket it was given", "[multiproc][activation]") {
    REQUIRE_ACTIVATOR();
    KernelFixture k;
    k.kill_kernel(SIGTERM);
    REQUIRE(k.wait_kernel(10s));
    const std::string sock = cek::proto::socket_path(k.runtime_dir(), k.instance());
    auto kernel = activator(k, sock, false);
    // The first client's connection starts the kernel, which takes it from the backlog.
    auto a = k.spawn_child();
    std::string e = a->ask("event activated 0 0", 30s);
    REQUIRE(field(e, 0) == "ok");
    CHECK(line_starting(*kernel, "cekernel ready instance=" + k.instance()).has_value());
    auto b = k.spawn_child();
    CHECK(field(b->ask("event activated 0 0"), 2) == "183");
    CHECK(app_processes(k.snapshot()) == 2);
    // It stops on SIGTERM like any kernel, and leaves the socket to whoever made it.
    kernel->kill(SIGTERM);
    auto status = kernel->wait(10s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    struct stat st {};
    CHECK(::stat(sock.c_str(), &st) == 0);
}

TEST_CASE("a socket-activated kernel refuses a socket that is not its instance's",
          "[multiproc][activation]") {
    REQUIRE_ACTIVATOR();
    KernelFixture k;
    k.kill_kernel(SIGTERM);
    REQUIRE(k.wait_kernel(10s));
    // The first connection starts the kernel, which says why and exits 1.
    auto refused = [&](const std::string& listen, bool stream) {
        auto kernel = activator(k, listen, stream);
        int s = poke(listen, stream ? SOCK_STREAM : SOCK_SEQPACKET);
        auto status = kernel->wait(20s);
        ::close(s);
        return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 1;
    };
    SECTION("another path") { CHECK(refused(k.runtime_dir() + "/other.sock", false)); }
    SECTION("a stream socket") {
        CHECK(refused(cek::proto::socket_path(k.runtime_dir(), k.instance()), true));
    }
}

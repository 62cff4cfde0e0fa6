// Access: only the kernel's user reaches it. The runtime directory, socket, lock and every
// shared memory object are owner-only; a process of another user (run through setpriv) can
// neither connect (the kernel checks SO_PEERCRED even when the socket is reachable) nor reach
// the kernel's descriptors or memory through /proc.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "protocol/paths.h"
#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSetpriv = "/usr/bin/setpriv";  // util-linux, always in Debian

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// The hostile helper copied where another user may run it (the build tree may be private).
class ForeignHelper {
public:
    ForeignHelper() : dir_("cek-foreign") {
        REQUIRE(::chmod(dir_.path().c_str(), 0755) == 0);
        path_ = dir_.path() + "/hostile";
        fs::copy_file(program("CEK_HOSTILE"), path_);
        REQUIRE(::chmod(path_.c_str(), 0755) == 0);
    }
    // The helper's answer to one command, run as nobody.
    std::string ask_as_nobody(const std::string& command) {
        Child c({kSetpriv, "--reuid=65534", "--regid=65534", "--clear-groups", path_}, {});
        std::string answer = c.ask(command, 30s);
        c.close_stdin();
        c.wait(10s);
        return answer;
    }

private:
    TempDir dir_;
    std::string path_;
};

}  // namespace

TEST_CASE("the runtime directory, socket, lock and shared memory are owner-only",
          "[multiproc][access]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string h = field(a->ask("create access-check 65536 4"), 1);
    REQUIRE(field(a->ask("map " + h + " 2 0 0"), 0) == "ok");
    CHECK(mode_of(k.runtime_dir()) == 0700);
    const std::string sock = cek::proto::socket_path(k.runtime_dir(), k.instance());
    CHECK((mode_of(sock) & 077) == 0);
    CHECK((mode_of(cek::proto::lock_path(k.runtime_dir(), k.instance())) & 077) == 0);
    // The shared memory: the kernel page, the client's channel and the mapping are memfds,
    // held as descriptors or only mapped (root can see those through map_files).
    std::set<std::string> seen;
    for (pid_t pid : {k.kernel_pid(), a->pid()}) {
        for (const char* dir : {"/fd", "/map_files"}) {
            std::error_code ec;
            for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + dir, ec)) {
                std::string target = fs::read_symlink(e.path(), ec).string();
                if (target.rfind("/memfd:cek", 0) != 0) continue;
                INFO(e.path().string() << " -> " << target);
                CHECK((mode_of(e.path()) & 077) == 0);
                seen.insert(target.substr(7, target.find(' ') - 7));
            }
        }
    }
    CHECK(seen.count("cek-kernel-page") == 1);
    CHECK(seen.count("cek-mapping") == 1);
    if (::geteuid() == 0) CHECK(seen.count("cek-channel") == 1);
    // Nothing in /dev/shm: every segment is a memfd, reachable only as a descriptor.
    for (const auto& e : fs::directory_iterator("/dev/shm"))
        CHECK(e.path().filename().string().find(k.instance()) == std::string::npos);
}

TEST_CASE("a process of another user cannot connect or reach the kernel's memory",
          "[multiproc][access][root]") {
    if (::geteuid() != 0) {
        WARN("SKIPPED: needs root to run a helper as another user (setpriv --reuid)");
        return;
    }
    if (::access(kSetpriv, X_OK) != 0) {
        WARN("SKIPPED: no " << kSetpriv << " (util-linux) to run a helper as another user");
        return;
    }
    KernelFixture k;
    auto a = k.spawn_child();
    std::string h = field(a->ask("create foreign-target 65536 4"), 1);
    REQUIRE(field(a->ask("map " + h + " 2 0 0"), 0) == "ok");
    ForeignHelper foreign;
    const std::string sock = cek::proto::socket_path(k.runtime_dir(), k.instance());
    const std::string probe = "probe " + std::to_string(k.kernel_pid()) + " " + sock;
    // The private runtime directory stops it at connect (EACCES); /proc gives it no
    // descriptor of the kernel (no channel, no mapping) and no memory.
    CHECK(foreign.ask_as_nobody(probe) == "connect=errno13 procfd=0/64 getfd=0 mem=errno13");
    // Even with the socket opened up, the kernel refuses the hello: PermissionDenied and no
    // descriptors.
    REQUIRE(::chmod(k.runtime_dir().c_str(), 0711) == 0);
    REQUIRE(::chmod(sock.c_str(), 0777) == 0);
    CHECK(foreign.ask_as_nobody(probe) == "connect=status2 procfd=0/64 getfd=0 mem=errno13");
    REQUIRE(::chmod(k.runtime_dir().c_str(), 0700) == 0);
    // The kernel and its client are unharmed, and the refused one left nothing behind.
    std::string again = a->ask("create foreign-target 0 4");
    CHECK(field(again, 2) == "183");
    auto snap = k.snapshot();
    CHECK(app_processes(snap) == 1);
}

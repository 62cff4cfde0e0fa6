// Access: only the kernel's user reaches it. The runtime directory, socket, lock and every
// shared memory object are owner-only; a process of another user (run through setpriv) can
// neither connect (the kernel checks SO_PEERCRED even when the socket is reachable) nor reach
// the kernel's descriptors or memory through /proc.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
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

namespace {

// The pid of a cekernel running as `uid`, or 0.
pid_t kernel_of(uid_t uid) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        struct stat st {};
        if (::stat(e.path().c_str(), &st) != 0 || st.st_uid != uid) continue;
        std::ifstream comm(e.path() / "comm");
        std::string c;
        if (std::getline(comm, c) && c == "cekernel") return static_cast<pid_t>(std::stoi(name));
    }
    return 0;
}

// A user of this host: its ce_child helper (auto-starting its kernel as usual) and the way to
// run one command as that user.
struct User {
    uid_t uid;
    TempDir home{"cek-user"};
    std::map<std::string, std::string> env;
    std::unique_ptr<Child> app;

    User(uid_t id, const std::string& instance) : uid(id) {
        REQUIRE(::chown(home.path().c_str(), uid, uid) == 0);
        // The default runtime directory (/tmp/cekernel-<uid>) and the default auto-start.
        env = {{"CEK_INSTANCE", instance}, {"CEK_RUNTIME_DIR", ""}, {"XDG_RUNTIME_DIR", ""},
               {"CEK_AUTOSTART", "1"}, {"HOME", home.path()}, {"CEK_ROOT", ""}};
    }
    std::vector<std::string> as_user(std::vector<std::string> argv) const {
        std::vector<std::string> all = {kSetpriv, "--reuid=" + std::to_string(uid),
                                        "--regid=" + std::to_string(uid), "--clear-groups"};
        all.insert(all.end(), argv.begin(), argv.end());
        return all;
    }
    std::string run_dir() const { return "/tmp/cekernel-" + std::to_string(uid); }
    // The exit status of `argv` run as this user.
    int status_of(std::vector<std::string> argv) const {
        Child c(as_user(std::move(argv)), env);
        c.close_stdin();
        auto status = c.wait(30s);
        return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    }
    ~User() {
        app.reset();
        if (pid_t k = kernel_of(uid); k > 0) ::kill(k, SIGKILL);
        std::error_code ec;
        fs::remove_all(run_dir(), ec);
    }
};

}  // namespace

TEST_CASE("two users get a kernel each for one instance name, and neither reaches the other's",
          "[multiproc][access][root]") {
    if (::geteuid() != 0) {
        WARN("SKIPPED: needs root to run helpers as two other users (setpriv --reuid)");
        return;
    }
    if (::access(kSetpriv, X_OK) != 0) {
        WARN("SKIPPED: no " << kSetpriv << " (util-linux) to run a helper as another user");
        return;
    }
    const std::string instance = "shared-" + std::to_string(::getpid());
    // Per test program: security and security_no_ptrace run this at the same time.
    const uid_t first_id = unused_uid(40123 + static_cast<uid_t>(::getpid() % 1000) * 2);
    User first(first_id, instance);
    User second(unused_uid(first_id + 1), instance);
    for (User* u : {&first, &second}) {
        REQUIRE(kernel_of(u->uid) == 0);  // nothing of an earlier run left behind
        u->app = std::make_unique<Child>(u->as_user({program("CEK_CHILD")}), u->env);
        if (u->app->ask("ping", 30s) != "ok") {
            WARN("SKIPPED: the helper cannot run as uid " << u->uid
                                                          << " (is the build tree private?)");
            return;
        }
        // The first call starts this user's own kernel; the name is new in each.
        std::string e = u->app->ask("event two-users 0 0", 30s);
        CHECK(field(e, 0) == "ok");
        CHECK(field(e, 2) == "0");  // not ERROR_ALREADY_EXISTS: the other's kernel is not ours
    }
    const pid_t first_kernel = kernel_of(first.uid);
    const pid_t second_kernel = kernel_of(second.uid);
    REQUIRE(first_kernel > 0);
    REQUIRE(second_kernel > 0);
    CHECK(first_kernel != second_kernel);
    for (User* u : {&first, &second}) {
        struct stat st {};
        REQUIRE(::lstat(u->run_dir().c_str(), &st) == 0);
        CHECK(st.st_uid == u->uid);
        CHECK((st.st_mode & 07777) == 0700);
        const std::string sock = cek::proto::socket_path(u->run_dir(), instance);
        REQUIRE(::lstat(sock.c_str(), &st) == 0);
        CHECK(st.st_uid == u->uid);
        CHECK((st.st_mode & 077) == 0);
    }
    // The second user, aimed at the first one's instance: no listing of its directory, no
    // connection, no signal (kill -0 fails with EPERM), no descriptor or memory through /proc.
    const std::string theirs = first.run_dir();
    CHECK(second.status_of({"/usr/bin/ls", theirs}) != 0);
    CHECK(second.status_of({"/usr/bin/kill", "-0", std::to_string(first_kernel)}) != 0);
    CHECK(first.status_of({"/usr/bin/kill", "-0", std::to_string(second_kernel)}) != 0);
    CHECK(first.status_of({"/usr/bin/kill", "-0", std::to_string(first_kernel)}) == 0);
    Child probe(second.as_user({program("CEK_HOSTILE"), }), second.env);
    CHECK(probe.ask("probe " + std::to_string(first_kernel) + " " +
                        cek::proto::socket_path(theirs, instance),
                    30s) == "connect=errno13 procfd=0/64 getfd=0 mem=errno13");
    // Pointed at the other's runtime directory, a client refuses it (not its own uid).
    auto env = second.env;
    env["CEK_RUNTIME_DIR"] = theirs;
    env["CEK_AUTOSTART"] = "0";
    Child misdirected(second.as_user({program("CEK_CHILD")}), env);
    CHECK(misdirected.ask("event two-users 0 0", 30s) == "fail 1062");
    // Each kernel still has its own user's object only.
    CHECK(field(first.app->ask("event two-users 0 0"), 2) == "183");
    CHECK(field(second.app->ask("event two-users 0 0"), 2) == "183");
}

// cedump against a live kernel: golden output of every view on one scripted scene, the JSON
// schema (checked by check_json.py), the DOT graph through Graphviz, watch, trace, and the
// connect errors. Goldens live in golden/; CEK_UPDATE_GOLDEN=1 rewrites them.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "protocol/channel.h"
#include "protocol/paths.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

std::string field(const std::string& answer, size_t index) {
    auto w = words(answer);
    return index < w.size() ? w[index] : "";
}

struct Run {
    std::string out;
    int status = -1;
    pid_t pid = -1;
};

// Runs cedump with `args` against the fixture's kernel and collects its whole output.
Run cedump(KernelFixture& k, const std::vector<std::string>& args,
           std::map<std::string, std::string> env = {}) {
    // Through sh only to merge stderr (the error messages) into what we read; exec keeps the pid.
    std::vector<std::string> argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1",
                                     program("CEK_CEDUMP")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto merged = k.client_env();
    for (auto& [key, v] : env) merged[key] = v;
    Child c(argv, merged);
    Run r;
    r.pid = c.pid();
    while (auto line = c.read_line(10s)) r.out += *line + "\n";
    auto st = c.wait(10s);
    r.status = st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
    return r;
}

// The scripted scene: A opens a file with CreateFileForMapping and a named mapping takes it
// over; B opens the mapping by name and maps it (same address as A) and opens a file for
// shared reading; C holds a named mapping A also opened, an exclusive file and a view, and is
// killed with all of that open.
struct Scene {
    KernelFixture k;
    std::unique_ptr<Child> a, b;
    pid_t c_pid = 0;
    std::string file, mapping, addr_a, addr_b, orphan;

    Scene() {
        a = k.spawn_child();
        file = field(a->ask("cffm \\scene.dat 0xC0000000 0 2"), 1);
        REQUIRE(!file.empty());
        mapping = field(a->ask("fmap " + file + " 4 8192 SceneMap"), 1);
        REQUIRE(!mapping.empty());
        addr_a = field(a->ask("map " + mapping + " 2 0 0"), 1);
        b = k.spawn_child();
        REQUIRE(field(b->ask("create SceneMap 0 4"), 1) == mapping);
        addr_b = field(b->ask("map " + mapping + " 4 0 0"), 1);
        REQUIRE(field(b->ask("open \\notes.txt 0x80000000 1 2"), 0) == "ok");
        auto c = k.spawn_child();
        c_pid = c->pid();
        orphan = field(c->ask("create Orphan 4096 4"), 1);
        REQUIRE(field(a->ask("create Orphan 4096 4"), 1) == orphan);
        REQUIRE(field(c->ask("open \\locked.txt 0xC0000000 0 2"), 0) == "ok");
        REQUIRE(field(c->ask("map " + orphan + " 2 0 0"), 0) == "ok");
        c->kill(SIGKILL);
        REQUIRE(c->wait(10s));
        REQUIRE(k.wait_for([&](const cek::proto::Snapshot& s) {
            for (const auto& p : s.processes)
                if (p.pid == c_pid) return false;
            return true;
        }));
    }

    // Stable text: pids, addresses, times, sizes of the moment and host paths replaced.
    std::string normalise(std::string text, pid_t cedump_pid) const {
        auto replace_all = [&](const std::string& from, const std::string& to) {
            for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
                text.replace(at, from.size(), to);
        };
        replace_all(k.root(), "<root>");
        auto sub = [&](const char* re, const char* to) {
            text = std::regex_replace(text, std::regex(re), to);
        };
        sub(R"(\S*/(ce_child|cedump)\b)", "$1");
        const std::pair<pid_t, const char*> pids[] = {{k.kernel_pid(), "<kernel>"},
                                                      {a->pid(), "<A>"},
                                                      {b->pid(), "<B>"},
                                                      {c_pid, "<C>"},
                                                      {cedump_pid, "<cedump>"}};
        for (const auto& [pid, name] : pids)
            text = std::regex_replace(text, std::regex("\\b" + std::to_string(pid) + "\\b"), name);
        sub(R"(\b\d\d:\d\d:\d\d\b)", "<time>");
        sub(R"(up [0-9.]+ s)", "up <t> s");
        sub(R"([0-9.]+ KiB)", "<n> KiB");
        sub(R"(inode=\d+)", "inode=<n>");
        // Addresses in the shared window: numbered by first appearance, so equal stays equal.
        std::map<std::string, std::string> seen;
        std::regex addr(R"(0x[0-9a-f]{9,})");
        std::string out;
        auto begin = std::sregex_iterator(text.begin(), text.end(), addr);
        size_t last = 0;
        for (auto it = begin; it != std::sregex_iterator(); ++it) {
            auto& name = seen[it->str()];
            if (name.empty()) name = "<addr" + std::to_string(seen.size()) + ">";
            out += text.substr(last, static_cast<size_t>(it->position()) - last) + name;
            last = static_cast<size_t>(it->position() + it->length());
        }
        text = out + text.substr(last);
        // cedump's own kernel id depends on how many snapshots the scene polled for.
        sub(R"((<cedump>\s+)\d+)", "$1<id>");
        sub(R"( {2,})", "  ");  // pids of different widths must not move columns
        return text;
    }
};

void check_golden(const std::string& name, const std::string& actual) {
    std::string path = program("CEK_GOLDEN_DIR") + "/" + name + ".txt";
    if (std::getenv("CEK_UPDATE_GOLDEN") != nullptr) {
        std::ofstream(path) << actual;
        WARN("golden " << path << " rewritten");
        return;
    }
    std::ifstream in(path);
    REQUIRE(in.good());
    std::stringstream expected;
    expected << in.rdbuf();
    INFO("golden " << path << "\n--- actual ---\n" << actual);
    CHECK(actual == expected.str());
}

bool have_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "");
    for (std::string dir; std::getline(dirs, dir, ':');)
        if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    return false;
}

}  // namespace

TEST_CASE("cedump views of the scripted scene match their goldens", "[cedump]") {
    Scene s;
    // CE 5: one address per mapping, in every process.
    CHECK(s.addr_a == s.addr_b);
    const std::vector<std::pair<std::string, std::vector<std::string>>> views = {
        {"processes", {"processes"}},
        {"handles", {"handles"}},
        {"objects", {"objects"}},
        {"views", {"views"}},
        {"files", {"files"}},
        {"names", {"names"}},
        {"filter_pid_handles", {"--pid", std::to_string(s.b->pid()), "handles"}},
        {"filter_type_objects", {"--type", "file", "objects"}},
        {"filter_name_names", {"--name", "Scene", "names"}},
        {"filter_handle_views", {"--handle", s.mapping, "views"}},
    };
    for (const auto& [name, args] : views) {
        SECTION(name) {
            Run r = cedump(s.k, args);
            REQUIRE(r.status == 0);
            check_golden(name, s.normalise(r.out, r.pid));
        }
    }
}

TEST_CASE("cedump --json follows the documented schema", "[cedump]") {
    Scene s;
    for (const char* section : {"all", "processes", "handles", "objects", "views", "files", "names"}) {
        Run r = cedump(s.k, {"--json", section});
        REQUIRE(r.status == 0);
        TempDir dir("cek-json");
        std::string path = dir.path() + "/out.json";
        std::ofstream(path) << r.out;
        Child check({"/bin/sh", "-c", "exec python3 \"$0\" < \"$1\"", program("CEK_JSON_CHECK"), path},
                    {});
        std::string problems;
        while (auto line = check.read_line(10s)) problems += *line + "\n";
        auto st = check.wait(10s);
        INFO("section " << section << ":\n" << problems << r.out);
        REQUIRE(st);
        CHECK(WEXITSTATUS(*st) == 0);
    }
    // The facts scripts rely on: the take-over, the dead process's clean-up.
    Run all = cedump(s.k, {"--json", "all"});
    CHECK(all.out.find("\"mapped_by\": ") != std::string::npos);
    CHECK(all.out.find("\"pid\": " + std::to_string(s.c_pid)) == std::string::npos);
    CHECK(all.out.find("locked.txt") == std::string::npos);
}

TEST_CASE("cedump --dot draws the object graph", "[cedump]") {
    Scene s;
    Run r = cedump(s.k, {"--dot"});
    REQUIRE(r.status == 0);
    CHECK(r.out.rfind("digraph cekernel {", 0) == 0);
    CHECK(r.out.find("backed by") != std::string::npos);
    CHECK(r.out.find("SceneMap") != std::string::npos);
    if (!have_program("dot")) {
        WARN("Graphviz 'dot' is not installed: not rendering the graph");
        return;
    }
    TempDir dir("cek-dot");
    std::ofstream(dir.path() + "/g.dot") << r.out;
    Child dot({"/bin/sh", "-c", "exec dot -Tsvg \"$0\"", dir.path() + "/g.dot"}, {});
    std::string svg;
    while (auto line = dot.read_line(10s)) svg += *line + "\n";
    auto st = dot.wait(10s);
    REQUIRE(st);
    CHECK(WEXITSTATUS(*st) == 0);
    CHECK(svg.find("</svg>") != std::string::npos);
}

TEST_CASE("cedump watch refreshes a bounded number of times", "[cedump]") {
    KernelFixture k;
    auto a = k.spawn_child();
    REQUIRE(field(a->ask("create Watched 4096 4"), 0) == "ok");
    Run r = cedump(k, {"watch", "--interval", "0.05", "--count", "3", "names"});
    REQUIRE(r.status == 0);
    size_t summaries = 0, separators = 0;
    std::istringstream lines(r.out);
    for (std::string l; std::getline(lines, l);) {
        summaries += l.rfind("kernel pid ", 0) == 0;
        separators += l == "--";
    }
    CHECK(summaries == 3);
    CHECK(separators == 2);
    CHECK(r.out.find("Watched") != std::string::npos);
}

TEST_CASE("cedump trace shows the requests of a process as they happen", "[cedump]") {
    KernelFixture k;
    auto a = k.spawn_child();
    REQUIRE(field(a->ask("pid"), 0) == "ok");
    auto other = k.spawn_child();
    Child trace({program("CEK_CEDUMP"), "trace", "--pid", std::to_string(a->pid()), "--count", "3"},
                k.client_env());
    auto banner = trace.read_line(10s);
    REQUIRE(banner);
    CHECK(banner->rfind("tracing instance", 0) == 0);
    REQUIRE(field(other->ask("create not-traced 4096 4"), 0) == "ok");  // filtered out
    std::string h = field(a->ask("create traced-map 4096 4"), 1);
    REQUIRE(!h.empty());
    CHECK(a->ask("close 0x1234") == "fail 6");
    REQUIRE(field(a->ask("map " + h + " 2 0 0"), 0) == "ok");
    std::vector<std::string> lines;
    while (auto line = trace.read_line(10s)) lines.push_back(*line);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].find("pid " + std::to_string(a->pid())) != std::string::npos);
    CHECK(lines[0].find("CreateMapping(file=INVALID_HANDLE_VALUE protect=PAGE_READWRITE "
                        "size=4096 name=\"traced-map\") = " + h +
                        " [last error ERROR_SUCCESS(0)]") != std::string::npos);
    CHECK(lines[1].find("CloseHandle(handle=0x1234) = FAILED ERROR_INVALID_HANDLE(6)") !=
          std::string::npos);
    CHECK(lines[2].find("MapView(mapping=" + h + " access=FILE_MAP_WRITE offset=0 size=0) = 0x") !=
          std::string::npos);
    for (const auto& l : lines) {
        CHECK(l.find("not-traced") == std::string::npos);
        CHECK(l.find(" us>") != std::string::npos);
    }
    auto st = trace.wait(10s);
    REQUIRE(st);
    CHECK(WEXITSTATUS(*st) == 0);
}

TEST_CASE("cedump trace reports records lost by a slow tracer", "[cedump]") {
    KernelFixture k;
    auto a = k.spawn_child();
    REQUIRE(field(a->ask("pid"), 0) == "ok");
    // A tracer stopped (SIGSTOP) while the ring wraps: on resuming it is told what it lost.
    Child trace({program("CEK_CEDUMP"), "trace", "--pid", std::to_string(a->pid())},
                k.client_env());
    REQUIRE(trace.read_line(10s));
    REQUIRE(trace.stop());
    REQUIRE(a->ask("threads 1 3000") == "ok 0");  // 4 requests per iteration
    trace.kill(SIGCONT);
    bool told = false;
    while (auto line = trace.read_line(5s)) {
        if (line->find("records lost") != std::string::npos) {
            told = true;
            break;
        }
    }
    CHECK(told);
}

namespace {

// A stand-in kernel that answers every hello with `status` (and version 999).
void fake_kernel(KernelFixture& k, const std::string& instance, cek::proto::HelloStatus status,
                 const std::function<void()>& client) {
    std::string path = cek::proto::socket_path(k.runtime_dir(), instance);
    int ls = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(ls, 4) == 0);
    std::thread server([&] {
        int c = ::accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        cek::proto::Hello hello{};
        (void)::recv(c, &hello, sizeof hello, 0);
        cek::proto::HelloReply reply{};
        reply.magic = cek::proto::kMagic;
        reply.version = status == cek::proto::HelloStatus::VersionMismatch ? 999 : hello.version;
        reply.status = static_cast<uint32_t>(status);
        (void)::send(c, &reply, sizeof reply, MSG_NOSIGNAL);
        ::close(c);
    });
    client();
    ::shutdown(ls, SHUT_RDWR);
    server.join();
    ::close(ls);
    ::unlink(path.c_str());
}

}  // namespace

TEST_CASE("cedump explains why it cannot reach a kernel", "[cedump]") {
    KernelFixture k;
    SECTION("no kernel for the instance") {
        Run r = cedump(k, {"--instance", "nobody-home", "processes"});
        CHECK(r.status == 1);
        CHECK(r.out.find("no kernel is running for this instance") != std::string::npos);
    }
    SECTION("a kernel of another protocol version") {
        fake_kernel(k, "old-kernel", cek::proto::HelloStatus::VersionMismatch, [&] {
            Run r = cedump(k, {"--instance", "old-kernel"});
            CHECK(r.status == 1);
            CHECK(r.out.find("protocol version 999") != std::string::npos);
        });
    }
    SECTION("permission denied") {
        fake_kernel(k, "not-mine", cek::proto::HelloStatus::PermissionDenied, [&] {
            Run r = cedump(k, {"--instance", "not-mine"});
            CHECK(r.status == 1);
            CHECK(r.out.find("permission denied") != std::string::npos);
        });
    }
    SECTION("usage errors exit 2") {
        CHECK(cedump(k, {"bogus-section"}).status == 2);
        CHECK(cedump(k, {"watch", "--count", "x"}).status == 2);
    }
}

TEST_CASE("cedump registry: tables, JSON, and a .reg export that imports back the same",
          "[cedump][registry]") {
    KernelFixture k;
    auto a = k.spawn_child();
    std::string key = a->ask("regcreate HKLM Software\\Dump\\Inner");
    REQUIRE(field(key, 0) == "ok");
    REQUIRE(a->ask("regset " + field(key, 1) + " Answer 42") == "ok");
    REQUIRE(field(a->ask("regcreate HKLM Software\\Dump\\Temp volatile"), 0) == "ok");
    REQUIRE(field(a->ask("regcreate HKCU Software\\Dump"), 0) == "ok");

    Run table = cedump(k, {"registry", "HKLM\\Software\\Dump"});
    CHECK(table.status == 0);
    CHECK(table.out == "HKEY_LOCAL_MACHINE\\Software\\Dump\n"
                       "HKEY_LOCAL_MACHINE\\Software\\Dump\\Inner\n"
                       "    Answer = dword:0000002a\n"
                       "HKEY_LOCAL_MACHINE\\Software\\Dump\\Temp  (volatile)\n");
    Run json = cedump(k, {"--json", "registry", "HKLM\\Software\\Dump\\Inner"});
    CHECK(json.status == 0);
    CHECK(json.out.find("\"schema\": \"cekernel-registry\"") != std::string::npos);
    CHECK(json.out.find("{\"name\": \"Answer\", \"type\": 4, \"bytes\": 4, \"data\": \"dword:0000002a\"}") !=
          std::string::npos);
    Run missing = cedump(k, {"registry", "HKLM\\Software\\Nothing"});
    CHECK(missing.status == 1);
    CHECK(missing.out.find("ERROR_FILE_NOT_FOUND") != std::string::npos);
    // Key handles are listed with their kind and path.
    Run handles = cedump(k, {"objects"});
    CHECK(handles.out.find("regkey") != std::string::npos);

    Run exported = cedump(k, {"registry", "--reg"});
    REQUIRE(exported.status == 0);
    CHECK(exported.out.find("[HKEY_LOCAL_MACHINE\\Software\\Dump\\Inner]\n\"Answer\"=dword:0000002a\n") !=
          std::string::npos);
    CHECK(exported.out.find("Temp") == std::string::npos);  // volatile keys stay out
    const std::string file = k.root() + "/exported.reg";
    std::ofstream(file) << exported.out;
    KernelFixture fresh;
    fresh.kill_kernel(SIGTERM);
    REQUIRE(fresh.wait_kernel(10s));
    fresh.start_kernel({"--registry-dir", "none", "--registry-defaults", file});
    CHECK(cedump(fresh, {"registry", "--reg"}).out == exported.out);
}

#include "leak_check.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "support/answers.h"

extern char** environ;

namespace cek::soak {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

size_t sockets(const std::string& fd_dir) {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fd_dir, ec)) {
        auto target = fs::read_symlink(e.path(), ec);
        n += !ec && target.string().rfind("socket:", 0) == 0;
    }
    return n;
}

}  // namespace

KernelResources measure(pid_t kernel_pid) {
    // A diagnostics connection (a snapshot's, cedump's) closes a moment after its last call:
    // wait until only the listening socket is left, at most 10 s (a leak shows after that).
    auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string fd_dir = "/proc/" + std::to_string(kernel_pid) + "/fd";
    while (sockets(fd_dir) > 1 && std::chrono::steady_clock::now() < deadline)
        ::usleep(1000);  // no event tells a connection's close; a bounded poll of /proc does
    KernelResources r;
    std::error_code ec;
    std::string proc = "/proc/" + std::to_string(kernel_pid);
    for (const auto& e : fs::directory_iterator(proc + "/fd", ec)) {
        ++r.descriptors;
        auto target = fs::read_symlink(e.path(), ec);
        if (!ec && target.string().rfind("/memfd:", 0) == 0) ++r.memfds;
        if (!ec && target.string().rfind("/dev/shm/", 0) == 0) ++r.dev_shm_references;
    }
    std::ifstream maps(proc + "/maps");
    for (std::string line; std::getline(maps, line);) {
        r.memfd_mappings += line.find("/memfd:") != std::string::npos;
        r.dev_shm_references += line.find("/dev/shm/") != std::string::npos;
    }
    for (const auto& e : fs::directory_iterator("/dev/shm", ec)) r.dev_shm.insert(e.path().filename());
    return r;
}

namespace {

// The text of `name`'s array in cedump --json output is "[]" when the section is empty.
bool empty_section(const std::string& json, const std::string& name) {
    auto at = json.find("\"" + name + "\": [");
    if (at == std::string::npos) return false;
    at = json.find_first_not_of(" \n", at + name.size() + 5);
    return at != std::string::npos && json[at] == ']';
}

}  // namespace

std::vector<std::string> leaks(test::KernelFixture& k, pid_t kernel_pid,
                               const KernelResources& baseline) {
    std::vector<std::string> problems;
    if (k.kernel_pid() != kernel_pid || ::kill(kernel_pid, 0) != 0 || k.wait_kernel(0ms)) {
        problems.push_back("the kernel (pid " + std::to_string(kernel_pid) + ") is gone");
        return problems;
    }
    if (!k.wait_for([](const proto::Snapshot& s) { return test::app_processes(s) == 0; }, 30s))
        problems.push_back("application processes still attached 30 s after the last one died");

    test::Child dump({test::program("CEK_CEDUMP"), "--json", "all"}, k.client_env());
    std::string json;
    while (auto line = dump.read_line(20s)) json += *line + "\n";
    auto status = dump.wait(10s);
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
        problems.push_back("cedump --json failed");
    } else {
        if (json.find("\"pid\": " + std::to_string(kernel_pid) + ",") == std::string::npos)
            problems.push_back("cedump reports another kernel pid");
        for (const char* section : {"handles", "objects", "views", "files", "names"})
            if (!empty_section(json, section))
                problems.push_back(std::string("cedump --json: ") + section + " left over");
        if (!problems.empty()) problems.push_back("cedump --json output:\n" + json);
    }

    KernelResources now = measure(kernel_pid);
    if (now.descriptors != baseline.descriptors)
        problems.push_back("kernel descriptors: " + std::to_string(now.descriptors) + ", baseline " +
                           std::to_string(baseline.descriptors));
    if (now.memfds != baseline.memfds)
        problems.push_back("kernel memfd descriptors: " + std::to_string(now.memfds) +
                           ", baseline " + std::to_string(baseline.memfds));
    if (now.memfd_mappings != baseline.memfd_mappings)
        problems.push_back("kernel memfd mappings: " + std::to_string(now.memfd_mappings) +
                           ", baseline " + std::to_string(baseline.memfd_mappings));
    // CEKernel uses memfds only. Other programs on the machine use /dev/shm too, so what counts
    // is what the kernel holds there, and new names carrying this test's instance.
    if (now.dev_shm_references != baseline.dev_shm_references)
        problems.push_back("kernel descriptors and mappings in /dev/shm: " +
                           std::to_string(now.dev_shm_references) + ", baseline " +
                           std::to_string(baseline.dev_shm_references));
    for (const auto& name : now.dev_shm)
        if (!baseline.dev_shm.count(name) && name.find(k.instance()) != std::string::npos)
            problems.push_back("left in /dev/shm: " + name);
    return problems;
}

bool kernel_answers(test::KernelFixture& k) {
    auto c = k.spawn_child();
    std::string h = test::field(c->ask("create answer-check 4096 4"), 1);
    if (h.empty()) return false;
    std::string v = test::field(c->ask("map " + h + " 2 0 0"), 1);
    return !v.empty() && c->ask("unmap " + v).rfind("ok", 0) == 0 &&
           c->ask("close " + h).rfind("ok", 0) == 0;
}

std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [key, value] : extra) merged[key] = value;
    std::vector<std::string> out;
    for (const auto& [key, value] : merged) out.push_back(key + "=" + value);
    return out;
}

}  // namespace cek::soak

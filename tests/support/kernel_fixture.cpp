#include "support/kernel_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "coredll/client/connection.h"
#include "coredll/client/diagnostics.h"
#include "support/answers.h"

namespace cek::test {

namespace {
std::atomic<int> g_counter{0};
}

KernelFixture::KernelFixture(const std::vector<std::string>& kernel_args)
    : instance_("t" + std::to_string(::getpid()) + "-" + std::to_string(g_counter++)),
      runtime_("cek-run"),
      root_("cek-root") {
    start_kernel(kernel_args);
}

KernelFixture::~KernelFixture() {
    if (kernel_) {
        kernel_->kill(SIGTERM);
        if (!kernel_->wait(10s)) kernel_->kill(SIGKILL);
    }
}

void KernelFixture::start_kernel(const std::vector<std::string>& extra_args,
                                 const std::vector<std::string>& launcher) {
    std::vector<std::string> argv = launcher;
    argv.insert(argv.end(), {program("CEK_KERNEL"), "--instance", instance_, "--root",
                             root_.path(), "--foreground", "--log-level", "warn"});
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    // The suite's second run boots every kernel that names no personality as CEK_TEST_PERSONALITY;
    // a kernel started again keeps the personality of the one before.
    std::string personality = "ce5";
    if (const char* suite = std::getenv("CEK_TEST_PERSONALITY"); suite != nullptr && *suite != 0)
        personality = suite;
    if (personality_ != 0) personality = personality_ == 6 ? "ce6" : "ce5";
    auto named = std::find(extra_args.begin(), extra_args.end(), "--personality");
    if (named == extra_args.end()) argv.insert(argv.end(), {"--personality", personality});
    else if (named + 1 != extra_args.end()) personality = *(named + 1);
    if (personality != "ce5" && personality != "ce6")
        throw std::invalid_argument("unknown personality for the test kernel: " + personality);
    personality_ = personality == "ce6" ? 6 : 5;
    kernel_ = std::make_unique<Child>(argv, client_env());
    auto line = kernel_->read_line(20s);
    if (!line || line->rfind("cekernel ready", 0) != 0)
        throw std::runtime_error("the kernel did not start: " + line.value_or("<timeout>"));
}

void KernelFixture::kill_kernel(int signal) {
    if (kernel_) kernel_->kill(signal);
}

std::optional<int> KernelFixture::wait_kernel(std::chrono::milliseconds timeout) {
    if (!kernel_) return std::nullopt;
    return kernel_->wait(timeout);
}

std::map<std::string, std::string> KernelFixture::client_env() const {
    return {{"CEK_INSTANCE", instance_},
            {"CEK_RUNTIME_DIR", runtime_.path()},
            {"CEK_ROOT", root_.path()},
            {"CEK_AUTOSTART", "0"}};
}

std::unique_ptr<Child> KernelFixture::spawn_child() {
    auto child = std::make_unique<Child>(std::vector<std::string>{program("CEK_CHILD")},
                                         client_env());
    if (child->ask("ping") != "ok") throw std::runtime_error("the helper did not answer");
    return child;
}

proto::Snapshot KernelFixture::snapshot() {
    // The fixture's runtime directory is private: point the diagnostics connection at it.
    ::setenv("CEK_RUNTIME_DIR", runtime_.path().c_str(), 1);
    coredll::Connection diag(instance_, /*diagnostics=*/true);
    if (!diag.ensure_connected()) throw std::runtime_error("no kernel for the snapshot");
    auto snap = coredll::fetch_snapshot(diag);
    if (!snap) throw std::runtime_error("cannot read the kernel's snapshot");
    return *snap;
}

bool waiting(KernelFixture& k, Child& child, size_t count) {
    return k.wait_for([&](const proto::Snapshot& s) {
        uint32_t id = process_id_of(s, child.pid());
        size_t n = 0;
        for (const auto& w : s.waits) n += w.process_id == id ? 1 : 0;
        return n >= count;
    });
}

bool asleep_on_queue(KernelFixture& k, const std::string& end, size_t count) {
    return k.wait_for([&](const proto::Snapshot& s) {
        for (const auto& o : s.objects) {
            if (o.type != "msgqueue") continue;
            std::string this_end, asleep;
            for (const auto& [key, value] : o.details) {
                if (key == "end") this_end = value;
                if (key == "asleep") asleep = value;
            }
            if (this_end == end && !asleep.empty() && std::stoul(asleep) >= count) return true;
        }
        return false;
    });
}

std::unique_ptr<Child> spawn_child_that_may_fault(KernelFixture& k) {
    auto env = k.client_env();
    for (const char* var : {"ASAN_OPTIONS", "TSAN_OPTIONS"}) {
        const char* given = std::getenv(var);
        env[var] = std::string(given != nullptr ? given : "") + ":handle_segv=0";
    }
    auto child = std::make_unique<Child>(std::vector<std::string>{program("CEK_CHILD")}, env);
    REQUIRE(child->ask("ping") == "ok");
    return child;
}

void expect_segv(Child& child, const std::string& command) {
    child.write_line(command);
    auto status = child.wait(std::chrono::seconds(10));
    REQUIRE(status.has_value());
    REQUIRE(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGSEGV);
}

std::unique_ptr<Child> spawn_hostile(KernelFixture& k) {
    auto h = std::make_unique<Child>(std::vector<std::string>{program("CEK_HOSTILE")},
                                     k.client_env());
    REQUIRE(h->ask("ping") == "ok");
    return h;
}

std::string host_file(const KernelFixture& k, const std::string& rel) {
    std::ifstream in(k.root() + "/" + rel, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace cek::test

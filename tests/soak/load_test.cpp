// Load: many client processes, each with several threads, hammer one kernel with a rotation of
// calls (tests/helpers/load_worker.cpp) for a bounded time. Every reply is checked against its
// own request (Null cookies, a thread's own names, patterns and files); every wait here has a
// timeout, so a deadlock shows as a worker that never reports. Afterwards the kernel must be the
// same process, answer, and hold nothing more than before (leak_check.h).
// Environment: CEK_LOAD_PROCESSES (64), CEK_LOAD_THREADS (8), CEK_LOAD_SECONDS (10).
#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "leak_check.h"
#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
using namespace std::chrono_literals;

namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

std::unique_ptr<Child> start_worker(KernelFixture& k, uint64_t index, uint64_t threads,
                                    uint64_t ms) {
    return std::make_unique<Child>(
        std::vector<std::string>{program("CEK_LOAD_WORKER"), std::to_string(index),
                                 std::to_string(threads), std::to_string(ms)},
        k.client_env());
}

}  // namespace

TEST_CASE("many processes with many threads get every reply right, without a stall", "[load]") {
    uint64_t processes = std::min<uint64_t>(env_number("CEK_LOAD_PROCESSES", 64), 64);
    uint64_t threads = std::min<uint64_t>(env_number("CEK_LOAD_THREADS", 8), 8);
    uint64_t ms = env_number("CEK_LOAD_SECONDS", 10) * 1000;
    KernelFixture k;
    pid_t kernel = k.kernel_pid();
    {  // warm-up: the \load directory and one of each call, so the baseline is steady
        auto w = start_worker(k, 0, 1, 100);
        REQUIRE(w->read_line(60s) == "ready");
        w->write_line("go");
        REQUIRE(field(w->read_line(60s).value_or(""), 2) == "0");
        REQUIRE(w->wait(20s));
    }
    REQUIRE(k.wait_for([](const auto& s) { return app_processes(s) == 0; }, 20s));
    auto baseline = cek::soak::measure(kernel);

    std::vector<std::unique_ptr<Child>> workers;
    for (uint64_t i = 0; i < processes; ++i) workers.push_back(start_worker(k, i, threads, ms));
    for (uint64_t i = 0; i < processes; ++i) {
        INFO("worker " << i);
        REQUIRE(workers[i]->read_line(120s) == "ready");
    }
    auto start = std::chrono::steady_clock::now();
    for (auto& w : workers) w->write_line("go");

    uint64_t calls = 0;
    for (uint64_t i = 0; i < processes; ++i) {
        INFO("worker " << i);
        // The run, then up to two minutes for its last calls: a stall or deadlock ends here.
        auto line = workers[i]->read_line(std::chrono::milliseconds(ms) + 120s);
        REQUIRE(line);
        auto f = words(*line);
        REQUIRE(f.size() >= 3);
        CHECK(f[0] == "done");
        CHECK(f[2] == "0");
        if (f[2] != "0") FAIL_CHECK(*line);
        calls += std::stoull(f[1]);
        auto status = workers[i]->wait(30s);
        REQUIRE(status);
        CHECK((WIFEXITED(*status) && WEXITSTATUS(*status) == 0));
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cerr << "load: " << processes << " processes x " << threads << " threads, " << seconds
              << " s, " << calls << " calls checked, " << static_cast<uint64_t>(calls / seconds)
              << " calls/s\n";
    CHECK(calls > 0);
    workers.clear();

    for (const auto& leak : cek::soak::leaks(k, kernel, baseline)) FAIL_CHECK(leak);
    CHECK(k.kernel_pid() == kernel);
    CHECK(cek::soak::kernel_answers(k));
}

// The registry across processes (docs/semantics/registry.md): one tree shared at once, two
// processes creating the same key, key handles of a killed process, and the kernel killed with
// SIGKILL in a storm of writes and flushes from several processes: the restarted kernel opens a
// consistent hive holding every value whose RegFlushKey returned.
#include <catch2/catch.hpp>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
using namespace std::chrono_literals;

namespace {

size_t regkey_handles(const cek::proto::Snapshot& s) {
    size_t n = 0;
    for (const auto& h : s.handles)
        if (h.type == "regkey") ++n;
    return n;
}

}  // namespace

TEST_CASE("a value one process writes and flushes is read by another at once",
          "[multiproc][registry]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string ka = a->ask("regcreate HKLM Software\\Shared");
    REQUIRE(field(ka, 0) == "ok");
    CHECK(field(ka, 2) == "1");
    REQUIRE(a->ask("regset " + field(ka, 1) + " Counter 41") == "ok");
    REQUIRE(a->ask("regflush " + field(ka, 1)) == "ok");
    std::string kb = b->ask("regopen HKLM software\\SHARED");
    REQUIRE(field(kb, 0) == "ok");
    CHECK(b->ask("regget " + field(kb, 1) + " counter") == "ok 4 41");
    REQUIRE(a->ask("regset " + field(ka, 1) + " Counter 42") == "ok");  // no flush: still at once
    CHECK(b->ask("regget " + field(kb, 1) + " counter") == "ok 4 42");
    CHECK(b->ask("regget " + field(kb, 1) + " missing") == "fail 2");
    CHECK(b->ask("regclose " + field(kb, 1)) == "ok");
    CHECK(b->ask("regclose " + field(kb, 1)) == "fail 6");
}

TEST_CASE("two processes create the same key: one creates it, the other opens it",
          "[multiproc][registry]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    // Sent to both before either answer is read, so the two calls race in the kernel.
    a->write_line("regcreate HKCU Race\\Key");
    b->write_line("regcreate HKCU Race\\Key");
    auto ra = a->read_line(10s), rb = b->read_line(10s);
    REQUIRE(ra);
    REQUIRE(rb);
    REQUIRE(field(*ra, 0) == "ok");
    REQUIRE(field(*rb, 0) == "ok");
    std::multiset<std::string> dispositions{field(*ra, 2), field(*rb, 2)};
    CHECK(dispositions == std::multiset<std::string>{"1", "2"});
}

TEST_CASE("a process killed with open keys leaves no key handle behind", "[multiproc][registry]") {
    KernelFixture k;
    auto a = k.spawn_child();
    for (int i = 0; i < 20; ++i)
        REQUIRE(field(a->ask("regcreate HKLM Leak\\K" + std::to_string(i)), 0) == "ok");
    CHECK(regkey_handles(k.snapshot()) == 20);
    const int pid = std::stoi(field(a->ask("pid"), 1));
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s));
    CHECK(k.wait_for([&](const cek::proto::Snapshot& s) {
        return process_id_of(s, pid) == 0 && regkey_handles(s) == 0;
    }));
    auto b = k.spawn_child();
    CHECK(field(b->ask("regopen HKLM Leak\\K19"), 0) == "ok");  // the keys stay
}

namespace {

// One round: writers in three processes set values and flush every few, the kernel is killed
// with SIGKILL in the middle, restarted, and must hold every value whose flush returned.
void storm_round(KernelFixture& k, int round) {
    constexpr int kWriters = 3;
    const std::string base = "Storm" + std::to_string(round) + "\\W";
    std::vector<std::unique_ptr<Child>> writers;
    for (int i = 0; i < kWriters; ++i) {
        writers.push_back(k.spawn_child());
        const std::string root = i == 0 ? "HKCU" : "HKLM";
        std::string key = writers.back()->ask("regcreate " + root + " " + base + std::to_string(i));
        REQUIRE(field(key, 0) == "ok");
        writers.back()->write_line("regstorm " + field(key, 1) + " " + std::to_string(i) + " " +
                                   std::to_string(3 + i));
    }
    // Each writer has flushed a few times; then the kernel dies mid-storm.
    std::vector<long> flushed(kWriters, -1);
    for (int i = 0; i < kWriters; ++i)
        while (flushed[i] < 20) {
            auto line = writers[i]->read_line(20s);
            REQUIRE(line);
            REQUIRE(field(*line, 0) == "flushed");
            flushed[i] = std::stol(field(*line, 1));
        }
    k.kill_kernel(SIGKILL);
    REQUIRE(k.wait_kernel(10s));
    for (int i = 0; i < kWriters; ++i)
        for (;;) {  // the flushes reported before the writer saw the kernel die
            auto line = writers[i]->read_line(10s);
            REQUIRE(line);
            if (field(*line, 0) != "flushed") break;
            flushed[i] = std::stol(field(*line, 1));
        }
    k.start_kernel();
    auto b = k.spawn_child();
    for (int i = 0; i < kWriters; ++i) {
        const std::string root = i == 0 ? "HKCU" : "HKLM";
        std::string key = b->ask("regopen " + root + " " + base + std::to_string(i));
        REQUIRE(field(key, 0) == "ok");
        INFO("round " << round << ", writer " << i << " flushed up to v" << flushed[i]);
        for (long v = 0; v <= flushed[i]; ++v)
            REQUIRE(b->ask("regget " + field(key, 1) + " v" + std::to_string(v)) ==
                    "ok 4 " + std::to_string(v));
    }
}

}  // namespace

// CEK_REGISTRY_SOAK_ROUNDS repeats it (default 1; bounded: each round is a few seconds).
TEST_CASE("the kernel killed in a storm of registry writes keeps every flushed value",
          "[multiproc][registry][durability]") {
    KernelFixture k;
    const char* env = std::getenv("CEK_REGISTRY_SOAK_ROUNDS");
    const int rounds = std::clamp(env != nullptr ? std::atoi(env) : 1, 1, 100);
    for (int round = 0; round < rounds; ++round) storm_round(k, round);
}

// Message queues across processes (docs/semantics/msgqueue.md): readers and writers in different
// processes waiting on each other, a writer killed with SIGKILL mid-stream with and without
// MSGQUEUE_ALLOW_BROKEN, an unnamed queue joined through OpenMsgQueue, large messages, and 8
// writer and 8 reader threads in 4 processes losing and duplicating nothing.
#include <catch2/catch.hpp>
#include <signal.h>

#include <set>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
using namespace std::chrono_literals;

namespace {

bool detached(KernelFixture& k, Child& child) {
    return k.wait_for(
        [&](const cek::proto::Snapshot& s) { return process_id_of(s, child.pid()) == 0; });
}

// Queue `name` (4 messages of 100 bytes, `flags`) with a reader in `reader` and a writer in a
// process of its own that fills it, waits for room and is killed with SIGKILL there. Returns
// the reader's handle once the kernel has seen the writer die.
std::string kill_writer_mid_stream(KernelFixture& k, Child& reader, const std::string& name,
                                   const std::string& flags) {
    auto writer = k.spawn_child();
    std::string r = reader.ask("mq " + name + " 1 4 100 " + flags);
    std::string w = writer->ask("mq " + name + " 0 4 100 " + flags);
    REQUIRE(field(w, 0) == "ok");
    writer->write_line("mqstream " + field(w, 1) + " 100");
    REQUIRE(writer->read_line(10s).value_or("timeout") == "started");
    REQUIRE(asleep_on_queue(k, "writer"));  // the queue is full and the writer waits for room
    CHECK(field(reader.ask("mqinfo " + field(r, 1)), 4) == "4");
    writer->kill(SIGKILL);
    REQUIRE(writer->wait(10s).has_value());
    REQUIRE(detached(k, *writer));
    return field(r, 1);
}

}  // namespace

TEST_CASE("a reader blocked in another process gets the message a writer sends",
          "[multiproc][msgqueue]") {
    KernelFixture k;
    auto reader = k.spawn_child();
    auto writer = k.spawn_child();
    std::string r = reader->ask("mq jobs 1 2 64 0");
    REQUIRE(field(r, 0) == "ok");
    CHECK(field(r, 2) == "0");
    std::string w = writer->ask("mq jobs 0 2 64 0");
    REQUIRE(field(w, 0) == "ok");
    CHECK(field(w, 2) == "183");  // joined the reader's queue
    reader->write_line("mqread " + field(r, 1) + " inf 64");
    REQUIRE(asleep_on_queue(k, "reader"));  // asleep on the queue's ring
    CHECK(writer->ask("mqwrite " + field(w, 1) + " 0 0 hello") == "ok 0");
    CHECK(reader->read_line(10s).value_or("timeout") == "ok hello 0x0 0");
    // A writer blocked on a full queue completes when the reader makes room.
    CHECK(writer->ask("mqwrite " + field(w, 1) + " 0 0 one") == "ok 0");
    CHECK(writer->ask("mqwrite " + field(w, 1) + " 0 0 two") == "ok 0");
    CHECK(writer->ask("mqwrite " + field(w, 1) + " 0 0 three") == "fail 1460");
    writer->write_line("mqwrite " + field(w, 1) + " inf 0 three");
    REQUIRE(asleep_on_queue(k, "writer"));
    CHECK(reader->ask("mqread " + field(r, 1) + " 0 64") == "ok one 0x0 0");
    CHECK(writer->read_line(10s).value_or("timeout") == "ok 0");
    CHECK(reader->ask("mqinfo " + field(r, 1)) == "ok 0x0 2 64 2 2 1 1");
    // A read with a timeout and nothing coming: ERROR_TIMEOUT, and the kernel holds no wait.
    CHECK(reader->ask("mqread " + field(r, 1) + " 0 64") == "ok two 0x0 0");
    CHECK(reader->ask("mqread " + field(r, 1) + " 0 64") == "ok three 0x0 0");
    CHECK(reader->ask("mqread " + field(r, 1) + " 30 64", 10s) == "fail 1460");
    CHECK(k.snapshot().waits.empty());
}

TEST_CASE("a queue without a ring parks a blocked read in the kernel until another process "
          "writes", "[multiproc][msgqueue]") {
    // Unbounded: the kernel keeps the messages (no ring), and a read that must wait is a kernel
    // wait of the reader's process.
    KernelFixture k;
    auto reader = k.spawn_child();
    auto writer = k.spawn_child();
    const std::string r = field(reader->ask("mq unbounded 1 0 64 0"), 1);
    const std::string w = field(writer->ask("mq unbounded 0 0 64 0"), 1);
    reader->write_line("mqread " + r + " inf 64");
    REQUIRE(waiting(k, *reader));
    CHECK(writer->ask("mqwrite " + w + " 0 0 parked") == "ok 0");
    CHECK(reader->read_line(10s).value_or("timeout") == "ok parked 0x0 0");
    CHECK(k.snapshot().waits.empty());
}

TEST_CASE("a wait on a queue end wakes when another process's write or read changes the ring",
          "[multiproc][msgqueue][wait]") {
    // The write and the read go through the queue's ring, not the kernel: the kernel learns of
    // them because the ring lists its waits and the other process tells it.
    KernelFixture k;
    auto reader = k.spawn_child();
    auto writer = k.spawn_child();
    const std::string r = field(reader->ask("mq watched 1 1 64 0"), 1);
    const std::string w = field(writer->ask("mq watched 0 1 64 0"), 1);
    const std::string ev = field(reader->ask("event - 1 0"), 1);
    // The writer's process too (CE 5: its id; CE 6: what OpenProcess gives the reader).
    std::string process = std::to_string(ce_id_of(k.snapshot(), writer->pid()));
    if (!k.ce5()) process = field(reader->ask("openproc " + process), 1);
    reader->write_line("wait inf " + ev + " " + r + " " + process);
    REQUIRE(waiting(k, *reader));
    CHECK(writer->ask("mqwrite " + w + " 0 0 hi") == "ok 0");
    CHECK(reader->read_line(10s).value_or("timeout") == "ok 0x1");  // the queue, second
    // The queue (one message deep) is full: the writer end waits for room.
    writer->write_line("wait inf " + w);
    REQUIRE(waiting(k, *writer));
    CHECK(reader->ask("mqread " + r + " 0 64") == "ok hi 0x0 0");
    CHECK(writer->read_line(10s).value_or("timeout") == "ok 0x0");
    CHECK(k.snapshot().waits.empty());
}

TEST_CASE("an unnamed queue is joined with OpenMsgQueue from another process",
          "[multiproc][msgqueue]") {
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    std::string r = a->ask("mq - 1 4 64 0");
    REQUIRE(field(r, 0) == "ok");
    uint32_t a_id = ce_id_of(k.snapshot(), a->pid());
    REQUIRE(a_id != 0);
    CHECK(b->ask("mqopen self " + field(r, 1) + " 0") == "fail 87");  // b holds nothing
    // A handle of a: in CE 5 its id, in CE 6 what OpenProcess gives b.
    std::string source = std::to_string(a_id);
    if (!k.ce5()) source = field(b->ask("openproc " + source), 1);
    std::string w = b->ask("mqopen " + source + " " + field(r, 1) + " 0");
    REQUIRE(field(w, 0) == "ok");
    CHECK(field(w, 2) == "0");
    CHECK(b->ask("mqwrite " + field(w, 1) + " 0 1 alert") == "ok 0");
    CHECK(a->ask("mqread " + field(r, 1) + " 0 3") == "ok ale 0x1 122");  // cut: TRUE, 122
    CHECK(b->ask("mqopen 0x7777 " + field(r, 1) + " 0") == "fail 6");
}

TEST_CASE("a writer killed with SIGKILL mid-stream breaks the queue without ALLOW_BROKEN",
          "[multiproc][msgqueue][death]") {
    KernelFixture k;
    auto reader = k.spawn_child();
    const std::string r = kill_writer_mid_stream(k, *reader, "stream", "0");
    // The unread messages went with the last writer handle.
    CHECK(reader->ask("mqinfo " + r) == "ok 0x0 4 100 0 4 1 0");
    CHECK(reader->ask("mqread " + r + " inf 100") == "fail 233");
}

TEST_CASE("a writer killed with SIGKILL leaves its messages with ALLOW_BROKEN",
          "[multiproc][msgqueue][death]") {
    KernelFixture k;
    auto reader = k.spawn_child();
    const std::string r = kill_writer_mid_stream(k, *reader, "kept", "2");
    for (int i = 0; i < 4; ++i) {
        std::string got = reader->ask("mqread " + r + " 0 100");
        REQUIRE(field(got, 0) == "ok");
        char expect[16];
        std::snprintf(expect, sizeof expect, "%08d", i);
        CHECK(field(got, 1).substr(0, 8) == expect);
    }
    CHECK(reader->ask("mqread " + r + " 0 100") == "fail 1460");
    // A new writer by name joins the same queue and is read.
    auto again = k.spawn_child();
    std::string w2 = again->ask("mq kept 0 1 1 0");
    CHECK(field(w2, 2) == "183");
    CHECK(again->ask("mqwrite " + field(w2, 1) + " 0 0 back") == "ok 0");
    CHECK(reader->ask("mqread " + r + " 0 100") == "ok back 0x0 0");
}

TEST_CASE("a reader killed while waiting leaves no wait; the writer then sees "
          "ERROR_PIPE_NOT_CONNECTED", "[multiproc][msgqueue][death]") {
    KernelFixture k;
    auto reader = k.spawn_child();
    auto writer = k.spawn_child();
    std::string r = reader->ask("mq lonely 1 4 64 0");
    std::string w = writer->ask("mq lonely 0 4 64 0");
    reader->write_line("mqread " + field(r, 1) + " inf 64");
    REQUIRE(asleep_on_queue(k, "reader"));
    reader->kill(SIGKILL);
    REQUIRE(reader->wait(10s).has_value());
    REQUIRE(detached(k, *reader));
    CHECK(k.snapshot().waits.empty());
    CHECK(writer->ask("mqwrite " + field(w, 1) + " inf 0 anyone") == "fail 233");
}

TEST_CASE("messages larger than a channel slot cross processes whole", "[multiproc][msgqueue]") {
    KernelFixture k;
    auto reader = k.spawn_child();
    auto writer = k.spawn_child();
    std::string r = reader->ask("mq big 1 2 0x100000 0");
    std::string w = writer->ask("mq big 0 2 0x100000 0");
    REQUIRE(field(w, 0) == "ok");
    std::string text(20000, 'x');
    for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
    CHECK(writer->ask("mqwrite " + field(w, 1) + " 0 0 " + text) == "ok 0");
    CHECK(writer->ask("mqwrite " + field(w, 1) + " 0 0 " + text.substr(0, 9000)) == "ok 0");
    // The queue is full: a large write waits, staged, until the reader takes one.
    writer->write_line("mqwrite " + field(w, 1) + " inf 0 " + text.substr(1, 7000));
    REQUIRE(waiting(k, *writer));
    CHECK(reader->ask("mqread " + field(r, 1) + " 0 30000") == "ok " + text + " 0x0 0");
    CHECK(writer->read_line(10s).value_or("timeout") == "ok 0");
    // A short buffer gets the start, TRUE and ERROR_INSUFFICIENT_BUFFER.
    CHECK(reader->ask("mqread " + field(r, 1) + " 0 5000") == "ok " + text.substr(0, 5000) + " 0x0 122");
    CHECK(reader->ask("mqread " + field(r, 1) + " 0 30000") == "ok " + text.substr(1, 7000) + " 0x0 0");
    // Nothing is left staged or charged.
    CHECK(reader->ask("mqinfo " + field(r, 1)) == "ok 0x0 2 1048576 0 2 1 1");
}

TEST_CASE("8 writers and 8 readers in 4 processes lose and duplicate nothing",
          "[multiproc][msgqueue][load]") {
    KernelFixture k;
    auto w1 = k.spawn_child();
    auto w2 = k.spawn_child();
    auto r1 = k.spawn_child();
    auto r2 = k.spawn_child();
    const std::string make = "mq load 1 16 64 0";
    std::string hr1 = r1->ask(make), hr2 = r2->ask(make);
    std::string hw1 = w1->ask("mq load 0 16 64 0"), hw2 = w2->ask("mq load 0 16 64 0");
    REQUIRE(field(hw2, 0) == "ok");
    constexpr int kPerThread = 1000;
    r1->write_line("mqreaders " + field(hr1, 1) + " 4");
    r2->write_line("mqreaders " + field(hr2, 1) + " 4");
    w1->write_line("mqwriters " + field(hw1, 1) + " 4 " + std::to_string(kPerThread) + " 1");
    w2->write_line("mqwriters " + field(hw2, 1) + " 4 " + std::to_string(kPerThread) + " 5");
    CHECK(w1->read_line(120s).value_or("timeout") == "ok 0");
    CHECK(w2->read_line(120s).value_or("timeout") == "ok 0");
    CHECK(w1->ask("mqstop " + field(hw1, 1) + " 8", 60s) == "ok");
    std::string a = r1->read_line(60s).value_or("timeout");
    std::string b = r2->read_line(60s).value_or("timeout");
    REQUIRE(field(a, 0) == "ok");
    REQUIRE(field(b, 0) == "ok");
    uint64_t expected_sum = 0;
    for (uint64_t id = 1; id <= 8; ++id)
        for (uint64_t seq = 1; seq <= kPerThread; ++seq) expected_sum += id * 1'000'000u + seq;
    CHECK(std::stoull(field(a, 1)) + std::stoull(field(b, 1)) == 8u * kPerThread);
    CHECK(std::stoull(field(a, 2)) + std::stoull(field(b, 2)) == expected_sum);
    CHECK(field(a, 3) == "0");  // each writer's messages in order, none twice, per thread
    CHECK(field(b, 3) == "0");
    CHECK(field(a, 4) == "0");
    CHECK(field(b, 4) == "0");
    std::string info = r1->ask("mqinfo " + field(hr1, 1));
    CHECK(field(info, 4) == "0");  // nothing left
    CHECK(field(info, 6) == "2");  // readers
    CHECK(field(info, 7) == "2");  // writers
}

TEST_CASE("a call blocked on a queue ring whose handle another thread closes fails with "
          "ERROR_INVALID_HANDLE", "[multiproc][msgqueue]") {
    // CE checks the handle before the queue's state: the close breaks the queue (no
    // ALLOW_BROKEN), but the blocked call reports its handle, not the broken queue.
    KernelFixture k;
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string r = field(a->ask("mq shut 1 1 64 0"), 1);
    const std::string w = field(b->ask("mq shut 0 1 64 0"), 1);
    auto close_under = [&](Child& c, const std::string& h) {
        c.write_line("close " + h);
        std::set<std::string> lines;
        for (int i = 0; i < 2; ++i) lines.insert(c.read_line(10s).value_or("timeout"));
        return lines;
    };
    REQUIRE(a->ask("bg mqread " + r + " inf 64") == "started");
    REQUIRE(asleep_on_queue(k, "reader"));
    CHECK(close_under(*a, r) == std::set<std::string>{"ok keep", "bg fail 6"});
    // The writer side: a queue one message deep, full, and its writer closed under the write.
    auto c = k.spawn_child();
    const std::string w2 = field(c->ask("mq shut2 0 1 64 2"), 1);
    REQUIRE(c->ask("mqwrite " + w2 + " 0 0 one") == "ok 0");
    REQUIRE(c->ask("bg mqwrite " + w2 + " inf 0 two") == "started");
    REQUIRE(asleep_on_queue(k, "writer"));
    CHECK(close_under(*c, w2) == std::set<std::string>{"ok keep", "bg fail 6"});
    (void)w;
}

// A mutex's shared word (protocol/mutex_word.h, docs/decisions/0013-mutex-word.md) through
// cek::kernel::Kernel: the test maps the word as a client does and changes it with the client's
// own operations, then checks what the kernel makes of it: owners it finds or does not find,
// waits, abandonment, counts too large for the word and values no client writes.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "protocol/mutex_word.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::ThreadRef;
using cek::kernel::WaitCompletion;

namespace {

uint32_t word_test_tid() { return static_cast<uint32_t>(::syscall(SYS_gettid)); }

// A thread id no process of this test has (Linux ids stay below 2^22).
constexpr uint32_t kNoSuchTid = 0x7FFFFFF0;

struct WordScene : Scene {
    // Made-up pids: their threads' ids are taken as the kernel's own (the PID-namespace rule
    // has a multi-process test of its own).
    WordScene() {
        k.set_thread_id_check([](int) { return true; });
    }
    uint64_t next_tag = 1;
    // This test process as a CE process: the kernel finds its threads in /proc.
    ProcessId self = attach_self("self.exe");
    ThreadRef me{self, word_test_tid()};

    ProcessId attach_self(const std::string& exe) {
        auto r = k.attach_process(::getpid(), exe, false);
        REQUIRE(r.ok());
        return r.value();
    }

    HandleValue mutex(ThreadRef t, bool owned, const std::u16string* name = nullptr) {
        LastError le;
        auto r = k.create_mutex(t, owned, name, le);
        REQUIRE(r.ok());
        return r.value();
    }
    // MutexWord for `p`, mapped for the rest of the test.
    std::atomic<uint64_t>& word(ProcessId p, HandleValue h) {
        return words.emplace_back(std::make_unique<MappedMutexWord>(k, p, h))->word();
    }
    uint32_t wait_now(ThreadRef t, HandleValue h) {
        auto r = k.wait(t, std::vector<HandleValue>{h}, false, 0, next_tag++);
        REQUIRE(r.has_value());
        if (!r->ok()) FAIL("wait failed: " << r->error());
        k.publish_mutex_words();
        return r->value();
    }
    uint64_t wait_pending(ThreadRef t, HandleValue h) {
        const uint64_t tag = next_tag++;
        auto r = k.wait(t, std::vector<HandleValue>{h}, false, kInfinite, tag);
        REQUIRE_FALSE(r.has_value());
        k.publish_mutex_words();
        return tag;
    }
    Result<void> release(ThreadRef t, HandleValue h) {
        auto r = k.release_mutex(t, h);
        k.publish_mutex_words();
        return r;
    }
    std::string detail(const std::string& key) {
        for (const auto& o : k.snapshot().objects)
            if (o.type == "mutex")
                for (const auto& [name, value] : o.details)
                    if (name == key) return value;
        return "";
    }

    std::vector<std::unique_ptr<MappedMutexWord>> words;
};

bool word_wait_done(const std::vector<WaitCompletion>& c, uint64_t tag, uint32_t result) {
    return std::any_of(c.begin(), c.end(),
                       [&](const WaitCompletion& w) { return w.tag == tag && w.result == result; });
}

}  // namespace

TEST_CASE("A mutex's word is free once asked for, and a caller's swap takes and gives it back",
          "[unit][sync][mutex][word]") {
    WordScene s;
    auto h = s.mutex(s.me, false);
    auto& w = s.word(s.self, h);
    CHECK(w.load() == 0);
    REQUIRE(proto::mutex_word_acquire(w, s.me.tid));
    REQUIRE(proto::mutex_word_acquire(w, s.me.tid));  // recursion, in the word
    CHECK(w.load() == proto::mutex_word(s.me.tid, 2));
    // Another thread's swap fails: it must ask the kernel.
    CHECK_FALSE(proto::mutex_word_acquire(w, s.me.tid + 1));
    CHECK_FALSE(proto::mutex_word_release(w, s.me.tid + 1));
    // The kernel sees the owner the word names (without taking the word over to look).
    CHECK(s.detail("owner") == "process " + std::to_string(s.self.raw) + " tid " +
                                   std::to_string(s.me.tid));
    CHECK(s.detail("recursion") == "2");
    CHECK(w.load() == proto::mutex_word(s.me.tid, 2));
    REQUIRE(proto::mutex_word_release(w, s.me.tid));
    REQUIRE(proto::mutex_word_release(w, s.me.tid));
    CHECK(w.load() == 0);
    CHECK_FALSE(proto::mutex_word_release(w, s.me.tid));  // not owned: the kernel says 288
    CHECK(s.release(s.me, h).error() == Win32Error::ERROR_NOT_OWNER);
    CHECK(w.load() == 0);
}

TEST_CASE("A mutex owned through its word: a second thread's wait takes the word over, the "
          "owner's release goes through the kernel and hands the mutex on",
          "[unit][sync][mutex][word]") {
    WordScene s;
    auto other = s.attach();
    const std::u16string name = u"shared";
    auto h = s.mutex(s.me, false, &name);
    auto theirs = s.mutex({other, 77}, false, &name);
    auto& w = s.word(s.self, h);
    REQUIRE(proto::mutex_word_acquire(w, s.me.tid));
    // Timeout 0: WAIT_TIMEOUT, and the word comes back to the owner.
    CHECK(s.wait_now({other, 77}, theirs) == kWaitTimeout);
    CHECK(w.load() == proto::mutex_word(s.me.tid, 1));
    const uint64_t tag = s.wait_pending({other, 77}, theirs);
    CHECK((w.load() & proto::kMutexKernel) != 0);  // a waiter: the kernel keeps the state
    CHECK(s.detail("word") == "kernel");
    // The owner's swaps fail now; it goes to the kernel, which knows it as the owner.
    CHECK_FALSE(proto::mutex_word_acquire(w, s.me.tid));
    CHECK(s.wait_now(s.me, h) == kWaitObject0);  // recursion 2, in the kernel
    CHECK_FALSE(proto::mutex_word_release(w, s.me.tid));
    REQUIRE(s.release(s.me, h).ok());
    CHECK(s.k.take_completions().empty());
    REQUIRE(s.release(s.me, h).ok());
    CHECK(word_wait_done(s.k.take_completions(), tag, kWaitObject0));
    // The new owner holds it through the word again: no thread waits.
    CHECK(w.load() == proto::mutex_word(77, 1));
    CHECK(s.release({other, 77}, theirs).ok());
    CHECK(w.load() == 0);
}

TEST_CASE("A word naming a thread no holder has is a dead owner's: the next wait hears "
          "WAIT_ABANDONED",
          "[unit][sync][mutex][word]") {
    WordScene s;
    auto h = s.mutex(s.me, false);
    auto& w = s.word(s.self, h);
    w.store(proto::mutex_word(kNoSuchTid, 3));
    CHECK(s.wait_now(s.me, h) == kWaitAbandoned0);
    CHECK(w.load() == proto::mutex_word(s.me.tid, 1));
    REQUIRE(s.release(s.me, h).ok());
    CHECK(w.load() == 0);
}

TEST_CASE("Values no caller writes are taken as a dead owner's, and never trusted further",
          "[unit][sync][mutex][word]") {
    for (uint64_t garbage : {proto::mutex_word(0, 0) | 5, uint64_t{1} << 40,
                             uint64_t{0x7FFFFFFF} << 32}) {
        WordScene s;
        auto h = s.mutex(s.me, false);
        auto& w = s.word(s.self, h);
        w.store(garbage);
        CAPTURE(garbage);
        CHECK(s.wait_now(s.me, h) == kWaitAbandoned0);
        REQUIRE(s.release(s.me, h).ok());
        CHECK(w.load() == 0);
    }
}

TEST_CASE("A count the word cannot hold stays with the kernel until it is small again",
          "[unit][sync][mutex][word]") {
    WordScene s;
    auto h = s.mutex(s.me, false);
    auto& w = s.word(s.self, h);
    w.store(proto::mutex_word(s.me.tid, proto::kMutexWordMaxCount));
    CHECK_FALSE(proto::mutex_word_acquire(w, s.me.tid));  // full: the kernel counts on
    CHECK(s.wait_now(s.me, h) == kWaitObject0);
    CHECK((w.load() & proto::kMutexKernel) != 0);
    REQUIRE(s.release(s.me, h).ok());
    CHECK(w.load() == proto::mutex_word(s.me.tid, proto::kMutexWordMaxCount));
    REQUIRE(proto::mutex_word_release(w, s.me.tid));
}

TEST_CASE("A process that dies owning a mutex through its word abandons it, to a waiter and "
          "to the next caller alike",
          "[unit][sync][mutex][word]") {
    WordScene s;
    auto other = s.attach();
    // The dying process: a thread the kernel knows as its own, found by its word.
    const ProcessId dying = s.attach_self("dying.exe");
    const std::u16string name = u"db-lock";
    HandleValue theirs = s.mutex({dying, s.me.tid}, false, &name);
    HandleValue h = s.mutex({other, 5}, false, &name);  // the same mutex, by name
    auto& w = s.word(dying, theirs);
    SECTION("a waiter") {
        REQUIRE(proto::mutex_word_acquire(w, s.me.tid));
        const uint64_t tag = s.wait_pending({other, 5}, h);
        s.k.detach_process(dying);
        s.k.publish_mutex_words();
        CHECK(word_wait_done(s.k.take_completions(), tag, kWaitAbandoned0));
        CHECK(w.load() == proto::mutex_word(5, 1));
    }
    SECTION("no waiter: the next wait") {
        REQUIRE(proto::mutex_word_acquire(w, s.me.tid));
        s.k.detach_process(dying);
        s.k.publish_mutex_words();
        CHECK(s.wait_now({other, 5}, h) == kWaitAbandoned0);
    }
    SECTION("released before: nothing to tell") {
        REQUIRE(proto::mutex_word_acquire(w, s.me.tid));
        REQUIRE(proto::mutex_word_release(w, s.me.tid));
        s.k.detach_process(dying);
        s.k.publish_mutex_words();
        CHECK(s.wait_now({other, 5}, h) == kWaitObject0);
    }
}

TEST_CASE("MutexWord: only a mutex of the caller has a word", "[unit][sync][mutex][word]") {
    WordScene s;
    LastError le;
    auto e = s.k.create_event(s.self, false, false, nullptr, le);
    REQUIRE(e.ok());
    CHECK(s.k.mutex_word(s.self, e.value()).error() == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.k.mutex_word(s.self, HandleValue{0x1234}).error() ==
          Win32Error::ERROR_INVALID_HANDLE);
    auto h = s.mutex(s.me, true);  // owned at creation: the word carries the owner
    auto& w = s.word(s.self, h);
    CHECK(w.load() == proto::mutex_word(s.me.tid, 1));
    REQUIRE(proto::mutex_word_release(w, s.me.tid));
    REQUIRE(s.k.close_handle(s.self, h).ok());
}

TEST_CASE("A mutex whose handles are all closed while it is owned and waited on goes away "
          "cleanly when the last wait ends",
          "[unit][sync][mutex][word]") {
    WordScene s;
    auto first = s.attach();
    auto second = s.attach();
    const std::u16string name = u"going";
    auto mine = s.mutex(s.me, true, &name);
    (void)s.word(s.self, mine);
    auto h1 = s.mutex({first, 21}, false, &name);
    auto h2 = s.mutex({second, 22}, false, &name);
    const uint64_t first_tag = s.wait_pending({first, 21}, h1);
    const uint64_t second_tag = s.wait_pending({second, 22}, h2);
    // The owner goes through the kernel (a thread waits); the first waiter owns it now, in the
    // kernel's books alone while the second still waits.
    REQUIRE(s.release(s.me, mine).ok());
    CHECK(word_wait_done(s.k.take_completions(), first_tag, kWaitObject0));
    for (auto [p, h] : {std::pair{s.self, mine}, {first, h1}, {second, h2}})
        REQUIRE(s.k.close_handle(p, h).ok());
    // The last wait ends: the mutex may go back to its word, and then away (its owner's books
    // held the last reference).
    s.k.cancel_wait(second, second_tag);
    s.k.publish_mutex_words();
    const auto snapshot = s.k.snapshot();
    CHECK(std::none_of(snapshot.objects.begin(), snapshot.objects.end(),
                       [](const auto& o) { return o.type == "mutex"; }));
}

TEST_CASE("A wait withdrawn (its slot reused, its process gone) gives the word back to the owner",
          "[unit][sync][mutex][word]") {
    WordScene s;
    auto other = s.attach();
    const std::u16string name = u"withdrawn";
    auto h = s.mutex(s.me, false, &name);
    auto theirs = s.mutex({other, 31}, false, &name);
    auto& w = s.word(s.self, h);
    REQUIRE(proto::mutex_word_acquire(w, s.me.tid));
    const uint64_t tag = s.wait_pending({other, 31}, theirs);
    CHECK((w.load() & proto::kMutexKernel) != 0);
    s.k.cancel_wait(other, tag);
    s.k.publish_mutex_words();
    CHECK(w.load() == proto::mutex_word(s.me.tid, 1));
    REQUIRE(proto::mutex_word_release(w, s.me.tid));
}

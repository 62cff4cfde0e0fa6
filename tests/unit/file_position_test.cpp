// Positions a process keeps (docs/decisions/0015-file-position.md): the table's slots and
// generations, and through cek::kernel::Kernel with fake processes which file gets a slot,
// when the kernel moves the position into the description, and what it reads from a slot it
// cannot trust.
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>

#include "protocol/file_position.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::PositionTable;
using cek::kernel::ThreadRef;

namespace {

KernelConfig ce6_config() {
    KernelConfig c = config();
    c.personality = 6;
    return c;
}

// The process's view of its table (what the shim maps).
struct ClientTable {
    explicit ClientTable(const PositionTable* t)
        : words(static_cast<std::atomic<uint64_t>*>(::mmap(nullptr, proto::kPositionTableBytes,
                                                           PROT_READ | PROT_WRITE, MAP_SHARED,
                                                           t->fd(), 0))) {
        REQUIRE(words != MAP_FAILED);
    }
    ~ClientTable() { ::munmap(words, proto::kPositionTableBytes); }
    std::atomic<uint64_t>& at(uint32_t ref) { return words[proto::position_ref_slot(ref)]; }
    std::atomic<uint64_t>* words;
};

uint32_t slot_ref_of(FileScene& s, ProcessId p, HandleValue h, bool keep = true) {
    auto d = s.k.file_descriptor(p, h, keep);
    REQUIRE(d.ok());
    return d.value().position;
}

HandleValue open_rw(FileScene& s, ProcessId p, const std::u16string& path) {
    auto h = s.open(p, path, ce::kGenericRead | ce::kGenericWrite, 0, 4 /* OPEN_ALWAYS */);
    REQUIRE(h.ok());
    return h.value();
}

const PositionTable* table_of(FileScene& s, ProcessId a) {
    auto t = s.k.file_positions(a);
    REQUIRE(t.ok());
    REQUIRE(t.value() != nullptr);
    return t.value();
}

// A file `a` opened and keeps the position of, with its table as `a` sees it, moved to `at`.
struct KeptFile {
    KeptFile(FileScene& s, ProcessId a, const std::u16string& path, uint64_t at)
        : client(table_of(s, a)),
          handle(open_rw(s, a, path)),
          ref(slot_ref_of(s, a, handle)),
          generation(proto::position_ref_generation(ref)) {
        REQUIRE(ref != 0);
        word().store(proto::position_word(generation, at));  // a's SetFilePointer
    }
    std::atomic<uint64_t>& word() { return client.at(ref); }
    ClientTable client;
    HandleValue handle;
    uint32_t ref;
    uint16_t generation;
};

// CE 6: `a`'s handle `h` duplicated into `b`.
HandleValue give_file(FileScene& s, ProcessId a, ProcessId b, HandleValue h) {
    auto to_b = s.k.open_process(a, s.k.process_id(b), false);
    REQUIRE(to_b.ok());
    auto hb = s.k.duplicate_handle(ThreadRef{a, 1}, ce::kCurrentProcessHandle, h,
                                   to_b.value().raw, ce::kDuplicateSameAccess, false);
    REQUIRE(hb.ok());
    return hb.value();
}

}  // namespace

TEST_CASE("a table gives each file its own slot, a new generation on reuse, and none when full",
          "[unit][files][position]") {
    auto t = PositionTable::create();
    REQUIRE(t);
    std::set<uint32_t> slots;
    std::vector<PositionTable::Slot> given;
    for (uint32_t i = 0; i < proto::kPositionSlots; ++i) {
        auto s = t->assign(i);
        REQUIRE(s);
        CHECK(s->generation != 0);
        CHECK(t->position(*s) == std::optional<uint64_t>(i));
        slots.insert(s->index);
        given.push_back(*s);
    }
    CHECK(slots.size() == proto::kPositionSlots);
    CHECK_FALSE(t->assign(0));  // full: that file's position stays in the description
    const PositionTable::Slot old = given[7];
    t->free(old);
    CHECK_FALSE(t->position(old));  // a freed slot claims nothing
    auto again = t->assign(42);
    REQUIRE(again);
    CHECK(again->index == old.index);
    CHECK(again->generation != old.generation);
    CHECK_FALSE(t->position(old));  // the old file's generation no longer matches
    CHECK(t->position(*again) == std::optional<uint64_t>(42));
    CHECK_FALSE(t->assign(proto::kPositionMax + 1));
}

TEST_CASE("a takeover hands over the claim once and leaves the slot shared",
          "[unit][files][position]") {
    auto t = PositionTable::create();
    REQUIRE(t);
    auto s = t->assign(5);
    REQUIRE(s);
    ClientTable client(t.get());
    std::atomic<uint64_t>& w = client.words[s->index];
    w.store(proto::position_word(s->generation, 77));  // the process moved it
    std::optional<uint64_t> seen;
    int calls = 0;
    t->take_over(*s, [&](std::optional<uint64_t> at) {
        ++calls;
        seen = at;
        // While the kernel moves it, the process sees it moving.
        CHECK(proto::position_value(w.load()) == proto::kPositionMoving);
    });
    CHECK(calls == 1);
    CHECK(seen == std::optional<uint64_t>(77));
    CHECK(w.load() == proto::position_word(s->generation, proto::kPositionShared));
    CHECK_FALSE(t->position(*s));
    // A scribbled slot (another generation, a position past the largest) claims nothing.
    auto u = t->assign(0);
    REQUIRE(u);
    client.words[u->index].store(proto::position_word(u->generation + 1, 3));
    CHECK_FALSE(t->position(*u));
    client.words[u->index].store(proto::position_word(u->generation, proto::kPositionMax + 1));
    CHECK_FALSE(t->position(*u));
    t->take_over(*u, [&](std::optional<uint64_t> at) { seen = at; });
    CHECK_FALSE(seen);
}

TEST_CASE("a file gets a slot for the first process that asks with a table, and only then",
          "[unit][files][position]") {
    FileScene s;
    auto a = s.attach();
    // Without its table, a process's files use the description, for good.
    const HandleValue early = open_rw(s, a, u"\\Temp\\early.txt");
    CHECK(slot_ref_of(s, a, early) == 0);
    auto table = s.k.file_positions(a);
    REQUIRE(table.ok());
    REQUIRE(table.value() != nullptr);
    auto again = s.k.file_positions(a);
    REQUIRE(again.ok());
    CHECK(again.value() == table.value());  // one table per process
    CHECK(slot_ref_of(s, a, early) == 0);
    // Asked without keeping it: the description's, for good.
    const HandleValue plain = open_rw(s, a, u"\\Temp\\plain.txt");
    CHECK(slot_ref_of(s, a, plain, false) == 0);
    CHECK(slot_ref_of(s, a, plain) == 0);
    // With the table: a slot, the same one on every ask, holding the description's position.
    const HandleValue kept = open_rw(s, a, u"\\Temp\\kept.txt");
    const uint32_t ref = slot_ref_of(s, a, kept);
    CHECK(ref != 0);
    CHECK(slot_ref_of(s, a, kept) == ref);
    ClientTable client(table.value());
    CHECK(client.at(ref).load() == proto::position_word(proto::position_ref_generation(ref), 0));
    // A directory has no position.
    LastError le;
    auto dir = s.open(a, u"\\Temp", ce::kGenericRead, ce::kFileShareRead | ce::kFileShareWrite,
                      3, le, ce::kFileFlagBackupSemantics);
    REQUIRE(dir.ok());
    CHECK(slot_ref_of(s, a, dir.value()) == 0);
    // Closing the file frees its slot: the next file may get it, under a new generation.
    REQUIRE(s.k.close_handle(a, kept).ok());
    CHECK(client.at(ref).load() == 0);
    const uint32_t next = slot_ref_of(s, a, open_rw(s, a, u"\\Temp\\next.txt"));
    CHECK(next != 0);
    if (proto::position_ref_slot(next) == proto::position_ref_slot(ref))
        CHECK(proto::position_ref_generation(next) != proto::position_ref_generation(ref));
}

TEST_CASE("CE 5: a kernel-owned CreateFileForMapping handle never keeps its position",
          "[unit][files][position][ce5]") {
    FileScene s;
    auto a = s.attach();
    REQUIRE(s.k.file_positions(a).ok());
    auto f = s.cffm(a, u"\\Temp\\owned.bin", ce::kGenericRead | ce::kGenericWrite, 0, 4);
    REQUIRE(f.ok());
    auto d = s.k.file_descriptor(a, f.value(), true);
    REQUIRE(d.ok());
    CHECK(d.value().kernel_owned);
    CHECK(d.value().position == 0);
}

TEST_CASE("ce6: SetEndOfFile cuts at the kept position; another process's call moves it into "
          "the description first",
          "[unit][ce6][files][position]") {
    FileScene s(ce6_config());
    auto a = s.attach();
    auto b = s.attach();
    s.write_host("Temp/cut.txt", "abcdefgh");
    KeptFile f(s, a, u"\\Temp\\cut.txt", 6);
    const HandleValue h = f.handle;
    const uint16_t gen = f.generation;
    auto& word = f.word();
    auto cut = s.k.set_end_of_file(a, h);
    REQUIRE(cut.ok());
    CHECK(cut.value() == 6);
    CHECK(s.read_host("Temp/cut.txt") == "abcdef");
    // A scribbled slot: the call fails rather than cut anywhere.
    word.store(proto::position_word(gen + 1, 2));
    CHECK(error_of(s.k.set_end_of_file(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    word.store(proto::position_word(gen, 4));
    // b gets the handle: its SetEndOfFile moves a's position (4) into the description first.
    const HandleValue hb = give_file(s, a, b, h);
    REQUIRE(s.k.file_positions(b).ok());
    auto by_b = s.k.set_end_of_file(b, hb);
    REQUIRE(by_b.ok());
    CHECK(by_b.value() == 4);
    CHECK(s.read_host("Temp/cut.txt") == "abcd");
    CHECK(word.load() == proto::position_word(gen, proto::kPositionShared));
    // From now on nobody keeps it: not b, and not a again.
    CHECK(slot_ref_of(s, b, hb) == 0);
    CHECK(slot_ref_of(s, a, h) == 0);
    auto d = s.k.file_descriptor(a, h);
    REQUIRE(d.ok());
    CHECK(::lseek(d.value().fd, 0, SEEK_CUR) == 4);
}

TEST_CASE("ce6: a second process's descriptor call moves the kept position into the description",
          "[unit][ce6][files][position]") {
    FileScene s(ce6_config());
    auto a = s.attach();
    auto b = s.attach();
    KeptFile f(s, a, u"\\Temp\\moved.txt", 123);
    const HandleValue hb = give_file(s, a, b, f.handle);
    CHECK(slot_ref_of(s, a, f.handle) == f.ref);  // b holds it but has not used it
    auto d = s.k.file_descriptor(b, hb, true);
    REQUIRE(d.ok());
    CHECK(d.value().position == 0);
    CHECK(::lseek(d.value().fd, 0, SEEK_CUR) == 123);
    CHECK(proto::position_value(f.word().load()) == proto::kPositionShared);
    // The slot stays the file's (shared) until the file closes, then frees.
    REQUIRE(s.k.close_handle(b, hb).ok());
    CHECK(proto::position_value(f.word().load()) == proto::kPositionShared);
    REQUIRE(s.k.close_handle(a, f.handle).ok());
    CHECK(f.word().load() == 0);
}

TEST_CASE("the keeping process asking for a descriptor without keeping it moves the position "
          "into the description",
          "[unit][files][position]") {
    FileScene s;
    auto a = s.attach();
    KeptFile f(s, a, u"\\Temp\\both.txt", 9);
    auto d = s.k.file_descriptor(a, f.handle, false);
    REQUIRE(d.ok());
    CHECK(d.value().position == 0);
    CHECK(::lseek(d.value().fd, 0, SEEK_CUR) == 9);
    CHECK(proto::position_value(f.word().load()) == proto::kPositionShared);
    CHECK(slot_ref_of(s, a, f.handle) == 0);
}

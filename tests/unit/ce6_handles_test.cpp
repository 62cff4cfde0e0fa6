// The CE 6 personality's handle model, through cek::kernel::Kernel with fake processes
// (docs/semantics/handles.md §9): one table per process, odd values and a new one for every
// open, ids apart from handles, the CE 6 name lifetime, DuplicateHandle between processes, and
// CreateFileForMapping as a plain handle of the caller.
#include <set>
#include <string>
#include <vector>

#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::ThreadRef;

namespace {

constexpr uint32_t kSelf = ce::kCurrentProcessHandle;
constexpr uint32_t kSameAccess = ce::kDuplicateSameAccess;
constexpr uint32_t kCloseSource = ce::kDuplicateCloseSource;
const std::u16string kName = u"shared";

KernelConfig ce6() {
    KernelConfig c = config();
    c.personality = 6;
    return c;
}

template <class T>
Win32Error outcome(const Result<T>& r) {
    return r.ok() ? Win32Error::ERROR_SUCCESS : r.error();
}

struct Ce6Scene : Scene {
    Ce6Scene() : Scene(ce6()) {}

    HandleValue event(ProcessId p, const std::u16string* name = nullptr) {
        LastError le;
        auto r = k.create_event(p, true, false, name, le);
        REQUIRE(r.ok());
        return r.value();
    }
    Result<HandleValue> dup(ProcessId p, uint32_t source, HandleValue h, uint32_t target,
                            uint32_t options = kSameAccess, bool inherit = false) {
        return k.duplicate_handle(ThreadRef{p, 1}, source, h, target, options, inherit);
    }
    // A handle of `p` on process `other`, as OpenProcess gives it.
    HandleValue process_handle_of(ProcessId p, ProcessId other) {
        auto r = k.open_process(p, k.process_id(other), false);
        REQUIRE(r.ok());
        return r.value();
    }
};

bool is_ce6_value(uint32_t v) { return (v & 3u) == 3u && (v >> 16) >= 64; }

}  // namespace

TEST_CASE("ce6: values are (index << 16) | reuse with the low bits 11, from index 64",
          "[unit][ce6][handle]") {
    Ce6Scene s;
    auto p = s.attach();
    HandleValue first = s.event(p);
    CHECK(first.raw == 0x00400003u);  // the process's first handle: index 64, reuse 3
    HandleValue second = s.event(p);
    CHECK(second.raw == 0x00410003u);
    // A freed index comes back with `reuse` 4 higher: the old value is dead.
    REQUIRE(s.k.close_handle(p, first).ok());
    HandleValue reused = s.event(p);
    CHECK(reused.raw == 0x00400007u);
    CHECK(s.event(p).raw == 0x00420003u);
    CHECK(error_of(s.k.set_event(p, first, ce::EventOp::Set)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.close_handle(p, first)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("ce6: each process has its own table; a value from another process means nothing",
          "[unit][ce6][handle]") {
    Ce6Scene s;
    auto a = s.attach();
    auto b = s.attach();
    HandleValue ha = s.event(a);
    HandleValue hb = s.event(b);
    CHECK(ha == hb);  // both first in their own table, different objects
    REQUIRE(s.k.set_event(a, ha, ce::EventOp::Set).ok());
    CHECK(s.k.handles().find_for(ha, a)->object != s.k.handles().find_for(hb, b)->object);
    auto c = s.attach();
    CHECK(error_of(s.k.set_event(c, ha, ce::EventOp::Set)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.close_handle(c, ha)) == Win32Error::ERROR_INVALID_HANDLE);
    REQUIRE(s.k.close_handle(a, ha).ok());
    CHECK(s.k.set_event(b, hb, ce::EventOp::Set).ok());  // b's own is untouched
}

TEST_CASE("ce6: opening an object again gives a new value, even in the same process",
          "[unit][ce6][handle][names]") {
    Ce6Scene s;
    auto p = s.attach();
    HandleValue created = s.event(p, &kName);
    LastError le;
    auto again = s.k.create_event(p, false, true, &kName, le);
    REQUIRE(again.ok());
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(again.value() != created);
    auto opened = s.k.open_sync(p, kernel::ObjectType::Event, kName);
    REQUIRE(opened.ok());
    CHECK(opened.value() != created);
    CHECK(opened.value() != again.value());
    // Three handles on one object: each closes once.
    for (HandleValue h : {created, again.value(), opened.value()})
        CHECK(s.k.close_handle(p, h).ok());
    CHECK(error_of(s.k.close_handle(p, created)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("ce6: a name goes when the object's last handle in any process closes",
          "[unit][ce6][names]") {
    Ce6Scene s;
    auto a = s.attach();
    auto b = s.attach();
    HandleValue ha = s.event(a, &kName);
    auto hb = s.k.open_sync(b, kernel::ObjectType::Event, kName);
    REQUIRE(hb.ok());
    REQUIRE(s.k.close_handle(a, ha).ok());  // the creator's goes: b's keeps the name
    auto again = s.k.open_sync(a, kernel::ObjectType::Event, kName);
    REQUIRE(again.ok());
    REQUIRE(s.k.close_handle(a, again.value()).ok());
    REQUIRE(s.k.close_handle(b, hb.value()).ok());  // the last handle: the name goes
    CHECK(error_of(s.k.open_sync(b, kernel::ObjectType::Event, kName)) ==
          Win32Error::ERROR_FILE_NOT_FOUND);
}

TEST_CASE("ce6: a view holds a handle count, so a mapping's name stays while it is mapped",
          "[unit][ce6][names][mapping]") {
    Ce6Scene s;
    auto p = s.attach();
    HandleValue m = s.make(p, 4096, &kName);
    auto v = s.view(p, m);
    REQUIRE(s.k.close_handle(p, m).ok());
    // The view is not a handle: the value is closed for good.
    CHECK(error_of(s.k.close_handle(p, m)) == Win32Error::ERROR_INVALID_HANDLE);
    LastError le;
    auto again = s.create(p, 0, &kName, le);  // size 0 opens only an existing one
    REQUIRE(again.ok());
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    REQUIRE(s.k.close_handle(p, again.value()).ok());
    REQUIRE(s.k.unmap_view(p, v.address).ok());
    CHECK(error_of(s.create(p, 0, &kName)) == Win32Error::ERROR_INVALID_PARAMETER);  // gone
}

TEST_CASE("ce6: ids are even, apart from handles, and never handles themselves",
          "[unit][ce6][ids]") {
    Ce6Scene s;
    auto p = s.attach();
    auto made = s.k.create_thread(p, 0, 0);
    REQUIRE(made.ok());
    const HandleValue h = made.value().handle;
    const uint32_t id = made.value().id;
    CHECK(is_ce6_value(h.raw));
    CHECK((id & 1u) == 0);
    CHECK(id != h.raw);
    // The thread's own attach and GetCurrentThreadId report the id.
    auto state = s.k.attach_thread({p, 77}, HandleValue{id});
    REQUIRE(state.ok());
    CHECK(state.value().id == id);
    // Thread calls take the handle; the id is not one.
    CHECK(s.k.thread_exit_code({p, 1}, h).value() == ce::kStillActive);
    CHECK(error_of(s.k.thread_exit_code({p, 1}, HandleValue{id})) ==
          Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.close_handle(p, HandleValue{id})) == Win32Error::ERROR_INVALID_HANDLE);
    // GetThreadId / GetProcessIdOfThread / GetProcessId.
    CHECK(s.k.id_of_handle({p, 1}, h, ce::IdQuery::Thread).value() == id);
    const uint32_t pid = s.k.process_id(p);
    CHECK((pid & 1u) == 0);
    CHECK(s.k.id_of_handle({p, 1}, h, ce::IdQuery::ProcessOfThread).value() == pid);
    CHECK(s.k.id_of_handle({p, 1}, HandleValue{kSelf}, ce::IdQuery::Process).value() == pid);
    CHECK(s.k.id_of_handle({p, 77}, HandleValue{ce::kCurrentThreadHandle}, ce::IdQuery::Thread)
              .value() == id);
    CHECK(error_of(s.k.id_of_handle({p, 1}, h, ce::IdQuery::Process)) ==
          Win32Error::ERROR_INVALID_HANDLE);  // a thread handle is not a process handle
    CHECK(error_of(s.k.id_of_handle({p, 1}, HandleValue{0x00990003}, ce::IdQuery::Thread)) ==
          Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("ce6: OpenThread and OpenProcess give a new handle on the id, in the caller's table",
          "[unit][ce6][ids]") {
    Ce6Scene s;
    auto a = s.attach();
    auto b = s.attach();
    auto made = s.k.create_thread(a, 0, 0);
    REQUIRE(made.ok());
    auto opened = s.k.open_thread(b, made.value().id, false);
    REQUIRE(opened.ok());
    CHECK(is_ce6_value(opened.value().raw));
    CHECK(s.k.id_of_handle({b, 1}, opened.value(), ce::IdQuery::Thread).value() ==
          made.value().id);
    CHECK(error_of(s.k.open_thread(b, made.value().id, true)) ==
          Win32Error::ERROR_INVALID_PARAMETER);  // inheritance
    CHECK(error_of(s.k.open_thread(b, s.k.process_id(a), false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);  // a process id is not a thread's
    CHECK(error_of(s.k.open_thread(b, made.value().id | 1u, false)) ==
          Win32Error::ERROR_INVALID_PARAMETER);  // odd: never an id
    auto pa = s.k.open_process(b, s.k.process_id(a), false);
    REQUIRE(pa.ok());
    auto pa2 = s.k.open_process(b, s.k.process_id(a), false);
    REQUIRE(pa2.ok());
    CHECK(pa.value() != pa2.value());
    CHECK(s.k.id_of_handle({b, 1}, pa.value(), ce::IdQuery::Process).value() ==
          s.k.process_id(a));
}

TEST_CASE("ce5 has no OpenThread, GetThreadId, GetProcessId or GetProcessIdOfThread",
          "[unit][ce5][ids]") {
    Scene s(config_of(5));
    auto p = s.attach();
    auto made = s.k.create_thread(p, 0, 0);
    REQUIRE(made.ok());
    CHECK(error_of(s.k.open_thread(p, made.value().id, false)) ==
          Win32Error::ERROR_CALL_NOT_IMPLEMENTED);
    CHECK(error_of(s.k.id_of_handle({p, 1}, made.value().handle, ce::IdQuery::Thread)) ==
          Win32Error::ERROR_CALL_NOT_IMPLEMENTED);
}

TEST_CASE("ce6: DuplicateHandle copies any handle into any process's table",
          "[unit][ce6][duplicate]") {
    Ce6Scene s;
    auto a = s.attach();
    auto b = s.attach();
    HandleValue m = s.make(a, 4096);  // an unnamed mapping: CE 6's way to share one
    HandleValue to_b = s.process_handle_of(a, b);
    auto copy = s.dup(a, kSelf, m, to_b.raw);
    REQUIRE(copy.ok());
    // The value is b's: b can map it; a's own value still works.
    CHECK(s.k.map_view(b, copy.value(), ce::kFileMapWrite, 0, 0, 0).ok());
    CHECK(s.k.map_view(a, m, ce::kFileMapWrite, 0, 0, 0).ok());
    // Within the caller's own table: a new value; options 0 means DUPLICATE_SAME_ACCESS.
    auto same = s.dup(a, kSelf, m, kSelf, 0);
    REQUIRE(same.ok());
    CHECK(same.value() != m);
    // From another process's table into the caller's (the source named by a process handle).
    HandleValue e = s.event(b);
    HandleValue from_b = to_b;
    auto pulled = s.dup(a, from_b.raw, e, kSelf, kSameAccess | kCloseSource);
    REQUIRE(pulled.ok());
    CHECK(s.k.set_event(a, pulled.value(), ce::EventOp::Set).ok());
    CHECK(error_of(s.k.close_handle(b, e)) == Win32Error::ERROR_INVALID_HANDLE);  // closed
    // The pseudo-handles become real handles.
    auto me = s.dup(a, kSelf, HandleValue{ce::kCurrentThreadHandle}, kSelf);
    REQUIRE(me.ok());
    CHECK(is_ce6_value(me.value().raw));
    CHECK(s.k.thread_exit_code({a, 1}, me.value()).value() == ce::kStillActive);
}

TEST_CASE("ce6: DuplicateHandle's errors, and CLOSE_SOURCE closing the source on failure",
          "[unit][ce6][duplicate]") {
    Ce6Scene s;
    auto a = s.attach();
    HandleValue e = s.event(a);
    CHECK(outcome(s.dup(a, kSelf, e, kSelf, kSameAccess | 4)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(outcome(s.dup(a, kSelf, e, kSelf, kSameAccess, true)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(outcome(s.dup(a, 0x00990003, e, kSelf)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(outcome(s.dup(a, kSelf, HandleValue{0x00990003}, kSelf)) ==
          Win32Error::ERROR_INVALID_HANDLE);
    CHECK(outcome(s.dup(a, kSelf, e, 0x00990003)) == Win32Error::ERROR_INVALID_HANDLE);
    // None of these closed the source: CLOSE_SOURCE was not asked for.
    REQUIRE(s.k.set_event(a, e, ce::EventOp::Set).ok());
    CHECK(outcome(s.dup(a, kSelf, e, 0x00990003, kSameAccess | kCloseSource)) ==
          Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.set_event(a, e, ce::EventOp::Set)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("ce6: a full per-process table gives ERROR_NO_MORE_USER_HANDLES",
          "[unit][ce6][handle][quota]") {
    KernelConfig c = ce6();
    c.handle_quota = 8;
    Scene s(c);
    auto p = s.attach();
    size_t made = 0;
    Win32Error last = Win32Error::ERROR_SUCCESS;
    for (int i = 0; i < 20; ++i) {
        LastError le;
        auto r = s.k.create_event(p, true, false, nullptr, le);
        if (r.ok()) ++made;
        else last = r.error();
    }
    CHECK(made == 8);  // the entry behind the process's id is the kernel's, not charged
    CHECK(last == Win32Error::ERROR_NO_MORE_USER_HANDLES);
}

TEST_CASE("ce6: CreateFileForMapping is the caller's own handle, closed with its mapping",
          "[unit][ce6][mapping][files]") {
    KernelConfig c = ce6();
    FileScene s(c);
    auto a = s.attach();
    auto b = s.attach();
    s.write_host("data.bin", std::string(4096, 'x'));
    auto f = s.cffm(a, u"\\data.bin", ce::kGenericRead | ce::kGenericWrite);
    REQUIRE(f.ok());
    CHECK(is_ce6_value(f.value().raw));
    CHECK_FALSE(s.k.file_descriptor(a, f.value()).value().kernel_owned);
    CHECK(error_of(s.k.file_descriptor(b, f.value())) == Win32Error::ERROR_INVALID_HANDLE);
    auto m = s.map_file(a, f.value(), ce::kPageReadWrite);
    REQUIRE(m.ok());
    // Linked, not taken over: the file handle still works, and goes with the mapping handle.
    CHECK(s.k.file_descriptor(a, f.value()).ok());
    REQUIRE(s.k.close_handle(a, m.value()).ok());
    CHECK(error_of(s.k.file_descriptor(a, f.value())) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("ce6: CreateFileMapping takes any file handle and keeps the file itself",
          "[unit][ce6][mapping][files]") {
    KernelConfig c = ce6();
    FileScene s(c);
    auto p = s.attach();
    s.write_host("plain.bin", std::string(4096, 'y'));
    auto f = s.open(p, u"\\plain.bin", ce::kGenericRead | ce::kGenericWrite, 0);
    REQUIRE(f.ok());
    auto m = s.map_file(p, f.value(), ce::kPageReadWrite);
    REQUIRE(m.ok());  // CE 5 refuses a handle CreateFileForMapping did not make
    REQUIRE(s.k.close_handle(p, f.value()).ok());  // the caller may close it at once
    auto v = s.k.map_view(p, m.value(), ce::kFileMapWrite, 0, 0, 0);
    REQUIRE(v.ok());
    REQUIRE(s.k.unmap_view(p, v.value().address).ok());
    REQUIRE(s.k.close_handle(p, m.value()).ok());  // the file closes with the mapping
    // A failed CreateFileMapping closes a CreateFileForMapping handle at once.
    auto g = s.cffm(p, u"\\plain.bin", ce::kGenericRead, ce::kFileShareRead);
    REQUIRE(g.ok());
    CHECK(error_of(s.map_file(p, g.value(), 0x40 /* PAGE_EXECUTE_READWRITE */)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.close_handle(p, g.value())) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("ce6: a process that ends releases its whole table", "[unit][ce6][handle]") {
    Ce6Scene s;
    auto a = s.attach();
    auto b = s.attach();
    HandleValue named = s.event(a, &kName);
    (void)named;
    auto hb = s.k.open_sync(b, kernel::ObjectType::Event, kName);
    REQUIRE(hb.ok());
    for (int i = 0; i < 5; ++i) (void)s.event(a);
    s.k.detach_process(a);
    CHECK(s.k.handles().handles_of(a).empty());
    CHECK(s.k.open_sync(b, kernel::ObjectType::Event, kName).ok());  // b keeps the name
    REQUIRE(s.k.close_handle(b, hb.value()).ok());
}

TEST_CASE("ce6: UnmapViewOfFile of no view is ERROR_INVALID_PARAMETER; a reservation of 0 is the "
          "default stack",
          "[unit][ce6][mapping][threads]") {
    Ce6Scene s;
    auto p = s.attach();
    CHECK(error_of(s.k.unmap_view(p, kWindowBase)) == Win32Error::ERROR_INVALID_PARAMETER);
    HandleValue m = s.make(p, 4096);
    auto v = s.view(p, m);
    CHECK(error_of(s.k.unmap_view(p, v.address + 1)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.unmap_view(p, v.address).ok());
    CHECK(s.k.create_thread(p, ce::kStackSizeParamIsAReservation, 0).ok());
    CHECK(error_of(s.k.create_thread(p, ce::kStackSizeParamIsAReservation, 0x80000000u)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("ce6: threads are listed once in a snapshot, by id", "[unit][ce6][ids]") {
    Ce6Scene s;
    auto p = s.attach();
    auto made = s.k.create_thread(p, 0, 0);
    REQUIRE(made.ok());
    auto snap = s.k.snapshot();
    size_t found = 0;
    for (const auto& t : snap.threads) found += t.handle == made.value().id ? 1 : 0;
    CHECK(found == 1);
    CHECK(snap.header.personality == 6);
}

TEST_CASE("ce6: TerminateProcess of the caller succeeds; of an exiting one, ERROR_INVALID_HANDLE",
          "[unit][ce6][process]") {
    Ce6Scene s;
    std::vector<ProcessId> killed;
    s.k.set_killer([&](ProcessId id) {
        killed.push_back(id);
        return true;
    });
    auto a = s.attach();
    auto b = s.attach();
    const HandleValue hb = s.process_handle_of(a, b);
    auto r = s.k.terminate_process(a, hb, 77);
    REQUIRE(r.ok());
    CHECK(!r.value());  // not the caller
    REQUIRE(killed.size() == 1);
    CHECK(killed[0] == b);
    CHECK(outcome(s.k.terminate_process(a, hb, 78)) == Win32Error::ERROR_INVALID_HANDLE);
    // The caller, through the pseudo-handle and through a handle of its own: TRUE, and the code
    // is kept for its end (the shim ends it); no kill.
    auto self = s.k.terminate_process(a, HandleValue{kSelf}, 5);
    REQUIRE(self.ok());
    CHECK(self.value());
    auto c = s.attach();
    auto own = s.k.terminate_process(c, s.process_handle_of(c, c), 6);
    REQUIRE(own.ok());
    CHECK(own.value());
    CHECK(killed.size() == 1);
    const HandleValue hc = s.process_handle_of(a, c);
    s.k.detach_process(c);
    CHECK(s.k.process_exit_code(a, hc).value() == 6);
}

TEST_CASE("ce6: FlushViewOfFile only in the caller's views, to the view's end; unmap writes back",
          "[unit][ce6][mapping][files]") {
    KernelConfig c = ce6();
    FileScene s(c);
    auto a = s.attach();
    auto b = s.attach();
    s.write_host("flush.bin", std::string(3 * 4096, 'z'));
    auto f = s.open(a, u"\\flush.bin", ce::kGenericRead | ce::kGenericWrite, 0);
    REQUIRE(f.ok());
    auto m = s.map_file(a, f.value(), ce::kPageReadWrite);
    REQUIRE(m.ok());
    // A view of the middle page only.
    auto v = s.k.map_view(a, m.value(), ce::kFileMapWrite, 0, 4096, 4096);
    REQUIRE(v.ok());
    const uint64_t at = v.value().address;
    auto whole = s.k.flush_view(a, at, 0);  // to the end of the view, not of the mapping
    REQUIRE(whole.has_value());
    REQUIRE(whole->ok());
    CHECK(whole->value().base == at);
    CHECK(whole->value().length == 4096);
    auto part = s.k.flush_view(a, at + 100, 10);
    REQUIRE(part.has_value());
    REQUIRE(part->ok());
    CHECK(part->value().base == at + 100);
    CHECK(part->value().length == 10);
    // Past the view, before it (in the mapping, in no view), from another process: refused.
    auto past = s.k.flush_view(a, at + 4000, 200);
    REQUIRE(past.has_value());
    CHECK(error_of(*past) == Win32Error::ERROR_INVALID_PARAMETER);
    auto before = s.k.flush_view(a, at - 4096, 1);
    REQUIRE(before.has_value());
    CHECK(error_of(*before) == Win32Error::ERROR_INVALID_PARAMETER);
    auto other = s.k.flush_view(b, at, 1);
    REQUIRE(other.has_value());
    CHECK(error_of(*other) == Win32Error::ERROR_INVALID_PARAMETER);
    // The unmap names the view for the caller to write back.
    auto u = s.k.unmap_view(a, at);
    REQUIRE(u.ok());
    CHECK(u.value().flush_base == at);
    CHECK(u.value().flush_length == 4096);
    // RAM-backed: nothing to write, by flush or by unmap.
    Ce6Scene r;
    auto p = r.attach();
    HandleValue ram = r.make(p, 4096);
    auto rv = r.view(p, ram);
    auto ram_flush = r.k.flush_view(p, rv.address, 0);
    REQUIRE(ram_flush.has_value());
    REQUIRE(ram_flush->ok());
    CHECK(ram_flush->value().length == 0);
    auto ru = r.k.unmap_view(p, rv.address);
    REQUIRE(ru.ok());
    CHECK(ru.value().flush_length == 0);
}

TEST_CASE("ce6: CreateFileMapping checks the name first, then the handle, protection and size",
          "[unit][ce6][mapping]") {
    KernelConfig c = ce6();
    FileScene s(c);
    auto p = s.attach();
    const std::u16string name = u"ce6map";
    LastError le;
    auto first = s.create(p, 4096, &name, le);
    REQUIRE(first.ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    // A hit bypasses every other check, the file handle included: a new value, ALREADY_EXISTS.
    le = {};
    auto again = s.create(p, 0, &name, le, 0x40 /* PAGE_EXECUTE_READWRITE */, 7, 0x1234);
    REQUIRE(again.ok());
    CHECK(again.value() != first.value());
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    // The handle: a value that names nothing is CE 6's ERROR_OUTOFMEMORY; not a file, invalid.
    CHECK(error_of(s.create(p, 4096, nullptr, le, ce::kPageReadWrite, 0, 0x1234)) ==
          Win32Error::ERROR_OUTOFMEMORY);
    CHECK(error_of(s.create(p, 4096, nullptr, le, ce::kPageReadWrite, 0, first.value().raw)) ==
          Win32Error::ERROR_INVALID_HANDLE);
    // Protection, then the RAM-backed size and protection; the database flag only unnamed.
    CHECK(error_of(s.create(p, 4096, nullptr, le, 0x08 /* PAGE_WRITECOPY */)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.create(p, 4096, nullptr, le, ce::kPageReadOnly)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.create(p, 0, nullptr, le)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.create(p, 0x80000000u, nullptr, le)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.create(p, 4096, nullptr, le, ce::kPageReadWrite, 1)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    const std::u16string db = u"db";
    CHECK(error_of(s.create(p, 4096, &db, le, ce::kPageReadWrite | ce::kPageInternalDbMapping)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    le = LastError::keep();
    auto unnamed = s.create(p, 4096, nullptr, le, ce::kPageReadWrite | ce::kSecCommit);
    REQUIRE(unnamed.ok());
    CHECK(le.set);  // CE 6 sets the last error on success too
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("ce6: CreateFileMapping of a file: empty, read-only, growing, access test",
          "[unit][ce6][mapping][files]") {
    KernelConfig c = ce6();
    FileScene s(c);
    auto p = s.attach();
    s.write_host("empty.bin", "");
    s.write_host("four.bin", std::string(4096, 'q'));
    auto empty = s.open(p, u"\\empty.bin", ce::kGenericRead | ce::kGenericWrite, 0);
    REQUIRE(empty.ok());
    // Size 0 is the file's; an empty file has none (CE 6: ERROR_INVALID_PARAMETER).
    CHECK(error_of(s.map_file(p, empty.value(), ce::kPageReadWrite)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    // A larger read-only mapping would grow the file: refused; a read-write one grows it.
    CHECK(error_of(s.map_file(p, empty.value(), ce::kPageReadOnly, 4096)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    auto grown = s.map_file(p, empty.value(), ce::kPageReadWrite, 8192);
    REQUIRE(grown.ok());
    CHECK(s.read_host("empty.bin").size() == 8192);
    // A handle that cannot grow the file: ERROR_DISK_FULL; that cannot be read: the access test.
    const uint32_t share = ce::kFileShareRead | ce::kFileShareWrite;
    auto reader = s.open(p, u"\\four.bin", ce::kGenericRead, share);
    REQUIRE(reader.ok());
    CHECK(error_of(s.map_file(p, reader.value(), ce::kPageReadWrite, 8192)) ==
          Win32Error::ERROR_DISK_FULL);
    CHECK(error_of(s.map_file(p, reader.value(), ce::kPageReadWrite)) ==
          Win32Error::ERROR_ACCESS_DENIED);  // byte 0 cannot be written back
    CHECK(s.map_file(p, reader.value(), ce::kPageReadOnly).ok());
    auto writer = s.open(p, u"\\four.bin", ce::kGenericWrite, share);
    REQUIRE(writer.ok());
    CHECK(error_of(s.map_file(p, writer.value(), ce::kPageReadOnly)) ==
          Win32Error::ERROR_ACCESS_DENIED);  // byte 0 cannot be read
    // The READONLY attribute refuses a read-write mapping before any size is looked at.
    REQUIRE(s.k.set_attributes(u"\\four.bin", fsys::kAttrReadonly).ok());
    auto ro = s.open(p, u"\\four.bin", ce::kGenericRead, share);
    REQUIRE(ro.ok());
    CHECK(error_of(s.map_file(p, ro.value(), ce::kPageReadWrite)) ==
          Win32Error::ERROR_ACCESS_DENIED);
    CHECK(s.map_file(p, ro.value(), ce::kPageReadOnly).ok());
}

TEST_CASE("ce6: a file view has its own range from the 64 KiB-aligned offset, with its own "
          "protection; an identical view is the same one, with ERROR_ALREADY_EXISTS",
          "[unit][ce6][mapping][views]") {
    KernelConfig c = ce6();
    FileScene s(c);
    auto a = s.attach();
    auto b = s.attach();
    s.write_host("views.bin", std::string(0x30000, 'v'));
    auto f = s.open(a, u"\\views.bin", ce::kGenericRead | ce::kGenericWrite, 0);
    REQUIRE(f.ok());
    auto m = s.map_file(a, f.value(), ce::kPageReadWrite);
    REQUIRE(m.ok());
    auto b_handle = s.k.open_process(a, s.k.process_id(b), false);
    REQUIRE(b_handle.ok());
    auto in_b = s.k.duplicate_handle(ThreadRef{a, 1}, ce::kCurrentProcessHandle, m.value(),
                                     b_handle.value().raw, 0, false);
    REQUIRE(in_b.ok());

    // Offset 0x12345: the range maps the file from 0x10000, the pointer is 0x2345 into it, and
    // only the view's pages are mapped.
    auto v = s.k.map_view(a, m.value(), ce::kFileMapRead, 0, 0x12345, 0x100);
    REQUIRE(v.ok());
    CHECK(v.value().own_range);
    CHECK(v.value().file_offset == 0x10000);
    CHECK(v.value().address == v.value().map_base + 0x2345);
    CHECK(v.value().map_length == 0x3000);  // 0x2345 + 0x100 bytes, in whole pages
    CHECK_FALSE(v.value().writable);        // a read view of a read-write mapping
    CHECK(v.value().kernel_fd >= 0);        // the first view here brings the descriptor
    CHECK_FALSE(v.value().reused);
    // The same view again: the same pointer, one more use.
    auto again = s.k.map_view(a, m.value(), ce::kFileMapRead, 0, 0x12345, 0x100);
    REQUIRE(again.ok());
    CHECK(again.value().reused);
    CHECK(again.value().address == v.value().address);
    // Any difference (access, size, offset) is another view, at another address, and the
    // mapping's descriptor is not sent again.
    auto writable = s.k.map_view(a, m.value(), ce::kFileMapWrite, 0, 0x12345, 0x100);
    auto longer = s.k.map_view(a, m.value(), ce::kFileMapRead, 0, 0x12345, 0x101);
    auto whole = s.k.map_view(a, m.value(), ce::kFileMapAllAccess, 0, 0, 0);
    REQUIRE(writable.ok());
    REQUIRE(longer.ok());
    REQUIRE(whole.ok());
    CHECK(writable.value().writable);
    CHECK(whole.value().writable);
    CHECK(whole.value().map_length == 0x30000);
    CHECK(writable.value().kernel_fd == -1);
    std::set<uint64_t> addresses{v.value().address, writable.value().address,
                                 longer.value().address, whole.value().address};
    CHECK(addresses.size() == 4);
    // Another process gets its own view, at its own address, with the descriptor.
    auto other = s.k.map_view(b, in_b.value(), ce::kFileMapRead, 0, 0x12345, 0x100);
    REQUIRE(other.ok());
    CHECK_FALSE(other.value().reused);
    CHECK(other.value().address != v.value().address);
    CHECK(other.value().kernel_fd >= 0);

    // Two uses need two unmaps; the range goes with the last, and the descriptor with the
    // process's last view of the mapping.
    auto u1 = s.k.unmap_view(a, v.value().address);
    REQUIRE(u1.ok());
    CHECK(u1.value().release_length == 0);
    auto u2 = s.k.unmap_view(a, v.value().address);
    REQUIRE(u2.ok());
    CHECK(u2.value().release_base == v.value().map_base);
    CHECK(u2.value().release_length == 0x3000);
    CHECK(u2.value().forget_object == 0);
    CHECK(s.k.unmap_view(a, v.value().address).error() == Win32Error::ERROR_INVALID_PARAMETER);
    REQUIRE(s.k.unmap_view(a, writable.value().address).ok());
    REQUIRE(s.k.unmap_view(a, longer.value().address).ok());
    auto last = s.k.unmap_view(a, whole.value().address);
    REQUIRE(last.ok());
    CHECK(last.value().forget_object == whole.value().object_id);
    CHECK(last.value().flush_base == whole.value().address);  // a write view is written back
}

TEST_CASE("ce6: MapViewOfFile's access, offset and size rules, 64-bit offsets and the "
          "20000-view limit",
          "[unit][ce6][mapping][views]") {
    KernelConfig c = ce6();
    c.window_size = uint64_t{2} << 30;  // 20000 views of 64 KiB each
    FileScene s(c);
    auto p = s.attach();
    s.write_host("rules.bin", std::string(0x20000, 'r'));
    auto f = s.open(p, u"\\rules.bin", ce::kGenericRead | ce::kGenericWrite, 0);
    REQUIRE(f.ok());
    auto rw = s.map_file(p, f.value(), ce::kPageReadWrite);
    auto ro = s.map_file(p, f.value(), ce::kPageReadOnly);
    REQUIRE(rw.ok());
    REQUIRE(ro.ok());
    auto error = [&](HandleValue m, uint32_t access, uint32_t high, uint32_t low, uint64_t size) {
        auto r = s.k.map_view(p, m, access, high, low, size);
        return r.ok() ? Win32Error::ERROR_SUCCESS : r.error();
    };
    CHECK(error(rw.value(), ce::kFileMapCopy, 0, 0, 0) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error(ro.value(), ce::kFileMapWrite, 0, 0, 0) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error(rw.value(), ce::kFileMapRead, 0, 0x20000, 0) ==
          Win32Error::ERROR_INVALID_PARAMETER);  // offset = size: nothing to map
    CHECK(error(rw.value(), ce::kFileMapRead, 0, 0x1FFFF, 2) ==
          Win32Error::ERROR_INVALID_PARAMETER);  // past the end
    CHECK(error(rw.value(), ce::kFileMapRead, 1, 0, 0) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error(HandleValue{0x1234567}, ce::kFileMapRead, 0, 0, 0) ==
          Win32Error::ERROR_INVALID_HANDLE);
    auto zero = s.k.map_view(p, ro.value(), 0, 0, 0x1FFFF, 0);  // access 0: a read view
    REQUIRE(zero.ok());
    CHECK_FALSE(zero.value().writable);

    // A file longer than 4 GB (sparse): offsets above 4 GB, and size 0 from an offset that
    // leaves more than 4 GB is ERROR_OUTOFMEMORY.
    auto big = s.open(p, u"\\big.bin", ce::kGenericRead | ce::kGenericWrite, 0, ce::kCreateAlways);
    REQUIRE(big.ok());
    LastError le;
    auto bm = s.k.create_mapping(p, big.value(), ce::kPageReadWrite, 1, 0x10000, nullptr, le);
    REQUIRE(bm.ok());
    auto high = s.k.map_view(p, bm.value(), ce::kFileMapWrite, 1, 0x8000, 0x100);
    REQUIRE(high.ok());
    CHECK(high.value().file_offset == 0x100000000ULL);
    CHECK(high.value().address == high.value().map_base + 0x8000);
    CHECK(error(bm.value(), ce::kFileMapRead, 0, 0xFFFF, 0) == Win32Error::ERROR_OUTOFMEMORY);
    CHECK(error(bm.value(), ce::kFileMapRead, 1, 0x10000, 0) ==
          Win32Error::ERROR_INVALID_PARAMETER);

    // 20000 distinct views of one mapping (the one above counts), then ERROR_OUTOFMEMORY.
    for (uint32_t i = 1; i < 20000; ++i) {
        auto v = s.k.map_view(p, ro.value(), ce::kFileMapRead, 0, i, 1);
        if (!v.ok()) FAIL("view " << i << ": " << error_name(v.error()));
    }
    CHECK(error(ro.value(), ce::kFileMapRead, 0, 20000, 1) == Win32Error::ERROR_OUTOFMEMORY);
    CHECK(error(ro.value(), ce::kFileMapRead, 0, 5, 1) == Win32Error::ERROR_SUCCESS);  // reused
}

TEST_CASE("ce6: an ended process's and thread's ids open while a handle of them is open anywhere",
          "[unit][ce6][ids]") {
    Ce6Scene s;
    auto a = s.attach();
    auto c = s.attach();
    const uint32_t pid = s.k.process_id(c);
    const HandleValue hc = s.process_handle_of(a, c);
    auto made = s.k.create_thread(c, 0, 0);
    REQUIRE(made.ok());
    const uint32_t tid = made.value().id;
    auto ht = s.k.open_thread(a, tid, false);
    REQUIRE(ht.ok());
    REQUIRE(s.k.close_handle(c, made.value().handle).ok());
    s.k.detach_process(c);  // c and its thread end; a's handles keep both ids
    auto again = s.k.open_process(a, pid, false);
    REQUIRE(again.ok());
    CHECK(s.k.process_exit_code(a, again.value()).ok());
    auto tagain = s.k.open_thread(a, tid, false);
    REQUIRE(tagain.ok());
    // The last handles go, and the ids with them.
    REQUIRE(s.k.close_handle(a, hc).ok());
    auto third = s.k.open_process(a, pid, false);  // `again` still keeps the id
    REQUIRE(third.ok());
    REQUIRE(s.k.close_handle(a, third.value()).ok());
    REQUIRE(s.k.close_handle(a, again.value()).ok());
    CHECK(error_of(s.k.open_process(a, pid, false)) == Win32Error::ERROR_INVALID_PARAMETER);
    auto still = s.k.open_thread(a, tid, false);  // the thread's handles are open yet
    REQUIRE(still.ok());
    for (auto h : s.k.handles().handles_of(a)) REQUIRE(s.k.close_handle(a, h).ok());
    CHECK(error_of(s.k.open_process(a, pid, false)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.open_thread(a, tid, false)) == Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("ce6: a RAM-backed view opens its own pages; its unmap names the view that went",
          "[unit][ce6][mapping]") {
    Ce6Scene s;
    auto p = s.attach();
    auto m = s.make(p, 0x20000);
    auto rw = s.k.map_view(p, m, ce::kFileMapWrite, 0, 0x10000, 0x1000);
    REQUIRE(rw.ok());
    CHECK(rw.value().pages_own);
    CHECK(rw.value().view_writes);
    CHECK(rw.value().view_length == 0x1000);
    CHECK(rw.value().map_length == 0x20000);  // the mapping's range, mapped whole
    auto ro = s.k.map_view(p, m, ce::kFileMapRead, 0, 0x10000, 0);
    REQUIRE(ro.ok());
    CHECK(ro.value().address == rw.value().address);
    CHECK(ro.value().pages_own);
    CHECK_FALSE(ro.value().view_writes);
    CHECK(ro.value().view_length == 0x10000);  // size 0: to the end
    // The same read view again is one more use of it: its first unmap takes nothing away.
    auto again = s.k.map_view(p, m, ce::kFileMapRead, 0, 0x10000, 0);
    REQUIRE(again.ok());
    CHECK(again.value().reused);
    const uint64_t at = rw.value().address;
    auto first = s.k.unmap_view(p, at);  // the read-write view, made first
    REQUIRE(first.ok());
    CHECK(first.value().view_length == 0x1000);
    CHECK(first.value().view_writes);
    CHECK(first.value().release_length == 0);
    auto second = s.k.unmap_view(p, at);
    REQUIRE(second.ok());
    CHECK(second.value().view_length == 0);  // one use of the read view left
    auto last = s.k.unmap_view(p, at);
    REQUIRE(last.ok());
    CHECK(last.value().view_length == 0x10000);
    CHECK_FALSE(last.value().view_writes);
    CHECK(last.value().release_length == 0x20000);
}

TEST_CASE("ce6: of RAM views at one address, an unmap takes the oldest and an undo the newest",
          "[unit][ce6][mapping]") {
    Ce6Scene s;
    auto p = s.attach();
    auto m = s.make(p, 0x10000);
    auto rw = s.k.map_view(p, m, ce::kFileMapWrite, 0, 0, 0x1000);
    REQUIRE(rw.ok());
    auto ro = s.k.map_view(p, m, ce::kFileMapRead, 0, 0, 0x2000);
    REQUIRE(ro.ok());
    REQUIRE(ro.value().address == rw.value().address);
    auto reused = s.k.map_view(p, m, ce::kFileMapRead, 0, 0, 0x2000);
    REQUIRE(reused.ok());
    CHECK(reused.value().reused);
    CHECK(reused.value().view_length == 0x2000);  // the reply describes the view all the same
    CHECK(reused.value().pages_own);
    // The client could not open the read view's pages: its undo takes that view's last use and
    // then the view itself, never the read-write one made before it.
    s.k.undo_view(p, ro.value().address);
    s.k.undo_view(p, ro.value().address);
    auto last = s.k.unmap_view(p, rw.value().address);
    REQUIRE(last.ok());
    CHECK(last.value().view_writes);
    CHECK(last.value().view_length == 0x1000);
    CHECK(last.value().release_length == 0x10000);
}

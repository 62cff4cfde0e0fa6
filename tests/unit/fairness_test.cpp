// Issue 16, findings 3 and 6, through cek::kernel::Kernel with fake processes: a search holds a
// bounded state whatever its folder's size, each process's kernel memory (searches, stored
// snapshots) is capped with ERROR_NOT_ENOUGH_MEMORY, snapshots are bounded, and a large
// CopyFileW goes on in background chunks between other requests and leaves nothing behind when
// its process dies. Rows: docs/semantics/files.md §9, §11; docs/architecture.md (background work).
#include <dirent.h>
#include <poll.h>

#include <cstring>
#include <string>
#include <vector>

#include "fsys/path.h"
#include "kernel/dispatch/dispatch.h"
#include "kernel/objects/find_object.h"
#include "protocol/channel.h"
#include "protocol/messages.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using kernel::FindObject;
using kernel::WaitCompletion;

namespace {

template <class T>
Win32Error err(const Result<T>& r) {
    return r.ok() ? Win32Error::ERROR_SUCCESS : r.error();
}

std::string ascii(const std::u16string& s) { return fsys::to_utf8(s).value_or("<bad>"); }

// `count` empty files "f00000".."f<count-1>" in Temp/<dir>, made on the host.
void fill(FileScene& s, const std::string& dir, int count) {
    std::filesystem::create_directory(s.host("Temp/" + dir));
    for (int i = 0; i < count; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "f%05d", i);
        s.write_host("Temp/" + dir + "/" + name, "");
    }
}

// Host names in Temp that belong to the store itself (a copy's temporary).
std::vector<std::string> leftovers(FileScene& s) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(s.host("Temp"))) {
        const std::string n = e.path().filename().string();
        if (n.rfind(".cek~", 0) == 0) out.push_back(n);
    }
    return out;
}

const FindObject& search_object(Kernel& k, ProcessId p, HandleValue h) {
    const auto* entry = k.handles().find_for(h, p);
    REQUIRE(entry != nullptr);
    const auto* find = kernel::object_cast<FindObject>(entry->object.get());
    REQUIRE(find != nullptr);
    return *find;
}

constexpr uint32_t kGW = ce::kGenericWrite;
constexpr uint32_t kOpenExisting = 3;

// A process and its FindFirstFileW over a host-made folder of files in \\Temp.
struct SearchScene : FileScene {
    ProcessId a = attach();
    fsys::FindEntry first;
    // Searches \\Temp\\<dir>\\* after making `count` files there; must succeed.
    HandleValue start(const std::string& dir, int count) {
        fill(*this, dir, count);
        auto h = k.find_first(a, u"\\Temp\\" + std::u16string(dir.begin(), dir.end()) + u"\\*", first);
        REQUIRE(h.ok());
        return h.value();
    }
};

}  // namespace

TEST_CASE("A search over a 5,000-entry folder holds a few KiB, lists every entry once in order "
          "and ends with ERROR_NO_MORE_FILES",
          "[unit][file][fairness]") {
    SearchScene s;
    const HandleValue h = s.start("big", 5000);
    const ProcessId a = s.a;
    CHECK(ascii(s.first.name) == "f00000");
    // The old search held the whole listing: about 100 bytes per entry here, 500 KB.
    const size_t at_start = search_object(s.k, a, h).memory_bytes();
    CHECK(at_start <= FindObject::kMaxBytes);
    CHECK(at_start < 8 * 1024);
    CHECK(s.k.memory_budget().used(a) == FindObject::kMaxBytes);
    int listed = 1;
    size_t largest = at_start;
    for (;; ++listed) {
        auto next = s.k.find_next(a, h);
        if (!next.ok()) {
            CHECK(next.error() == Win32Error::ERROR_NO_MORE_FILES);
            break;
        }
        char want[16];
        std::snprintf(want, sizeof want, "f%05d", listed);
        if (ascii(next->name) != want) {
            FAIL_CHECK("entry " << listed << " is " << ascii(next->name));
            break;
        }
        largest = std::max(largest, search_object(s.k, a, h).memory_bytes());
    }
    CHECK(listed == 5000);
    CHECK(largest <= FindObject::kMaxBytes);
    CHECK(err(s.k.find_next(a, h)) == Win32Error::ERROR_NO_MORE_FILES);
    REQUIRE(s.k.find_close(a, h).ok());
    CHECK(s.k.memory_budget().used(a) == 0);
}

TEST_CASE("A search sees the folder as it advances: an entry added ahead of its position is "
          "listed, none twice",
          "[unit][file][fairness]") {
    SearchScene s;
    const HandleValue h = s.start("live", 20);
    const ProcessId a = s.a;
    LastError le;
    REQUIRE(s.open(a, u"\\Temp\\live\\zz", kGW, 0, 1 /* CREATE_NEW */, le).ok());
    std::vector<std::string> names{ascii(s.first.name)};
    for (auto next = s.k.find_next(a, h); next.ok(); next = s.k.find_next(a, h))
        names.push_back(ascii(next->name));
    CHECK(names.size() == 21);
    CHECK(names.back() == "zz");
    CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("Searches past the process's memory budget fail with ERROR_NOT_ENOUGH_MEMORY, for "
          "that process only, until it closes one or dies",
          "[unit][file][fairness]") {
    KernelConfig c = config();
    c.process_memory_limit = 3 * FindObject::kMaxBytes;
    FileScene s(c);
    auto a = s.attach();
    auto b = s.attach();
    s.write_host("Temp/x.txt", "x");
    s.write_host("Temp/y.txt", "y");
    fsys::FindEntry e;
    std::vector<HandleValue> open;
    for (int i = 0; i < 3; ++i) {
        auto h = s.k.find_first(a, u"\\Temp\\*", e);
        REQUIRE(h.ok());
        open.push_back(h.value());
    }
    const size_t handles = s.object_handles();
    CHECK(err(s.k.find_first(a, u"\\Temp\\*", e)) == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    CHECK(s.object_handles() == handles);  // nothing half-made stays behind
    CHECK(s.k.memory_budget().used(a) == 3 * FindObject::kMaxBytes);
    // Another process has a budget of its own; the open searches keep working.
    auto other = s.k.find_first(b, u"\\Temp\\*", e);
    REQUIRE(other.ok());
    CHECK(s.k.find_next(a, open[0]).ok());
    // Closing a search gives its bytes back.
    REQUIRE(s.k.find_close(a, open[0]).ok());
    CHECK(s.k.find_first(a, u"\\Temp\\*", e).ok());
    // So does dying.
    s.k.detach_process(a);
    CHECK(s.k.memory_budget().used(a) == 0);
    CHECK(s.k.memory_budget().used(b) == FindObject::kMaxBytes);
}

TEST_CASE("A stored snapshot is charged to its caller: past the budget ERROR_NOT_ENOUGH_MEMORY, "
          "replaced and freed on exit",
          "[unit][diagnostics][fairness]") {
    KernelConfig c = config();
    c.process_memory_limit = 64;  // less than any snapshot (an empty one takes 109 bytes)
    Scene tight(c);
    auto t = tight.k.attach_process(1, "cedump", true).value();
    CHECK(err(tight.k.freeze_snapshot(t)) == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    CHECK(tight.k.diagnostics().stored_snapshot(t) == nullptr);
    CHECK(tight.k.memory_budget().used(t) == 0);

    Scene s;
    auto d = s.k.attach_process(2, "cedump", true).value();
    CHECK(err(s.k.freeze_snapshot(ProcessId{999})) == Win32Error::ERROR_INVALID_HANDLE);
    auto first = s.k.freeze_snapshot(d);
    REQUIRE(first.ok());
    CHECK(s.k.memory_budget().used(d) == first.value());
    auto second = s.k.freeze_snapshot(d);  // replaces the first
    REQUIRE(second.ok());
    CHECK(s.k.memory_budget().used(d) == second.value());
    s.k.detach_process(d);
    CHECK(s.k.memory_budget().used(d) == 0);
}

TEST_CASE("A snapshot lists a bounded number of handles; processes still report all of theirs",
          "[unit][diagnostics][fairness]") {
    Scene s;
    auto a = s.attach();
    for (int i = 0; i < 50; ++i) {
        LastError le;
        REQUIRE(s.k.create_event(a, true, false, nullptr, le).ok());
    }
    auto snap = s.k.snapshot(Kernel::SnapshotDepth::full, 10);
    CHECK(snap.handles.size() == 10);
    CHECK(snap.objects.size() == 10);
    REQUIRE(snap.processes.size() == 1);
    CHECK(snap.processes[0].handle_count == 50);
    CHECK(s.k.snapshot().handles.size() == 51);  // and the process's own entry
    CHECK(Kernel::kSnapshotMaxHandles <= 4096);
}

namespace {

// A 3 MiB + 1 byte source with data in every chunk, and the scene's process.
struct CopyScene : FileScene {
    explicit CopyScene(bool copy_thread = false) : FileScene(with_copy_thread(copy_thread)) {
        std::string data(3 * Kernel::kCopyChunk + 1, '\0');
        for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
        write_host("Temp/src.bin", data);
        source = data;
        a = attach();
    }
    std::string source;
    ProcessId a;

    static KernelConfig with_copy_thread(bool on) {
        KernelConfig c = config();
        c.copy_thread = on;
        return c;
    }
    // Until the copy worker has finished something (its descriptor turns readable).
    bool worker_finished() {
        pollfd p{k.background_fd(), POLLIN, 0};
        return ::poll(&p, 1, 10'000) == 1 && k.has_background_work();
    }
};

}  // namespace

TEST_CASE("A CopyFileW of a few MiB goes on in background steps, other requests are served in "
          "between, and it completes with its tag",
          "[unit][file][fairness]") {
    CopyScene s;
    auto pending = s.k.copy_file(s.a, u"\\Temp\\src.bin", u"\\Temp\\dst.bin", true, 77);
    REQUIRE_FALSE(pending.has_value());
    REQUIRE(s.k.has_background_work());
    size_t steps = 0;
    while (s.k.has_background_work()) {
        steps += s.k.run_background(0);  // one step
        if (!s.k.has_background_work()) break;
        // Between steps the loop serves others, and the copy counts as an open of both names.
        CHECK(s.k.get_attributes(u"\\Temp\\src.bin").ok());
        CHECK(err(s.open(s.a, u"\\Temp\\dst.bin", kGW, 7, 2 /* CREATE_ALWAYS */)) ==
              Win32Error::ERROR_SHARING_VIOLATION);
        CHECK(err(s.k.delete_file(u"\\Temp\\src.bin")) == Win32Error::ERROR_SHARING_VIOLATION);
        CHECK(err(s.k.move_file(u"\\Temp\\src.bin", u"\\Temp\\moved")) ==
              Win32Error::ERROR_SHARING_VIOLATION);
        CHECK(err(s.open(s.a, u"\\Temp\\src.bin", kGW, 7, kOpenExisting)) ==
              Win32Error::ERROR_SHARING_VIOLATION);
        auto again = s.k.copy_file(s.a, u"\\Temp\\src.bin", u"\\Temp\\dst.bin", false, 78);
        REQUIRE(again.has_value());
        CHECK(err(*again) == Win32Error::ERROR_SHARING_VIOLATION);
    }
    CHECK(steps >= 3);
    auto done = s.k.take_completions();
    REQUIRE(done.size() == 1);
    CHECK(done[0].process == s.a);
    CHECK(done[0].tag == 77);
    CHECK(done[0].code == proto::RequestCode::MovePath);
    CHECK_FALSE(done[0].failed);
    CHECK(s.read_host("Temp/dst.bin") == s.source);
    CHECK(leftovers(s).empty());
    // Its names are free again.
    CHECK(s.k.delete_file(u"\\Temp\\src.bin").ok());
}

TEST_CASE("A copy that fits in one chunk completes in the call, and copy errors come at once",
          "[unit][file][fairness]") {
    CopyScene s;
    s.write_host("Temp/small", "small");
    auto now = s.k.copy_file(s.a, u"\\Temp\\small", u"\\Temp\\small2", true, 1);
    REQUIRE(now.has_value());
    CHECK(now->ok());
    CHECK(s.read_host("Temp/small2") == "small");
    auto exists = s.k.copy_file(s.a, u"\\Temp\\src.bin", u"\\Temp\\small", true, 2);
    REQUIRE(exists.has_value());
    CHECK(err(*exists) == Win32Error::ERROR_FILE_EXISTS);
    auto missing = s.k.copy_file(s.a, u"\\Temp\\none", u"\\Temp\\x", true, 3);
    REQUIRE(missing.has_value());
    CHECK(err(*missing) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK_FALSE(s.k.has_background_work());
    CHECK(leftovers(s).empty());
}

TEST_CASE("A process that dies mid-copy leaves no copy, temporary, target or open behind",
          "[unit][file][fairness]") {
    CopyScene s;
    REQUIRE_FALSE(s.k.copy_file(s.a, u"\\Temp\\src.bin", u"\\Temp\\dst.bin", false, 5));
    REQUIRE(s.k.run_background(0) == 1);
    REQUIRE(s.k.has_background_work());
    REQUIRE(leftovers(s).size() == 1);  // the temporary, half written
    s.k.detach_process(s.a);
    CHECK_FALSE(s.k.has_background_work());
    CHECK(s.k.take_completions().empty());
    CHECK(leftovers(s).empty());
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/dst.bin")));
    // Neither name is held open any more.
    auto b = s.attach();
    CHECK(s.open(b, u"\\Temp\\dst.bin", kGW, 0, 1 /* CREATE_NEW */).ok());
    CHECK(s.k.delete_file(u"\\Temp\\src.bin").ok());
}

TEST_CASE("A copy whose caller died, its hang-up not yet read, ends without a target",
          "[unit][file][fairness]") {
    CopyScene s;
    REQUIRE_FALSE(s.k.copy_file(s.a, u"\\Temp\\src.bin", u"\\Temp\\dst.bin", false, 5));
    REQUIRE(s.k.run_background(0) == 1);
    // The last steps run while only the liveness probe knows the caller is gone.
    s.k.set_liveness_probe([&](ProcessId id) { return id != s.a; });
    while (s.k.has_background_work()) s.k.run_background(UINT64_MAX);
    s.k.set_liveness_probe(nullptr);
    CHECK(s.k.take_completions().empty());
    CHECK(leftovers(s).empty());
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/dst.bin")));
    s.k.detach_process(s.a);
    auto b = s.attach();
    CHECK(s.open(b, u"\\Temp\\dst.bin", kGW, 0, 1 /* CREATE_NEW */).ok());
}

TEST_CASE("A CopyFileW request left pending is answered by encode_completion with the MovePath "
          "reply, or its error",
          "[unit][dispatch][fairness]") {
    CopyScene s;
    const std::u16string from = u"\\Temp\\src.bin";
    const std::u16string to = u"\\Temp\\dst.bin";
    proto::MovePathRequest req{};
    req.from_chars = static_cast<uint32_t>(from.size());
    req.to_chars = static_cast<uint32_t>(to.size());
    req.copy = 1;
    req.fail_if_exists = 1;
    proto::RequestHeader h{};
    h.code = static_cast<uint32_t>(proto::RequestCode::MovePath);
    h.size = static_cast<uint32_t>(sizeof h + sizeof req + (from.size() + to.size()) * 2);
    std::vector<std::byte> in(h.size);
    std::memcpy(in.data(), &h, sizeof h);
    std::memcpy(in.data() + sizeof h, &req, sizeof req);
    std::memcpy(in.data() + sizeof h + sizeof req, from.data(), from.size() * 2);
    std::memcpy(in.data() + sizeof h + sizeof req + from.size() * 2, to.data(), to.size() * 2);
    std::vector<std::byte> out(proto::kReplyBytes);
    REQUIRE(kernel::decode_and_dispatch(s.k, s.a, in, out, 0x1234) == 0);  // pending
    while (s.k.has_background_work()) s.k.run_background(UINT64_MAX);
    auto done = s.k.take_completions();
    REQUIRE(done.size() == 1);
    CHECK(done[0].tag == 0x1234);
    const size_t n = kernel::encode_completion(done[0], out);
    proto::ReplyHeader rh{};
    std::memcpy(&rh, out.data(), sizeof rh);
    CHECK(n == sizeof rh + sizeof(proto::MovePathReply));
    CHECK(rh.size == n);
    CHECK(rh.failed == 0);
    // A failed background call: its error, and the last error set.
    WaitCompletion failed{s.a, 1, 0};
    failed.code = proto::RequestCode::MovePath;
    failed.failed = true;
    failed.error = Win32Error::ERROR_DISK_FULL;
    REQUIRE(kernel::encode_completion(failed, out) == sizeof rh);
    std::memcpy(&rh, out.data(), sizeof rh);
    CHECK(rh.failed == 1);
    CHECK(rh.set_error == 1);
    CHECK(rh.error == to_u32(Win32Error::ERROR_DISK_FULL));
}

TEST_CASE("With the copy thread a large CopyFileW's data moves on the worker, and the kernel "
          "thread renames it over the old target and answers",
          "[unit][file][fairness]") {
    CopyScene s(true);
    REQUIRE(s.k.background_fd() >= 0);
    s.write_host("Temp/dst.bin", "the old target");
    auto pending = s.k.copy_file(s.a, u"\\Temp\\src.bin", u"\\Temp\\dst.bin", false, 91);
    REQUIRE_FALSE(pending.has_value());
    CHECK(s.k.background_copies() == 1);
    // The kernel thread is free meanwhile, and the copy holds both names.
    CHECK(err(s.k.delete_file(u"\\Temp\\src.bin")) == Win32Error::ERROR_SHARING_VIOLATION);
    CHECK(err(s.open(s.a, u"\\Temp\\dst.bin", kGW, 7, kOpenExisting)) ==
          Win32Error::ERROR_SHARING_VIOLATION);
    REQUIRE(s.worker_finished());
    CHECK(s.k.run_background(0) == 1);
    CHECK(s.k.background_copies() == 0);
    CHECK_FALSE(s.k.has_background_work());
    auto done = s.k.take_completions();
    REQUIRE(done.size() == 1);
    CHECK(done[0].tag == 91);
    CHECK_FALSE(done[0].failed);
    CHECK(s.read_host("Temp/dst.bin") == s.source);
    CHECK(leftovers(s).empty());
    CHECK(s.k.delete_file(u"\\Temp\\src.bin").ok());
}

TEST_CASE("With the copy thread a process that dies mid-copy leaves nothing behind at once, "
          "and the worker's job is dropped when it comes back",
          "[unit][file][fairness]") {
    CopyScene s(true);
    REQUIRE_FALSE(s.k.copy_file(s.a, u"\\Temp\\src.bin", u"\\Temp\\dst.bin", false, 6));
    s.k.detach_process(s.a);
    // Whether the worker is writing, waiting for its turn or done: nothing is left in the store.
    CHECK(leftovers(s).empty());
    CHECK_FALSE(std::filesystem::exists(s.host("Temp/dst.bin")));
    auto b = s.attach();
    CHECK(s.k.delete_file(u"\\Temp\\src.bin").ok());
    CHECK(s.open(b, u"\\Temp\\dst.bin", kGW, 0, 1 /* CREATE_NEW */).ok());
    REQUIRE(s.worker_finished());
    CHECK(s.k.run_background(0) == 1);
    CHECK(s.k.background_copies() == 0);
    CHECK(s.k.take_completions().empty());
    CHECK(leftovers(s).empty());
}

// The registry through cek::kernel::Kernel with fake processes: handles, roots, the codes of
// ce-kernel-objects.md §6.4 at the kernel's edge, processes sharing one tree, key handles closed
// with their process, hives flushed and loaded, defaults imported on first boot only.
#include <cstring>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
namespace reg = cek::fsys::registry;

namespace {

constexpr uint32_t kPath = proto::kStageRegistryPath;  // StageText for a subkey path

constexpr uint32_t HKLM = reg::kLocalMachine;
constexpr uint32_t HKCU = reg::kCurrentUser;

template <class T>
Win32Error code(const Result<T>& r) {
    return r.ok() ? Win32Error::ERROR_SUCCESS : r.error();
}

std::vector<std::byte> dword(uint32_t v) {
    std::vector<std::byte> out(4);
    std::memcpy(out.data(), &v, 4);
    return out;
}

KernelConfig with_hives(const std::filesystem::path& dir, const std::string& defaults = "",
                        bool flush_on_close = false) {
    KernelConfig c = config();
    c.registry_dir = dir.string();
    c.registry_defaults = defaults;
    c.registry_flush_on_close = flush_on_close;
    return c;
}

struct RegScene : Scene {
    explicit RegScene(KernelConfig c = config()) : Scene(c) {
        std::string why;
        REQUIRE(k.open_registry(why));
    }
    uint32_t create(ProcessId p, uint32_t base, const std::u16string& path, uint32_t options = 0) {
        auto r = k.reg_create_key(p, base, path, u"", options);
        REQUIRE(r.ok());
        return r.value().hkey;
    }
};

}  // namespace

TEST_CASE("Registry kernel: roots, handles and dispositions across processes", "[registry]") {
    RegScene s;
    ProcessId a = s.attach(), b = s.attach();
    auto first = s.k.reg_create_key(a, HKLM, u"Software\\Shared", u"", 0);
    auto second = s.k.reg_create_key(b, HKLM, u"software\\SHARED", u"", 0);
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    CHECK(first.value().created);
    CHECK_FALSE(second.value().created);
    if (s.ce5()) CHECK(first.value().hkey != second.value().hkey);  // a handle each
    // A change by one process is visible to the other at once.
    REQUIRE(s.k.reg_set_value(a, first.value().hkey, u"n", 4, dword(7)).ok());
    auto v = s.k.reg_query_value(b, second.value().hkey, u"N");
    REQUIRE(v.ok());
    CHECK(v.value()->data == dword(7));
    // Another process's key handle is not the caller's (in CE 6 a's second value, which b's
    // own table has not handed out).
    uint32_t only_a = s.create(a, HKLM, u"Software\\OnlyA");
    CHECK(code(s.k.reg_query_value(b, only_a, u"n")) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("Registry kernel: invalid, closed and foreign handles", "[registry]") {
    RegScene s;
    ProcessId a = s.attach();
    for (uint32_t bad : {0u, 0xFFFFFFFFu, 0x80000004u, 0x80000005u}) {
        CHECK(code(s.k.reg_open_key(a, bad, u"x")) == Win32Error::ERROR_INVALID_HANDLE);
        CHECK(code(s.k.reg_create_key(a, bad, u"x", u"", 0)) == Win32Error::ERROR_INVALID_HANDLE);
        CHECK(code(s.k.reg_close_key(a, bad)) == Win32Error::ERROR_INVALID_HANDLE);
        CHECK(code(s.k.reg_flush_key(a, bad)) == Win32Error::ERROR_INVALID_HANDLE);
    }
    uint32_t h = s.create(a, HKCU, u"K");
    CHECK(code(s.k.reg_close_key(a, h)) == Win32Error::ERROR_SUCCESS);
    CHECK(code(s.k.reg_close_key(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(code(s.k.reg_query_value(a, h, u"")) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(code(s.k.reg_close_key(a, HKCU)) == Win32Error::ERROR_SUCCESS);  // roots stay
    // A non-registry handle is no key.
    LastError le;
    auto ev = s.k.create_event(a, true, false, nullptr, le);
    REQUIRE(ev.ok());
    CHECK(code(s.k.reg_open_key(a, ev.value().raw, u"")) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(code(s.k.reg_close_key(a, ev.value().raw)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("Registry kernel: open gives a new handle; RegOpenKeyEx of a missing key", "[registry]") {
    RegScene s;
    ProcessId a = s.attach();
    uint32_t h = s.create(a, HKLM, u"A\\B");
    auto again = s.k.reg_open_key(a, h, u"");
    REQUIRE(again.ok());
    CHECK(again.value() != h);
    CHECK(code(s.k.reg_open_key(a, HKLM, u"A\\Missing")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(code(s.k.reg_open_key(a, HKLM, u"a\\b")) == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("Registry kernel: deleting a subtree under open handles", "[registry]") {
    RegScene s;
    ProcessId a = s.attach();
    uint32_t parent = s.create(a, HKLM, u"P");
    uint32_t child = s.create(a, parent, u"C\\D");
    CHECK(code(s.k.reg_delete_key(a, parent, u"")) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(code(s.k.reg_delete_key(a, HKLM, u"P\\Nothing")) == Win32Error::ERROR_FILE_NOT_FOUND);
    CHECK(code(s.k.reg_delete_key(a, parent, u"C")) == Win32Error::ERROR_SUCCESS);
    CHECK(code(s.k.reg_set_value(a, child, u"x", 4, dword(1))) == Win32Error::ERROR_KEY_DELETED);
    CHECK(code(s.k.reg_close_key(a, child)) == Win32Error::ERROR_SUCCESS);
    CHECK(code(s.k.reg_enum_key(a, parent, 0)) == Win32Error::ERROR_NO_MORE_ITEMS);
}

TEST_CASE("Registry kernel: a process's death closes its key handles", "[registry]") {
    RegScene s;
    ProcessId a = s.attach();
    const size_t before = s.object_handles();
    for (int i = 0; i < 50; ++i) s.create(a, HKLM, u"Leak\\K" + std::u16string(1, u'a' + i % 26));
    CHECK(s.object_handles() == before + 50);
    s.k.detach_process(a);
    CHECK(s.object_handles() == before);
    // The keys themselves stay: the tree is the system's.
    ProcessId b = s.attach();
    CHECK(code(s.k.reg_open_key(b, HKLM, u"Leak\\Ka")) == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("Registry kernel: large values in parts, staged per thread", "[registry]") {
    RegScene s;
    ProcessId a = s.attach();
    uint32_t h = s.create(a, HKLM, u"Big");
    kernel::ThreadRef t{a, 11};
    std::vector<std::byte> data(4096);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7);
    auto p1 = s.k.reg_set_value_part(t, h, u"v", 3, 4096, 0, std::span(data).first(3000));
    REQUIRE(p1.ok());
    CHECK(p1.value() == 3000);
    CHECK(code(s.k.reg_query_value(a, h, u"v")) == Win32Error::ERROR_FILE_NOT_FOUND);
    auto p2 = s.k.reg_set_value_part(t, h, u"v", 3, 4096, 3000, std::span(data).subspan(3000));
    REQUIRE(p2.ok());
    CHECK(p2.value() == 4096);
    CHECK(s.k.reg_query_value(a, h, u"v").value()->data == data);
    CHECK(code(s.k.reg_set_value_part(t, h, u"v", 3, 5120, 0, {})) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(code(s.k.reg_set_value_part(t, h, u"v", 3, 4096, 100, std::span(data).first(10))) ==
          Win32Error::ERROR_INVALID_PARAMETER);  // out of order
}

TEST_CASE("Registry kernel: long subkey paths staged in parts, per thread", "[registry]") {
    RegScene s;
    ProcessId a = s.attach();
    kernel::ThreadRef t{a, 11}, other{a, 12};
    // 15 names of 255 below the root: the deepest and longest path CE allows (3,839 units).
    std::u16string deep;
    for (int i = 0; i < 15; ++i) {
        if (i != 0) deep += u'\\';
        deep += std::u16string(254, static_cast<char16_t>(u'a' + i)) + u'x';
    }
    REQUIRE(deep.size() == 3839);
    const auto half = static_cast<uint32_t>(deep.size() / 2);
    const auto total = static_cast<uint32_t>(deep.size());
    const std::u16string_view whole(deep);
    CHECK(s.k.stage_text(t, kPath, total, 0, whole.substr(0, half)).value() == half);
    // Another thread's staging is its own.
    CHECK(code(s.k.take_staged_text(other, kPath)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.stage_text(t, kPath, total, half, whole.substr(half)).value() == total);
    auto path = s.k.take_staged_text(t, kPath);
    REQUIRE(path.ok());
    CHECK(path.value() == deep);
    // Taken once.
    CHECK(code(s.k.take_staged_text(t, kPath)) == Win32Error::ERROR_INVALID_PARAMETER);
    auto created = s.k.reg_create_key(a, HKLM, path.value(), u"", 0);
    REQUIRE(created.ok());
    CHECK(created.value().created);
    CHECK(code(s.k.reg_open_key(a, HKLM, deep)) == Win32Error::ERROR_SUCCESS);

    // Refused: a total past the longest key path, a part out of order or past the total (the
    // staging goes), and a path taken before it is whole.
    CHECK(code(s.k.stage_text(t, kPath, reg::kMaxPathChars + 1, 0, u"a")) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.stage_text(t, kPath, 10, 0, u"abcd").value() == 4);
    CHECK(code(s.k.stage_text(t, kPath, 10, 5, u"e")) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(code(s.k.take_staged_text(t, kPath)) == Win32Error::ERROR_INVALID_PARAMETER);  // dropped
    CHECK(s.k.stage_text(t, kPath, 10, 0, u"abcd").value() == 4);
    CHECK(code(s.k.stage_text(t, kPath, 10, 4, u"efghijk")) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.stage_text(t, kPath, 10, 0, u"abcd").value() == 4);
    CHECK(code(s.k.stage_text(t, kPath, 12, 4, u"ef")) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.stage_text(t, kPath, 10, 0, u"abcd").value() == 4);
    // Not whole.
    CHECK(code(s.k.take_staged_text(t, kPath)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(code(s.k.take_staged_text(t, kPath)) == Win32Error::ERROR_INVALID_PARAMETER);  // and gone
    // A process that is not attached.
    CHECK(code(s.k.stage_text(kernel::ThreadRef{ProcessId{999}, 1}, kPath, 4, 0, u"abcd")) ==
          Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("Registry kernel: a staged path is charged to its process's memory budget",
          "[registry]") {
    KernelConfig c = config();
    c.process_memory_limit = 4096;
    RegScene s(c);
    ProcessId a = s.attach();
    kernel::ThreadRef t1{a, 1}, t2{a, 2};
    CHECK(s.k.stage_text(t1, kPath, 1500, 0, u"a").value() == 1);  // 3,000 bytes held
    CHECK(code(s.k.stage_text(t2, kPath, 1500, 0, u"b")) == Win32Error::ERROR_OUTOFMEMORY);
    CHECK(code(s.k.take_staged_text(t1, kPath)) == Win32Error::ERROR_INVALID_PARAMETER);  // not whole: gone
    CHECK(s.k.stage_text(t2, kPath, 1500, 0, u"b").value() == 1);  // the charge went with it
    CHECK(s.k.memory_budget().used(a) == 3000);
    s.k.detach_process(a);  // the staging goes with its process, and so does its charge
    CHECK(s.k.memory_budget().used(a) == 0);
}

TEST_CASE("Registry kernel: RAM mode has no flush; hive mode keeps what was flushed", "[registry]") {
    {
        RegScene s;
        ProcessId a = s.attach();
        CHECK(code(s.k.reg_flush_key(a, HKLM)) == Win32Error::ERROR_NOT_SUPPORTED);
    }
    TempDir dir;
    {
        RegScene s(with_hives(dir.path()));
        ProcessId a = s.attach();
        uint32_t sys = s.create(a, HKLM, u"Persist");
        uint32_t usr = s.create(a, HKCU, u"Persist");
        uint32_t vol = s.create(a, HKLM, u"Volatile", ce::kRegOptionVolatile);
        REQUIRE(s.k.reg_set_value(a, sys, u"sys", 4, dword(1)).ok());
        REQUIRE(s.k.reg_set_value(a, usr, u"usr", 4, dword(2)).ok());
        REQUIRE(s.k.reg_set_value(a, vol, u"vol", 4, dword(3)).ok());
        CHECK(code(s.k.reg_flush_key(a, sys)) == Win32Error::ERROR_SUCCESS);  // the system hive only
        REQUIRE(s.k.reg_set_value(a, sys, u"after", 4, dword(4)).ok());
        // No save_registry: as if the kernel died here.
    }
    CHECK(std::filesystem::exists(dir.path() / "system.hv"));
    CHECK(std::filesystem::exists(dir.path() / "default" / "user.hv"));
    {
        RegScene s(with_hives(dir.path()));
        ProcessId a = s.attach();
        auto sys = s.k.reg_open_key(a, HKLM, u"Persist");
        REQUIRE(sys.ok());
        CHECK(s.k.reg_query_value(a, sys.value(), u"sys").ok());
        CHECK(code(s.k.reg_query_value(a, sys.value(), u"after")) == Win32Error::ERROR_FILE_NOT_FOUND);
        // The user hive was not flushed after its key was made (first boot wrote it empty).
        CHECK(code(s.k.reg_open_key(a, HKCU, u"Persist")) == Win32Error::ERROR_FILE_NOT_FOUND);
        CHECK(code(s.k.reg_open_key(a, HKLM, u"Volatile")) == Win32Error::ERROR_FILE_NOT_FOUND);
        REQUIRE(s.k.reg_set_value(a, sys.value(), u"clean", 4, dword(5)).ok());
        REQUIRE(s.k.save_registry().ok());  // a clean stop
    }
    RegScene s(with_hives(dir.path()));
    ProcessId a = s.attach();
    auto sys = s.k.reg_open_key(a, HKLM, u"Persist");
    REQUIRE(sys.ok());
    CHECK(s.k.reg_query_value(a, sys.value(), u"clean").ok());
}

TEST_CASE("Registry kernel: flush on close, from the option or RegistryFlags", "[registry]") {
    TempDir dir;
    {
        RegScene s(with_hives(dir.path(), "", true));
        ProcessId a = s.attach();
        uint32_t h = s.create(a, HKCU, u"OnClose");
        REQUIRE(s.k.reg_set_value(a, h, u"v", 4, dword(9)).ok());
        CHECK(code(s.k.reg_close_key(a, h)) == Win32Error::ERROR_SUCCESS);
        uint32_t boot = s.create(a, HKLM, u"init\\BootVars");
        REQUIRE(s.k.reg_set_value(a, boot, u"RegistryFlags", 4, dword(1)).ok());
        CHECK(code(s.k.reg_close_key(a, boot)) == Win32Error::ERROR_SUCCESS);
    }
    {
        RegScene s(with_hives(dir.path()));  // the option is off; RegistryFlags asks for it
        ProcessId a = s.attach();
        auto h = s.k.reg_open_key(a, HKCU, u"OnClose");
        REQUIRE(h.ok());
        CHECK(s.k.reg_query_value(a, h.value(), u"v").ok());
        REQUIRE(s.k.reg_set_value(a, h.value(), u"w", 4, dword(1)).ok());
        CHECK(code(s.k.reg_close_key(a, h.value())) == Win32Error::ERROR_SUCCESS);
    }
    RegScene s(with_hives(dir.path()));
    ProcessId a = s.attach();
    auto h = s.k.reg_open_key(a, HKCU, u"OnClose");
    REQUIRE(h.ok());
    CHECK(s.k.reg_query_value(a, h.value(), u"w").ok());
}

TEST_CASE("Registry kernel: defaults are imported on first boot only; a bad file stops the boot",
          "[registry]") {
    TempDir dir;
    const auto defaults = dir.path() / "defaults.reg";
    std::ofstream(defaults) << "[HKEY_LOCAL_MACHINE\\Default]\n\"v\"=dword:2a\n";
    {
        RegScene s(with_hives(dir.path() / "hives", defaults.string()));
        ProcessId a = s.attach();
        auto h = s.k.reg_open_key(a, HKLM, u"Default");
        REQUIRE(h.ok());
        CHECK(s.k.reg_query_value(a, h.value(), u"v").value()->data == dword(42));
        REQUIRE(s.k.reg_delete_key(a, HKLM, u"Default").ok());
        REQUIRE(s.k.reg_flush_key(a, HKLM).ok());
    }
    {
        RegScene s(with_hives(dir.path() / "hives", defaults.string()));  // not imported again
        ProcessId a = s.attach();
        CHECK(code(s.k.reg_open_key(a, HKLM, u"Default")) == Win32Error::ERROR_FILE_NOT_FOUND);
    }
    std::ofstream(dir.path() / "bad.reg") << "[HKLM\\A]\n\"v\"=dword:zz\n";
    kernel::Kernel k(with_hives(dir.path() / "fresh", (dir.path() / "bad.reg").string()));
    std::string why;
    CHECK_FALSE(k.open_registry(why));
    CHECK(why.find(":2:") != std::string::npos);
}

// CreateFileMapping / MapViewOfFile / UnmapViewOfFile / FlushViewOfFile / CloseHandle with the
// CE 5 personality, through cek::kernel::Kernel with fake processes (docs/semantics/mappings.md, handles.md).
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <tuple>
#include <vector>

#include "protocol/snapshot.h"
#include "protocol/wire.h"
#include "unit_support.h"

using namespace cek;
using namespace cek::unit;
using cek::kernel::MapViewResult;

namespace {

constexpr uint32_t kRW = ce::kPageReadWrite;
constexpr uint32_t kRO = ce::kPageReadOnly;

// A distinctive last error that no call here sets, to see whether a call touched it.
LastError untouched() { return LastError::to(Win32Error::ERROR_FILE_NOT_FOUND); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// CreateFileMapping (docs/semantics/mappings.md §2.1)

TEST_CASE("A named CreateFileMapping sets the last error to 0", "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    std::u16string name = u"Shared";
    LastError le = untouched();
    auto r = s.create(a, 4096, &name, le);
    REQUIRE(r.ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("An unnamed CreateFileMapping leaves the last error alone", "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    LastError le = untouched();
    auto r = s.create(a, 4096, nullptr, le);
    REQUIRE(r.ok());
    CHECK_FALSE(le.set);
}

TEST_CASE("Two unnamed mappings are different objects with different handles",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    auto h1 = s.make(a, 4096);
    auto h2 = s.make(a, 4096);
    CHECK(h1 != h2);
    auto v1 = s.view(a, h1);
    auto v2 = s.view(a, h2);
    CHECK(v1.object_id != v2.object_id);
    CHECK(v1.address != v2.address);
}

TEST_CASE("The same name again returns the same handle value with ERROR_ALREADY_EXISTS",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Qt_shared_memory";
    auto h = s.make(a, 65536, &name);

    LastError le = untouched();
    std::u16string same = name;  // a different string object with the same characters
    SECTION("with the same parameters, from the same process") {
        auto r = s.create(a, 65536, &same, le);
        REQUIRE(r.ok());
        CHECK(r.value() == h);
        CHECK(s.k.handles().references_of(h, a) == 2);
    }
    SECTION("with size 0 (the open-by-create idiom), from another process") {
        auto r = s.create(b, 0, &same, le);
        REQUIRE(r.ok());
        CHECK(r.value() == h);
        CHECK(s.k.handles().references_of(h, b) == 1);
        CHECK(s.k.handles().references_of(h, a) == 1);
    }
    SECTION("with PAGE_READONLY, which a new RAM mapping would reject") {
        auto r = s.create(b, 65536, &same, le, kRO);
        REQUIRE(r.ok());
        CHECK(r.value() == h);
    }
    SECTION("with PAGE_EXECUTE_READWRITE and a non-zero high size") {
        auto r = s.create(b, 1, &same, le, kPageExecuteReadWrite, 1);
        REQUIRE(r.ok());
        CHECK(r.value() == h);
    }
    SECTION("with a different size: the existing size wins") {
        auto r = s.create(b, 4096, &same, le);
        REQUIRE(r.ok());
        CHECK(r.value() == h);
        auto v = s.view(b, h);
        auto whole = s.k.map_view(b, h, ce::kFileMapWrite, 0, 4096, 65536 - 4096);
        CHECK(whole.ok());
        CHECK(v.map_length >= 65536);
    }
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(s.object_handles() == 1);
}

TEST_CASE("A size with bit 31 set is rejected even for an existing name",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Big";
    auto h = s.make(a, 4096, &name);
    LastError le = untouched();
    CHECK(error_of(s.create(b, 0x80000000u, &name, le)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.create(a, 0xFFFFFFFFu, &name, le)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.handles().references_of(h, b) == 0);  // no reference was added
    CHECK(s.k.handles().references_of(h, a) == 1);
    std::u16string fresh = u"Fresh";
    CHECK(error_of(s.create(a, 0x80000000u, &fresh, le)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.create(a, 0x80000000u, nullptr, le)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.object_handles() == 1);
}

TEST_CASE("A name of 260 characters is rejected and one of 259 is accepted",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    std::u16string n259(259, u'x');
    std::u16string n260(260, u'x');
    LastError le = untouched();
    CHECK(error_of(s.create(a, 4096, &n260, le)) == Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.object_handles() == 0);
    auto r = s.create(a, 4096, &n259, le);
    REQUIRE(r.ok());
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    // The length check comes before the lookup: a 260-character name never matches.
    std::u16string n260y(260, u'y');
    CHECK(error_of(s.create(a, 0, &n260y, le)) == Win32Error::ERROR_INVALID_PARAMETER);
    LastError again = untouched();
    auto same = s.create(a, 0, &n259, again);
    REQUIRE(same.ok());
    CHECK(same.value() == r.value());
    CHECK(again.code == Win32Error::ERROR_ALREADY_EXISTS);
}

TEST_CASE("The empty name is a real name, distinct from no name", "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    auto b = s.attach();
    std::u16string empty;
    LastError le = untouched();
    auto h = s.create(a, 4096, &empty, le);
    REQUIRE(h.ok());
    CHECK(le.set);
    CHECK(le.code == Win32Error::ERROR_SUCCESS);

    LastError le2 = untouched();
    auto h2 = s.create(b, 0, &empty, le2);
    REQUIRE(h2.ok());
    CHECK(s.same_object(b, h2.value(), a, h.value()));
    CHECK(le2.code == Win32Error::ERROR_ALREADY_EXISTS);

    auto unnamed = s.make(a, 4096);
    CHECK(unnamed != h.value());
}

TEST_CASE("Names are case-sensitive: \"Foo\" and \"foo\" are different mappings",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    std::u16string upper = u"Foo", lower = u"foo";
    LastError le1 = untouched(), le2 = untouched();
    auto h1 = s.create(a, 4096, &upper, le1);
    auto h2 = s.create(a, 4096, &lower, le2);
    REQUIRE(h1.ok());
    REQUIRE(h2.ok());
    CHECK(h1.value() != h2.value());
    CHECK(le2.code == Win32Error::ERROR_SUCCESS);
    CHECK(s.view(a, h1.value()).object_id != s.view(a, h2.value()).object_id);
}

TEST_CASE("A new RAM mapping rejects what CE 5 rejects with ERROR_INVALID_PARAMETER",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    std::u16string name = u"Rejected";
    const bool named = GENERATE(false, true);
    const std::u16string* n = named ? &name : nullptr;
    LastError le = untouched();
    SECTION("size 0") {
        CHECK(error_of(s.create(a, 0, n, le)) == Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("PAGE_READONLY") {
        CHECK(error_of(s.create(a, 4096, n, le, kRO)) == Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("a non-zero high size") {
        CHECK(error_of(s.create(a, 4096, n, le, kRW, 1)) == Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("PAGE_WRITECOPY") {
        CHECK(error_of(s.create(a, 4096, n, le, kPageWriteCopy)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("PAGE_EXECUTE_READWRITE") {
        CHECK(error_of(s.create(a, 4096, n, le, kPageExecuteReadWrite)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("PAGE_READWRITE | PAGE_READONLY") {
        CHECK(error_of(s.create(a, 4096, n, le, kRW | kRO)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("PAGE_READWRITE | SEC_IMAGE") {
        CHECK(error_of(s.create(a, 4096, n, le, kRW | kSecImage)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    SECTION("no protection at all") {
        CHECK(error_of(s.create(a, 4096, n, le, 0)) == Win32Error::ERROR_INVALID_PARAMETER);
    }
    // Nothing was left behind: no handle, no window range, no name.
    CHECK(s.object_handles() == 0);
    CHECK(s.k.window().bytes_in_use() == 0);
    LastError fresh = untouched();
    REQUIRE(s.create(a, 4096, &name, fresh).ok());
    CHECK(fresh.code == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("SEC_COMMIT and PAGE_INTERNALDBMAPPING are stripped from the protection",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    LastError le = untouched();
    auto r = s.create(a, 4096, nullptr, le, kRW | ce::kSecCommit);
    REQUIRE(r.ok());
    CHECK(s.view(a, r.value()).writable);
    auto r2 = s.create(a, 4096, nullptr, le, kRW | ce::kPageInternalDbMapping);
    CHECK(r2.ok());
    // Stripping does not make an invalid protection valid.
    CHECK(error_of(s.create(a, 4096, nullptr, le, ce::kSecCommit)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.create(a, 4096, nullptr, le, kRO | ce::kSecCommit)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("A file handle that is not a file gives ERROR_INVALID_PARAMETER",
          "[unit][mapping][ce5][file]") {
    // File-backed mappings are not built yet; this pins the current behaviour.
    Scene s(config_of(5));
    auto a = s.attach();
    auto mapping = s.make(a, 4096);
    std::u16string name = u"FileBacked";
    for (uint32_t file : {mapping.raw, 0u, 0x1234u, 0xFFFFFFFEu}) {
        INFO("file 0x" << std::hex << file);
        LastError le = untouched();
        CHECK(error_of(s.create(a, 4096, nullptr, le, kRW, 0, file)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
        CHECK(error_of(s.create(a, 4096, &name, le, kRW, 0, file)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    CHECK(s.object_handles() == 1);
}

TEST_CASE("A bad file handle fails before the name lookup, even for an existing name",
          "[unit][mapping][ce5][file]") {
    // CE 5 reads the file length (step 3) before it looks the name up (step 5).
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Existing";
    auto h = s.make(a, 4096, &name);
    LastError le = untouched();
    CHECK(error_of(s.create(b, 4096, &name, le, kRW, 0, 0x1234u)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(s.k.handles().references_of(h, b) == 0);
}

TEST_CASE("A full window gives ERROR_NOT_ENOUGH_MEMORY and leaves no name behind",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5, 4 * kGranule));
    auto a = s.attach();
    std::u16string name = u"TooBig";
    LastError le = untouched();
    CHECK(error_of(s.create(a, 5 * kGranule, &name, le)) == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    CHECK(s.object_handles() == 0);
    std::vector<HandleValue> hs;
    for (int i = 0; i < 4; ++i) hs.push_back(s.make(a, 1));
    CHECK(error_of(s.create(a, 1, nullptr, le)) == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    REQUIRE(s.k.close_handle(a, hs[1]).ok());
    LastError le2 = untouched();
    auto r = s.create(a, 4096, &name, le2);
    REQUIRE(r.ok());
    CHECK(le2.code == Win32Error::ERROR_SUCCESS);  // the failed create did not register it
}

TEST_CASE("A full handle table fails CreateFileMapping without leaking the window range",
          "[unit][mapping]") {
    Scene s(config(kWindowSize, 3));  // the process's own entry and two mappings
    auto a = s.attach();
    auto first = s.make(a, 4096);
    s.make(a, 4096);
    const uint64_t used = s.k.window().bytes_in_use();
    std::u16string name = u"NoSlot";
    LastError le = untouched();
    auto r = s.create(a, 4096, &name, le);
    REQUIRE_FALSE(r.ok());
    CHECK(s.k.window().bytes_in_use() == used);
    CHECK(s.object_handles() == 2);
    // The name was not registered: once a slot frees, the create is a fresh one.
    REQUIRE(s.k.close_handle(a, first).ok());
    LastError le2 = untouched();
    REQUIRE(s.create(a, 4096, &name, le2).ok());
    CHECK(le2.code == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("A full handle table makes CreateFileMapping fail with ERROR_NOT_ENOUGH_MEMORY",
          "[unit][mapping][ce5]") {
    // CE 5 reports allocation failures of CreateFileMapping as ERROR_NOT_ENOUGH_MEMORY (docs/semantics/mappings.md
    // §2.1 step 8, handles.md §6); ERROR_NO_MORE_USER_HANDLES is the CE 6 table-full code.
    Scene s(config_of(5, kWindowSize, 2));  // the process's own entry and one mapping
    auto a = s.attach();
    s.make(a, 4096);
    LastError le = untouched();
    CHECK(error_of(s.create(a, 4096, nullptr, le)) == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
}

// ---------------------------------------------------------------------------------------------
// MapViewOfFile (docs/semantics/mappings.md §3)

TEST_CASE("MapViewOfFile rejects invalid, stale and foreign handles with ERROR_INVALID_HANDLE",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    auto h = s.make(a, 4096);
    SECTION("values that are no handle") {
        for (uint32_t v : {0u, 0xFFFFFFFFu, 0x42u, 0x41u, h.raw + 4, h.raw | 1u}) {
            INFO("value 0x" << std::hex << v);
            CHECK(error_of(s.k.map_view(a, HandleValue{v}, ce::kFileMapWrite, 0, 0, 0)) ==
                  Win32Error::ERROR_INVALID_HANDLE);
        }
    }
    SECTION("a closed handle") {
        REQUIRE(s.k.close_handle(a, h).ok());
        CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0, 0)) ==
              Win32Error::ERROR_INVALID_HANDLE);
    }
    SECTION("a closed handle whose slot was reused") {
        Scene one(config(kWindowSize, 2));  // the process's own entry and one mapping
        auto p = one.attach();
        auto old = one.make(p, 4096);
        REQUIRE(one.k.close_handle(p, old).ok());
        auto fresh = one.make(p, 4096);
        CHECK(fresh != old);
        CHECK(error_of(one.k.map_view(p, old, ce::kFileMapWrite, 0, 0, 0)) ==
              Win32Error::ERROR_INVALID_HANDLE);
        CHECK(one.k.map_view(p, fresh, ce::kFileMapWrite, 0, 0, 0).ok());
    }
    SECTION("another process's handle passed raw") {
        CHECK(error_of(s.k.map_view(b, h, ce::kFileMapWrite, 0, 0, 0)) ==
              Win32Error::ERROR_INVALID_HANDLE);
        CHECK(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0, 0).ok());
    }
    SECTION("a process that is not attached") {
        CHECK(error_of(s.k.map_view(ProcessId{999}, h, ce::kFileMapWrite, 0, 0, 0)) ==
              Win32Error::ERROR_INVALID_HANDLE);
    }
    SECTION("a handle to an object that is not a mapping") {
        struct NotAMapping final : kernel::KernelObject {
            NotAMapping() : KernelObject(kernel::ObjectType::File) {}
            void describe(kernel::ObjectDetails&) const override {}
        };
        auto other = s.k.handles().insert(kernel::Ref<kernel::KernelObject>(new NotAMapping), a,
                                          0);
        REQUIRE(other.ok());
        CHECK(error_of(s.k.map_view(a, other.value(), ce::kFileMapWrite, 0, 0, 0)) ==
              Win32Error::ERROR_INVALID_HANDLE);
        REQUIRE(s.k.close_handle(a, other.value()).ok());
    }
}

TEST_CASE("MapViewOfFile accepts access 0, READ, WRITE, READ|WRITE and FILE_MAP_ALL_ACCESS",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    auto h = s.make(a, 4096);
    for (uint32_t access : {0u, ce::kFileMapRead, ce::kFileMapWrite,
                            ce::kFileMapRead | ce::kFileMapWrite, ce::kFileMapAllAccess}) {
        INFO("access 0x" << std::hex << access);
        auto r = s.k.map_view(a, h, access, 0, 0, 0);
        REQUIRE(r.ok());
        // CE 5: protection is per mapping, not per view; CE 6: the view's own.
        if (s.ce5())
            CHECK(r.value().writable);
        else
            CHECK(r.value().view_writes == ((access & ce::kFileMapWrite) != 0));
    }
}

TEST_CASE("FILE_MAP_COPY and FILE_MAP_EXECUTE give ERROR_INVALID_PARAMETER",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    auto h = s.make(a, 4096);
    for (uint32_t access : {ce::kFileMapCopy, kFileMapExecute, ce::kFileMapRead | ce::kFileMapCopy,
                            ce::kFileMapWrite | kFileMapExecute, 0x8u, 0x10u, 0x80000000u,
                            ce::kFileMapAllAccess | kFileMapExecute}) {
        INFO("access 0x" << std::hex << access);
        CHECK(error_of(s.k.map_view(a, h, access, 0, 0, 0)) ==
              Win32Error::ERROR_INVALID_PARAMETER);
    }
    CHECK(s.k.handles().references_of(h, a) == 1);  // failed views hold nothing
}

TEST_CASE("A non-zero high offset gives ERROR_INVALID_PARAMETER", "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto h = s.make(a, 4096);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 1, 0, 0)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0x80000000u, 0, 16)) ==
          Win32Error::ERROR_INVALID_PARAMETER);
}

TEST_CASE("View offsets are byte-granular: offset 1 gives base + 1", "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    auto h = s.make(a, 3 * 65536);
    auto v0 = s.view(a, h, 0);
    auto v1 = s.view(a, h, 1);
    auto v2 = s.view(a, h, 65537, 10);
    CHECK(v0.address == v0.map_base);
    CHECK(v1.address == v0.map_base + 1);
    CHECK(v2.address == v0.map_base + 65537);
    CHECK(v0.map_base >= kWindowBase);
    CHECK(v0.map_base < kWindowBase + kWindowSize);
    CHECK(v0.map_base % kGranule == 0);
    CHECK(v0.map_length >= 3 * 65536);
    CHECK(v0.map_length % static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) == 0);
}

TEST_CASE("Size 0 maps to the end and a view past the end gives ERROR_INVALID_PARAMETER",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    const uint32_t size = 10000;  // not a page multiple
    auto h = s.make(a, size);
    CHECK(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0, 0).ok());
    CHECK(s.k.map_view(a, h, ce::kFileMapWrite, 0, size - 1, 0).ok());
    CHECK(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0, size).ok());
    CHECK(s.k.map_view(a, h, ce::kFileMapWrite, 0, 100, size - 100).ok());
    const Win32Error bad = Win32Error::ERROR_INVALID_PARAMETER;
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0, size + 1)) == bad);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 100, size - 99)) == bad);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, size + 1, 0)) == bad);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0xFFFFFFFFu, 0)) == bad);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0xFFFFFFFFu, 1)) == bad);
    // Overflow-safe: offset + size wraps around 2^64 to a small number.
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 16, ~0ULL)) == bad);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 16, ~0ULL - 15)) == bad);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 16, ~0ULL - 14)) == bad);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0, 0x1'0000'0000ULL)) == bad);
    CHECK(s.k.snapshot().views.size() == 4);
}

TEST_CASE("The same offset gives the same address in every process and every view",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Common";
    auto h = s.make(a, 65536, &name);
    auto hb = s.make(b, 0 + 65536, &name);
    REQUIRE(s.same_object(b, hb, a, h));
    auto va = s.view(a, h, 0x100);
    auto vb = s.view(b, hb, 0x100);
    auto va2 = s.view(a, h, 0x100, 16, ce::kFileMapRead);
    CHECK(va.address == vb.address);
    CHECK(va.address == va2.address);
    CHECK(va.map_base == vb.map_base);
    CHECK(va.object_id == vb.object_id);
    CHECK(va.dev == vb.dev);
    CHECK(va.ino == vb.ino);
}

TEST_CASE("kernel_fd is the mapping's descriptor only on a process's first view of it",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Fd";
    auto h = s.make(a, 65536, &name);
    const HandleValue hb = s.make(b, 65536, &name);
    REQUIRE(s.same_object(b, hb, a, h));
    auto other = s.make(a, 4096);

    auto a1 = s.view(a, h);
    CHECK(a1.kernel_fd >= 0);
    auto a2 = s.view(a, h, 4096);
    CHECK(a2.kernel_fd == -1);
    auto b1 = s.view(b, hb);
    CHECK(b1.kernel_fd == a1.kernel_fd);  // first view in B
    auto b2 = s.view(b, hb);
    CHECK(b2.kernel_fd == -1);
    auto o1 = s.view(a, other);
    CHECK(o1.kernel_fd >= 0);  // first view of another mapping
    CHECK(o1.kernel_fd != a1.kernel_fd);

    // The descriptor is a real memfd of the mapping's page-rounded length.
    struct stat st {};
    REQUIRE(::fstat(a1.kernel_fd, &st) == 0);
    CHECK(static_cast<uint64_t>(st.st_size) == a1.map_length);
    CHECK(static_cast<uint64_t>(st.st_ino) == a1.ino);

    // After A drops all its views, its next view is a first view again.
    REQUIRE(s.k.unmap_view(a, a1.address).ok());
    CHECK(s.view(a, h).kernel_fd == -1);  // a2 is still mapped
    REQUIRE(s.k.unmap_view(a, a2.address).ok());
    auto last = s.k.unmap_view(a, a1.address);  // the view just made above
    REQUIRE(last.ok());
    CHECK(last.value().release_length != 0);
    CHECK(s.view(a, h).kernel_fd == a1.kernel_fd);
}

// ---------------------------------------------------------------------------------------------
// UnmapViewOfFile (docs/semantics/mappings.md §4)

TEST_CASE("UnmapViewOfFile needs the exact address of a view of the caller",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Unmap";
    auto h = s.make(a, 65536, &name);
    REQUIRE(s.make(b, 65536, &name) == h);
    auto v = s.view(a, h);
    const Win32Error bad = Win32Error::ERROR_INVALID_ADDRESS;
    CHECK(error_of(s.k.unmap_view(a, v.address + 1)) == bad);
    CHECK(error_of(s.k.unmap_view(a, v.address - 1)) == bad);
    CHECK(error_of(s.k.unmap_view(a, 0)) == bad);
    CHECK(error_of(s.k.unmap_view(b, v.address)) == bad);  // B has no view there
    CHECK(error_of(s.k.unmap_view(ProcessId{999}, v.address)) == bad);
    auto off = s.view(a, h, 1);  // a view at base + 1 does not make base + 1 ... base valid
    REQUIRE(s.k.unmap_view(a, v.address).ok());
    CHECK(error_of(s.k.unmap_view(a, v.address)) == bad);
    REQUIRE(s.k.unmap_view(a, off.address).ok());
}

TEST_CASE("Duplicate views each need their own unmap", "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto h = s.make(a, 65536);
    auto v1 = s.view(a, h);
    auto v2 = s.view(a, h);
    auto v3 = s.view(a, h);
    REQUIRE(v1.address == v2.address);
    REQUIRE(v2.address == v3.address);
    for (int i = 0; i < 3; ++i) {
        auto r = s.k.unmap_view(a, v1.address);
        REQUIRE(r.ok());
        if (i < 2) {
            CHECK(r.value().release_length == 0);
            CHECK(r.value().release_base == 0);
        } else {
            CHECK(r.value().release_base == v1.map_base);
            CHECK(r.value().release_length == v1.map_length);
        }
    }
    CHECK(error_of(s.k.unmap_view(a, v1.address)) == Win32Error::ERROR_INVALID_ADDRESS);
}

TEST_CASE("release_length is non-zero only for the process's last view of the mapping",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Release";
    auto h = s.make(a, 65536, &name);
    const HandleValue hb = s.make(b, 65536, &name);
    REQUIRE(s.same_object(b, hb, a, h));
    auto other = s.make(a, 4096);
    auto va = s.view(a, h, 0);
    auto va2 = s.view(a, h, 8192);
    auto vo = s.view(a, other);
    auto vb = s.view(b, hb, 0);

    auto r1 = s.k.unmap_view(a, va2.address);
    REQUIRE(r1.ok());
    CHECK(r1.value().release_length == 0);  // va still maps it in A
    auto r2 = s.k.unmap_view(a, vo.address);
    REQUIRE(r2.ok());
    CHECK(r2.value().release_base == vo.map_base);  // the other mapping's only view
    CHECK(r2.value().release_length == vo.map_length);
    auto r3 = s.k.unmap_view(a, va.address);
    REQUIRE(r3.ok());
    CHECK(r3.value().release_base == va.map_base);  // B's view does not count for A
    CHECK(r3.value().release_length == va.map_length);
    auto r4 = s.k.unmap_view(b, vb.address);
    REQUIRE(r4.ok());
    CHECK(r4.value().release_length == vb.map_length);
}

// ---------------------------------------------------------------------------------------------
// Lifetime, CloseHandle, process exit, FlushViewOfFile (docs/semantics/mappings.md §5-§8, handles.md §4, §7, names.md §5)

TEST_CASE("A view keeps the mapping and its name alive after CloseHandle; the last unmap ends both",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    std::u16string name = u"Lifetime";
    auto h = s.make(a, 65536, &name);
    auto v = s.view(a, h);
    REQUIRE(s.k.close_handle(a, h).ok());

    // Still alive: the name opens the same handle value, the range is still owned.
    LastError le = untouched();
    auto again = s.create(a, 0, &name, le);
    REQUIRE(again.ok());
    CHECK(again.value() == h);
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    CHECK(s.k.window().owner_of(v.address) != nullptr);
    REQUIRE(s.k.close_handle(a, h).ok());  // the reference just added

    // The last unmap frees the mapping, its range and its name.
    auto r = s.k.unmap_view(a, v.address);
    REQUIRE(r.ok());
    CHECK(r.value().release_length == v.map_length);
    CHECK(s.object_handles() == 0);
    CHECK(s.k.window().bytes_in_use() == 0);
    CHECK(s.k.window().owner_of(v.address) == nullptr);

    LastError le2 = untouched();
    auto fresh = s.create(a, 65536, &name, le2);
    REQUIRE(fresh.ok());
    CHECK(le2.set);
    CHECK(le2.code == Win32Error::ERROR_SUCCESS);
    CHECK(fresh.value() != h);
    CHECK(error_of(s.k.map_view(a, h, ce::kFileMapWrite, 0, 0, 0)) ==
          Win32Error::ERROR_INVALID_HANDLE);
    CHECK(error_of(s.k.close_handle(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
}

TEST_CASE("A view in another process keeps the name alive after the creator closes",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    std::u16string name = u"Handover";
    auto h = s.make(a, 65536, &name);
    REQUIRE(s.make(b, 0 + 1, &name) == h);
    auto vb = s.view(b, h);
    REQUIRE(s.k.close_handle(b, h).ok());
    REQUIRE(s.k.close_handle(a, h).ok());
    LastError le = untouched();
    auto again = s.create(a, 0, &name, le);
    REQUIRE(again.ok());
    CHECK(again.value() == h);
    CHECK(le.code == Win32Error::ERROR_ALREADY_EXISTS);
    REQUIRE(s.k.close_handle(a, h).ok());
    REQUIRE(s.k.unmap_view(b, vb.address).ok());
    CHECK(s.object_handles() == 0);
}

TEST_CASE("CloseHandle succeeds while the process holds references and then fails",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    auto h = s.make(a, 65536);
    CHECK(error_of(s.k.close_handle(b, h)) == Win32Error::ERROR_INVALID_HANDLE);
    CHECK(s.k.handles().references_of(h, a) == 1);
    SECTION("one handle reference") {
        REQUIRE(s.k.close_handle(a, h).ok());
        CHECK(error_of(s.k.close_handle(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
        CHECK(s.object_handles() == 0);
        CHECK(s.k.window().bytes_in_use() == 0);
    }
    SECTION("a handle and two views: CE 5 views take a reference on the handle") {
        auto v1 = s.view(a, h);
        auto v2 = s.view(a, h, 16);
        CHECK(s.k.handles().references_of(h, a) == 3);
        CHECK(s.k.close_handle(a, h).ok());
        CHECK(s.k.close_handle(a, h).ok());
        CHECK(s.k.close_handle(a, h).ok());
        CHECK(error_of(s.k.close_handle(a, h)) == Win32Error::ERROR_INVALID_HANDLE);
        // The views stay valid addresses of the caller and unmap cleanly.
        CHECK(s.k.window().owner_of(v1.address) != nullptr);
        CHECK(s.k.unmap_view(a, v1.address).ok());
        CHECK(s.k.unmap_view(a, v2.address).ok());
        CHECK(s.k.window().bytes_in_use() == 0);
    }
}

TEST_CASE("detach_process drops exactly that process's handles and views",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach("a.exe");
    auto b = s.attach("b.exe");
    auto c = s.attach("c.exe");
    std::u16string shared = u"Shared", only_a = u"OnlyA";
    auto h = s.make(a, 65536, &shared);
    REQUIRE(s.make(b, 0 + 1, &shared) == h);
    auto ha = s.make(a, 4096, &only_a);
    auto hb = s.make(b, 4096);
    auto va = s.view(a, h);
    s.view(a, h, 100);
    auto vha = s.view(a, ha);
    auto vb = s.view(b, h, 200);
    const uint32_t b_refs = s.k.handles().references_of(h, b);
    REQUIRE(b_refs == 2);

    s.k.detach_process(a);
    CHECK_FALSE(s.k.process_alive(a));
    CHECK(s.k.handles().handles_of(a).empty());
    CHECK(s.k.handles().references_of(h, a) == 0);
    CHECK(s.k.handles().references_of(h, b) == b_refs);
    CHECK(s.k.handles().references_of(hb, b) == 1);
    // A's private mapping is gone with its name and range; the shared one is intact.
    CHECK(s.object_handles() == 2);
    CHECK(s.k.window().owner_of(vha.address) == nullptr);
    CHECK(s.k.window().owner_of(va.address) != nullptr);
    CHECK(error_of(s.k.unmap_view(a, va.address)) == Win32Error::ERROR_INVALID_ADDRESS);
    LastError le = untouched();
    REQUIRE(s.create(c, 4096, &only_a, le).ok());
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
    LastError le2 = untouched();
    auto open = s.create(c, 0, &shared, le2);
    REQUIRE(open.ok());
    CHECK(open.value() == h);
    CHECK(le2.code == Win32Error::ERROR_ALREADY_EXISTS);
    // B keeps working with what it had.
    auto vb2 = s.view(b, h);
    CHECK(vb2.address == va.address);
    CHECK(vb2.kernel_fd == -1);  // B's first view is still mapped
    CHECK(s.k.unmap_view(b, vb.address).ok());
    CHECK(s.k.unmap_view(b, vb2.address).ok());
    CHECK(s.k.close_handle(b, h).ok());
    CHECK(s.k.close_handle(b, hb).ok());
    // A detach of an unknown or detached process is a no-op.
    s.k.detach_process(a);
    s.k.detach_process(ProcessId{999});
    CHECK(s.k.process_count() == 2);
}

TEST_CASE("detach_process of the last holder frees the mapping and its name",
          "[unit][mapping]") {
    Scene s;
    auto a = s.attach();
    std::u16string name = u"Exit";
    auto h = s.make(a, 65536, &name);
    s.view(a, h);
    s.view(a, h);
    REQUIRE(s.k.close_handle(a, h).ok());  // views only
    s.k.detach_process(a);
    CHECK(s.object_handles() == 0);
    CHECK(s.k.window().bytes_in_use() == 0);
    auto b = s.attach();
    LastError le = untouched();
    REQUIRE(s.create(b, 4096, &name, le).ok());
    CHECK(le.code == Win32Error::ERROR_SUCCESS);
}

TEST_CASE("FlushViewOfFile succeeds inside any mapping and fails silently outside",
          "[unit][mapping][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    auto h = s.make(a, 65536);
    auto v = s.view(a, h);
    SECTION("inside the caller's view") {
        auto r = s.k.flush_view(a, v.address + 10, 100);
        REQUIRE(r.has_value());
        CHECK(r->ok());
    }
    SECTION("inside another process's mapping, with no view of its own") {
        auto r = s.k.flush_view(b, v.address + 65535, 0);
        REQUIRE(r.has_value());
        CHECK(r->ok());
    }
    SECTION("a size past the end is clipped") {
        auto r = s.k.flush_view(a, v.address, ~0ULL);
        REQUIRE(r.has_value());
        CHECK(r->ok());
    }
    SECTION("a mapping with no view left, kept by its handle") {
        REQUIRE(s.k.unmap_view(a, v.address).ok());
        auto r = s.k.flush_view(b, v.address, 0);
        REQUIRE(r.has_value());
        CHECK(r->ok());
    }
    SECTION("outside every mapping") {
        CHECK_FALSE(s.k.flush_view(a, 0, 0).has_value());
        CHECK_FALSE(s.k.flush_view(a, kWindowBase - 1, 1).has_value());
        CHECK_FALSE(s.k.flush_view(a, v.map_base + v.map_length + kGranule, 0).has_value());
        CHECK_FALSE(s.k.flush_view(a, kWindowBase + kWindowSize - 1, 0).has_value());
    }
    SECTION("a mapping that is gone") {
        REQUIRE(s.k.unmap_view(a, v.address).ok());
        REQUIRE(s.k.close_handle(a, h).ok());
        CHECK_FALSE(s.k.flush_view(a, v.address, 0).has_value());
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshot

namespace {

const proto::ProcessInfo* find_process(const proto::Snapshot& snap, ProcessId p) {
    for (const auto& info : snap.processes)
        if (info.id == p.raw) return &info;
    return nullptr;
}

}  // namespace

TEST_CASE("The snapshot matches the scene, survives encoding, and its structure depth agrees",
          "[unit][mapping][snapshot][ce5]") {
    // CE 6's snapshot, with a table per process: tests/unit/ce6_handles_test.cpp.
    Scene s(config_of(5));
    auto a = s.attach("a.exe");
    auto b = s.attach("b.exe");
    std::u16string name = u"Snap\u00e9";
    auto h = s.make(a, 65536, &name);
    REQUIRE(s.make(b, 0 + 1, &name) == h);
    auto hb = s.make(b, 4096);
    s.view(a, h, 0);
    s.view(a, h, 4096, 100);
    s.view(b, h, 0);

    auto snap = s.k.snapshot();
    CHECK(snap.header.personality == 5);
    CHECK(snap.header.kernel_pid == ::getpid());
    CHECK(snap.processes.size() == 2);
    // The two mappings, and each process's own entry (its id).
    CHECK(snap.handles.size() == 4);
    CHECK(snap.objects.size() == 4);
    CHECK(snap.views.size() == 3);
    auto* pa = find_process(snap, a);
    auto* pb = find_process(snap, b);
    REQUIRE(pa != nullptr);
    REQUIRE(pb != nullptr);
    CHECK(pa->executable == "a.exe");
    CHECK(pa->handle_count == 1);
    CHECK(pa->view_count == 2);
    CHECK(pb->handle_count == 2);
    CHECK(pb->view_count == 1);
    for (const auto& hi : snap.handles) {
        if (hi.value != h.raw) continue;
        uint32_t total = 0;
        for (const auto& r : hi.refs) total += r.count;
        CHECK(total == 5);  // A: handle + 2 views, B: handle + 1 view
        CHECK(hi.type == "mapping");
    }
    bool found_named = false;
    for (const auto& o : snap.objects) {
        if (o.type == "process") continue;
        if (o.named) {
            found_named = true;
            CHECK(o.name == name);
            CHECK(o.handle == h.raw);
        } else {
            CHECK(o.handle == hb.raw);
        }
    }
    CHECK(found_named);

    proto::ByteWriter w;
    proto::encode(w, snap);
    const auto& bytes = w.bytes();
    proto::ByteReader r(bytes.data(), bytes.size());
    proto::Snapshot back;
    REQUIRE(proto::decode(r, back));
    CHECK(r.at_end());
    CHECK(back.header.magic == proto::kSnapshotMagic);
    CHECK(back.header.process_count == 2);
    CHECK(back.header.handle_count == 4);
    CHECK(back.header.object_count == 4);
    CHECK(back.header.view_count == 3);
    CHECK(back.header.boot_time_ns == snap.header.boot_time_ns);
    CHECK(back.processes == snap.processes);
    CHECK(back.handles == snap.handles);
    CHECK(back.objects == snap.objects);
    CHECK(back.views == snap.views);
    CHECK(back.waits == snap.waits);

    // A structure snapshot lists the same, without the details.
    const auto structure = s.k.snapshot(kernel::Kernel::SnapshotDepth::structure);
    auto without_details = snap.objects;
    for (auto& o : without_details) {
        CHECK_FALSE(o.details.empty());
        o.details.clear();
    }
    CHECK(structure.objects == without_details);
    CHECK(structure.handles == snap.handles);
    CHECK(structure.views == snap.views);
    CHECK(structure.processes == snap.processes);
}

TEST_CASE("Every truncation of an encoded snapshot fails to decode without crashing",
          "[unit][snapshot]") {
    Scene s;
    auto a = s.attach("a.exe");
    std::u16string name = u"Trunc";
    auto h = s.make(a, 65536, &name);
    s.view(a, h);
    proto::ByteWriter w;
    proto::encode(w, s.k.snapshot());
    const auto& bytes = w.bytes();
    std::vector<size_t> decoded;  // prefixes that decoded although they are incomplete
    for (size_t n = 0; n < bytes.size(); ++n) {
        proto::ByteReader r(bytes.data(), n);
        proto::Snapshot back;
        if (proto::decode(r, back)) decoded.push_back(n);
    }
    CHECK(decoded.empty());
    auto corrupt = bytes;
    corrupt[0] = std::byte{0};
    proto::ByteReader r(corrupt.data(), corrupt.size());
    proto::Snapshot back;
    CHECK_FALSE(proto::decode(r, back));
}

TEST_CASE("An empty kernel has an empty snapshot", "[unit][snapshot]") {
    Scene s;
    auto snap = s.k.snapshot();
    CHECK(snap.processes.empty());
    CHECK(snap.handles.empty());
    CHECK(snap.objects.empty());
    CHECK(snap.views.empty());
    auto a = s.attach();
    auto h = s.make(a, 4096);
    REQUIRE(s.k.close_handle(a, h).ok());
    s.k.detach_process(a);
    auto after = s.k.snapshot();
    CHECK(after.processes.empty());
    CHECK(after.handles.empty());
    CHECK(after.objects.empty());
}

// ---------------------------------------------------------------------------------------------
// Processes

TEST_CASE("Process ids are distinct, never the kernel's, and the process limit is enforced",
          "[unit][process]") {
    KernelConfig c = config();
    c.max_processes = 3;
    Scene s(c);
    auto a = s.attach();
    auto b = s.attach();
    auto d = s.attach();
    CHECK(a != kernel::kKernelProcess);
    CHECK(a != b);
    CHECK(b != d);
    CHECK(a != d);
    auto full = s.k.attach_process(4000, "full.exe", false);
    REQUIRE_FALSE(full.ok());
    CHECK(full.error() == Win32Error::ERROR_NOT_ENOUGH_MEMORY);
    s.k.detach_process(b);
    auto again = s.k.attach_process(4001, "again.exe", false);
    REQUIRE(again.ok());
    CHECK(again.value() != b);  // a detached id is not handed out again at once
    CHECK(s.k.process_count() == 3);
}

TEST_CASE("A caller that is not attached cannot create mappings or open names",
          "[unit][process]") {
    // Not a CE rule (CE has no such caller) but an emulator invariant: every handle reference
    // belongs to an attached process, so that detach_process can release it.
    Scene s;
    auto a = s.attach();
    std::u16string name = u"Ghost";
    auto h = s.make(a, 4096, &name);
    const ProcessId ghost{999};
    LastError le = untouched();
    CHECK_FALSE(s.create(ghost, 4096, nullptr, le).ok());
    CHECK_FALSE(s.create(ghost, 0, &name, le).ok());
    CHECK(s.k.handles().references_of(h, ghost) == 0);
    CHECK(s.k.handles().handles_of(ghost).empty());
}

// ---------------------------------------------------------------------------------------------
// CE 5's global view: any process touches any live mapping by address
// (docs/semantics/mappings.md §9)

TEST_CASE("A touch anywhere in a live mapping's range names that mapping, with its descriptor",
          "[unit][mapping][touch][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    auto h = s.make(a, 10000);
    auto v = s.view(a, h, 100);
    for (uint64_t address : {v.map_base, v.address + 5, v.map_base + v.map_length - 1}) {
        auto t = s.k.touch_window(b, address);
        REQUIRE(t.ok());
        CHECK(t.value().map_base == v.map_base);
        CHECK(t.value().map_length == v.map_length);
        CHECK(t.value().object_id == v.object_id);
        CHECK(t.value().kernel_fd >= 0);  // always: the toucher maps it from this descriptor
        CHECK(t.value().writable);
        CHECK_FALSE(t.value().file_backed);
    }
    // The view's owner may touch it too (a view it unmapped, another thread's address...).
    CHECK(s.k.touch_window(a, v.address).ok());
}

TEST_CASE("A touch outside every live mapping is ERROR_INVALID_ADDRESS",
          "[unit][mapping][touch][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    auto v = s.view(a, s.make(a, 4096));
    auto window = s.k.window().base();
    for (uint64_t address : {window - 1, v.map_base + v.map_length,
                             window + s.k.window().size() - 1, uint64_t{0}}) {
        auto t = s.k.touch_window(b, address);
        REQUIRE_FALSE(t.ok());
        CHECK(t.error() == Win32Error::ERROR_INVALID_ADDRESS);
    }
    // A diagnostics connection maps nothing.
    auto tool = s.k.attach_process(s.next_pid++, "cedump", true);
    REQUIRE(tool.ok());
    auto t = s.k.touch_window(tool.value(), v.address);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error() == Win32Error::ERROR_INVALID_ADDRESS);
}

TEST_CASE("A touch does not keep the mapping alive; its range waits for the toucher to end",
          "[unit][mapping][touch][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    auto h = s.make(a, 65536);
    auto v = s.view(a, h);
    REQUIRE(s.k.touch_window(b, v.address + 10).ok());
    REQUIRE(s.k.unmap_view(a, v.address).ok());
    REQUIRE(s.k.close_handle(a, h).ok());
    // The mapping is gone: a touch of its address fails...
    auto gone = s.k.touch_window(b, v.address);
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.error() == Win32Error::ERROR_INVALID_ADDRESS);
    // ...and its range is not given to the next mapping while `b` may still map its pages.
    CHECK(s.k.window().retired_count() == 1);
    auto next = s.view(a, s.make(a, 65536));
    CHECK(next.map_base != v.map_base);
    s.k.detach_process(b);
    CHECK(s.k.window().retired_count() == 0);
    auto again = s.view(a, s.make(a, 65536));
    CHECK(again.map_base == v.map_base);  // first fit: the old range is back
}

TEST_CASE("A toucher that ends before the mapping does not hold its range afterwards",
          "[unit][mapping][touch][ce5]") {
    Scene s(config_of(5));
    auto a = s.attach();
    auto b = s.attach();
    auto h = s.make(a, 65536);
    auto v = s.view(a, h);
    REQUIRE(s.k.touch_window(b, v.address).ok());
    s.k.detach_process(b);
    REQUIRE(s.k.unmap_view(a, v.address).ok());
    REQUIRE(s.k.close_handle(a, h).ok());
    CHECK(s.k.window().retired_count() == 0);
    CHECK(s.view(a, s.make(a, 65536)).map_base == v.map_base);
}

TEST_CASE("A dead mapping's range is posted to each living toucher and freed once all let go",
          "[unit][mapping][touch][ce5]") {
    Scene s(config_of(5));
    std::vector<std::tuple<uint32_t, uint64_t, uint64_t>> posted;
    s.k.set_shootdown([&](ProcessId p, uint64_t base, uint64_t length) {
        posted.emplace_back(p.raw, base, length);
    });
    auto a = s.attach();
    auto b = s.attach();
    auto c = s.attach();
    auto h = s.make(a, 65536);
    auto v = s.view(a, h);
    REQUIRE(s.k.touch_window(b, v.address).ok());
    REQUIRE(s.k.touch_window(c, v.address + 4096).ok());
    REQUIRE(s.k.touch_window(c, v.address).ok());  // once per process, however often
    REQUIRE(s.k.unmap_view(a, v.address).ok());
    CHECK(posted.empty());  // alive while its handle is open
    REQUIRE(s.k.close_handle(a, h).ok());
    REQUIRE(posted.size() == 2);
    CHECK(posted[0] == std::tuple(b.raw, v.map_base, v.map_length));
    CHECK(posted[1] == std::tuple(c.raw, v.map_base, v.map_length));
    s.k.let_go_range(b, v.map_base);
    CHECK(s.k.window().retired_count() == 1);
    s.k.let_go_range(b, v.map_base);  // twice: nothing more
    CHECK(s.k.window().retired_count() == 1);
    s.k.let_go_range(c, v.map_base);
    CHECK(s.k.window().retired_count() == 0);
    CHECK(s.view(a, s.make(a, 65536)).map_base == v.map_base);
}

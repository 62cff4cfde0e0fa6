// Lookup cost in a 10,000-entry directory; tagged [.bench] so it only runs when asked:
//   ./fsys_tests '[.bench]'
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "fsys/fold.h"
#include "fsys/path.h"
#include "temp_root.h"

using namespace cek::fsys;
using namespace cek::fsys::test;

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
double us_per_op(int iterations, F&& f) {
    const auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) f(i);
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() / iterations;
}

std::u16string name_of(int i, bool upper) {
    std::string n = (upper ? "ENTRY_" : "entry_") + std::to_string(i) + (upper ? ".DAT" : ".dat");
    return std::u16string(n.begin(), n.end());
}

// What a cache-less design does on every mis-cased lookup: read and compare the whole directory.
bool scan_lookup(const std::filesystem::path& dir, const std::u16string& want) {
    DIR* d = ::opendir(dir.c_str());
    const std::u16string folded = fold(want);
    bool found = false;
    while (const dirent* e = ::readdir(d)) {
        auto w = from_utf8(e->d_name);
        if (w && fold(*w) == folded) {
            found = true;
            break;
        }
    }
    ::closedir(d);
    return found;
}

}  // namespace

TEST_CASE("Lookups in a 10,000-entry directory stay cheap once the cache is warm",
          "[fsys][.bench]") {
    constexpr int kEntries = 10'000;
    StoreFixture s;
    const auto dir = s.host("Temp/big");
    std::filesystem::create_directory(dir);
    for (int i = 0; i < kEntries; ++i) {
        const int fd = ::open((dir / ("entry_" + std::to_string(i) + ".dat")).c_str(),
                              O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        REQUIRE(fd >= 0);
        ::close(fd);
    }
    settle();
    OpenRequest req;
    req.disposition = 3;
    auto path = [](int i, bool upper) { return u"\\Temp\\big\\" + name_of(i, upper); };
    const int n = 20'000;

    const double exact = us_per_op(n, [&](int i) {
        if (!s.root().open_file(path(i % kEntries, false), req)) FAIL("exact lookup failed");
    });
    const auto b0 = Clock::now();
    REQUIRE(s.root().open_file(path(1, true), req).ok());  // builds the folded map
    const double build =
        std::chrono::duration<double, std::micro>(Clock::now() - b0).count();
    const auto builds = s.root().cache_stats().builds;
    const double folded = us_per_op(n, [&](int i) {
        if (!s.root().open_file(path((i * 7919) % kEntries, true), req)) FAIL("miss");
    });
    CHECK(s.root().cache_stats().builds == builds);
    const double missing = us_per_op(n, [&](int i) {
        if (s.root().open_file(u"\\Temp\\big\\NOPE_" + name_of(i, true), req)) FAIL("found?");
    });
    const double attrs = us_per_op(n, [&](int i) {
        if (!s.root().get_attributes(path(i % kEntries, true))) FAIL("attributes");
    });
    const double scan = us_per_op(200, [&](int i) {
        if (!scan_lookup(dir, name_of((i * 7919) % kEntries, true))) FAIL("scan");
    });
    std::printf("10k-entry directory, per operation:\n"
                "  open_file exact case            %8.2f us\n"
                "  first mis-cased (cache build)   %8.0f us\n"
                "  open_file mis-cased, warm cache %8.2f us\n"
                "  open_file missing name          %8.2f us\n"
                "  get_attributes mis-cased        %8.2f us\n"
                "  baseline: readdir scan per miss %8.0f us\n",
                exact, build, folded, missing, attrs, scan);
}

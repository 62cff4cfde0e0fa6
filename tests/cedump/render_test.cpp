// cedump's renderers as pure functions, on a fixed synthetic snapshot: every section (waits and
// threads included, which the live scene cannot hold still), as a table, as JSON and as a graph, under
// each kind of filter. Goldens in golden/render/; CEK_UPDATE_GOLDEN=1 rewrites them.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tools/cedump/render.h"

namespace {

using namespace cek;
using cek::cedump::Filter;
using cek::cedump::Section;

proto::Snapshot scene() {
    proto::Snapshot s;
    s.header = {proto::kSnapshotMagic, 1, 1'700'000'000'000'000'000ULL, 12'345'678'901ULL, 98'304,
                5, 4242, 0, 0, 0, 0};
    s.processes = {
        {1, 101, 1'700'000'100'000'000'000ULL, 3, 1, 4 << 20, "/usr/bin/writer", "idle"},
        {2, 102, 1'700'000'200'000'000'000ULL, 2, 1, 0, "/opt/ce/reader \"quoted\"", "busy"},
        {3, 103, 1'700'000'300'000'000'000ULL, 0, 0, 0, "cedump", "diagnostics"},
    };
    s.handles = {
        {0x400102, 10, "mapping", false, {{1, 1, 0x4, 0}, {2, 2, 0x2, 0}}},
        {0x400206, 11, "file", true, {}},
        {0x40030a, 12, "file", false, {{2, 1, 0xC0000000u, 0}}},
        {0x40040e, 13, "event", false, {{1, 1, 0x1F0003, 0}, {9, 1, 0, 0}}},
        {0x400512, 14, "search", false, {{1, 1, 0, 0}}},
        {0x400616, 15, "mutex", false, {}},
    };
    const std::u16string lone = {u'E', u'v', 0xD800, u'!'};
    s.objects = {
        {10, "mapping", u"SceneMap", true, 0x400102, 3,
         {{"size", "8192"}, {"backing", "file 11"}, {"address", "0x200000010000"}}},
        {11, "file", u"", false, 0x400206, 2,
         {{"path", "\\scene.dat"}, {"size", "8192"}, {"access", "read,write"}, {"share", "none"},
          {"attributes", "0x80"}, {"flags", "0"}, {"mapped_by", "10"},
          {"host_path", "/srv/root/scene.dat"}}},
        {12, "file", u"", false, 0x40030a, 1,
         {{"path", "\\notes.txt"}, {"size", "12"}, {"access", "read"}, {"share", "read"},
          {"attributes", "0x20"}, {"flags", "0"}, {"host_path", "/srv/root/notes\ttab.txt"}}},
        {13, "event", lone, true, 0x40040e, 1, {{"manual", "yes"}, {"state", "reset"}}},
        {14, "search", u"", false, 0x400512, 1, {{"pattern", "\\*.txt"}}},
        {15, "mutex", u"Lock\u00e9\U0001F600", true, 0x400616, 1, {}},
        {16, "mapping", u"Orphan", true, 0, 1, {{"size", "4096"}, {"backing", "ram"}}},
        {17, "file", u"", false, 0, 1, {{"path", "\\gone.txt"}, {"share", "write"}}},
    };
    s.views = {
        {1, 0x2, 0x200000010000, 10, 0, 8192},
        {2, 0x4, 0x200000010000, 10, 4096, 4096},
        {1, 0, 0x200000020000, 16, 0, 4096},
        {2, 0x1, 0x200000030000, 99, 0, 64},
    };
    s.waits = {
        {1, 5001, 0xFFFFFFFFu, 0, 1'500'000'000ULL, {0x40040e}},
        {2, 5002, 250, 0, 20'000'000ULL, {0x40040e, 0x400616, 0x999}},
        {1, 5003, 0, 0, 0, {}},
    };
    s.threads = {
        {1, 0x40071a, 5001, 1, 0x103, 251, 100, proto::kThreadCreated},  // suspended, waiting
        {1, 0x40081e, 6000, 0, 0x103, 248, 100, 0},                      // adopted, running
        {2, 0x400922, 0, 0, 0x103, 251, 100, proto::kThreadCreated},     // not started yet
        {2, 0x400a26, 5010, 0, 42, 100, 0, proto::kThreadCreated | proto::kThreadExited},
    };
    return s;
}

std::string render_all(const proto::Snapshot& s, const Filter& f) {
    std::string out;
    out += "== table all\n" + cedump::render_table(s, Section::All, f);
    out += "== json all\n" + cedump::render_json(s, Section::All, f);
    out += "== dot\n" + cedump::render_dot(s, f);
    return out;
}

void check_render_golden(const std::string& name, const std::string& actual) {
    const std::string path = std::string(std::getenv("CEK_GOLDEN_DIR")) + "/render/" + name + ".txt";
    if (std::getenv("CEK_UPDATE_GOLDEN") != nullptr) {
        std::ofstream(path) << actual;
        return;
    }
    std::ifstream in(path);
    REQUIRE(in);
    std::stringstream expected;
    expected << in.rdbuf();
    CHECK(actual == expected.str());
}

}  // namespace

TEST_CASE("cedump renders every section of a fixed snapshot as its golden", "[cedump][render]") {
    setenv("TZ", "UTC", 1);
    tzset();
    const auto s = scene();
    SECTION("no filter, each section alone") {
        std::string out;
        for (const char* word :
             {"processes", "handles", "objects", "views", "files", "names", "waits", "threads"}) {
            auto section = cedump::parse_section(word);
            REQUIRE(section);
            out += std::string("== table ") + word + "\n" + cedump::render_table(s, *section, {});
            out += std::string("== json ") + word + "\n" + cedump::render_json(s, *section, {});
        }
        check_render_golden("sections", out);
    }
    SECTION("no filter") { check_render_golden("all", render_all(s, {})); }
    SECTION("by pid") { check_render_golden("pid", render_all(s, {102, "", "", std::nullopt})); }
    SECTION("by type") { check_render_golden("type", render_all(s, {std::nullopt, "file", "", std::nullopt})); }
    SECTION("by name") { check_render_golden("name", render_all(s, {std::nullopt, "", "Scene", std::nullopt})); }
    SECTION("by handle") { check_render_golden("handle", render_all(s, {std::nullopt, "", "", 0x40040e})); }
    SECTION("pid and type") { check_render_golden("pid_type", render_all(s, {101, "mapping", "", std::nullopt})); }
    SECTION("empty snapshot") {
        proto::Snapshot empty;
        empty.header.magic = proto::kSnapshotMagic;
        check_render_golden("empty", render_all(empty, {}));
    }
}

// The snapshot's wire bytes are fixed (the fuzz corpus and older captures hold them): the fixed
// snapshot encodes to its golden bytes, and those decode back to it.
TEST_CASE("the snapshot encodes to its golden bytes and decodes back", "[cedump][snapshot]") {
    auto s = scene();
    proto::ByteWriter w;
    proto::encode(w, s);
    const std::string path = std::string(std::getenv("CEK_GOLDEN_DIR")) + "/render/snapshot.bin";
    const std::string actual(reinterpret_cast<const char*>(w.bytes().data()), w.bytes().size());
    if (std::getenv("CEK_UPDATE_GOLDEN") != nullptr) std::ofstream(path, std::ios::binary) << actual;
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    std::stringstream expected;
    expected << in.rdbuf();
    CHECK(actual == expected.str());

    // Encoding fills in the header's magic and counts; waits' `reserved` does not travel.
    s.header.process_count = 3, s.header.handle_count = 6, s.header.object_count = 8,
    s.header.view_count = 4;
    const std::string bytes = expected.str();
    proto::ByteReader r(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    proto::Snapshot back;
    REQUIRE(proto::decode(r, back));
    CHECK(r.at_end());
    CHECK(std::memcmp(&back.header, &s.header, sizeof s.header) == 0);
    CHECK(back.processes == s.processes);
    CHECK(back.handles == s.handles);
    CHECK(back.objects == s.objects);
    CHECK(back.views == s.views);
    CHECK(back.waits == s.waits);
    // Every proper prefix is malformed.
    for (size_t n = 0; n < bytes.size(); ++n) {
        proto::ByteReader cut(reinterpret_cast<const std::byte*>(bytes.data()), n);
        proto::Snapshot partial;
        CHECK_FALSE(proto::decode(cut, partial));
    }
}

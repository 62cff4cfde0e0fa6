// A file's one position (docs/decisions/0015-file-position.md): kept by the one process that
// uses the file, moved into the shared description when a second one does, and never lost or
// doubled on the way: across DuplicateHandle, SetEndOfFile from the other process, the keeper's
// death, and a takeover in the middle of many threads' writes. CE 6 only: CE 5 duplicates no
// file handle, and its kernel-owned CreateFileForMapping handles never keep a position
// (file_share_test.cpp covers those).
#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <map>
#include <string>

#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;

namespace {

constexpr const char* kOpenReadWrite = "0xC0000000";
constexpr const char* kDupSameAccess = "2";  // DUPLICATE_SAME_ACCESS

// The "position" detail cedump shows for the file at `path` ("" when the description holds it).
std::string kept_by(KernelFixture& k, const std::string& path) {
    for (const auto& o : k.snapshot().objects) {
        if (o.type != "file") continue;
        bool match = false;
        std::string position;
        for (const auto& [key, value] : o.details) {
            if (key == "path") match = value == path;
            if (key == "position") position = value;
        }
        if (match) return position;
    }
    return "no such file";
}

// `a`'s handle `h` duplicated into `b`: b's value.
std::string duplicate_into(Child& a, Child& b, const std::string& h) {
    const std::string b_ids = b.ask("ids");
    REQUIRE(field(b_ids, 0) == "ok");
    const std::string to_b = a.ask("openproc " + field(b_ids, 1));
    REQUIRE(field(to_b, 0) == "ok");
    const std::string copy = a.ask("dupto " + h + " " + field(to_b, 1) + " " + kDupSameAccess);
    REQUIRE(field(copy, 0) == "ok");
    return field(copy, 1);
}

std::string open_new(Child& c, const std::string& path) {
    const std::string opened = c.ask("open " + path + " " + kOpenReadWrite + " 0 2");
    REQUIRE(field(opened, 0) == "ok");
    return field(opened, 1);
}

}  // namespace

TEST_CASE("one process keeps its file's position; a second process's use moves it, nothing lost",
          "[multiproc][file][position][ce6]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string h = open_new(*a, "/Temp/pos.txt");
    REQUIRE(a->ask("fwrite " + h + " abc") == "ok 3");
    REQUIRE(a->ask("seek " + h + " 1 0") == "ok 1");
    const std::string a_id = std::to_string(process_id_of(k.snapshot(), a->pid()));
    CHECK(kept_by(k, "\\Temp\\pos.txt") == "kept by process " + a_id);
    // b holds the file now, but only its first use moves the position.
    const std::string hb = duplicate_into(*a, *b, h);
    REQUIRE(a->ask("seek " + h + " 0 1") == "ok 1");
    CHECK(b->ask("fwrite " + hb + " XY") == "ok 2");  // at a's position
    CHECK(kept_by(k, "\\Temp\\pos.txt").empty());
    CHECK(a->ask("seek " + h + " 0 1") == "ok 3");  // one position for both
    CHECK(a->ask("fwrite " + h + " d") == "ok 1");
    CHECK(b->ask("seek " + hb + " 0 1") == "ok 4");
    CHECK(b->ask("seek " + hb + " 0 0") == "ok 0");
    CHECK(a->ask("fread " + h + " 2") == "ok aX");
    CHECK(b->ask("fread " + hb + " 9") == "ok Yd");
    CHECK(host_file(k, "Temp/pos.txt") == "aXYd");
}

TEST_CASE("SetEndOfFile from a second process cuts the file at the position the first one kept",
          "[multiproc][file][position][ce6]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string h = open_new(*a, "/Temp/cut.txt");
    REQUIRE(a->ask("fwrite " + h + " abcdef") == "ok 6");
    REQUIRE(a->ask("seek " + h + " -4 1") == "ok 2");
    // a's own SetEndOfFile uses the position it keeps.
    REQUIRE(a->ask("seek " + h + " 5 0") == "ok 5");
    CHECK(a->ask("eof " + h) == "ok");
    CHECK(a->ask("fsize " + h) == "ok 5");
    REQUIRE(a->ask("seek " + h + " 2 0") == "ok 2");
    const std::string hb = duplicate_into(*a, *b, h);
    CHECK(b->ask("eof " + hb) == "ok");  // b never read nor wrote: the kernel moves it first
    CHECK(host_file(k, "Temp/cut.txt") == "ab");
    CHECK(a->ask("seek " + h + " 0 1") == "ok 2");
    CHECK(b->ask("fwrite " + hb + " Z") == "ok 1");
    CHECK(a->ask("seek " + h + " 0 1") == "ok 3");
}

TEST_CASE("two handles of one file in one process share the position it keeps",
          "[multiproc][file][position][ce6]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    const std::string h1 = open_new(*a, "/Temp/twice.txt");
    REQUIRE(a->ask("fwrite " + h1 + " abc") == "ok 3");
    const std::string dup = a->ask("dup " + h1 + " " + kDupSameAccess);
    REQUIRE(field(dup, 0) == "ok");
    const std::string h2 = field(dup, 1);
    CHECK(a->ask("seek " + h2 + " 0 1") == "ok 3");
    CHECK(a->ask("fwrite " + h2 + " de") == "ok 2");
    CHECK(a->ask("seek " + h1 + " 0 1") == "ok 5");
    CHECK(a->ask("seek " + h1 + " -1 2") == "ok 4");
    CHECK(a->ask("fread " + h2 + " 5") == "ok e");
    CHECK(!kept_by(k, "\\Temp\\twice.txt").empty());  // still this process's alone
    // Seeks before the start fail and leave the position where it was.
    CHECK(a->ask("seek " + h1 + " -6 1") == "fail 131");  // ERROR_NEGATIVE_SEEK
    CHECK(a->ask("seek " + h2 + " 0 1") == "ok 5");
    // A close of one handle leaves the other's position.
    CHECK(field(a->ask("close " + h1), 0) == "ok");
    CHECK(a->ask("seek " + h2 + " 0 1") == "ok 5");
}

TEST_CASE("the position a killed process kept is where the next process goes on",
          "[multiproc][file][position][ce6]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string h = open_new(*a, "/Temp/orphan.txt");
    REQUIRE(a->ask("fwrite " + h + " abcd") == "ok 4");
    REQUIRE(a->ask("seek " + h + " 2 0") == "ok 2");
    const std::string hb = duplicate_into(*a, *b, h);
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s));
    REQUIRE(k.wait_for([&](const cek::proto::Snapshot& s) { return app_processes(s) == 1; }));
    CHECK(b->ask("fread " + hb + " 9") == "ok cd");
    CHECK(b->ask("seek " + hb + " 0 1") == "ok 4");
}

// Until a's records have begun to land in `rel` (readiness through the store's own file).
bool writing_begun(KernelFixture& k, const std::string& rel) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline)
        if (!host_file(k, rel).empty()) return true;
    return false;
}

// Each 16-byte record of `data`: whole, or (`holes`) all zero where a killed writer had taken
// the range; counted by content. False when one is neither.
bool count_records(const std::string& data, std::map<std::string, int>& seen, bool holes) {
    if (data.size() % 16 != 0) return false;
    for (size_t at = 0; at < data.size(); at += 16) {
        const std::string record = data.substr(at, 16);
        if (holes && record == std::string(16, '\0')) continue;
        if (record.back() != '\n' || (record[0] != 'A' && record[0] != 'B')) return false;
        ++seen[record];
    }
    return true;
}

TEST_CASE("threads writing through one handle while another process takes the position over "
          "lose no record and overlap none",
          "[multiproc][file][position][ce6]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string h = open_new(*a, "/Temp/records.txt");
    const std::string hb = duplicate_into(*a, *b, h);
    constexpr int kThreads = 4, kRecords = 20000, kOther = 200;
    a->write_line("bg frecords " + h + " " + std::to_string(kThreads) + " " +
                  std::to_string(kRecords) + " A");
    REQUIRE(a->read_line(10s) == std::optional<std::string>("started"));
    REQUIRE(writing_begun(k, "Temp/records.txt"));
    // b's writes land in the middle of a's: the first one takes the position over.
    CHECK(b->ask("frecords " + hb + " 1 " + std::to_string(kOther) + " B", 120s) == "ok 0");
    CHECK(a->read_line(120s) == std::optional<std::string>("bg ok 0"));
    const std::string data = host_file(k, "Temp/records.txt");
    CHECK(data.size() == 16u * (kThreads * kRecords + kOther));
    std::map<std::string, int> seen;
    CHECK(count_records(data, seen, false));
    CHECK(seen.size() == static_cast<size_t>(kThreads * kRecords + kOther));  // none twice
    if (data.rfind('A') < data.find('B'))
        WARN("a's threads finished before b's first write: no takeover in the middle");
}

TEST_CASE("a process killed with -9 in the middle of its threads' writes leaves the position "
          "after its last record for the next process",
          "[multiproc][file][position][ce6]") {
    KernelFixture k(kCe6Kernel);
    auto a = k.spawn_child();
    auto b = k.spawn_child();
    const std::string h = open_new(*a, "/Temp/killed.txt");
    const std::string hb = duplicate_into(*a, *b, h);
    a->write_line("bg frecords " + h + " 4 1000000 A");
    REQUIRE(a->read_line(10s) == std::optional<std::string>("started"));
    REQUIRE(writing_begun(k, "Temp/killed.txt"));
    a->kill(SIGKILL);
    REQUIRE(a->wait(10s));
    REQUIRE(k.wait_for([&](const cek::proto::Snapshot& s) { return app_processes(s) == 1; }));
    const size_t before = host_file(k, "Temp/killed.txt").size();
    CHECK(b->ask("frecords " + hb + " 1 100 B", 120s) == "ok 0");
    const std::string data = host_file(k, "Temp/killed.txt");
    // b goes on at the end: a write a's death cut short may have left one record's range
    // taken and empty (the range is taken before the data goes), never one b wrote over.
    REQUIRE(data.size() >= before + 1600);
    CHECK(data.size() - before - 1600 <= 4 * 16);
    std::map<std::string, int> seen;
    CHECK(count_records(data, seen, true));
    size_t b_records = 0, twice = 0;
    for (const auto& [record, n] : seen) {
        b_records += record[0] == 'B' ? n : 0;
        twice += n > 1;
    }
    CHECK(b_records == 100);
    CHECK(twice == 0);
    CHECK(data.find('B') + 4 * 16 >= before);  // (before may be under 4 records)
}

TEST_CASE("a thread suspended or terminated in the middle of its writes never keeps the file "
          "from its process's other threads",
          "[multiproc][file][position][threads]") {
    KernelFixture k;
    auto a = k.spawn_child();
    const std::string h = open_new(*a, "/Temp/parked.txt");
    const std::string t = a->ask("fwriter " + h);
    REQUIRE(field(t, 0) == "ok");
    REQUIRE(writing_begun(k, "Temp/parked.txt"));
    // The writer holds the file's turn nearly all the time: a park must wait for its write.
    CHECK(a->ask("suspend " + field(t, 1)) == "ok 0");
    CHECK(a->ask("fwrite " + h + " X", 30s) == "ok 1");
    CHECK(a->ask("resume " + field(t, 1)) == "ok 1");
    CHECK(a->ask("tterminate " + field(t, 1) + " 7") == "ok");
    CHECK(a->ask("wait 10000 " + field(t, 1)) == "ok 0x0");
    CHECK(a->ask("fwrite " + h + " Y", 30s) == "ok 1");
    // Every record is whole: no write was cut or left a hole.
    const std::string data = host_file(k, "Temp/parked.txt");
    REQUIRE(data.size() % 16 == 2);
    std::string records;
    for (char c : data)
        if (c != 'X' && c != 'Y') records += c;
    bool whole = records.size() % 16 == 0;
    for (size_t at = 0; whole && at < records.size(); at += 16)
        whole = records.compare(at, 16, "W-thread-record\n") == 0;
    CHECK(whole);
}

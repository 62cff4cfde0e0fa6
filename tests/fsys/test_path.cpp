// CE path syntax: separators, dots, limits, forbidden characters, patterns, UTF-8.
#include <catch2/catch.hpp>

#include <string>

#include "fsys/path.h"
#include "temp_root.h"

using cek::Win32Error;
using namespace cek::fsys;

namespace {
std::vector<std::u16string> comps(std::u16string_view p, PathKind kind = PathKind::file) {
    auto r = parse_path(p, kind);
    REQUIRE(r.ok());
    return r->components;
}
using V = std::vector<std::u16string>;
}  // namespace

TEST_CASE("Both separators split a path and repeated separators collapse", "[fsys][unit]") {
    CHECK(comps(u"\\a\\b") == V{u"a", u"b"});
    CHECK(comps(u"/a/b") == V{u"a", u"b"});
    CHECK(comps(u"\\\\a//\\b\\\\") == V{u"a", u"b"});
}

TEST_CASE("A path without a leading separator is taken from the root", "[fsys][unit]") {
    CHECK(comps(u"a\\b") == V{u"a", u"b"});
}

TEST_CASE("Dot components vanish and dot-dot pops, staying at the root", "[fsys][unit]") {
    CHECK(comps(u"\\a\\.\\b\\..\\c") == V{u"a", u"c"});
    CHECK(comps(u"\\..\\..\\a") == V{u"a"});
    CHECK(comps(u"\\a\\..\\..\\..\\b") == V{u"b"});
    CHECK(parse_path(u"\\").value().is_root());
    CHECK(parse_path(u"\\..").value().is_root());
}

TEST_CASE("An empty path is ERROR_PATH_NOT_FOUND", "[fsys][unit]") {
    CHECK(err(parse_path(u"")) == Win32Error::ERROR_PATH_NOT_FOUND);
}

TEST_CASE("A path of MAX_PATH characters counting the NUL is too long", "[fsys][unit]") {
    const std::u16string ok = u"\\" + std::u16string(200, u'a') + u"\\" + std::u16string(56, u'b');
    REQUIRE(ok.size() == 258);
    CHECK(parse_path(ok).ok());
    const std::u16string at_limit = ok + u"c";  // 259 characters + NUL = 260
    CHECK(err(parse_path(at_limit)) == Win32Error::ERROR_FILENAME_EXCED_RANGE);
}

TEST_CASE("A component longer than 255 characters is ERROR_FILENAME_EXCED_RANGE",
          "[fsys][unit]") {
    CHECK(parse_path(u"\\" + std::u16string(255, u'x')).ok());
    CHECK(err(parse_path(u"\\" + std::u16string(256, u'x'))) ==
          Win32Error::ERROR_FILENAME_EXCED_RANGE);
}

TEST_CASE("Forbidden characters are ERROR_INVALID_NAME", "[fsys][unit]") {
    for (char16_t c : std::u16string(u"*?<>:\"|")) {
        std::u16string p = u"\\dir\\a";
        p += c;
        INFO("char " << static_cast<int>(c));
        CHECK(err(parse_path(p)) == Win32Error::ERROR_INVALID_NAME);
    }
    CHECK(err(parse_path(std::u16string(u"\\a\x01")) ) == Win32Error::ERROR_INVALID_NAME);
    CHECK(err(parse_path(std::u16string(u"\\a\x1f" u"b"))) == Win32Error::ERROR_INVALID_NAME);
    CHECK(err(parse_path(std::u16string(u"\\a\0b", 4))) == Win32Error::ERROR_INVALID_NAME);
}

TEST_CASE("Wildcards are accepted only in a pattern's last component", "[fsys][unit]") {
    CHECK(comps(u"\\dir\\*.t?t", PathKind::pattern) == V{u"dir", u"*.t?t"});
    CHECK(err(parse_path(u"\\d*r\\x", PathKind::pattern)) == Win32Error::ERROR_INVALID_NAME);
    CHECK(err(parse_path(u"\\dir\\*.*")) == Win32Error::ERROR_INVALID_NAME);
    CHECK(err(parse_path(u"\\dir\\a:b", PathKind::pattern)) == Win32Error::ERROR_INVALID_NAME);
}

TEST_CASE("Trailing dots and spaces are stripped from every component", "[fsys][unit]") {
    CHECK(comps(u"\\dir. \\file.txt. . ") == V{u"dir", u"file.txt"});
    CHECK(comps(u"\\ lead") == V{u" lead"});  // leading spaces are part of the name
    CHECK(err(parse_path(u"\\...")) == Win32Error::ERROR_INVALID_NAME);
    CHECK(err(parse_path(u"\\a\\  \\b")) == Win32Error::ERROR_INVALID_NAME);
    // Wildcard components keep their dots: "*." is a different pattern from "*".
    CHECK(comps(u"\\*.", PathKind::pattern) == V{u"*."});
}

TEST_CASE("Unpaired surrogates are ERROR_INVALID_NAME and pairs are fine", "[fsys][unit]") {
    CHECK(err(parse_path(std::u16string(u"\\a") + char16_t(0xD800))) ==
          Win32Error::ERROR_INVALID_NAME);
    CHECK(err(parse_path(std::u16string(u"\\") + char16_t(0xDC00) + u"x")) ==
          Win32Error::ERROR_INVALID_NAME);
    CHECK(parse_path(u"\\\U0001F600.txt").ok());
}

TEST_CASE("format_path writes backslash-separated canonical paths", "[fsys][unit]") {
    CHECK(format_path({}) == u"\\");
    CHECK(format_path({u"My Documents", u"a.txt"}) == u"\\My Documents\\a.txt");
}

TEST_CASE("UTF-8 conversion round-trips and rejects malformed input", "[fsys][unit]") {
    const std::u16string s = u"h\u00e9llo \u4e2d \U0001F600";
    auto u8 = to_utf8(s);
    REQUIRE(u8);
    CHECK(*u8 == "h\xc3\xa9llo \xe4\xb8\xad \xf0\x9f\x98\x80");
    CHECK(from_utf8(*u8) == s);
    CHECK_FALSE(to_utf8(std::u16string(1, char16_t(0xD83D))));
    CHECK_FALSE(from_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(from_utf8("\xed\xa0\x80"));      // encoded surrogate
    CHECK_FALSE(from_utf8("\xe4\xb8"));          // truncated
    CHECK_FALSE(from_utf8("\xff"));
}

TEST_CASE("Host names CE cannot write are not addressable", "[fsys][unit]") {
    CHECK(is_addressable_name(u"Report 1.doc"));
    CHECK_FALSE(is_addressable_name(u"a:b"));
    CHECK_FALSE(is_addressable_name(u"trailing."));
    CHECK_FALSE(is_addressable_name(u"trailing "));
    CHECK_FALSE(is_addressable_name(u".."));
    CHECK_FALSE(is_addressable_name(u"back\\slash"));
    CHECK_FALSE(is_addressable_name(std::u16string(256, u'a')));
}

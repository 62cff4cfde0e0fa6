// MultiByteToWideChar, WideCharToMultiByte, CharLowerW and CharUpperW: one test per behaviour,
// with the exact error codes.
#include <catch2/catch.hpp>

#include <windows.h>

#include <cstring>
#include <string>

namespace {

std::u16string to_wide(UINT cp, const std::string& s, DWORD flags = 0) {
    int n = MultiByteToWideChar(cp, flags, s.data(), static_cast<int>(s.size()), nullptr, 0);
    std::u16string out(static_cast<size_t>(n), u'\0');
    if (n > 0) MultiByteToWideChar(cp, flags, s.data(), static_cast<int>(s.size()), out.data(), n);
    return out;
}

std::string to_narrow(UINT cp, const std::u16string& s, DWORD flags = 0) {
    int n = WideCharToMultiByte(cp, flags, s.data(), static_cast<int>(s.size()), nullptr, 0,
                                nullptr, nullptr);
    std::string out(static_cast<size_t>(n), '\0');
    if (n > 0)
        WideCharToMultiByte(cp, flags, s.data(), static_cast<int>(s.size()), out.data(), n,
                            nullptr, nullptr);
    return out;
}

}  // namespace

TEST_CASE("CP_ACP is Windows-1252, including the 0x80-0x9F specials", "[api][text]") {
    CHECK(to_wide(CP_ACP, "\x80\x82\x8A\x99\x9F") == u"\u20AC\u201A\u0160\u2122\u0178");
    CHECK(to_wide(1252, "\xE9\xFF") == u"\u00E9\u00FF");
    // The five unassigned bytes map to the C1 control of the same value, without an error.
    CHECK(to_wide(CP_ACP, "\x81\x8D\x8F\x90\x9D", MB_ERR_INVALID_CHARS) ==
          u"\u0081\u008D\u008F\u0090\u009D");
    CHECK(to_narrow(CP_ACP, u"\u20AC\u2014\u00E9") == "\x80\x97\xE9");
}

TEST_CASE("CP_OEMCP is code page 437, with glyphs on request", "[api][text]") {
    CHECK(to_wide(CP_OEMCP, "\x80\xC4\xE1") == u"\u00C7\u2500\u00DF");
    CHECK(to_wide(CP_OEMCP, "\x01\x7F") == u"\u0001\u007F");
    CHECK(to_wide(CP_OEMCP, "\x01\x7F", MB_USEGLYPHCHARS) == u"\u263A\u2302");
    CHECK(to_narrow(437, u"\u2500") == "\xC4");
}

TEST_CASE("CP_UTF8 round trips BMP and supplementary characters", "[api][text]") {
    std::string utf8 = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
    std::u16string wide = u"a\u00E9\u20AC\U0001F600";
    CHECK(to_wide(CP_UTF8, utf8) == wide);
    CHECK(to_narrow(CP_UTF8, wide) == utf8);
}

TEST_CASE("-1 lengths count the NUL and convert it", "[api][text]") {
    WCHAR out[8];
    CHECK(MultiByteToWideChar(CP_ACP, 0, "abc", -1, nullptr, 0) == 4);
    CHECK(MultiByteToWideChar(CP_ACP, 0, "abc", -1, out, 8) == 4);
    CHECK(out[3] == 0);
    char narrow[8];
    CHECK(WideCharToMultiByte(CP_UTF8, 0, u"\u00E9", -1, nullptr, 0, nullptr, nullptr) == 3);
    CHECK(WideCharToMultiByte(CP_UTF8, 0, u"\u00E9", -1, narrow, 8, nullptr, nullptr) == 3);
    CHECK(std::strcmp(narrow, "\xC3\xA9") == 0);
}

TEST_CASE("a short output buffer fails with ERROR_INSUFFICIENT_BUFFER", "[api][text]") {
    WCHAR out[2];
    SetLastError(0);
    CHECK(MultiByteToWideChar(CP_ACP, 0, "abc", 3, out, 2) == 0);
    CHECK(GetLastError() == ERROR_INSUFFICIENT_BUFFER);
    char narrow[3];
    SetLastError(0);
    CHECK(WideCharToMultiByte(CP_UTF8, 0, u"\u20AC", 1, narrow, 2, nullptr, nullptr) == 0);
    CHECK(GetLastError() == ERROR_INSUFFICIENT_BUFFER);
}

TEST_CASE("bad arguments fail with ERROR_INVALID_PARAMETER", "[api][text]") {
    WCHAR out[4];
    auto fails = [](int r) { return r == 0 && GetLastError() == ERROR_INVALID_PARAMETER; };
    CHECK(fails(MultiByteToWideChar(CP_ACP, 0, nullptr, 1, out, 4)));
    CHECK(fails(MultiByteToWideChar(CP_ACP, 0, "a", 0, out, 4)));
    CHECK(fails(MultiByteToWideChar(CP_ACP, 0, "a", -2, out, 4)));
    CHECK(fails(MultiByteToWideChar(CP_ACP, 0, "a", 1, out, -1)));
    CHECK(fails(MultiByteToWideChar(CP_ACP, 0, "a", 1, nullptr, 4)));
    CHECK(fails(MultiByteToWideChar(932, 0, "a", 1, out, 4)));  // no such page here
    char buf[8] = "abcdefg";
    CHECK(fails(MultiByteToWideChar(CP_ACP, 0, buf, 4, reinterpret_cast<LPWSTR>(buf), 2)));
    char narrow[4];
    CHECK(fails(WideCharToMultiByte(CP_ACP, 0, nullptr, 1, narrow, 4, nullptr, nullptr)));
    CHECK(fails(WideCharToMultiByte(CP_ACP, 0, u"a", 0, narrow, 4, nullptr, nullptr)));
    BOOL used = FALSE;
    CHECK(fails(WideCharToMultiByte(CP_UTF8, 0, u"a", 1, narrow, 4, nullptr, &used)));
    CHECK(fails(WideCharToMultiByte(CP_UTF8, 0, u"a", 1, narrow, 4, "?", nullptr)));
}

TEST_CASE("unknown flags fail with ERROR_INVALID_FLAGS", "[api][text]") {
    WCHAR out[4];
    char narrow[4];
    SetLastError(0);
    CHECK(MultiByteToWideChar(CP_UTF8, MB_PRECOMPOSED, "a", 1, out, 4) == 0);
    CHECK(GetLastError() == ERROR_INVALID_FLAGS);
    SetLastError(0);
    CHECK(MultiByteToWideChar(CP_ACP, MB_PRECOMPOSED | MB_COMPOSITE, "a", 1, out, 4) == 0);
    CHECK(GetLastError() == ERROR_INVALID_FLAGS);
    SetLastError(0);
    CHECK(WideCharToMultiByte(CP_UTF8, WC_COMPOSITECHECK, u"a", 1, narrow, 4, nullptr, nullptr) == 0);
    CHECK(GetLastError() == ERROR_INVALID_FLAGS);
    SetLastError(0);
    CHECK(WideCharToMultiByte(CP_ACP, 0x80000, u"a", 1, narrow, 4, nullptr, nullptr) == 0);
    CHECK(GetLastError() == ERROR_INVALID_FLAGS);
}

TEST_CASE("malformed UTF-8 is dropped, or ERROR_NO_UNICODE_TRANSLATION with MB_ERR_INVALID_CHARS",
          "[api][text]") {
    // A stray continuation byte, an overlong form, a truncated sequence before 'b'.
    std::string bad = "a\x80" "\xC0\xAF" "\xE2\x82" "b";
    CHECK(to_wide(CP_UTF8, bad) == u"ab");
    WCHAR out[8];
    SetLastError(0);
    CHECK(MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, bad.data(), int(bad.size()), out, 8) == 0);
    CHECK(GetLastError() == ERROR_NO_UNICODE_TRANSLATION);
    CHECK(to_wide(CP_UTF8, "ok", MB_ERR_INVALID_CHARS) == u"ok");
}

TEST_CASE("lone surrogates travel as three UTF-8 bytes both ways", "[api][text]") {
    std::u16string lone = u"x";
    lone += char16_t(0xD800);
    CHECK(to_narrow(CP_UTF8, lone) == "x\xED\xA0\x80");
    CHECK(to_wide(CP_UTF8, "x\xED\xA0\x80") == lone);
}

TEST_CASE("characters the page lacks become the default character", "[api][text]") {
    char out[8];
    BOOL used = FALSE;
    CHECK(WideCharToMultiByte(CP_ACP, 0, u"a\u0410b", 3, out, 8, nullptr, &used) == 3);
    CHECK(std::string(out, 3) == "a?b");
    CHECK(used == TRUE);
    used = TRUE;
    CHECK(WideCharToMultiByte(CP_ACP, 0, u"ab", 2, out, 8, nullptr, &used) == 2);
    CHECK(used == FALSE);
    CHECK(WideCharToMultiByte(CP_ACP, 0, u"\u0410", 1, out, 8, "#", &used) == 1);
    CHECK(out[0] == '#');
    CHECK(used == TRUE);
}

TEST_CASE("MB_COMPOSITE splits and WC_COMPOSITECHECK joins accented letters", "[api][text]") {
    CHECK(to_wide(CP_ACP, "\xE9", MB_COMPOSITE) == u"e\u0301");
    CHECK(to_narrow(CP_ACP, u"e\u0301", WC_COMPOSITECHECK) == "\xE9");
    CHECK(to_narrow(CP_ACP, u"e\u0301") == "e?");  // without the check: separately
    CHECK(to_narrow(CP_ACP, u"q\u0301", WC_COMPOSITECHECK | WC_DISCARDNS) == "q");
    CHECK(to_narrow(CP_ACP, u"q\u0301", WC_COMPOSITECHECK | WC_DEFAULTCHAR) == "?");
    CHECK(to_narrow(CP_ACP, u"q\u0301", WC_COMPOSITECHECK | WC_SEPCHARS) == "q?");
}

TEST_CASE("CharUpperW and CharLowerW convert strings in place", "[api][text]") {
    WCHAR s[] = u"Abc\u00E9\u0434\u03C3\u00FF";
    CHECK(CharUpperW(s) == s);
    CHECK(std::u16string(s) == u"ABC\u00C9\u0414\u03A3\u0178");
    CHECK(CharLowerW(s) == s);
    CHECK(std::u16string(s) == u"abc\u00E9\u0434\u03C3\u00FF");
}

TEST_CASE("CharUpperW and CharLowerW take one character in the low word", "[api][text]") {
    auto one = [](WCHAR c) { return reinterpret_cast<LPWSTR>(static_cast<uintptr_t>(c)); };
    CHECK(reinterpret_cast<uintptr_t>(CharUpperW(one(u'q'))) == u'Q');
    CHECK(reinterpret_cast<uintptr_t>(CharLowerW(one(u'\u0178'))) == 0x00FF);
    CHECK(reinterpret_cast<uintptr_t>(CharLowerW(one(u'1'))) == u'1');
}

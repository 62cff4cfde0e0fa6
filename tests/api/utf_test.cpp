// common/utf.h, the project's one UTF-16 <-> UTF-8 conversion: its lenient policy is exactly
// CE's CP_UTF8 (MultiByteToWideChar / WideCharToMultiByte without flags, which use its building
// blocks), its strict one refuses what a host file name cannot carry.
#include <catch2/catch.hpp>

#include <windows.h>

#include <random>
#include <string>

#include "common/utf.h"

namespace {

std::u16string api_wide(const std::string& s) {
    if (s.empty()) return {};
    int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
    std::u16string out(static_cast<size_t>(n), u'\0');
    if (n > 0) MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n);
    return out;
}

std::string api_narrow(const std::u16string& s) {
    if (s.empty()) return {};
    int n = WideCharToMultiByte(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0,
                                nullptr, nullptr);
    std::string out(static_cast<size_t>(n), '\0');
    if (n > 0)
        WideCharToMultiByte(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n,
                            nullptr, nullptr);
    return out;
}

}  // namespace

TEST_CASE("utf.h: well-formed text converts both ways under both policies", "[api][utf]") {
    const std::u16string wide = u"a\u00e9\u20ac\U0001F600z";
    const std::string narrow = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";
    CHECK(cek::utf8_from_utf16(wide) == narrow);
    CHECK(cek::utf8_from_utf16_strict(wide) == narrow);
    CHECK(cek::utf16_from_utf8(narrow) == wide);
    CHECK(cek::utf16_from_utf8_strict(narrow) == wide);
    CHECK(cek::utf8_from_utf16(u"").empty());
    CHECK(cek::utf16_from_utf8("").empty());
}

TEST_CASE("utf.h: unpaired surrogates", "[api][utf]") {
    const std::u16string lone = {u'a', 0xD800, u'b', 0xDC00};
    // Lenient: three bytes of their own value, and back.
    CHECK(cek::utf8_from_utf16(lone) == "a\xED\xA0\x80" "b\xED\xB0\x80");
    CHECK(cek::utf16_from_utf8("a\xED\xA0\x80" "b\xED\xB0\x80") == lone);
    // Strict: refused either way.
    CHECK_FALSE(cek::utf8_from_utf16_strict(lone));
    CHECK_FALSE(cek::utf8_from_utf16_strict(std::u16string(1, char16_t(0xDBFF))));
    CHECK_FALSE(cek::utf16_from_utf8_strict("\xED\xA0\x80"));
}

TEST_CASE("utf.h: malformed UTF-8", "[api][utf]") {
    // Lenient drops the lead byte and the continuation bytes read before the fault.
    CHECK(cek::utf16_from_utf8("a\xC0\xAF" "b") == u"ab");        // overlong
    CHECK(cek::utf16_from_utf8("a\xE2\x82" "b") == u"ab");        // cut short
    CHECK(cek::utf16_from_utf8("a\x80\xBF" "b") == u"ab");        // stray continuations
    CHECK(cek::utf16_from_utf8("a\xF4\x90\x80\x80" "b") == u"ab");  // over U+10FFFF
    CHECK(cek::utf16_from_utf8("\xE2\x82") == u"");
    for (const char* bad : {"\xC0\xAF", "\xE2\x82", "\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80",
                            "\xE0\x80\x80", "\xFF"})
        CHECK_FALSE(cek::utf16_from_utf8_strict(bad));
}

TEST_CASE("utf.h: the lenient policy is CE's CP_UTF8, on random input", "[api][utf]") {
    std::mt19937 rng(20261125);
    for (int round = 0; round < 2000; ++round) {
        std::string bytes(rng() % 24, '\0');
        for (auto& b : bytes) {
            // Mostly the interesting bytes: leads, continuations, ED (surrogates), F4/F5.
            const unsigned char pick[] = {0x41, 0x80, 0xBF, 0xC2, 0xC0, 0xDF, 0xE0, 0xED, 0xA0,
                                          0xEF, 0xF0, 0xF4, 0xF5, 0x90, 0x8F, 0xFF};
            b = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : pick[rng() % sizeof pick]);
        }
        INFO("bytes of round " << round);
        CHECK(cek::utf16_from_utf8(bytes) == api_wide(bytes));
        std::u16string units(rng() % 16, u'\0');
        for (auto& u : units) {
            const char16_t pick[] = {u'a', 0x7F, 0x80, 0x7FF, 0x800, 0xD800, 0xDBFF, 0xDC00,
                                     0xDFFF, 0xE000, 0xFFFF};
            u = rng() % 4 == 0 ? static_cast<char16_t>(rng()) : pick[rng() % (sizeof pick / 2)];
        }
        CHECK(cek::utf8_from_utf16(units) == api_narrow(units));
        // Strict accepts exactly the text without unpaired surrogates, then agrees with lenient.
        auto strict = cek::utf8_from_utf16_strict(units);
        if (strict) CHECK(*strict == api_narrow(units));
        if (strict) CHECK(cek::utf16_from_utf8_strict(*strict) == units);
    }
}

// The project's one UTF-16 <-> UTF-8 conversion (header only).
//
// Two policies, because the project has two kinds of callers:
// - lenient (utf8_from_utf16, utf16_from_utf8): what WideCharToMultiByte and
//   MultiByteToWideChar do with CP_UTF8 and no flags in CE 5's time. An unpaired surrogate is
//   encoded as the three bytes of its own value (and such three bytes decode back to it), so a
//   CE name always survives the round trip; malformed UTF-8 (a bad lead byte, a missing
//   continuation, an overlong form, a value over U+10FFFF) is dropped: the lead byte and the
//   continuation bytes read before the fault, resuming at the first byte that could not continue.
//   Used by the shim (debug output, library names) and by cedump for display.
// - strict (utf8_from_utf16_strict, utf16_from_utf8_strict): nullopt on an unpaired surrogate,
//   on any malformed UTF-8 and on UTF-8 that encodes a surrogate. Used for host file names,
//   which must map one to one.
// The building blocks (next_utf16, put_utf8, decode_utf8, put_utf16) also serve
// MultiByteToWideChar / WideCharToMultiByte, which write into bounded buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cek::utf {

inline constexpr char32_t kInvalid = 0xFFFFFFFF;  // decode_utf8: a malformed sequence

constexpr bool is_high_surrogate(char32_t c) { return c >= 0xD800 && c <= 0xDBFF; }
constexpr bool is_low_surrogate(char32_t c) { return c >= 0xDC00 && c <= 0xDFFF; }
constexpr bool is_surrogate(char32_t c) { return c >= 0xD800 && c <= 0xDFFF; }

// The code point at s[i] (i < n), moving i past it: a surrogate pair joined, an unpaired
// surrogate as itself. `Unit` is any 16-bit code unit type (char16_t, or WCHAR as wchar_t with
// -fshort-wchar).
template <class Unit>
constexpr char32_t next_utf16(const Unit* s, size_t n, size_t& i) {
    char32_t c = static_cast<char16_t>(s[i++]);
    if (is_high_surrogate(c) && i < n) {
        char32_t low = static_cast<char16_t>(s[i]);
        if (is_low_surrogate(low)) {
            ++i;
            return 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
        }
    }
    return c;
}

// Calls put(char) for each UTF-8 byte of `c` (below 0x110000; a surrogate takes three bytes).
template <class Put>
constexpr void put_utf8(char32_t c, Put&& put) {
    if (c < 0x80) {
        put(static_cast<char>(c));
    } else if (c < 0x800) {
        put(static_cast<char>(0xC0 | (c >> 6)));
        put(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        put(static_cast<char>(0xE0 | (c >> 12)));
        put(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        put(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        put(static_cast<char>(0xF0 | (c >> 18)));
        put(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        put(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        put(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

// The code point of the UTF-8 sequence at s[i] (i < n), moving i past it; kInvalid for a
// malformed one, with i past its lead byte and the continuation bytes read before the fault.
// Encoded surrogates (ED A0 80 ... ED BF BF) are returned as they are: callers decide.
constexpr char32_t decode_utf8(const unsigned char* s, size_t n, size_t& i) {
    const unsigned char b = s[i];
    if (b < 0x80) {
        ++i;
        return b;
    }
    int trail = 0;
    char32_t cp = 0, min = 0;
    if (b >= 0xC2 && b <= 0xDF) {
        trail = 1, cp = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        trail = 2, cp = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        trail = 3, cp = b & 0x07, min = 0x10000;
    }
    size_t j = i + 1;
    bool ok = trail > 0;
    for (int t = 0; ok && t < trail; ++t, ++j) {
        if (j >= n || (s[j] & 0xC0) != 0x80) {
            ok = false;
            break;
        }
        cp = (cp << 6) | (s[j] & 0x3F);
    }
    i = j;
    return ok && cp >= min && cp <= 0x10FFFF ? cp : kInvalid;
}

// Calls put(char16_t) for each UTF-16 unit of `c` (below 0x110000).
template <class Put>
constexpr void put_utf16(char32_t c, Put&& put) {
    if (c >= 0x10000) {
        c -= 0x10000;
        put(static_cast<char16_t>(0xD800 | (c >> 10)));
        put(static_cast<char16_t>(0xDC00 | (c & 0x3FF)));
    } else {
        put(static_cast<char16_t>(c));
    }
}

}  // namespace cek::utf

namespace cek {

// UTF-16 -> UTF-8, lenient: an unpaired surrogate becomes the three bytes of its value. The
// pointer form takes any 16-bit unit type (the shim's WCHAR).
template <class Unit>
std::string utf8_from_utf16(const Unit* s, size_t n) {
    std::string out;
    out.reserve(n);
    for (size_t i = 0; i < n;) utf::put_utf8(utf::next_utf16(s, n, i), [&](char b) { out += b; });
    return out;
}
inline std::string utf8_from_utf16(std::u16string_view text) {
    return utf8_from_utf16(text.data(), text.size());
}

// UTF-16 -> UTF-8; nullopt on an unpaired surrogate.
// Written through a pointer into room for the worst case (three bytes per unit; a pair's four
// bytes fit in its six): every host name of every lookup passes through here.
inline std::optional<std::string> utf8_from_utf16_strict(std::u16string_view text) {
    std::string out(text.size() * 3, '\0');
    char* p = out.data();
    for (size_t i = 0; i < text.size();) {
        const char32_t c = utf::next_utf16(text.data(), text.size(), i);
        if (utf::is_surrogate(c)) return std::nullopt;
        utf::put_utf8(c, [&](char b) { *p++ = b; });
    }
    out.resize(static_cast<size_t>(p - out.data()));
    return out;
}

// UTF-8 -> UTF-16, lenient: malformed bytes are dropped, encoded surrogates kept as themselves.
inline std::u16string utf16_from_utf8(std::string_view text) {
    std::u16string out;
    out.reserve(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t i = 0; i < text.size();) {
        const char32_t c = utf::decode_utf8(s, text.size(), i);
        if (c != utf::kInvalid) utf::put_utf16(c, [&](char16_t u) { out += u; });
    }
    return out;
}

// UTF-8 -> UTF-16; nullopt on any malformed, overlong or surrogate-encoding sequence.
inline std::optional<std::u16string> utf16_from_utf8_strict(std::string_view text) {
    std::u16string out;
    out.reserve(text.size());
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    for (size_t i = 0; i < text.size();) {
        const char32_t c = utf::decode_utf8(s, text.size(), i);
        if (c == utf::kInvalid || utf::is_surrogate(c)) return std::nullopt;
        utf::put_utf16(c, [&](char16_t u) { out += u; });
    }
    return out;
}

}  // namespace cek

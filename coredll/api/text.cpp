// MultiByteToWideChar, WideCharToMultiByte, CharLowerW and CharUpperW.
//
// Code pages as on an English CE 5 device: CP_ACP is Windows-1252, CP_OEMCP is 437, both also
// by number, and CP_UTF8. Single-byte pages map every byte (1252's five unassigned bytes go to
// the C1 control of the same value, as Windows' own table does); characters a page lacks become
// the default character. UTF-8 behaves as in the Windows releases of CE 5's time: without
// MB_ERR_INVALID_CHARS malformed bytes are dropped, lone surrogates are encoded and decoded as
// three bytes, and no flags other than MB_ERR_INVALID_CHARS are allowed.
#include <array>
#include <cstring>
#include <string_view>

#include "common/utf.h"
#include "coredll/api/api.h"
#include "fsys/fold.h"

using namespace cek::coredll;

namespace {

constexpr char16_t k1252High[128] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,  // 0x80
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,  // 0x88
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,  // 0x90
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,  // 0x98
    0x00A0, 0x00A1, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6, 0x00A7,  // 0xA0: Latin-1 from here
    0x00A8, 0x00A9, 0x00AA, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
    0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7,
    0x00B8, 0x00B9, 0x00BA, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x00BF,
    0x00C0, 0x00C1, 0x00C2, 0x00C3, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
    0x00C8, 0x00C9, 0x00CA, 0x00CB, 0x00CC, 0x00CD, 0x00CE, 0x00CF,
    0x00D0, 0x00D1, 0x00D2, 0x00D3, 0x00D4, 0x00D5, 0x00D6, 0x00D7,
    0x00D8, 0x00D9, 0x00DA, 0x00DB, 0x00DC, 0x00DD, 0x00DE, 0x00DF,
    0x00E0, 0x00E1, 0x00E2, 0x00E3, 0x00E4, 0x00E5, 0x00E6, 0x00E7,
    0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x00EC, 0x00ED, 0x00EE, 0x00EF,
    0x00F0, 0x00F1, 0x00F2, 0x00F3, 0x00F4, 0x00F5, 0x00F6, 0x00F7,
    0x00F8, 0x00F9, 0x00FA, 0x00FB, 0x00FC, 0x00FD, 0x00FE, 0x00FF,
};

constexpr char16_t k437High[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,  // 0x80
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,  // 0x88
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,  // 0x90
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,  // 0x98
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,  // 0xA0
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,  // 0xA8
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,  // 0xB0: box drawing
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,  // 0xE0: Greek and maths
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};

// 437's glyphs for the control bytes 0x01-0x1F (MB_USEGLYPHCHARS); 0x7F is U+2302.
constexpr char16_t k437Glyphs[32] = {
    0x0000, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
    0x25D8, 0x25CB, 0x25D9, 0x2642, 0x2640, 0x266A, 0x266B, 0x263C,
    0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7, 0x25AC, 0x21A8,
    0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC,
};

// Letter + combining mark = precomposed character, for every precomposed character 1252 or 437
// holds: MB_COMPOSITE splits them, WC_COMPOSITECHECK joins them.
struct Composition {
    char16_t base, mark, composed;
};
constexpr Composition kCompositions[] = {
    {0x0041, 0x0300, 0x00C0}, {0x0041, 0x0301, 0x00C1}, {0x0041, 0x0302, 0x00C2},
    {0x0041, 0x0303, 0x00C3}, {0x0041, 0x0308, 0x00C4}, {0x0041, 0x030A, 0x00C5},
    {0x0043, 0x0327, 0x00C7}, {0x0045, 0x0300, 0x00C8}, {0x0045, 0x0301, 0x00C9},
    {0x0045, 0x0302, 0x00CA}, {0x0045, 0x0308, 0x00CB}, {0x0049, 0x0300, 0x00CC},
    {0x0049, 0x0301, 0x00CD}, {0x0049, 0x0302, 0x00CE}, {0x0049, 0x0308, 0x00CF},
    {0x004E, 0x0303, 0x00D1}, {0x004F, 0x0300, 0x00D2}, {0x004F, 0x0301, 0x00D3},
    {0x004F, 0x0302, 0x00D4}, {0x004F, 0x0303, 0x00D5}, {0x004F, 0x0308, 0x00D6},
    {0x0055, 0x0300, 0x00D9}, {0x0055, 0x0301, 0x00DA}, {0x0055, 0x0302, 0x00DB},
    {0x0055, 0x0308, 0x00DC}, {0x0059, 0x0301, 0x00DD}, {0x0061, 0x0300, 0x00E0},
    {0x0061, 0x0301, 0x00E1}, {0x0061, 0x0302, 0x00E2}, {0x0061, 0x0303, 0x00E3},
    {0x0061, 0x0308, 0x00E4}, {0x0061, 0x030A, 0x00E5}, {0x0063, 0x0327, 0x00E7},
    {0x0065, 0x0300, 0x00E8}, {0x0065, 0x0301, 0x00E9}, {0x0065, 0x0302, 0x00EA},
    {0x0065, 0x0308, 0x00EB}, {0x0069, 0x0300, 0x00EC}, {0x0069, 0x0301, 0x00ED},
    {0x0069, 0x0302, 0x00EE}, {0x0069, 0x0308, 0x00EF}, {0x006E, 0x0303, 0x00F1},
    {0x006F, 0x0300, 0x00F2}, {0x006F, 0x0301, 0x00F3}, {0x006F, 0x0302, 0x00F4},
    {0x006F, 0x0303, 0x00F5}, {0x006F, 0x0308, 0x00F6}, {0x0075, 0x0300, 0x00F9},
    {0x0075, 0x0301, 0x00FA}, {0x0075, 0x0302, 0x00FB}, {0x0075, 0x0308, 0x00FC},
    {0x0079, 0x0301, 0x00FD}, {0x0079, 0x0308, 0x00FF}, {0x0053, 0x030C, 0x0160},
    {0x0073, 0x030C, 0x0161}, {0x0059, 0x0308, 0x0178}, {0x005A, 0x030C, 0x017D},
    {0x007A, 0x030C, 0x017E},
};

const Composition* decomposition_of(char16_t c) {
    for (const auto& k : kCompositions)
        if (k.composed == c) return &k;
    return nullptr;
}
char16_t compose(char16_t base, char16_t mark) {
    for (const auto& k : kCompositions)
        if (k.base == base && k.mark == mark) return k.composed;
    return 0;
}
bool is_nonspacing_mark(char16_t c) { return c >= 0x0300 && c <= 0x036F; }

// A single-byte code page: its upper half and the reverse map, built once.
class SingleByte {
public:
    explicit SingleByte(const char16_t (&high)[128], bool glyphs) : high_(high), glyphs_(glyphs) {
        for (int b = 0; b < 0x80; ++b) encode_[b] = static_cast<uint16_t>(0x100 | b);
        for (int b = 0x80; b < 0x100; ++b) encode_[high[b - 0x80]] = static_cast<uint16_t>(0x100 | b);
    }
    char16_t decode(unsigned char b, bool use_glyphs) const {
        if (b >= 0x80) return high_[b - 0x80];
        if (use_glyphs && glyphs_) {
            if (b >= 0x01 && b < 0x20) return k437Glyphs[b];
            if (b == 0x7F) return 0x2302;
        }
        return b;
    }
    // The byte for `c`, or -1 when the page lacks it.
    int encode(char16_t c) const { return encode_[c] != 0 ? encode_[c] & 0xFF : -1; }

private:
    const char16_t* high_;
    bool glyphs_;
    std::array<uint16_t, 0x10000> encode_{};  // 0x100 | byte; 0 = unmapped
};

const SingleByte& cp1252() {
    static const SingleByte page(k1252High, false);
    return page;
}
const SingleByte& cp437() {
    static const SingleByte page(k437High, true);
    return page;
}

enum class Page { single_byte, utf8 };

// Resolves a code page argument; null with ERROR_INVALID_PARAMETER set for unknown pages.
bool resolve(UINT code_page, Page& kind, const SingleByte*& page) {
    switch (code_page) {
    case CP_ACP:
    case 1252:
        kind = Page::single_byte;
        page = &cp1252();
        return true;
    case CP_OEMCP:
    case 437:
        kind = Page::single_byte;
        page = &cp437();
        return true;
    case CP_UTF8:
        kind = Page::utf8;
        page = nullptr;
        return true;
    default:
        set_last_error(ERROR_INVALID_PARAMETER);
        return false;
    }
}

// Output of a conversion: counts always, stores while there is room.
template <class Unit>
class Sink {
public:
    Sink(Unit* out, int capacity) : out_(out), capacity_(out ? capacity : 0), counting_(capacity == 0) {}
    void put(Unit u) {
        if (!counting_) {
            if (count_ >= capacity_) {
                overflow_ = true;
                return;
            }
            out_[count_] = u;
        }
        ++count_;
    }
    // The function's result: the count, or 0 with ERROR_INSUFFICIENT_BUFFER.
    int finish() const {
        if (overflow_) {
            set_last_error(ERROR_INSUFFICIENT_BUFFER);
            return 0;
        }
        return count_;
    }
    bool full() const { return overflow_; }

private:
    Unit* out_;
    int capacity_;
    bool counting_;
    int count_ = 0;
    bool overflow_ = false;
};

bool overlaps(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
    auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
    return pa < pb + b_bytes && pb < pa + a_bytes;
}

// Decodes UTF-8 into `out` (common/utf.h's lenient policy). False
// (ERROR_NO_UNICODE_TRANSLATION) on malformed input when `strict`; otherwise malformed bytes
// are dropped. Encoded surrogates decode as themselves either way.
bool utf8_decode(const unsigned char* s, size_t n, bool strict, Sink<WCHAR>& out) {
    for (size_t i = 0; i < n && !out.full();) {
        const char32_t cp = cek::utf::decode_utf8(s, n, i);
        if (cp != cek::utf::kInvalid) {
            cek::utf::put_utf16(cp, [&](char16_t u) { out.put(static_cast<WCHAR>(u)); });
        } else if (strict) {
            set_last_error(ERROR_NO_UNICODE_TRANSLATION);
            return false;
        }
    }
    return true;
}

// Encodes UTF-16 as UTF-8; a lone surrogate is encoded as it stands (three bytes).
void utf8_encode(const WCHAR* s, size_t n, Sink<char>& out) {
    for (size_t i = 0; i < n && !out.full();)
        cek::utf::put_utf8(cek::utf::next_utf16(s, n, i), [&](char b) { out.put(b); });
}

size_t wide_length(const WCHAR* s) {
    size_t n = 0;
    while (s[n] != 0) ++n;
    return n;
}

// CharLowerW's table: the inverse of the file system's upper-case folding. Where two lower-case
// characters fold to one capital (micro sign and mu, final and medial sigma) the ordinary letter
// wins.
const std::array<char16_t, 0x10000>& lower_table() {
    static const auto table = [] {
        std::array<char16_t, 0x10000> t{};
        for (uint32_t c = 0; c < 0x10000; ++c) t[c] = static_cast<char16_t>(c);
        for (uint32_t c = 0; c < 0x10000; ++c) {
            char16_t up = cek::fsys::fold_char(static_cast<char16_t>(c));
            if (up != c && c != 0x00B5 && c != 0x03C2) t[up] = static_cast<char16_t>(c);
        }
        return t;
    }();
    return table;
}

template <class Map>
LPWSTR change_case(LPWSTR s, Map map) {
    auto v = reinterpret_cast<uintptr_t>(s);
    if ((v >> 16) == 0) return reinterpret_cast<LPWSTR>(static_cast<uintptr_t>(map(static_cast<char16_t>(v))));
    for (WCHAR* p = s; *p != 0; ++p) *p = static_cast<WCHAR>(map(static_cast<char16_t>(*p)));
    return s;
}

}  // namespace

extern "C" {

int WINAPI MultiByteToWideChar(UINT CodePage, DWORD dwFlags, LPCSTR lpMultiByteStr,
                               int cbMultiByte, LPWSTR lpWideCharStr, int cchWideChar) {
    if (lpMultiByteStr == nullptr || cbMultiByte == 0 || cbMultiByte < -1 || cchWideChar < 0 ||
        (lpWideCharStr == nullptr && cchWideChar > 0)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    size_t n = cbMultiByte == -1 ? std::strlen(lpMultiByteStr) + 1 : size_t(cbMultiByte);
    if (cchWideChar > 0 && overlaps(lpMultiByteStr, n, lpWideCharStr, size_t(cchWideChar) * sizeof(WCHAR))) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    Page kind;
    const SingleByte* page;
    if (!resolve(CodePage, kind, page)) return 0;
    const auto* s = reinterpret_cast<const unsigned char*>(lpMultiByteStr);
    Sink<WCHAR> out(lpWideCharStr, cchWideChar);

    if (kind == Page::utf8) {
        if ((dwFlags & ~DWORD{MB_ERR_INVALID_CHARS}) != 0) {
            set_last_error(ERROR_INVALID_FLAGS);
            return 0;
        }
        if (!utf8_decode(s, n, (dwFlags & MB_ERR_INVALID_CHARS) != 0, out)) return 0;
        return out.finish();
    }
    constexpr DWORD kKnown = MB_PRECOMPOSED | MB_COMPOSITE | MB_USEGLYPHCHARS | MB_ERR_INVALID_CHARS;
    if ((dwFlags & ~kKnown) != 0 || (dwFlags & (MB_PRECOMPOSED | MB_COMPOSITE)) ==
                                        (MB_PRECOMPOSED | MB_COMPOSITE)) {
        set_last_error(ERROR_INVALID_FLAGS);
        return 0;
    }
    // Every byte of 1252 and 437 is defined, so MB_ERR_INVALID_CHARS never fails here.
    const bool glyphs = (dwFlags & MB_USEGLYPHCHARS) != 0;
    const bool composite = (dwFlags & MB_COMPOSITE) != 0;
    for (size_t i = 0; i < n && !out.full(); ++i) {
        char16_t c = page->decode(s[i], glyphs);
        const Composition* d = composite ? decomposition_of(c) : nullptr;
        if (d != nullptr) {
            out.put(static_cast<WCHAR>(d->base));
            out.put(static_cast<WCHAR>(d->mark));
        } else {
            out.put(static_cast<WCHAR>(c));
        }
    }
    return out.finish();
}

int WINAPI WideCharToMultiByte(UINT CodePage, DWORD dwFlags, LPCWSTR lpWideCharStr,
                               int cchWideChar, LPSTR lpMultiByteStr, int cbMultiByte,
                               LPCSTR lpDefaultChar, LPBOOL lpUsedDefaultChar) {
    if (lpWideCharStr == nullptr || cchWideChar == 0 || cchWideChar < -1 || cbMultiByte < 0 ||
        (lpMultiByteStr == nullptr && cbMultiByte > 0)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    size_t n = cchWideChar == -1 ? wide_length(lpWideCharStr) + 1 : size_t(cchWideChar);
    if (cbMultiByte > 0 && overlaps(lpWideCharStr, n * sizeof(WCHAR), lpMultiByteStr, size_t(cbMultiByte))) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    Page kind;
    const SingleByte* page;
    if (!resolve(CodePage, kind, page)) return 0;
    Sink<char> out(lpMultiByteStr, cbMultiByte);

    if (kind == Page::utf8) {
        if (dwFlags != 0) {
            set_last_error(ERROR_INVALID_FLAGS);
            return 0;
        }
        if (lpDefaultChar != nullptr || lpUsedDefaultChar != nullptr) {
            set_last_error(ERROR_INVALID_PARAMETER);
            return 0;
        }
        utf8_encode(lpWideCharStr, n, out);
        return out.finish();
    }
    constexpr DWORD kKnown = WC_COMPOSITECHECK | WC_DISCARDNS | WC_SEPCHARS | WC_DEFAULTCHAR;
    if ((dwFlags & ~kKnown) != 0) {
        set_last_error(ERROR_INVALID_FLAGS);
        return 0;
    }
    const char fallback = lpDefaultChar != nullptr ? lpDefaultChar[0] : '?';
    bool used_default = false;
    auto put_char = [&](char16_t c) {
        int b = page->encode(c);
        if (b < 0) {
            used_default = true;
            out.put(fallback);
        } else {
            out.put(static_cast<char>(b));
        }
    };
    const bool check = (dwFlags & WC_COMPOSITECHECK) != 0;
    for (size_t i = 0; i < n && !out.full(); ++i) {
        auto c = static_cast<char16_t>(lpWideCharStr[i]);
        char16_t next = i + 1 < n ? static_cast<char16_t>(lpWideCharStr[i + 1]) : 0;
        if (check && is_nonspacing_mark(next) && page->encode(c) >= 0) {
            // A letter and a combining mark: the precomposed character if the page has it;
            // otherwise WC_DISCARDNS drops the mark, WC_DEFAULTCHAR replaces the pair and
            // WC_SEPCHARS (the default) converts both separately.
            char16_t joined = compose(c, next);
            if (joined != 0 && page->encode(joined) >= 0) {
                put_char(joined);
                ++i;
                continue;
            }
            if ((dwFlags & WC_DISCARDNS) != 0) {
                put_char(c);
                ++i;
                continue;
            }
            if ((dwFlags & WC_DEFAULTCHAR) != 0) {
                used_default = true;
                out.put(fallback);
                ++i;
                continue;
            }
        }
        put_char(c);
    }
    if (lpUsedDefaultChar != nullptr) *lpUsedDefaultChar = used_default ? TRUE : FALSE;
    return out.finish();
}

LPWSTR WINAPI CharUpperW(LPWSTR lpsz) {
    return change_case(lpsz, [](char16_t c) { return cek::fsys::fold_char(c); });
}

LPWSTR WINAPI CharLowerW(LPWSTR lpsz) {
    return change_case(lpsz, [](char16_t c) { return lower_table()[c]; });
}

}  // extern "C"

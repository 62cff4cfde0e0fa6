#include "fsys/fold.h"

#include <array>
#include <cstdint>

namespace cek::fsys {

namespace {

// How a range maps: by a constant offset, or as alternating upper/lower pairs where the
// lower-case member of each pair has the given parity.
enum class Kind : uint8_t { offset, pairs_lower_odd, pairs_lower_even };

struct Range {
    char16_t first;
    char16_t last;
    Kind kind;
    int32_t offset;  // only for Kind::offset
};

// Lower-case ranges and their upper-case targets. Characters not listed fold to themselves.
// Deliberately left alone: U+0131 dotless i and U+017F long s (folding them to ASCII would
// merge names that CE keeps apart), and every character whose upper case is not one unit.
constexpr Range kRanges[] = {
    {0x0061, 0x007A, Kind::offset, -32},    // a-z
    {0x00B5, 0x00B5, Kind::offset, 743},    // micro sign -> Greek capital mu
    {0x00E0, 0x00F6, Kind::offset, -32},    // Latin-1 letters
    {0x00F8, 0x00FE, Kind::offset, -32},
    {0x00FF, 0x00FF, Kind::offset, 121},    // y with diaeresis -> U+0178
    {0x0100, 0x012F, Kind::pairs_lower_odd, 0},
    {0x0132, 0x0137, Kind::pairs_lower_odd, 0},
    {0x0139, 0x0148, Kind::pairs_lower_even, 0},
    {0x014A, 0x0177, Kind::pairs_lower_odd, 0},
    {0x0179, 0x017E, Kind::pairs_lower_even, 0},
    {0x01CD, 0x01DC, Kind::pairs_lower_even, 0},
    {0x01DE, 0x01EF, Kind::pairs_lower_odd, 0},
    {0x01F8, 0x021F, Kind::pairs_lower_odd, 0},
    {0x0222, 0x0233, Kind::pairs_lower_odd, 0},
    {0x03AC, 0x03AC, Kind::offset, -38},    // Greek with tonos
    {0x03AD, 0x03AF, Kind::offset, -37},
    {0x03B1, 0x03C1, Kind::offset, -32},    // Greek alpha..rho
    {0x03C2, 0x03C2, Kind::offset, -31},    // final sigma -> capital sigma
    {0x03C3, 0x03CB, Kind::offset, -32},
    {0x03CC, 0x03CC, Kind::offset, -64},
    {0x03CD, 0x03CE, Kind::offset, -63},
    {0x0430, 0x044F, Kind::offset, -32},    // Cyrillic a..ya
    {0x0450, 0x045F, Kind::offset, -80},    // Cyrillic ie grave..dzhe
    {0x0460, 0x0481, Kind::pairs_lower_odd, 0},
    {0x048A, 0x04BF, Kind::pairs_lower_odd, 0},
    {0x04C1, 0x04CE, Kind::pairs_lower_even, 0},
    {0x04D0, 0x052F, Kind::pairs_lower_odd, 0},
    {0x0561, 0x0586, Kind::offset, -48},    // Armenian
    {0x1E00, 0x1E95, Kind::pairs_lower_odd, 0},
    {0x1EA0, 0x1EFF, Kind::pairs_lower_odd, 0},
    {0x2170, 0x217F, Kind::offset, -16},    // small Roman numerals
    {0x24D0, 0x24E9, Kind::offset, -26},    // circled small letters
    {0xFF41, 0xFF5A, Kind::offset, -32},    // fullwidth a-z
};

// Every code unit's folded value, computed once: a lookup must not search the range list.
std::array<char16_t, 0x10000> build_table() {
    std::array<char16_t, 0x10000> table{};
    for (uint32_t c = 0; c < table.size(); ++c) table[c] = static_cast<char16_t>(c);
    for (const Range& r : kRanges) {
        for (uint32_t c = r.first; c <= r.last; ++c) {
            switch (r.kind) {
            case Kind::offset:
                table[c] = static_cast<char16_t>(static_cast<int32_t>(c) + r.offset);
                break;
            case Kind::pairs_lower_odd:
                if (c % 2 == 1) table[c] = static_cast<char16_t>(c - 1);
                break;
            case Kind::pairs_lower_even:
                if (c % 2 == 0) table[c] = static_cast<char16_t>(c - 1);
                break;
            }
        }
    }
    return table;
}

const std::array<char16_t, 0x10000>& table() {
    static const std::array<char16_t, 0x10000> t = build_table();
    return t;
}

}  // namespace

char16_t fold_char(char16_t c) { return table()[c]; }

std::u16string fold(std::u16string_view name) {
    const auto& t = table();
    std::u16string out(name.size(), u'\0');
    for (size_t i = 0; i < name.size(); ++i) out[i] = t[name[i]];
    return out;
}

bool equal_folded(std::u16string_view a, std::u16string_view b) {
    if (a.size() != b.size()) return false;
    const auto& t = table();
    for (size_t i = 0; i < a.size(); ++i) {
        if (t[a[i]] != t[b[i]]) return false;
    }
    return true;
}

}  // namespace cek::fsys

// CE path syntax: parsing a UTF-16 path into canonical components, and the UTF-16 <-> UTF-8
// conversion used for host names (common/utf.h's strict one). Pure functions; no file system
// access.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/utf.h"

namespace cek::fsys {

inline constexpr size_t kMaxPath = 260;       // characters, counting the terminating NUL
inline constexpr size_t kMaxComponent = 255;  // characters in one name

enum class PathKind {
    file,     // every component is a plain name
    pattern,  // the last component may also hold the wildcards '*' and '?'
};

// A canonical CE path: components in order, no ".", "..", or empty names. Empty = the root.
struct CePath {
    std::vector<std::u16string> components;
    bool is_root() const { return components.empty(); }
};

// Rules, checked in this order:
//   empty input                                  -> ERROR_PATH_NOT_FOUND
//   size() + 1 (the NUL) >= kMaxPath             -> ERROR_FILENAME_EXCED_RANGE
//   unpaired surrogate                           -> ERROR_INVALID_NAME
//   '\' and '/' separate; repeats collapse; a missing leading separator still means the root;
//   "." is dropped, ".." removes the previous component (at the root it stays at the root);
//   a char < 32 or one of < > : " | (or * ? outside a pattern's last component)
//                                                -> ERROR_INVALID_NAME
//   trailing dots and spaces are stripped from each component (FAT/Win32 style; wildcard
//   components are kept verbatim); a component left empty ("...", "  ")
//                                                -> ERROR_INVALID_NAME
//   a component longer than kMaxComponent        -> ERROR_FILENAME_EXCED_RANGE
Result<CePath> parse_path(std::u16string_view path, PathKind kind = PathKind::file);

// "\a\b" for {a, b}; "\" for the root.
std::u16string format_path(const std::vector<std::u16string>& components);

// True when `name` can be reached as one component exactly as written: parse_path would keep it
// verbatim. Host names failing this (e.g. "a:b", "x.") are hidden from CE.
bool is_addressable_name(std::u16string_view name);

// UTF-16 -> UTF-8; nullopt on an unpaired surrogate.
inline std::optional<std::string> to_utf8(std::u16string_view text) {
    return utf8_from_utf16_strict(text);
}
// UTF-8 -> UTF-16; nullopt on any malformed, overlong or surrogate-encoding sequence.
inline std::optional<std::u16string> from_utf8(std::string_view text) {
    return utf16_from_utf8_strict(text);
}

}  // namespace cek::fsys

// FindFirstFile wildcard matching on folded names.
#pragma once

#include <string_view>

namespace cek::fsys {

bool has_wildcards(std::u16string_view component);

// `pattern` and `name` must both be folded (fold.h). '*' matches any run of code units, '?'
// exactly one. As in CE and DOS, a pattern ending in ".*" also matches names with no dot at
// all, so "*.*" matches every name and "readme.*" matches "README".
bool match_pattern(std::u16string_view pattern, std::u16string_view name);

}  // namespace cek::fsys

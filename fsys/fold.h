// The fixed case folding of CE names: UTF-16 code units mapped to upper case by a built-in
// table (ASCII, Latin-1, Latin Extended-A and parts of -B, Greek, Cyrillic, Armenian, Latin
// Extended Additional, Roman numerals, circled and fullwidth letters). Independent of the host
// locale, one code unit at a time (no expansions such as German sharp s -> SS), idempotent.
#pragma once

#include <string>
#include <string_view>

namespace cek::fsys {

char16_t fold_char(char16_t c);
std::u16string fold(std::u16string_view name);
bool equal_folded(std::u16string_view a, std::u16string_view b);

}  // namespace cek::fsys

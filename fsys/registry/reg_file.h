// Platform Builder .reg files (ce-kernel-objects.md §6.6; docs/semantics/registry.md §6):
// parsing into a list of operations (nothing is applied unless the whole file parses), applying
// them to a Tree, and writing a subtree back in the same syntax so that it imports to the same
// keys and values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fsys/registry/key.h"

namespace cek::fsys::registry {

struct RegOp {
    enum class Kind : uint8_t { Key, DeleteKey, SetValue, DeleteValue };
    Kind kind = Kind::Key;
    uint32_t root = 0;
    std::u16string path;  // below the root
    std::u16string name;  // value name ("" for @)
    uint32_t type = 0;
    std::vector<std::byte> data;
    size_t line = 0;
};

struct RegParseError {
    size_t line = 0;  // 1-based; 0 for the file as a whole (encoding)
    std::string message;
};

// Looks up an IF variable: its value, or nullopt when it is not set.
using RegVariables = std::function<std::optional<std::string>(std::string_view)>;

// Parses a whole file (UTF-8, with or without a BOM, or UTF-16LE/BE with a BOM). On a syntax
// error returns false with the first error and `ops` untouched.
bool parse_reg(std::string_view bytes, const RegVariables& variables, std::vector<RegOp>& ops,
               RegParseError& error);

// Applies parsed operations in order. Keys are created as needed; a deletion of something
// missing is no error. Fails (with the operation's line) only where the tree refuses, for
// example a path deeper than 16 levels; operations before it stay applied.
bool apply_reg(Tree& tree, const std::vector<RegOp>& ops, RegParseError& error);

// The subtree at `key` as .reg text (UTF-8, "REGEDIT4" header): every non-volatile key, each
// value in the simplest form that reads back byte for byte. A key whose name .reg syntax cannot
// carry (a control character, a broken surrogate, a space at either end: parse_reg refuses
// those) is left out with its subkeys, and a comment line says so.
std::string write_reg(const Key& key);

// One value's data as .reg text ("\"text\"", "dword:0000002a", "hex(7):..."), also for cedump.
std::string reg_data_text(const Value& value);

}  // namespace cek::fsys::registry

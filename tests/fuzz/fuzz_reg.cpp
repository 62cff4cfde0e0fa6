// Fuzz target: the .reg parser and writer (fsys/registry/reg_file.h), checked by properties.
//
// Input: a .reg file as it comes (UTF-8, or UTF-16 with a BOM). IF variables: A is set to "yes",
// everything else is unset.
//
// Properties:
//   - parse_reg never crashes; on failure it names a line within the file (or 0 for the
//     encoding) with a message, and returns no operations;
//   - on success applying the operations to an empty tree never breaks the tree's limits (it
//     may refuse an operation only with the line of that operation);
//   - writing the resulting tree and parsing that again succeeds, and applying it to an empty
//     tree gives a tree that writes the very same text (export/import round trip).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fsys/registry/key.h"
#include "fsys/registry/reg_file.h"
#include "fuzz_support.h"

using namespace cek::fsys::registry;

namespace {

std::string export_all(const Tree& t) {
    std::string out;
    for (uint32_t r : {kClassesRoot, kCurrentUser, kLocalMachine, kUsers}) out += write_reg(*t.root(r));
    return out;
}

// Text for a failure message: bytes outside printable ASCII as \xNN.
std::string escaped(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n' || (c >= 0x20 && c < 0x7F)) {
            out += static_cast<char>(c);
        } else {
            static const char kHex[] = "0123456789abcdef";
            out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto vars = [](std::string_view name) -> std::optional<std::string> {
        if (name == "A") return std::string("yes");
        return std::nullopt;
    };
    std::vector<RegOp> ops;
    RegParseError e;
    const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    if (!parse_reg(text, vars, ops, e)) {
        CEK_FUZZ_CHECK(ops.empty(), "a failed parse returned operations");
        CEK_FUZZ_CHECK(!e.message.empty(), "a failed parse without a message");
        // UTF-16 files count their own lines; only UTF-8 lines are checked here.
        if (size < 2 || !(data[0] == 0xFF || data[0] == 0xFE))
            CEK_FUZZ_CHECK(e.line <= lines, "the error names a line past the end: " + std::to_string(e.line));
        return 0;
    }
    Tree t;
    if (!apply_reg(t, ops, e)) {
        CEK_FUZZ_CHECK(e.line != 0, "a refused operation without its line");
        return 0;
    }
    const std::string once = export_all(t);
    std::vector<RegOp> again;
    RegParseError e2;
    CEK_FUZZ_CHECK(parse_reg(once, nullptr, again, e2), "an export does not parse: line " +
                                                            std::to_string(e2.line) + ": " + e2.message);
    Tree u;
    CEK_FUZZ_CHECK(apply_reg(u, again, e2), "an export does not apply: " + e2.message);
    const std::string twice = export_all(u);
    CEK_FUZZ_CHECK(twice == once, "export, import, export differ:\n" + escaped(once) + "\n----\n" + escaped(twice));
    return 0;
}

// Fuzz target: CE path syntax and names (fsys/path.h, fold.h, pattern.h), checked by properties.
//
// Input: one mode byte, then the text. Mode bit 0 set: each byte picks a code unit from an
// alphabet of the units that matter to the parser (separators, dots, spaces, wildcards,
// forbidden characters, surrogates, letters that fold); clear: raw UTF-16LE. The text splits at
// its first '|' (forbidden in paths) into a pattern and a name for the wildcard checks.
//
// Properties:
//   - parse_path: a success yields plain components only (no ".", "..", separators, forbidden
//     characters, trailing dots or spaces outside a wildcard component, nothing longer than
//     kMaxComponent); formatting and parsing again gives the same components (normalisation is
//     idempotent), unless the added leading separator pushes the text to the length limit;
//   - nothing escapes the root: a path made only of separators, "." and ".." is the root, and
//     an fsys Root over a temporary store never opens, stats or lists anything outside it,
//     whatever symlinks lie inside;
//   - folding is idempotent, keeps the length, maps no unit to or from a character that has a
//     meaning in paths, leaves surrogates alone, and commutes with parsing;
//   - is_addressable_name agrees with parse_path on single names;
//   - UTF-16 <-> UTF-8 round-trips exactly and rejects exactly the unpaired surrogates;
//   - match_pattern agrees with a plain dynamic-programming matcher.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fsys/fold.h"
#include "fsys/path.h"
#include "fsys/pattern.h"
#include "fsys/root.h"
#include "fuzz_support.h"

using namespace cek;
using namespace cek::fsys;
using cek::fuzz::Input;

namespace {

constexpr char16_t kAlphabet[] = {
    u'\\', u'/', u'.', u'.', u' ', u'*', u'?', u'a', u'A', u'z', u'0', u'~', u'-', u'_',
    u':', u'<', u'>', u'"', u'|', 0x01, 0x1F, 0x7F, 0xD800, 0xDBFF, 0xDC00, 0xDFFF,
    0xE9 /* é */, 0xC9 /* É */, 0xDF /* ß */, 0xFF /* ÿ */, 0x178 /* Ÿ */, 0x3C3 /* σ */,
    0x3C2 /* ς */, 0x3A3 /* Σ */, 0x131 /* ı */, 0x130 /* İ */, 0x212B /* Å sign */,
    0xFF41 /* fullwidth a */, 0x2170 /* small roman i */, 0x24D0 /* circled a */, 0xFFFF,
};

std::u16string decode(Input& in) {
    const uint8_t mode = in.byte();
    auto bytes = in.rest();
    std::u16string s;
    if ((mode & 1) != 0) {
        for (uint8_t b : bytes) s += kAlphabet[b % std::size(kAlphabet)];
    } else {
        for (size_t i = 0; i + 1 < bytes.size(); i += 2)
            s += static_cast<char16_t>(bytes[i] | (bytes[i + 1] << 8));
    }
    return s;
}

bool is_separator(char16_t c) { return c == u'\\' || c == u'/'; }
bool is_special(char16_t c) {
    return c < 32 || is_separator(c) || c == u'.' || c == u' ' || c == u'*' || c == u'?' ||
           c == u'<' || c == u'>' || c == u':' || c == u'"' || c == u'|';
}
bool is_surrogate(char16_t c) { return c >= 0xD800 && c <= 0xDFFF; }

std::string show(std::u16string_view s) {
    std::string out;
    for (char16_t c : s) {
        if (c >= 32 && c < 127) {
            out += static_cast<char>(c);
        } else {
            char buf[12];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        }
    }
    return out;
}

void check_parse(std::u16string_view s, PathKind kind) {
    auto r = parse_path(s, kind);
    if (!r) {
        const Win32Error e = r.error();
        CEK_FUZZ_CHECK(e == Win32Error::ERROR_PATH_NOT_FOUND || e == Win32Error::ERROR_INVALID_NAME ||
                           e == Win32Error::ERROR_FILENAME_EXCED_RANGE,
                       show(s));
        CEK_FUZZ_CHECK((e == Win32Error::ERROR_PATH_NOT_FOUND) == s.empty(), show(s));
        return;
    }
    const auto& comps = r.value().components;
    for (size_t i = 0; i < comps.size(); ++i) {
        const std::u16string& c = comps[i];
        const bool wild = has_wildcards(c);
        CEK_FUZZ_CHECK(!c.empty() && c.size() <= kMaxComponent, show(s));
        CEK_FUZZ_CHECK(c != u"." && c != u"..", show(s));
        CEK_FUZZ_CHECK(!wild || (kind == PathKind::pattern && i + 1 == comps.size()), show(s));
        for (char16_t ch : c)
            CEK_FUZZ_CHECK(!is_separator(ch) && ch >= 32 && ch != u':' && ch != u'<' &&
                               ch != u'>' && ch != u'"' && ch != u'|',
                           show(s));
        if (!wild) {
            CEK_FUZZ_CHECK(c.back() != u'.' && c.back() != u' ', show(s));
            CEK_FUZZ_CHECK(is_addressable_name(c), show(c));
        }
    }
    // Normalisation is idempotent.
    const std::u16string canonical = format_path(comps);
    CEK_FUZZ_CHECK(canonical.size() <= s.size() + 1, show(s));
    auto again = parse_path(canonical, kind);
    if (canonical.size() + 1 >= kMaxPath) {
        CEK_FUZZ_CHECK(!again && again.error() == Win32Error::ERROR_FILENAME_EXCED_RANGE, show(s));
    } else {
        CEK_FUZZ_CHECK(again.ok() && again.value().components == comps, show(s));
        CEK_FUZZ_CHECK(format_path(again.value().components) == canonical, show(s));
    }
    // Folding commutes with parsing: it never creates or removes a character that matters.
    auto folded = parse_path(fold(s), kind);
    CEK_FUZZ_CHECK(folded.ok() && folded.value().components.size() == comps.size(), show(s));
    for (size_t i = 0; i < comps.size(); ++i)
        CEK_FUZZ_CHECK(folded.value().components[i] == fold(comps[i]), show(s));
}

void check_dot_dot(std::u16string_view s) {
    // Only separators, dots and ".."s: whatever the depth, the result is the root.
    std::u16string walk;
    for (char16_t c : s) {
        if (is_separator(c))
            walk += c;
        else if (c == u'.')
            walk += walk.empty() || is_separator(walk.back()) ? u".." : u"\\..";
    }
    if (walk.empty()) return;
    auto r = parse_path(walk);
    if (walk.size() + 1 < kMaxPath) CEK_FUZZ_CHECK(r.ok() && r.value().is_root(), show(walk));
}

void check_fold(std::u16string_view s) {
    const std::u16string f = fold(s);
    CEK_FUZZ_CHECK(f.size() == s.size(), show(s));
    CEK_FUZZ_CHECK(fold(f) == f, show(s));
    CEK_FUZZ_CHECK(equal_folded(s, f), show(s));
    for (size_t i = 0; i < s.size(); ++i) {
        CEK_FUZZ_CHECK(fold_char(s[i]) == f[i], show(s));
        CEK_FUZZ_CHECK(is_special(s[i]) == is_special(f[i]), show(s.substr(i, 1)));
        if (is_surrogate(s[i]) || is_surrogate(f[i])) CEK_FUZZ_CHECK(f[i] == s[i], show(s));
        if (s[i] >= u'a' && s[i] <= u'z') CEK_FUZZ_CHECK(f[i] == s[i] - 32, show(s));
    }
    // equal_folded is fold equality, in both directions.
    const size_t half = s.size() / 2;
    const std::u16string_view a = s.substr(0, half), b = s.substr(half, half);
    CEK_FUZZ_CHECK(equal_folded(a, b) == (fold(a) == fold(b)), show(s));
    CEK_FUZZ_CHECK(equal_folded(a, b) == equal_folded(b, a), show(s));
}

void check_names(std::u16string_view s) {
    // A single name is addressable exactly when parsing "\name" keeps it verbatim.
    if (s.empty() || s.size() > kMaxPath) return;
    bool plain = true;
    for (char16_t c : s) plain = plain && !is_separator(c) && c != u'*' && c != u'?';
    const bool addressable = is_addressable_name(s);
    if (!plain) {
        CEK_FUZZ_CHECK(!addressable, show(s));
        return;
    }
    std::u16string rooted = u"\\" + std::u16string(s);
    auto r = parse_path(rooted);
    const bool verbatim = r.ok() && r.value().components.size() == 1 &&
                          r.value().components[0] == s;
    CEK_FUZZ_CHECK(addressable == verbatim, show(s));
}

void check_utf8(std::u16string_view s, std::span<const uint8_t> raw) {
    bool paired = true;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] >= 0xD800 && s[i] <= 0xDBFF && i + 1 < s.size() && s[i + 1] >= 0xDC00 &&
            s[i + 1] <= 0xDFFF)
            ++i;
        else if (is_surrogate(s[i]))
            paired = false;
    }
    auto u8 = to_utf8(s);
    CEK_FUZZ_CHECK(u8.has_value() == paired, show(s));
    if (u8) {
        auto back = from_utf8(*u8);
        CEK_FUZZ_CHECK(back.has_value() && *back == s, show(s));
    }
    // Any bytes: what decodes re-encodes to the same bytes (no overlong or surrogate forms).
    std::string_view bytes(reinterpret_cast<const char*>(raw.data()), raw.size());
    if (auto decoded = from_utf8(bytes)) {
        auto again = to_utf8(*decoded);
        CEK_FUZZ_CHECK(again.has_value() && *again == bytes, "utf-8 input");
    }
}

// The reference: plain dynamic programming over (pattern, name) prefixes.
bool glob_reference(std::u16string_view p, std::u16string_view n) {
    std::vector<char> row(n.size() + 1, 0), next(n.size() + 1, 0);
    row[0] = 1;
    for (size_t j = 1; j <= n.size(); ++j) row[j] = 0;
    for (size_t i = 1; i <= p.size(); ++i) {
        next[0] = p[i - 1] == u'*' && row[0];
        for (size_t j = 1; j <= n.size(); ++j) {
            if (p[i - 1] == u'*')
                next[j] = row[j] || next[j - 1];
            else
                next[j] = row[j - 1] && (p[i - 1] == u'?' || p[i - 1] == n[j - 1]);
        }
        row.swap(next);
    }
    return row[n.size()] != 0;
}

void check_pattern(std::u16string_view s) {
    const size_t bar = s.find(u'|');
    if (bar == std::u16string_view::npos) return;
    const std::u16string pattern = fold(s.substr(0, bar));
    const std::u16string name = fold(s.substr(bar + 1));
    if (pattern.size() * (name.size() + 1) > 200'000) return;
    const bool got = match_pattern(pattern, name);
    bool want = glob_reference(pattern, name);
    if (!want && pattern.size() >= 2 && pattern.ends_with(u".*") &&
        name.find(u'.') == std::u16string::npos)
        want = glob_reference(std::u16string_view(pattern).substr(0, pattern.size() - 2), name);
    CEK_FUZZ_CHECK(got == want, show(s));
    CEK_FUZZ_CHECK(match_pattern(u"*", name), show(s));
    CEK_FUZZ_CHECK(match_pattern(u"*.*", name), show(s));
    if (!has_wildcards(name)) CEK_FUZZ_CHECK(match_pattern(name, name), show(s));
}

// A store with ways out planted in it, and marked things outside it.
struct Store {
    std::filesystem::path base;
    std::unique_ptr<Root> root;
    std::vector<FileId> outside;

    Store() {
        const char* tmp = std::getenv("TMPDIR");
        std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                            "/cek-fuzz-path-XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr) std::abort();
        base = templ;
        std::filesystem::create_directory(base / "store");
        std::filesystem::create_directory(base / "cek-outside-dir");
        std::ofstream(base / "cek-outside-file") << "outside";
        auto r = Root::open(base / "store");
        if (!r) std::abort();
        root = std::move(r).value();
        auto store = base / "store";
        std::filesystem::create_directory_symlink(base, store / "updir");
        std::filesystem::create_symlink("../../cek-outside-file", store / "Temp" / "up");
        std::filesystem::create_directory_symlink("../cek-outside-dir", store / "Windows" / "out");
        std::ofstream(store / "Temp" / "in.txt") << "inside";
        for (const char* name : {"", "cek-outside-dir", "cek-outside-file"}) {
            struct stat st {};
            if (::stat((base / name).c_str(), &st) != 0) std::abort();
            outside.push_back(FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
        }
    }
    ~Store() {
        root.reset();
        std::error_code ec;
        std::filesystem::remove_all(base, ec);
    }
};

void check_store(std::u16string_view s) {
    static Store store;  // read-only use: one store serves every input
    OpenRequest req;
    req.read = true;
    req.allow_directory = true;
    if (auto f = store.root->open_file(s, req)) {
        for (const FileId& id : store.outside)
            CEK_FUZZ_CHECK(!(f.value().id == id), "opened outside the store: " + show(s));
        const std::u16string& found = f.value().ce_path;
        if (found.size() + 1 < kMaxPath)
            CEK_FUZZ_CHECK(parse_path(found).ok(), "ce_path of " + show(s));
    }
    (void)store.root->get_attributes(s);
    if (auto found = store.root->find_files(s)) {
        for (const FindEntry& e : found.value())
            CEK_FUZZ_CHECK(!e.name.starts_with(u"cek-outside") && e.name != u"store",
                           "listed outside the store: " + show(s));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool quiet = [] {
        spdlog::set_level(spdlog::level::off);
        return true;
    }();
    (void)quiet;
    Input in(data, size);
    const std::u16string s = decode(in);
    check_parse(s, PathKind::file);
    check_parse(s, PathKind::pattern);
    check_dot_dot(s);
    check_fold(s);
    check_names(s);
    check_utf8(s, std::span<const uint8_t>(data, size));
    check_pattern(s);
    if (s.size() <= kMaxPath && parse_path(s, PathKind::pattern).ok()) check_store(s);
    return 0;
}

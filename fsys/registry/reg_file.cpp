// .reg parsing and writing (reg_file.h).
#include "fsys/registry/reg_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/utf.h"
#include "fsys/fold.h"

namespace cek::fsys::registry {

namespace {

constexpr uint32_t kRegSz = 1, kRegDword = 4, kRegBinary = 3, kRegMultiSz = 7;

// The file as UTF-16 text, by its BOM.
std::optional<std::u16string> decode(std::string_view b) {
    auto u = [&](size_t i) { return static_cast<unsigned char>(b[i]); };
    if (b.size() >= 2 && ((u(0) == 0xFF && u(1) == 0xFE) || (u(0) == 0xFE && u(1) == 0xFF))) {
        const bool le = u(0) == 0xFF;
        if (b.size() % 2 != 0) return std::nullopt;
        std::u16string out;
        for (size_t i = 2; i + 1 < b.size(); i += 2)
            out += static_cast<char16_t>(le ? (u(i) | u(i + 1) << 8) : (u(i) << 8 | u(i + 1)));
        return out;
    }
    if (b.size() >= 3 && u(0) == 0xEF && u(1) == 0xBB && u(2) == 0xBF) b.remove_prefix(3);
    return utf16_from_utf8(b);
}

bool is_space(char16_t c) { return c == u' ' || c == u'\t' || c == u'\r'; }

bool clean_text(std::u16string_view s);

// A key name a .reg file can carry so that it reads back the same: clean text (no control
// character, no broken surrogate) with no space or tab at either end (key lines are trimmed).
bool writable_key_name(std::u16string_view name) {
    return clean_text(name) &&
           (name.empty() || (!is_space(name.front()) && !is_space(name.back())));
}

std::u16string_view trim(std::u16string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool starts_folded(std::u16string_view s, std::u16string_view word) {
    return s.size() >= word.size() && equal_folded(s.substr(0, word.size()), word);
}

int hex_digit(char16_t c) {
    if (c >= u'0' && c <= u'9') return c - u'0';
    if (c >= u'a' && c <= u'f') return c - u'a' + 10;
    if (c >= u'A' && c <= u'F') return c - u'A' + 10;
    return -1;
}

std::optional<uint32_t> parse_hex(std::u16string_view s, size_t max_digits) {
    if (s.empty() || s.size() > max_digits) return std::nullopt;
    uint32_t v = 0;
    for (char16_t c : s) {
        int d = hex_digit(c);
        if (d < 0) return std::nullopt;
        v = v << 4 | static_cast<uint32_t>(d);
    }
    return v;
}

// A quoted string at the start of `s` (which begins with '"'): `\\` and `\"` are escapes.
// Consumes it from `s`.
std::optional<std::u16string> quoted(std::u16string_view& s) {
    std::u16string out;
    size_t i = 1;
    for (; i < s.size(); ++i) {
        char16_t c = s[i];
        if (c == u'"') break;
        if (c == u'\\' && i + 1 < s.size() && (s[i + 1] == u'\\' || s[i + 1] == u'"')) {
            out += s[++i];
            continue;
        }
        out += c;
    }
    if (i >= s.size()) return std::nullopt;
    s.remove_prefix(i + 1);
    return out;
}

// Nothing but blanks or a comment left.
bool at_end(std::u16string_view s) {
    s = trim(s);
    return s.empty() || s.front() == u';';
}

void append_utf16(std::vector<std::byte>& out, std::u16string_view s) {
    for (char16_t c : s) {
        out.push_back(static_cast<std::byte>(c & 0xFF));
        out.push_back(static_cast<std::byte>(c >> 8));
    }
}

struct Parser {
    const RegVariables& vars;
    std::vector<RegOp> ops;
    RegParseError err;
    std::optional<std::pair<uint32_t, std::u16string>> key;  // the open [key]
    size_t line = 0;

    bool fail(std::string message) {
        err = {line, std::move(message)};
        return false;
    }

    bool key_line(std::u16string_view s) {
        const size_t close = s.rfind(u']');
        if (close == std::u16string_view::npos || !at_end(s.substr(close + 1)))
            return fail("a key line must end with ']'");
        s = s.substr(1, close - 1);
        const bool del = !s.empty() && s.front() == u'-';
        if (del) s.remove_prefix(1);
        s = trim(s);
        const size_t sep = s.find(u'\\');
        const auto root = root_by_name(s.substr(0, sep));
        if (!root) return fail("unknown root in key '" + utf8_from_utf16(s) + "'");
        std::u16string_view rest = sep == std::u16string_view::npos ? u"" : s.substr(sep + 1);
        auto parts = split_path(rest);
        if (!parts) return fail("bad key path (an empty name or one over 255 characters)");
        for (auto part : *parts)
            if (!writable_key_name(part))
                return fail("bad key name (a control character, a broken surrogate, or a space "
                            "at its start or end)");
        if (parts->size() + 1 > kMaxDepth) return fail("key path deeper than 16 levels");
        if (del && parts->empty()) return fail("a root cannot be deleted");
        std::u16string path;
        for (auto p : *parts) path += (path.empty() ? u"" : u"\\") + std::u16string(p);
        RegOp op;
        op.kind = del ? RegOp::Kind::DeleteKey : RegOp::Kind::Key;
        op.root = *root;
        op.path = path;
        op.line = line;
        ops.push_back(std::move(op));
        if (del) key.reset();
        else key.emplace(*root, std::move(path));
        return true;
    }

    bool hex_bytes(std::u16string_view s, std::vector<std::byte>& out) {
        s = trim(s);
        if (const size_t sc = s.find(u';'); sc != std::u16string_view::npos) s = trim(s.substr(0, sc));
        if (s.empty()) return true;
        size_t start = 0;
        while (true) {
            const size_t comma = s.find(u',', start);
            auto tok = trim(s.substr(start, comma == std::u16string_view::npos ? std::u16string_view::npos
                                                                             : comma - start));
            auto v = parse_hex(tok, 2);
            if (!v) return fail("bad hex byte '" + utf8_from_utf16(tok) + "'");
            out.push_back(static_cast<std::byte>(*v));
            if (comma == std::u16string_view::npos) break;
            start = comma + 1;
        }
        return true;
    }

    bool value_line(std::u16string_view s) {
        if (!key) return fail("a value line outside a key");
        RegOp op;
        op.root = key->first;
        op.path = key->second;
        op.line = line;
        if (s.front() == u'@') {
            s.remove_prefix(1);
        } else {
            auto name = quoted(s);
            if (!name) return fail("unterminated value name");
            if (name->size() > kMaxNameChars) return fail("value name over 255 characters");
            op.name = std::move(*name);
        }
        s = trim(s);
        if (s.empty() || s.front() != u'=') return fail("'=' expected after the value name");
        s = trim(s.substr(1));
        if (!s.empty() && s.front() == u'"') {
            auto text = quoted(s);
            if (!text) return fail("unterminated string");
            if (!at_end(s)) return fail("unexpected text after the string");
            op.type = kRegSz;
            append_utf16(op.data, *text);
            append_utf16(op.data, std::u16string_view(u"\0", 1));
        } else if (s.size() >= 1 && s.front() == u'-' && at_end(s.substr(1))) {
            op.kind = RegOp::Kind::DeleteValue;
        } else if (starts_folded(s, u"dword:")) {
            auto digits = trim(s.substr(6));
            if (const size_t sc = digits.find(u';'); sc != std::u16string_view::npos)
                digits = trim(digits.substr(0, sc));
            auto v = parse_hex(digits, 8);
            if (!v) return fail("dword: needs 1 to 8 hexadecimal digits");
            op.type = kRegDword;
            for (int i = 0; i < 4; ++i) op.data.push_back(static_cast<std::byte>(*v >> (8 * i)));
        } else if (starts_folded(s, u"hex:")) {
            op.type = kRegBinary;
            if (!hex_bytes(s.substr(4), op.data)) return false;
        } else if (starts_folded(s, u"hex(")) {
            const size_t close = s.find(u")");
            if (close == std::u16string_view::npos || close + 1 >= s.size() || s[close + 1] != u':')
                return fail("hex(N): expected");
            auto t = parse_hex(s.substr(4, close - 4), 8);
            if (!t) return fail("bad type number in hex(N)");
            op.type = *t;
            if (!hex_bytes(s.substr(close + 2), op.data)) return false;
        } else if (starts_folded(s, u"multi_sz:")) {
            op.type = kRegMultiSz;
            s = trim(s.substr(9));
            while (!at_end(s)) {
                if (s.front() != u'"') return fail("multi_sz: expects quoted strings");
                auto text = quoted(s);
                if (!text) return fail("unterminated string");
                append_utf16(op.data, *text);
                append_utf16(op.data, std::u16string_view(u"\0", 1));
                s = trim(s);
                if (!s.empty() && s.front() == u',') s = trim(s.substr(1));
                else if (!at_end(s)) return fail("',' expected between multi_sz strings");
            }
            append_utf16(op.data, std::u16string_view(u"\0", 1));
        } else {
            return fail("unknown value data (expected \"text\", dword:, hex:, hex(N):, multi_sz: or -)");
        }
        if (op.data.size() > kMaxValueBytes) return fail("value data over 4096 bytes");
        if (op.kind != RegOp::Kind::DeleteValue) op.kind = RegOp::Kind::SetValue;
        ops.push_back(std::move(op));
        return true;
    }

    // IF VAR [= value] [!]: true when VAR is set (and equals value, case-insensitively), negated
    // by a trailing '!'.
    std::optional<bool> condition(std::u16string_view s) {
        s = trim(s);
        bool negate = false;
        if (!s.empty() && s.back() == u'!') {
            negate = true;
            s = trim(s.substr(0, s.size() - 1));
        }
        if (s.empty()) return std::nullopt;
        const size_t eq = s.find(u'=');
        auto name = utf8_from_utf16(trim(s.substr(0, eq)));
        if (name.empty() || name.find_first_of(" \t") != std::string::npos) return std::nullopt;
        auto value = vars ? vars(name) : std::nullopt;
        bool r = value.has_value();
        if (eq != std::u16string_view::npos) {
            auto want = trim(s.substr(eq + 1));
            r = value && equal_folded(utf16_from_utf8(*value), want);
        }
        return negate ? !r : r;
    }

    bool run(const std::u16string& text) {
        std::vector<std::pair<bool, size_t>> blocks;  // each open IF block: taken, and its line
        size_t pos = 0;
        size_t next_line = 1;
        while (pos <= text.size()) {
            line = next_line;
            size_t nl = text.find(u'\n', pos);
            std::u16string joined(text.substr(pos, nl == std::u16string::npos ? std::u16string::npos
                                                                               : nl - pos));
            pos = nl == std::u16string::npos ? text.size() + 1 : nl + 1;
            ++next_line;
            std::u16string_view s = trim(joined);
            // A value line ending in '\' goes on (regedit's long hex lines).
            if (!s.empty() && (s.front() == u'"' || s.front() == u'@')) {
                std::u16string acc(s);
                while (!acc.empty() && acc.back() == u'\\' && pos <= text.size()) {
                    acc.pop_back();
                    nl = text.find(u'\n', pos);
                    acc += trim(std::u16string_view(text).substr(
                        pos, nl == std::u16string::npos ? std::u16string::npos : nl - pos));
                    pos = nl == std::u16string::npos ? text.size() + 1 : nl + 1;
                    ++next_line;
                }
                joined = std::move(acc);
                s = joined;
            }
            if (s.empty() || s.front() == u';') continue;
            const bool active = std::all_of(blocks.begin(), blocks.end(), [](const auto& b) { return b.first; });
            if (starts_folded(s, u"IF") && (s.size() == 2 || is_space(s[2]))) {
                auto c = condition(s.substr(2));
                if (!c) return fail("IF needs a variable name: IF VAR [= value] [!]");
                blocks.emplace_back(*c, line);
                continue;
            }
            if (equal_folded(s, u"ENDIF")) {
                if (blocks.empty()) return fail("ENDIF without IF");
                blocks.pop_back();
                continue;
            }
            if (equal_folded(s, u"ELSE")) {
                if (blocks.empty()) return fail("ELSE without IF");
                blocks.back().first = !blocks.back().first;
                continue;
            }
            if (!active) continue;
            if (equal_folded(s, u"REGEDIT4") ||
                starts_folded(s, u"Windows Registry Editor Version"))
                continue;
            if (s.front() == u'[') {
                if (!key_line(s)) return false;
            } else if (s.front() == u'"' || s.front() == u'@') {
                if (!value_line(s)) return false;
            } else {
                return fail("unrecognised line");
            }
        }
        if (!blocks.empty()) {
            line = blocks.back().second;
            return fail("IF without ENDIF before the end of the file");
        }
        return true;
    }
};

bool clean_text(std::u16string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        char16_t c = s[i];
        if (c < 0x20 || c == 0x7F) return false;
        if (utf::is_high_surrogate(c)) {
            if (i + 1 >= s.size() || !utf::is_low_surrogate(s[i + 1])) return false;
            ++i;
        } else if (utf::is_low_surrogate(c)) {
            return false;
        }
    }
    return true;
}

std::string quote(std::u16string_view s) {
    std::string out = "\"";
    for (char c : utf8_from_utf16(s)) {
        if (c == '\\' || c == '"') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::u16string units(const std::vector<std::byte>& d) {
    std::u16string s(d.size() / 2, u'\0');
    for (size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<char16_t>(std::to_integer<uint16_t>(d[2 * i]) |
                                     std::to_integer<uint16_t>(d[2 * i + 1]) << 8);
    return s;
}

std::string hex_list(const std::vector<std::byte>& d) {
    std::string out;
    char buf[4];
    for (size_t i = 0; i < d.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%02x", std::to_integer<unsigned>(d[i]));
        if (i != 0) out += ',';
        out += buf;
    }
    return out;
}

void write_key(const Key& key, std::string& out) {
    if (key.is_volatile()) return;
    if (key.parent() != nullptr && !writable_key_name(key.name())) {
        // Created through the API with a name .reg syntax cannot carry: said, not written.
        std::string name;
        for (char16_t c : key.name())
            name += c >= 0x20 && c < 0x7F ? std::string(1, static_cast<char>(c)) : "?";
        out += "; not written: the key \"" + name + "\" under " + root_name(key.root()) +
               " and its subkeys (a name .reg files cannot carry)\n\n";
        return;
    }
    if (key.parent() != nullptr || !key.values().empty()) {
        out += "[";
        out += root_name(key.root());
        std::u16string p = key.path();
        if (!p.empty()) out += "\\" + utf8_from_utf16(p);
        out += "]\n";
        for (const auto& v : key.values()) {
            out += v.name.empty() ? std::string("@") : quote(v.name);
            out += "=" + reg_data_text(v) + "\n";
        }
        out += "\n";
    }
    for (const auto& c : key.children()) write_key(*c, out);
}

}  // namespace

bool parse_reg(std::string_view bytes, const RegVariables& variables, std::vector<RegOp>& ops,
               RegParseError& error) {
    auto text = decode(bytes);
    if (!text) {
        error = {0, "bad UTF-16 file (odd length)"};
        return false;
    }
    Parser p{variables, {}, {}, std::nullopt, 0};
    if (!p.run(*text)) {
        error = p.err;
        return false;
    }
    ops = std::move(p.ops);
    return true;
}

bool apply_reg(Tree& tree, const std::vector<RegOp>& ops, RegParseError& error) {
    for (const auto& op : ops) {
        const KeyRef& root = tree.root(op.root);
        Result<void> r;
        switch (op.kind) {
        case RegOp::Kind::Key:
            if (auto k = tree.create(root, op.path, u"", false); !k) r = k.error();
            break;
        case RegOp::Kind::DeleteKey:
            r = tree.remove(root, op.path);
            if (!r && r.error() == Win32Error::ERROR_FILE_NOT_FOUND) r = {};
            break;
        case RegOp::Kind::SetValue:
        case RegOp::Kind::DeleteValue: {
            auto k = tree.create(root, op.path, u"", false);
            if (!k) {
                r = k.error();
                break;
            }
            if (op.kind == RegOp::Kind::SetValue) {
                r = tree.set_value(k.value().key, op.name, op.type, op.data);
            } else {
                r = tree.delete_value(k.value().key, op.name);
                if (!r && r.error() == Win32Error::ERROR_FILE_NOT_FOUND) r = {};
            }
            break;
        }
        }
        if (!r) {
            error = {op.line, "the registry refused it: " + std::string(error_name(r.error()))};
            return false;
        }
    }
    return true;
}

std::string reg_data_text(const Value& v) {
    const auto& d = v.data;
    if (v.type == kRegDword && d.size() == 4) {
        uint32_t x = 0;
        for (int i = 0; i < 4; ++i) x |= std::to_integer<uint32_t>(d[i]) << (8 * i);
        char buf[24];
        std::snprintf(buf, sizeof buf, "dword:%08x", x);
        return buf;
    }
    if ((v.type == kRegSz || v.type == kRegMultiSz) && d.size() >= 2 && d.size() % 2 == 0) {
        std::u16string s = units(d);
        if (v.type == kRegSz && s.back() == u'\0' && s.find(u'\0') == s.size() - 1 &&
            clean_text(std::u16string_view(s).substr(0, s.size() - 1)))
            return quote(std::u16string_view(s).substr(0, s.size() - 1));
        if (v.type == kRegMultiSz && s.size() >= 2 && s.back() == u'\0' && s[s.size() - 2] == u'\0') {
            // "a\0b\0\0": strings without empty ones; the empty list is "\0" alone.
            std::u16string_view body(s.data(), s.size() - 2);
            std::string out = "multi_sz:";
            bool ok = true;
            size_t start = 0;
            while (ok) {
                size_t z = body.find(u'\0', start);
                auto part = body.substr(start, z == std::u16string_view::npos ? std::u16string_view::npos
                                                                            : z - start);
                ok = !part.empty() && clean_text(part);
                if (!ok) break;
                out += (start == 0 ? "" : ",") + quote(part);
                if (z == std::u16string_view::npos) break;
                start = z + 1;
            }
            if (ok) return out;
        }
    }
    if (v.type == kRegMultiSz && d.size() == 2 && d[0] == std::byte{0} && d[1] == std::byte{0})
        return "multi_sz:";
    if (v.type == kRegBinary) return "hex:" + hex_list(d);
    char buf[24];
    std::snprintf(buf, sizeof buf, "hex(%x):", v.type);
    return buf + hex_list(d);
}

std::string write_reg(const Key& key) {
    std::string out = "REGEDIT4\n\n";
    write_key(key, out);
    return out;
}

}  // namespace cek::fsys::registry

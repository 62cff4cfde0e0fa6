#include "fsys/path.h"

namespace cek::fsys {

namespace {

bool is_separator(char16_t c) { return c == u'\\' || c == u'/'; }

bool is_forbidden(char16_t c) {
    return c < 32 || c == u'<' || c == u'>' || c == u':' || c == u'"' || c == u'|';
}

bool surrogates_paired(std::u16string_view s) {
    for (size_t i = 0; i < s.size();) {
        if (utf::is_surrogate(utf::next_utf16(s.data(), s.size(), i))) return false;
    }
    return true;
}

std::u16string_view strip_trailing_dots_spaces(std::u16string_view s) {
    while (!s.empty() && (s.back() == u'.' || s.back() == u' ')) s.remove_suffix(1);
    return s;
}

}  // namespace

Result<CePath> parse_path(std::u16string_view path, PathKind kind) {
    if (path.empty()) return Win32Error::ERROR_PATH_NOT_FOUND;
    if (path.size() + 1 >= kMaxPath) return Win32Error::ERROR_FILENAME_EXCED_RANGE;
    if (!surrogates_paired(path)) return Win32Error::ERROR_INVALID_NAME;

    // One pass over the components; a component is the last when only separators follow it
    // (which decides whether it may hold wildcards).
    CePath out;
    out.components.reserve(4);
    size_t i = 0;
    while (true) {
        while (i < path.size() && is_separator(path[i])) ++i;
        if (i == path.size()) break;
        const size_t start = i;
        bool wildcards = false;
        for (; i < path.size() && !is_separator(path[i]); ++i) {
            const char16_t c = path[i];
            if (is_forbidden(c)) return Win32Error::ERROR_INVALID_NAME;
            wildcards = wildcards || c == u'*' || c == u'?';
        }
        std::u16string_view comp = path.substr(start, i - start);
        size_t next = i;
        while (next < path.size() && is_separator(path[next])) ++next;
        const bool last = next == path.size();
        if (wildcards && !(kind == PathKind::pattern && last)) {
            return Win32Error::ERROR_INVALID_NAME;
        }
        if (comp == u".") continue;
        if (comp == u"..") {
            if (!out.components.empty()) out.components.pop_back();
            continue;
        }
        if (!wildcards) comp = strip_trailing_dots_spaces(comp);
        if (comp.empty()) return Win32Error::ERROR_INVALID_NAME;
        if (comp.size() > kMaxComponent) return Win32Error::ERROR_FILENAME_EXCED_RANGE;
        out.components.emplace_back(comp);
    }
    return out;
}

std::u16string format_path(const std::vector<std::u16string>& components) {
    if (components.empty()) return u"\\";
    std::u16string out;
    for (const auto& c : components) {
        out += u'\\';
        out += c;
    }
    return out;
}

bool is_addressable_name(std::u16string_view name) {
    if (name.empty() || name.size() > kMaxComponent || name == u"." || name == u"..") {
        return false;
    }
    if (name.back() == u'.' || name.back() == u' ') return false;
    for (char16_t c : name) {
        if (is_forbidden(c) || is_separator(c) || c == u'*' || c == u'?') return false;
    }
    return surrogates_paired(name);
}

}  // namespace cek::fsys

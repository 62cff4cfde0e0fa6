#include "fsys/path.h"

#include "fsys/pattern.h"

namespace cek::fsys {

namespace {

bool is_separator(char16_t c) { return c == u'\\' || c == u'/'; }

bool is_forbidden(char16_t c) {
    return c < 32 || c == u'<' || c == u'>' || c == u':' || c == u'"' || c == u'|';
}

bool is_high_surrogate(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }
bool is_low_surrogate(char16_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

bool surrogates_paired(std::u16string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        if (is_high_surrogate(s[i])) {
            if (i + 1 >= s.size() || !is_low_surrogate(s[i + 1])) return false;
            ++i;
        } else if (is_low_surrogate(s[i])) {
            return false;
        }
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

    // Split first, so that "may this component hold wildcards" knows which one is last.
    std::vector<std::u16string_view> raw;
    size_t start = 0;
    for (size_t i = 0; i <= path.size(); ++i) {
        if (i == path.size() || is_separator(path[i])) {
            if (i > start) raw.push_back(path.substr(start, i - start));
            start = i + 1;
        }
    }

    CePath out;
    for (size_t i = 0; i < raw.size(); ++i) {
        std::u16string_view comp = raw[i];
        const bool last = i + 1 == raw.size();
        for (char16_t c : comp) {
            if (is_forbidden(c)) return Win32Error::ERROR_INVALID_NAME;
            if ((c == u'*' || c == u'?') && !(kind == PathKind::pattern && last)) {
                return Win32Error::ERROR_INVALID_NAME;
            }
        }
        if (comp == u".") continue;
        if (comp == u"..") {
            if (!out.components.empty()) out.components.pop_back();
            continue;
        }
        if (!has_wildcards(comp)) comp = strip_trailing_dots_spaces(comp);
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

std::optional<std::string> to_utf8(std::u16string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        uint32_t cp = text[i];
        if (is_high_surrogate(text[i])) {
            if (i + 1 >= text.size() || !is_low_surrogate(text[i + 1])) return std::nullopt;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (text[i + 1] - 0xDC00);
            ++i;
        } else if (is_low_surrogate(text[i])) {
            return std::nullopt;
        }
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    return out;
}

std::optional<std::u16string> from_utf8(std::string_view text) {
    std::u16string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const auto b0 = static_cast<unsigned char>(text[i]);
        uint32_t cp = 0;
        size_t len = 0;
        uint32_t min = 0;
        if (b0 < 0x80) {
            cp = b0, len = 1, min = 0;
        } else if ((b0 & 0xE0) == 0xC0) {
            cp = b0 & 0x1F, len = 2, min = 0x80;
        } else if ((b0 & 0xF0) == 0xE0) {
            cp = b0 & 0x0F, len = 3, min = 0x800;
        } else if ((b0 & 0xF8) == 0xF0) {
            cp = b0 & 0x07, len = 4, min = 0x10000;
        } else {
            return std::nullopt;
        }
        if (i + len > text.size()) return std::nullopt;
        for (size_t k = 1; k < len; ++k) {
            const auto b = static_cast<unsigned char>(text[i + k]);
            if ((b & 0xC0) != 0x80) return std::nullopt;
            cp = (cp << 6) | (b & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out += static_cast<char16_t>(0xD800 + (cp >> 10));
            out += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
        } else {
            out += static_cast<char16_t>(cp);
        }
        i += len;
    }
    return out;
}

}  // namespace cek::fsys

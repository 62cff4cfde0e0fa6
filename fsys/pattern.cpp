#include "fsys/pattern.h"

namespace cek::fsys {

bool has_wildcards(std::u16string_view component) {
    return component.find_first_of(u"*?") != std::u16string_view::npos;
}

namespace {

// Greedy matching with one backtrack point for the last '*': linear in practice, never
// exponential, which matters because patterns come from untrusted clients.
bool glob(std::u16string_view p, std::u16string_view n) {
    size_t pi = 0;
    size_t ni = 0;
    size_t star = std::u16string_view::npos;
    size_t star_n = 0;
    while (ni < n.size()) {
        if (pi < p.size() && p[pi] == u'*') {  // a wildcard even against a '*' in the name
            star = pi++;
            star_n = ni;
        } else if (pi < p.size() && (p[pi] == u'?' || p[pi] == n[ni])) {
            ++pi;
            ++ni;
        } else if (star != std::u16string_view::npos) {
            pi = star + 1;
            ni = ++star_n;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == u'*') ++pi;
    return pi == p.size();
}

}  // namespace

bool match_pattern(std::u16string_view pattern, std::u16string_view name) {
    if (glob(pattern, name)) return true;
    if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == u".*" &&
        name.find(u'.') == std::u16string_view::npos) {
        return glob(pattern.substr(0, pattern.size() - 2), name);
    }
    return false;
}

}  // namespace cek::fsys

// Choosing a personality at boot (`cekernel --personality`).
#include "kernel/personality/personality.h"

#include <cstdio>

#include "kernel/objects/open_files.h"
#include "protocol/ce_constants.h"

namespace cek::kernel {

uint32_t cffm_share_mode(uint32_t desired_access, uint32_t share) {
    if ((share & ce::kFileShareWriteOverride) != 0) return kShareRead | kShareWrite;
    return desired_access == ce::kGenericRead ? kShareRead : 0;
}

bool ends_with_exe(std::u16string_view name) {
    if (name.size() < 4) return false;
    std::u16string_view tail = name.substr(name.size() - 4);
    auto lower = [](char16_t c) { return c >= u'A' && c <= u'Z' ? char16_t(c + 32) : c; };
    return tail[0] == u'.' && lower(tail[1]) == u'e' && lower(tail[2]) == u'x' &&
           lower(tail[3]) == u'e';
}

PersonalityChoice choose_personality(uint32_t version) {
    if (version == 4 || version == 5) return {make_ce5(), {}};
    if (version == 6 || version == 7) return {make_ce6(), {}};
    char text[160];
    std::snprintf(text, sizeof text,
                  "there is no personality for CE %u: this kernel offers ce5 (CE 4.2 and 5.0) "
                  "and ce6 (CE 6.0 and 7.0)",
                  version);
    return {nullptr, text};
}

PersonalityChoice choose_personality(std::string_view name) {
    if (name == "ce5") return choose_personality(5u);
    if (name == "ce6") return choose_personality(6u);
    return {nullptr, "unknown personality '" + std::string(name) + "' (known: ce5, ce6)"};
}

}  // namespace cek::kernel

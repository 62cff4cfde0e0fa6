#include "kernel/dispatch/trace_text.h"

#include <cstdio>

#include "protocol/ce_constants.h"

namespace cek::kernel::trace_text {

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string handle(uint32_t h) { return h == ce::kInvalidHandle ? "INVALID_HANDLE_VALUE" : hex(h); }

std::string flags(uint32_t value, std::initializer_list<std::pair<uint32_t, const char*>> names) {
    std::string out;
    for (const auto& [bit, name] : names) {
        if (bit != 0 && (value & bit) == bit) {
            out += (out.empty() ? "" : "|") + std::string(name);
            value &= ~bit;
        }
    }
    if (value != 0 || out.empty()) out += (out.empty() ? "" : "|") + hex(value);
    return out;
}

std::string protect(uint32_t p) {
    return flags(p, {{ce::kPageReadWrite, "PAGE_READWRITE"},
                     {ce::kPageReadOnly, "PAGE_READONLY"},
                     {ce::kSecCommit, "SEC_COMMIT"}});
}

std::string map_access(uint32_t a) {
    if (a == ce::kFileMapAllAccess) return "FILE_MAP_ALL_ACCESS";
    return flags(a, {{ce::kFileMapRead, "FILE_MAP_READ"},
                     {ce::kFileMapWrite, "FILE_MAP_WRITE"},
                     {ce::kFileMapCopy, "FILE_MAP_COPY"}});
}

std::string file_access(uint32_t a) {
    return flags(a, {{ce::kGenericRead, "GENERIC_READ"},
                     {ce::kGenericWrite, "GENERIC_WRITE"},
                     {ce::kGenericAll, "GENERIC_ALL"}});
}

std::string share(uint32_t s) {
    return flags(s, {{ce::kFileShareRead, "FILE_SHARE_READ"},
                     {ce::kFileShareWrite, "FILE_SHARE_WRITE"},
                     {ce::kFileShareWriteOverride, "FILE_SHARE_WRITE_OVERRIDE"}});
}

std::string disposition(uint32_t d) {
    static constexpr const char* kNames[] = {
        "0", "CREATE_NEW", "CREATE_ALWAYS", "OPEN_EXISTING", "OPEN_ALWAYS", "TRUNCATE_EXISTING"};
    return choice(d, kNames);
}

std::string timeout(uint32_t ms) {
    return ms == ce::kWaitInfinite ? std::string("INFINITE") : std::to_string(ms);
}

std::string bounded(std::string s) {
    constexpr size_t kMax = 600;
    if (s.size() > kMax) {
        s.resize(kMax - 3);
        s += "...";
    }
    return s;
}

}  // namespace cek::kernel::trace_text

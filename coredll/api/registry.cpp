// The registry (<windows.h> registry part, CE's winreg.h). The tree lives in the kernel: each
// call is one round trip (a value or a subkey path larger than one slot goes in parts). Registry
// calls return their Win32 code and never touch the last error. Rules and codes:
// docs/semantics/registry.md.
#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "coredll/api/api.h"

using namespace cek::coredll;
namespace proto = cek::proto;

namespace {

// What a call answered, as a registry result.
LONG code(const CallStatus& s) {
    if (!s.delivered || s.failed) return static_cast<LONG>(s.error);
    return ERROR_SUCCESS;
}

uint32_t hkey_wire(HKEY h) { return handle_to_wire(reinterpret_cast<HANDLE>(h)); }

// Names and paths with what follows them in a request.
struct Text {
    std::vector<std::byte> bytes;
    void add(LPCWSTR s, uint32_t n) {
        auto b = std::as_bytes(std::span(s, n));
        bytes.insert(bytes.end(), b.begin(), b.end());
    }
};

// A subkey path as a request carries it: its units inline, or, for a path longer than one
// request holds, kTextStaged after staging it for this thread (StageText). A path longer
// than any key's (kRegPathLongest) is ERROR_INVALID_PARAMETER.
struct Path {
    uint32_t wire_chars = 0;
    uint32_t inline_chars = 0;
};
LONG prepare_path(LPCWSTR path, Path& out) {
    const uint32_t n = length_capped(path, proto::kRegPathLongest);
    if (n > proto::kRegPathLongest) return ERROR_INVALID_PARAMETER;
    if (n <= proto::kRegPathMaxChars) {
        out = {n, n};
        return ERROR_SUCCESS;
    }
    if (LONG e = code(stage_text(proto::kStageRegistryPath, path, n)); e != ERROR_SUCCESS)
        return e;
    out = {proto::kTextStaged, 0};
    return ERROR_SUCCESS;
}

uint32_t name_length(LPCWSTR name) {
    return std::min(length_capped(name, proto::kRegNameMaxChars), proto::kRegNameMaxChars);
}

// Reads the rest of a value (from `have` bytes on) into `out`; ERROR_INVALID_DATA when it
// changed in between.
LONG read_rest(uint32_t hkey, LPCWSTR name, uint32_t name_chars, uint64_t stamp, uint32_t have,
               std::byte* out, uint32_t size) {
    Connection& c = Connection::instance();
    while (have < size) {
        proto::RegQueryValueRequest req{hkey, name_chars, have, 0, stamp};
        proto::RegQueryValueReply rep{};
        std::byte part[proto::kRegValueReplyInline];
        CallStatus s = c.call(req, rep, std::as_bytes(std::span(name, name_chars)), part);
        if (LONG e = code(s); e != ERROR_SUCCESS) return e;
        if (rep.stamp != stamp || rep.size != size) return ERROR_INVALID_DATA;
        const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(s.data_bytes), size - have);
        if (n == 0) return ERROR_INVALID_DATA;
        std::memcpy(out + have, part, n);
        have += n;
    }
    return ERROR_SUCCESS;
}

}  // namespace

extern "C" {

LONG WINAPI RegCreateKeyExW(HKEY hKey, LPCWSTR lpSubKey, DWORD, LPWSTR lpClass, DWORD dwOptions,
                            REGSAM, LPSECURITY_ATTRIBUTES, PHKEY phkResult,
                            LPDWORD lpdwDisposition) {
    if (phkResult == nullptr) return ERROR_INVALID_PARAMETER;
    Path path;
    if (LONG e = prepare_path(lpSubKey, path); e != ERROR_SUCCESS) return e;
    const uint32_t class_chars = name_length(lpClass);
    Text t;
    t.add(lpSubKey, path.inline_chars);
    t.add(lpClass, class_chars);
    proto::RegCreateKeyRequest req{hkey_wire(hKey), dwOptions, path.wire_chars, class_chars};
    proto::RegCreateKeyReply rep{};
    const LONG e = code(Connection::instance().call(req, rep, t.bytes));
    if (e != ERROR_SUCCESS) return e;
    *phkResult = reinterpret_cast<HKEY>(handle_from_wire(rep.hkey));
    if (lpdwDisposition != nullptr) *lpdwDisposition = rep.disposition;
    return ERROR_SUCCESS;
}

LONG WINAPI RegOpenKeyExW(HKEY hKey, LPCWSTR lpSubKey, DWORD, REGSAM, PHKEY phkResult) {
    if (phkResult == nullptr) return ERROR_INVALID_PARAMETER;
    Path path;
    if (LONG e = prepare_path(lpSubKey, path); e != ERROR_SUCCESS) return e;
    proto::RegOpenKeyRequest req{hkey_wire(hKey), path.wire_chars};
    proto::RegOpenKeyReply rep{};
    const LONG e = code(Connection::instance().call(
        req, rep, std::as_bytes(std::span(lpSubKey, path.inline_chars))));
    if (e != ERROR_SUCCESS) return e;
    *phkResult = reinterpret_cast<HKEY>(handle_from_wire(rep.hkey));
    return ERROR_SUCCESS;
}

LONG WINAPI RegCloseKey(HKEY hKey) {
    proto::RegCloseKeyRequest req{hkey_wire(hKey), 0};
    proto::RegCloseKeyReply rep{};
    return code(Connection::instance().call(req, rep));
}

LONG WINAPI RegQueryValueExW(HKEY hKey, LPCWSTR lpValueName, LPDWORD lpReserved, LPDWORD lpType,
                             LPBYTE lpData, LPDWORD lpcbData) {
    if (lpReserved != nullptr || (lpData != nullptr && lpcbData == nullptr))
        return ERROR_INVALID_PARAMETER;
    const uint32_t hkey = hkey_wire(hKey);
    const uint32_t name_chars = name_length(lpValueName);
    Connection& c = Connection::instance();
    for (;;) {  // again if the value changes while it is read in parts
        proto::RegQueryValueRequest req{hkey, name_chars, 0, 0, 0};
        proto::RegQueryValueReply rep{};
        std::byte first[proto::kRegValueReplyInline];
        CallStatus s = c.call(req, rep, std::as_bytes(std::span(lpValueName, name_chars)), first);
        if (LONG e = code(s); e != ERROR_SUCCESS) return e;
        if (lpType != nullptr) *lpType = rep.type;
        if (lpData == nullptr) {
            if (lpcbData != nullptr) *lpcbData = rep.size;
            return ERROR_SUCCESS;
        }
        if (*lpcbData < rep.size) {
            *lpcbData = rep.size;
            return ERROR_MORE_DATA;
        }
        const auto have = static_cast<uint32_t>(s.data_bytes);
        std::memcpy(lpData, first, std::min(have, rep.size));
        if (have < rep.size) {
            LONG e = read_rest(hkey, lpValueName, name_chars, rep.stamp, have,
                               reinterpret_cast<std::byte*>(lpData), rep.size);
            if (e == ERROR_INVALID_DATA) continue;
            if (e != ERROR_SUCCESS) return e;
        }
        *lpcbData = rep.size;
        return ERROR_SUCCESS;
    }
}

LONG WINAPI RegSetValueExW(HKEY hKey, LPCWSTR lpValueName, DWORD, DWORD dwType,
                           const BYTE* lpData, DWORD cbData) {
    if (lpData == nullptr && cbData != 0) return ERROR_INVALID_PARAMETER;
    const uint32_t name_chars = name_length(lpValueName);
    const uint32_t inline_bytes = proto::reg_set_value_inline(name_chars);
    Connection& c = Connection::instance();
    proto::RegSetValueRequest req{hkey_wire(hKey), dwType, name_chars, cbData, 0, 0};
    proto::RegSetValueReply rep{};
    const auto* data = reinterpret_cast<const std::byte*>(lpData);
    // Past the limit no byte needs to travel: the kernel refuses the size.
    const uint32_t to_send = cbData > 4096 ? 0 : cbData;
    do {
        const uint32_t part = std::min(to_send - req.offset, inline_bytes);
        Text t;
        t.add(lpValueName, name_chars);
        t.bytes.insert(t.bytes.end(), data + req.offset, data + req.offset + part);
        if (LONG e = code(c.call(req, rep, t.bytes)); e != ERROR_SUCCESS) return e;
        req.offset += part;
    } while (req.offset < to_send);
    return ERROR_SUCCESS;
}

LONG WINAPI RegDeleteKeyW(HKEY hKey, LPCWSTR lpSubKey) {
    Path path;
    if (LONG e = prepare_path(lpSubKey, path); e != ERROR_SUCCESS) return e;
    proto::RegDeleteKeyRequest req{hkey_wire(hKey), path.wire_chars};
    proto::RegDeleteKeyReply rep{};
    return code(Connection::instance().call(
        req, rep, std::as_bytes(std::span(lpSubKey, path.inline_chars))));
}

LONG WINAPI RegDeleteValueW(HKEY hKey, LPCWSTR lpValueName) {
    const uint32_t name_chars = name_length(lpValueName);
    proto::RegDeleteValueRequest req{hkey_wire(hKey), name_chars};
    proto::RegDeleteValueReply rep{};
    return code(
        Connection::instance().call(req, rep, std::as_bytes(std::span(lpValueName, name_chars))));
}

LONG WINAPI RegEnumKeyExW(HKEY hKey, DWORD dwIndex, LPWSTR lpName, LPDWORD lpcName, LPDWORD,
                          LPWSTR lpClass, LPDWORD lpcClass, PFILETIME lpftLastWriteTime) {
    if (lpName == nullptr || lpcName == nullptr || (lpClass != nullptr && lpcClass == nullptr))
        return ERROR_INVALID_PARAMETER;
    proto::RegEnumKeyRequest req{hkey_wire(hKey), dwIndex};
    proto::RegEnumKeyReply rep{};
    WCHAR text[2 * (proto::kRegNameMaxChars + 1)];
    CallStatus s = Connection::instance().call(req, rep, {}, std::as_writable_bytes(std::span(text)));
    if (LONG e = code(s); e != ERROR_SUCCESS) return e;
    if (*lpcName <= rep.name_chars) return ERROR_MORE_DATA;  // room for the terminator too
    if (lpClass != nullptr && *lpcClass <= rep.class_chars) return ERROR_MORE_DATA;
    std::memcpy(lpName, text, rep.name_chars * sizeof(WCHAR));
    lpName[rep.name_chars] = 0;
    *lpcName = rep.name_chars;
    if (lpClass != nullptr) {
        std::memcpy(lpClass, text + rep.name_chars, rep.class_chars * sizeof(WCHAR));
        lpClass[rep.class_chars] = 0;
        *lpcClass = rep.class_chars;
    }
    if (lpftLastWriteTime != nullptr) *lpftLastWriteTime = FILETIME{0, 0};
    return ERROR_SUCCESS;
}

LONG WINAPI RegEnumValueW(HKEY hKey, DWORD dwIndex, LPWSTR lpValueName, LPDWORD lpcValueName,
                          LPDWORD lpReserved, LPDWORD lpType, LPBYTE lpData, LPDWORD lpcbData) {
    if (lpValueName == nullptr || lpcValueName == nullptr || lpReserved != nullptr ||
        (lpData != nullptr && lpcbData == nullptr))
        return ERROR_INVALID_PARAMETER;
    const uint32_t hkey = hkey_wire(hKey);
    Connection& c = Connection::instance();
    for (;;) {
        proto::RegEnumValueRequest req{hkey, dwIndex};
        proto::RegEnumValueReply rep{};
        std::byte reply[proto::kRegEnumValueInline];
        CallStatus s = c.call(req, rep, {}, reply);
        if (LONG e = code(s); e != ERROR_SUCCESS) return e;
        if (*lpcValueName <= rep.name_chars) return ERROR_MORE_DATA;
        WCHAR name[proto::kRegNameMaxChars + 1];
        std::memcpy(name, reply, rep.name_chars * sizeof(WCHAR));
        name[rep.name_chars] = 0;
        if (lpData != nullptr && *lpcbData < rep.size) {
            *lpcbData = rep.size;
            return ERROR_MORE_DATA;
        }
        if (lpData != nullptr) {
            const uint32_t first = static_cast<uint32_t>(s.data_bytes) - rep.name_chars * 2;
            std::memcpy(lpData, reply + rep.name_chars * 2, std::min(first, rep.size));
            if (first < rep.size) {
                LONG e = read_rest(hkey, name, rep.name_chars, rep.stamp, first,
                                   reinterpret_cast<std::byte*>(lpData), rep.size);
                if (e == ERROR_INVALID_DATA || e == ERROR_FILE_NOT_FOUND) continue;  // it changed
                if (e != ERROR_SUCCESS) return e;
            }
        }
        std::memcpy(lpValueName, name, (rep.name_chars + 1) * sizeof(WCHAR));
        *lpcValueName = rep.name_chars;
        if (lpType != nullptr) *lpType = rep.type;
        if (lpcbData != nullptr) *lpcbData = rep.size;
        return ERROR_SUCCESS;
    }
}

LONG WINAPI RegQueryInfoKeyW(HKEY hKey, LPWSTR lpClass, LPDWORD lpcClass, LPDWORD,
                             LPDWORD lpcSubKeys, LPDWORD lpcMaxSubKeyLen, LPDWORD lpcMaxClassLen,
                             LPDWORD lpcValues, LPDWORD lpcMaxValueNameLen, LPDWORD lpcMaxValueLen,
                             LPDWORD lpcbSecurityDescriptor, PFILETIME lpftLastWriteTime) {
    if (lpClass != nullptr && lpcClass == nullptr) return ERROR_INVALID_PARAMETER;
    proto::RegQueryInfoRequest req{hkey_wire(hKey), 0};
    proto::RegQueryInfoReply rep{};
    WCHAR cls[proto::kRegNameMaxChars + 1];
    CallStatus s = Connection::instance().call(req, rep, {}, std::as_writable_bytes(std::span(cls)));
    if (LONG e = code(s); e != ERROR_SUCCESS) return e;
    if (lpClass != nullptr) {
        if (*lpcClass <= rep.class_chars) {
            *lpcClass = rep.class_chars;
            return ERROR_MORE_DATA;
        }
        std::memcpy(lpClass, cls, rep.class_chars * sizeof(WCHAR));
        lpClass[rep.class_chars] = 0;
    }
    if (lpcClass != nullptr) *lpcClass = rep.class_chars;
    if (lpcSubKeys != nullptr) *lpcSubKeys = rep.subkeys;
    if (lpcMaxSubKeyLen != nullptr) *lpcMaxSubKeyLen = rep.max_subkey_chars;
    if (lpcMaxClassLen != nullptr) *lpcMaxClassLen = rep.max_class_chars;
    if (lpcValues != nullptr) *lpcValues = rep.values;
    if (lpcMaxValueNameLen != nullptr) *lpcMaxValueNameLen = rep.max_value_name_chars;
    if (lpcMaxValueLen != nullptr) *lpcMaxValueLen = rep.max_value_bytes;
    if (lpcbSecurityDescriptor != nullptr) *lpcbSecurityDescriptor = 0;
    if (lpftLastWriteTime != nullptr) *lpftLastWriteTime = FILETIME{0, 0};
    return ERROR_SUCCESS;
}

LONG WINAPI RegFlushKey(HKEY hKey) {
    proto::RegFlushKeyRequest req{hkey_wire(hKey), 0};
    proto::RegFlushKeyReply rep{};
    return code(Connection::instance().call(req, rep));
}

}  // extern "C"

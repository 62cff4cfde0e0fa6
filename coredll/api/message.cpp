// FormatMessageW: system messages (short English texts of our own for every error code the
// kernel or this library reports) and caller strings, with inserts, ALLOCATE_BUFFER (LocalAlloc)
// and the line-width control.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "coredll/api/api.h"

using namespace cek::coredll;

namespace {

struct SystemMessage {
    DWORD code;
    const char* text;
};

// The codes of common/errors.def plus those only this library reports. ASCII only.
constexpr SystemMessage kMessages[] = {
    {ERROR_SUCCESS, "The operation completed successfully."},
    {ERROR_INVALID_FUNCTION, "Incorrect function."},
    {ERROR_FILE_NOT_FOUND, "The system cannot find the file specified."},
    {ERROR_PATH_NOT_FOUND, "The system cannot find the path specified."},
    {ERROR_TOO_MANY_OPEN_FILES, "The system cannot open the file."},
    {ERROR_ACCESS_DENIED, "Access is denied."},
    {ERROR_INVALID_HANDLE, "The handle is invalid."},
    {ERROR_NOT_ENOUGH_MEMORY, "Not enough storage is available to process this command."},
    {ERROR_INVALID_ACCESS, "The access code is invalid."},
    {ERROR_INVALID_DATA, "The data is invalid."},
    {ERROR_OUTOFMEMORY, "Not enough storage is available to complete this operation."},
    {ERROR_NOT_SAME_DEVICE, "The system cannot move the file to a different disk drive."},
    {ERROR_NO_MORE_FILES, "There are no more files."},
    {ERROR_WRITE_PROTECT, "The media is write protected."},
    {ERROR_BAD_LENGTH, "The program issued a command but the command length is incorrect."},
    {ERROR_SEEK, "The drive cannot locate a specific area or track on the disk."},
    {ERROR_WRITE_FAULT, "The system cannot write to the specified device."},
    {ERROR_READ_FAULT, "The system cannot read from the specified device."},
    {ERROR_GEN_FAILURE, "A device attached to the system is not functioning."},
    {ERROR_SHARING_VIOLATION,
     "The process cannot access the file because it is being used by another process."},
    {ERROR_LOCK_VIOLATION,
     "The process cannot access the file because another process has locked a portion of it."},
    {ERROR_HANDLE_EOF, "Reached the end of the file."},
    {ERROR_HANDLE_DISK_FULL, "The disk is full."},
    {ERROR_NOT_SUPPORTED, "The request is not supported."},
    {ERROR_FILE_EXISTS, "The file exists."},
    {ERROR_CANNOT_MAKE, "The directory or file cannot be created."},
    {ERROR_INVALID_PARAMETER, "The parameter is incorrect."},
    {ERROR_BROKEN_PIPE, "The pipe has been ended."},
    {ERROR_DISK_FULL, "There is not enough space on the disk."},
    {ERROR_CALL_NOT_IMPLEMENTED, "This function is not supported on this system."},
    {ERROR_INSUFFICIENT_BUFFER, "The data area passed to a system call is too small."},
    {ERROR_INVALID_NAME, "The filename, directory name, or volume label syntax is incorrect."},
    {ERROR_MOD_NOT_FOUND, "The specified module could not be found."},
    {ERROR_PROC_NOT_FOUND, "The specified procedure could not be found."},
    {ERROR_NEGATIVE_SEEK, "An attempt was made to move the file pointer before the beginning of the file."},
    {ERROR_DIR_NOT_EMPTY, "The directory is not empty."},
    {ERROR_SIGNAL_REFUSED, "The recipient process has refused the signal."},
    {ERROR_BAD_PATHNAME, "The specified path is invalid."},
    {ERROR_BUSY, "The requested resource is in use."},
    {ERROR_ALREADY_EXISTS, "Cannot create a file when that file already exists."},
    {ERROR_BAD_EXE_FORMAT, "The program is not a valid application."},
    {ERROR_FILENAME_EXCED_RANGE, "The filename or extension is too long."},
    {ERROR_PIPE_NOT_CONNECTED, "No process is on the other end of the pipe."},
    {ERROR_MORE_DATA, "More data is available."},
    {ERROR_NO_MORE_ITEMS, "No more data is available."},
    {ERROR_KEY_DELETED, "Illegal operation attempted on a registry key that has been marked for deletion."},
    {ERROR_DIRECTORY, "The directory name is invalid."},
    {ERROR_NOT_OWNER, "Attempt to release mutex not owned by caller."},
    {ERROR_TOO_MANY_POSTS, "Too many posts were made to a semaphore."},
    {ERROR_MR_MID_NOT_FOUND, "The system cannot find message text for message number %1."},
    {ERROR_INVALID_ADDRESS, "Attempt to access invalid address."},
    {ERROR_ARITHMETIC_OVERFLOW, "Arithmetic result exceeded 32 bits."},
    {ERROR_OPERATION_ABORTED, "The operation was stopped before it completed."},
    {ERROR_NOACCESS, "Invalid access to memory location."},
    {ERROR_INVALID_FLAGS, "Invalid flags."},
    {ERROR_FILE_INVALID, "The volume for a file has been externally altered so that the opened file is no longer valid."},
    {ERROR_SERVICE_NOT_ACTIVE, "The CE kernel is not running."},
    {ERROR_NO_UNICODE_TRANSLATION,
     "No mapping for the Unicode character exists in the target multi-byte code page."},
    {ERROR_DLL_INIT_FAILED, "The program ended before it finished loading."},
    {ERROR_MAPPED_ALIGNMENT, "The base address or the file offset specified does not have the proper alignment."},
    {ERROR_NO_MORE_USER_HANDLES, "The current process has used all of its system allowance of handles."},
    {ERROR_USER_MAPPED_FILE, "The requested operation cannot be performed on a file with a user-mapped section open."},
    {ERROR_TIMEOUT, "This operation returned because the timeout period expired."},
    {ERROR_RESOURCE_LANG_NOT_FOUND, "The specified resource language ID cannot be found in the image file."},
};

const char* system_text(DWORD code) {
    for (const auto& m : kMessages)
        if (m.code == code) return m.text;
    return nullptr;
}

// Inserts' arguments: an array of DWORD_PTRs, or the caller's va_list.
class Arguments {
public:
    Arguments(va_list* list, bool array) : list_(list), array_(array) {}
    bool present() const { return list_ != nullptr; }
    // Argument `n` (1-based). A va_list can only be read in order, as Windows also requires.
    uintptr_t get(int n) {
        if (array_) return reinterpret_cast<const DWORD_PTR*>(list_)[n - 1];
        while (read_ < n) {
            last_ = va_arg(*list_, uintptr_t);
            ++read_;
        }
        return last_;
    }

private:
    va_list* list_;
    bool array_;
    int read_ = 0;
    uintptr_t last_ = 0;
};

void append_ascii(std::u16string& out, std::string_view s) {
    for (char c : s) out.push_back(static_cast<char16_t>(static_cast<unsigned char>(c)));
}

// One insert: %n or %n!format!, formatted with the printf-style format (default "s", a wide
// string); "s"/"ws"/"ls"/"S" take strings, integers use the C library.
void format_insert(std::u16string& out, std::string_view fmt, uintptr_t value) {
    std::string spec(fmt);
    bool is_string = !spec.empty() && (spec.back() == 's' || spec.back() == 'S');
    if (is_string) {
        // Our strings are always wide (CE has no ANSI API).
        const auto* s = reinterpret_cast<const WCHAR*>(value);
        if (s == nullptr) {
            append_ascii(out, "(null)");
            return;
        }
        for (; *s != 0; ++s) out.push_back(static_cast<char16_t>(*s));
        return;
    }
    char buf[64];
    std::string printf_fmt = "%" + spec;
    if (spec.find_first_of("lh") == std::string::npos && spec.find("I64") == std::string::npos) {
        // A bare integer conversion takes a 32-bit value.
        std::snprintf(buf, sizeof buf, printf_fmt.c_str(), static_cast<unsigned>(value));
    } else {
        std::string plain;
        for (char c : spec)
            if (c != 'l' && c != 'h' && c != 'I' && c != '6' && c != '4') plain.push_back(c);
        std::snprintf(buf, sizeof buf, ("%ll" + plain).c_str(), static_cast<unsigned long long>(value));
    }
    append_ascii(out, buf);
}

// Expands the message template. False (ERROR_INVALID_PARAMETER) on a malformed insert.
bool expand(std::u16string_view src, bool ignore_inserts, Arguments& args, unsigned width,
            std::u16string& out) {
    size_t column = 0;
    auto put = [&](char16_t c) {
        if (c == u'\n') {
            column = 0;
        } else if (width != 0 && column >= width) {
            out.append(u"\r\n");
            column = 0;
        }
        out.push_back(c);
        if (c != u'\n' && c != u'\r') ++column;
    };
    for (size_t i = 0; i < src.size(); ++i) {
        char16_t c = src[i];
        if (c == u'\r' || c == u'\n') {
            // Line breaks of the template: kept without a width limit, else become spaces
            // (FORMAT_MESSAGE_MAX_WIDTH_MASK: only %n breaks a line).
            if (width == 0) {
                out.push_back(c);
                if (c == u'\n') column = 0;
            } else if (c == u'\n' || i + 1 >= src.size() || src[i + 1] != u'\n') {
                put(u' ');
            }
            continue;
        }
        if (c != u'%' || i + 1 >= src.size()) {
            put(c);
            continue;
        }
        char16_t n = src[i + 1];
        if (ignore_inserts) {
            put(c);
            continue;
        }
        if (n == u'0') return true;  // %0 ends the message without a line break
        if (n == u'n') {
            out.append(u"\r\n");
            column = 0;
            ++i;
            continue;
        }
        if (n >= u'1' && n <= u'9') {
            int number = n - u'0';
            size_t j = i + 2;
            if (j < src.size() && src[j] >= u'0' && src[j] <= u'9') number = number * 10 + (src[j++] - u'0');
            std::string fmt = "s";
            if (j < src.size() && src[j] == u'!') {
                size_t end = src.find(u'!', j + 1);
                if (end == std::u16string_view::npos) return false;
                fmt.clear();
                for (size_t k = j + 1; k < end; ++k) fmt.push_back(static_cast<char>(src[k]));
                j = end + 1;
            }
            if (!args.present()) return false;
            std::u16string piece;
            format_insert(piece, fmt, args.get(number));
            for (char16_t p : piece) put(p);
            i = j - 1;
            continue;
        }
        put(n);  // %%, %., %!, %space and any other escaped character
        ++i;
    }
    return true;
}

}  // namespace

extern "C" {

DWORD WINAPI FormatMessageW(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId,
                            DWORD dwLanguageId, LPWSTR lpBuffer, DWORD nSize, va_list* Arguments) {
    const bool from_string = (dwFlags & FORMAT_MESSAGE_FROM_STRING) != 0;
    const bool from_system = (dwFlags & FORMAT_MESSAGE_FROM_SYSTEM) != 0;
    const bool allocate = (dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER) != 0;
    if (lpBuffer == nullptr || (from_string && (from_system || lpSource == nullptr)) ||
        (!from_string && !from_system)) {
        // FROM_HMODULE alone: this library has no message tables in modules.
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    std::u16string templ;
    if (from_string) {
        for (const auto* s = static_cast<const WCHAR*>(lpSource); *s != 0; ++s)
            templ.push_back(static_cast<char16_t>(*s));
    } else {
        WORD primary = PRIMARYLANGID(dwLanguageId);
        if (primary != LANG_NEUTRAL && primary != LANG_ENGLISH) {
            set_last_error(ERROR_RESOURCE_LANG_NOT_FOUND);
            return 0;
        }
        const char* text = system_text(dwMessageId);
        if (text == nullptr) {
            set_last_error(ERROR_MR_MID_NOT_FOUND);
            return 0;
        }
        append_ascii(templ, text);
        templ.append(u"\r\n");
    }

    ::Arguments args(Arguments, (dwFlags & FORMAT_MESSAGE_ARGUMENT_ARRAY) != 0);
    std::u16string out;
    if (!expand(templ, (dwFlags & FORMAT_MESSAGE_IGNORE_INSERTS) != 0, args,
                dwFlags & FORMAT_MESSAGE_MAX_WIDTH_MASK, out)) {
        set_last_error(ERROR_INVALID_PARAMETER);
        return 0;
    }
    const auto chars = static_cast<DWORD>(out.size());
    LPWSTR dest = lpBuffer;
    if (allocate) {
        DWORD cap = chars + 1 > nSize ? chars + 1 : nSize;
        dest = static_cast<LPWSTR>(LocalAlloc(LMEM_FIXED, cap * sizeof(WCHAR)));
        if (dest == nullptr) {
            set_last_error(ERROR_NOT_ENOUGH_MEMORY);
            return 0;
        }
        *reinterpret_cast<LPWSTR*>(lpBuffer) = dest;
    } else if (nSize < chars + 1) {
        set_last_error(ERROR_INSUFFICIENT_BUFFER);
        return 0;
    }
    std::memcpy(dest, out.data(), chars * sizeof(WCHAR));
    dest[chars] = 0;
    return chars;
}

}  // extern "C"

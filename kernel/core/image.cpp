#include "kernel/core/image.h"

#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/utf.h"

namespace cek::kernel {

namespace {

#if __SIZEOF_POINTER__ == 8
using Ehdr = Elf64_Ehdr;
using Phdr = Elf64_Phdr;
using Dyn = Elf64_Dyn;
constexpr unsigned char kClass = ELFCLASS64;
#else
using Ehdr = Elf32_Ehdr;
using Phdr = Elf32_Phdr;
using Dyn = Elf32_Dyn;
constexpr unsigned char kClass = ELFCLASS32;
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr unsigned char kData = ELFDATA2LSB;
#else
constexpr unsigned char kData = ELFDATA2MSB;
#endif

constexpr size_t kMaxPhdrs = 256;
constexpr size_t kMaxDynamic = 4096;  // entries
constexpr size_t kMaxString = 4096;

// The file's first bytes, read once: the headers, program headers, interpreter and most
// dynamic strings of an ordinary program lie there, so inspecting one costs one or two reads.
struct Head {
    char data[4096];
    size_t size = 0;
};

bool read_at(int fd, const Head& head, void* out, size_t n, uint64_t offset) {
    if (offset <= head.size && n <= head.size - offset) {
        std::memcpy(out, head.data + offset, n);
        return true;
    }
    size_t done = 0;
    while (done < n) {
        ssize_t r = ::pread(fd, static_cast<char*>(out) + done, n - done,
                            static_cast<off_t>(offset + done));
        if (r <= 0) return false;
        done += static_cast<size_t>(r);
    }
    return true;
}

// A NUL-terminated string at `offset` (at most kMaxString bytes).
std::optional<std::string> string_at(int fd, const Head& head, uint64_t offset) {
    if (offset < head.size) {
        const char* start = head.data + offset;
        const size_t room = head.size - offset;
        if (const void* nul = std::memchr(start, 0, std::min(room, kMaxString)))
            return std::string(start, static_cast<const char*>(nul));
    }
    std::string out;
    char buf[256];
    while (out.size() < kMaxString) {
        ssize_t r = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offset + out.size()));
        if (r <= 0) return std::nullopt;
        const void* nul = std::memchr(buf, 0, static_cast<size_t>(r));
        if (nul != nullptr) return out.append(buf, static_cast<const char*>(nul) - buf);
        out.append(buf, static_cast<size_t>(r));
    }
    return std::nullopt;
}

// The file offset of virtual address `vaddr`, through the PT_LOAD segments.
std::optional<uint64_t> file_offset(const std::vector<Phdr>& phdrs, uint64_t vaddr) {
    for (const Phdr& ph : phdrs)
        if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz)
            return ph.p_offset + (vaddr - ph.p_vaddr);
    return std::nullopt;
}

Result<ImageInfo> inspect_elf(int fd, const Head& head) {
    Ehdr eh{};
    if (!read_at(fd, head, &eh, sizeof eh, 0) || eh.e_ident[EI_CLASS] != kClass ||
        eh.e_ident[EI_DATA] != kData || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
        eh.e_entry == 0 || eh.e_phentsize != sizeof(Phdr) || eh.e_phnum == 0 ||
        eh.e_phnum > kMaxPhdrs)
        return Win32Error::ERROR_BAD_EXE_FORMAT;
    std::vector<Phdr> phdrs(eh.e_phnum);
    if (!read_at(fd, head, phdrs.data(), phdrs.size() * sizeof(Phdr), eh.e_phoff))
        return Win32Error::ERROR_BAD_EXE_FORMAT;
    ImageInfo info;
    const Phdr* dynamic = nullptr;
    for (const Phdr& ph : phdrs) {
        if (ph.p_type == PT_INTERP) {
            auto interp = string_at(fd, head, ph.p_offset);
            if (!interp) return Win32Error::ERROR_BAD_EXE_FORMAT;
            info.interpreter = *interp;
        } else if (ph.p_type == PT_DYNAMIC) {
            dynamic = &ph;
        }
    }
    if (dynamic == nullptr) return info;  // static: it cannot link libcoredll
    std::vector<Dyn> dyn(std::min<size_t>(dynamic->p_filesz / sizeof(Dyn), kMaxDynamic));
    if (!read_at(fd, head, dyn.data(), dyn.size() * sizeof(Dyn), dynamic->p_offset))
        return Win32Error::ERROR_BAD_EXE_FORMAT;
    std::optional<uint64_t> strtab;
    for (const Dyn& d : dyn)
        if (d.d_tag == DT_STRTAB) strtab = file_offset(phdrs, d.d_un.d_ptr);
    if (!strtab) return info;
    for (const Dyn& d : dyn) {
        if (d.d_tag == DT_NULL) break;
        if (d.d_tag != DT_NEEDED) continue;
        auto name = string_at(fd, head, *strtab + d.d_un.d_val);
        if (name && name->rfind("libcoredll.so", 0) == 0) info.ce_program = true;
    }
    return info;
}

Result<ImageInfo> inspect_script(const Head& head) {
    const size_t n = std::min<size_t>(head.size, 255);  // the #! line's limit
    if (n < 2) return Win32Error::ERROR_BAD_EXE_FORMAT;
    std::string_view text(head.data + 2, n - 2);
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) return Win32Error::ERROR_BAD_EXE_FORMAT;  // too long
    text = text.substr(0, end);
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && (blank(text.back()) || text.back() == '\r')) text.remove_suffix(1);
    if (text.empty()) return Win32Error::ERROR_BAD_EXE_FORMAT;
    ImageInfo info;
    info.kind = ImageInfo::Kind::script;
    size_t split = 0;
    while (split < text.size() && !blank(text[split])) ++split;
    info.interpreter = std::string(text.substr(0, split));
    std::string_view arg = text.substr(split);
    while (!arg.empty() && blank(arg.front())) arg.remove_prefix(1);
    info.interpreter_arg = std::string(arg);  // Linux passes the rest as one argument
    return info;
}

}  // namespace

Result<ImageInfo> inspect_image(int fd) {
    auto head = std::make_unique<Head>();
    ssize_t n;
    while ((n = ::pread(fd, head->data, sizeof head->data, 0)) < 0 && errno == EINTR) {
    }
    if (n < 0) return Win32Error::ERROR_READ_FAULT;
    head->size = static_cast<size_t>(n);
    if (head->size >= SELFMAG && std::memcmp(head->data, ELFMAG, SELFMAG) == 0)
        return inspect_elf(fd, *head);
    if (head->size >= 2 && head->data[0] == '#' && head->data[1] == '!')
        return inspect_script(*head);
    return Win32Error::ERROR_BAD_EXE_FORMAT;
}

std::optional<std::vector<std::string>> launch_argv(const ImageInfo& image,
                                                    const std::string& host_path, bool executable,
                                                    const std::vector<std::string>& args) {
    std::vector<std::string> argv;
    if (image.kind == ImageInfo::Kind::script) {
        argv.push_back(image.interpreter);
        if (!image.interpreter_arg.empty()) argv.push_back(image.interpreter_arg);
    } else if (!executable) {
        if (image.interpreter.empty()) return std::nullopt;
        argv.push_back(image.interpreter);
    }
    argv.push_back(host_path);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

std::vector<std::string> split_command_line(std::u16string_view line) {
    std::vector<std::string> args;
    std::u16string current;
    bool in_arg = false;
    bool quoted = false;
    for (size_t i = 0; i < line.size();) {
        char16_t c = line[i];
        if (!quoted && (c == u' ' || c == u'\t')) {
            if (in_arg) args.push_back(utf8_from_utf16(current));
            current.clear();
            in_arg = false;
            ++i;
            continue;
        }
        in_arg = true;
        if (c == u'\\') {
            size_t n = 0;
            while (i < line.size() && line[i] == u'\\') ++n, ++i;
            if (i < line.size() && line[i] == u'"') {
                current.append(n / 2, u'\\');
                if (n % 2 == 1) {
                    current.push_back(u'"');
                    ++i;
                }
            } else {
                current.append(n, u'\\');
            }
            continue;
        }
        if (c == u'"') {
            // Inside quotes, "" is a literal quote (and the quoted part goes on).
            if (quoted && i + 1 < line.size() && line[i + 1] == u'"') {
                current.push_back(u'"');
                i += 2;
                continue;
            }
            quoted = !quoted;
            ++i;
            continue;
        }
        current.push_back(c);
        ++i;
    }
    if (in_arg) args.push_back(utf8_from_utf16(current));
    return args;
}

}  // namespace cek::kernel

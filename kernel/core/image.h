// What CreateProcessW needs to know of a program file before it starts one (ce-kernel-objects.md
// §1.1 step 5, in host terms): whether the file is something the host can run (an ELF
// executable, or a script with a `#!` line), how to start it, and whether it is a CE program
// (linked with libcoredll, so it attaches to the kernel and its creator waits for that).
// Also CE's command line split into host arguments. docs/decisions/0011-processes.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cek::kernel {

struct ImageInfo {
    enum class Kind { elf, script };
    Kind kind = Kind::elf;
    std::string interpreter;      // ELF: PT_INTERP (may be empty); script: the `#!` program
    std::string interpreter_arg;  // script: the one optional argument of the `#!` line
    bool ce_program = false;      // ELF that needs libcoredll
};

// Reads the headers of the open file `fd`. ERROR_BAD_EXE_FORMAT for anything else than an ELF
// executable of this host's class and byte order (a shared library without an entry point
// included) or a `#!` script; ERROR_READ_FAULT when the file cannot be read.
Result<ImageInfo> inspect_image(int fd);

// The host command that starts `host_path` with `args`: argv[0] is the program to exec. An ELF
// file the host may not execute (no x bit, as files copied into the object store are) runs
// through its interpreter, the dynamic loader; nullopt when there is none (a static program).
std::optional<std::vector<std::string>> launch_argv(const ImageInfo& image,
                                                    const std::string& host_path, bool executable,
                                                    const std::vector<std::string>& args);

// A CE command line split into arguments with the Microsoft C runtime's rules: white space
// separates, double quotes group, 2n backslashes before a quote are n and the quote counts,
// 2n+1 are n and a literal quote, other backslashes are literal.
std::vector<std::string> split_command_line(std::u16string_view line);

}  // namespace cek::kernel

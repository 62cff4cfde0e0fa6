// The misc API against a private kernel, from the C program built as CE code is built.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/kernel_fixture.h"
#include "support/process.h"

using namespace cek::test;
using namespace std::chrono_literals;

namespace {

// Runs the C program named by environment variable `var` against a private kernel (of the
// suite's personality); it prints "ok" and exits 0 when every check passed. `prepare` gets the
// object store's host directory.
template <class Prepare>
void run_c_program(const char* var, Prepare&& prepare) {
    KernelFixture k;
    prepare(std::filesystem::path(k.root()));
    Child app({program(var)}, k.client_env());
    CHECK(app.read_line(30s) == std::optional<std::string>("ok"));
    auto status = app.wait(30s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
}

void run_c_program(const char* var) {
    run_c_program(var, [](const std::filesystem::path&) {});
}

// The object store api_process expects: the child program ce_proc (\Windows\ce_proc.exe, and
// a copy without the execute bit), a script, one whose interpreter is missing and a file that
// is no program.
void prepare_processes(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    fs::create_directories(root / "Windows");
    const fs::path child = program("CEK_CE_PROC");
    fs::copy_file(child, root / "Windows" / "ce_proc.exe");
    // As a file copied into a device's store arrives: no execute bit.
    fs::copy_file(child, root / "Windows" / "noexec.exe");
    fs::permissions(root / "Windows" / "noexec.exe", fs::perms::owner_read | fs::perms::owner_write);
    std::ofstream(root / "tool.sh") << "#!/bin/sh\nexit 7\n";
    std::ofstream(root / "noint.exe") << "#!/nonexistent/interpreter\nexit 7\n";
    std::ofstream(root / "Windows" / "data.exe") << "not a program\n";
}

}  // namespace

TEST_CASE("the misc API works end to end from a C program built with -fshort-wchar",
          "[api][kernel]") {
    run_c_program("CEK_API_MISC");
}

TEST_CASE("<msgqueue.h> works end to end from a C program built with -fshort-wchar",
          "[api][kernel][msgqueue]") {
    run_c_program("CEK_API_MSGQUEUE");
}

TEST_CASE("the registry API works end to end from a C program built with -fshort-wchar",
          "[api][kernel][registry]") {
    run_c_program("CEK_API_REGISTRY");
}

TEST_CASE("threads and TLS work end to end from a C program built with -fshort-wchar",
          "[api][kernel][thread]") {
    run_c_program("CEK_API_THREAD");
}

TEST_CASE("processes work end to end from a C program built with -fshort-wchar",
          "[api][kernel][process]") {
    run_c_program("CEK_API_PROCESS", prepare_processes);
}

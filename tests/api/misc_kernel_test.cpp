// The misc API against a private kernel, from the C program built as CE code is built.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <chrono>

#include "support/kernel_fixture.h"
#include "support/process.h"

using namespace cek::test;
using namespace std::chrono_literals;

namespace {

// Runs the C program named by environment variable `var` against a private kernel; it prints
// "ok" and exits 0 when every check passed.
void run_c_program(const char* var) {
    KernelFixture k;
    Child app({program(var)}, k.client_env());
    CHECK(app.read_line(30s) == std::optional<std::string>("ok"));
    auto status = app.wait(30s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
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

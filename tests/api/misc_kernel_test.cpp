// The misc API against a private kernel, from the C program built as CE code is built.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <chrono>

#include "support/kernel_fixture.h"
#include "support/process.h"

using namespace cek::test;
using namespace std::chrono_literals;

TEST_CASE("the misc API works end to end from a C program built with -fshort-wchar",
          "[api][kernel]") {
    KernelFixture k;
    Child app({program("CEK_API_MISC")}, k.client_env());
    CHECK(app.read_line(30s) == std::optional<std::string>("ok"));
    auto status = app.wait(30s);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
}

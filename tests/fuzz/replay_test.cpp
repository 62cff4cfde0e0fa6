// Replays a fuzz target's seed corpus (tests/fuzz/corpus/<target>) as one Catch2 test, so the
// ordinary GCC test suite runs every seed and every minimized find through the same checks the
// fuzzer applies. A broken invariant aborts the program, which the suite counts as a failure;
// the message names the input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_support.h"

#ifndef CEK_FUZZ_TARGET
#error "CEK_FUZZ_TARGET names the target"
#endif
#ifndef CEK_FUZZ_CORPUS
#error "CEK_FUZZ_CORPUS is the corpus directory"
#endif

TEST_CASE("fuzz target " CEK_FUZZ_TARGET " replays its corpus", "[fuzz]") {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(CEK_FUZZ_CORPUS))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    REQUIRE(!files.empty());
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        REQUIRE((in.good() || in.eof()));
        const std::string name = f.filename().string();
        cek::fuzz::current_input = name.c_str();
        // A copy of exactly the file's size, as the fuzzer passes it (an empty input included).
        std::vector<uint8_t> exact(data.begin(), data.end());
        CHECK(LLVMFuzzerTestOneInput(exact.data(), exact.size()) == 0);
        cek::fuzz::current_input = nullptr;
    }
    INFO(files.size() << " inputs");
    SUCCEED();
}

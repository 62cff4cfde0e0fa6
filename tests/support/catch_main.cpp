// The one Catch2 main of every test executable: quiets spdlog unless CEK_TEST_LOG is set.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <catch2/catch_reporter_tap.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

int main(int argc, char* argv[]) {
    spdlog::set_level(spdlog::level::off);
    if (std::getenv("CEK_TEST_LOG") != nullptr) {
        spdlog::set_level(spdlog::level::debug);
        spdlog::cfg::load_env_levels();
    }
    return Catch::Session().run(argc, argv);
}

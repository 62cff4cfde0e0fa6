// The one Catch2 main of every test executable: quiets spdlog unless CEK_TEST_LOG is set.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <catch2/catch_reporter_tap.hpp>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>

int main(int argc, char* argv[]) {
    // A helper that died must fail the test case that talks to it, not kill the test process
    // with SIGPIPE: that would skip every destructor and leave its kernel running, holding the
    // test runner's output pipes open.
    std::signal(SIGPIPE, SIG_IGN);
    // Libraries' named loggers write where the default logger writes: stderr, as in cekernel.
    spdlog::set_default_logger(spdlog::stderr_color_mt("test"));
    spdlog::set_level(spdlog::level::off);
    if (std::getenv("CEK_TEST_LOG") != nullptr) {
        spdlog::set_level(spdlog::level::debug);
        spdlog::cfg::load_env_levels();
    }
    return Catch::Session().run(argc, argv);
}

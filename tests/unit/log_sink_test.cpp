// The kernel's bounded log (kernel/log_sink.h): a token bucket, and a sink that drops what is
// over its byte budget and says how much it dropped. Time is a fake clock.
#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

#include "kernel/log_sink.h"

using cek::kernel::log::RateLimit;
using cek::kernel::log::RateLimitedSink;

TEST_CASE("a rate limit allows its burst, then its rate, and counts refusals", "[unit][log]") {
    RateLimit limit(2, 5);  // 2 a second, 5 at once
    uint64_t now = 1'000'000'000;
    for (int i = 0; i < 5; ++i) CHECK(limit.allow(now));
    CHECK_FALSE(limit.allow(now));
    CHECK_FALSE(limit.allow(now));
    CHECK(limit.take_refused() == 2);
    CHECK(limit.take_refused() == 0);
    now += 500'000'000;  // half a second: one more
    CHECK(limit.allow(now));
    CHECK_FALSE(limit.allow(now));
    now += 60'000'000'000;  // a minute refills to the burst, not beyond
    for (int i = 0; i < 5; ++i) CHECK(limit.allow(now));
    CHECK_FALSE(limit.allow(now));
    CHECK_FALSE(limit.allow(now, 0.5));  // nor a fraction of one
}

TEST_CASE("a rate-limited sink bounds what reaches its inner sink and reports the drops",
          "[unit][log]") {
    std::ostringstream out;
    auto inner = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    uint64_t now = 1'000'000'000;
    // 10 KiB a second, bursts of 20 KiB.
    auto sink = std::make_shared<RateLimitedSink>(inner, 10 * 1024, 20 * 1024, [&] { return now; });
    spdlog::logger logger("bounded", sink);
    logger.set_pattern("%v");
    const std::string line(100, 'x');
    for (int i = 0; i < 100'000; ++i) logger.warn(line);  // ~14 MiB asked for at one instant
    const size_t burst = out.str().size();
    CHECK(burst <= 20 * 1024);
    CHECK(burst >= 10 * 1024);
    CHECK(out.str().find("dropped") == std::string::npos);
    // A second later: one second's budget, and first the count of what was dropped.
    now += 1'000'000'000;
    out.str("");
    logger.warn("after");
    const std::string next = out.str();
    CHECK(next.find("log messages dropped") != std::string::npos);
    CHECK(next.find("after") != std::string::npos);
    CHECK(next.find("after") > next.find("dropped"));
}

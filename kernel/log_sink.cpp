#include "kernel/log_sink.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>

#include "protocol/futex.h"

namespace cek::kernel::log {

bool RateLimit::allow(uint64_t now_ns, double cost) {
    if (now_ns > last_ns_) {
        tokens_ = std::min(burst_, tokens_ + double(now_ns - last_ns_) * rate_ / 1e9);
        last_ns_ = now_ns;
    }
    if (tokens_ < cost) {
        ++refused_;
        return false;
    }
    tokens_ -= cost;
    return true;
}

namespace {
// What a line costs beyond its text: the time, pid, thread, logger and level in front.
constexpr double kLineOverhead = 48;
}  // namespace

RateLimitedSink::RateLimitedSink(spdlog::sink_ptr inner, double bytes_per_second,
                                 double burst_bytes, Clock clock)
    : inner_(std::move(inner)),
      budget_(bytes_per_second, burst_bytes),
      clock_(clock ? std::move(clock) : Clock([] { return proto::monotonic_ns(); })) {}

void RateLimitedSink::sink_it_(const spdlog::details::log_msg& msg) {
    const double cost = kLineOverhead + double(msg.payload.size());
    if (!budget_.allow(clock_(), cost)) return;
    if (uint64_t dropped = budget_.take_refused(); dropped != 0) {
        const std::string text =
            std::to_string(dropped) + " log messages dropped: more than the log's rate limit";
        inner_->log(spdlog::details::log_msg(msg.time, {}, "log", spdlog::level::warn, text));
    }
    inner_->log(msg);
    inner_->flush();  // each line reaches the file at once, as a crash may follow it
}

void RateLimitedSink::flush_() { inner_->flush(); }

void RateLimitedSink::set_pattern_(const std::string& pattern) { inner_->set_pattern(pattern); }

void RateLimitedSink::set_formatter_(std::unique_ptr<spdlog::formatter> formatter) {
    inner_->set_formatter(std::move(formatter));
}

spdlog::sink_ptr make_kernel_sink(const std::string& file, uint64_t max_file_bytes) {
    spdlog::sink_ptr inner;
    if (file.empty())
        inner = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    else
        inner = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file, max_file_bytes, 1);
    return std::make_shared<RateLimitedSink>(std::move(inner), 64.0 * 1024, 1024.0 * 1024);
}

}  // namespace cek::kernel::log

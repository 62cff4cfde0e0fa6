// Bounded logging. Whatever clients make the kernel say, its log grows by a bounded number of
// bytes per second and, in a file, occupies a bounded number of bytes: a hostile or broken
// client cannot fill the disk through the kernel's log (docs/security.md).
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace cek::kernel::log {

// A token bucket: up to `burst` units at once, refilled at `per_second`.
class RateLimit {
public:
    RateLimit(double per_second, double burst)
        : rate_(per_second), burst_(burst), tokens_(burst) {}

    // True (and the units spent) if `cost` units are available at `now_ns`; false counts one
    // refusal.
    bool allow(uint64_t now_ns, double cost = 1);
    // How many refusals since the last call.
    uint64_t take_refused() { return std::exchange(refused_, 0); }

private:
    double rate_;
    double burst_;
    double tokens_;
    uint64_t last_ns_ = 0;
    uint64_t refused_ = 0;
};

// Passes messages to `inner` while a byte budget lasts and drops the rest; the next message
// that passes is preceded by one line saying how many were dropped.
class RateLimitedSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    using Clock = std::function<uint64_t()>;  // monotonic nanoseconds
    RateLimitedSink(spdlog::sink_ptr inner, double bytes_per_second, double burst_bytes,
                    Clock clock = {});

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;
    void set_pattern_(const std::string& pattern) override;
    void set_formatter_(std::unique_ptr<spdlog::formatter> formatter) override;

private:
    spdlog::sink_ptr inner_;
    RateLimit budget_;
    Clock clock_;
};

// The kernel's sink: stderr when `file` is empty, else `file` rotated once it holds
// `max_file_bytes` (one older file kept), behind a RateLimitedSink of 64 KiB/s with bursts of
// 1 MiB.
spdlog::sink_ptr make_kernel_sink(const std::string& file, uint64_t max_file_bytes);

}  // namespace cek::kernel::log

// The shim's loggers: "coredll" (defaults to warn; SPDLOG_LEVEL, e.g. "coredll=debug", raises it)
// and "debug", which OutputDebugStringW writes to at info. They are spdlog loggers behind a
// narrow door: a call site sees fmt's core alone and hands log.cpp its arguments type-erased, so
// spdlog and fmt's formatting code are compiled into log.cpp only. libcoredll builds that file
// from spdlog's and fmt's headers and loads neither library (docs/decisions/0012-shim-runtime.md).
#pragma once

#include <fmt/core.h>

namespace spdlog {
class logger;
}

namespace cek::coredll {

// spdlog's levels, in spdlog's order and numbering.
enum class Level { trace, debug, info, warn, error, critical };

class Logger {
public:
    explicit Logger(spdlog::logger& backend) : backend_(backend) {}

    bool should_log(Level level) const;

    template <typename... Args>
    void log(Level level, fmt::format_string<Args...> format, Args&&... args) const {
        if (should_log(level)) write(level, format, fmt::make_format_args(args...));
    }
    template <typename... Args>
    void debug(fmt::format_string<Args...> format, Args&&... args) const {
        log(Level::debug, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void info(fmt::format_string<Args...> format, Args&&... args) const {
        log(Level::info, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void warn(fmt::format_string<Args...> format, Args&&... args) const {
        log(Level::warn, format, std::forward<Args>(args)...);
    }
    template <typename... Args>
    void error(fmt::format_string<Args...> format, Args&&... args) const {
        log(Level::error, format, std::forward<Args>(args)...);
    }

    // The spdlog logger itself, for tests that add a sink.
    spdlog::logger& backend() const { return backend_; }

private:
    // Formats and logs; never throws (a message that cannot be formatted is dropped).
    void write(Level level, fmt::string_view format, fmt::format_args args) const;

    spdlog::logger& backend_;
};

// Both are created on first use and never destroyed: the watcher thread may still log (the
// kernel's hang-up) while the process runs its static destructors.
const Logger& log();
const Logger& debug_log();

}  // namespace cek::coredll

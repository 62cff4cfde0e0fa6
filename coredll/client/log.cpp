#include "coredll/client/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <optional>
#include <string_view>

namespace cek::coredll {

namespace {

// The level SPDLOG_LEVEL gives logger `name` ("coredll=debug,info": a named entry wins over a
// bare level), or `fallback`. Read here rather than through spdlog's registry: see stderr_logger.
spdlog::level::level_enum level_from_env(std::string_view name, spdlog::level::level_enum fallback) {
    const char* env = std::getenv("SPDLOG_LEVEL");
    if (env == nullptr) return fallback;
    std::string_view rest(env);
    std::optional<spdlog::level::level_enum> global, named;
    while (!rest.empty()) {
        const size_t comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        const size_t eq = item.find('=');
        std::string_view level = eq == std::string_view::npos ? item : item.substr(eq + 1);
        auto parsed = spdlog::level::from_str(std::string(level));
        // from_str answers "off" for what it does not know; only a real "off" means off.
        if (parsed == spdlog::level::off && level != "off") continue;
        if (eq == std::string_view::npos) {
            global = parsed;
        } else if (item.substr(0, eq) == name) {
            named = parsed;
        }
    }
    return named.value_or(global.value_or(fallback));
}

// A new logger `name` on stderr with `pattern`, at the level SPDLOG_LEVEL gives `name` or else
// `level`. Not registered with spdlog: the shim lives inside applications, which may use spdlog
// and its registry themselves, and the registry is destroyed at exit while the shim's watcher
// thread may still be logging a hang-up. The callers keep their logger for good.
spdlog::logger& stderr_logger(const char* name, spdlog::level::level_enum level,
                              const char* pattern) {
    auto* logger = new spdlog::logger(name, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    logger->set_level(level_from_env(name, level));
    logger->set_pattern(pattern);
    return *logger;
}

static_assert(int(Level::trace) == spdlog::level::trace && int(Level::warn) == spdlog::level::warn &&
              int(Level::critical) == spdlog::level::critical);

spdlog::level::level_enum to_spdlog(Level level) {
    return static_cast<spdlog::level::level_enum>(level);
}

}  // namespace

bool Logger::should_log(Level level) const { return backend_.should_log(to_spdlog(level)); }

void Logger::write(Level level, fmt::string_view format, fmt::format_args args) const {
    try {
        fmt::memory_buffer text;
        fmt::vformat_to(fmt::appender(text), format, args);
        backend_.log(to_spdlog(level), std::string_view(text.data(), text.size()));
    } catch (...) {
        // Out of memory while formatting: the message is lost, the call it reports is not.
    }
}

const Logger& log() {
    static const auto* const logger = new Logger(
        stderr_logger("coredll", spdlog::level::warn, "[%H:%M:%S.%e] [%P:%t] [%n] [%l] %v"));
    return *logger;
}

const Logger& debug_log() {
    static const auto* const logger =
        new Logger(stderr_logger("debug", spdlog::level::info, "[%H:%M:%S.%e] [%P:%t] [%n] %v"));
    return *logger;
}

}  // namespace cek::coredll

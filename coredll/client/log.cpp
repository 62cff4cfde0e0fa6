#include "coredll/client/log.h"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace cek::coredll {

std::shared_ptr<spdlog::logger> stderr_logger(const char* name, spdlog::level::level_enum level,
                                              const char* pattern) {
    auto existing = spdlog::get(name);
    if (existing) return existing;
    auto l = spdlog::stderr_color_mt(name);
    l->set_level(level);
    l->set_pattern(pattern);
    spdlog::cfg::load_env_levels();
    return l;
}

std::shared_ptr<spdlog::logger> const& log() {
    static const std::shared_ptr<spdlog::logger> logger =
        stderr_logger("coredll", spdlog::level::warn, "[%H:%M:%S.%e] [%P:%t] [%n] [%l] %v");
    return logger;
}

}  // namespace cek::coredll

#include "coredll/client/log.h"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace cek::coredll {

std::shared_ptr<spdlog::logger> const& log() {
    static const std::shared_ptr<spdlog::logger> logger = [] {
        auto existing = spdlog::get("coredll");
        if (existing) return existing;
        auto l = spdlog::stderr_color_mt("coredll");
        l->set_level(spdlog::level::warn);
        l->set_pattern("[%H:%M:%S.%e] [%P:%t] [%n] [%l] %v");
        spdlog::cfg::load_env_levels();
        return l;
    }();
    return logger;
}

}  // namespace cek::coredll

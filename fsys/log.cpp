#include "fsys/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>

namespace cek::fsys {

namespace {

std::shared_ptr<spdlog::logger> make_logger() {
    // The daemon may have registered "fsys" already with its own sinks; reuse it then.
    // spdlog reports registry trouble by exception, which must not leave the library.
    try {
        if (auto existing = spdlog::get("fsys")) return existing;
        return spdlog::stderr_color_mt("fsys");
    } catch (...) {
        if (auto existing = spdlog::get("fsys")) return existing;
        return std::make_shared<spdlog::logger>("fsys");  // no sinks: silent rather than broken
    }
}

}  // namespace

spdlog::logger& log() {
    // Never destroyed: another thread may still log while the process runs its static destructors.
    static const auto* const logger = new std::shared_ptr<spdlog::logger>(make_logger());
    return **logger;
}

}  // namespace cek::fsys

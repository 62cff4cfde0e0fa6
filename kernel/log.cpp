#include "kernel/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace cek::kernel::log {

namespace {
std::shared_ptr<spdlog::logger> make(const char* name) {
    if (auto existing = spdlog::get(name)) return existing;
    auto logger = spdlog::stderr_color_mt(name);
    return logger;
}
}  // namespace

#define CEK_LOGGER(fn, name)                                       \
    std::shared_ptr<spdlog::logger> const& fn() {                  \
        static const std::shared_ptr<spdlog::logger> logger = make(name); \
        return logger;                                             \
    }
CEK_LOGGER(kernel, "kernel")
CEK_LOGGER(handle, "kernel.handle")
CEK_LOGGER(mapping, "kernel.mapping")
CEK_LOGGER(sync, "kernel.sync")
CEK_LOGGER(file, "kernel.file")
CEK_LOGGER(ipc, "ipc")
CEK_LOGGER(trace, "ipc.trace")
#undef CEK_LOGGER

}  // namespace cek::kernel::log

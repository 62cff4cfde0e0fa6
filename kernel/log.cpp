#include "kernel/log.h"

namespace cek::kernel::log {

namespace {
// A named logger writing wherever the program's default logger writes: the kernel library has
// no sinks of its own; cekernel's main (stderr, or its log file) and the test main choose them.
std::shared_ptr<spdlog::logger> make(const char* name) {
    if (auto existing = spdlog::get(name)) return existing;
    const auto& sinks = spdlog::default_logger()->sinks();
    auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
    spdlog::initialize_logger(logger);
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
CEK_LOGGER(vmem, "kernel.vmem")
CEK_LOGGER(sync, "kernel.sync")
CEK_LOGGER(msgqueue, "kernel.msgqueue")
CEK_LOGGER(registry, "kernel.registry")
CEK_LOGGER(thread, "kernel.thread")
CEK_LOGGER(process, "kernel.process")
CEK_LOGGER(file, "kernel.file")
CEK_LOGGER(ipc, "ipc")
CEK_LOGGER(trace, "ipc.trace")
#undef CEK_LOGGER

}  // namespace cek::kernel::log

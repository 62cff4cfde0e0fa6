// The kernel's named spdlog loggers, created once and cached (spdlog::get takes a lock).
// Levels come from SPDLOG_LEVEL (e.g. "info,kernel.handle=trace") or --log-level.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace cek::kernel::log {

std::shared_ptr<spdlog::logger> const& kernel();   // "kernel": lifecycle
std::shared_ptr<spdlog::logger> const& handle();   // "kernel.handle"
std::shared_ptr<spdlog::logger> const& mapping();  // "kernel.mapping"
std::shared_ptr<spdlog::logger> const& vmem();     // "kernel.vmem": huge reservations
std::shared_ptr<spdlog::logger> const& file();     // "kernel.file"
std::shared_ptr<spdlog::logger> const& sync();     // "kernel.sync": events, mutexes, waits
std::shared_ptr<spdlog::logger> const& msgqueue(); // "kernel.msgqueue": message queues
std::shared_ptr<spdlog::logger> const& registry(); // "kernel.registry": keys, values, hives
std::shared_ptr<spdlog::logger> const& thread();   // "kernel.thread": threads
std::shared_ptr<spdlog::logger> const& process();  // "kernel.process": processes
std::shared_ptr<spdlog::logger> const& ipc();      // "ipc": connections and channels
std::shared_ptr<spdlog::logger> const& trace();    // "ipc.trace": one line per request/reply

}  // namespace cek::kernel::log

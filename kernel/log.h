// The kernel's named spdlog loggers, created once and cached (spdlog::get takes a lock).
// Levels come from SPDLOG_LEVEL (e.g. "info,kernel.handle=trace") or --log-level.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

#include "common/utf.h"

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

// A CE name or path in a log line, converted to UTF-8 only when the line is written (a debug
// line that is not wanted costs nothing); an unpaired surrogate shows as its own three bytes.
struct Text {
    std::u16string_view text;
};
inline Text text(std::u16string_view t) { return {t}; }
inline Text text(const std::u16string* t) { return {t != nullptr ? *t : std::u16string_view{}}; }

}  // namespace cek::kernel::log

template <>
struct fmt::formatter<cek::kernel::log::Text> : fmt::formatter<std::string_view> {
    template <class Context>
    auto format(const cek::kernel::log::Text& t, Context& ctx) const {
        return fmt::formatter<std::string_view>::format(cek::utf8_from_utf16(t.text), ctx);
    }
};

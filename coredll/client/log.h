// The shim's spdlog logger "coredll". It runs inside applications, so it defaults to warn;
// SPDLOG_LEVEL (e.g. "coredll=debug") raises it.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace cek::coredll {

std::shared_ptr<spdlog::logger> const& log();
// The logger "debug" that OutputDebugStringW writes to, at info.
std::shared_ptr<spdlog::logger> const& debug_log();

// A new logger `name` on stderr with `pattern`, at the level SPDLOG_LEVEL gives `name` or else
// `level`. It is not registered with spdlog (see log.cpp).
std::shared_ptr<spdlog::logger> stderr_logger(const char* name, spdlog::level::level_enum level,
                                              const char* pattern);

}  // namespace cek::coredll

// The shim's spdlog logger "coredll". It runs inside applications, so it defaults to warn;
// SPDLOG_LEVEL (e.g. "coredll=debug") raises it.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace cek::coredll {

std::shared_ptr<spdlog::logger> const& log();

// The shim's loggers: `name` if spdlog has it already, else a new one on stderr at `level` with
// `pattern`, after which SPDLOG_LEVEL applies.
std::shared_ptr<spdlog::logger> stderr_logger(const char* name, spdlog::level::level_enum level,
                                              const char* pattern);

}  // namespace cek::coredll

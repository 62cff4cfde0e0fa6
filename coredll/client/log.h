// The shim's spdlog logger "coredll". It runs inside applications, so it defaults to warn;
// SPDLOG_LEVEL (e.g. "coredll=debug") raises it.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace cek::coredll {

std::shared_ptr<spdlog::logger> const& log();

}  // namespace cek::coredll

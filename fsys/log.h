// The "fsys" spdlog logger, created on first use and cached.
#pragma once

#include <spdlog/spdlog.h>

namespace cek::fsys {

// Returns the registered "fsys" logger (reusing one the daemon registered first).
spdlog::logger& log();

}  // namespace cek::fsys

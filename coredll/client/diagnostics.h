// Reading the kernel's diagnostics snapshot over a connection (cedump, tests).
#pragma once

#include <optional>

#include "coredll/client/connection.h"
#include "protocol/snapshot.h"

namespace cek::coredll {

// Freezes a snapshot in the kernel, reads it in chunks and decodes it; nullopt on any failure.
std::optional<proto::Snapshot> fetch_snapshot(Connection& kernel);

}  // namespace cek::coredll

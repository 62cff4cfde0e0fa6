// cedump registry [KEY] [--reg|--json]: the live registry through the registry requests.
#pragma once

#include <string>

#include "coredll/client/connection.h"

namespace cek::cedump {

enum class RegistryFormat { Table, Json, Reg };

// Prints the subtree at `key` ("HKEY_LOCAL_MACHINE\\Software", "HKLM\\...", "" for all four
// roots). Returns the exit status (0, 1 kernel error, 2 bad key).
int dump_registry(coredll::Connection& kernel, const std::string& key, RegistryFormat format);

}  // namespace cek::cedump

// Rendering a kernel snapshot for people (aligned tables) and scripts (JSON, docs/cedump.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "protocol/snapshot.h"

namespace cek::cedump {

enum class Section { Processes, Handles, Objects, Views, Names, All };

struct Filter {
    std::optional<int32_t> pid;         // Linux pid of a process
    std::string type;                   // object type ("mapping", "file")
    std::string name;                   // substring of an object name
    std::optional<uint32_t> handle;     // one handle value
};

std::string render_table(const proto::Snapshot& s, Section section, const Filter& filter);
std::string render_json(const proto::Snapshot& s, Section section, const Filter& filter);

std::string utf8(const std::u16string& s);

}  // namespace cek::cedump

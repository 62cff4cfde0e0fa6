// Rendering a kernel snapshot for people (aligned tables), scripts (JSON, schema in
// docs/cedump.md) and Graphviz (the object graph), and trace records as strace-like lines.
// Pure functions of their input, so the golden tests can feed them directly too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/snapshot.h"

namespace cek::cedump {

enum class Section { Processes, Handles, Objects, Views, Files, Names, Waits, Threads, All };

// The JSON schema's version (docs/cedump.md); bump on any change to the JSON output.
inline constexpr int kJsonVersion = 5;

struct Filter {
    std::optional<int32_t> pid;      // Linux pid of a process
    std::string type;                // object type ("mapping", "file", "search")
    std::string name;                // substring of an object name (or a file's CE path)
    std::optional<uint32_t> handle;  // one handle value
};

// Parses a section word; nullopt for anything else.
std::optional<Section> parse_section(std::string_view word);

std::string render_table(const proto::Snapshot& s, Section section, const Filter& filter);
std::string render_json(const proto::Snapshot& s, Section section, const Filter& filter);
std::string render_dot(const proto::Snapshot& s, const Filter& filter);
// The one-line summary ending every table output.
std::string summary(const proto::Snapshot& s);

// One decoded trace record.
struct TraceLine {
    proto::TraceRecordWire record{};
    std::string args;
    std::string result;
};
// Splits a TraceRead reply's data into records; false if it is malformed.
bool decode_trace(std::span<const std::byte> data, uint32_t count, std::vector<TraceLine>& out);
// "12:00:01.123456 pid 42 tid 42 CreateMapping(...) = 0x400102 <12.0 us>" with the last error.
std::string format_trace(const TraceLine& line);

}  // namespace cek::cedump

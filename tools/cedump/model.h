// What cedump's renderers share: lookups over one snapshot, the filters, and text helpers.
// Internal to tools/cedump.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tools/cedump/render.h"

namespace cek::cedump {

using ProcessMap = std::map<uint32_t, const proto::ProcessInfo*>;
using ObjectMap = std::map<uint64_t, const proto::ObjectInfo*>;
// Handles by the object they name (an object has at most one handle entry in CE 5).
using HandleMap = std::map<uint64_t, const proto::HandleInfo*>;

// One snapshot, one filter, and the lookups every section needs.
struct Context {
    Context(const proto::Snapshot& snapshot, const Filter& filter);
    const proto::Snapshot& s;
    const Filter& f;
    ProcessMap procs;
    ObjectMap objects;
    HandleMap by_object;
};

std::string hex(uint64_t v);
std::string u64(uint64_t v);
std::string json_string(std::string_view s);
std::string dot_string(std::string_view s);

const proto::ObjectInfo* find(const ObjectMap& m, uint64_t id);
// The value of one of an object's details, "" if it has none.
std::string detail(const proto::ObjectInfo& o, std::string_view key);
// A name for an object in one column: its CE name, a file's path, or nothing.
std::string label(const proto::ObjectInfo* o);
// Its CE name when it has one.
std::string name_of(const proto::ObjectInfo& o);

bool object_matches(const proto::ObjectInfo* o, const Filter& f);
bool process_matches(const ProcessMap& procs, uint32_t id, const Filter& f);
bool handle_matches(const proto::HandleInfo& h, const ProcessMap& procs, const ObjectMap& objects,
                    const Filter& f);
// Whether a snapshot row should appear when only `handle` is asked for.
bool object_has_handle(const proto::ObjectInfo& o, const Filter& f);

// "kernel" for id 0, the pid of a known process, else "?id".
std::string pid_of(const ProcessMap& procs, uint32_t id);
// The pid of a known process, else 0.
int32_t pid_number(const ProcessMap& procs, uint32_t id);

}  // namespace cek::cedump

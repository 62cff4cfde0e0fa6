// What the soak and load tests check once their clients are gone: the kernel is the same
// process as at the start, still answers, and holds nothing it did not hold at the baseline:
// no object, handle, view, name or open file (cedump --json), no descriptor or shared-memory
// mapping more than before (/proc/<kernel>/fd and /proc/<kernel>/maps), nothing in /dev/shm.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/kernel_fixture.h"

namespace cek::soak {

struct KernelResources {
    size_t descriptors = 0;     // entries of /proc/<pid>/fd
    size_t memfds = 0;          // of which memfd: links
    size_t memfd_mappings = 0;  // memfd lines of /proc/<pid>/maps
    size_t dev_shm_references = 0;  // descriptors and mappings of files in /dev/shm
    std::set<std::string> dev_shm;  // names in /dev/shm
};

KernelResources measure(pid_t kernel_pid);

// Waits (bounded) until the kernel has no application process left, then compares with
// `baseline`. Returns one line per problem; empty when all is clean.
std::vector<std::string> leaks(test::KernelFixture& k, pid_t kernel_pid,
                               const KernelResources& baseline);

// A fresh helper process can still create, map and close: the kernel answers.
bool kernel_answers(test::KernelFixture& k);

// The environment of this process with `extra` on top, for posix_spawn.
std::vector<std::string> merged_environment(const std::map<std::string, std::string>& extra);

}  // namespace cek::soak

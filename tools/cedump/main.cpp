// cedump: shows the live objects of a running kernel (processes, handles, objects, views, names)
// from one consistent snapshot, as tables or JSON. It attaches as a diagnostics client, so it
// neither starts a kernel nor appears among the application processes.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "coredll/client/connection.h"
#include "coredll/client/diagnostics.h"
#include "protocol/messages.h"
#include "protocol/snapshot.h"
#include "tools/cedump/render.h"

namespace {

void usage() {
    std::fputs(
        "usage: cedump [--instance NAME] [--json] [--pid PID] [--type TYPE] [--name TEXT]\n"
        "              [--handle VALUE] [processes|handles|objects|views|names|all]\n",
        stderr);
}

}  // namespace

int main(int argc, char** argv) {
    using cek::cedump::Section;
    Section section = Section::All;
    bool json = false;
    cek::cedump::Filter filter;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--json") {
            json = true;
        } else if (a == "--instance") {
            const char* v = next();
            if (v == nullptr) return usage(), 2;
            ::setenv("CEK_INSTANCE", v, 1);
        } else if (a == "--pid") {
            const char* v = next();
            if (v == nullptr) return usage(), 2;
            filter.pid = static_cast<int32_t>(std::strtol(v, nullptr, 10));
        } else if (a == "--type") {
            const char* v = next();
            if (v == nullptr) return usage(), 2;
            filter.type = v;
        } else if (a == "--name") {
            const char* v = next();
            if (v == nullptr) return usage(), 2;
            filter.name = v;
        } else if (a == "--handle") {
            const char* v = next();
            if (v == nullptr) return usage(), 2;
            filter.handle = static_cast<uint32_t>(std::strtoul(v, nullptr, 0));
        } else if (a == "processes") {
            section = Section::Processes;
        } else if (a == "handles") {
            section = Section::Handles;
        } else if (a == "objects") {
            section = Section::Objects;
        } else if (a == "views") {
            section = Section::Views;
        } else if (a == "names") {
            section = Section::Names;
        } else if (a == "all") {
            section = Section::All;
        } else {
            usage();
            return 2;
        }
    }

    const char* env_instance = std::getenv("CEK_INSTANCE");
    std::string instance = env_instance != nullptr && *env_instance != '\0' ? env_instance : "default";
    cek::coredll::Connection kernel(instance, /*diagnostics=*/true);
    if (!kernel.ensure_connected()) {
        std::fprintf(stderr, "cedump: instance '%s': %s\n", instance.c_str(),
                     kernel.connect_failure());
        return 1;
    }
    auto snapshot = cek::coredll::fetch_snapshot(kernel);
    if (!snapshot) {
        std::fprintf(stderr, "cedump: reading the kernel's snapshot failed\n");
        return 1;
    }
    std::string out = json ? cek::cedump::render_json(*snapshot, section, filter)
                           : cek::cedump::render_table(*snapshot, section, filter);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

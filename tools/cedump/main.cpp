// cedump: shows the live objects of a running kernel (processes, handles, objects, views, files,
// names) from one consistent snapshot, as tables, JSON or a Graphviz graph; `watch` refreshes
// the tables, `trace` streams the requests the kernel handles. It attaches as a diagnostics
// client, so it never starts a kernel and does not count as an application process.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "coredll/client/connection.h"
#include "coredll/client/diagnostics.h"
#include "protocol/messages.h"
#include "protocol/paths.h"
#include "protocol/snapshot.h"
#include "protocol/version.h"
#include "tools/cedump/registry.h"
#include "tools/cedump/render.h"

namespace {

using cek::cedump::Section;

enum class Mode { Dump, Watch, Trace, Registry };
enum class Format { Table, Json, Dot };

struct Options {
    Mode mode = Mode::Dump;
    Format format = Format::Table;
    Section section = Section::All;
    cek::cedump::Filter filter;
    double interval_s = 1.0;
    long count = 0;  // watch: refreshes; trace: records; 0 = until interrupted
    std::string registry_key;  // registry: the subtree ("" for all roots)
    bool reg_file = false;     // registry --reg
};

void usage() {
    std::fputs(
        "usage: cedump [--instance NAME] [--json|--dot] [--pid PID] [--type TYPE] [--name TEXT]\n"
        "              [--handle VALUE] [processes|handles|objects|views|files|names|waits|threads|all]\n"
        "       cedump [--instance NAME] watch [--interval S] [--count N] [filters] [section]\n"
        "       cedump [--instance NAME] trace [--pid PID] [--count N]\n"
        "       cedump [--instance NAME] registry [KEY] [--reg|--json]\n"
        "exit status: 0 ok, 1 no kernel / refused / protocol error, 2 usage\n",
        stderr);
}

// 0 ok, 2 usage error.
int parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        const char* v = nullptr;
        if (a == "--json") {
            o.format = Format::Json;
        } else if (a == "--dot") {
            o.format = Format::Dot;
        } else if (a == "-h" || a == "--help") {
            return 2;
        } else if (a == "--instance" || a == "--pid" || a == "--type" || a == "--name" ||
                   a == "--handle" || a == "--interval" || a == "--count") {
            if ((v = value()) == nullptr) return 2;
            char* end = nullptr;
            if (a == "--instance") {
                ::setenv("CEK_INSTANCE", v, 1);
            } else if (a == "--pid") {
                o.filter.pid = static_cast<int32_t>(std::strtol(v, &end, 10));
            } else if (a == "--type") {
                o.filter.type = v;
            } else if (a == "--name") {
                o.filter.name = v;
            } else if (a == "--handle") {
                o.filter.handle = static_cast<uint32_t>(std::strtoul(v, &end, 0));
            } else if (a == "--interval") {
                o.interval_s = std::strtod(v, &end);
                if (o.interval_s < 0.01) return 2;
            } else {
                o.count = std::strtol(v, &end, 10);
                if (o.count < 0) return 2;
            }
            if (end != nullptr && *end != '\0') return 2;
        } else if (a == "watch" && o.mode == Mode::Dump) {
            o.mode = Mode::Watch;
        } else if (a == "trace" && o.mode == Mode::Dump) {
            o.mode = Mode::Trace;
        } else if (a == "registry" && o.mode == Mode::Dump) {
            o.mode = Mode::Registry;
        } else if (a == "--reg" && o.mode == Mode::Registry) {
            o.reg_file = true;
        } else if (o.mode == Mode::Registry && o.registry_key.empty() && !a.empty() && a[0] != '-') {
            o.registry_key = a;
        } else if (auto s = cek::cedump::parse_section(a)) {
            o.section = *s;
        } else {
            return 2;
        }
    }
    return 0;
}

// A message a person can act on, for a connection that failed.
std::string explain_failure(const std::string& instance, cek::coredll::Connection& kernel) {
    std::string why = kernel.connect_failure();
    std::string socket = cek::proto::socket_path(cek::proto::runtime_dir(), instance);
    struct stat st {};
    if (::stat(socket.c_str(), &st) != 0) {
        if (errno == EACCES)
            return "permission denied reaching " + socket + " (another user's runtime directory?)";
        return "no kernel is running for this instance (no socket at " + socket + ")";
    }
    if (::access(socket.c_str(), R_OK | W_OK) != 0 && errno == EACCES)
        return "permission denied on " + socket + " (the kernel runs as another user)";
    if (why == "the kernel speaks another protocol version")
        return "the kernel speaks protocol version " +
               std::to_string(kernel.hello().version) + ", this cedump speaks version " +
               std::to_string(cek::proto::kProtocolVersion) + ": use the cedump built with it";
    if (why == "not connected") return "no kernel answers on " + socket;
    return why;
}

int dump_once(cek::coredll::Connection& kernel, const Options& o) {
    auto snapshot = cek::coredll::fetch_snapshot(kernel);
    if (!snapshot) {
        std::fputs("cedump: reading the kernel's snapshot failed\n", stderr);
        return 1;
    }
    using namespace cek::cedump;
    std::string out = o.format == Format::Json  ? render_json(*snapshot, o.section, o.filter)
                      : o.format == Format::Dot ? render_dot(*snapshot, o.filter)
                                                : render_table(*snapshot, o.section, o.filter);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    return 0;
}

int watch(cek::coredll::Connection& kernel, const Options& o) {
    // On a terminal each refresh repaints the screen, like top; into a pipe (tests, logs)
    // refreshes follow each other, separated by a line.
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    for (long n = 0; o.count == 0 || n < o.count; ++n) {
        if (n > 0) std::this_thread::sleep_for(std::chrono::duration<double>(o.interval_s));
        if (tty) std::fputs("\x1b[H\x1b[2J", stdout);
        else if (n > 0) std::fputs("--\n", stdout);
        if (int rc = dump_once(kernel, o); rc != 0) return rc;
    }
    return 0;
}

int trace(cek::coredll::Connection& kernel, const std::string& instance, const Options& o) {
    std::vector<std::byte> data(cek::proto::kReplyBytes);
    cek::proto::TraceReadRequest req{0};  // attach: from now on
    cek::proto::TraceReadReply rep{};
    auto st = kernel.call(req, rep, {}, data);
    if (!st.delivered || st.failed) {
        std::fputs("cedump: the kernel refused to trace\n", stderr);
        return 1;
    }
    std::printf("tracing instance %s%s (interrupt to stop)\n", instance.c_str(),
                o.filter.pid ? (" pid " + std::to_string(*o.filter.pid)).c_str() : "");
    std::fflush(stdout);
    long shown = 0;
    uint64_t cursor = rep.next_cursor;
    for (;;) {
        req.cursor = cursor;
        st = kernel.call(req, rep, {}, data);
        if (!st.delivered || st.failed) {
            std::fputs("cedump: the kernel went away\n", stderr);
            return 1;
        }
        if (rep.lost != 0) std::printf("-- %llu records lost (tracer too slow) --\n",
                                       static_cast<unsigned long long>(rep.lost));
        std::vector<cek::cedump::TraceLine> lines;
        if (!cek::cedump::decode_trace(std::span(data.data(), st.data_bytes), rep.count, lines)) {
            std::fputs("cedump: malformed trace records\n", stderr);
            return 1;
        }
        for (const auto& line : lines) {
            if (o.filter.pid && line.record.pid != *o.filter.pid) continue;
            std::puts(cek::cedump::format_trace(line).c_str());
            if (o.count != 0 && ++shown >= o.count) return std::fflush(stdout), 0;
        }
        std::fflush(stdout);
        cursor = rep.next_cursor;
        // Polling costs the kernel one cheap request per period; idle periods back off.
        if (rep.count == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (parse(argc, argv, o) != 0) {
        usage();
        return 2;
    }
    const char* env_instance = std::getenv("CEK_INSTANCE");
    std::string instance = env_instance != nullptr && *env_instance != '\0' ? env_instance : "default";
    cek::coredll::Connection kernel(instance, /*diagnostics=*/true);
    if (!kernel.ensure_connected()) {
        std::fprintf(stderr, "cedump: instance '%s': %s\n", instance.c_str(),
                     explain_failure(instance, kernel).c_str());
        return 1;
    }
    switch (o.mode) {
    case Mode::Watch:
        return watch(kernel, o);
    case Mode::Trace:
        return trace(kernel, instance, o);
    case Mode::Registry:
        return cek::cedump::dump_registry(kernel, o.registry_key,
                                          o.reg_file                    ? cek::cedump::RegistryFormat::Reg
                                          : o.format == Format::Json ? cek::cedump::RegistryFormat::Json
                                                                     : cek::cedump::RegistryFormat::Table);
    case Mode::Dump:
        break;
    }
    return dump_once(kernel, o);
}

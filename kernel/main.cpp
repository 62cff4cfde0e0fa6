// cekernel: the CEKernel daemon. Parses options, becomes a background process unless
// --foreground, opens the CE file system root and runs the event loop.
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "fsys/root.h"
#include "kernel/ipc/server.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/log_sink.h"
#include "protocol/paths.h"
#include "protocol/window.h"

namespace {

constexpr int kExitAlreadyRunning = 3;
constexpr int kExitUsage = 2;

struct Options {
    std::string instance = "default";
    std::string root;
    std::string personality = "ce5";
    std::string log_level = "info";
    std::string log_file;
    uint64_t log_max_bytes = 16u << 20;  // per file; one older file is kept
    bool foreground = false;
    bool sidecar_attributes = false;
    int idle_exit = -1;
    int spin_us = 30;
    std::string registry_dir;       // default: ROOT/.cek~registry; "none": memory only
    std::string registry_defaults;  // a .reg file imported on first boot
    bool registry_flush_on_close = false;
};

void usage() {
    std::fputs(
        "usage: cekernel --instance NAME --root DIR [--personality ce5|ce6] [--foreground]\n"
        "                [--idle-exit SECONDS] [--log-level LEVEL] [--log-file PATH]\n"
        "                [--log-max-kib KIB] [--spin-us MICROSECONDS] [--sidecar-attributes]\n"
        "                [--registry-defaults FILE.reg] [--registry-dir DIR|none]\n"
        "                [--registry-flush-on-close]\n"
        "  --registry-defaults  imported when the system hive is new (first boot)\n"
        "  --registry-dir       where system.hv and default/user.hv live (default: ROOT/.cek~registry,\n"
        "                       which CE never sees); none keeps the registry in memory only\n"
        "  --log-max-kib   the log file's size before it is rotated (one older file is kept;\n"
        "                  default 16384, at least 64)\n",
        stderr);
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        auto number = [&](int& out) {
            std::string text;
            if (!value(text)) return false;
            char* end = nullptr;
            long v = std::strtol(text.c_str(), &end, 10);
            if (*end != '\0' || v < 0 || v > 1'000'000) return false;
            out = static_cast<int>(v);
            return true;
        };
        bool ok = true;
        if (a == "--instance") ok = value(o.instance);
        else if (a == "--root") ok = value(o.root);
        else if (a == "--personality") ok = value(o.personality);
        else if (a == "--log-level") ok = value(o.log_level);
        else if (a == "--log-file") ok = value(o.log_file);
        else if (a == "--foreground") o.foreground = true;
        else if (a == "--registry-defaults") ok = value(o.registry_defaults);
        else if (a == "--registry-dir") ok = value(o.registry_dir);
        else if (a == "--registry-flush-on-close") o.registry_flush_on_close = true;
        else if (a == "--sidecar-attributes") o.sidecar_attributes = true;
        else if (a == "--idle-exit") ok = number(o.idle_exit);
        else if (a == "--spin-us") ok = number(o.spin_us);
        else if (a == "--log-max-kib") {
            int kib = 0;
            ok = number(kib) && kib >= 64;
            o.log_max_bytes = uint64_t(kib) * 1024;
        }
        else if (a == "--help" || a == "-h") return false;
        else {
            std::fprintf(stderr, "cekernel: unknown option %s\n", argv[i]);
            return false;
        }
        if (!ok) {
            std::fprintf(stderr, "cekernel: bad value for %s\n", argv[i]);
            return false;
        }
    }
    if (!cek::proto::valid_instance_name(o.instance)) {
        std::fprintf(stderr, "cekernel: bad instance name '%s'\n", o.instance.c_str());
        return false;
    }
    if (o.root.empty()) {
        std::fputs("cekernel: --root is required\n", stderr);
        return false;
    }
    if (auto choice = cek::kernel::choose_personality(o.personality); !choice.personality) {
        std::fprintf(stderr, "cekernel: %s\n", choice.error.c_str());
        return false;
    }
    return true;
}

// Forks; the parent waits for the child's one-byte status and exits with it, so whoever
// started us knows when the kernel accepts connections. Returns the write end in the child.
int daemonize() {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid > 0) {
        ::close(pipe_fds[1]);
        unsigned char status = 1;
        pollfd p{pipe_fds[0], POLLIN, 0};
        if (::poll(&p, 1, 30'000) == 1 && ::read(pipe_fds[0], &status, 1) == 1) std::_Exit(status);
        std::_Exit(1);
    }
    ::close(pipe_fds[0]);
    ::setsid();
    return pipe_fds[1];
}

void report(int fd, unsigned char status) {
    if (fd < 0) return;
    (void)::write(fd, &status, 1);
    ::close(fd);
}

// Detaches from the terminal unless --foreground (returning the descriptor that reports the
// start to the parent, else -1), sends stderr to the log file and sets up logging.
int detach_and_log(Options& o, const std::string& runtime) {
    int status_fd = -1;
    if (!o.foreground) {
        status_fd = daemonize();
        if (o.log_file.empty()) o.log_file = cek::proto::log_path(runtime, o.instance);
        int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::close(null);
    }
    if (!o.log_file.empty()) {
        int log = ::open(o.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log >= 0) {
            ::dup2(log, 2);
            ::close(log);
        }
    }
    // The kernel's named loggers take their sinks from this one: rate-limited, and rotated when
    // it is a file, so no client can make the log grow without bound.
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "cekernel", cek::kernel::log::make_kernel_sink(o.log_file, o.log_max_bytes)));
    spdlog::set_pattern("[%H:%M:%S.%e] [%P:%t] [%n] [%l] %v");
    spdlog::set_level(spdlog::level::from_str(o.log_level));
    spdlog::cfg::load_env_levels();

    return status_fd;
}

// Socket activation (systemd's sd_listen_fds protocol, docs/deploy.md): when LISTEN_PID is
// this process and LISTEN_FDS is 1, descriptor 3 is the instance's listening socket. Returns
// it, or -1 when we were not socket-activated; -1 with `error` set when we were but the
// descriptor is not a listening AF_UNIX SOCK_SEQPACKET socket bound to `expected_path`. The
// variables are removed so that nothing the kernel starts inherits them.
int activation_socket(const std::string& expected_path, std::string& error) {
    constexpr int kFirstFd = 3;  // SD_LISTEN_FDS_START
    const char* pid_text = std::getenv("LISTEN_PID");
    const char* fds_text = std::getenv("LISTEN_FDS");
    const bool ours = pid_text != nullptr && fds_text != nullptr &&
                      std::strtol(pid_text, nullptr, 10) == ::getpid();
    const long count = ours ? std::strtol(fds_text, nullptr, 10) : 0;
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    if (!ours) return -1;
    if (count != 1) {
        error = "LISTEN_FDS is " + std::to_string(count) + ", one socket expected";
        return -1;
    }
    int domain = 0, type = 0, listening = 0;
    socklen_t len = sizeof(int);
    bool ok = ::getsockopt(kFirstFd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
              domain == AF_UNIX &&
              ::getsockopt(kFirstFd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
              type == SOCK_SEQPACKET &&
              ::getsockopt(kFirstFd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
              listening == 1;
    if (!ok) {
        error = "descriptor 3 is not a listening AF_UNIX SOCK_SEQPACKET socket "
                "(ListenSequentialPacket=, or systemd-socket-activate --seqpacket)";
        return -1;
    }
    sockaddr_un addr{};
    socklen_t addr_len = sizeof addr;
    if (::getsockname(kFirstFd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0 ||
        addr_len <= offsetof(sockaddr_un, sun_path) ||
        std::string(addr.sun_path) != expected_path) {
        error = "the activated socket is " + std::string(addr.sun_path) + ", not " +
                expected_path + " (the instance's socket in the runtime directory)";
        return -1;
    }
    return kFirstFd;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        usage();
        return kExitUsage;
    }
    std::string runtime = cek::proto::runtime_dir();
    if (int e = cek::proto::ensure_runtime_dir(runtime); e != 0) {
        std::fprintf(stderr, "cekernel: runtime directory %s: %s\n", runtime.c_str(),
                     std::strerror(e));
        return 1;
    }
    std::string activation_error;
    const int activated =
        activation_socket(cek::proto::socket_path(runtime, o.instance), activation_error);
    if (!activation_error.empty()) {
        std::fprintf(stderr, "cekernel: socket activation: %s\n", activation_error.c_str());
        return 1;
    }
    const int status_fd = detach_and_log(o, runtime);

    cek::fsys::RootOptions root_options;
    root_options.force_sidecar = o.sidecar_attributes;  // as on a host without user xattrs
    auto root = cek::fsys::Root::open(o.root, root_options);
    if (!root) {
        cek::kernel::log::kernel()->error("cannot open the CE root {}: {}", o.root,
                                          cek::error_name(root.error()));
        report(status_fd, 1);
        return 1;
    }

    // Every file and mapping handle holds a descriptor here, up to 65,536 handles per process:
    // take all the descriptors the host allows, not the shell's soft default. It is also the
    // per-user budget of descriptors in flight on sockets (those sent to clients, not yet read).
    if (rlimit nofile{}; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }

    auto window = cek::proto::window_config_from_env();
    cek::kernel::KernelConfig config;
    config.window_base = window.base;
    config.window_size = window.size;
    config.personality = cek::kernel::choose_personality(o.personality).personality->version();
    config.copy_thread = true;
    // Under the CE root, in a host directory fsys reserves (CE applications never see it).
    if (o.registry_dir.empty()) config.registry_dir = o.root + "/.cek~registry";
    else if (o.registry_dir != "none") config.registry_dir = o.registry_dir;
    config.registry_defaults = o.registry_defaults;
    config.registry_flush_on_close = o.registry_flush_on_close;
    cek::kernel::Kernel kernel(config, std::move(root.value()));

    cek::kernel::ServerOptions server_options;
    server_options.instance = o.instance;
    server_options.runtime_dir = runtime;
    server_options.idle_exit_seconds = o.idle_exit;
    server_options.spin_us = static_cast<uint32_t>(o.spin_us);
    server_options.inherited_listen_fd = activated;
    cek::kernel::Server server(kernel, server_options);
    auto started = server.start();
    if (!started) {
        bool running = started.error() == cek::Win32Error::ERROR_ALREADY_EXISTS;
        report(status_fd, running ? kExitAlreadyRunning : 1);
        return running ? kExitAlreadyRunning : 1;
    }
    // After the instance is ours (a second kernel of it stops above) and before any client is
    // served (run() accepts them).
    if (std::string why; !kernel.open_registry(why)) {
        cek::kernel::log::kernel()->error("registry: {}", why);
        std::fprintf(stderr, "cekernel: registry: %s\n", why.c_str());
        report(status_fd, 1);
        return 1;
    }
    if (kernel.personality().per_process_handles())
        cek::kernel::log::kernel()->info(
            "personality ce6: CE 6/7's rules; what differs is listed in "
            "docs/semantics/README.md §6");
    if (o.foreground) {
        std::printf("cekernel ready instance=%s pid=%d\n", o.instance.c_str(), ::getpid());
        std::fflush(stdout);
    }
    report(status_fd, 0);
    int rc = server.run();
    // A clean stop writes every hive (what was not flushed survives it; a crash may lose it).
    if (auto saved = kernel.save_registry(); !saved)
        cek::kernel::log::kernel()->error("registry: saving the hives failed");
    cek::kernel::log::kernel()->info("kernel stopped");
    return rc;
}

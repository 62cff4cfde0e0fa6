// What the multi-process benchmarks share: pipes for readiness and results, forked workers, and
// a private kernel on a fresh root, started as the test fixture starts one and ready when it
// says so. The environment is set so that this process and its children connect to it only.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace cek::bench {

[[noreturn]] inline void die(const char* what) {
    std::fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, std::strerror(errno));
    std::exit(2);
}

struct Pipe {
    int r = -1, w = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) die("pipe");
        r = fds[0];
        w = fds[1];
    }
    void put(char c) const { (void)!::write(w, &c, 1); }
    // A byte, or 0 on end of file or after `timeout_ms` (-1: forever).
    char get(int timeout_ms = -1) const {
        pollfd p{r, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) != 1) return 0;
        char c = 0;
        return ::read(r, &c, 1) == 1 ? c : 0;
    }
};

inline pid_t fork_child(const std::function<int()>& body) {
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) die("fork");
    if (pid == 0) std::_Exit(body());
    return pid;
}

inline int reap(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

class PrivateKernel {
public:
    // `kernel` is the cekernel binary; `tag` names the instance and the temporary folder;
    // `extra` is added to the kernel's command line (e.g. "--spin-us", "0").
    PrivateKernel(const std::string& kernel, const std::string& tag,
                  const std::vector<std::string>& extra = {}) {
        std::string templ = "/tmp/cek-" + tag + "-XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr) die("mkdtemp");
        base_ = templ;
        const std::string instance = tag + "-" + std::to_string(::getpid());
        std::filesystem::create_directories(base_ / "run");
        ::chmod((base_ / "run").c_str(), 0700);
        ::setenv("CEK_INSTANCE", instance.c_str(), 1);
        ::setenv("CEK_RUNTIME_DIR", (base_ / "run").c_str(), 1);
        ::setenv("CEK_ROOT", root().c_str(), 1);
        ::setenv("CEK_AUTOSTART", "0", 1);
        // Built before the fork: the child only execs.
        const std::string root_dir = root().string();
        std::vector<const char*> argv{kernel.c_str(), "--instance",  instance.c_str(),
                                      "--root",       root_dir.c_str(), "--foreground",
                                      "--log-level",  "warn"};
        for (const auto& a : extra) argv.push_back(a.c_str());
        argv.push_back(nullptr);
        Pipe out;
        pid_ = ::fork();
        if (pid_ < 0) die("fork");
        if (pid_ == 0) {
            ::dup2(out.w, 1);
            ::execv(kernel.c_str(), const_cast<char* const*>(argv.data()));
            std::_Exit(127);
        }
        ::close(out.w);
        std::string line;
        while (char c = out.get(20'000)) {
            if (c == '\n') break;
            line += c;
        }
        if (line.rfind("cekernel ready", 0) != 0) {
            std::fprintf(stderr, "%s: the kernel did not start (%s)\n",
                         program_invocation_short_name, line.c_str());
            std::exit(2);
        }
    }
    ~PrivateKernel() {
        ::kill(pid_, SIGTERM);
        reap(pid_);
        std::filesystem::remove_all(base_);
    }
    PrivateKernel(const PrivateKernel&) = delete;
    PrivateKernel& operator=(const PrivateKernel&) = delete;

    std::filesystem::path root() const { return base_ / "root"; }
    pid_t pid() const { return pid_; }

private:
    std::filesystem::path base_;
    pid_t pid_ = -1;
};

}  // namespace cek::bench

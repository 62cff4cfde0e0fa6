#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace cek::test {

Child::Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    int in_pipe[2], out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe failed");
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string kv = *e;
        auto eq = kv.find('=');
        if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : env) merged[k] = v;
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, args;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& s : argv_copy) args.push_back(s.data());
    args.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    // Only stdin, stdout and stderr are passed on: a descriptor the test process opened without
    // O_CLOEXEC (Catch2's report file) would otherwise live on in every kernel and helper.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Own group, killable as a whole; SIGPIPE back to its default (the test process ignores it).
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    int rc = ::posix_spawn(&pid_, args[0], &actions, &attr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    in_ = in_pipe[1];
    out_ = out_pipe[0];
    if (rc != 0) throw std::runtime_error("cannot spawn " + argv[0] + ": " + std::strerror(rc));
}

namespace {

// One line of /proc/<pid>/<file>, or "?".
std::string proc_line(pid_t pid, const char* file, const std::string& prefix = "") {
    std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(prefix, 0) == 0) return line;
    }
    return "?";
}

}  // namespace

Child::~Child() {
    if (pid_ > 0) ::kill(-pid_, SIGKILL);  // the whole group: grandchildren too
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);  // itself too, should it have left its group
        // Bounded, so that a child stuck in the kernel fails its test with a diagnosis instead
        // of hanging the suite until meson's time-out.
        if (!wait(std::chrono::seconds(60))) {
            std::fprintf(stderr, "test support: child %d did not die of SIGKILL in 60 s (%s, %s, "
                         "wchan %s); left behind\n",
                         static_cast<int>(pid_), proc_line(pid_, "status", "State:").c_str(),
                         proc_line(pid_, "cmdline").c_str(), proc_line(pid_, "wchan").c_str());
        }
    }
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
}

std::optional<std::string> Child::read_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        // Rounded up, and a last look without waiting once the time is up: truncated, a short
        // timeout (1 ms) became 0 before the first poll, and such a call never read at all.
        auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{out_, POLLIN, 0};
        const int wait_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
        if (::poll(&p, 1, wait_ms) != 1) return std::nullopt;
        char buf[4096];
        ssize_t n = ::read(out_, buf, sizeof buf);
        if (n <= 0) return std::nullopt;
        buffer_.append(buf, static_cast<size_t>(n));
    }
}

void Child::write_line(const std::string& line) {
    std::string l = line + "\n";
    (void)!::write(in_, l.data(), l.size());
}

std::string Child::ask(const std::string& line, std::chrono::milliseconds timeout) {
    write_line(line);
    return read_line(timeout).value_or("");
}

void Child::kill(int signal) {
    if (!reaped_) ::kill(pid_, signal);
}

bool Child::stop(std::chrono::milliseconds timeout) {
    return !reaped_ && stop_process(pid_, timeout);
}

bool stop_process(pid_t pid, std::chrono::milliseconds timeout) {
    if (::kill(pid, SIGSTOP) != 0) return false;
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // A task's state is the field after its name, which ends at the last ')'.
        bool all = true, any = false;
        std::error_code ec;
        for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
            std::ifstream stat(task.path() / "stat");
            std::string line;
            std::getline(stat, line);
            const size_t close = line.rfind(')');
            if (close == std::string::npos || close + 2 >= line.size()) continue;  // gone
            const char state = line[close + 2];
            if (state == 'Z' || state == 'X') continue;  // a thread that has ended
            any = true;
            all = all && (state == 'T' || state == 't');
        }
        if (any && all) return true;
        if (ec || std::chrono::steady_clock::now() >= deadline) return false;
        ::usleep(1000);  // bounded polling, as Child::wait
    }
}

void Child::close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
}

std::optional<int> Child::wait(std::chrono::milliseconds timeout) {
    if (reaped_) return status_;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            status_ = status;
            return status;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        // Polling waitpid is bounded and cheap; a pidfd would need Linux 5.3+ only.
        ::usleep(1000);
    }
}

TempDir::TempDir(const std::string& prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string program(const char* env_var) {
    const char* p = std::getenv(env_var);
    if (p == nullptr || *p == '\0') throw std::runtime_error(std::string(env_var) + " is not set");
    return p;
}

uid_t unused_uid(uid_t from) {
    std::ifstream passwd("/etc/passwd");
    const std::string text((std::istreambuf_iterator<char>(passwd)), {});
    for (uid_t id = from;; ++id)
        if (text.find(":" + std::to_string(id) + ":") == std::string::npos) return id;
}

std::vector<std::string> words(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream in(line);
    std::string w;
    while (in >> w) out.push_back(w);
    return out;
}

}  // namespace cek::test

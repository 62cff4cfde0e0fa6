// Crash soak: soak workers (tests/helpers/soak_worker.cpp) call the API at random while this
// driver kills them with SIGKILL at random moments and starts replacements. Checked:
//   - no worker ever sees a wrong result or an unexpected error (it reports "fail" and exits);
//   - after each kill the kernel forgets the process, and every write the worker reported as
//     flushed (FlushFileBuffers, FILE_FLAG_WRITE_THROUGH, FlushViewOfFile) is in the host file;
//   - at the end the kernel is the same process, answers, and holds nothing more than at the
//     baseline (leak_check.h).
// Environment: CEK_SOAK_SECONDS (default 20), CEK_SOAK_WORKERS (12), CEK_SOAK_SEED (random; the
// seed is printed with any failure and repeats the same schedule of kills and calls).
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "leak_check.h"
#include "soak_pattern.h"
#include "support/answers.h"
#include "support/kernel_fixture.h"

using namespace cek::test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

// One soak_worker process: stdout on a pipe we poll, stdin on /dev/null, its own group.
class Worker {
public:
    Worker(int slot, int generation, uint64_t seed, const std::vector<std::string>& env)
        : slot_(slot), generation_(generation) {
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
        std::vector<std::string> argv = {program("CEK_SOAK_WORKER"), std::to_string(slot),
                                         std::to_string(generation), std::to_string(seed)};
        std::vector<char*> args, envp;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
        posix_spawnattr_setpgroup(&attr, 0);
        int rc = ::posix_spawn(&pid_, args[0], &actions, &attr, args.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        ::close(out[1]);
        fd_ = out[0];
        if (rc != 0) throw std::runtime_error("cannot spawn soak_worker");
    }
    ~Worker() {
        if (!reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (fd_ >= 0) ::close(fd_);
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    int slot() const { return slot_; }
    int generation() const { return generation_; }
    pid_t pid() const { return pid_; }
    int fd() const { return fd_; }
    bool at_eof() const { return fd_ < 0; }

    // Reads what the pipe has (after poll said so) and returns the complete lines.
    std::vector<std::string> pump() {
        std::vector<std::string> lines;
        char buf[65536];
        ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) {
            ::close(fd_);
            fd_ = -1;
        } else {
            buffer_.append(buf, static_cast<size_t>(n));
        }
        for (size_t nl; (nl = buffer_.find('\n')) != std::string::npos;) {
            lines.push_back(buffer_.substr(0, nl));
            buffer_.erase(0, nl + 1);
        }
        return lines;
    }

    void kill() { ::kill(pid_, SIGKILL); }

    std::optional<int> reap(std::chrono::milliseconds timeout) {
        auto deadline = Clock::now() + timeout;
        while (!reaped_) {
            if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
                reaped_ = true;
                break;
            }
            if (Clock::now() >= deadline) return std::nullopt;
            ::usleep(1000);  // bounded poll of waitpid, as Child::wait does
        }
        return status_;
    }

private:
    int slot_, generation_;
    pid_t pid_ = -1;
    int fd_ = -1;
    std::string buffer_;
    bool reaped_ = false;
    int status_ = 0;
};

struct Flushed {
    std::string path;
    uint64_t offset, length, tag;
};

class Soak {
public:
    Soak(KernelFixture& k, uint64_t seed, int workers)
        : k_(k), seed_(seed), rng_(seed), env_(cek::soak::merged_environment(k.client_env())),
          slots_(static_cast<size_t>(workers)), reports_(static_cast<size_t>(workers) + 1) {}

    void start_all() {
        for (size_t s = 0; s < slots_.size(); ++s) spawn(static_cast<int>(s), 0);
    }

    // Runs the warm-up worker (the extra slot) until it has flushed some data, then kills it.
    void warm_up() {
        auto w = std::make_unique<Worker>(static_cast<int>(slots_.size()), 0, seed_, env_);
        auto deadline = Clock::now() + 60s;
        while (reports_.back().size() < 20 && !w->at_eof() && Clock::now() < deadline) {
            pollfd p{w->fd(), POLLIN, 0};
            if (::poll(&p, 1, 1000) == 1) handle(*w, w->pump());
        }
        if (reports_.back().size() < 20) failures.push_back("the warm-up worker flushed too little");
        w->kill();
        finish(std::move(w));
    }

    void run(Clock::duration length) {
        auto end = Clock::now() + length;
        auto next_kill = Clock::now() + pause();
        while (Clock::now() < end && failures.empty()) {
            std::vector<pollfd> fds;
            for (auto& w : slots_) fds.push_back({w->fd(), POLLIN, 0});
            auto until = std::min(next_kill, end);
            auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
            ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(wait.count(), 0)));
            for (size_t s = 0; s < slots_.size(); ++s) {
                if (fds[s].revents == 0) continue;
                handle(*slots_[s], slots_[s]->pump());
                if (slots_[s]->at_eof()) {  // it died, and not by our hand
                    failures.push_back("slot " + std::to_string(s) + " generation " +
                                       std::to_string(slots_[s]->generation()) + " died on its own");
                    replace(s);
                }
            }
            if (Clock::now() >= next_kill) {
                int victims = rng_() % 8 == 0 ? 2 + static_cast<int>(rng_() % 3) : 1;
                for (int i = 0; i < victims; ++i) replace(rng_() % slots_.size());
                next_kill = Clock::now() + pause();
            }
        }
    }

    void stop_all() {
        for (auto& w : slots_) {
            w->kill();
            finish(std::move(w));
        }
    }

    std::vector<std::string> failures;
    uint64_t kills = 0, kills_before_ready = 0, verified = 0, verified_bytes = 0;

private:
    Clock::duration pause() { return std::chrono::milliseconds(10 + rng_() % 390); }

    uint64_t worker_seed(int slot, int generation) const {
        return cek::soak::mix(seed_ ^ (uint64_t(slot) << 40) ^ uint64_t(generation));
    }

    void spawn(int slot, int generation) {
        slots_[static_cast<size_t>(slot)] =
            std::make_unique<Worker>(slot, generation, worker_seed(slot, generation), env_);
        ready_[slot] = false;
    }

    void handle(const Worker& w, const std::vector<std::string>& lines) {
        for (const auto& line : lines) {
            auto f = words(line);
            if (f.size() == 1 && f[0] == "ready") {
                ready_[w.slot()] = true;
            } else if (f.size() == 5 && f[0] == "flushed") {
                reports_[static_cast<size_t>(w.slot())].push_back(
                    {f[1], std::stoull(f[2]), std::stoull(f[3]), std::stoull(f[4])});
            } else {
                failures.push_back("slot " + std::to_string(w.slot()) + " generation " +
                                   std::to_string(w.generation()) + ": " + line);
            }
        }
    }

    void replace(size_t slot) {
        int generation = slots_[slot]->generation();
        slots_[slot]->kill();
        finish(std::move(slots_[slot]));
        spawn(static_cast<int>(slot), generation + 1);
    }

    // After a kill: read the pipe to its end, reap, wait for the kernel to drop the process,
    // check every flushed write on the host, and forget the reports.
    void finish(std::unique_ptr<Worker> w) {
        ++kills;
        kills_before_ready += !ready_[w->slot()];
        auto deadline = Clock::now() + 10s;
        while (!w->at_eof() && Clock::now() < deadline) {
            pollfd p{w->fd(), POLLIN, 0};
            if (::poll(&p, 1, 1000) == 1) handle(*w, w->pump());
        }
        std::string who = "slot " + std::to_string(w->slot()) + " generation " +
                          std::to_string(w->generation());
        auto status = w->reap(10s);
        if (!w->at_eof() || !status) failures.push_back(who + " did not end after SIGKILL");
        else if (!WIFSIGNALED(*status) || WTERMSIG(*status) != SIGKILL)
            failures.push_back(who + " ended with status " + std::to_string(*status) + ", not by our kill");
        pid_t pid = w->pid();
        bool gone = k_.wait_for(
            [pid](const cek::proto::Snapshot& s) {
                for (const auto& p : s.processes)
                    if (p.pid == pid) return false;
                return true;
            },
            20s);
        if (!gone) failures.push_back("the kernel still lists " + who + " 20 s after its death");
        verify(who, reports_[static_cast<size_t>(w->slot())]);
    }

    void verify(const std::string& who, std::vector<Flushed>& reports) {
        std::map<std::string, std::string> files;
        for (const auto& r : reports) {
            auto [it, fresh] = files.try_emplace(r.path);
            if (fresh) {
                std::ifstream in(k_.root() + "/" + r.path, std::ios::binary);
                std::stringstream s;
                s << in.rdbuf();
                it->second = s.str();
            }
            const std::string& data = it->second;
            bool ok = r.offset + r.length <= data.size() &&
                      cek::soak::matches(reinterpret_cast<const unsigned char*>(data.data()) + r.offset,
                                         r.length, r.tag);
            if (!ok) {
                failures.push_back(who + ": flushed bytes " + std::to_string(r.offset) + "+" +
                                   std::to_string(r.length) + " of " + r.path +
                                   " are not on the host (file has " + std::to_string(data.size()) +
                                   " bytes)");
                break;
            }
            ++verified;
            verified_bytes += r.length;
        }
        reports.clear();
    }

    KernelFixture& k_;
    uint64_t seed_;
    std::mt19937_64 rng_;
    std::vector<std::string> env_;
    std::vector<std::unique_ptr<Worker>> slots_;
    std::vector<std::vector<Flushed>> reports_;  // per slot, plus the warm-up's at the end
    std::map<int, bool> ready_;
};

}  // namespace

TEST_CASE("killed at random, clients leave no trace in the kernel and lose no flushed data",
          "[soak]") {
    uint64_t seed = env_number("CEK_SOAK_SEED", std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32));
    auto seconds = env_number("CEK_SOAK_SECONDS", 20);
    int workers = static_cast<int>(env_number("CEK_SOAK_WORKERS", 12));
    INFO("seed " << seed << " (CEK_SOAK_SEED=" << seed << " repeats this run's schedule)");

    KernelFixture k;
    pid_t kernel = k.kernel_pid();
    Soak soak(k, seed, workers);
    soak.warm_up();
    REQUIRE(soak.failures.empty());
    auto baseline = cek::soak::measure(kernel);

    auto start = Clock::now();
    soak.start_all();
    soak.run(std::chrono::seconds(seconds));
    soak.stop_all();
    auto took = std::chrono::duration<double>(Clock::now() - start).count();
    std::cerr << "soak: seed " << seed << ", " << workers << " workers, " << took << " s, "
              << soak.kills << " kills (" << soak.kills_before_ready << " before ready), "
              << soak.verified << " flushed writes verified (" << soak.verified_bytes
              << " bytes)\n";

    for (const auto& f : soak.failures) FAIL_CHECK(f);
    CHECK(soak.kills > static_cast<uint64_t>(workers));
    CHECK(soak.verified > 0);
    for (const auto& leak : cek::soak::leaks(k, kernel, baseline)) FAIL_CHECK(leak);
    CHECK(k.kernel_pid() == kernel);
    CHECK(cek::soak::kernel_answers(k));
}

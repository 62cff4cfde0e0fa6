// Child processes for multi-process tests: spawned with pipes on stdin/stdout, talked to one
// line at a time. Every wait has a timeout; nothing sleeps to synchronise.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cek::test {

using namespace std::chrono_literals;

class Child {
public:
    // Spawns `argv` with `env` added to (overriding) this process's environment.
    Child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
    ~Child();  // kills and reaps the child if it is still running
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    // One line from the child's stdout, without the newline; nullopt on timeout or EOF.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = 10s);
    void write_line(const std::string& line);
    // Sends a command line and returns the answer line ("" on timeout/EOF).
    std::string ask(const std::string& line, std::chrono::milliseconds timeout = 10s);
    void kill(int signal);
    // SIGSTOP, and true once every thread of the child is stopped (stop_process).
    bool stop(std::chrono::milliseconds timeout = 10s);
    // The exit status as from waitpid, or nullopt when it did not end in time.
    std::optional<int> wait(std::chrono::milliseconds timeout = 10s);
    void close_stdin();

private:
    pid_t pid_ = -1;
    int in_ = -1;   // our end of the child's stdin
    int out_ = -1;  // our end of the child's stdout
    std::string buffer_;
    bool reaped_ = false;
    int status_ = 0;
};

// A fresh, unique directory under TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "cek-test");
    ~TempDir();
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// SIGSTOP to `pid`, and true once every thread of it is stopped. kill() returns before that: a
// stop takes effect only once one of the process's threads takes the signal and stops the rest,
// and until then the others run on (under load, for milliseconds).
bool stop_process(pid_t pid, std::chrono::milliseconds timeout = 10s);

// The build-tree path of a program, from an environment variable the test() sets.
std::string program(const char* env_var);

// A uid (and gid of the same number) that no account in /etc/passwd has, from `from` up: the
// other users of the access and trust tests, taken as root without creating accounts.
uid_t unused_uid(uid_t from);

// Splits a line on spaces.
std::vector<std::string> words(const std::string& line);

}  // namespace cek::test

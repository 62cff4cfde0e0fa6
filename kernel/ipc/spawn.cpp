#include "kernel/ipc/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

namespace cek::kernel {

pid_t spawn_program(char* const argv[], char* const envp[], int pass_fd, int as_fd) {
    // The child's failure comes back through a close-on-exec pipe: nothing when execve worked.
    // (Not through shared memory: a sanitizer may turn vfork into fork.)
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return -errno;
    if (report[1] == as_fd) {  // the child's dup2 would close it
        const int moved = ::fcntl(report[1], F_DUPFD_CLOEXEC, as_fd + 1);
        const int e = errno;
        ::close(report[1]);
        if (moved < 0) {
            ::close(report[0]);
            return -e;
        }
        report[1] = moved;
    }
    // Signals wait until the child has its own dispositions: a handler run in the child before
    // that would run on the kernel's stack, which the child borrows until execve. (The kernel
    // installs none; glibc keeps two signals of its own unblockable, with its own handling.)
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    const pid_t pid = ::vfork();
    if (pid == 0) {
        // System calls only from here on: the child must not touch the kernel's heap or locks.
        int e = 0;
        if (pass_fd >= 0) {
            if (pass_fd == as_fd)
                e = ::fcntl(pass_fd, F_SETFD, 0) == 0 ? 0 : errno;
            else
                e = ::dup2(pass_fd, as_fd) == as_fd ? 0 : errno;
        }
        // The kernel ignores SIGPIPE, and whoever started it may have had it ignore the others.
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE})
            if (e == 0 && ::sigaction(sig, &dfl, nullptr) != 0) e = errno;
        sigset_t none;
        sigemptyset(&none);
        if (e == 0 && ::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) e = errno;
        if (e == 0) {
            ::execve(argv[0], argv, envp);
            e = errno;
        }
        (void)!::write(report[1], &e, sizeof e);
        ::_exit(127);
    }
    const int vfork_error = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(report[1]);
    int e = 0;
    if (pid > 0) {
        ssize_t n;
        while ((n = ::read(report[0], &e, sizeof e)) < 0 && errno == EINTR) {
        }
        if (n != sizeof e) e = 0;  // end of file: execve closed the pipe
    }
    ::close(report[0]);
    if (pid < 0) return -vfork_error;
    if (e != 0) {
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        return -e;
    }
    return pid;
}

}  // namespace cek::kernel

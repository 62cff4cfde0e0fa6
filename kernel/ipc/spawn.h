// Starting a program: vfork + execve, the way the kernel starts what CreateProcessW asks for
// (docs/decisions/0011-processes.md, "Who starts the program").
#pragma once

#include <sys/types.h>

namespace cek::kernel {

// Runs argv[0] with `argv` and `envp` (both null-terminated, made before the call: the child
// allocates nothing). `pass_fd`, when not -1, becomes descriptor `as_fd` in the program, without
// close-on-exec. The program starts with no signal blocked and SIGTERM, SIGINT, SIGHUP and
// SIGPIPE at their default actions; every other disposition is the kernel's, which installs no
// handler (so none can run in the child before execve, which would reset it anyway). Returns
// the pid, or -errno when the program could not be run (the child is reaped).
//
// glibc's posix_spawn is the same vfork, but its child cannot know which signals have handlers
// and asks for every one's disposition: about 130 system calls more per program started.
pid_t spawn_program(char* const argv[], char* const envp[], int pass_fd, int as_fd);

}  // namespace cek::kernel

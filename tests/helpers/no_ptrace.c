/* no_ptrace: runs a command where no process may reach into another, as in a container with the
 * default seccomp profile (no CAP_SYS_PTRACE) or under Yama ptrace_scope 2 or 3.
 *
 *   no_ptrace COMMAND [ARGS...]   install the filter, then exec COMMAND
 *   no_ptrace --probe             install the filter, then check that pidfd_getfd fails with
 *                                 EPERM (exit 0) in a process exec'd under it
 *
 * The filter (raw BPF, no libseccomp) makes pidfd_getfd, ptrace, process_vm_readv,
 * process_vm_writev, kcmp and process_madvise fail with EPERM. Seccomp filters are inherited
 * across fork and exec, so the command, the kernel it starts and every client are confined.
 * Another architecture than the one built for is refused outright (its numbers differ). */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NO_PTRACE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NO_PTRACE_ARCH AUDIT_ARCH_AARCH64
#else
#error "no_ptrace: add this architecture's AUDIT_ARCH"
#endif

#define DENY(nr)                                              \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),           \
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

static int install_filter(void) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NO_PTRACE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
        /* x32 numbers (bit 30) would reach the same calls: refuse them all. */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
#endif
        DENY(SYS_pidfd_getfd),
        DENY(SYS_ptrace),
        DENY(SYS_process_vm_readv),
        DENY(SYS_process_vm_writev),
        DENY(SYS_kcmp),
        DENY(SYS_process_madvise),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

/* Under the filter: pidfd_getfd on our own pidfd (always allowed without it) must fail EPERM. */
static int probe(void) {
    int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (pidfd < 0) {
        fprintf(stderr, "no_ptrace: pidfd_open: %s\n", strerror(errno));
        return 1;
    }
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, 0, 0);
    int err = errno;
    if (fd >= 0) {
        fprintf(stderr, "no_ptrace: pidfd_getfd succeeded under the filter\n");
        return 1;
    }
    if (err != EPERM) {
        fprintf(stderr, "no_ptrace: pidfd_getfd failed with %s, not EPERM\n", strerror(err));
        return 1;
    }
    if (syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0) == 0 || errno != EPERM) {
        fprintf(stderr, "no_ptrace: ptrace was not refused with EPERM\n");
        return 1;
    }
    printf("confined: pidfd_getfd and ptrace fail with EPERM\n");
    return 0;
}

static void disable_leak_checks(void) {
    const char* old = getenv("ASAN_OPTIONS");
    char options[4096];
    snprintf(options, sizeof options, "%s%sdetect_leaks=0", old != NULL ? old : "",
             old != NULL && *old != '\0' ? ":" : "");
    setenv("ASAN_OPTIONS", options, 1);
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: no_ptrace COMMAND [ARGS...] | no_ptrace --probe\n");
        return 2;
    }
    if (strcmp(argv[1], "--probe-confined") == 0) return probe();
    /* LeakSanitizer stops the world with ptrace at exit, which the filter denies (it would abort
     * every sanitized process): leak checks are off under the launcher. The same suites run
     * unconfined, with them on. */
    disable_leak_checks();
    if (install_filter() != 0) {
        fprintf(stderr, "no_ptrace: cannot install the seccomp filter: %s\n", strerror(errno));
        return 2;
    }
    if (strcmp(argv[1], "--probe") == 0) {
        /* Through exec, as the wrapped tests are: the filter must survive it. */
        char* again[] = {"/proc/self/exe", "--probe-confined", NULL};
        execv(again[0], again);
        fprintf(stderr, "no_ptrace: exec of itself: %s\n", strerror(errno));
        return 2;
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "no_ptrace: cannot run %s: %s\n", argv[1], strerror(errno));
    return 127;
}

// Starting a trainer: vfork and exec in C, because between the two the child may only make
// system calls (it runs on the parent's memory), which Swift cannot promise. See ckernels.h.
#define _GNU_SOURCE
#include "ckernels.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

static void child_fail(int report, int code) {
    int e = errno;
    (void)code;
    ssize_t w = write(report, &e, sizeof e);
    (void)w;
    _exit(127);
}

int npsh_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd, int out_fd, int err_fd, int *error) {
    int report[2];
    *error = 0;
    if (pipe2(report, O_CLOEXEC) != 0) { *error = errno; return -1; }
    pid_t parent = getpid();
    // vfork, as glibc's posix_spawn does: no copy of npsh's page tables (hundreds of MB with
    // the NB101 catalog loaded) for a child that only sets itself up and execs. Signals are
    // blocked around it so that no handler runs in the child on the parent's memory.
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t pid = vfork();
    if (pid < 0) {
        *error = errno;
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        // Its own process group, so that a timeout or Ctrl-C ends the trainer and whatever
        // it started, and the terminal's Ctrl-C reaches npsh alone.
        setpgid(0, 0);
#ifdef __linux__
        // Killed when npsh dies (even by kill -9): the thread that forked is the process's
        // scheduler thread, which lives as long as npsh.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
#endif
        // Signals back to their defaults and none blocked: npsh handles SIGINT itself.
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < 32; s++) {
            if (s != SIGKILL && s != SIGSTOP) sigaction(s, &dfl, NULL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0 || dup2(null_fd, 0) < 0) child_fail(report[1], 1);
        if (dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) child_fail(report[1], 2);
        if (cwd != NULL && chdir(cwd) != 0) child_fail(report[1], 3);
        execve(path, argv, envp);
        child_fail(report[1], 4);
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    setpgid(pid, pid);  // also here: whichever runs first, the group exists before a kill
    close(report[1]);
    int child_errno = 0;
    ssize_t n;
    do { n = read(report[0], &child_errno, sizeof child_errno); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof child_errno) {
        // exec failed: reap the child and report why.
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *error = child_errno;
        return -1;
    }
    return pid;
}

int npsh_wait(int pid, int *status) {
    int s = 0;
    pid_t r = waitpid(pid, &s, WNOHANG);
    if (r <= 0) return r < 0 ? -1 : 0;
    *status = s;
    return 1;
}

int npsh_status_exited(int status) { return WIFEXITED(status); }
int npsh_status_code(int status) { return WEXITSTATUS(status); }
int npsh_status_signaled(int status) { return WIFSIGNALED(status); }
int npsh_status_signal(int status) { return WTERMSIG(status); }

int npsh_kill_group(int pgid, int sig) { return kill(-pgid, sig); }

int npsh_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

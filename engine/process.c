/* How an accrue process ends: see process.h. */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t process_stop = 0;
static volatile sig_atomic_t deferred = 0;

static const char stopped_msg[] = "\naccrue: interrupted; no output written\n";

static void quit_now(int sig, const char *msg, size_t len)
{
    /* write and _exit are async-signal-safe; nothing is flushed, nothing half-written stays
     * behind (this mode is never on while --out is being written). */
    ssize_t ignored = write(STDERR_FILENO, msg, len);
    (void)ignored;
    _exit(sig == SIGTERM ? 143 : 130);
}

/* While deferred, a stop the code has not acted on within PROCESS_GRACE_SECONDS ends the
 * process anyway: one long step between two polls (a simulated trial whose rates a rule has
 * multiplied past all bounds, say) cannot hold a stop back. What it may leave is a private
 * folder beside an --out folder, which the next run removes (engine/outdir.c); the --out folder
 * itself is as it was, or already the new set. */
#define PROCESS_GRACE_SECONDS 1

static void on_alarm(int sig)
{
    static const char msg[] = "\naccrue: interrupted (it did not stop within a second of the "
                              "signal, so it was ended)\n";
    if (process_stop)
        quit_now(process_stop, msg, sizeof msg - 1);
    /* No stop pending: the alarm is not this process's own but one set before exec by whatever
     * started it (a time limit, as bench/bench.c sets), which must end the process as it would
     * without the handler: the default action, taken once the handler returns. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

static void on_signal(int sig)
{
    static volatile sig_atomic_t armed = 0;
    process_stop = sig;
    if (!deferred)
        quit_now(sig, stopped_msg, sizeof stopped_msg - 1);
    if (!armed) { /* a second signal does not put the end off */
        armed = 1;
        alarm(PROCESS_GRACE_SECONDS);
    }
}

void process_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
}

void process_signals_defer(void)
{
    deferred = 1;
}

void process_signals_resume(void)
{
    static const char msg[] = "\naccrue: interrupted\n";
    deferred = 0;
    if (process_stop)
        quit_now(process_stop, msg, sizeof msg - 1);
}

int process_stop_status(void)
{
    return process_stop == SIGTERM ? 143 : 130;
}

/* ---- standard streams ---- */

static int fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

int process_check_std_streams(char *err, size_t errlen)
{
    int stdout_closed = 0;
    for (int fd = 0; fd <= 2; fd++) {
        if (fd_is_open(fd))
            continue;
        stdout_closed |= fd == STDOUT_FILENO;
        /* open returns the lowest free descriptor: this one, since the lower ones are open. */
        int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (got != fd && got >= 0)
            close(got);
    }
    if (stdout_closed) {
        if (err && errlen)
            snprintf(err, errlen, "standard output is closed; the report has nowhere to go "
                     "(redirect it to a file or to /dev/null)");
        return -1;
    }
    return 0;
}

int process_flush_stdout(char *err, size_t errlen)
{
    errno = 0;
    int failed = fflush(stdout) != 0;
    int saved = errno;
    failed |= ferror(stdout) != 0;
    if (failed && err && errlen)
        snprintf(err, errlen, "cannot write the report to standard output: %s",
                 saved ? strerror(saved) : "a write failed");
    return failed ? -1 : 0;
}

int process_close_stdout(char *err, size_t errlen)
{
    if (process_flush_stdout(err, errlen) != 0) {
        fclose(stdout);
        return -1;
    }
    if (fclose(stdout) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot write the report to standard output: %s",
                     strerror(errno));
        return -1;
    }
    return 0;
}

/* How an accrue process ends (DESIGN.md section 8): SIGINT and SIGTERM stop every phase within
 * about a second with status 130 / 143, and a report that could not be written to standard
 * output is an error.
 *
 * Signals work in two modes. By default (after process_signals_install) the handler ends the
 * process at once: a message on standard error and _exit(128 + signal). That is right wherever
 * nothing is being written to disk (reading, describing, printing, computing exactly): no
 * library call, however long, can hold a stop back. Around work that must clean up after
 * itself (the simulation, which returns its partial result, and writing --out, which removes
 * its private folder), process_signals_defer switches the handler to only recording the signal
 * in process_stop; that code polls process_stop and returns early, and process_signals_resume
 * switches back (ending the process at once if a signal came meanwhile). A recorded signal
 * that the code has not acted on within a second (a single step longer than that between two
 * polls) ends the process anyway, through SIGALRM, which accrue uses for nothing else. */
#ifndef ACCRUE_PROCESS_H
#define ACCRUE_PROCESS_H

#include <signal.h>
#include <stddef.h>

/* The signal received (SIGINT or SIGTERM), 0 if none. */
extern volatile sig_atomic_t process_stop;

/* Installs the handlers for SIGINT and SIGTERM, in the mode that ends the process at once. */
void process_signals_install(void);

/* From here a signal is only recorded in process_stop (the code polls it). */
void process_signals_defer(void);

/* Back to ending the process at once; ends it now if a signal was recorded while deferred. */
void process_signals_resume(void);

/* The exit status for the recorded signal: 143 for SIGTERM, else 130. */
int process_stop_status(void);

/* Makes sure file descriptors 0, 1 and 2 are open, so that no file accrue creates can take
 * their place (a table opened as descriptor 1 would receive the report). A closed 0 or 2 is
 * replaced by /dev/null. Returns 0, or -1 with a message in err when standard output is closed
 * (there is nowhere to write the report; descriptor 1 is then /dev/null too). */
int process_check_std_streams(char *err, size_t errlen);

/* Flushes standard output and reports whether everything written to it arrived: returns 0, or
 * -1 with a message in err (a full disk, a closed pipe while SIGPIPE is ignored, any write
 * error seen since the start). */
int process_flush_stdout(char *err, size_t errlen);

/* process_flush_stdout, then closes standard output (a close can report a late write error, on
 * NFS for one). */
int process_close_stdout(char *err, size_t errlen);

#endif

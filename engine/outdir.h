/* Output folders that appear complete or not at all (DESIGN.md section 8).
 *
 * A set of files for the folder TARGET is built in a fresh private folder beside it,
 * PARENT/.accrue-PID-XXXXXX (mkdtemp: mode 0700, an unpredictable name, files created in it with
 * O_EXCL | O_NOFOLLOW), and only when every file is written and closed is that folder swapped in
 * for TARGET in one step: a rename when TARGET does not exist, else an exchange of the two
 * folders (renameat2 RENAME_EXCHANGE) after which the old one is removed. A reader sees the old
 * set or the new one, never a mix; two runs into one folder each swap a whole folder, so the
 * last one wins, whole. A run killed before the swap leaves only its private folder, which a
 * later run removes (one whose PID is gone and that is older than the later run's start).
 *
 * The whole folder is replaced, so TARGET may only hold files accrue writes: an existing TARGET
 * holding anything else (a file of another name, a subfolder, a symbolic link) is refused, as
 * is a TARGET that is or contains an input (the scenario folder or one of its files) or the
 * current folder. Missing parents of TARGET are created. */
#ifndef ACCRUE_OUTDIR_H
#define ACCRUE_OUTDIR_H

#include <stdio.h>

typedef struct outdir outdir;

/* Checks, before any work is done, that target can receive a set: resolves it, refuses it as
 * above, creates its missing parents and makes (and removes) a private folder beside it to be
 * sure one can be made. known: the names (NULL-terminated) of every file accrue may write in
 * such a folder. inputs: paths (NULL-terminated; may be NULL) of folders whose files must
 * never be replaced. Returns the handle, or NULL with a message in err. */
outdir *outdir_open(const char *target, const char *const *known, const char *const *inputs,
                    char *err, size_t errlen);

/* Frees d (removing its private folder if a set was begun and not committed); NULL is fine. */
void outdir_free(outdir *d);

/* The target as given, for messages. */
const char *outdir_target(const outdir *d);

/* Starts a set: removes what killed runs left beside the target, then makes the private
 * folder. Returns 0, or -1 with a message in err. */
int outdir_begin(outdir *d, char *err, size_t errlen);

/* Creates the new file name (one of the known names) in the set, for writing. Returns the
 * stream, or NULL with a message in err. */
FILE *outdir_create(outdir *d, const char *name, char *err, size_t errlen);

/* Flushes, syncs and closes f, a file of the set; -1 with a message in err when anything
 * written to it was lost (a full disk shows up here). */
int outdir_close(outdir *d, FILE *f, const char *name, char *err, size_t errlen);

/* Swaps the set in for the target (checking again that the target holds only files accrue
 * writes). Returns 0, or -1 with a message in err; the target is then as it was. */
int outdir_commit(outdir *d, char *err, size_t errlen);

/* Drops the set begun (its private folder and files); the target is left as it was. */
void outdir_abort(outdir *d);

#endif

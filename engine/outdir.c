/* Output folders that appear complete or not at all: see outdir.h. Every operation after the
 * checks works relative to a descriptor of the target's parent folder, and the files of a set
 * are created in a private folder (mode 0700, made by mkdtemp) with O_EXCL | O_NOFOLLOW, so no
 * planted name or symbolic link can redirect a write. */
#define _GNU_SOURCE  /* renameat2 and RENAME_EXCHANGE (glibc 2.28, Linux 3.15) */
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "dist.h"

#define TMP_PREFIX ".accrue-"

struct outdir {
    char *target;       /* as given, for messages */
    char *real;         /* absolute, symbolic links resolved: parent + "/" + base */
    char *parent;       /* absolute path of the folder that holds the target */
    char *base;         /* the target's name in parent */
    const char *const *known;
    int parent_fd;
    char *tmp;          /* name in parent of the private folder of the set begun, or NULL */
    int tmp_fd;
    int sink;           /* on an MPI rank other than 0: files go to /dev/null (dist.h) */
};

/* When this process first looked at an output folder: private folders of dead processes last
 * changed before this are leftovers of killed runs. */
static struct timespec started;

static int before_start(const struct stat *st)
{
    return st->st_mtim.tv_sec < started.tv_sec ||
           (st->st_mtim.tv_sec == started.tv_sec && st->st_mtim.tv_nsec < started.tv_nsec);
}

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *str_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
    return p;
}

/* a is b or lies inside b (both absolute, resolved). */
static int is_within(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (strcmp(b, "/") == 0)
        return 1;
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

static int is_known(const outdir *d, const char *name)
{
    for (const char *const *k = d->known; *k; k++)
        if (strcmp(*k, name) == 0)
            return 1;
    return 0;
}

/* Whether `name` ("inputs", or "scenario-1/inputs") is a folder of the set: some known name
 * is "name/..." (any depth). */
static int is_known_folder(const outdir *d, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *k = d->known; *k; k++)
        if (strncmp(*k, name, n) == 0 && (*k)[n] == '/')
            return 1;
    return 0;
}

/* The entries of the known folder `name` (a path from the set's root, open in parent_fd under
 * its last component `leaf`) are all known regular files or known folders holding only such
 * entries. */
static int folder_is_ours(const outdir *d, int parent_fd, const char *name, const char *leaf)
{
    int fd = openat(parent_fd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    int ok = 1;
    for (struct dirent *e; ok && (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *full = join(name, e->d_name);
        struct stat st;
        ok = full && fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
             ((S_ISREG(st.st_mode) && is_known(d, full)) ||
              (S_ISDIR(st.st_mode) && is_known_folder(d, full) &&
               folder_is_ours(d, dirfd(dir), full, e->d_name)));
        free(full);
    }
    closedir(dir);
    return ok;
}

/* Removes the known files and folders of the known folder `name` (a path from the set's
 * root, in parent_fd under its last component `leaf`), then the folder if empty. */
static void remove_folder(const outdir *d, int parent_fd, const char *name, const char *leaf)
{
    int fd = openat(parent_fd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (struct dirent *e; (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *full = join(name, e->d_name);
        struct stat st;
        if (full && fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISREG(st.st_mode) && is_known(d, full))
                unlinkat(dirfd(dir), e->d_name, 0);
            else if (S_ISDIR(st.st_mode) && is_known_folder(d, full))
                remove_folder(d, dirfd(dir), full, e->d_name);
        }
        free(full);
    }
    closedir(dir);
    unlinkat(parent_fd, leaf, AT_REMOVEDIR);
}

/* A name accrue may find in an output folder: one of its tables, or a temporary file an older
 * version of accrue left there (".accrue-PID-NAME"). */
static int is_ours(const outdir *d, const char *name)
{
    return is_known(d, name) || strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
}

/* mkdir -p: creates every missing folder of path. */
static int make_parents(const char *path)
{
    char *p = str_dup(path);
    if (!p)
        return -1;
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = -1;
        *s = c;
        if (rc || c == '\0')
            break;
    }
    free(p);
    struct stat st;
    if (rc == 0 && stat(path, &st) != 0)
        rc = -1;
    else if (rc == 0 && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = -1;
    }
    return rc;
}

/* Checks that the folder open as fd holds only files accrue writes (regular files of its
 * names). Returns 0, or -1 with the first other name in *bad (malloc'd) or errno set. */
static int only_ours(const outdir *d, int fd, char **bad)
{
    *bad = NULL;
    int dup_fd = dup(fd);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!dir) {
        if (dup_fd >= 0)
            close(dup_fd);
        return -1;
    }
    rewinddir(dir);
    int rc = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
            is_known_folder(d, e->d_name) && folder_is_ours(d, fd, e->d_name, e->d_name))
            continue;
        if (!is_ours(d, e->d_name) || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode)) {
            *bad = str_dup(e->d_name);
            rc = -1;
            break;
        }
    }
    closedir(dir);
    return rc;
}

/* Removes the folder `name` in parent_fd after removing the files accrue writes in it; a folder
 * that still holds anything else is kept. Returns 0 when the folder is gone. */
static int remove_set(const outdir *d, int parent_fd, const char *name)
{
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int dup_fd = dup(fd);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (dir) {
        for (struct dirent *e; (e = readdir(dir));) {
            struct stat st;
            if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            if (S_ISDIR(st.st_mode) && is_known_folder(d, e->d_name))
                remove_folder(d, fd, e->d_name, e->d_name);
            else if (is_ours(d, e->d_name) && S_ISREG(st.st_mode))
                unlinkat(fd, e->d_name, 0);
        }
        closedir(dir);
    } else if (dup_fd >= 0) {
        close(dup_fd);
    }
    close(fd);
    return unlinkat(parent_fd, name, AT_REMOVEDIR);
}

/* The pid in a private folder's name ".accrue-PID-...", or -1 if the name is not one. */
static long tmp_pid(const char *name)
{
    size_t n = strlen(TMP_PREFIX);
    if (strncmp(name, TMP_PREFIX, n) != 0)
        return -1;
    char *end;
    errno = 0;
    long pid = strtol(name + n, &end, 10);
    if (errno || end == name + n || *end != '-' || pid <= 0)
        return -1;
    return pid;
}

/* Removes the private folders beside the target that killed runs left: ours by owner, of a
 * process that no longer exists, last changed before this process started. */
static void remove_leftovers(const outdir *d)
{
    int dup_fd = dup(d->parent_fd);
    DIR *dir = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!dir) {
        if (dup_fd >= 0)
            close(dup_fd);
        return;
    }
    for (struct dirent *e; (e = readdir(dir));) {
        long pid = tmp_pid(e->d_name);
        struct stat st;
        if (pid < 0 || pid == (long)getpid() ||
            fstatat(d->parent_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || !before_start(&st))
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;  /* alive, or not ours to judge */
        remove_set(d, d->parent_fd, e->d_name);
    }
    closedir(dir);
}

/* ---- opening: where the target is and whether it may be replaced ---- */

/* Sets d->real, d->parent and d->base; creates missing parents. *exists: the target exists. */
static int resolve(outdir *d, int *exists, char *err, size_t errlen)
{
    char *t = str_dup(d->target);
    if (!t)
        return -1;
    size_t n = strlen(t);
    while (n > 1 && t[n - 1] == '/')
        t[--n] = '\0';
    struct stat st;
    *exists = lstat(t, &st) == 0;
    if (*exists) {
        if (stat(t, &st) != 0) {
            set_err(err, errlen, "%s: a symbolic link to nothing (%s); --out expects a folder",
                    d->target, strerror(errno));
            free(t);
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            set_err(err, errlen, "%s: not a folder; --out expects a folder", d->target);
            free(t);
            return -1;
        }
        d->real = realpath(t, NULL);
    } else if (errno != ENOENT) {
        set_err(err, errlen, "%s: cannot use as the output folder: %s", d->target,
                strerror(errno));
        free(t);
        return -1;
    } else {
        char *slash = strrchr(t, '/');
        const char *base = slash ? slash + 1 : t;
        char *parent = slash ? (slash == t ? str_dup("/") : t) : str_dup(".");
        if (slash && slash != t)
            *slash = '\0';
        if (!parent || !strcmp(base, ".") || !strcmp(base, "..")) {
            set_err(err, errlen, "%s: cannot use as the output folder", d->target);
            if (parent != t)
                free(parent);
            free(t);
            return -1;
        }
        if (make_parents(parent) != 0) {
            set_err(err, errlen, "%s: cannot create the folders that hold it: %s", d->target,
                    strerror(errno));
            if (parent != t)
                free(parent);
            free(t);
            return -1;
        }
        char *rp = realpath(parent, NULL);
        d->real = rp ? join(rp, base) : NULL;
        free(rp);
        if (parent != t)
            free(parent);
    }
    free(t);
    if (!d->real) {
        set_err(err, errlen, "%s: cannot resolve the path: %s", d->target, strerror(errno));
        return -1;
    }
    if (!strcmp(d->real, "/")) {
        set_err(err, errlen, "%s: the root folder cannot be an output folder", d->target);
        return -1;
    }
    char *slash = strrchr(d->real, '/');
    d->parent = slash == d->real ? str_dup("/") : strndup(d->real, (size_t)(slash - d->real));
    d->base = str_dup(slash + 1);
    return d->parent && d->base ? 0 : -1;
}

/* Refuses a target that is or holds an input folder or one of its files, or the current
 * folder. */
static int check_inputs(const outdir *d, const char *const *inputs, char *err, size_t errlen)
{
    char *cwd = realpath(".", NULL);
    int inside = cwd && is_within(cwd, d->real);
    free(cwd);
    if (inside) {
        set_err(err, errlen, "%s: is the current folder or holds it; --out replaces the whole "
                "folder, so give it a folder of its own (e.g. --out results)", d->target);
        return -1;
    }
    for (const char *const *in = inputs; in && *in; in++) {
        char *rin = realpath(*in, NULL);
        if (!rin)
            continue;
        int bad = is_within(rin, d->real);
        int same = !strcmp(rin, d->real);
        DIR *dir = bad ? NULL : opendir(rin);
        char *hit = NULL;
        for (struct dirent *e; dir && !hit && (e = readdir(dir));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = join(rin, e->d_name);
            char *rp = p ? realpath(p, NULL) : NULL;
            if (rp && is_within(rp, d->real))
                hit = str_dup(e->d_name);
            free(rp);
            free(p);
        }
        if (dir)
            closedir(dir);
        free(rin);
        if (bad) {
            set_err(err, errlen, same ? "%s: is the scenario folder %s; --out would replace its "
                    "files with the tables: choose another folder"
                    : "%s: holds the scenario folder %s; --out replaces the whole folder: choose "
                    "another folder", d->target, *in);
            return -1;
        }
        if (hit) {
            set_err(err, errlen, "%s: holds the file %s/%s of the scenario (through a "
                    "symbolic link); --out would replace it: choose another folder", d->target,
                    *in, hit);
            free(hit);
            return -1;
        }
    }
    return 0;
}

/* The message for a target holding a file accrue did not write. */
static void foreign_err(const outdir *d, const char *bad, char *err, size_t errlen)
{
    set_err(err, errlen, "%s: holds '%s', which accrue did not write; --out replaces the whole "
            "folder and so writes only into a new folder or one holding nothing but its own "
            "tables: choose another folder (or move '%s' away)", d->target, bad, bad);
}

/* The target exists: it must hold only files accrue writes. */
static int check_contents(const outdir *d, char *err, size_t errlen)
{
    int fd = openat(d->parent_fd, d->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "%s: cannot read the folder: %s", d->target, strerror(errno));
        return -1;
    }
    char *bad = NULL;
    int rc = only_ours(d, fd, &bad);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        if (bad)
            foreign_err(d, bad, err, errlen);
        else
            set_err(err, errlen, "%s: cannot read the folder: %s", d->target, strerror(saved));
        free(bad);
    }
    return rc;
}

static int make_private(outdir *d, char *err, size_t errlen)
{
    char name[64];
    snprintf(name, sizeof name, TMP_PREFIX "%ld-XXXXXX", (long)getpid());
    char *path = join(d->parent, name);
    if (!path)
        return -1;
    if (!mkdtemp(path)) {
        set_err(err, errlen, "%s: cannot create a folder beside it in %s: %s (accrue writes "
                "the tables into a new folder there, then swaps it in)", d->target, d->parent,
                strerror(errno));
        free(path);
        return -1;
    }
    d->tmp = str_dup(strrchr(path, '/') + 1);
    free(path);
    d->tmp_fd = d->tmp ? openat(d->parent_fd, d->tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                                O_CLOEXEC) : -1;
    if (d->tmp_fd < 0) {
        set_err(err, errlen, "%s: cannot open the new folder in %s: %s", d->target, d->parent,
                strerror(errno));
        outdir_abort(d);
        return -1;
    }
    return 0;
}

static outdir *open_here(const char *target, const char *const *known,
                         const char *const *inputs, char *err, size_t errlen);

/* Under MPI only rank 0 looks at and writes the folder (engine/dist.h); the other ranks, which
 * run the same command, get rank 0's verdict and a sink that swallows their copy of the set. */
outdir *outdir_open(const char *target, const char *const *known, const char *const *inputs,
                    char *err, size_t errlen)
{
    if (dist_rank() == 0) {
        outdir *d = open_here(target, known, inputs, err, errlen);
        dist_share_long(d != NULL);
        return d;
    }
    outdir *d = dist_share_long(0) ? calloc(1, sizeof *d) : NULL;
    if (d && !(d->target = str_dup(target))) {
        free(d);
        d = NULL;
    }
    if (!d) {
        set_err(err, errlen, "%s: refused (rank 0 says why)", target ? target : "");
        return NULL;
    }
    d->known = known;
    d->parent_fd = d->tmp_fd = -1;
    d->sink = 1;
    return d;
}

static outdir *open_here(const char *target, const char *const *known,
                         const char *const *inputs, char *err, size_t errlen)
{
    if (!started.tv_sec)
        clock_gettime(CLOCK_REALTIME, &started);
    if (!target || !*target) {
        set_err(err, errlen, "--out needs a folder name");
        return NULL;
    }
    outdir *d = calloc(1, sizeof *d);
    if (!d || !(d->target = str_dup(target))) {
        free(d);
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    d->known = known;
    d->parent_fd = d->tmp_fd = -1;
    int exists;
    if (resolve(d, &exists, err, errlen) != 0 || check_inputs(d, inputs, err, errlen) != 0)
        goto fail;
    d->parent_fd = open(d->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->parent_fd < 0) {
        set_err(err, errlen, "%s: cannot open %s: %s", d->target, d->parent, strerror(errno));
        goto fail;
    }
    if (exists && check_contents(d, err, errlen) != 0)
        goto fail;
    /* Proves that a private folder can be made where the set will be built. */
    if (make_private(d, err, errlen) != 0)
        goto fail;
    outdir_abort(d);
    return d;
fail:
    outdir_free(d);
    return NULL;
}

void outdir_free(outdir *d)
{
    if (!d)
        return;
    outdir_abort(d);
    if (d->parent_fd >= 0)
        close(d->parent_fd);
    free(d->target);
    free(d->real);
    free(d->parent);
    free(d->base);
    free(d);
}

const char *outdir_target(const outdir *d)
{
    return d->target;
}

int outdir_begin(outdir *d, char *err, size_t errlen)
{
    if (d->sink)
        return 0;
    outdir_abort(d);
    remove_leftovers(d);
    return make_private(d, err, errlen);
}

FILE *outdir_create(outdir *d, const char *name, char *err, size_t errlen)
{
    if (d->sink && is_known(d, name)) {
        FILE *f = fopen("/dev/null", "w");
        if (!f)
            set_err(err, errlen, "/dev/null: cannot open: %s", strerror(errno));
        return f;
    }
    if (d->tmp_fd < 0 || !is_known(d, name)) {
        set_err(err, errlen, "%s/%s: not a file of the set begun", d->target, name);
        return NULL;
    }
    /* A file of a known folder ("figures/fan.svg", "scenario-1/inputs/trial.csv"): its
     * folders first, in the private folder this run made (so no one else's link can stand in
     * their place). */
    for (const char *slash = strchr(name, '/'); slash; slash = strchr(slash + 1, '/')) {
        char *folder = strndup(name, (size_t)(slash - name));
        int made = folder && (mkdirat(d->tmp_fd, folder, 0755) == 0 || errno == EEXIST);
        free(folder);
        if (!made) {
            set_err(err, errlen, "%s/%s: cannot create its folder: %s", d->target, name,
                    strerror(errno));
            return NULL;
        }
    }
    int fd = openat(d->tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        set_err(err, errlen, "%s/%s: cannot create: %s", d->target, name, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

int outdir_close(outdir *d, FILE *f, const char *name, char *err, size_t errlen)
{
    errno = 0;
    int bad = fflush(f) != 0;
    int saved = errno;
    bad |= ferror(f) != 0;
    /* On to the disk before the swap: after a crash, the folder swapped in holds its data.
     * (EINVAL: a file system that cannot sync, which is no failure.) */
    if (!bad && fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS) {
        bad = 1;
        saved = errno;
    }
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (bad)
        set_err(err, errlen, "%s/%s: write failed: %s", d->target, name,
                saved ? strerror(saved) : "an error writing the file");
    return bad ? -1 : 0;
}

/* Swaps the folders tmp and base, both in parent_fd: in one step where the file system can
 * (renameat2 RENAME_EXCHANGE), else in two renames (base moved aside, then tmp into place).
 * Afterwards tmp names the old folder. */
static int exchange(outdir *d)
{
#ifdef RENAME_EXCHANGE
    if (renameat2(d->parent_fd, d->tmp, d->parent_fd, d->base, RENAME_EXCHANGE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
#endif
    char aside[64];
    snprintf(aside, sizeof aside, TMP_PREFIX "%ld-old", (long)getpid());
    if (renameat(d->parent_fd, d->base, d->parent_fd, aside) != 0)
        return -1;
    if (renameat(d->parent_fd, d->tmp, d->parent_fd, d->base) != 0) {
        int saved = errno;
        renameat(d->parent_fd, aside, d->parent_fd, d->base);
        errno = saved;
        return -1;
    }
    return renameat(d->parent_fd, aside, d->parent_fd, d->tmp);
}

int outdir_commit(outdir *d, char *err, size_t errlen)
{
    if (d->sink)
        return 0;
    if (d->tmp_fd < 0) {
        set_err(err, errlen, "%s: no set begun", d->target);
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    fsync(d->tmp_fd);
    for (int attempt = 0; attempt < 3; attempt++) {
        struct stat st;
        if (fstatat(d->parent_fd, d->base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT)
                break;
            fchmod(d->tmp_fd, 0777 & ~mask);
            if (renameat(d->parent_fd, d->tmp, d->parent_fd, d->base) == 0) {
                close(d->tmp_fd);
                d->tmp_fd = -1;
                free(d->tmp);
                d->tmp = NULL;
                fsync(d->parent_fd);
                return 0;
            }
            if (errno == EEXIST || errno == ENOTEMPTY)
                continue;  /* another run got there first: swap with its folder */
            break;
        }
        if (!S_ISDIR(st.st_mode)) {
            set_err(err, errlen, "%s: no longer a folder; nothing written", d->target);
            outdir_abort(d);
            return -1;
        }
        if (check_contents(d, err, errlen) != 0) {
            outdir_abort(d);
            return -1;
        }
        fchmod(d->tmp_fd, st.st_mode & 07777);
        if (exchange(d) != 0)
            break;
        close(d->tmp_fd);
        d->tmp_fd = -1;
        fsync(d->parent_fd);
        /* tmp now names the previous folder: it held only accrue's tables a moment ago. */
        if (remove_set(d, d->parent_fd, d->tmp) != 0 && errno != ENOENT)
            fprintf(stderr, "accrue: warning: the previous %s held files accrue did not write "
                    "(added during the run); they are kept in %s/%s\n", d->target, d->parent,
                    d->tmp);
        free(d->tmp);
        d->tmp = NULL;
        return 0;
    }
    set_err(err, errlen, "%s: cannot move the new tables into place: %s; nothing written",
            d->target, strerror(errno));
    outdir_abort(d);
    return -1;
}

void outdir_abort(outdir *d)
{
    if (!d || !d->tmp)
        return;
    if (d->tmp_fd >= 0)
        close(d->tmp_fd);
    d->tmp_fd = -1;
    remove_set(d, d->parent_fd, d->tmp);
    free(d->tmp);
    d->tmp = NULL;
}

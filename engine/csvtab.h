/* A CSV file read whole into rows of fields, each row knowing its line number, with libcsv
 * (RFC 4180: quoted fields, embedded commas and newlines; lines end in LF, CRLF or a lone CR,
 * and each of the three counts as one line in messages). A UTF-8 byte-order mark
 * at the start is skipped; lines holding only spaces or tabs are blank and are not rows.
 * Spaces and tabs around a field are removed by libcsv (those inside quotes are kept), so
 * `a , "b c" ` reads as the fields "a" and "b c"; callers may trim again, harmlessly.
 * Files larger than CSVTAB_MAX_BYTES (64 MiB) are refused: scenario files are small, and the
 * bound keeps a wrong path (a disk image, a log) from being read into memory whole. */
#ifndef ACCRUE_CSVTAB_H
#define ACCRUE_CSVTAB_H

#include <stddef.h>

#define CSVTAB_MAX_BYTES ((size_t)64 << 20)
/* The most fields of a header row. A data row may have no more fields than its header. */
#define CSVTAB_MAX_FIELDS ((size_t)1000)

typedef struct csv_row {
    size_t line;      /* 1-based line of the file on which the row starts */
    size_t nfields;
    char **field;     /* NUL-terminated copies; a field with an embedded NUL byte is an error */
} csv_row;

typedef struct csvtab {
    char *name;       /* the file name used in error messages */
    size_t nrows;     /* rows, the header included */
    csv_row *row;
    int more;         /* read with a row limit: the file goes on past the last row kept */
} csvtab;

/* Reads the file at path. On success returns a table the caller frees with csvtab_free; on
 * failure returns NULL and writes "PATH:LINE: what is wrong" into err (errlen bytes, may be
 * NULL): missing or unreadable file (line 0), a file over CSVTAB_MAX_BYTES (line 0), an empty
 * file or one holding only blank lines (line 0), an unterminated quote (the line where it
 * opened), a misplaced quote, a NUL byte or bytes that are not UTF-8 (their line), a header of
 * more than CSVTAB_MAX_FIELDS fields (line 1: "header has more than 1000 fields") and a data row
 * with more fields than the header ("row has N fields; expected W as in the header on line
 * H", on its line; its fields are counted, not kept, so a line of millions of commas costs no
 * memory). A too-wide row is refused here even when an earlier row holds another fault that
 * the caller would have reported first. Every message ends "; expected ..." saying what would
 * have been accepted. Memory: the file's text, plus for each field kept a copy and a pointer. */
csvtab *csvtab_read(const char *path, char *err, size_t errlen);

/* csvtab_read with a row limit, max_rows > 0: keeps the header, at most max_rows data rows and
 * the first data row beyond them (so a caller's check "more than max_rows rows" can name that
 * row's line), sets `more` when that row was kept, and parses no further (the whole text is
 * still checked for NUL bytes and UTF-8). Memory and time then stay proportional to the rows
 * kept, however long the file. max_rows 0 is csvtab_read. */
csvtab *csvtab_read_max(const char *path, size_t max_rows, char *err, size_t errlen);

/* The bytes csvtab_read parses: the whole file (at most CSVTAB_MAX_BYTES), not NUL-terminated,
 * the caller frees; NULL with the message csvtab_read would give. */
char *csvtab_read_bytes(const char *path, size_t *len, char *err, size_t errlen);

/* The same from a buffer in memory (len bytes; it need not be NUL-terminated, and is not
 * changed or kept); name is used in messages and copied into the table. */
csvtab *csvtab_parse(const char *name, const char *buf, size_t len, char *err, size_t errlen);

/* csvtab_parse with a row limit, as csvtab_read_max. */
csvtab *csvtab_parse_max(const char *name, const char *buf, size_t len, size_t max_rows,
                         char *err, size_t errlen);

/* Frees t; NULL is fine. */
void csvtab_free(csvtab *t);

#endif

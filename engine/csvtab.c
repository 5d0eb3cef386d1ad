/* A CSV file read whole into rows with libcsv, each row tagged with the line it starts on.
 * See csvtab.h. The text is checked (NUL bytes, UTF-8) before libcsv sees it, so every row
 * handed to a caller is valid text. */
#include "csvtab.h"

#include <csv.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error messages ---- */

#if defined(__GNUC__)
#define CSVTAB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CSVTAB_PRINTF(f, a)
#endif

static void set_err(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
    CSVTAB_PRINTF(5, 6);

static void set_err(char *err, size_t errlen, const char *name, size_t line, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    int n = snprintf(err, errlen, "%s:%zu: ", name, line);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* 1 if the byte at i ends a line: a line feed, or a carriage return not followed by one. So
 * LF (Unix), CRLF (Windows) and a lone CR (old Mac OS) each end one line, as libcsv takes each
 * of them to end a row. */
static int ends_line(const unsigned char *buf, size_t i, size_t len)
{
    return buf[i] == '\n' || (buf[i] == '\r' && (i + 1 == len || buf[i + 1] != '\n'));
}

/* Line (1-based) of the byte at offset pos of buf (len bytes): one more than the line ends
 * before it. */
static size_t line_at(const unsigned char *buf, size_t len, size_t pos)
{
    size_t line = 1;
    for (size_t i = 0; i < pos && i < len; i++)
        line += ends_line(buf, i, len);
    return line;
}

/* ---- text checks ---- */

/* Length of the UTF-8 sequence starting at s (at most n bytes available), or 0 if it is not
 * valid UTF-8: overlong forms, surrogates and code points above U+10FFFF are refused
 * (RFC 3629, section 4, gives the well-formed byte ranges used here). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* 0 if buf is NUL-free UTF-8; otherwise -1 with a message naming the line. */
static int check_text(const char *name, const unsigned char *buf, size_t len, char *err,
                      size_t errlen)
{
    size_t line = 1;
    for (size_t i = 0; i < len;) {
        if (buf[i] == '\0') {
            set_err(err, errlen, name, line,
                    "NUL byte (binary data?); expected a UTF-8 text file");
            return -1;
        }
        size_t k = utf8_seq_len(buf + i, len - i);
        if (k == 0) {
            set_err(err, errlen, name, line,
                    "byte 0x%02X is not valid UTF-8; expected a UTF-8 text file", buf[i]);
            return -1;
        }
        line += ends_line(buf, i, len);
        i += k;
    }
    return 0;
}

/* ---- row start lines ----
 * libcsv reports a field when it ends and a row when it ends, not where they began, so the
 * lines on which rows start are found by a scan that follows the same rules: a row starts at
 * the first character after a row end that is not a space, tab, CR or LF (libcsv skips those
 * between rows, which is also why blank lines are not rows), and CR or LF ends a row only
 * outside quotes. Toggling "inside quotes" at every quote is exact for input libcsv accepts
 * in strict mode, where a quote may appear only in a quoted field (doubled inside it). */

typedef struct line_scan {
    size_t *start;       /* start line of each row, in order (at most `most` of them) */
    size_t n, cap, most; /* most: rows whose start is kept (0: all) */
    size_t open_quote;   /* line of the last quote that opened a quoted part */
    int in_quotes;
} line_scan;

static int scan_push(line_scan *sc, size_t line)
{
    if (sc->most && sc->n == sc->most)
        return 0;
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 64;
        size_t *p = realloc(sc->start, cap * sizeof *p);
        if (!p)
            return -1;
        sc->start = p;
        sc->cap = cap;
    }
    sc->start[sc->n++] = line;
    return 0;
}

static int scan_rows(line_scan *sc, const unsigned char *buf, size_t len)
{
    size_t line = 1;
    int between_rows = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = buf[i];
        int is_end = c == '\r' || c == '\n';
        if (between_rows && !is_end && c != ' ' && c != '\t') {
            if (scan_push(sc, line) != 0)
                return -1;
            between_rows = 0;
        }
        if (c == '"') {
            sc->in_quotes = !sc->in_quotes;
            if (sc->in_quotes)
                sc->open_quote = line;
        } else if (is_end && !sc->in_quotes)
            between_rows = 1;
        line += ends_line(buf, i, len);
    }
    return 0;
}

/* ---- building the table from libcsv's callbacks ---- */

/* Why the builder stopped keeping rows before the end of the text. */
typedef enum stop_reason { GO_ON, STOP_FULL, STOP_WIDE } stop_reason;

typedef struct builder {
    csvtab *t;
    size_t cap_rows;
    char **fields;       /* the row being read */
    size_t nfields, cap_fields;
    size_t dropped;      /* fields of the row being read beyond those kept */
    size_t keep_rows;    /* rows kept at most, the header included (0: all) */
    stop_reason stop;
    size_t wide_row, wide_fields; /* STOP_WIDE: the row's index and its number of fields */
    int nomem;
} builder;

/* The most fields a row of b may have: the header's, or CSVTAB_MAX_FIELDS for the header. */
static size_t row_width(const builder *b)
{
    return b->t->nrows ? b->t->row[0].nfields : CSVTAB_MAX_FIELDS;
}

static void on_field(void *s, size_t len, void *data)
{
    builder *b = data;
    if (b->nomem || b->stop)
        return;
    if (b->nfields + b->dropped >= row_width(b)) {
        b->dropped++;   /* the row is refused: counted, not kept */
        return;
    }
    if (b->nfields == b->cap_fields) {
        size_t cap = b->cap_fields ? 2 * b->cap_fields : 8;
        char **p = realloc(b->fields, cap * sizeof *p);
        if (!p) {
            b->nomem = 1;
            return;
        }
        b->fields = p;
        b->cap_fields = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        b->nomem = 1;
        return;
    }
    if (len > 0)
        memcpy(copy, s, len);
    copy[len] = '\0';
    b->fields[b->nfields++] = copy;
}

static void builder_drop_row(builder *b)
{
    for (size_t i = 0; i < b->nfields; i++)
        free(b->fields[i]);
    free(b->fields);
    b->fields = NULL;
    b->nfields = b->cap_fields = b->dropped = 0;
}

static void on_row(int c, void *data)
{
    (void)c;
    builder *b = data;
    if (b->nomem || b->stop)
        return;
    csvtab *t = b->t;
    if (b->dropped) {
        b->stop = STOP_WIDE;
        b->wide_row = t->nrows;
        b->wide_fields = b->nfields + b->dropped;
        builder_drop_row(b);
        return;
    }
    if (t->nrows == b->cap_rows) {
        size_t cap = b->cap_rows ? 2 * b->cap_rows : 16;
        csv_row *p = realloc(t->row, cap * sizeof *p);
        if (!p) {
            b->nomem = 1;
            return;
        }
        t->row = p;
        b->cap_rows = cap;
    }
    /* The row takes over the field array. */
    t->row[t->nrows++] = (csv_row){.line = 0, .nfields = b->nfields, .field = b->fields};
    b->fields = NULL;
    b->nfields = b->cap_fields = 0;
    if (b->keep_rows && t->nrows == b->keep_rows)
        b->stop = STOP_FULL;
}

void csvtab_free(csvtab *t)
{
    if (!t)
        return;
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t i = 0; i < t->row[r].nfields; i++)
            free(t->row[r].field[i]);
        free(t->row[r].field);
    }
    free(t->row);
    free(t->name);
    free(t);
}

/* The text goes to libcsv in pieces of this many bytes, so that reading stops soon after the
 * builder stops keeping rows. */
#define PARSE_PIECE ((size_t)1 << 16)

/* Runs libcsv over the text. Returns 0, or -1 with a message. */
static int run_libcsv(builder *b, const unsigned char *buf, size_t len, const line_scan *sc,
                      char *err, size_t errlen)
{
    const char *name = b->t->name;
    struct csv_parser p;
    /* Strict: a stray quote or text after a closing quote is an error, not a guess;
     * STRICT_FINI: a quote still open at the end of the file is an error. */
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        set_err(err, errlen, name, 0, "out of memory; expected enough memory to read the file");
        return -1;
    }
    size_t at = 0, done = 0, piece = 0;
    while (at < len && !b->stop && !b->nomem) {
        piece = len - at < PARSE_PIECE ? len - at : PARSE_PIECE;
        done = csv_parse(&p, buf + at, piece, on_field, on_row, b);
        if (done < piece)
            break;
        at += piece;
    }
    int rc = 0;
    if (b->stop || b->nomem) {
        /* the rest of the text is not read: the caller refuses the file, or it is too long */
    } else if (at < len && csv_error(&p) == CSV_EPARSE) {
        set_err(err, errlen, name, line_at(buf, len, at + done),
                "misplaced quote; expected a quote only at the start and end of a field "
                "(written twice inside it)");
        rc = -1;
    } else if (at < len) {
        set_err(err, errlen, name, line_at(buf, len, at + done),
                "%s; expected a readable CSV file", csv_strerror(csv_error(&p)));
        rc = -1;
    } else if (csv_fini(&p, on_field, on_row, b) != 0) {
        if (csv_error(&p) == CSV_EPARSE)
            set_err(err, errlen, name, sc->open_quote,
                    "quoted field never closed; expected a closing quote (\")");
        else
            set_err(err, errlen, name, 0, "%s; expected a readable CSV file",
                    csv_strerror(csv_error(&p)));
        rc = -1;
    }
    csv_free(&p);
    builder_drop_row(b);
    if (rc == 0 && b->nomem) {
        set_err(err, errlen, name, 0, "out of memory; expected enough memory to read the file");
        rc = -1;
    }
    if (rc == 0 && b->stop == STOP_WIDE) {
        size_t line = b->wide_row < sc->n ? sc->start[b->wide_row] : 0;
        if (b->wide_row == 0)
            set_err(err, errlen, name, line, "header has more than %zu fields; expected a "
                    "header naming the file's columns", CSVTAB_MAX_FIELDS);
        else
            set_err(err, errlen, name, line, "row has %zu fields; expected %zu as in the "
                    "header on line %zu", b->wide_fields, b->t->row[0].nfields,
                    sc->start[0]);
        rc = -1;
    }
    return rc;
}

csvtab *csvtab_parse_max(const char *name, const char *text, size_t len, size_t max_rows,
                         char *err, size_t errlen)
{
    const unsigned char *buf = (const unsigned char *)text;
    if (!name)
        name = "(csv)";
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) {
        buf += 3; /* the UTF-8 byte-order mark says nothing a UTF-8 reader needs */
        len -= 3;
    }
    if (check_text(name, buf, len, err, errlen) != 0)
        return NULL;
    csvtab *t = calloc(1, sizeof *t);
    /* Kept: the header, max_rows data rows and the first row beyond them. */
    size_t keep = max_rows ? max_rows + 2 : 0;
    line_scan sc = {.most = keep};
    builder b = {.t = t, .keep_rows = keep};
    if (!t || !(t->name = strdup(name)) || scan_rows(&sc, buf, len) != 0) {
        set_err(err, errlen, name, 0, "out of memory; expected enough memory to read the file");
        goto fail;
    }
    if (run_libcsv(&b, buf, len, &sc, err, errlen) != 0)
        goto fail;
    if (t->nrows == 0) {
        set_err(err, errlen, name, 0, "file is empty; expected a header row and data rows");
        goto fail;
    }
    if (sc.n != t->nrows) { /* the scan and libcsv disagree: a bug here, not in the file */
        set_err(err, errlen, name, 0, "internal error: %zu rows but %zu row starts; expected "
                "them equal (please report)", t->nrows, sc.n);
        goto fail;
    }
    for (size_t r = 0; r < t->nrows; r++)
        t->row[r].line = sc.start[r];
    t->more = b.stop == STOP_FULL;
    free(sc.start);
    return t;
fail:
    free(sc.start);
    csvtab_free(t);
    return NULL;
}

/* Reads the whole stream, refusing more than CSVTAB_MAX_BYTES. Returns the buffer (caller
 * frees) or NULL with a message. Reading to the end, rather than trusting a size from stat,
 * also works for pipes; the buffer never grows past the bound plus the one byte that shows
 * the bound is exceeded. */
static char *slurp(FILE *f, const char *path, size_t *len, char *err, size_t errlen)
{
    const size_t limit = CSVTAB_MAX_BYTES + 1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            set_err(err, errlen, path, 0, "out of memory; expected enough memory to read it");
            return NULL;
        }
        if (n == cap && cap == limit) {
            set_err(err, errlen, path, 0, "file is larger than %zu MiB; expected a smaller "
                    "scenario file", CSVTAB_MAX_BYTES >> 20);
            free(buf);
            return NULL;
        }
        if (n == cap) {
            cap = 2 * cap < limit ? 2 * cap : limit;
            char *p = realloc(buf, cap);
            if (!p)
                free(buf);
            buf = p;
            continue;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got > 0)
            continue;
        if (ferror(f)) {
            set_err(err, errlen, path, 0, "cannot read (%s); expected a readable CSV file",
                    strerror(errno));
            free(buf);
            return NULL;
        }
        *len = n;
        return buf;
    }
}

csvtab *csvtab_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
    return csvtab_parse_max(name, text, len, 0, err, errlen);
}

csvtab *csvtab_read(const char *path, char *err, size_t errlen)
{
    return csvtab_read_max(path, 0, err, errlen);
}

char *csvtab_read_bytes(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, path, 0, "cannot open (%s); expected a readable CSV file",
                strerror(errno));
        return NULL;
    }
    char *buf = slurp(f, path, len, err, errlen);
    fclose(f);
    return buf;
}

csvtab *csvtab_read_max(const char *path, size_t max_rows, char *err, size_t errlen)
{
    size_t len = 0;
    char *buf = csvtab_read_bytes(path, &len, err, errlen);
    if (!buf)
        return NULL;
    csvtab *t = csvtab_parse_max(path, buf, len, max_rows, err, errlen);
    free(buf);
    return t;
}

/* Tests for engine/csvtab.c: rows, fields and their start lines; every refusal and its line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../engine/csvtab.h"

/* Parses a string literal (its length taken with sizeof, so embedded NULs count). */
#define PARSE(lit, err) csvtab_parse("t.csv", (lit), sizeof(lit) - 1, (err), sizeof(err))

static void assert_row(const csvtab *t, size_t r, size_t line, size_t n, ...)
{
    assert_true(r < t->nrows);
    assert_int_equal(t->row[r].line, line);
    assert_int_equal(t->row[r].nfields, n);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(t->row[r].field[i], va_arg(ap, const char *));
    va_end(ap);
}

/* Refusal: NULL and a message that starts with "t.csv:LINE: " and holds the fragment. */
static void assert_refused(const char *text, size_t len, size_t line, const char *fragment)
{
    char err[256] = "", prefix[32];
    csvtab *t = csvtab_parse("t.csv", text, len, err, sizeof err);
    assert_null(t);
    snprintf(prefix, sizeof prefix, "t.csv:%zu: ", line);
    if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, fragment)
        || !strstr(err, "; expected"))
        fail_msg("message \"%s\", wanted prefix \"%s\" and \"%s\"", err, prefix, fragment);
}

#define REFUSED(lit, line, frag) assert_refused((lit), sizeof(lit) - 1, (line), (frag))

static void test_lines_of_rows(void **state)
{
    (void)state;
    char err[256];
    /* Line 1 LF; line 2 blank CRLF; rows on 3 (its quoted field runs to line 4), 6 after a
     * blank line 5, and 8 after a line of spaces and a tab (7). */
    csvtab *t = PARSE("a,b\r\n\r\n  c , \"d,\n e\" \r\n\n\"f\"\"g\",\n  \t\n,x", err);
    assert_non_null(t);
    assert_string_equal(t->name, "t.csv");
    assert_int_equal(t->nrows, 4);
    assert_row(t, 0, 1, 2, "a", "b");
    assert_row(t, 1, 3, 2, "c", "d,\n e"); /* spaces around fields go; inside quotes stay */
    assert_row(t, 2, 6, 2, "f\"g", "");
    assert_row(t, 3, 8, 2, "", "x");
    csvtab_free(t);
}

static void test_bom_and_crlf(void **state)
{
    (void)state;
    char err[256];
    csvtab *t = PARSE("\xEF\xBB\xBFkey,value\r\nas_of,2026-07-18\r\n\r\n", err);
    assert_non_null(t);
    assert_int_equal(t->nrows, 2);
    assert_row(t, 0, 1, 2, "key", "value"); /* no BOM bytes left in the first field */
    assert_row(t, 1, 2, 2, "as_of", "2026-07-18");
    csvtab_free(t);
}

static void test_multiline_fields_count_lines(void **state)
{
    (void)state;
    char err[256];
    /* The note on line 2 spans lines 2-4 (two CRLFs inside quotes): the next row is line 5. */
    csvtab *t = PARSE("site,note\r\nA,\"one\r\ntwo\r\nthree\"\r\nB,\"x\"\r\n", err);
    assert_non_null(t);
    assert_int_equal(t->nrows, 3);
    assert_row(t, 1, 2, 2, "A", "one\r\ntwo\r\nthree");
    assert_row(t, 2, 5, 2, "B", "x");
    csvtab_free(t);
}

static void test_utf8_text_is_kept(void **state)
{
    (void)state;
    char err[256];
    /* 2-, 3- and 4-byte sequences: é, 横浜, 🏥 (U+1F3E5). */
    csvtab *t = PARSE("site\n\xC3\xA9\n\xE6\xA8\xAA\xE6\xB5\x9C\n\xF0\x9F\x8F\xA5\n", err);
    assert_non_null(t);
    assert_int_equal(t->nrows, 4);
    assert_row(t, 2, 3, 1, "\xE6\xA8\xAA\xE6\xB5\x9C");
    assert_row(t, 3, 4, 1, "\xF0\x9F\x8F\xA5");
    csvtab_free(t);
}

static void test_refusals(void **state)
{
    (void)state;
    REFUSED("", 0, "file is empty");
    REFUSED("\n\r\n   \n\t", 0, "file is empty");
    REFUSED("\xEF\xBB\xBF", 0, "file is empty");
    REFUSED("a,b\nc,\"open\nstill open\n", 2, "quoted field never closed");
    REFUSED("a,b\nc,d\"e\n", 2, "misplaced quote");
    REFUSED("a,b\n\nc,\"d\"e\n", 3, "misplaced quote");
    REFUSED("a,b\nc,d\0\n", 2, "NUL byte");
    REFUSED("a\nb\nM\xFCller\n", 3, "byte 0xFC is not valid UTF-8");       /* Latin-1 */
    REFUSED("a\n\xC0\xAF\n", 2, "not valid UTF-8");                       /* overlong '/' */
    REFUSED("a\n\xED\xA0\x80\n", 2, "not valid UTF-8");                   /* surrogate */
    REFUSED("a\n\xF4\x90\x80\x80\n", 2, "not valid UTF-8");               /* > U+10FFFF */
    REFUSED("a\n\xE6\xA8", 2, "not valid UTF-8");                         /* cut short */
    REFUSED("a\n\x80", 2, "not valid UTF-8");                             /* lone continuation */
    /* A CRLF file counts lines the same way. */
    REFUSED("a\r\nb\r\n\"c\r\n", 3, "quoted field never closed");
}

static void test_null_err_buffer(void **state)
{
    (void)state;
    assert_null(csvtab_parse("t.csv", "", 0, NULL, 0));
    assert_null(csvtab_read("no/such/dir/x.csv", NULL, 0));
    csvtab_free(NULL);
}

/* A temporary file holding len bytes of text (or len zero bytes when text is NULL). */
static void write_temp(char path[256], const char *text, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, 256, "%s/test_csvtab_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    if (text)
        assert_int_equal(write(fd, text, len), (ssize_t)len);
    else
        assert_int_equal(ftruncate(fd, (off_t)len), 0); /* a sparse file of zeros */
    close(fd);
}

static void test_read_file(void **state)
{
    (void)state;
    char path[256], err[256];
    const char text[] = "site,rate\nA,1\n";
    write_temp(path, text, sizeof text - 1);
    csvtab *t = csvtab_read(path, err, sizeof err);
    unlink(path);
    assert_non_null(t);
    assert_string_equal(t->name, path); /* messages name the path as given */
    assert_int_equal(t->nrows, 2);
    assert_row(t, 1, 2, 2, "A", "1");
    csvtab_free(t);

    assert_null(csvtab_read("no/such/dir/x.csv", err, sizeof err));
    assert_non_null(strstr(err, "no/such/dir/x.csv:0: cannot open"));
    assert_null(csvtab_read(".", err, sizeof err)); /* a folder opens but cannot be read */
    assert_non_null(strstr(err, ".:0: cannot read"));
}

/* The size bound: exactly CSVTAB_MAX_BYTES is read (and then refused for its NUL bytes, which
 * shows it got past the bound); one byte more is refused for its size, at line 0. */
static void test_size_bound(void **state)
{
    (void)state;
    char path[256], err[256];
    write_temp(path, NULL, CSVTAB_MAX_BYTES);
    assert_null(csvtab_read(path, err, sizeof err));
    unlink(path);
    assert_non_null(strstr(err, ":1: NUL byte"));

    write_temp(path, NULL, CSVTAB_MAX_BYTES + 1);
    assert_null(csvtab_read(path, err, sizeof err));
    unlink(path);
    assert_non_null(strstr(err, ":0: file is larger than 64 MiB"));
}

/* A lone CR (old Mac OS files) ends a line like LF and CRLF: rows and faults get their own
 * line numbers, not line 1 for everything; a mix of the three counts each once. */
static void test_cr_only_line_ends(void **state)
{
    (void)state;
    char err[256];
    csvtab *t = PARSE("a,b\rc,d\r\re,\"f\rg\"\rh,i\r\nj,k\nl,m", err);
    assert_non_null(t);
    assert_int_equal(t->nrows, 6);
    assert_row(t, 0, 1, 2, "a", "b");
    assert_row(t, 1, 2, 2, "c", "d");
    assert_row(t, 2, 4, 2, "e", "f\rg");  /* blank line 3; the quoted CR is line 5 */
    assert_row(t, 3, 6, 2, "h", "i");
    assert_row(t, 4, 7, 2, "j", "k");
    assert_row(t, 5, 8, 2, "l", "m");
    csvtab_free(t);
    REFUSED("a\rb\rc\xFF\r", 3, "not valid UTF-8");
    REFUSED("a,b\rc,d\re,\"f\"g\r", 3, "misplaced quote");
    REFUSED("a,b\r\rc,\"open\r", 3, "quoted field never closed");
}

/* A data row wider than its header is refused on its line with its true width, its fields
 * counted rather than kept: 200,000 commas cost no memory per field (ASan would see a leak or
 * an overflow if they were kept and lost). A header of more than CSVTAB_MAX_FIELDS fields is
 * refused on its own line. */
static void test_wide_rows(void **state)
{
    (void)state;
    REFUSED("a,b\n1,2\n\n1,2,3\n", 4, "row has 3 fields; expected 2 as in the header on line 1");
    size_t n = 200000;
    char *text = malloc(n + 16);
    assert_non_null(text);
    memcpy(text, "\na,b\n1,", 7);
    memset(text + 7, ',', n);
    assert_refused(text, 7 + n, 3, "row has 200002 fields; expected 2 as in the header on line 2");
    memset(text, ',', n);
    assert_refused(text, n, 1, "header has more than 1000 fields");
    memset(text, ',', CSVTAB_MAX_FIELDS - 1); /* exactly CSVTAB_MAX_FIELDS fields: kept */
    char err[256];
    csvtab *t = csvtab_parse("t.csv", text, CSVTAB_MAX_FIELDS - 1, err, sizeof err);
    assert_non_null(t);
    assert_int_equal(t->row[0].nfields, CSVTAB_MAX_FIELDS);
    csvtab_free(t);
    free(text);
}

/* A row limit keeps the header, max_rows data rows and the first row beyond (with `more`
 * set), and reads no further: a fault past that row is not reached. Exactly max_rows data
 * rows, or fewer, are all kept without `more`. */
static void test_row_limit(void **state)
{
    (void)state;
    char err[256];
    const char text[] = "a\r\n1\n2\r3\n4\n\"never closed";
    csvtab *t = csvtab_parse_max("t.csv", text, sizeof text - 1, 2, err, sizeof err);
    assert_non_null(t);
    assert_int_equal(t->nrows, 4);
    assert_true(t->more);
    assert_row(t, 3, 4, 1, "3");
    csvtab_free(t);
    t = csvtab_parse_max("t.csv", text, 11, 4, err, sizeof err); /* "a\r\n1\n2\r3\n4\n" */
    assert_non_null(t);
    assert_int_equal(t->nrows, 5);
    assert_false(t->more);
    csvtab_free(t);
    t = csvtab_parse_max("t.csv", text, 11, 3, err, sizeof err);
    assert_non_null(t);
    assert_int_equal(t->nrows, 5);
    assert_true(t->more);
    csvtab_free(t);
    /* Without a limit the fault at the end is found. */
    assert_null(csvtab_parse_max("t.csv", text, sizeof text - 1, 0, err, sizeof err));
    assert_non_null(strstr(err, "t.csv:6: quoted field never closed"));
    /* The text is still checked whole: a bad byte past the limit is refused. */
    assert_null(csvtab_parse_max("t.csv", "a\n1\n2\n3\n\xFF", 9, 1, err, sizeof err));
    assert_non_null(strstr(err, "t.csv:5: byte 0xFF"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_of_rows),
        cmocka_unit_test(test_bom_and_crlf),
        cmocka_unit_test(test_multiline_fields_count_lines),
        cmocka_unit_test(test_utf8_text_is_kept),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_null_err_buffer),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_size_bound),
        cmocka_unit_test(test_cr_only_line_ends),
        cmocka_unit_test(test_wide_rows),
        cmocka_unit_test(test_row_limit),
    };
    return cmocka_run_group_tests_name("csvtab", tests, NULL, NULL);
}

/* A check shared by the tests of SVG writers: the tags of a document balance. Counts opening
 * and closing tags (self-closing ones cancel themselves); a document whose counts agree, and
 * which never closes more than it opened, is balanced. Not an XML parser: the browser test
 * loads the real files. */
#ifndef ACCRUE_TEST_SVG_CHECK_H
#define ACCRUE_TEST_SVG_CHECK_H

#include <string.h>

static inline int svg_tags_balance(const char *s)
{
    long depth = 0;
    for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        if (!end)
            return 0;
        if (p[1] == '/')
            depth--;
        else if (end[-1] != '/')
            depth++;
        if (depth < 0)
            return 0;
    }
    return depth == 0;
}

#endif

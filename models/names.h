/* Site names as a reader sees them: two names that print alike but differ in their bytes (a
 * no-break space for a space, an invisible character, an accent written as a letter and a
 * combining mark rather than as one precomposed letter, the NFD and NFC forms of Unicode) get
 * one key, so that scenario.c can refuse them as duplicates instead of taking them for two
 * sites. Small and without a library: it covers the spaces and invisible characters below and
 * the canonical decompositions of the Latin letters (U+00C0 to U+024F, U+1E00 to U+1EFF) and of
 * the kana with voiced marks (U+3040 to U+30FF); other scripts compare as written. */
#ifndef ACCRUE_NAMES_H
#define ACCRUE_NAMES_H

/* The key of name (valid UTF-8, as csvtab delivers): every Unicode space (U+00A0, U+1680,
 * U+2000 to U+200A, U+202F, U+205F, U+3000) and tab becomes a space; the invisible U+00AD,
 * U+200B to U+200D, U+2060 and U+FEFF are dropped; each covered precomposed letter becomes its
 * canonical decomposition (letter, then its marks); runs of spaces become one, and spaces at
 * either end go. Names with equal keys look the same. Returns a string the caller frees, or
 * NULL when out of memory. */
char *names_key(const char *name);

#endif

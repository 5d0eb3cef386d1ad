/* Calendar dates as day numbers (proleptic Gregorian, days since 1970-01-01), strict ISO 8601
 * parsing and formatting, and month arithmetic for review checkpoints. */
#ifndef ACCRUE_DATE_H
#define ACCRUE_DATE_H

#include <stdint.h>

typedef int32_t date_t;

/* Parses exactly "YYYY-MM-DD" (years 1600 to 9999; the day must exist in that month, leap
 * years included). Nothing may follow. Returns 0 and sets *out, or -1 (then *out is unchanged). */
int date_parse(const char *s, date_t *out);

/* Writes "YYYY-MM-DD" and a terminating NUL into buf (at least 11 bytes). */
void date_format(date_t d, char buf[11]);

/* Room for date_format_wide's text: a sign, up to 7 year digits, "-MM-DD" and the NUL. */
#define DATE_TEXT_LEN 16

/* Like date_format for years 0 to 9999; a year beyond them (a followed horizon can reach past
 * 9999) in ISO 8601's expanded form, a sign and at least five digits: "+10026-07-18". */
void date_format_wide(date_t d, char buf[DATE_TEXT_LEN]);

/* Day number of a valid (year, month 1-12, day 1-31) date. */
date_t date_from_ymd(int year, int month, int day);

/* Splits d into year, month and day. */
void date_to_ymd(date_t d, int *year, int *month, int *day);

/* d plus `months` calendar months; a day that does not exist in the target month becomes that
 * month's last day (2026-08-31 + 6 months = 2027-02-28). */
date_t date_add_months(date_t d, int months);

#endif

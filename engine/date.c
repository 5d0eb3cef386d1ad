/* Calendar dates as day numbers: strict ISO 8601 parsing, formatting and month arithmetic.
 * See date.h. The conversions work on 400-year eras, which repeat exactly in the Gregorian
 * calendar, so no table of years is needed. */
#include "date.h"

#include <stdio.h>

#define DATE_MIN_YEAR 1600
#define DATE_MAX_YEAR 9999

/* Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar: 719468. */
#define DAYS_0000_03_01_TO_EPOCH 719468
#define DAYS_PER_ERA 146097 /* 400 Gregorian years */

static int is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Floor division for the negative years before the epoch's era. */
static int floor_div(int a, int b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Counting years from March makes February the last month, so the leap day falls at the end
 * of a year and the day of year is a linear formula in the month: (153 m + 2) / 5 days before
 * month m (0 = March) is exact for the 31-30-31-30-31 pattern. Algorithm: H. Hinnant,
 * "chrono-Compatible Low-Level Date Algorithms" (2013), days_from_civil. */
date_t date_from_ymd(int year, int month, int day)
{
    int y = month <= 2 ? year - 1 : year;
    int era = floor_div(y, 400);
    int yoe = y - era * 400;                           /* [0, 399] */
    int mp = (month + 9) % 12;                         /* March = 0 */
    int doy = (153 * mp + 2) / 5 + day - 1;            /* [0, 365] */
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;   /* [0, 146096] */
    return (date_t)(era * DAYS_PER_ERA + doe - DAYS_0000_03_01_TO_EPOCH);
}

/* The inverse of date_from_ymd (Hinnant's civil_from_days): find the era, then the year of
 * era by removing the leap days, then the March-based month from the day of year. */
void date_to_ymd(date_t d, int *year, int *month, int *day)
{
    int z = (int)d + DAYS_0000_03_01_TO_EPOCH;
    int era = floor_div(z, DAYS_PER_ERA);
    int doe = z - era * DAYS_PER_ERA;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int m = mp < 10 ? mp + 3 : mp - 9;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = m;
    *year = yoe + era * 400 + (m <= 2);
}

/* Reads n ASCII digits; -1 if any is not a digit (so signs and spaces are refused). */
static int read_digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int date_parse(const char *s, date_t *out)
{
    if (!s)
        return -1;
    /* The digit reads stop at the first non-digit, so a short string fails before its NUL. */
    int year = read_digits(s, 4);
    if (year < 0 || s[4] != '-')
        return -1;
    int month = read_digits(s + 5, 2);
    if (month < 0 || s[7] != '-')
        return -1;
    int day = read_digits(s + 8, 2);
    if (day < 0 || s[10] != '\0')
        return -1;
    if (year < DATE_MIN_YEAR || year > DATE_MAX_YEAR || month < 1 || month > 12 || day < 1
        || day > days_in_month(year, month))
        return -1;
    *out = date_from_ymd(year, month, day);
    return 0;
}

void date_format(date_t d, char buf[11])
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    /* Years outside 0-9999 cannot be produced by date_parse; clamp the width anyway so the
     * output always fits in 11 bytes (the month and day checks let the compiler see it too). */
    if (y < 0 || y > 9999 || m < 1 || m > 12 || dd < 1 || dd > 31) {
        snprintf(buf, 11, "xxxx-xx-xx");
        return;
    }
    snprintf(buf, 11, "%04d-%02d-%02d", y, m, dd);
}

void date_format_wide(date_t d, char buf[DATE_TEXT_LEN])
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    if (y >= 0 && y <= 9999) {
        date_format(d, buf);
        return;
    }
    /* date_t spans about +-5.8 million years: at most 7 year digits, 1 + 7 + 6 + 1 bytes. */
    if (m < 1 || m > 12 || dd < 1 || dd > 31 || y < -9999999 || y > 9999999) {
        snprintf(buf, DATE_TEXT_LEN, "invalid");
        return;
    }
    snprintf(buf, DATE_TEXT_LEN, "%c%05d-%02d-%02d", y < 0 ? '-' : '+', y < 0 ? -y : y, m, dd);
}

date_t date_add_months(date_t d, int months)
{
    int y, m, dd;
    date_to_ymd(d, &y, &m, &dd);
    int index = y * 12 + (m - 1) + months; /* months since year 0 */
    int ny = floor_div(index, 12);
    int nm = index - ny * 12 + 1;
    int last = days_in_month(ny, nm);
    return date_from_ymd(ny, nm, dd < last ? dd : last);
}

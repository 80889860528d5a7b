/*
 * sc_httpdate.c: HTTP-dates read strictly (RFC 9110 5.6.7): the three
 * formats and nothing else, for Expires, Date and Last-Modified
 * (sc_policy_http_date, declared in sc_policy.h).  Pure: APR only.
 */
#include "sc_policy.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

static const char *const day_names[] = { "Mon", "Tue", "Wed", "Thu",
                                         "Fri", "Sat", "Sun" };
static const char *const day_names_long[] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
};
static const char *const month_names[] = { "Jan", "Feb", "Mar", "Apr",
                                           "May", "Jun", "Jul", "Aug",
                                           "Sep", "Oct", "Nov", "Dec" };

/* Exactly n digits at *s (advanced past them) into *v. */
static int digits(const char **s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (!apr_isdigit((*s)[i])) {
            return 0;
        }
        *v = *v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    return 1;
}

/* The literal w at *s, in any case (advanced past it).  RFC 9110 calls
 * HTTP-date case-sensitive, but "nov" or "gmt" can mean nothing else:
 * they are read as meant, as APR and mod_proxy read them. */
static int literal(const char **s, const char *w)
{
    apr_size_t n = strlen(w);

    if (strncasecmp(*s, w, n) != 0) {
        return 0;
    }
    *s += n;
    return 1;
}

/* One of names at *s, in any case; *index is its position (1-based). */
static int one_of(const char **s, const char *const *names, int count,
                  int *index)
{
    int i;

    for (i = 0; i < count; i++) {
        if (literal(s, names[i])) {
            *index = i + 1;
            return 1;
        }
    }
    return 0;
}

typedef struct {
    int year, month, day, hour, minute, second;
} http_date_t;

static int time_of_day(const char **s, http_date_t *d)
{
    return digits(s, 2, &d->hour) && literal(s, ":") && digits(s, 2, &d->minute)
           && literal(s, ":") && digits(s, 2, &d->second) && d->hour <= 23
           && d->minute <= 59 && d->second <= 60; /* 60: a leap second */
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static apr_int64_t days_from_civil(apr_int64_t y, int m, int d)
{
    apr_int64_t era, yoe, doy;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

/* RFC 850's two-digit year: the year with those last digits that is at
 * most 50 years after now's. */
static int full_year(int yy, apr_int64_t now)
{
    apr_int64_t days = now > 0 ? now / 86400 : 0;
    int year = (int)(1970 + days / 366), y;

    while (days_from_civil(year + 1, 1, 1) <= days) {
        year++;
    }
    y = year - year % 100 + yy;
    return y > year + 50 ? y - 100 : y;
}

int sc_policy_http_date(const char *s, apr_int64_t now, apr_int64_t *t)
{
    const char *p, *end;
    http_date_t d;
    int ok, name, yy;

    if (!s) {
        return 0;
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    memset(&d, 0, sizeof(d));
    p = s;
    if (one_of(&p, day_names, 7, &name) && literal(&p, ", ")) {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        ok = digits(&p, 2, &d.day) && literal(&p, " ")
             && one_of(&p, month_names, 12, &d.month) && literal(&p, " ")
             && digits(&p, 4, &d.year) && literal(&p, " ")
             && time_of_day(&p, &d) && literal(&p, " GMT");
    }
    else if (p = s, one_of(&p, day_names_long, 7, &name) && literal(&p, ", ")) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        ok = digits(&p, 2, &d.day) && literal(&p, "-")
             && one_of(&p, month_names, 12, &d.month) && literal(&p, "-")
             && digits(&p, 2, &yy) && literal(&p, " ") && time_of_day(&p, &d)
             && literal(&p, " GMT");
        d.year = ok ? full_year(yy, now) : 0;
    }
    else if (p = s, one_of(&p, day_names, 7, &name) && literal(&p, " ")) {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        ok = one_of(&p, month_names, 12, &d.month) && literal(&p, " ")
             && (literal(&p, " ") ? digits(&p, 1, &d.day)
                                  : digits(&p, 2, &d.day))
             && literal(&p, " ") && time_of_day(&p, &d) && literal(&p, " ")
             && digits(&p, 4, &d.year);
    }
    else {
        ok = 0;
    }
    if (!ok || p != end || d.day < 1
        || d.day > days_in_month(d.year, d.month)) {
        return 0;
    }
    *t = days_from_civil(d.year, d.month, d.day) * 86400 + d.hour * 3600
         + d.minute * 60 + d.second;
    return 1;
}

/*
 * test_policy.c: may a response be stored, and for how long
 * (src/sc_policy.[ch]; DESIGN.md sections 3-4, THREATS.md 1, 12, 25-27).
 *
 * Most rules are rows of one table: each row is a response plus the
 * location's configuration, and the decision it must get.
 */
#include "unit.h"

#include <limits.h>
#include <string.h>

#include "sc_policy.h"

#define NOW ((apr_int64_t)1700000000) /* 2023-11-14 22:13:20 GMT */
#define D_NOW "Tue, 14 Nov 2023 22:13:20 GMT"
#define D_P120 "Tue, 14 Nov 2023 22:15:20 GMT"  /* NOW + 120 */
#define D_P200 "Tue, 14 Nov 2023 22:16:40 GMT"  /* NOW + 200 */
#define D_M100 "Tue, 14 Nov 2023 22:11:40 GMT"  /* NOW - 100 */
#define D_M3600 "Tue, 14 Nov 2023 21:13:20 GMT" /* NOW - 3600 */
#define DAY 86400
#define DAYS30 (30 * DAY)

/* SharedCacheStatuses default: 200 203 204 300 301 308 404 410 */
static unsigned char default_statuses[SC_MAX_STATUS + 1];

static void init_statuses(void)
{
    static const int codes[] = { 200, 203, 204, 300, 301, 302,
                                 303, 307, 308, 404, 410 };
    unsigned int i;

    memset(default_statuses, 0, sizeof(default_statuses));
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        default_statuses[codes[i]] = 1;
    }
}

typedef struct {
    const char *name;
    /* the response */
    int status;                /* 0: 200 */
    const char *cc, *sc, *cdn; /* Cache-, Surrogate-, CDN-Cache-Control */
    const char *expires, *date, *age, *vary;
    int set_cookie;
    /* the configuration */
    apr_int64_t ttl; /* SharedCacheTTL */
    int force;       /* SharedCacheForceTTL */
    apr_int64_t max; /* SharedCacheMaxTTL, 0: 86400 */
    /* the decision */
    int storable;
    apr_int64_t want_ttl; /* checked when storable */
    int no_stale;         /* checked when storable */
    int stale;            /* 1: check swr and sie; else both -1 */
    apr_int64_t swr, sie;
} pcase_t;

/* clang-format off: one case per paragraph, as written */
static const pcase_t cases[] = {
    /* --- status allow-list (THREATS 12) --- */
    { .name = "200 with max-age is stored",
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "203 is in the default list",
      .status = 203,
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "204 is in the default list",
      .status = 204,
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "300 is in the default list",
      .status = 300,
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "301 is in the default list",
      .status = 301,
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "308 is in the default list",
      .status = 308,
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "404 is in the default list",
      .status = 404,
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "410 is in the default list",
      .status = 410,
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "206 partial content never stored",
      .status = 206,
      .cc = "max-age=60" },
    { .name = "302 with max-age: stored",
      .status = 302,
      .cc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "302 without freshness of its own: never SharedCacheTTL's",
      .status = 302,
      .ttl = 300 },
    { .name = "418 not in the default list",
      .status = 418,
      .cc = "max-age=60" },
    { .name = "304 never stored", .status = 304, .cc = "max-age=60" },
    { .name = "400 never stored (CPDoS)",
      .status = 400,
      .cc = "max-age=60",
      .ttl = 300,
      .force = 1 },
    { .name = "500 never stored", .status = 500, .cc = "max-age=60" },
    { .name = "503 never stored",
      .status = 503,
      .cc = "max-age=60",
      .ttl = 300,
      .force = 1 },
    { .name = "status 99 refused", .status = 99, .cc = "max-age=60" },
    { .name = "status 600 refused without reading past the list",
      .status = 600,
      .cc = "max-age=60" },
    { .name = "negative status refused", .status = -1, .cc = "max-age=60" },
    { .name = "huge status refused", .status = INT_MAX, .cc = "max-age=60" },

    /* --- Set-Cookie (THREATS 1) --- */
    { .name = "Set-Cookie never stored", .cc = "max-age=60", .set_cookie = 1 },
    { .name = "Set-Cookie never stored even with ForceTTL",
      .ttl = 300,
      .force = 1,
      .set_cookie = 1 },
    { .name = "Set-Cookie never stored even with a targeted field",
      .sc = "max-age=60",
      .set_cookie = 1 },

    /* --- Vary (THREATS 27) --- */
    { .name = "Vary: * never stored", .cc = "max-age=60", .vary = "*" },
    { .name = "Vary: Accept, * never stored",
      .cc = "max-age=60",
      .vary = "Accept, *" },
    /* found by fuzzing: a star after a blank, not a comma */
    { .name = "Vary: Accept-Encoding * never stored",
      .cc = "max-age=60",
      .vary = "Accept-Encoding *" },
    /* found by fuzzing: an unclosed quote hid the private after it */
    { .name = "unclosed quote before private: refused",
      .cc = "max-age=60, x=\"a, private" },
    { .name = "unclosed quote in Surrogate-Control: refused",
      .sc = "max-age=60, x=\"a" },
    { .name = "balanced quotes with an escaped quote are fine",
      .cc = "max-age=60, x=\"a\\\"b\"",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "Vary: Accept,* never stored",
      .cc = "max-age=60",
      .vary = "Accept,*" },
    { .name = "Vary: *, Accept never stored",
      .cc = "max-age=60",
      .vary = "*, Accept" },
    { .name = "Vary with spaces and tabs around * never stored",
      .cc = "max-age=60",
      .vary = "Accept ,\t* \t" },
    { .name = "Vary: * never stored even with ForceTTL",
      .ttl = 300,
      .force = 1,
      .vary = "*" },
    { .name = "Vary: Accept is fine",
      .cc = "max-age=60",
      .vary = "Accept",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "Vary list without * is fine",
      .cc = "max-age=60",
      .vary = "Accept-Encoding, Accept-Language, Cookie",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "Vary header name containing * is not Vary: *",
      .cc = "max-age=60",
      .vary = "X-*",
      .storable = 1,
      .want_ttl = 60 },

    /* --- no-store and private --- */
    { .name = "no-store refused", .cc = "no-store", .ttl = 300 },
    { .name = "no-store refused with max-age", .cc = "max-age=60, no-store" },
    { .name = "No-Store refused whatever its case",
      .cc = "No-Store, max-age=60" },
    { .name = "private refused", .cc = "private, max-age=60" },
    { .name = "qualified private refused (fail safe)",
      .cc = "private=\"Set-Cookie\", max-age=60" },
    { .name = "no-store refused even with ForceTTL",
      .cc = "no-store",
      .ttl = 300,
      .force = 1 },
    { .name = "private refused even with ForceTTL",
      .cc = "private",
      .ttl = 300,
      .force = 1 },
    { .name = "Cache-Control no-store wins over Surrogate-Control",
      .cc = "no-store",
      .sc = "max-age=60" },
    { .name = "Cache-Control private wins over CDN-Cache-Control",
      .cc = "private",
      .cdn = "max-age=60" },
    { .name = "Surrogate-Control no-store refused",
      .cc = "max-age=60",
      .sc = "no-store" },
    { .name = "CDN-Cache-Control private refused",
      .cc = "max-age=60",
      .cdn = "private, max-age=60" },
    { .name = "no-store inside a quoted value is not a directive",
      .cc = "foo=\"a, no-store, private\", max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "escaped quote inside a quoted value",
      .cc = "foo=\"a\\\", private\", max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "no-storex is not no-store",
      .cc = "no-storex, max-age=60",
      .storable = 1,
      .want_ttl = 60 },

    /* --- no-cache: we never revalidate --- */
    { .name = "no-cache refused", .cc = "no-cache, max-age=60" },
    { .name = "qualified no-cache refused",
      .cc = "no-cache=\"Set-Cookie\", max-age=60" },
    { .name = "NO-CACHE refused with a configured TTL",
      .cc = "NO-CACHE",
      .ttl = 300 },
    { .name = "no-cache refused even with ForceTTL",
      .cc = "no-cache",
      .ttl = 300,
      .force = 1 },
    { .name = "a targeted field replaces Cache-Control no-cache",
      .cc = "no-cache",
      .sc = "max-age=60",
      .storable = 1,
      .want_ttl = 60 },

    /* --- which freshness wins --- */
    { .name = "s-maxage beats max-age",
      .cc = "max-age=10, s-maxage=100",
      .storable = 1,
      .want_ttl = 100,
      .no_stale = 1 },
    { .name = "s-maxage beats max-age in either order",
      .cc = "s-maxage=100, max-age=10",
      .storable = 1,
      .want_ttl = 100,
      .no_stale = 1 },
    { .name = "s-maxage=0 beats max-age", .cc = "s-maxage=0, max-age=100" },
    { .name = "Surrogate-Control max-age beats Cache-Control",
      .cc = "max-age=10, s-maxage=20",
      .sc = "max-age=300",
      .storable = 1,
      .want_ttl = 300,
      .no_stale = 1 },
    { .name = "CDN-Cache-Control max-age beats Cache-Control",
      .cc = "max-age=10",
      .cdn = "max-age=200",
      .storable = 1,
      .want_ttl = 200 },
    { .name = "Surrogate-Control is used before CDN-Cache-Control",
      .sc = "max-age=50",
      .cdn = "max-age=70",
      .storable = 1,
      .want_ttl = 50 },
    { .name = "targeted max-age=0 wins over Cache-Control",
      .cc = "max-age=60",
      .sc = "max-age=0" },
    { .name = "targeted field without max-age: Cache-Control freshness",
      .cc = "max-age=60",
      .sc = "must-revalidate",
      .storable = 1,
      .want_ttl = 60,
      .no_stale = 1 },
    { .name = "targeted Max-Age is case-insensitive",
      .sc = "Max-Age=30",
      .storable = 1,
      .want_ttl = 30 },

    /* --- Expires --- */
    { .name = "Expires minus Date",
      .expires = D_P120,
      .date = D_NOW,
      .storable = 1,
      .want_ttl = 120 },
    { .name = "Expires minus Date, not minus now",
      .expires = D_P200,
      .date = D_M100,
      .storable = 1,
      .want_ttl = 300 },
    { .name = "Expires without Date counts from now",
      .expires = D_P120,
      .storable = 1,
      .want_ttl = 120 },
    { .name = "Expires with an invalid Date counts from now",
      .expires = D_P120,
      .date = "yesterday",
      .storable = 1,
      .want_ttl = 120 },
    { .name = "Expires in asctime format",
      .expires = "Tue Nov 14 22:15:20 2023",
      .date = D_NOW,
      .storable = 1,
      .want_ttl = 120 },
    { .name = "Expires in the past: not stored",
      .expires = D_M3600,
      .date = D_NOW },
    { .name = "Expires equal to Date: not stored",
      .expires = D_NOW,
      .date = D_NOW },
    { .name = "invalid Expires means expired", .expires = "0", .date = D_NOW },
    { .name = "invalid Expires means expired, not SharedCacheTTL",
      .expires = "garbage",
      .date = D_NOW,
      .ttl = 300 },
    { .name = "ForceTTL overrides an invalid Expires",
      .expires = "garbage",
      .ttl = 300,
      .force = 1,
      .storable = 1,
      .want_ttl = 300 },
    /* Only the three HTTP-date formats (RFC 9110 5.6.7); anything else
     * in Expires means already expired (RFC 9111 5.3), in Date that there
     * is none. */
    { .name = "Expires in RFC 850 format",
      .expires = "Tuesday, 14-Nov-23 22:15:20 GMT",
      .date = D_NOW,
      .storable = 1,
      .want_ttl = 120 },
    { .name = "Expires in UTC is invalid: expired",
      .expires = "Tue, 14 Nov 2023 22:15:20 UTC",
      .date = D_NOW,
      .ttl = 300 },
    { .name = "Expires in AEST is invalid: expired",
      .expires = "Tue, 14 Nov 2023 22:15:20 AEST",
      .date = D_NOW,
      .ttl = 300 },
    { .name = "Expires without its comma is invalid: expired",
      .expires = "Tue 14 Nov 2023 22:15:20 GMT",
      .date = D_NOW,
      .ttl = 300 },
    { .name = "Expires with a one-digit hour is invalid: expired",
      .expires = "Tue, 14 Nov 2023 2:15:20 GMT",
      .date = D_NOW,
      .ttl = 300 },
    { .name = "Expires with a lower-case month and zone: read as meant",
      .expires = "tue, 14 nov 2023 22:15:20 gmt",
      .date = D_NOW,
      .storable = 1,
      .want_ttl = 120 },
    { .name = "Expires with two spaces is invalid: expired",
      .expires = "Tue,  14 Nov 2023 22:15:20 GMT",
      .date = D_NOW,
      .ttl = 300 },
    { .name = "Expires with a two-digit year in IMF-fixdate: expired",
      .expires = "Tue, 14 Nov 23 22:15:20 GMT",
      .date = D_NOW,
      .ttl = 300 },
    { .name = "Expires with something after GMT: expired",
      .expires = "Tue, 14 Nov 2023 22:15:20 GMT junk",
      .date = D_NOW,
      .ttl = 300 },
    { .name = "Expires with an impossible day: expired",
      .expires = "Thu, 30 Feb 2023 22:15:20 GMT",
      .ttl = 300 },
    { .name = "a Date in UTC is invalid: Expires counts from now",
      .expires = D_P200,
      .date = "Tue, 14 Nov 2023 22:11:40 UTC",
      .storable = 1,
      .want_ttl = 200 },
    { .name = "a Date without its comma is invalid: from now",
      .expires = D_P200,
      .date = "Tue 14 Nov 2023 22:11:40 GMT",
      .storable = 1,
      .want_ttl = 200 },
    { .name = "max-age beats Expires",
      .cc = "max-age=60",
      .expires = D_P120,
      .date = D_NOW,
      .storable = 1,
      .want_ttl = 60 },
    { .name = "max-age=0 beats Expires",
      .cc = "max-age=0",
      .expires = D_P120,
      .date = D_NOW },
    { .name = "targeted max-age beats Expires",
      .sc = "max-age=30",
      .expires = D_P120,
      .date = D_NOW,
      .storable = 1,
      .want_ttl = 30 },

    /* --- SharedCacheTTL and SharedCacheForceTTL --- */
    { .name = "no freshness and TTL 0: not stored" },
    { .name = "public alone and TTL 0: not stored", .cc = "public" },
    { .name = "SharedCacheTTL when the response gives no freshness",
      .ttl = 300,
      .storable = 1,
      .want_ttl = 300 },
    { .name = "SharedCacheTTL with public",
      .cc = "public",
      .ttl = 300,
      .storable = 1,
      .want_ttl = 300 },
    { .name = "response max-age beats SharedCacheTTL",
      .cc = "max-age=60",
      .ttl = 300,
      .storable = 1,
      .want_ttl = 60 },
    { .name = "response max-age=0 beats SharedCacheTTL",
      .cc = "max-age=0",
      .ttl = 300 },
    { .name = "response Expires beats SharedCacheTTL",
      .expires = D_P120,
      .date = D_NOW,
      .ttl = 300,
      .storable = 1,
      .want_ttl = 120 },
    { .name = "ForceTTL beats a shorter max-age",
      .cc = "max-age=60",
      .ttl = 300,
      .force = 1,
      .storable = 1,
      .want_ttl = 300 },
    { .name = "ForceTTL beats a longer max-age",
      .cc = "max-age=600",
      .ttl = 300,
      .force = 1,
      .storable = 1,
      .want_ttl = 300 },
    { .name = "ForceTTL beats max-age=0",
      .cc = "max-age=0",
      .ttl = 300,
      .force = 1,
      .storable = 1,
      .want_ttl = 300 },
    { .name = "ForceTTL beats s-maxage and targeted max-age",
      .cc = "s-maxage=10",
      .sc = "max-age=20",
      .ttl = 300,
      .force = 1,
      .storable = 1,
      .want_ttl = 300,
      .no_stale = 1 },
    { .name = "ForceTTL beats Expires",
      .expires = D_P120,
      .date = D_NOW,
      .ttl = 300,
      .force = 1,
      .storable = 1,
      .want_ttl = 300 },
    { .name = "ForceTTL with TTL 0 keeps the response's freshness",
      .cc = "max-age=60",
      .force = 1,
      .storable = 1,
      .want_ttl = 60 },
    { .name = "ForceTTL with TTL 0 and no freshness: not stored", .force = 1 },

    /* --- SharedCacheMaxTTL --- */
    { .name = "MaxTTL default caps max-age",
      .cc = "max-age=100000",
      .storable = 1,
      .want_ttl = DAY },
    { .name = "MaxTTL caps max-age",
      .cc = "max-age=60",
      .max = 50,
      .storable = 1,
      .want_ttl = 50 },
    { .name = "MaxTTL caps ForceTTL",
      .ttl = 300,
      .force = 1,
      .max = 100,
      .storable = 1,
      .want_ttl = 100 },
    { .name = "MaxTTL caps SharedCacheTTL",
      .ttl = 300,
      .max = 100,
      .storable = 1,
      .want_ttl = 100 },
    { .name = "MaxTTL caps targeted max-age",
      .sc = "max-age=100000",
      .storable = 1,
      .want_ttl = DAY },
    { .name = "MaxTTL caps Expires",
      .expires = D_P200,
      .date = D_NOW,
      .max = 100,
      .storable = 1,
      .want_ttl = 100 },
    { .name = "huge max-age saturates, then MaxTTL caps",
      .cc = "max-age=99999999999999999999",
      .storable = 1,
      .want_ttl = DAY },
    { .name = "huge max-age saturates at 2^31",
      .cc = "max-age=99999999999999999999",
      .max = (apr_int64_t)1 << 40,
      .storable = 1,
      .want_ttl = (apr_int64_t)1 << 31 },
    { .name = "a TTL over 30 days survives",
      .cc = "max-age=3000000",
      .max = 4000000,
      .storable = 1,
      .want_ttl = 3000000 },

    /* --- Age --- */
    { .name = "Age subtracts from max-age",
      .cc = "max-age=60",
      .age = "20",
      .storable = 1,
      .want_ttl = 40 },
    { .name = "Age subtracts from s-maxage",
      .cc = "s-maxage=100",
      .age = "20",
      .storable = 1,
      .want_ttl = 80,
      .no_stale = 1 },
    { .name = "Age subtracts after MaxTTL caps",
      .cc = "max-age=60",
      .max = 50,
      .age = "20",
      .storable = 1,
      .want_ttl = 30 },
    { .name = "Age equal to max-age: not stored",
      .cc = "max-age=60",
      .age = "60" },
    { .name = "Age above max-age: not stored",
      .cc = "max-age=60",
      .age = "100" },
    { .name = "invalid Age is ignored",
      .cc = "max-age=60",
      .age = "abc",
      .storable = 1,
      .want_ttl = 60 },
    /* RFC 9111 5.1: a list is read as its first member; an invalid
     * value is ignored. */
    { .name = "Age list: the first member counts",
      .cc = "max-age=3600",
      .age = "7200, 0" },
    { .name = "Age list: the first member subtracts",
      .cc = "max-age=60",
      .age = "20, 0",
      .storable = 1,
      .want_ttl = 40 },
    { .name = "Age list: an empty first element is no member",
      .cc = "max-age=60",
      .age = " , 20",
      .storable = 1,
      .want_ttl = 40 },
    { .name = "Age list: an invalid first member is ignored",
      .cc = "max-age=60",
      .age = "abc, 20",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "Age with blanks around it",
      .cc = "max-age=60",
      .age = " 20 ",
      .storable = 1,
      .want_ttl = 40 },
    { .name = "quoted Age is invalid: ignored",
      .cc = "max-age=60",
      .age = "\"20\"",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "negative Age is invalid: ignored",
      .cc = "max-age=60",
      .age = "-20",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "Age with a unit is invalid: ignored",
      .cc = "max-age=60",
      .age = "20s",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "huge Age: not stored",
      .cc = "max-age=60",
      .age = "99999999999999999999" },

    /* --- stale rules (THREATS 26) --- */
    { .name = "must-revalidate sets no_stale",
      .cc = "max-age=60, must-revalidate",
      .storable = 1,
      .want_ttl = 60,
      .no_stale = 1 },
    { .name = "Must-Revalidate sets no_stale whatever its case",
      .cc = "max-age=60, Must-Revalidate",
      .storable = 1,
      .want_ttl = 60,
      .no_stale = 1 },
    { .name = "proxy-revalidate sets no_stale",
      .cc = "max-age=60, proxy-revalidate",
      .storable = 1,
      .want_ttl = 60,
      .no_stale = 1 },
    { .name = "s-maxage sets no_stale",
      .cc = "s-maxage=60",
      .storable = 1,
      .want_ttl = 60,
      .no_stale = 1 },
    { .name = "targeted must-revalidate sets no_stale",
      .sc = "max-age=60, must-revalidate",
      .storable = 1,
      .want_ttl = 60,
      .no_stale = 1 },
    { .name = "max-age alone allows stale",
      .cc = "max-age=60, public",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "stale-while-revalidate and stale-if-error parsed",
      .cc = "max-age=60, stale-while-revalidate=30, stale-if-error=600",
      .storable = 1,
      .want_ttl = 60,
      .stale = 1,
      .swr = 30,
      .sie = 600 },
    { .name = "quoted stale-while-revalidate",
      .cc = "max-age=60, stale-while-revalidate=\"30\"",
      .storable = 1,
      .want_ttl = 60,
      .stale = 1,
      .swr = 30,
      .sie = -1 },
    { .name = "stale-if-error without a value is 0",
      .cc = "max-age=60, stale-if-error",
      .storable = 1,
      .want_ttl = 60,
      .stale = 1,
      .swr = -1,
      .sie = 0 },
    { .name = "targeted stale directives replace Cache-Control's",
      .cc = "stale-if-error=99, stale-while-revalidate=7",
      .sc = "max-age=60, stale-if-error=5",
      .storable = 1,
      .want_ttl = 60,
      .stale = 1,
      .swr = -1,
      .sie = 5 },
    { .name = "stale directives with SharedCacheTTL",
      .cc = "stale-while-revalidate=10",
      .ttl = 300,
      .storable = 1,
      .want_ttl = 300,
      .stale = 1,
      .swr = 10,
      .sie = -1 },

    /* --- spelling: spaces, case, quotes, several directives --- */
    { .name = "Max-Age = 60 with spaces around =",
      .cc = "Max-Age = 60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "MAX-AGE upper case",
      .cc = "MAX-AGE=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "quoted max-age",
      .cc = "max-age=\"60\"",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "leading zeros",
      .cc = "max-age=0060",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "spaces around the list and commas",
      .cc = "  max-age=60  ,  public  ",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "no space after the comma",
      .cc = "public,max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "empty list elements",
      .cc = ",, public ,,max-age=60,,",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "tabs around directives",
      .cc = "\tmax-age=60\t,\tpublic",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "several directives",
      .cc = "public, max-age=60, must-revalidate, stale-if-error=10",
      .storable = 1,
      .want_ttl = 60,
      .no_stale = 1,
      .stale = 1,
      .swr = -1,
      .sie = 10 },
    { .name = "joined field lines",
      .cc = "public, max-age=60, s-maxage=90",
      .storable = 1,
      .want_ttl = 90,
      .no_stale = 1 },
    { .name = "names that only contain max-age do not count",
      .cc = "xmax-age=5, max-age-x=7, s-max-age=9, max-age=60",
      .storable = 1,
      .want_ttl = 60 },
    { .name = "maxage is not max-age", .cc = "maxage=60" },
    { .name = "non-numeric max-age is stale", .cc = "max-age=abc", .ttl = 300 },
    { .name = "negative max-age is stale", .cc = "max-age=-5", .ttl = 300 },
    { .name = "empty max-age is stale", .cc = "max-age=", .ttl = 300 },
    { .name = "max-age without value is stale", .cc = "max-age", .ttl = 300 },
    { .name = "max-age with an inner space is stale",
      .cc = "max-age=6 0",
      .ttl = 300 },
    { .name = "unterminated quoted max-age is stale",
      .cc = "max-age=\"60",
      .ttl = 300 },
};
/* clang-format on */

static void test_policy_table(void **state)
{
    unsigned int i, failed = 0;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const pcase_t *c = &cases[i];
        sc_policy_in_t in;
        sc_policy_out_t out;
        int rv;

        memset(&in, 0, sizeof(in));
        in.status = c->status ? c->status : 200;
        in.cache_control = c->cc;
        in.surrogate_control = c->sc;
        in.cdn_cache_control = c->cdn;
        in.expires = c->expires;
        in.date = c->date;
        in.age = c->age;
        in.vary = c->vary;
        in.has_set_cookie = c->set_cookie;
        in.now = NOW;
        in.default_ttl = c->ttl;
        in.force_ttl = c->force;
        in.max_ttl = c->max ? c->max : DAY;
        in.statuses = default_statuses;

        memset(&out, 0xa5, sizeof(out));
        rv = sc_policy_decide(&in, &out);
        if (rv != out.storable || out.storable != c->storable || !out.reason) {
            print_error("case %u \"%s\": storable %d (returned %d, %s), "
                        "want %d\n",
                        i, c->name, out.storable, rv,
                        out.reason ? out.reason : "no reason", c->storable);
            failed++;
            continue;
        }
        if (!c->storable) {
            continue;
        }
        if (out.ttl != c->want_ttl || out.no_stale != c->no_stale
            || out.stale_while_revalidate != (c->stale ? c->swr : -1)
            || out.stale_if_error != (c->stale ? c->sie : -1)) {
            print_error("case %u \"%s\": ttl %" APR_INT64_T_FMT
                        " no_stale %d swr %" APR_INT64_T_FMT
                        " sie %" APR_INT64_T_FMT ", want ttl %" APR_INT64_T_FMT
                        " no_stale %d swr %" APR_INT64_T_FMT
                        " sie %" APR_INT64_T_FMT "\n",
                        i, c->name, out.ttl, out.no_stale,
                        out.stale_while_revalidate, out.stale_if_error,
                        c->want_ttl, c->no_stale, c->stale ? c->swr : -1,
                        c->stale ? c->sie : -1);
            failed++;
        }
    }
    if (failed) {
        fail_msg("%u of %u policy cases failed", failed,
                 (unsigned int)(sizeof(cases) / sizeof(cases[0])));
    }
}

static sc_policy_in_t base_in(void)
{
    sc_policy_in_t in;

    memset(&in, 0, sizeof(in));
    in.status = 200;
    in.now = NOW;
    in.max_ttl = DAY;
    in.statuses = default_statuses;
    return in;
}

static void test_policy_statuses_come_from_the_configuration(void **state)
{
    unsigned char only[SC_MAX_STATUS + 1];
    sc_policy_in_t in = base_in();
    sc_policy_out_t out;

    (void)state;
    memset(only, 0, sizeof(only));
    only[200] = only[302] = 1;
    in.statuses = only;
    in.cache_control = "max-age=60";
    assert_true(sc_policy_decide(&in, &out));
    in.status = 302;
    assert_true(sc_policy_decide(&in, &out));
    in.status = 404;
    assert_false(sc_policy_decide(&in, &out));
    in.status = 599;
    only[599] = 1;
    assert_true(sc_policy_decide(&in, &out));
}

static void test_policy_reports_the_age_it_arrived_with(void **state)
{
    sc_policy_in_t in = base_in();
    sc_policy_out_t out;

    (void)state;
    in.cache_control = "max-age=60";
    in.age = "20";
    assert_true(sc_policy_decide(&in, &out));
    assert_true(out.age == 20);
    in.age = NULL;
    assert_true(sc_policy_decide(&in, &out));
    assert_true(out.age == 0);
}

/* A field aimed at this cache that says no-cache must stop it, as the
 * same directive in Cache-Control does. */
static void test_policy_targeted_no_cache_refuses(void **state)
{
    static const struct {
        const char *cc, *sc, *cdn;
        apr_int64_t ttl;
    } rows[] = {
        { "max-age=60", "no-cache", NULL, 0 },
        { NULL, "no-cache, max-age=60", NULL, 0 },
        { NULL, NULL, "no-cache", 300 },
        /* either targeted field refusing is enough */
        { NULL, "max-age=60", "no-store", 0 },
        { NULL, "max-age=60", "private", 0 },
    };
    int i;

    (void)state;
    for (i = 0; i < 5; i++) {
        sc_policy_in_t in = base_in();
        sc_policy_out_t out;

        in.cache_control = rows[i].cc;
        in.surrogate_control = rows[i].sc;
        in.cdn_cache_control = rows[i].cdn;
        in.default_ttl = rows[i].ttl;
        assert_false(sc_policy_decide(&in, &out));
    }
}

/* What the handler said made the response personal refuses it, whatever
 * its final fields say; the final fields' own reason comes first. */
static void test_policy_handler_personal_refuses(void **state)
{
    sc_policy_in_t in = base_in();
    sc_policy_out_t out;

    (void)state;
    in.cache_control = "public, max-age=600";
    assert_true(sc_policy_decide(&in, &out));
    in.handler_personal = "private";
    assert_false(sc_policy_decide(&in, &out));
    assert_string_equal(out.detail, "private");
    assert_non_null(sc_policy_personal(&in, NULL));
    in.has_set_cookie = 1;
    assert_false(sc_policy_decide(&in, &out));
    assert_string_equal(out.detail, "set-cookie");
}

/* ---- statuses without heuristic freshness ------------------------------- */

static void test_redirects_need_freshness_of_their_own(void **state)
{
    sc_policy_in_t in;
    sc_policy_out_t out;
    int codes[] = { 302, 303, 307 };
    unsigned int i;

    (void)state;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        memset(&in, 0, sizeof(in));
        in.status = codes[i];
        in.now = 1000000;
        in.default_ttl = 600;
        in.max_ttl = 86400;
        in.statuses = default_statuses;
        assert_false(sc_policy_decide(&in, &out));
        in.force_ttl = 1;
        assert_false(sc_policy_decide(&in, &out));
        in.cache_control = "max-age=60";
        assert_true(sc_policy_decide(&in, &out));
        assert_int_equal(out.ttl, 60);
    }
    memset(&in, 0, sizeof(in));
    in.status = 301;
    in.now = 1000000;
    in.default_ttl = 600;
    in.max_ttl = 86400;
    in.statuses = default_statuses;
    assert_true(sc_policy_decide(&in, &out));
    assert_int_equal(out.ttl, 600);
}

/* ---- sc_policy_qualified_fields ----------------------------------------- */

static void test_qualified_fields(void **state)
{
    apr_pool_t *p;
    apr_array_header_t *f;

    (void)state;
    apr_pool_create(&p, NULL);
    f = sc_policy_qualified_fields(p,
                                   "max-age=60, no-cache=\"X-User, "
                                   "Set-Cookie\", public",
                                   "no-cache");
    assert_int_equal(f->nelts, 2);
    assert_string_equal(APR_ARRAY_IDX(f, 0, const char *), "x-user");
    assert_string_equal(APR_ARRAY_IDX(f, 1, const char *), "set-cookie");
    f = sc_policy_qualified_fields(p, "no-cache=X-A,no-cache", "no-cache");
    assert_int_equal(f->nelts, 1);
    assert_string_equal(APR_ARRAY_IDX(f, 0, const char *), "x-a");
    /* a quoted string of another directive is not looked into */
    f = sc_policy_qualified_fields(p, "ext=\"no-cache=X-B, y\", no-cache",
                                   "no-cache");
    assert_int_equal(f->nelts, 0);
    f = sc_policy_qualified_fields(p, NULL, "no-cache");
    assert_int_equal(f->nelts, 0);
    /* what cannot be read plainly is NULL: not stored */
    assert_null(
        sc_policy_qualified_fields(p, "no-cache=\"unclosed", "no-cache"));
    assert_null(
        sc_policy_qualified_fields(p, "no-cache=\"X-\\User\"", "no-cache"));
    assert_null(
        sc_policy_qualified_fields(p, "no-cache=X-Other X-User", "no-cache"));
    apr_pool_destroy(p);
}

/* ---- sc_policy_directive ------------------------------------------------ */

static void test_directive_absent_is_minus_one(void **state)
{
    int has = 7;

    (void)state;
    assert_true(sc_policy_directive("public, max-age=5", "s-maxage", &has)
                == -1);
    assert_int_equal(has, 0);
    assert_true(sc_policy_directive(NULL, "max-age", &has) == -1);
    assert_int_equal(has, 0);
    assert_true(sc_policy_directive("", "max-age", NULL) == -1);
}

static void test_directive_without_value_is_zero_and_present(void **state)
{
    int has = 0;

    (void)state;
    assert_true(sc_policy_directive("no-store", "no-store", &has) == 0);
    assert_int_equal(has, 1);
    has = 0;
    assert_true(sc_policy_directive("private=\"Set-Cookie\"", "private", &has)
                == 0);
    assert_int_equal(has, 1);
    has = 0;
    assert_true(sc_policy_directive("max-age=abc", "max-age", &has) == 0);
    assert_int_equal(has, 1);
}

static void test_directive_value_parsed_case_insensitively(void **state)
{
    int has = 0;

    (void)state;
    assert_true(sc_policy_directive("a, Max-Age = 60 ,b", "max-age", &has)
                == 60);
    assert_int_equal(has, 1);
    assert_true(sc_policy_directive("S-MAXAGE=\"7\"", "s-maxage", NULL) == 7);
    assert_true(
        sc_policy_directive("x=\"max-age=1\", max-age=2", "max-age", NULL)
        == 2);
}

static void test_directive_value_saturates_at_2_pow_31(void **state)
{
    (void)state;
    assert_true(sc_policy_directive("max-age=2147483647", "max-age", NULL)
                == 2147483647);
    assert_true(sc_policy_directive("max-age=2147483648", "max-age", NULL)
                == 2147483648ll);
    assert_true(sc_policy_directive("max-age=2147483649", "max-age", NULL)
                == 2147483648ll);
    assert_true(sc_policy_directive("max-age=99999999999999999999999999",
                                    "max-age", NULL)
                == 2147483648ll);
}

/* ---- sc_policy_http_date ------------------------------------------------ */

#define SUN_1994 ((apr_int64_t)784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */

static const struct {
    const char *value;
    int valid;
    apr_int64_t t; /* when valid */
} dates[] = {
    /* the three formats of RFC 9110 5.6.7 */
    { "Sun, 06 Nov 1994 08:49:37 GMT", 1, SUN_1994 },
    { "Sunday, 06-Nov-94 08:49:37 GMT", 1, SUN_1994 },
    { "Sun Nov  6 08:49:37 1994", 1, SUN_1994 },
    { "Sun Nov 06 08:49:37 1994", 1, SUN_1994 }, /* 2DIGIT is a day too */
    { D_NOW, 1, NOW },
    { "Thu, 01 Jan 1970 00:00:00 GMT", 1, 0 },
    { "Wed, 31 Dec 1969 23:59:59 GMT", 1, -1 },
    { "Fri, 31 Dec 9999 23:59:59 GMT", 1, 253402300799ll },
    { "Thu, 29 Feb 2024 00:00:00 GMT", 1, 1709164800 },
    { "Tue, 29 Feb 2000 12:00:00 GMT", 1, 951825600 },
    { "Sat, 31 Dec 2016 23:59:60 GMT", 1, 1483228800 }, /* leap second */
    /* blanks around the value are not part of it */
    { "  Sun, 06 Nov 1994 08:49:37 GMT\t ", 1, SUN_1994 },
    /* the day name is not checked against the date */
    { "Mon, 06 Nov 1994 08:49:37 GMT", 1, SUN_1994 },
    /* RFC 850's year: at most 50 years after now's (2023) */
    { "Sunday, 01-Jan-73 00:00:00 GMT", 1, 3250454400ll },
    { "Tuesday, 01-Jan-74 00:00:00 GMT", 1, 126230400 },
    /* anything else */
    { "", 0, 0 },
    { "0", 0, 0 },
    { "-1", 0, 0 },
    { "yesterday", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 UTC", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 AEST", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 gmt", 1, 784111777 }, /* any case */
    { "Sun, 06 Nov 1994 08:49:37 +0000", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 GMT junk", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 GMTX", 0, 0 },
    { "Sun 06 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun,06 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun,  06 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 06  Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 6 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 06 nov 1994 08:49:37 GMT", 1, 784111777 }, /* any case */
    { "Sun, 06 NOV 1994 08:49:37 GMT", 1, 784111777 }, /* any case */
    { "sun, 06 Nov 1994 08:49:37 GMT", 1, 784111777 }, /* any case */
    { "Sunday, 06 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 06 November 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 94 08:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 01994 08:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 8:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08:49 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 24:00:00 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08:60:00 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:61 GMT", 0, 0 },
    { "Sun, 00 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 31 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Wed, 29 Feb 2023 08:49:37 GMT", 0, 0 },
    { "Thu, 29 Feb 1900 08:49:37 GMT", 0, 0 },
    { "Sun, 06-Nov-94 08:49:37 GMT", 0, 0 },
    { "Sunday, 06-Nov-1994 08:49:37 GMT", 0, 0 },
    { "Sunday, 6-Nov-94 08:49:37 GMT", 0, 0 },
    { "Sunday, 06-Nov-94 08:49:37 UTC", 0, 0 },
    { "Sun Nov 6 08:49:37 1994", 0, 0 },
    { "Sun Nov  6 08:49:37 94", 0, 0 },
    { "Sun Nov  6 08:49:37 1994 GMT", 0, 0 },
    { "Sun, Nov  6 08:49:37 1994", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 G", 0, 0 },
    { "Sun, 06 Nov 19", 0, 0 },
    { "Sun", 0, 0 },
};

static void test_http_date_table(void **state)
{
    unsigned int i, failed = 0;

    (void)state;
    for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        apr_int64_t t = -12345;
        int valid = sc_policy_http_date(dates[i].value, NOW, &t);

        if (valid != dates[i].valid || (valid && t != dates[i].t)) {
            print_error("\"%s\": valid %d t %" APR_INT64_T_FMT
                        ", want valid %d t %" APR_INT64_T_FMT "\n",
                        dates[i].value, valid, t, dates[i].valid, dates[i].t);
            failed++;
        }
    }
    assert_false(sc_policy_http_date(NULL, NOW, NULL));
    if (failed) {
        fail_msg("%u of %u dates failed", failed,
                 (unsigned int)(sizeof(dates) / sizeof(dates[0])));
    }
}

/* ---- sc_policy_exptime -------------------------------------------------- */

static void test_exptime_not_positive_is_negative(void **state)
{
    (void)state;
    assert_true(sc_policy_exptime(0, NOW) < 0);
    assert_true(sc_policy_exptime(-1, NOW) < 0);
    assert_true(sc_policy_exptime(-DAYS30 - 1, NOW) < 0);
}

static void test_exptime_up_to_30_days_is_relative(void **state)
{
    (void)state;
    assert_true(sc_policy_exptime(1, NOW) == 1);
    assert_true(sc_policy_exptime(300, NOW) == 300);
    assert_true(sc_policy_exptime(DAYS30, NOW) == DAYS30);
    assert_int_equal(SC_MEMCACHED_RELATIVE_MAX, DAYS30);
}

static void test_exptime_over_30_days_is_absolute(void **state)
{
    (void)state;
    assert_true(sc_policy_exptime(DAYS30 + 1, NOW) == NOW + DAYS30 + 1);
    assert_true(sc_policy_exptime(365 * DAY, NOW) == NOW + 365 * DAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_policy_table),
        UNIT_TEST(test_policy_statuses_come_from_the_configuration),
        UNIT_TEST(test_policy_reports_the_age_it_arrived_with),
        UNIT_TEST(test_policy_targeted_no_cache_refuses),
        UNIT_TEST(test_policy_handler_personal_refuses),
        UNIT_TEST(test_qualified_fields),
        UNIT_TEST(test_redirects_need_freshness_of_their_own),
        UNIT_TEST(test_directive_absent_is_minus_one),
        UNIT_TEST(test_directive_without_value_is_zero_and_present),
        UNIT_TEST(test_directive_value_parsed_case_insensitively),
        UNIT_TEST(test_directive_value_saturates_at_2_pow_31),
        UNIT_TEST(test_http_date_table),
        UNIT_TEST(test_exptime_not_positive_is_negative),
        UNIT_TEST(test_exptime_up_to_30_days_is_relative),
        UNIT_TEST(test_exptime_over_30_days_is_absolute),
    };

    init_statuses();
    return UNIT_RUN(tests);
}

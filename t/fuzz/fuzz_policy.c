/*
 * fuzz_policy.c: libFuzzer target for the header-value parsers of
 * src/sc_policy.c (sc_policy_decide, sc_policy_directive,
 * sc_policy_vary_names, sc_policy_http_date; THREATS.md 29).
 *
 * Input: a 12-byte head, then NUL-separated header values:
 *   head:   status(2) flags(1) nulls(1) default_ttl(4) max_ttl(4)
 *           flags: 1 Set-Cookie, 2 SharedCacheForceTTL,
 *                  4 every status storable (else the default list)
 *           nulls: bit i set = field i absent (NULL)
 *   fields: Cache-Control, Surrogate-Control, CDN-Cache-Control,
 *           Expires, Date, Age, Vary, a directive name
 * A short input is padded with zero bytes.
 *
 * Two checks are about fail-safe reading of malformed values and can be
 * turned off to fuzz past a known finding (FUZZ_DEFS, t/fuzz/README.md):
 * -DFUZZ_LENIENT_VARY (a Vary member "*" not after a comma) and
 * -DFUZZ_LENIENT_QUOTES (a refusing directive after an unterminated
 * quoted-string).
 */
#include "fuzz.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <strings.h>

#include "sc_policy.h"

#define HEAD_LEN 12
#define NFIELDS 8
#define DELTA_MAX ((apr_int64_t)1 << 31)
#define NOW ((apr_int64_t)1700000000)

enum { F_CC, F_SURR, F_CDN, F_EXPIRES, F_DATE, F_AGE, F_VARY, F_NAME };

static const char *const known[] = { "max-age",
                                     "s-maxage",
                                     "no-store",
                                     "no-cache",
                                     "private",
                                     "public",
                                     "must-revalidate",
                                     "proxy-revalidate",
                                     "stale-while-revalidate",
                                     "stale-if-error",
                                     NULL };

/* An HTTP-date accepted is a time of the years 0000-9999, and from 1970
 * on it reads back the same once written as IMF-fixdate. */
static void check_http_date(const char *value)
{
    char again[APR_RFC822_DATE_LEN];
    apr_int64_t t, u;

    if (!sc_policy_http_date(value, NOW, &t)) {
        return;
    }
    FUZZ_CHECK(t >= -62167219200ll && t <= 253402300800ll);
    if (t >= 0 && t < 253402300800ll) {
        FUZZ_CHECK(apr_rfc822_date(again, apr_time_from_sec(t)) == APR_SUCCESS);
        FUZZ_CHECK(sc_policy_http_date(again, NOW, &u) && u == t);
    }
}

/* A name the metamorphic checks below hold for: a token with no list
 * syntax in it. */
static int plain_name(const char *name)
{
    const char *s;

    if (!*name) {
        return 0;
    }
    for (s = name; *s; s++) {
        if (*s == ',' || *s == '"' || *s == '=' || *s == ' ' || *s == '\t'
            || *s == '\\') {
            return 0;
        }
    }
    return strcasecmp(name, "x-fuzz-end") != 0;
}

static apr_int64_t directive(const char *list, const char *name, int *has)
{
    char *l = list ? fuzz_strdup(list) : NULL;
    char *n = fuzz_strdup(name);
    apr_int64_t v = sc_policy_directive(l, n, has);

    free(l);
    free(n);
    return v;
}

static apr_int64_t directive_wrapped(const char *pre, const char *list,
                                     const char *post, const char *name)
{
    size_t a = strlen(pre), b = strlen(list), c = strlen(post);
    char *l = malloc(a + b + c + 1);
    apr_int64_t v;

    if (!l) {
        abort();
    }
    memcpy(l, pre, a);
    memcpy(l + a, list, b);
    memcpy(l + a + b, post, c + 1);
    v = sc_policy_directive(l, name, NULL);
    free(l);
    return v;
}

static void check_directive(const char *list, const char *name)
{
    int has = -1;
    apr_int64_t v = directive(list, name, &has);

    FUZZ_CHECK(v >= -1 && v <= DELTA_MAX);
    FUZZ_CHECK(has == 0 || has == 1);
    FUZZ_CHECK((v == -1) == !has);
    FUZZ_CHECK(directive(list, name, NULL) == v);
    if (list && plain_name(name)) {
        char *upper = fuzz_strdup(name);
        char *s;

        for (s = upper; *s; s++) {
            *s = (char)apr_toupper(*s);
        }
        FUZZ_CHECK(directive(list, upper, NULL) == v);
        free(upper);
        /* Blanks and empty members around the list change nothing, and
         * neither does one more directive at its end. */
        FUZZ_CHECK(directive_wrapped(" ,\t, ", list, "", name) == v);
        FUZZ_CHECK(directive_wrapped("", list, " , x-fuzz-end=1", name) == v);
    }
}

static void check_vary(apr_pool_t *p, const char *vary)
{
    char *copy = vary ? fuzz_strdup(vary) : NULL;
    apr_array_header_t *names = sc_policy_vary_names(p, copy);
    int i;

    free(copy);
    if (!names) {
        return;
    }
    FUZZ_CHECK(names->nelts >= 1);
    for (i = 0; i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        const char *s;

        FUZZ_CHECK(*n && strcmp(n, "*") != 0);
        for (s = n; *s; s++) {
            FUZZ_CHECK(*s != ',' && *s != ' ' && *s != '\t');
            FUZZ_CHECK(!(*s >= 'A' && *s <= 'Z'));
        }
        if (i > 0) {
            FUZZ_CHECK(strcmp(APR_ARRAY_IDX(names, i - 1, const char *), n)
                       < 0);
        }
    }
    /* The names, listed again, give the same names. */
    {
        const char *joined = apr_array_pstrcat(p, names, ',');
        apr_array_header_t *again = sc_policy_vary_names(p, joined);

        FUZZ_CHECK(again && again->nelts == names->nelts);
        for (i = 0; i < names->nelts; i++) {
            FUZZ_CHECK(strcmp(APR_ARRAY_IDX(names, i, const char *),
                              APR_ARRAY_IDX(again, i, const char *))
                       == 0);
        }
    }
}

/* True when a Vary value lists "*" as one of its members, reading the
 * list as sc_policy_vary_names() does. */
static int lists_star(apr_pool_t *p, const char *vary)
{
    char *copy, *tok, *last;

    if (!vary) {
        return 0;
    }
    copy = apr_pstrdup(p, vary);
    for (tok = apr_strtok(copy, ", \t", &last); tok;
         tok = apr_strtok(NULL, ", \t", &last)) {
        if (strcmp(tok, "*") == 0) {
            return 1;
        }
    }
    return 0;
}

/* True when a list ends inside a quoted-string (a '"' opens one anywhere
 * outside another, a backslash escapes the next byte inside one). */
static int unterminated(const char *list)
{
    int in = 0;

    for (; list && *list; list++) {
        if (!in) {
            in = *list == '"';
        }
        else if (*list == '\\' && list[1]) {
            list++;
        }
        else if (*list == '"') {
            in = 0;
        }
    }
    return in;
}

/* Directive name as a member of a list split at every comma, quotes or
 * not: what a cache that ignores quoted-strings reads. */
static int naive_has(const char *list, const char *name)
{
    size_t nlen = strlen(name);

    while (list && *list) {
        const char *end = strchr(list, ',');
        const char *stop = end ? end : list + strlen(list);
        const char *eq = memchr(list, '=', (size_t)(stop - list));
        const char *ke = eq ? eq : stop;

        while (list < ke && (*list == ' ' || *list == '\t')) {
            list++;
        }
        while (ke > list && (ke[-1] == ' ' || ke[-1] == '\t')) {
            ke--;
        }
        if ((size_t)(ke - list) == nlen && !strncasecmp(list, name, nlen)) {
            return 1;
        }
        list = end ? end + 1 : stop;
    }
    return 0;
}

/* A malformed list (an unterminated quoted-string) that names a refusing
 * directive as a member of its own must not let a response be stored:
 * failing safe (DESIGN.md 4) beats trusting where the quote ends. */
static int malformed_refusal(const char *list, int targeted)
{
    return unterminated(list)
           && (naive_has(list, "private") || naive_has(list, "no-store")
               || (targeted && naive_has(list, "no-cache")));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int default_statuses[] = { 200, 203, 204, 206, 300, 301,
                                            404, 405, 410, 414, 501 };
    uint8_t head[HEAD_LEN] = { 0 };
    unsigned char statuses[SC_MAX_STATUS + 1];
    char *f[NFIELDS];
    sc_policy_in_t in;
    sc_policy_out_t out;
    apr_pool_t *p;
    int i, r;

    memcpy(head, data, size < HEAD_LEN ? size : HEAD_LEN);
    if (size > HEAD_LEN) {
        fuzz_split(data + HEAD_LEN, size - HEAD_LEN, f, NFIELDS);
    }
    else {
        memset(f, 0, sizeof(f));
    }
    for (i = 0; i < NFIELDS - 1; i++) {
        if (head[3] & (1u << i)) {
            free(f[i]);
            f[i] = NULL;
        }
    }
    p = fuzz_pool();

    memset(statuses, 0, sizeof(statuses));
    if (head[2] & 4) {
        memset(statuses, 1, sizeof(statuses));
    }
    else {
        for (i = 0; i < (int)(sizeof(default_statuses) / sizeof(int)); i++) {
            statuses[default_statuses[i]] = 1;
        }
    }
    memset(&in, 0, sizeof(in));
    in.status = (int)(((unsigned)head[0] << 8 | head[1]) % 700) - 50;
    in.has_set_cookie = head[2] & 1;
    in.force_ttl = (head[2] & 2) != 0;
    in.default_ttl = (apr_int32_t)((apr_uint32_t)head[4] << 24
                                   | (apr_uint32_t)head[5] << 16
                                   | (apr_uint32_t)head[6] << 8 | head[7]);
    in.max_ttl = (apr_int32_t)((apr_uint32_t)head[8] << 24
                               | (apr_uint32_t)head[9] << 16
                               | (apr_uint32_t)head[10] << 8 | head[11]);
    in.now = NOW;
    in.statuses = statuses;
    in.cache_control = f[F_CC];
    in.surrogate_control = f[F_SURR];
    in.cdn_cache_control = f[F_CDN];
    in.expires = f[F_EXPIRES];
    in.date = f[F_DATE];
    in.age = f[F_AGE];
    in.vary = f[F_VARY];

    r = sc_policy_decide(&in, &out);
    FUZZ_CHECK(r == out.storable && (r == 0 || r == 1));
    FUZZ_CHECK(out.reason != NULL);
    if (r) {
        const char *targeted = in.surrogate_control ? in.surrogate_control
                                                    : in.cdn_cache_control;
        int has;

        FUZZ_CHECK(out.ttl > 0 && out.ttl <= in.max_ttl);
        FUZZ_CHECK(out.age >= 0 && out.age <= DELTA_MAX);
        FUZZ_CHECK(out.stale_while_revalidate >= -1
                   && out.stale_while_revalidate <= DELTA_MAX);
        FUZZ_CHECK(out.stale_if_error >= -1 && out.stale_if_error <= DELTA_MAX);
        FUZZ_CHECK(out.no_stale == 0 || out.no_stale == 1);
        FUZZ_CHECK(!in.has_set_cookie);
        FUZZ_CHECK(in.status >= 100 && in.status <= SC_MAX_STATUS
                   && statuses[in.status]);
        sc_policy_directive(in.cache_control, "no-store", &has);
        FUZZ_CHECK(!has);
        sc_policy_directive(in.cache_control, "private", &has);
        FUZZ_CHECK(!has);
        sc_policy_directive(in.surrogate_control, "no-store", &has);
        FUZZ_CHECK(!has);
        sc_policy_directive(in.cdn_cache_control, "private", &has);
        FUZZ_CHECK(!has);
        if (!targeted) {
            sc_policy_directive(in.cache_control, "no-cache", &has);
            FUZZ_CHECK(!has);
        }
#ifndef FUZZ_LENIENT_QUOTES
        FUZZ_CHECK(!malformed_refusal(in.cache_control, 0));
        FUZZ_CHECK(!malformed_refusal(in.surrogate_control, 1));
        FUZZ_CHECK(!malformed_refusal(in.cdn_cache_control, 1));
#endif
#ifndef FUZZ_LENIENT_VARY
        /* A response stored must not list "*" in Vary however the list
         * is split: the variant key drops "*" (see sc_policy.h). */
        FUZZ_CHECK(!lists_star(p, in.vary));
#endif
        {
            apr_int64_t x = sc_policy_exptime(out.ttl, NOW);
            FUZZ_CHECK(out.ttl > SC_MEMCACHED_RELATIVE_MAX ? x == NOW + out.ttl
                                                           : x == out.ttl);
        }
    }
    else {
        FUZZ_CHECK(strcmp(out.reason, "storable") != 0);
    }
    (void)lists_star;
    (void)malformed_refusal;

    for (i = 0; i <= F_VARY; i++) {
        int k;

        if (f[F_NAME]) {
            check_directive(f[i], f[F_NAME]);
        }
        for (k = 0; known[k] && i == F_CC; k++) {
            check_directive(f[i], known[k]);
        }
    }
    check_vary(p, f[F_VARY]);
    check_vary(p, f[F_CC]);
    check_http_date(f[F_EXPIRES]);
    check_http_date(f[F_DATE]);

    apr_pool_destroy(p);
    fuzz_free_fields(f, NFIELDS);
    return 0;
}

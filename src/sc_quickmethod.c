/*
 * sc_quickmethod.c: does an ap_expr condition made only of tests of the
 * request's method (==, =, !=, =~, !~, -in, either side of ==, joined by
 * &&, || and !, in parentheses) hold alike for GET and HEAD, the only
 * methods the quick handler serves (HEAD as a GET)?  Such a condition
 * picks no client the quick phase serves: a refusal of TRACE or POST in
 * an <If> (outside attack rounds 85 and 86).  Each test is worked out for
 * both methods, and the whole for both; any other spelling (a variable
 * beside the method, a string httpd would expand) is not read here, and
 * the start-up check reads it as httpd's parser names what it reads.
 */
#include "sc_conftree.h"

#include "ap_regex.h"
#include <apr_lib.h>
#include <apr_strings.h>

int sc_quick_regex(apr_pool_t *p, const char *re, const char *str, int icase)
{
    /* RegexDefaultOptions may have said otherwise where the regex is: the
     * options that matter for a method or a path are given here */
    ap_regex_t *compiled = ap_pregcomp(
        p, re, AP_REG_NO_DEFAULT | AP_REG_DEFAULT | (icase ? AP_REG_ICASE : 0));

    if (!compiled) {
        return -1;
    }
    return ap_regexec(compiled, str, 0, NULL, 0) == 0;
}

/* What a test gives: a bit for each method it holds for. */
enum { FOR_GET = 1, FOR_HEAD = 2, FOR_BOTH = 3 };

typedef struct {
    apr_pool_t *p;
    const char *s; /* what is left to read */
    int bad;       /* a spelling not read here */
} scan_t;

static void blanks(scan_t *sc)
{
    sc->s += strspn(sc->s, " \t");
}

static int take(scan_t *sc, const char *word)
{
    apr_size_t n = strlen(word);

    blanks(sc);
    if (strncmp(sc->s, word, n)) {
        return 0;
    }
    sc->s += n;
    return 1;
}

static int method_var(scan_t *sc)
{
    static const char var[] = "%{REQUEST_METHOD}";

    blanks(sc);
    if (strncasecmp(sc->s, var, sizeof(var) - 1)) {
        return 0;
    }
    sc->s += sizeof(var) - 1;
    return 1;
}

/* A comparison's operator; "in" and "-in" only before a blank or '{'. */
static const char *operator(scan_t *sc)
{
    static const char *const ops[] = { "==", "=~",  "!=", "!~",
                                       "=",  "-in", "in", NULL };
    const char *const *o;

    blanks(sc);
    for (o = ops; *o; o++) {
        apr_size_t n = strlen(*o);
        if (!strncmp(sc->s, *o, n)
            && (apr_isalpha((*o)[n - 1]) ? strchr(" \t{", sc->s[n]) != NULL
                                         : 1)) {
            sc->s += n;
            return *o;
        }
    }
    return NULL;
}

/* For which methods a quoted string equals the method; -1: a string
 * with something httpd expands or unescapes (%{VAR}, $1, \), or none. */
static int equals(scan_t *sc)
{
    const char *start, *end;
    char q;

    blanks(sc);
    q = *sc->s;
    if (q != '\'' && q != '"') {
        return -1;
    }
    start = sc->s + 1;
    end = strchr(start, q);
    if (!end || strcspn(start, "\\%$") < (apr_size_t)(end - start)) {
        return -1;
    }
    sc->s = end + 1;
    return (end - start == 3 && !strncmp(start, "GET", 3) ? FOR_GET : 0)
           | (end - start == 4 && !strncmp(start, "HEAD", 4) ? FOR_HEAD : 0);
}

/* For which methods a regex (/re/ or m#re#, flag i) matches, whether
 * RegexDefaultOptions says ICASE where it is or not; -1: none, or not
 * the same either way. */
static int matches(scan_t *sc)
{
    const char *start, *end, *re;
    int icase, hits = -1;
    char close;

    blanks(sc);
    if (*sc->s == '/') {
        close = '/';
        start = sc->s + 1;
    }
    else if (sc->s[0] == 'm' && sc->s[1] && !apr_isalnum(sc->s[1])
             && !apr_isspace(sc->s[1])) {
        close = sc->s[1];
        start = sc->s + 2;
    }
    else {
        return -1;
    }
    end = strchr(start, close);
    if (!end || strcspn(start, "\\%") < (apr_size_t)(end - start)) {
        return -1;
    }
    sc->s = end + 1;
    icase = *sc->s == 'i';
    sc->s += icase;
    re = apr_pstrmemdup(sc->p, start, (apr_size_t)(end - start));
    for (; icase < 2; icase++) {
        int get = sc_quick_regex(sc->p, re, "GET", icase);
        int head = sc_quick_regex(sc->p, re, "HEAD", icase);
        int these = (get > 0 ? FOR_GET : 0) | (head > 0 ? FOR_HEAD : 0);
        if (get < 0 || head < 0 || (hits >= 0 && these != hits)) {
            return -1;
        }
        hits = these;
    }
    return hits;
}

/* A list of strings ({'a', 'b'}): for which methods one equals it. */
static int member(scan_t *sc)
{
    int hits = 0, one;

    if (!take(sc, "{")) {
        return -1;
    }
    do {
        if ((one = equals(sc)) < 0) {
            return -1;
        }
        hits |= one;
    } while (take(sc, ","));
    return take(sc, "}") ? hits : -1;
}

/* One test of the method: for which methods it holds. */
static int test(scan_t *sc)
{
    const char *op;
    int hits = -1;

    if (method_var(sc) && (op = operator(sc))) {
        if (!strcmp(op, "==") || !strcmp(op, "=") || !strcmp(op, "!=")) {
            hits = equals(sc);
        }
        else if (!strcmp(op, "=~") || !strcmp(op, "!~")) {
            hits = matches(sc);
        }
        else {
            hits = member(sc);
        }
        if (hits >= 0 && *op == '!') {
            hits ^= FOR_BOTH;
        }
    }
    else if ((hits = equals(sc)) >= 0) {
        /* the string first: 'TRACE' == %{REQUEST_METHOD} */
        op = operator(sc);
        if (!op || (strcmp(op, "==") && strcmp(op, "=") && strcmp(op, "!="))
            || !method_var(sc)) {
            hits = -1;
        }
        else if (*op == '!') {
            hits ^= FOR_BOTH;
        }
    }
    if (hits < 0) {
        sc->bad = 1;
        return 0;
    }
    return hits;
}

static int any_of(scan_t *sc);

static int factor(scan_t *sc)
{
    int hits;

    blanks(sc);
    if (sc->s[0] == '!' && sc->s[1] != '=' && sc->s[1] != '~') {
        sc->s++;
        return factor(sc) ^ FOR_BOTH;
    }
    if (take(sc, "(")) {
        hits = any_of(sc);
        if (!take(sc, ")")) {
            sc->bad = 1;
        }
        return hits;
    }
    return test(sc);
}

static int all_of(scan_t *sc)
{
    int hits = factor(sc);

    while (!sc->bad && take(sc, "&&")) {
        hits &= factor(sc);
    }
    return hits;
}

static int any_of(scan_t *sc)
{
    int hits = all_of(sc);

    while (!sc->bad && take(sc, "||")) {
        hits |= all_of(sc);
    }
    return hits;
}

int sc_quick_method_same(apr_pool_t *p, const char *expr)
{
    scan_t sc = { p, expr, 0 };
    int hits = any_of(&sc);

    blanks(&sc);
    return !sc.bad && *sc.s == '\0' && (hits == 0 || hits == FOR_BOTH);
}

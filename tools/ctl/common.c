/*
 * common.c: what every command of sharedcachectl uses: its messages
 * (errors on stderr, inspect's report lines, control bytes made
 * visible), reading "--name VALUE" options and connecting to memcached,
 * with libmemcached's reason when that fails.
 */
#include "ctl.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- messages ---------------------------------------------------------- */

int ctl_complain(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("sharedcachectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int ctl_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("sharedcachectl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see sharedcachectl --help)\n", stderr);
    return EXIT_USAGE;
}

/* libmemcached's message without its "(0x...) " handle address and
 * " -> file:line" source position. */
const char *ctl_tidy(apr_pool_t *p, const char *msg)
{
    char *s, *arrow, *end;
    apr_size_t n;

    if (!msg || !*msg) {
        return "unknown error";
    }
    s = apr_pstrdup(p, msg);
    if (s[0] == '(' && s[1] == '0' && s[2] == 'x'
        && (end = strstr(s, ") ")) != NULL) {
        s = end + 2;
    }
    if ((arrow = strstr(s, " -> ")) != NULL) {
        *arrow = '\0';
    }
    for (end = s; (end = strstr(end, ",  ")) != NULL;) {
        memmove(end + 1, end + 2, strlen(end + 2) + 1);
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == ',')) {
        s[--n] = '\0';
    }
    return s;
}

/* Why an sc_store call failed: the handle's own message, copied when
 * the call failed (memcached_quit() then freed libmemcached's). */
static const char *failure(ctl_t *ctl)
{
    sc_conn_t *c = ctl->conn;

    return c && c->error ? ctl_tidy(ctl->pool, c->error) : "no connection";
}

int ctl_backend_error(ctl_t *ctl, const char *what)
{
    return ctl_complain(EXIT_BACKEND, "memcached %s (%s): %s", what,
                        ctl->servers, failure(ctl));
}

/* One "label:      value" line of inspect's report. */
void ctl_field(const char *label, const char *fmt, ...)
{
    int pad = 11 - (int)strlen(label);
    va_list ap;

    printf("%s:%*s", label, pad > 1 ? pad : 1, "");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* s for a terminal: control bytes written as \xHH (a decoded path or a
 * stored header may hold any byte). */
const char *ctl_shown(apr_pool_t *p, const char *s)
{
    const char *c;
    char *out, *o;

    c = s;
    while (*c && !apr_iscntrl(*c)) {
        c++;
    }
    if (!*c) {
        return s;
    }
    o = out = apr_palloc(p, strlen(s) * 4 + 1);
    for (c = s; *c; c++) {
        if (apr_iscntrl(*c)) {
            o += apr_snprintf(o, 5, "\\x%02x", (unsigned char)*c);
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* ---- input ------------------------------------------------------------- */

/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *val when it is
 * that option, 0 when not, -1 when its value is missing. */
int ctl_option(int argc, const char *const *argv, int *i, const char *name,
               const char **val)
{
    const char *a = argv[*i];
    apr_size_t n = strlen(name);

    if (strncmp(a, name, n) != 0) {
        return 0;
    }
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

/* ---- memcached --------------------------------------------------------- */

/* Open the servers; handles are borrowed per server when first used. */
int ctl_connect(ctl_t *ctl)
{
    const char *err = NULL;

    memset(&ctl->backend, 0, sizeof(ctl->backend));
    ctl->backend.spec = ctl->servers;
    ctl->backend.timeout_ms = ctl->timeout_ms;
    ctl->backend.retry_s = 0;
    err = sc_store_parse(ctl->pool, ctl->servers, &ctl->backend.servers);
    if (err) {
        return ctl_complain(EXIT_USAGE, "--servers '%s': %s", ctl->servers,
                            err);
    }
    if (sc_store_open(&ctl->backend, ctl->pool, 1, &err) != APR_SUCCESS) {
        return ctl_complain(EXIT_BACKEND, "memcached (%s): %s", ctl->servers,
                            err ? err : "cannot open");
    }
    ctl->conns = apr_pcalloc(ctl->pool,
                             (apr_size_t)sc_store_count(&ctl->backend)
                                 * sizeof(*ctl->conns));
    return EXIT_OK;
}

void ctl_release_all(ctl_t *ctl)
{
    int i;

    for (i = 0; ctl->conns && i < sc_store_count(&ctl->backend); i++) {
        if (ctl->conns[i]) {
            sc_store_return(ctl->conns[i], ctl->pool);
            ctl->conns[i] = NULL;
        }
    }
}

sc_conn_t *ctl_conn(ctl_t *ctl, int i)
{
    if (!ctl->conns[i]) {
        ctl->conns[i] = sc_store_borrow(&ctl->backend, i, ctl->pool);
    }
    return ctl->conns[i];
}

/*
 * purge.c: the commands that invalidate by generation counter (DESIGN
 * section 6): purge URL... (drops each URL's counter, hard, as the PURGE
 * method does), invalidate TAG... and flush [NAMESPACE] (increment a tag's
 * or a namespace's counter).  Counter keys and the increments themselves
 * are sc_key.c's and sc_gen.c's.
 */
#include "ctl.h"
#include "sc_gen.h"

#include <apr_strings.h>
#include <stdio.h>
#include <string.h>

/* Invalidate every copy of a dependency's counter (a URL's on the
 * server of its keys, a tag's or namespace's on every server): soft
 * increments, hard deletes (what depended on it is a miss, never STALE).
 * Say what happened: EXIT_OK, EXIT_NOTFOUND (no counter: nothing cached
 * depends on it) or EXIT_BACKEND, naming the servers that could not be
 * reached; those get a fence mark on the others, so that they are fenced
 * before the module reads them again. */
static int apply(ctl_t *ctl, const char *verb, const char *dep, int hard)
{
    sc_backend_t *b = &ctl->backend;
    const char *key = sc_key_counter(ctl->pool, ctl->prefix, dep);
    const char *failed = NULL, *why = NULL;
    apr_array_header_t *unreached = apr_array_make(ctl->pool, 2, sizeof(int));
    int i, from, to, found = 0;

    sc_gen_copies(b, key, dep[0] == SC_DEP_URL, &from, &to);
    for (i = from; i < to; i++) {
        sc_conn_t *c = ctl_conn(ctl, i);
        const char *on = to - from > 1
                             ? apr_pstrcat(ctl->pool, " on ", b->names[i], NULL)
                             : "";
        apr_uint64_t gen = 0;
        int existed = 0;
        apr_status_t rv =
            !c ? APR_EGENERAL
            : hard
                ? sc_gen_drop(c, ctl->pool, ctl->prefix, dep, &existed)
                : sc_gen_incr(c, ctl->pool, ctl->prefix, dep, &existed, &gen);

        if (rv != APR_SUCCESS) {
            APR_ARRAY_PUSH(unreached, int) = i;
            failed = failed ? apr_pstrcat(ctl->pool, failed, " ", b->names[i],
                                          NULL)
                            : b->names[i];
            why = c && c->error ? ctl_tidy(ctl->pool, c->error)
                                : "cannot connect";
            if (c) {
                sc_store_return(c, ctl->pool); /* closed: failed */
                ctl->conns[i] = NULL;
            }
            continue;
        }
        found += existed;
        if (existed && hard) {
            printf("%s %s (%s: counter dropped)%s\n", verb,
                   ctl_shown(ctl->pool, dep), key, on);
        }
        else if (existed) {
            printf("%s %s (%s: generation %" APR_UINT64_T_FMT ")%s\n", verb,
                   ctl_shown(ctl->pool, dep), key, gen, on);
        }
    }
    if (failed) {
        int marked;

        ctl_release_all(ctl); /* the marks need a handle per server */
        marked = sc_fence_mark(b, ctl->pool, ctl->prefix, unreached);

        return ctl_complain(EXIT_BACKEND,
                            "memcached %s unreachable (%s): "
                            "%s not invalidated there%s",
                            failed, why, ctl_shown(ctl->pool, dep),
                            marked ? "; it is fenced before it is read again"
                                   : "");
    }
    if (!found) {
        printf("not found %s (%s: no counter, nothing cached depends on "
               "it)\n",
               ctl_shown(ctl->pool, dep), key);
        return EXIT_NOTFOUND;
    }
    return EXIT_OK;
}

/* Was the port written in the URL's authority (host:port, [v6]:port)? */
static int port_written(const char *authority)
{
    const char *host_end = authority[0] == '[' ? strchr(authority, ']')
                                               : authority;

    return host_end && strchr(host_end, ':') != NULL;
}

int ctl_purge(ctl_t *ctl, int argc, const char *const *argv)
{
    const char **deps;
    int *defaulted;
    int i, rc, result = EXIT_OK;

    if (argc < 1) {
        return ctl_usage("purge: give at least one URL");
    }
    deps = apr_palloc(ctl->pool, sizeof(char *) * (apr_size_t)argc);
    defaulted = apr_palloc(ctl->pool, sizeof(int) * (apr_size_t)argc);
    for (i = 0; i < argc; i++) {
        ctl_url_t u;
        const char *err = ctl_parse_url(ctl->pool, argv[i], &u);

        if (err) {
            return ctl_complain(EXIT_USAGE, "bad URL '%s': %s", argv[i], err);
        }
        deps[i] = sc_key_url_dep(ctl->pool, &u.url);
        defaulted[i] = !port_written(u.authority);
    }
    if ((rc = ctl_connect(ctl)) != EXIT_OK) {
        return rc;
    }
    for (i = 0; i < argc; i++) {
        /* hard, as the PURGE method: never served STALE afterwards */
        rc = apply(ctl, "purged", deps[i], 1);
        if (rc == EXIT_NOTFOUND && defaulted[i]) {
            printf("  (a URL is named with the port httpd reports for it: "
                   "behind a TLS-terminating proxy, with ServerName "
                   "https://HOST and no UseCanonicalName On, the port "
                   "Apache listens on: https://HOST:PORT/...)\n");
        }
        /* every URL is tried: one server down stops none of the others */
        if (rc == EXIT_BACKEND || (rc == EXIT_NOTFOUND && !result)) {
            result = rc;
        }
    }
    return result;
}

/* An argument of invalidate names one tag: read as a tag list (what the
 * module reads from a response's tag and invalidate headers), it is one
 * token, all of it, and a valid one.  "a,b" is refused rather than taken
 * as one tag no response can carry or silently as two. */
static int one_tag(apr_pool_t *p, const char *arg)
{
    const char *cursor = arg, *tag;
    int valid;

    return sc_key_tag_next(p, &cursor, &tag, &valid) && valid
           && !strcmp(tag, arg);
}

int ctl_invalidate(ctl_t *ctl, int argc, const char *const *argv)
{
    int i, rc, result = EXIT_OK;

    if (argc < 1) {
        return ctl_usage("invalidate: give at least one tag");
    }
    for (i = 0; i < argc; i++) {
        if (!one_tag(ctl->pool, argv[i])) {
            return ctl_complain(EXIT_USAGE,
                                "invalid tag '%s': a tag is 1 "
                                "to %d printable ASCII characters without "
                                "spaces or commas",
                                argv[i], SC_TAG_MAX);
        }
    }
    if ((rc = ctl_connect(ctl)) != EXIT_OK) {
        return rc;
    }
    for (i = 0; i < argc; i++) {
        rc = apply(ctl, "invalidated",
                   sc_key_dep(ctl->pool, SC_DEP_TAG, argv[i]), 0);
        if (rc == EXIT_BACKEND) {
            result = rc; /* the other tags are invalidated all the same */
        }
    }
    return result;
}

int ctl_flush(ctl_t *ctl, int argc, const char *const *argv)
{
    const char *ns = argc > 0 ? argv[0] : CTL_DEFAULT_NAMESPACE;
    int rc;

    if (argc > 1) {
        return ctl_usage("flush: give at most one namespace");
    }
    if (!sc_key_tag_ok(ns)) {
        return ctl_complain(EXIT_USAGE,
                            "invalid namespace '%s': 1 to %d "
                            "printable ASCII characters without spaces",
                            ns, SC_TAG_MAX);
    }
    if ((rc = ctl_connect(ctl)) != EXIT_OK) {
        return rc;
    }
    rc = apply(ctl, "flushed", sc_key_dep(ctl->pool, SC_DEP_NAMESPACE, ns), 0);
    return rc == EXIT_NOTFOUND ? EXIT_OK : rc;
}

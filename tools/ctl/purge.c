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

/* Increment the counter of one dependency and say what happened: EXIT_OK,
 * EXIT_NOTFOUND (no counter: nothing cached depends on it) or
 * EXIT_BACKEND. */
static int bump(ctl_t *ctl, const char *verb, const char *dep)
{
    const char *key = sc_key_counter(ctl->pool, ctl->prefix, dep);
    apr_uint64_t gen = 0;
    int existed = 0;
    apr_status_t rv = sc_gen_incr(ctl->conn, ctl->pool, ctl->prefix, dep,
                                  &existed, &gen);

    if (rv != APR_SUCCESS) {
        return ctl_backend_error(ctl, apr_psprintf(ctl->pool, "incr %s", key));
    }
    if (!existed) {
        printf("not found %s (%s: no counter, nothing cached depends on "
               "it)\n", ctl_shown(ctl->pool, dep), key);
        return EXIT_NOTFOUND;
    }
    printf("%s %s (%s: generation %" APR_UINT64_T_FMT ")\n", verb,
           ctl_shown(ctl->pool, dep), key, gen);
    return EXIT_OK;
}

/* Delete the counter of one dependency (a hard invalidation: what depended
 * on it is a miss, never STALE) and say what happened, as bump() does. */
static int drop(ctl_t *ctl, const char *verb, const char *dep)
{
    const char *key = sc_key_counter(ctl->pool, ctl->prefix, dep);
    int existed = 0;
    apr_status_t rv = sc_gen_drop(ctl->conn, ctl->pool, ctl->prefix, dep,
                                  &existed);

    if (rv != APR_SUCCESS) {
        return ctl_backend_error(ctl, apr_psprintf(ctl->pool, "delete %s",
                                                   key));
    }
    if (!existed) {
        printf("not found %s (%s: no counter, nothing cached depends on "
               "it)\n", ctl_shown(ctl->pool, dep), key);
        return EXIT_NOTFOUND;
    }
    printf("%s %s (%s: counter dropped)\n", verb, ctl_shown(ctl->pool, dep),
           key);
    return EXIT_OK;
}

int ctl_purge(ctl_t *ctl, int argc, const char *const *argv)
{
    const char **deps;
    int i, rc, result = EXIT_OK;

    if (argc < 1) {
        return ctl_usage("purge: give at least one URL");
    }
    deps = apr_palloc(ctl->pool, sizeof(char *) * (apr_size_t)argc);
    for (i = 0; i < argc; i++) {
        ctl_url_t u;
        const char *err = ctl_parse_url(ctl->pool, argv[i], &u);

        if (err) {
            return ctl_complain(EXIT_USAGE, "bad URL '%s': %s", argv[i], err);
        }
        deps[i] = sc_key_url_dep(ctl->pool, &u.url);
    }
    if ((rc = ctl_connect(ctl)) != EXIT_OK) {
        return rc;
    }
    for (i = 0; i < argc; i++) {
        /* hard, as the PURGE method: never served STALE afterwards */
        rc = drop(ctl, "purged", deps[i]);
        if (rc == EXIT_BACKEND) {
            return rc;
        }
        if (rc == EXIT_NOTFOUND) {
            result = EXIT_NOTFOUND;
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
    int i, rc;

    if (argc < 1) {
        return ctl_usage("invalidate: give at least one tag");
    }
    for (i = 0; i < argc; i++) {
        if (!one_tag(ctl->pool, argv[i])) {
            return ctl_complain(EXIT_USAGE, "invalid tag '%s': a tag is 1 "
                                "to %d printable ASCII characters without "
                                "spaces or commas", argv[i], SC_TAG_MAX);
        }
    }
    if ((rc = ctl_connect(ctl)) != EXIT_OK) {
        return rc;
    }
    for (i = 0; i < argc; i++) {
        rc = bump(ctl, "invalidated",
                  sc_key_dep(ctl->pool, SC_DEP_TAG, argv[i]));
        if (rc == EXIT_BACKEND) {
            return rc;
        }
    }
    return EXIT_OK;
}

int ctl_flush(ctl_t *ctl, int argc, const char *const *argv)
{
    const char *ns = argc > 0 ? argv[0] : CTL_DEFAULT_NAMESPACE;
    int rc;

    if (argc > 1) {
        return ctl_usage("flush: give at most one namespace");
    }
    if (!sc_key_tag_ok(ns)) {
        return ctl_complain(EXIT_USAGE, "invalid namespace '%s': 1 to %d "
                            "printable ASCII characters without spaces", ns,
                            SC_TAG_MAX);
    }
    if ((rc = ctl_connect(ctl)) != EXIT_OK) {
        return rc;
    }
    rc = bump(ctl, "flushed", sc_key_dep(ctl->pool, SC_DEP_NAMESPACE, ns));
    return rc == EXIT_NOTFOUND ? EXIT_OK : rc;
}

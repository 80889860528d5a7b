/*
 * sc_resp_vary.c: what a response varies on, as the key sees it: its Vary
 * names less those the location's keyed cookies and a compression filter
 * account for, Vary: Cookie narrowed to the cookies the application names
 * (X-SharedCache-Vary).
 */
#include "sc_request.h"

#include "http_core.h"
#include <apr_lib.h>
#include <apr_strings.h>

/* The cookies an application's "X-SharedCache-Vary: cookie=sessionid,
 * cookie=csrftoken" says its page varies on (lower case), or NULL when the
 * header is absent or not made only of such items (then Vary: Cookie
 * stays whole). */
apr_array_header_t *sc_app_vary_cookies(request_rec *r, apr_table_t *out)
{
    const char *list = apr_table_getm(r->pool, out, "X-SharedCache-Vary");
    apr_array_header_t *names = apr_array_make(r->pool, 2, sizeof(char *));
    char *copy, *item, *last;

    if (!list) {
        return NULL;
    }
    copy = apr_pstrdup(r->pool, list);
    for (item = apr_strtok(copy, ",", &last); item;
         item = apr_strtok(NULL, ",", &last)) {
        char *name, *end;
        while (*item == ' ' || *item == '\t') {
            item++;
        }
        end = item + strlen(item);
        while (end > item && (end[-1] == ' ' || end[-1] == '\t')) {
            *--end = '\0';
        }
        if (strncasecmp(item, "cookie=", 7) || !item[7]) {
            return NULL;
        }
        for (name = item + 7; *name; name++) {
            if (!apr_isalnum(*name) && *name != '_' && *name != '-') {
                return NULL; /* names no cookie parser rewrites */
            }
        }
        name = apr_pstrcat(r->pool, SC_KEY_VARY_COOKIE, item + 7, NULL);
        ap_str_tolower(name);
        APR_ARRAY_PUSH(names, char *) = name;
    }
    return names->nelts ? names : NULL;
}

/* Vary names without those the location's keyed cookies or a content
 * encoding filter account for; Vary: Cookie narrowed to the cookies the
 * application names (X-SharedCache-Vary), unless the location keys on
 * cookies of its own (the administrator's directives win). */
apr_array_header_t *sc_effective_vary(request_rec *r, const sc_req_t *ctx,
                                      const char *vary)
{
    apr_array_header_t *names = sc_policy_vary_names(r->pool, vary);
    int narrow = ctx->app_vary_cookies && !ctx->dconf->vary_cookies;
    int i, j;

    if (narrow) {
        /* the cookies it names are variance, with or without Vary */
        if (!names) {
            names = apr_array_make(r->pool, 2, sizeof(const char *));
        }
        for (i = 0; i < ctx->app_vary_cookies->nelts; i++) {
            APR_ARRAY_PUSH(names, const char *) = APR_ARRAY_IDX(
                ctx->app_vary_cookies, i, const char *);
        }
    }
    for (i = 0, j = 0; names && i < names->nelts; i++) {
        const char *n = APR_ARRAY_IDX(names, i, const char *);
        /* Vary: Cookie is narrowed to the keyed cookies, which level 1
         * already holds, or to those the application names. */
        if (!strcmp(n, "cookie") && (ctx->dconf->vary_cookies || narrow)) {
            continue;
        }
        /* mod_deflate & co. add Accept-Encoding; the stored body is the
         * one before them, and they run again on every hit. */
        if (!strcmp(n, "accept-encoding") && !ctx->handler_varies_encoding) {
            continue;
        }
        APR_ARRAY_IDX(names, j++, const char *) = n;
    }
    return j ? (names->nelts = j, names) : NULL;
}

/*
 * sc_resp_vary.c: what a response's handler said that no filter after it
 * takes back, and what the response varies on as the key sees it.
 *
 * SHAREDCACHE_FIRST (sc_copy_filters.c), the first of a response's
 * filters, notes the Vary
 * its handler sent and whether its fields made it personal (Set-Cookie,
 * Vary: *, no-store, private).  A filter may add variance and
 * restrictions, never remove them: a response is keyed on the names of
 * its handler's Vary and of the client's, and is personal if either its
 * handler's fields or its final ones say so, so mod_headers' "Header
 * unset Vary" or "Header set Cache-Control public" changes what the
 * client is told, never who shares the page.  The key's names are then
 * those less what the location's keyed cookies and a compression filter
 * account for, Vary: Cookie narrowed to the cookies the application
 * names (X-SharedCache-Vary).
 */
#include "sc_request.h"

#include "http_core.h"
#include <apr_lib.h>
#include <apr_strings.h>

void sc_policy_fields(request_rec *r, apr_table_t *out, sc_policy_in_t *in)
{
    memset(in, 0, sizeof(*in));
    in->status = r->status;
    in->cache_control = apr_table_getm(r->pool, out, "Cache-Control");
    in->surrogate_control = apr_table_getm(r->pool, out, "Surrogate-Control");
    in->cdn_cache_control = apr_table_getm(r->pool, out, "CDN-Cache-Control");
    in->expires = sc_origin_field(r, out, "Expires");
    in->date = sc_origin_field(r, out, "Date");
    in->age = apr_table_get(out, "Age");
    in->vary = apr_table_getm(r->pool, out, "Vary");
    in->has_set_cookie = apr_table_get(out, "Set-Cookie")
                         || apr_table_get(out, "Set-Cookie2");
    in->now = apr_time_sec(apr_time_now());
}

void sc_policy_input(request_rec *r, apr_table_t *out, const sc_dir_conf_t *d,
                     sc_policy_in_t *in)
{
    sc_policy_fields(r, out, in);
    in->vary = sc_response_vary(r, out);
    in->handler_personal = sc_handler_personal(r);
    if (d) {
        in->default_ttl = d->ttl;
        in->force_ttl = d->force_ttl;
        in->max_ttl = d->max_ttl;
        in->statuses = d->statuses;
    }
}

/* The handler's Vary ("" when it sent none), its X-SharedCache-Vary and
 * why its fields made the response personal (a detail token; absent when
 * they did not); an X-SharedCache-Vary that was there before the handler
 * ran (mod_headers' "early", a module's hook): not the application's. */
#define NOTE_HANDLER_VARY "sharedcache-handler-vary"
#define NOTE_HANDLER_NARROW "sharedcache-handler-narrow"
#define NOTE_HANDLER_PERSONAL "sharedcache-handler-personal"
#define NOTE_NARROW_BEFORE "sharedcache-narrow-before"

void sc_note_before_handler(request_rec *r)
{
    if (apr_table_get(r->headers_out, "X-SharedCache-Vary")
        || apr_table_get(r->err_headers_out, "X-SharedCache-Vary")) {
        apr_table_setn(r->notes, NOTE_NARROW_BEFORE, "1");
    }
}

/* httpd's handlers that make a response from request headers without
 * naming them in Vary: mod_imagemap's menu and default redirect ("base
 * referer", "default referer"), by either of the names it answers to
 * (the second, its content type, is the handler's name only while it
 * runs: sc_handler_name).  The key varies on them as if the
 * handler had said so (the client is told nothing new). */
static const char *handler_reads(request_rec *r)
{
    const char *handler = sc_handler_name(r);
    static const struct {
        const char *handler, *reads;
    } known[] = { { "imap-file", "Referer" },
                  { "application/x-httpd-imap", "Referer" } };
    apr_size_t i;

    for (i = 0; handler && i < sizeof(known) / sizeof(known[0]); i++) {
        if (!strcasecmp(handler, known[i].handler)) {
            return known[i].reads;
        }
    }
    return NULL;
}

void sc_note_handler(request_rec *r)
{
    apr_table_t *out = apr_table_overlay(r->pool, r->err_headers_out,
                                         r->headers_out);
    const char *narrow = apr_table_getm(r->pool, out, "X-SharedCache-Vary");
    const char *reads = handler_reads(r);
    sc_policy_in_t in;
    const char *detail = NULL;

    /* added to what was noted before (a revalidation's 304, then the
     * stored response it made the response again): never less */
    sc_policy_fields(r, out, &in);
    in.vary = sc_response_vary(r, out);
    if (reads) {
        in.vary = in.vary ? apr_pstrcat(r->pool, in.vary, ", ", reads, NULL)
                          : reads;
    }
    apr_table_setn(r->notes, NOTE_HANDLER_VARY, in.vary ? in.vary : "");
    if (narrow) {
        apr_table_setn(r->notes, NOTE_HANDLER_NARROW, narrow);
    }
    if (!apr_table_get(r->notes, NOTE_HANDLER_PERSONAL)
        && sc_policy_personal(&in, &detail)) {
        apr_table_setn(r->notes, NOTE_HANDLER_PERSONAL, detail);
    }
}

void sc_note_handler_once(request_rec *r)
{
    /* (a hit's fields were noted as it was restored: it starts after
     * SHAREDCACHE_FIRST) */
    if (!apr_table_get(r->notes, NOTE_HANDLER_VARY)) {
        sc_note_handler(r);
    }
}

const char *sc_response_vary(request_rec *r, apr_table_t *out)
{
    const char *now = apr_table_getm(r->pool, out, "Vary");
    const char *then = apr_table_get(r->notes, NOTE_HANDLER_VARY);

    if (!then || !*then) {
        return now;
    }
    return now ? apr_pstrcat(r->pool, now, ", ", then, NULL) : then;
}

const char *sc_handler_personal(const request_rec *r)
{
    return apr_table_get(r->notes, NOTE_HANDLER_PERSONAL);
}

/* The cookies an application's "X-SharedCache-Vary: cookie=sessionid,
 * cookie=csrftoken" says its page varies on (lower case), or NULL when the
 * header is absent or not made only of such items (then Vary: Cookie
 * stays whole). */
apr_array_header_t *sc_app_vary_cookies(request_rec *r)
{
    const char *list = apr_table_get(r->notes, NOTE_HANDLER_NARROW);
    apr_array_header_t *names = apr_array_make(r->pool, 2, sizeof(char *));
    char *copy, *item, *last;

    if (!list || apr_table_get(r->notes, NOTE_NARROW_BEFORE)) {
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

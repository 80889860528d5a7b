/*
 * sc_fragment.c: fragments of a page, that is subrequests made to run into
 * it (SSI includes).  A page takes the most restrictive decision of its
 * parts: what would keep a fragment from being shared keeps every page
 * that includes it from being stored, the page stays fresh no longer than
 * its fragments, and varies on what they vary on (THREATS 35).  Runs from
 * SHAREDCACHE_DECIDE on the fragment's final headers, hit or miss, and
 * from create_request for fragments refused before they run.
 */
#include "sc_request.h"

#include "http_core.h"
#include "http_request.h"
#include <apr_lib.h>
#include <apr_strings.h>
#include <string.h>

static void pages_refuse(request_rec *r, const char *why);

/* Did a subrequest's handler fail without output?  It returns its status
 * (the default handler's 404, a mod_wsgi daemon that is down) to the
 * includer without setting r->status: what reaches the filters is a 200
 * that is nothing but the end of the stream, without a Content-Length (a
 * real empty answer says Content-Length: 0).  bb: the first brigade. */
int sc_subrequest_failed(const request_rec *r, apr_table_t *out,
                         apr_bucket_brigade *bb)
{
    apr_bucket *b;

    if (!r->main || apr_table_get(out, "Content-Length")) {
        return 0;
    }
    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (!APR_BUCKET_IS_METADATA(b)) {
            return 0; /* it produced something */
        }
        if (APR_BUCKET_IS_EOS(b) || APR_BUCKET_IS_FLUSH(b)) {
            return 1; /* the end (or SHAREDCACHE_SAVE's FLUSH before
                         it), with nothing before */
        }
    }
    return 0;
}

/* Does every client pass the access rules a subrequest meets?  httpd
 * skips access control for one whose configuration is its parent's;
 * otherwise it has rules of its own, which this client passed or not
 * (Require ip, a client certificate ...).  Every client passes them only
 * where an anonymous client does and nothing may deny some clients by
 * what they send or are: no such rule in its server or the main server
 * (sc_server_conf_t.denies), no <If> section (its condition may read
 * the client, and what it holds refuse: a Redirect 403, a RewriteRule
 * [F]), no .htaccess file on its path (read at each
 * request, unseen at start-up); an anonymous client passes a denial of
 * others. */
int sc_rules_pass_anyone(request_rec *r)
{
    const sc_server_conf_t *s = ap_get_module_config(r->server->module_config,
                                                     &sharedcache_module);
    core_dir_config *cr = ap_get_core_module_config(r->per_dir_config);

    return r->per_dir_config == r->main->per_dir_config
           || (s && !s->denies && !sc_htaccess_applies(r, 1)
               && !(cr && cr->sec_if && cr->sec_if->nelts) && sc_anyone_may(r));
}

/* Why a fragment (a subrequest: an SSI include) keeps any page that
 * includes it from being stored, or NULL; *ttl is how long it stays
 * fresh.  d is the fragment's location. */
static const char *fragment_refuses(request_rec *r, const sc_dir_conf_t *d,
                                    apr_table_t *out, apr_bucket_brigade *bb,
                                    apr_int64_t *ttl)
{
    sc_policy_out_t policy;
    sc_policy_in_t in;
    const char *why;

    sc_policy_input(r, out, d, &in);
    if (sc_decision_of(r) == SC_BYPASS) {
        return "it bypassed the cache for this request";
    }
    if (r->status >= 400 || sc_subrequest_failed(r, out, bb)) {
        return "it failed";
    }
    if (r->no_cache) {
        return "it set r->no_cache";
    }
    /* SharedCache Off is how a personal location is kept out: its output
     * must not reach a shared page either. */
    if (d->enabled != 1) {
        return "its location does not have SharedCache On";
    }
    if (!apr_table_get(out, "Content-Length") && d->require_length != 0
        && !sc_handler_reports_broken_body(r)) {
        return "no Content-Length, from a handler that cannot report a "
               "broken body";
    }
    why = sc_policy_personal(&in, NULL);
    if (why) {
        return why;
    }
    if (!sc_policy_decide(&in, &policy)) {
        return policy.reason;
    }
    if (r->main && !sc_rules_pass_anyone(r)) {
        return "access rules of its own that not every client passes";
    }
    *ttl = policy.ttl;
    return NULL;
}

/* A subrequest of a subrequest gets no SUBREQ_CORE of its own from httpd
 * when the chain it writes into has one (its parent's), which comes after
 * the parent's own filters: the EOS that ends it would pass through them,
 * and our capture (or ESI assembly) of the parent would take it for the
 * parent's end, storing it cut short.  Where one of our filters is in that
 * stretch, the subrequest gets its own, as a first-level one has. */
static void own_subreq_core(request_rec *r)
{
    ap_filter_t *f;
    int ours = 0;

    for (f = r->output_filters; f && f != r->proto_output_filters;
         f = f->next) {
        if (f->frec == ap_subreq_core_filter_handle) {
            if (f->r != r && ours) {
                ap_add_output_filter_handle(ap_subreq_core_filter_handle, NULL,
                                            r, r->connection);
            }
            return;
        }
        /* by name: the stages after this one own the handles */
        ours |= !strcasecmp(f->frec->name, SC_FILTER_SAVE)
                || !strcasecmp(f->frec->name, SC_FILTER_ESI);
    }
}

/* A fragment of pages being captured (every including page, nested SSI
 * too): what would keep the fragment from being shared keeps them from
 * being stored, they stay fresh no longer than it does, and what it
 * varies on they vary on (THREATS 35).  Runs on the fragment's final
 * headers, hit or miss. */
int sc_fragment_asked(request_rec *r)
{
    request_rec *a, *c;

    /* Made to run into its includer's output (a lookup only, such as
     * mod_dir's or mod_include's #fsize, is given no filters), by an
     * includer whose own handler runs: ours set its context first. */
    if (r->main) {
        sc_derive_env_snapshot(r, SC_ENV_INHERITED);
    }
    if (r->main && r->main->main
        && r->output_filters != r->proto_output_filters) {
        own_subreq_core(r);
    }
    if (!r->main || r->output_filters == r->proto_output_filters
        || !sc_req_get(r->main)) {
        return DECLINED;
    }
    /* Every page whose stored body will hold it: not the page that
     * includes it by ESI (stored unassembled), but the pages above that
     * (SSI pages that include an ESI page keep it assembled). */
    for (c = r, a = r->main; a; c = a, a = a->main) {
        sc_req_t *page = sc_req_get(a);
        if (page && !sc_esi_include(c)) {
            page->fragments_asked++;
        }
    }
    return DECLINED;
}

int sc_fragment_looked_up(request_rec *r)
{
    const request_rec *a, *c;
    int making = 0;

    /* only under a page being made that would hold what it finds (not
     * the page that includes it by ESI: its own rules, sc_include.c), and
     * not one an anonymous client's check prepares (sc_quickprobe.c) */
    for (c = r, a = r->main; a; c = a, a = a->main) {
        sc_req_t *page = sc_esi_include(c) ? NULL : sc_req_get(a);

        if (apr_table_get(a->notes, SC_NOTE_PROBE)) {
            return DECLINED;
        }
        making |= page && !page->fragment_refused;
    }
    /* (not the lookup of PATH_TRANSLATED that ap_add_cgi_vars makes for
     * every CGI, WSGI or FastCGI request with a PATH_INFO: what it finds
     * is the same whoever asks, and whether access lets it through is
     * not looked at) */
    if (!making
        || (r->main->path_info && r->uri
            && !strcmp(r->uri, r->main->path_info))) {
        return DECLINED;
    }
    if (!sc_rules_pass_anyone(r)) {
        pages_refuse(r, "access rules of its own that not every client "
                        "passes");
    }
    return DECLINED;
}

void sc_fragment_reaches_page(request_rec *r, const sc_dir_conf_t *d,
                              apr_bucket_brigade *bb)
{
    apr_table_t *out = apr_table_overlay(r->pool, r->err_headers_out,
                                         r->headers_out);
    const char *vary = sc_response_vary(r, out);
    apr_int64_t ttl = 0;
    const char *why = NULL, *rules = NULL;
    int why_checked = 0, rules_checked = 0;
    sc_decision_t decision = sc_decision_of(r);
    int from_cache = decision == SC_HIT || decision == SC_STALE;
    request_rec *a, *c;

    /* Every page whose stored body holds it: not one that includes it by
     * ESI (stored unassembled, each fragment under its own rules), but
     * every SSI page above that (it stores the assembled page). */
    for (c = r, a = r->main; a; c = a, a = a->main) {
        sc_req_t *page = sc_esi_include(c) ? NULL : sc_req_get(a);
        const char *no;

        if (page) {
            page->fragments_ran++;
            /* served from the cache: a stored body is whole */
            if (from_cache) {
                page->fragments_whole++;
            }
        }
        if (!page || page->fragment_refused) {
            continue;
        }
        /* once, for every page; not at all for an ESI include alone (its
         * page is stored unassembled): an anonymous client's check costs
         * httpd's whole preparation of the URL once more */
        if (!why_checked) {
            why = fragment_refuses(r, d, out, bb, &ttl);
            why_checked = 1;
        }
        no = why;
        if (!no && !sc_config_variance_within(d, page->dconf)) {
            no = "its location keys on what the page's does not";
        }
        if (!no && !rules_checked) {
            rules = sc_rules_reach(r); /* once, for every page */
            rules_checked = 1;
        }
        if (!no) {
            no = rules;
        }

        if (no) {
            page->fragment_refused = apr_psprintf(a->pool,
                                                  "a fragment "
                                                  "forbids it (%s: %s)",
                                                  r->uri, no);
            continue;
        }
        if (!page->fragment_ttl || ttl < page->fragment_ttl) {
            page->fragment_ttl = ttl;
        }
        if (vary) {
            page->fragment_vary = page->fragment_vary
                                      ? apr_pstrcat(a->pool,
                                                    page->fragment_vary, ", ",
                                                    vary, NULL)
                                      : apr_pstrdup(a->pool, vary);
        }
    }
}

#define NOTE_BROKEN_PART "sharedcache-broken-part"

void sc_fragment_broken(request_rec *r, const char *why)
{
    request_rec *a, *c;

    for (c = r, a = r->main; a; c = a, a = a->main) {
        sc_req_t *page = sc_esi_include(c) ? NULL : sc_req_get(a);

        if (page && !page->fragment_refused) {
            page->fragment_refused = apr_psprintf(
                a->pool, "a fragment was not whole (%s: %s)", r->uri, why);
        }
        if (sc_esi_include(c)) {
            /* the ESI page takes this include (an SSI page around the
             * broken part) as failed */
            apr_table_setn(c->notes, NOTE_BROKEN_PART,
                           apr_psprintf(c->pool, "%s: %s", r->uri, why));
            return;
        }
    }
}

const char *sc_fragment_broken_part(const request_rec *rr)
{
    return apr_table_get(rr->notes, NOTE_BROKEN_PART);
}

void sc_fragment_whole(request_rec *r)
{
    request_rec *a, *c;

    /* the pages sc_fragment_reaches_page counted it in */
    for (c = r, a = r->main; a; c = a, a = a->main) {
        sc_req_t *page = sc_esi_include(c) ? NULL : sc_req_get(a);
        if (page) {
            page->fragments_whole++;
        }
    }
}

/* ---- SSI that reads the request ----------------------------------------
 *
 * mod_include's #echo, #if/#elif, #set, #printenv and #exec put the
 * request's headers, variables, the time or a command's output into the
 * page; #fsize and #flastmod show another file's size or date to the
 * clients its access rules let through.  A page whose SSI source holds one is
 * not stored, nor is any page that includes it assembled (its fragments still
 * are, each under its own rules).  SHAREDCACHE_SSI_WATCH reads the source on
 * its way into INCLUDES, as a stream: each directive from mod_include's default
 * start tag "<!--#" to its "-->", wherever the reads cut it.  Where SSIStartTag
 * or SSIEndTag is configured, every SSI page counts as reading. */

ap_filter_rec_t *sc_ssi_watch_filter_handle;

#define NOTE_SSI_READS "sharedcache-ssi-reads"
#define SSI_TAG "<!--#"
#define SSI_TAG_LEN (sizeof(SSI_TAG) - 1)
/* A directive longer than this (from its start tag to its "-->") is taken
 * as one that reads the request: not guessed at. */
#define SSI_DIRECTIVE_MAX 8192

/* Where the watch is in the source, read as mod_include's parser reads
 * it (a stream, across buckets and brigades): outside a directive; in its
 * name; in the "-->" that may end it there; between arguments, where
 * "-->" ends it too; in an argument's name, before its '=', before its
 * value, in the value (quoted, with '\' escaping the quote, or up to a
 * blank).  A "-->" anywhere else is the argument's, as mod_include takes
 * it.  W_UNSURE: mod_include's reading depends on where its reads cut the
 * source (three dashes in a name), so the watch cannot follow it. */
typedef enum {
    W_TEXT,
    W_NAME,
    W_NAME_END,
    W_PRE_ARG,
    W_ARG_END,
    W_ARG_NAME,
    W_ARG_EQ,
    W_PRE_VAL,
    W_VAL,
    W_VAL_ESC,
    W_UNSURE
} watch_state_t;

typedef struct {
    watch_state_t state;
    apr_size_t matched; /* bytes of the start tag, or of "-->", matched */
    char quote;         /* the value's quote, or '\0' */
    char *dir;          /* the directive so far, after the start tag */
    apr_size_t dir_len;
    apr_bucket_brigade *rest; /* what is not yet passed on, while passing */
    int found; /* said: the rest only passes (the filter stays, so that
                  SHAREDCACHE_SAVE sees mod_include is watched) */
} watch_t;

const char *sc_ssi_reads(const request_rec *r)
{
    return apr_table_get(r->notes, NOTE_SSI_READS);
}

void sc_ssi_watch(request_rec *r)
{
    ap_filter_rec_t *includes = sc_filter_genuine("includes");
    ap_filter_t *f, *prev = NULL, *w;

    /* right before mod_include: it reads what mod_include runs, after any
     * filter before it (a Substitute may write SSI) */
    for (f = r->output_filters;
         includes && f && f->frec->ftype <= SC_SAVE_FTYPE;
         prev = f, f = f->next) {
        if (f->frec != includes) {
            continue;
        }
        if (!prev) {
            ap_add_output_filter_handle(sc_ssi_watch_filter_handle, NULL, r,
                                        r->connection);
            return;
        }
        w = apr_pcalloc(r->pool, sizeof(*w));
        w->frec = sc_ssi_watch_filter_handle;
        w->r = r;
        w->c = r->connection;
        w->next = f;
        prev->next = w;
        return;
    }
}

/* The directive named at s (just after "<!--#"), if it reads the request. */
static const char *reading_directive(const char *s, apr_size_t len)
{
    /* (#fsize and #flastmod look their file up as the client: its
     * access rules decide what they show) */
    static const char *const reading[] = { "echo",  "if",       "elif",
                                           "set",   "printenv", "exec",
                                           "fsize", "flastmod", NULL };
    const char *const *d;
    apr_size_t i = 0, n;

    while (i < len
           && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) {
        i++;
    }
    for (n = 0; i + n < len && apr_isalpha(s[i + n]); n++) {
    }
    for (d = reading; *d; d++) {
        if (strlen(*d) == n && !strncasecmp(s + i, *d, n)) {
            return *d;
        }
    }
    return NULL;
}

/* Does the directive s (len bytes, after "<!--#") expand a variable in
 * its arguments (#include virtual="/x/${HTTP_X_PAGE}")?  mod_include
 * decodes the arguments' entities first: "&#36;" is a '$' too, and so is
 * a number that its int overflows into 36 ("&#4294967332;"); one of ten
 * digits or more is taken as one. */
static int expands_variable(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '$') {
            return 1;
        }
        if (s[i] == '&' && i + 1 < len && s[i + 1] == '#') {
            apr_size_t j = i + 2;
            apr_uint32_t val = 0;
            while (j < len && apr_isdigit(s[j])) {
                val = val * 10 + (apr_uint32_t)(s[j++] - '0');
            }
            if (j < len && s[j] == ';' && (val == '$' || j - i - 2 >= 10)) {
                return 1;
            }
        }
    }
    return 0;
}

#define SSI_END "-->"

/* One byte c of a directive: the next state (c read), or W_TEXT once its
 * "-->" is complete.  *again: c is to be read once more in the new state
 * (mod_include's parser does not take it there). */
static watch_state_t directive_byte(watch_t *w, char c, int *again)
{
    int blank = apr_isspace(c);

    *again = 0;
    switch (w->state) {
    case W_NAME:
        if (c == '-') {
            w->matched = 1;
            return W_NAME_END;
        }
        return blank ? W_PRE_ARG : W_NAME;
    case W_NAME_END:
    case W_ARG_END:
        if (c == '>' && w->matched == 2) {
            w->matched = 0; /* (of the start tag, from now on) */
            return W_TEXT;
        }
        if (c == '-' && w->matched < 2) {
            w->matched++;
            return w->state;
        }
        if (c == '-' && w->state == W_NAME_END) {
            /* mod_include takes up its match again after the first dash
             * of those it has in this read: "--->" ends the name, unless
             * a read ends in the dashes */
            return W_UNSURE;
        }
        /* not the end: in a name, the name goes on; between arguments,
         * mod_include reads it all again as an argument's name ("--->"
         * too) */
        *again = 1;
        return w->state == W_NAME_END ? W_NAME : W_ARG_NAME;
    case W_PRE_ARG:
        if (blank) {
            return W_PRE_ARG;
        }
        if (c == '-') {
            w->matched = 1;
            return W_ARG_END;
        }
        if (c == '"' || c == '\'' || c == '`') {
            w->quote = c; /* a value without a name */
            return W_VAL;
        }
        *again = 1;
        return W_ARG_NAME;
    case W_ARG_NAME:
        return blank ? W_ARG_EQ : c == '=' ? W_PRE_VAL : W_ARG_NAME;
    case W_ARG_EQ:
        if (blank) {
            return W_ARG_EQ;
        }
        if (c == '=') {
            return W_PRE_VAL;
        }
        *again = 1; /* an argument without a value */
        return W_PRE_ARG;
    case W_PRE_VAL:
        if (blank) {
            return W_PRE_VAL;
        }
        if (c == '"' || c == '\'' || c == '`') {
            w->quote = c;
            return W_VAL;
        }
        w->quote = '\0';
        *again = 1;
        return W_VAL;
    case W_VAL:
        if (w->quote) {
            return c == '\\' ? W_VAL_ESC : c == w->quote ? W_PRE_ARG : W_VAL;
        }
        return blank ? W_PRE_ARG : W_VAL;
    case W_VAL_ESC:
        /* '\' escapes the quote only: anything else is read as it is */
        *again = c != w->quote;
        return W_VAL;
    default:
        return W_TEXT;
    }
}

/* Read len bytes at s of the source: a directive that reads the request,
 * once its "-->" is there, or NULL. */
static const char *watch_bytes(apr_pool_t *p, watch_t *w, const char *s,
                               apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len) {
        int again;

        if (w->state == W_TEXT) {
            if (!w->matched) {
                const char *lt = memchr(s + i, '<', len - i);
                if (!lt) {
                    return NULL;
                }
                i = (apr_size_t)(lt - s);
            }
            if (s[i] == SSI_TAG[w->matched]) {
                i++;
                if (++w->matched == SSI_TAG_LEN) {
                    w->state = W_NAME;
                    w->matched = 0;
                    w->dir_len = 0;
                }
            }
            else if (w->matched) {
                w->matched = 0; /* this byte may start a tag: again */
            }
            else {
                i++;
            }
            continue;
        }
        if (w->dir_len == SSI_DIRECTIVE_MAX) {
            return "... too long to read";
        }
        if (!w->dir) {
            w->dir = apr_palloc(p, SSI_DIRECTIVE_MAX);
        }
        do {
            w->state = directive_byte(w, s[i], &again);
        } while (again);
        if (w->state == W_UNSURE) {
            return "... whose end depends on how it is read";
        }
        w->dir[w->dir_len++] = s[i++];
        if (w->state == W_TEXT) {
            apr_size_t n = w->dir_len - (sizeof(SSI_END) - 1);
            const char *d = reading_directive(w->dir, n);
            if (d) {
                return d;
            }
            if (expands_variable(w->dir, n)) {
                return "... with a variable";
            }
        }
    }
    return NULL;
}

static void pages_refuse(request_rec *r, const char *why)
{
    request_rec *a, *c;

    for (c = r, a = r->main; a; c = a, a = a->main) {
        sc_req_t *page = sc_esi_include(c) ? NULL : sc_req_get(a);
        if (page && !page->fragment_refused) {
            page->fragment_refused = apr_psprintf(
                a->pool, "a fragment forbids it (%s: %s)", r->uri, why);
        }
    }
}

/* The watch passes on what it has read every so many bytes
 * (sc_pass_read). */
#define WATCH_PASS_BYTES (64 * 1024)

/* The page reads the request (found says how): it and the pages that
 * include it are not stored; the rest only passes. */
static void refuse(request_rec *r, watch_t *w, const char *found)
{
    const char *why = apr_pstrcat(r->pool, "its SSI #", found,
                                  " reads the request", NULL);

    apr_table_setn(r->notes, NOTE_SSI_READS, why);
    pages_refuse(r, why);
    w->found = 1;
}

apr_status_t sc_ssi_watch_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    watch_t *w = f->ctx;
    apr_size_t unpassed = 0;
    apr_bucket *b;

    if (!w) {
        w = f->ctx = apr_pcalloc(r->pool, sizeof(*w));
    }
    for (b = APR_BRIGADE_FIRST(bb); !w->found && b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data, *found;
        apr_size_t len;
        apr_status_t rv;

        if (unpassed >= WATCH_PASS_BYTES) {
            rv = sc_pass_read(f, bb, b, &w->rest);
            if (rv != APR_SUCCESS) {
                return rv;
            }
            b = APR_BRIGADE_FIRST(bb);
            unpassed = 0;
        }
        if (APR_BUCKET_IS_METADATA(b)) {
            continue;
        }
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            /* what follows is not watched: the page counts as reading, and
             * the error ends the response, as it ends mod_include's */
            refuse(r, w, "... whose source could not be read");
            sc_pass_read(f, bb, b, &w->rest);
            apr_brigade_cleanup(bb);
            return rv;
        }
        unpassed += len;
        found = sc_rules_ssi_tags() ? "... with SSIStartTag or SSIEndTag "
                                      "configured (not read here)"
                                    : watch_bytes(r->pool, w, data, len);
        if (found) {
            refuse(r, w, found);
        }
    }
    return ap_pass_brigade(f->next, bb);
}

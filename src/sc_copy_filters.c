/*
 * sc_copy_filters.c: SHAREDCACHE_FIRST, the first of a response's filters,
 * which notes what its handler said (sc_resp_vary.c) and which filters
 * stand before SHAREDCACHE_SAVE's copy; and those filters, which a hit
 * does not run again: each must make the body from the response
 * alone.  Which are trusted to, and the first that is not, as the chain
 * stood when the handler first wrote (SHAREDCACHE_FIRST notes it) and
 * when the copy began: a filter may read the request, find it has nothing
 * to do for this one and remove itself before the copy looks (a
 * mod_filter chain none of whose providers' expressions holds), and the
 * body it let through is still the one it chose for this request.
 */
#include "sc_request.h"

#include "http_core.h"
#include <apr_strings.h>

#define NOTE_FILTER_BEFORE "sharedcache-filter-before-copy"

ap_filter_rec_t *sc_first_filter_handle;

/* Is f the module's filter of that name (by_type: a BYTYPE: chain, which
 * runs the filter registered under the name it wraps)? */
static int known_filter(const ap_filter_t *f, const char *name, int by_type)
{
    ap_filter_rec_t *genuine;

    if (!strcasecmp(name, "includes")
        || (!strcasecmp(name, "proxy-html") && sc_rules_proxy_html_interp())) {
        return 0;
    }
    genuine = sc_filter_genuine(name);
    return genuine && (by_type || f->frec == genuine);
}

/* The filters before SHAREDCACHE_SAVE made the stored body, and a hit does
 * not run them again (sc_hit_filters): each must make it from the
 * response alone, never from the request.  Those known to: mod_include
 * right behind SHAREDCACHE_SSI_WATCH (which reads exactly what it runs and
 * refuses SSI that reads the request; a second mod_include runs what the
 * first made, fragments' SSI text among it), mod_substitute (httpd 2.4's:
 * no expressions), mod_sed, mod_proxy_html unless ProxyHTMLInterp is set
 * anywhere (its URL maps' conditions and ${VAR} read the request), its
 * xml2enc, mod_deflate's INFLATE, mod_buffer, the buffer of ap_rputs, and
 * an ESI include's SHAREDCACHE_ESI_LENGTH (which only counts).  Each is
 * known by the function its module registered, not by its name: a
 * mod_filter chain, an ext or a Lua filter is named as the administrator
 * likes (FilterDeclare sed, ExtFilterDefine buffer); only
 * AddOutputFilterByType's ("BYTYPE:NAME") is taken by the name it wraps,
 * mod_include excepted, whose source no watch reads there, and only where
 * no FilterDeclare or FilterProvider names a BYTYPE: filter (one may add
 * INCLUDES to BYTYPE:SUBSTITUTE) and no .htaccess file was read for the
 * request (FilterProvider is allowed there).  Any other
 * (mod_ext_filter, mod_lua, a mod_filter chain, INCLUDES added by content
 * type or after the render began) keeps the response out.  The filter's
 * name, or NULL. */
static const char *unknown_filter_before(request_rec *r, ap_filter_t *save)
{
    ap_filter_rec_t *includes = sc_filter_genuine("includes");
    int by_type_ok = !sc_rules_bytype_declared() && !sc_htaccess_applies(r, 0);
    const ap_filter_t *f, *prev = NULL;

    for (f = r->output_filters; f && f != save; prev = f, f = f->next) {
        const char *name = f->frec->name;
        int by_type = !strncasecmp(name, "bytype:", 7);

        if (by_type && !by_type_ok) {
            return name;
        }
        if (f->frec == sc_ssi_watch_filter_handle
            || f->frec == sc_esi_length_filter_handle
            || f->frec == sc_first_filter_handle) {
            continue;
        }
        if (includes && f->frec == includes) {
            if (!prev || prev->frec != sc_ssi_watch_filter_handle) {
                return name;
            }
            continue;
        }
        if (!known_filter(f, by_type ? name + 7 : name, by_type)) {
            return name;
        }
    }
    return NULL;
}

void sc_note_filters_before_copy(request_rec *r)
{
    ap_filter_t *f;
    const char *name;

    for (f = r->output_filters; f; f = f->next) {
        /* by name: sc_capture.c, a stage after this one, owns the handle */
        if (f->r == r && !strcasecmp(f->frec->name, SC_FILTER_SAVE)) {
            name = unknown_filter_before(r, f);
            if (name) {
                apr_table_setn(r->notes, NOTE_FILTER_BEFORE, name);
            }
            return;
        }
    }
}

const char *sc_filter_before_copy(request_rec *r, ap_filter_t *save)
{
    const char *name = unknown_filter_before(r, save);

    return name ? name : apr_table_get(r->notes, NOTE_FILTER_BEFORE);
}

apr_status_t sc_first_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    sc_note_handler_once(r);
    sc_note_filters_before_copy(r);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

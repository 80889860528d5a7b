/*
 * sc_conftree.c: reading httpd's parsed configuration tree at start-up
 * (sc_conftree.h): sections, their paths and lines, directives set On.
 */
#include "sc_conftree.h"

#include <apr_lib.h>
#include <apr_strings.h>

int sc_tree_is(const ap_directive_t *d, const char *name)
{
    return !strcasecmp(d->directive, name);
}

void sc_tree_rewrite_args(apr_pool_t *p, const char *args, const char *word[3])
{
    char *s = apr_pstrdup(p, args ? args : "");
    int i;

    for (i = 0; i < 3; i++) {
        char quote = '\0';

        while (apr_isspace(*s)) {
            s++;
        }
        if (*s == '"' || *s == '\'') {
            quote = *s++;
        }
        word[i] = s;
        while (*s && (quote ? *s != quote : !apr_isspace(*s))) {
            /* "\ " is a blank inside the word, kept as written */
            s += *s == '\\' && apr_isspace(s[1]) ? 2 : 1;
        }
        if (*s) {
            *s++ = '\0';
        }
    }
}

apr_array_header_t *sc_tree_rewrite_flag_values(apr_pool_t *p,
                                                const char *flags,
                                                const char *const *names)
{
    apr_array_header_t *values = apr_array_make(p, 1, sizeof(const char *));
    char *list = apr_pstrdup(p, flags), *flag, *last;
    apr_size_t len = strlen(list);

    if (len && list[len - 1] == ']') {
        list[len - 1] = '\0';
    }
    if (*list == '[') {
        list++;
    }
    for (flag = apr_strtok(list, ",", &last); flag;
         flag = apr_strtok(NULL, ",", &last)) {
        char *end, *value = strchr(flag, '=');
        const char *const *n;

        if (value) {
            *value++ = '\0';
        }
        while (apr_isspace(*flag)) {
            flag++;
        }
        for (end = flag + strlen(flag); end > flag && apr_isspace(end[-1]);) {
            *--end = '\0';
        }
        for (n = names; *n; n++) {
            if (!strcasecmp(flag, *n)) {
                APR_ARRAY_PUSH(values, const char *) = value ? value : "";
                break;
            }
        }
    }
    return values;
}

const char *sc_tree_rewrite_flag_value(apr_pool_t *p, const char *flags,
                                       const char *const *names)
{
    apr_array_header_t *values = sc_tree_rewrite_flag_values(p, flags, names);

    return values->nelts ? APR_ARRAY_IDX(values, 0, const char *) : NULL;
}

int sc_tree_rewrite_flag(apr_pool_t *p, const char *flags,
                         const char *const *names)
{
    return sc_tree_rewrite_flag_value(p, flags, names) != NULL;
}

const char *sc_tree_location_path(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args, *w;

    if (!sc_tree_is(d, "<Location")) {
        return NULL; /* <LocationMatch>: a regex, overlaps all */
    }
    w = ap_getword_conf(p, &args);
    if (*w && w[strlen(w) - 1] == '>') {
        w = apr_pstrndup(p, w, strlen(w) - 1);
    }
    /* <Location ~ "regex">, or a wildcard path httpd matches with
     * fnmatch (with a star, a question mark or brackets): may overlap all
     * (outside attack round 91) */
    return !strcmp(w, "~") || strpbrk(w, "*?[") ? NULL : w;
}

/* The first directive name of a list set to On, or NULL. */
const ap_directive_t *sc_tree_sets_on(apr_pool_t *p, const ap_directive_t *d,
                                      const char *name)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, name)) {
            const char *args = d->args;
            if (!strcasecmp(ap_getword_conf(p, &args), "On")) {
                return d;
            }
        }
    }
    return NULL;
}

int sc_code_hook(const char *directive)
{
    return !strncasecmp(directive, "LuaHook", 7)
           && strcasecmp(directive, "LuaHookLog");
}

const char *sc_tree_line(apr_pool_t *p, const ap_directive_t *d)
{
    return apr_psprintf(p, "%s:%d", d->filename, d->line_num);
}

void sc_tree_push(apr_pool_t *p, apr_array_header_t *list,
                  const ap_directive_t *d, const ap_directive_t *vhost)
{
    sc_section_t *s = apr_array_push(list);

    s->section = d;
    s->vhost = vhost;
    s->path = NULL;
    s->where = sc_tree_line(p, d);
}

/* Does <Location a> cover the URL b, as httpd matches it: a prefix that
 * ends at a '/' of either ("/app" covers "/app" and "/app/x", never
 * "/application")? */
static int covers(const char *a, const char *b)
{
    apr_size_t n = strlen(a);

    return !strncmp(a, b, n)
           && (n == 0 || a[n - 1] == '/' || b[n] == '/' || b[n] == '\0');
}

int sc_tree_overlap(const char *a, const char *b)
{
    if (!a || !b) {
        return 1; /* a regex: assume it may */
    }
    return covers(a, b) || covers(b, a);
}

/*
 * sc_conftree.h: what the start-up checks (sc_quickcheck.c and the
 * sc_quick*.c files it calls, sc_ttlcheck.c) read of httpd's parsed
 * configuration tree, and the sections they collect.
 */
#ifndef SC_CONFTREE_H
#define SC_CONFTREE_H

#include "httpd.h"
#include "http_config.h"
#include "util_cfgtree.h"
#include "sc_reads.h"
#include <apr_tables.h>

/* A section of the configuration a check names in its message. */
typedef struct {
    const ap_directive_t *section;
    const ap_directive_t *vhost; /* NULL: the main server */
    const char *path;            /* <Location> path, or NULL */
    const char *where;           /* "file:line" */
} sc_section_t;

/* Is d the directive (or section opener, "<Location") name? */
int sc_tree_is(const ap_directive_t *d, const char *name);
/* A <Location>'s path; NULL for a <LocationMatch> (a regex). */
const char *sc_tree_location_path(apr_pool_t *p, const ap_directive_t *d);
/* The first directive name of a list set to On, or NULL. */
const ap_directive_t *sc_tree_sets_on(apr_pool_t *p, const ap_directive_t *d,
                                      const char *name);
/* A RewriteRule's or RewriteCond's three arguments (word[0..2], "" when
 * absent) split as mod_rewrite splits them: each may be quoted with " or
 * ', and outside quotes a blank escaped with '\' is part of the word
 * ("%{REQUEST_URI}\ %{HTTP_USER_AGENT}" is one test string). */
void sc_tree_rewrite_args(apr_pool_t *p, const char *args, const char *word[3]);
/* The value of the flag of a RewriteRule's or RewriteCond's flag list
 * ("[L,R=301]", read as mod_rewrite reads it: each flag trimmed of blanks,
 * its name before any '=') named one of names (NULL ended, compared
 * without case: the short and the long spelling, "R" and "redirect"):
 * "" for a flag without a value; NULL if the list has none of them. */
const char *sc_tree_rewrite_flag_value(apr_pool_t *p, const char *flags,
                                       const char *const *names);
/* ... the values of every such flag, in order (mod_rewrite applies
 * each: "[E=a:1,E=!b]"). */
apr_array_header_t *sc_tree_rewrite_flag_values(apr_pool_t *p,
                                                const char *flags,
                                                const char *const *names);
/* Does a flag list hold one of names (sc_tree_rewrite_flag_value)? */
int sc_tree_rewrite_flag(apr_pool_t *p, const char *flags,
                         const char *const *names);
/* Is a directive named so a hook of code (mod_lua's LuaHook*, but
 * LuaHookLog, which runs after the response) that runs before the
 * handler?  It may route or change a request by anything it carries,
 * which no key can hold. */
int sc_code_hook(const char *directive);
/* "file:line" of d. */
const char *sc_tree_line(apr_pool_t *p, const ap_directive_t *d);
/* Push d (of virtual host vhost, NULL: the main server) onto a list of
 * sc_section_t, without a path. */
void sc_tree_push(apr_pool_t *p, apr_array_header_t *list,
                  const ap_directive_t *d, const ap_directive_t *vhost);
/* May two paths (NULL: a regex) cover the same URL? */
int sc_tree_overlap(const char *a, const char *b);

/* --- sc_quickmethod.c --- */

/* Is an ap_expr condition made only of tests of the method, and does it
 * hold alike for GET and HEAD (the quick handler's methods)? */
int sc_quick_method_same(apr_pool_t *p, const char *expr);
/* Does a regex match str (compiled here with ICASE or not, whatever
 * RegexDefaultOptions says now: it may have said otherwise where the
 * regex is); -1: it does not compile. */
int sc_quick_regex(apr_pool_t *p, const char *re, const char *str, int icase);

/* --- sc_quickrules.c (what a text reads: sc_reads.h) --- */

/* What the condition of a conditional section (<If>, <ElseIf>, <Else>)
 * reads; *chain carries what those before it in its chain read (an
 * <Else> picks the clients theirs do not). */
sc_reads_t sc_quick_cond_reads(apr_pool_t *p, const ap_directive_t *d,
                               sc_reads_t *chain);
/* Read which variables of the configuration tree only rules on the URL
 * set, and which RewriteMaps are int: ones, for the reads below (before
 * them: a variable such a rule sets is then read as the URL is, any other
 * as what a client is). */
void sc_quick_routes_prepare(apr_pool_t *p, const ap_directive_t *tree);
/* Does a regex ("!" negating it) match str (one that does not compile
 * here may)? */
int sc_rule_pattern_matches(apr_pool_t *p, const char *pattern, const char *str,
                            int nocase);
/* What a rule's text (a test string, a substitution, flags) reads. */
sc_reads_t sc_rule_text_reads(const char *s);
/* Does a text look a value up in a map other than an int: one? */
int sc_rule_reads_map(const char *s);
/* What a RewriteCond's test may differ by from client to client. */
sc_reads_t sc_rule_cond_reads(apr_pool_t *p, const char *test,
                              const char *pattern, int nocase);
/* Does a RewriteCond read what changes without a reload: 1 a map or a
 * flag file, 2 the request's own file only, 0 neither? */
int sc_rule_cond_state(const char *test, const char *pattern);
/* Does a RewriteRule's flag list refuse ([F], [G], a status that is not
 * a redirect); decide whether the rules after it run ([C], [S], [L],
 * [END], [N]); end the rules ([L], [END]); match without case ([NC])? */
int sc_rule_refuses(apr_pool_t *p, const char *flags);
/* Is a status (a Redirect's, a RewriteRule's [R=]) one that is no
 * redirect (403, 0503: a refusal)? */
int sc_status_refuses(const char *status);
int sc_rule_flow_flags(apr_pool_t *p, const char *flags);
int sc_rule_stops(apr_pool_t *p, const char *flags);
int sc_rule_nocase(apr_pool_t *p, const char *flags);
/* How many of the rules after a RewriteRule (its arguments) its match
 * decides on: the next with [C], n with [S=n]. */
int sc_rule_reached(apr_pool_t *p, const char *args);

/* --- sc_quickroutes.c --- */

/* RewriteRules that route by what the client sends (into routes, if not
 * NULL), and those that refuse some clients, or route or mark them by what
 * they are (into denying, if not NULL). */
void sc_quick_routes(apr_pool_t *p, const ap_directive_t *d,
                     const ap_directive_t *vhost, apr_array_header_t *routes,
                     apr_array_header_t *denying);

/* --- sc_quickderive.c --- */

/* Sections that derive variables or headers from the request after the
 * quick phase: from what a client sends (into said), from what it is
 * (into refused); either may be NULL. */
void sc_quick_derivers(apr_pool_t *p, const ap_directive_t *d,
                       const ap_directive_t *vhost, int in_section,
                       apr_array_header_t *said, apr_array_header_t *refused);
/* mod_headers' Header directives with a condition (env=, expr=), into
 * found: checked for the client whose request stored an entry only. */
void sc_quick_header_conditions(apr_pool_t *p, const ap_directive_t *d,
                                const ap_directive_t *vhost,
                                apr_array_header_t *found);

/* --- sc_quickacts.c --- */

/* Gather what the checks below need of the whole tree (the names
 * <AuthzProviderAlias> gives, the variables later rules take away);
 * sc_quick_acts_done forgets it. */
void sc_quick_acts_prepare(apr_pool_t *p, const ap_directive_t *tree);
void sc_quick_acts_done(void);
/* Access rules that let some clients in and not others, in a list. */
int sc_quick_restricts(apr_pool_t *p, const ap_directive_t *d);
/* Rules of a list that refuse some clients by what they send or are,
 * which an anonymous client (the probe) passes. */
int sc_quick_denies(apr_pool_t *p, const ap_directive_t *d);
/* An <If>, <ElseIf> or <Else>? */
int sc_quick_is_conditional(const ap_directive_t *d);
/* What a conditional section does to the clients its condition picks:
 * refuses some (any access rule) or routes them by what they are
 * (SC_IF_DENIES), marks them so (SC_IF_MARKS), routes or marks them by
 * what they send (SC_IF_SENT); *chain as sc_quick_cond_reads. */
enum { SC_IF_DENIES = 1, SC_IF_MARKS = 2, SC_IF_SENT = 4 };
unsigned sc_quick_if_kind(apr_pool_t *p, const ap_directive_t *d,
                          sc_reads_t *chain);
/* The kinds of the conditional sections of a list, at any depth. */
unsigned sc_quick_if_kinds(apr_pool_t *p, const ap_directive_t *d);

/* --- sc_quickcheck.c --- */

/* The sections sc_quick_collect() finds: quick ones, those with access
 * rules (guarded), and, when asked for, those that deny some clients
 * (denying) or mark them by what they are (marking), and <If>s on what a
 * client sends (said). */
typedef struct {
    apr_array_header_t *quick, *guarded, *denying, *marking;
    apr_array_header_t *said;
} sc_quick_found_t;
void sc_quick_collect(apr_pool_t *p, const ap_directive_t *d,
                      const ap_directive_t *vhost, const sc_quick_found_t *f);

#endif

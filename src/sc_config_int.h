/*
 * sc_config_int.h: what the configuration's files share among themselves
 * (sc_config.c, sc_config_words.c, sc_config_server.c); the rest of the
 * module sees sc_config.h only.
 */
#ifndef SC_CONFIG_INT_H
#define SC_CONFIG_INT_H

#include "sc_config.h"

/* --- sc_config_words.c: one word of a directive; an error names it --- */

/* A whole number from min to max. */
const char *sc_word_int(cmd_parms *cmd, const char *arg, apr_int64_t min,
                        apr_int64_t max, apr_int64_t *out);
/* Bytes: a number, optionally with K, M or G. */
const char *sc_word_size(cmd_parms *cmd, const char *arg, apr_off_t *out);
/* A status that may be stored, added to *table (made if NULL). */
const char *sc_word_statuses(cmd_parms *cmd, const char *arg,
                             unsigned char **table);
/* Append text to the list in field (made if NULL). */
void sc_word_push(cmd_parms *cmd, void *field, const char *text);

/* The .parse functions of sc_directives.def: field is the directive's
 * field in the directory config. */
const char *sc_word_cookie(cmd_parms *cmd, void *field, const char *arg);
const char *sc_word_header(cmd_parms *cmd, void *field, const char *arg);
const char *sc_word_glob(cmd_parms *cmd, void *field, const char *arg);
const char *sc_word_expr(cmd_parms *cmd, void *field, const char *arg);
const char *sc_word_header_name(cmd_parms *cmd, void *field, const char *arg);
const char *sc_word_namespace(cmd_parms *cmd, void *field, const char *arg);
const char *sc_word_esi_mode(cmd_parms *cmd, void *field, const char *arg);
const char *sc_word_local_ttl(cmd_parms *cmd, void *field, const char *arg);
const char *sc_word_esi_token(cmd_parms *cmd, void *field, const char *arg);

/* --- sc_config_server.c: the server directives (the command table's) --- */

sc_server_conf_t *sc_server_conf_of(cmd_parms *cmd);
const char *sc_server_servers(cmd_parms *cmd, void *field, const char *arg);
const char *sc_server_timeout(cmd_parms *cmd, void *dummy, const char *arg);
const char *sc_server_retry(cmd_parms *cmd, void *dummy, const char *arg);
const char *sc_server_prefix(cmd_parms *cmd, void *dummy, const char *arg);
const char *sc_server_local(cmd_parms *cmd, void *dummy, const char *arg);
const char *sc_server_keep_decoded(cmd_parms *cmd, void *dummy,
                                   const char *arg);
/* post_config: every server's backends (an error is logged). */
int sc_server_post(apr_pool_t *pconf, server_rec *s);

#endif

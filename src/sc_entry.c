/*
 * sc_entry.c: encode and decode the entry record (see sc_entry.h).
 */
#include "sc_entry.h"
#include "sc_key.h"
#include "sc_record.h"

#include <apr_strings.h>
#include <string.h>

static const char entry_magic[4] = { 'S', 'C', 'E', SC_ENTRY_FORMAT };
static const char chunk_magic[4] = { 'S', 'C', 'C', SC_CHUNK_FORMAT };

/* ---- writing ---------------------------------------------------------- */

static int field_ok(const char *s, int is_name)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n' || (is_name && (*s == ':' || *s == ' '))) {
            return 0;
        }
    }
    return 1;
}

/* The codings fill the body exactly, gzip first (identity is decoded
 * from it), then br if any; the decoded length within the bounds of any
 * body. */
static int codings_ok(const sc_entry_t *e)
{
    apr_uint64_t gz = e->coding_len[SC_CODING_GZIP];

    if (!(e->codings & SC_CODING_BIT(SC_CODING_GZIP))
        || e->identity_len > SC_ENTRY_MAX_BODY
        || e->coding_off[SC_CODING_GZIP] != 0 || gz > e->body_len) {
        return 0;
    }
    if (!(e->codings & SC_CODING_BIT(SC_CODING_BR))) {
        return gz == e->body_len;
    }
    return e->coding_off[SC_CODING_BR] == gz
           && e->coding_len[SC_CODING_BR] == e->body_len - gz;
}

static void write_codings(sc_rec_writer_t *w, const sc_entry_t *e)
{
    int c, n = 0;

    for (c = 0; c < SC_CODINGS; c++) {
        n += (e->codings & SC_CODING_BIT(c)) != 0;
    }
    sc_rec_put_uint(w, (apr_uint64_t)n, 1);
    for (c = 0; c < SC_CODINGS; c++) {
        if (e->codings & SC_CODING_BIT(c)) {
            sc_rec_put_uint(w, (apr_uint64_t)c, 1);
            sc_rec_put_uint(w, e->coding_off[c], 8);
            sc_rec_put_uint(w, e->coding_len[c], 8);
        }
    }
    sc_rec_put_uint(w, e->identity_len, 8);
}

/* Two passes over the same code (sc_rec_build): the first measures. */
static void write_head(sc_rec_writer_t *w, const void *what)
{
    const sc_entry_t *e = what;
    int i;
    int nh = e->headers ? e->headers->nelts : 0;
    int nd = e->deps ? e->deps->nelts : 0;

    sc_rec_put_bytes(w, entry_magic, 3);
    sc_rec_put_uint(w,
                    e->codings  ? SC_ENTRY_FORMAT_CODED
                    : e->pieces ? SC_ENTRY_FORMAT_PIECE
                                : SC_ENTRY_FORMAT,
                    1);
    sc_rec_put_uint(w, (apr_uint64_t)e->type, 1);
    sc_rec_put_uint(w, e->local > 255 ? 255 : e->local, 1);
    sc_rec_put_uint(w, (apr_uint64_t)e->status, 2);
    sc_rec_put_uint(w, (apr_uint64_t)e->stored_at, 8);
    sc_rec_put_uint(w, (apr_uint64_t)e->fresh_until, 8);
    sc_rec_put_uint(w, (apr_uint64_t)e->stale_until, 8);
    sc_rec_put_uint(w, (apr_uint64_t)e->error_until, 8);
    sc_rec_put_uint(w, e->flags, 4);
    sc_rec_put_uint(w, e->key_len, 4);
    sc_rec_put_bytes(w, e->key, e->key_len);
    sc_rec_put_uint(w, (apr_uint64_t)nh, 2);
    for (i = 0; i < nh; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        apr_size_t nl = strlen(h->name), vl = strlen(h->value);
        sc_rec_put_uint(w, nl, 2);
        sc_rec_put_bytes(w, h->name, nl);
        sc_rec_put_uint(w, vl, 4);
        sc_rec_put_bytes(w, h->value, vl);
    }
    sc_rec_put_uint(w, (apr_uint64_t)nd, 2);
    for (i = 0; i < nd; i++) {
        const sc_dep_t *d = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);
        apr_size_t nl = strlen(d->name);
        sc_rec_put_uint(w, nl, 2);
        sc_rec_put_bytes(w, d->name, nl);
        sc_rec_put_uint(w, d->gen, 8);
    }
    if (e->codings) {
        write_codings(w, e);
    }
    else if (e->pieces) {
        sc_rec_put_uint(w, (apr_uint64_t)e->pieces->nelts, 2);
        for (i = 0; i < e->pieces->nelts; i++) {
            const sc_entry_piece_t *pc = &APR_ARRAY_IDX(e->pieces, i,
                                                        sc_entry_piece_t);
            sc_rec_put_uint(w, pc->len, 4);
            sc_rec_put_bytes(w, pc->data, pc->len);
        }
    }
    sc_rec_put_uint(w, (apr_uint64_t)e->body_kind, 1);
    sc_rec_put_uint(w, e->body_len, 8);
    if (e->body_kind == SC_BODY_CHUNKED) {
        sc_rec_put_uint(w, e->chunk_size, 4);
        sc_rec_put_uint(w, e->nchunks, 4);
        sc_rec_put_uint(w, e->version, 8);
    }
}

/* Pieces only without codings, with an inline body: 1 to
 * SC_ENTRY_MAX_PIECES of them, none empty. */
static int pieces_ok(const sc_entry_t *e)
{
    int i;

    if (e->codings || e->body_kind != SC_BODY_INLINE || e->pieces->nelts < 1
        || e->pieces->nelts > SC_ENTRY_MAX_PIECES) {
        return 0;
    }
    for (i = 0; i < e->pieces->nelts; i++) {
        const sc_entry_piece_t *pc = &APR_ARRAY_IDX(e->pieces, i,
                                                    sc_entry_piece_t);
        if (!pc->data || pc->len == 0 || pc->len > 0xffffffffu) {
            return 0;
        }
    }
    return 1;
}

/* Times are unix seconds in [0, SC_TIME_MAX]: their differences can never
 * overflow, whatever a record holds. */
static int times_ok(const sc_entry_t *e)
{
    return e->stored_at >= 0 && e->stored_at <= SC_TIME_MAX
           && e->fresh_until >= 0 && e->fresh_until <= SC_TIME_MAX
           && e->stale_until >= 0 && e->stale_until <= SC_TIME_MAX
           && e->error_until >= 0 && e->error_until <= SC_TIME_MAX;
}

apr_status_t sc_entry_encode_head(apr_pool_t *p, const sc_entry_t *e,
                                  char **out, apr_size_t *len)
{
    int i;

    if (!times_ok(e)) {
        return SC_EBADREC;
    }
    if (e->key_len > 0xffffffffu || e->status < 100 || e->status > 599
        || (e->headers && e->headers->nelts > SC_ENTRY_MAX_HEADERS)
        || (e->deps && e->deps->nelts > SC_ENTRY_MAX_DEPS)
        || (e->codings && !codings_ok(e)) || (e->pieces && !pieces_ok(e))) {
        return SC_EBADREC;
    }
    for (i = 0; e->headers && i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!*h->name || !field_ok(h->name, 1) || !field_ok(h->value, 0)
            || strlen(h->name) > 0xffff) {
            return SC_EBADREC;
        }
    }
    for (i = 0; e->deps && i < e->deps->nelts; i++) {
        const sc_dep_t *d = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);
        /* A dependency may name a decoded path: any byte but NUL. */
        if (strlen(d->name) > 0xffff) {
            return SC_EBADREC;
        }
    }
    sc_rec_build(p, write_head, e, out, len);
    return APR_SUCCESS;
}

/* ---- reading ---------------------------------------------------------- */

/* A copied string that holds no NUL (and, for header fields, no CR/LF). */
static const char *get_string(sc_rec_reader_t *r, apr_pool_t *p, int width,
                              int check)
{
    apr_size_t n = (apr_size_t)sc_rec_get_uint(r, width);
    const char *s = sc_rec_get_bytes(r, n);

    if (!s) {
        return NULL;
    }
    if (memchr(s, '\0', n)
        || (check && (memchr(s, '\r', n) || memchr(s, '\n', n)))) {
        r->bad = 1;
        return NULL;
    }
    return apr_pstrmemdup(p, s, n);
}

static void read_codings(sc_rec_reader_t *r, sc_entry_t *e)
{
    int i, n = (int)sc_rec_get_uint(r, 1);

    for (i = 0; i < n && !r->bad; i++) {
        int c = (int)sc_rec_get_uint(r, 1);
        apr_uint64_t off = sc_rec_get_uint(r, 8), len = sc_rec_get_uint(r, 8);
        if (c <= SC_CODING_IDENTITY || c >= SC_CODINGS
            || (e->codings & SC_CODING_BIT(c))) {
            r->bad = 1;
            return;
        }
        e->codings |= SC_CODING_BIT(c);
        e->coding_off[c] = off;
        e->coding_len[c] = len;
    }
    e->identity_len = sc_rec_get_uint(r, 8);
}

void sc_entry_piece_add(apr_pool_t *p, apr_array_header_t **pieces,
                        const char *data, apr_size_t len)
{
    sc_entry_piece_t *pc;

    if (!*pieces) {
        *pieces = apr_array_make(p, 4, sizeof(sc_entry_piece_t));
    }
    pc = apr_array_push(*pieces);
    pc->data = data;
    pc->len = len;
}

static void read_pieces(sc_rec_reader_t *r, apr_pool_t *p, sc_entry_t *e)
{
    int i, n = (int)sc_rec_get_uint(r, 2);

    if (r->bad || n < 1 || n > SC_ENTRY_MAX_PIECES) {
        r->bad = 1;
        return;
    }
    for (i = 0; i < n && !r->bad; i++) {
        apr_size_t len = (apr_size_t)sc_rec_get_uint(r, 4);
        const char *data = sc_rec_get_bytes(r, len);
        if (len == 0 || !data) {
            r->bad = 1;
        }
        else {
            sc_entry_piece_add(p, &e->pieces, data, len);
        }
    }
}

apr_status_t sc_entry_decode(apr_pool_t *p, const char *buf, apr_size_t len,
                             sc_entry_t *e)
{
    sc_rec_reader_t r = { (const unsigned char *)buf, len, 0 };
    const char *magic = sc_rec_get_bytes(&r, 4);
    int i, n;

    memset(e, 0, sizeof(*e));
    if (!magic || memcmp(magic, entry_magic, 3) != 0
        || (magic[3] != SC_ENTRY_FORMAT && magic[3] != SC_ENTRY_FORMAT_CODED
            && magic[3] != SC_ENTRY_FORMAT_PIECE)) {
        return SC_EBADREC;
    }
    e->type = (int)sc_rec_get_uint(&r, 1);
    e->local = (unsigned)sc_rec_get_uint(&r, 1);
    e->status = (int)sc_rec_get_uint(&r, 2);
    e->stored_at = (apr_int64_t)sc_rec_get_uint(&r, 8);
    e->fresh_until = (apr_int64_t)sc_rec_get_uint(&r, 8);
    e->stale_until = (apr_int64_t)sc_rec_get_uint(&r, 8);
    e->error_until = (apr_int64_t)sc_rec_get_uint(&r, 8);
    e->flags = (apr_uint32_t)sc_rec_get_uint(&r, 4);
    e->key_len = (apr_size_t)sc_rec_get_uint(&r, 4);
    e->key = sc_rec_get_bytes(&r, e->key_len);
    if (r.bad || (e->type != SC_REC_ENTRY && e->type != SC_REC_VARY)
        || e->status < 100 || e->status > 599 || !times_ok(e)) {
        return SC_EBADREC;
    }
    e->key = apr_pstrmemdup(p, e->key, e->key_len);

    n = (int)sc_rec_get_uint(&r, 2);
    if (n > SC_ENTRY_MAX_HEADERS) {
        return SC_EBADREC;
    }
    e->headers = apr_array_make(p, n ? n : 1, sizeof(sc_header_t));
    for (i = 0; i < n && !r.bad; i++) {
        sc_header_t *h = apr_array_push(e->headers);
        h->name = get_string(&r, p, 2, 1);
        h->value = get_string(&r, p, 4, 1);
        if (h->name && (!*h->name || !field_ok(h->name, 1))) {
            r.bad = 1;
        }
    }
    n = (int)sc_rec_get_uint(&r, 2);
    if (n > SC_ENTRY_MAX_DEPS) {
        return SC_EBADREC;
    }
    e->deps = apr_array_make(p, n ? n : 1, sizeof(sc_dep_t));
    for (i = 0; i < n && !r.bad; i++) {
        sc_dep_t *d = apr_array_push(e->deps);
        d->name = get_string(&r, p, 2, 0);
        d->gen = sc_rec_get_uint(&r, 8);
    }
    if (magic[3] == SC_ENTRY_FORMAT_CODED) {
        read_codings(&r, e);
    }
    else if (magic[3] == SC_ENTRY_FORMAT_PIECE) {
        read_pieces(&r, p, e);
    }
    e->body_kind = (int)sc_rec_get_uint(&r, 1);
    e->body_len = sc_rec_get_uint(&r, 8);
    if (r.bad || e->body_len > SC_ENTRY_MAX_BODY
        || (magic[3] == SC_ENTRY_FORMAT_CODED && !codings_ok(e))
        || (e->pieces && e->body_kind != SC_BODY_INLINE)) {
        return SC_EBADREC;
    }
    if (e->body_kind == SC_BODY_INLINE) {
        if (e->body_len != r.left) {
            return SC_EBADREC;
        }
        e->body = sc_rec_get_bytes(&r, r.left);
        return APR_SUCCESS;
    }
    if (e->body_kind != SC_BODY_CHUNKED) {
        return SC_EBADREC;
    }
    e->chunk_size = (apr_uint32_t)sc_rec_get_uint(&r, 4);
    e->nchunks = (apr_uint32_t)sc_rec_get_uint(&r, 4);
    e->version = sc_rec_get_uint(&r, 8);
    /* sc_chunk_count() is 0 for a body that cannot be chunked: never a
     * valid count, so an empty or overflowing chunk list is refused. */
    if (r.bad || r.left != 0 || e->chunk_size < SC_CHUNK_MIN || e->nchunks == 0
        || e->nchunks > SC_ENTRY_MAX_CHUNKS
        || e->nchunks != sc_chunk_count(e->body_len, e->chunk_size)) {
        return SC_EBADREC;
    }
    return APR_SUCCESS;
}

/* ---- chunks ----------------------------------------------------------- */

apr_uint32_t sc_chunk_count(apr_uint64_t body_len, apr_uint32_t chunk_size)
{
    apr_uint64_t n;

    if (chunk_size == 0) {
        return 0;
    }
    n = (body_len + chunk_size - 1) / chunk_size;
    return n > 0xffffffffu ? 0 : (apr_uint32_t)n;
}

void sc_chunk_head(char out[SC_CHUNK_HEAD_LEN], apr_uint64_t version,
                   apr_uint32_t index)
{
    sc_rec_writer_t w = { out, 0 };

    sc_rec_put_bytes(&w, chunk_magic, 4);
    sc_rec_put_uint(&w, version, 8);
    sc_rec_put_uint(&w, index, 4);
}

apr_status_t sc_chunk_check(const char *buf, apr_size_t len,
                            apr_uint64_t version, apr_uint32_t index,
                            apr_size_t expect, const char **data)
{
    char head[SC_CHUNK_HEAD_LEN];

    sc_chunk_head(head, version, index);
    if (len != SC_CHUNK_HEAD_LEN + expect
        || memcmp(buf, head, SC_CHUNK_HEAD_LEN) != 0) {
        return SC_EBADREC;
    }
    *data = buf + SC_CHUNK_HEAD_LEN;
    return APR_SUCCESS;
}

/* ---- reading a record back -------------------------------------------- */

apr_status_t sc_entry_match(apr_pool_t *p, const char *buf, apr_size_t len,
                            const char *key, apr_size_t key_len, sc_entry_t *e)
{
    apr_status_t rv;

    if (!buf) {
        memset(e, 0, sizeof(*e));
        return APR_ENOENT;
    }
    rv = sc_entry_decode(p, buf, len, e);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (e->key_len != key_len || memcmp(e->key, key, key_len) != 0) {
        return SC_EOTHERKEY;
    }
    return APR_SUCCESS;
}

int sc_entry_vary_live(const sc_entry_t *e, apr_int64_t now)
{
    return now < e->stale_until;
}

apr_array_header_t *sc_entry_vary_names(apr_pool_t *p, const sc_entry_t *e)
{
    int n = e->headers ? e->headers->nelts : 0, i;
    apr_array_header_t *names = apr_array_make(p, n + 1, sizeof(const char *));

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(names, const char *) =
            APR_ARRAY_IDX(e->headers, i, sc_header_t).name;
    }
    return names;
}

sc_dep_state_t sc_entry_dep_state(const sc_dep_t *d, int have, apr_uint64_t gen)
{
    if (!have) {
        return SC_DEP_GONE;
    }
    if (gen == d->gen) {
        return SC_DEP_CURRENT;
    }
    /* A flush is never soft: another namespace's entries must not be
     * served, not even STALE; nor is a server's new incarnation (a fence:
     * the entry may have missed an invalidation). */
    if ((d->name[0] == SC_DEP_NAMESPACE || d->name[0] == SC_DEP_SERVER)
        && d->name[1] == ':') {
        return SC_DEP_GONE;
    }
    /* Soft only when invalidations incremented the very counter the entry
     * recorded.  A counter deleted (PURGE, eviction) and created again has
     * a new random 62-bit value, almost never within 2^32 above the old:
     * that is as hard as the deletion itself. */
    return gen > d->gen && gen - d->gen < ((apr_uint64_t)1 << 32) ? SC_DEP_MOVED
                                                                  : SC_DEP_GONE;
}

void sc_entry_usable(const sc_entry_t *e, apr_int64_t now, int moved,
                     int soft_ok, int quick, sc_usable_t *out)
{
    out->fresh = now < e->fresh_until && !moved;
    out->grace_ok = out->error_ok = 0;
    if (out->fresh || quick || (e->flags & SC_EF_NO_STALE)
        || (moved && !soft_ok)) {
        return;
    }
    out->grace_ok = e->stale_until > e->fresh_until && now < e->stale_until;
    out->error_ok = now < e->error_until;
}

int sc_entry_validated(const sc_entry_t *e)
{
    int i;

    for (i = 0; e->headers && i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        if (!strcasecmp(h->name, "ETag")
            || !strcasecmp(h->name, "Last-Modified")) {
            return 1;
        }
    }
    return 0;
}

const char **sc_entry_chunk_keys(apr_pool_t *p, const char *prefix,
                                 const sc_entry_t *e)
{
    const char **keys = apr_palloc(p, (e->nchunks ? e->nchunks : 1)
                                          * sizeof(char *));
    apr_uint32_t i;

    for (i = 0; i < e->nchunks; i++) {
        keys[i] = sc_chunk_key(p, prefix, e->key, e->key_len, e->version, i);
    }
    return keys;
}

apr_size_t sc_entry_chunk_len(const sc_entry_t *e, apr_uint32_t index)
{
    apr_uint64_t start = (apr_uint64_t)index * e->chunk_size;

    if (start >= e->body_len) {
        return 0;
    }
    return e->body_len - start > e->chunk_size
               ? (apr_size_t)e->chunk_size
               : (apr_size_t)(e->body_len - start);
}

apr_status_t sc_entry_chunk(const sc_entry_t *e, apr_uint32_t index,
                            const char *buf, apr_size_t len, const char **data,
                            apr_size_t *data_len)
{
    apr_size_t want = sc_entry_chunk_len(e, index);

    if (!buf) {
        return APR_ENOENT;
    }
    if (index >= e->nchunks
        || sc_chunk_check(buf, len, e->version, index, want, data)
               != APR_SUCCESS) {
        return SC_EBADREC;
    }
    *data_len = want;
    return APR_SUCCESS;
}

const char *sc_header_value(const apr_array_header_t *hs, const char *name)
{
    int i;

    for (i = 0; hs && i < hs->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(hs, i, sc_header_t);
        if (!strcasecmp(h->name, name)) {
            return h->value;
        }
    }
    return NULL;
}

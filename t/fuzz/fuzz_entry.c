/*
 * fuzz_entry.c: libFuzzer target for the binary record parser
 * (src/sc_entry.c; THREATS.md 14 and 29).
 *
 * The input is a record as read from memcached.  sc_entry_decode() must
 * refuse it or return an entry that keeps the documented invariants; a
 * decoded entry re-encoded with sc_entry_encode_head() must give back
 * the same bytes (the local TTL byte included) and decode to the same
 * entry.
 * The same bytes are then checked as a chunk with sc_chunk_check().
 *
 * Built with -DFUZZ_CALLER_LIMITS it also checks what the module's own
 * callers assume of a decoded entry (sc_lookup.c, sc_handler.c,
 * sharedcachectl): a bounded number of chunks and timestamps whose
 * differences with the clock cannot overflow.  Off by default: these are
 * limits the decoder does not promise today (see t/fuzz/README.md).
 */
#include "fuzz.h"

#include "sc_entry.h"

static apr_uint64_t be(const uint8_t *p, int width)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < width; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static int has_byte(const char *s, size_t n, char c)
{
    return memchr(s, c, n) != NULL;
}

static void check_entry(const sc_entry_t *e, const uint8_t *data, size_t size)
{
    int i;

    FUZZ_CHECK(e->type == SC_REC_ENTRY || e->type == SC_REC_VARY);
    FUZZ_CHECK(e->status >= 100 && e->status <= 599);
    FUZZ_CHECK(e->key != NULL && e->key_len <= size);
    FUZZ_CHECK(e->headers != NULL && e->deps != NULL);
    FUZZ_CHECK(e->headers->nelts <= SC_ENTRY_MAX_HEADERS);
    FUZZ_CHECK(e->deps->nelts <= SC_ENTRY_MAX_DEPS);
    for (i = 0; i < e->headers->nelts; i++) {
        const sc_header_t *h = &APR_ARRAY_IDX(e->headers, i, sc_header_t);
        size_t nl, vl;

        FUZZ_CHECK(h->name != NULL && h->value != NULL);
        nl = strlen(h->name);
        vl = strlen(h->value);
        FUZZ_CHECK(nl > 0 && nl <= 0xffff && nl <= size && vl <= size);
        FUZZ_CHECK(!has_byte(h->name, nl, '\r') && !has_byte(h->name, nl, '\n')
                   && !has_byte(h->name, nl, ':')
                   && !has_byte(h->name, nl, ' '));
        FUZZ_CHECK(!has_byte(h->value, vl, '\r')
                   && !has_byte(h->value, vl, '\n'));
    }
    for (i = 0; i < e->deps->nelts; i++) {
        const sc_dep_t *d = &APR_ARRAY_IDX(e->deps, i, sc_dep_t);

        FUZZ_CHECK(d->name != NULL && strlen(d->name) <= 0xffff);
    }
    FUZZ_CHECK(e->body_len <= SC_ENTRY_MAX_BODY);
    if (e->body_kind == SC_BODY_INLINE) {
        FUZZ_CHECK(e->body_len <= size);
        FUZZ_CHECK((const uint8_t *)e->body == data + size - e->body_len);
    }
    else {
        FUZZ_CHECK(e->body_kind == SC_BODY_CHUNKED);
        FUZZ_CHECK(e->chunk_size > 0 && e->nchunks > 0);
        FUZZ_CHECK(e->nchunks == sc_chunk_count(e->body_len, e->chunk_size));
        /* every chunk but the last is full, the last is not empty */
        FUZZ_CHECK((apr_uint64_t)(e->nchunks - 1) * e->chunk_size
                   < e->body_len);
        FUZZ_CHECK(e->body_len <= (apr_uint64_t)e->nchunks * e->chunk_size);
    }
}

#ifdef FUZZ_CALLER_LIMITS
/* The writer (sc_capture.c) uses chunks of SC_ITEM_MAX - SC_CHUNK_HEAD_LEN
 * bytes: at most this many for the largest body a record may describe. */
#define WRITER_CHUNK (1000 * 1000 - SC_CHUNK_HEAD_LEN)
#define MAX_NCHUNKS ((apr_uint32_t)(SC_ENTRY_MAX_BODY / WRITER_CHUNK + 1))

static void check_caller_limits(const sc_entry_t *e)
{
    /* any clock from 1970 to the year 36812 */
    static const apr_int64_t nows[] = { 0, 1700000000, (apr_int64_t)1 << 40 };
    apr_int64_t d;
    size_t i;

    if (e->body_kind == SC_BODY_CHUNKED) {
        /* sc_lookup.c fetch_chunks(): nchunks keys allocated and fetched */
        FUZZ_CHECK(e->nchunks <= MAX_NCHUNKS);
    }
    for (i = 0; i < sizeof(nows) / sizeof(nows[0]); i++) {
        /* sc_handler.c sc_restore_response(): now - stored_at */
        FUZZ_CHECK(!__builtin_sub_overflow(nows[i], e->stored_at, &d));
        /* sharedcachectl: fresh_until - now, stale_until - now */
        FUZZ_CHECK(!__builtin_sub_overflow(e->fresh_until, nows[i], &d));
        FUZZ_CHECK(!__builtin_sub_overflow(e->stale_until, nows[i], &d));
    }
    /* sharedcachectl: stale_until - fresh_until */
    FUZZ_CHECK(!__builtin_sub_overflow(e->stale_until, e->fresh_until, &d));
}
#endif

static void check_same(const sc_entry_t *a, const sc_entry_t *b)
{
    int i;

    FUZZ_CHECK(a->type == b->type && a->status == b->status);
    FUZZ_CHECK(a->stored_at == b->stored_at && a->fresh_until == b->fresh_until
               && a->stale_until == b->stale_until
               && a->error_until == b->error_until);
    FUZZ_CHECK(a->flags == b->flags && a->local == b->local);
    FUZZ_CHECK(a->key_len == b->key_len
               && memcmp(a->key, b->key, a->key_len) == 0);
    FUZZ_CHECK(a->headers->nelts == b->headers->nelts);
    for (i = 0; i < a->headers->nelts; i++) {
        const sc_header_t *x = &APR_ARRAY_IDX(a->headers, i, sc_header_t);
        const sc_header_t *y = &APR_ARRAY_IDX(b->headers, i, sc_header_t);
        FUZZ_CHECK(strcmp(x->name, y->name) == 0
                   && strcmp(x->value, y->value) == 0);
    }
    FUZZ_CHECK(a->deps->nelts == b->deps->nelts);
    for (i = 0; i < a->deps->nelts; i++) {
        const sc_dep_t *x = &APR_ARRAY_IDX(a->deps, i, sc_dep_t);
        const sc_dep_t *y = &APR_ARRAY_IDX(b->deps, i, sc_dep_t);
        FUZZ_CHECK(strcmp(x->name, y->name) == 0 && x->gen == y->gen);
    }
    FUZZ_CHECK(!a->pieces == !b->pieces);
    for (i = 0; a->pieces && i < a->pieces->nelts; i++) {
        const sc_entry_piece_t *x = &APR_ARRAY_IDX(a->pieces, i,
                                                   sc_entry_piece_t);
        const sc_entry_piece_t *y = &APR_ARRAY_IDX(b->pieces, i,
                                                   sc_entry_piece_t);
        FUZZ_CHECK(a->pieces->nelts == b->pieces->nelts && x->len == y->len
                   && memcmp(x->data, y->data, x->len) == 0);
    }
    FUZZ_CHECK(a->body_kind == b->body_kind && a->body_len == b->body_len);
    if (a->body_kind == SC_BODY_INLINE && a->body_len > 0) {
        FUZZ_CHECK(memcmp(a->body, b->body, (size_t)a->body_len) == 0);
    }
    else if (a->body_kind == SC_BODY_CHUNKED) {
        FUZZ_CHECK(a->chunk_size == b->chunk_size && a->nchunks == b->nchunks
                   && a->version == b->version);
    }
}

static void round_trip(apr_pool_t *p, const sc_entry_t *e, const uint8_t *data,
                       size_t size)
{
    char *head, *rec;
    apr_size_t hlen, body = 0, i;
    sc_entry_t again;

    FUZZ_CHECK(sc_entry_encode_head(p, e, &head, &hlen) == APR_SUCCESS);
    if (e->body_kind == SC_BODY_INLINE) {
        body = (apr_size_t)e->body_len;
    }
    FUZZ_CHECK(hlen + body == size);
    for (i = 0; i < hlen; i++) {
        FUZZ_CHECK(head[i] == (char)data[i]);
    }
    rec = malloc(size ? size : 1);
    if (!rec) {
        abort();
    }
    memcpy(rec, head, hlen);
    if (body) {
        memcpy(rec + hlen, e->body, body);
    }
    FUZZ_CHECK(sc_entry_decode(p, rec, size, &again) == APR_SUCCESS);
    check_entry(&again, (const uint8_t *)rec, size);
    check_same(e, &again);
    free(rec);
}

static void check_chunk(const uint8_t *data, size_t size)
{
    static const char magic[4] = { 'S', 'C', 'C', SC_CHUNK_FORMAT };
    const char *buf = (const char *)data;
    apr_uint64_t version = 0;
    apr_uint32_t index = 0;
    const char *out = NULL;
    int good_head;
    char head[SC_CHUNK_HEAD_LEN];

    if (size >= SC_CHUNK_HEAD_LEN) {
        version = be(data + 4, 8);
        index = (apr_uint32_t)be(data + 12, 4);
    }
    sc_chunk_head(head, version, index);
    FUZZ_CHECK(memcmp(head, magic, 4) == 0);
    FUZZ_CHECK((apr_uint64_t)be((const uint8_t *)head + 4, 8) == version);
    good_head = size >= SC_CHUNK_HEAD_LEN
                && memcmp(data, head, SC_CHUNK_HEAD_LEN) == 0;

    /* The data length a caller expects is at most a chunk size (32 bits):
     * try the right one and its neighbours. */
    if (size >= SC_CHUNK_HEAD_LEN) {
        apr_size_t want = size - SC_CHUNK_HEAD_LEN;

        FUZZ_CHECK((sc_chunk_check(buf, size, version, index, want, &out)
                    == APR_SUCCESS)
                   == good_head);
        if (good_head) {
            FUZZ_CHECK(out == buf + SC_CHUNK_HEAD_LEN);
        }
        FUZZ_CHECK(sc_chunk_check(buf, size, version, index, want + 1, &out)
                   == SC_EBADREC);
        if (want > 0) {
            FUZZ_CHECK(sc_chunk_check(buf, size, version, index, want - 1, &out)
                       == SC_EBADREC);
        }
        FUZZ_CHECK(sc_chunk_check(buf, size, version + 1, index, want, &out)
                   == SC_EBADREC);
        FUZZ_CHECK(sc_chunk_check(buf, size, version, index + 1, want, &out)
                   == SC_EBADREC);
    }
    else {
        FUZZ_CHECK(sc_chunk_check(buf, size, version, index, 0, &out)
                   == SC_EBADREC);
    }
    FUZZ_CHECK(sc_chunk_check(buf, size, version, index, 0xffffffffu, &out)
               == SC_EBADREC);
}

/* The input read the other way round: NUL-separated header name, value
 * and dependency name encoded into a record.  sc_entry_encode_head()
 * must refuse exactly what sc_entry_decode() would refuse to read back. */
static void check_encode(apr_pool_t *p, const uint8_t *data, size_t size)
{
    char *f[3];
    sc_entry_t e, back;
    sc_header_t *h;
    sc_dep_t *d;
    char *head;
    apr_size_t hlen;
    int ok;

    fuzz_split(data, size, f, 3);
    memset(&e, 0, sizeof(e));
    e.type = SC_REC_ENTRY;
    e.status = 200;
    e.key = "";
    e.headers = apr_array_make(p, 1, sizeof(sc_header_t));
    e.deps = apr_array_make(p, 1, sizeof(sc_dep_t));
    h = apr_array_push(e.headers);
    h->name = f[0];
    h->value = f[1] ? f[1] : "";
    d = apr_array_push(e.deps);
    d->name = f[2] ? f[2] : "";
    d->gen = size;
    e.body_kind = SC_BODY_INLINE;
    ok = *h->name && strlen(h->name) <= 0xffff && strlen(d->name) <= 0xffff
         && !strpbrk(h->name, "\r\n: ") && !strpbrk(h->value, "\r\n");
    FUZZ_CHECK((sc_entry_encode_head(p, &e, &head, &hlen) == APR_SUCCESS)
               == ok);
    if (ok) {
        char *rec = malloc(hlen);

        if (!rec) {
            abort();
        }
        memcpy(rec, head, hlen);
        FUZZ_CHECK(sc_entry_decode(p, rec, hlen, &back) == APR_SUCCESS);
        check_entry(&back, (const uint8_t *)rec, hlen);
        check_same(&e, &back);
        free(rec);
    }
    fuzz_free_fields(f, 3);
}

/* What a lookup and sharedcachectl ask of a decoded entry: it matches its
 * own key (and no other), its chunks' lengths add up to its body, and the
 * freshness rules hold for any time. */
static void check_reading(apr_pool_t *p, const sc_entry_t *e,
                          const uint8_t *data, size_t size)
{
    sc_entry_t again;
    sc_usable_t u;
    apr_int64_t times[6];
    int i;

    FUZZ_CHECK(
        sc_entry_match(p, (const char *)data, size, e->key, e->key_len, &again)
        == APR_SUCCESS);
    FUZZ_CHECK(sc_entry_match(p, (const char *)data, size, e->key,
                              e->key_len + 1, &again)
               == SC_EOTHERKEY);
    if (e->body_kind == SC_BODY_CHUNKED) {
        apr_uint64_t sum = 0;
        apr_uint32_t c;

        for (c = 0; c < e->nchunks; c++) {
            apr_size_t n = sc_entry_chunk_len(e, c);

            FUZZ_CHECK(n > 0 && n <= e->chunk_size);
            sum += n;
        }
        FUZZ_CHECK(sum == e->body_len);
        FUZZ_CHECK(sc_entry_chunk_len(e, e->nchunks) == 0);
    }
    times[0] = 0;
    times[1] = e->fresh_until;
    times[2] = e->fresh_until - 1;
    times[3] = e->stale_until;
    times[4] = e->error_until;
    times[5] = SC_TIME_MAX;
    for (i = 0; i < 6 * 8; i++) {
        apr_int64_t now = times[i / 8];
        int moved = i & 1, soft_ok = i & 2, quick = i & 4;

        sc_entry_usable(e, now, moved, soft_ok, quick, &u);
        FUZZ_CHECK(u.fresh == (now < e->fresh_until && !moved));
        if (u.fresh || quick || (e->flags & SC_EF_NO_STALE)
            || (moved && !soft_ok)) {
            FUZZ_CHECK(!u.grace_ok && !u.error_ok);
        }
        FUZZ_CHECK(!u.grace_ok || now < e->stale_until);
        FUZZ_CHECK(!u.error_ok || now < e->error_until);
    }
    FUZZ_CHECK(!sc_entry_vary_live(e, e->stale_until));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    sc_entry_t e;

    if (sc_entry_decode(p, (const char *)data, size, &e) == APR_SUCCESS) {
        check_entry(&e, data, size);
        round_trip(p, &e, data, size);
        check_reading(p, &e, data, size);
#ifdef FUZZ_CALLER_LIMITS
        check_caller_limits(&e);
#endif
    }
    check_chunk(data, size);
    check_encode(p, data, size);
    apr_pool_destroy(p);
    return 0;
}

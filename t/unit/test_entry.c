/*
 * test_entry.c: the versioned binary entry record and chunk heads
 * (src/sc_entry.[ch]; DESIGN.md section 5, THREATS.md 14 and 29).
 *
 * Records are built two ways: with sc_entry_encode_head(), and by hand
 * below (rec_t) straight from the layout documented in sc_entry.h, so
 * malformed records can be made field by field.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "sc_entry.h"
#include "sc_key.h"

/* ---- helpers ----------------------------------------------------------- */

static const char bin_key[] = "SCK1\n9:k\0e\r\ny\xff\x80\n";
/* Chunk sizes of the hand-built records: at least SC_CHUNK_MIN. */
#define CH(x) ((apr_uint64_t)(x)*SC_CHUNK_MIN / 4)
#define BIN_KEY_LEN (sizeof(bin_key) - 1)
static const char body_bytes[] = "<p>\0body\r\n\xff</p>";
#define BODY_LEN (sizeof(body_bytes) - 1)

static void add_header(sc_entry_t *e, const char *name, const char *value)
{
    sc_header_t *h = apr_array_push(e->headers);

    h->name = name;
    h->value = value;
}

static void add_dep(sc_entry_t *e, const char *name, apr_uint64_t gen)
{
    sc_dep_t *d = apr_array_push(e->deps);

    d->name = name;
    d->gen = gen;
}

/* An entry with every field set to something a bug would disturb. */
static sc_entry_t full_entry(apr_pool_t *p, int body_kind)
{
    sc_entry_t e;

    memset(&e, 0, sizeof(e));
    e.type = SC_REC_ENTRY;
    e.status = 203;
    e.stored_at = 0;
    e.fresh_until = SC_TIME_MAX;
    e.stale_until = 1;
    e.error_until = 1700000000;
    e.flags = 0xdeadbee0u | SC_EF_NO_STALE;
    e.local = 7;
    e.key = bin_key;
    e.key_len = BIN_KEY_LEN;
    e.headers = apr_array_make(p, 4, sizeof(sc_header_t));
    add_header(&e, "Content-Type", "text/html; charset=utf-8");
    add_header(&e, "X-Empty", "");
    add_header(&e, "X-Tab", "a\tb: c \x01\xff");
    add_header(&e, "Cache-Control", "max-age=60");
    e.deps = apr_array_make(p, 2, sizeof(sc_dep_t));
    add_dep(&e, "t:post-5", APR_UINT64_MAX);
    add_dep(&e, "", 0);
    add_dep(&e, "n:default", 0x0102030405060708ull);
    e.body_kind = body_kind;
    if (body_kind == SC_BODY_INLINE) {
        e.body_len = BODY_LEN;
    }
    else {
        e.body_len = 5000000001ull;
        e.chunk_size = 1000000;
        e.nchunks = 5001;
        e.version = 0xfedcba9876543210ull;
    }
    return e;
}

/* The whole record in an exactly sized malloc'd buffer (so a read past
 * its end is a real overread under ASan). */
static char *encode(apr_pool_t *p, const sc_entry_t *e, apr_size_t *len,
                    apr_size_t *head_len)
{
    char *head, *rec;
    apr_size_t hl,
        body = e->body_kind == SC_BODY_INLINE ? (apr_size_t)e->body_len : 0;

    assert_int_equal(sc_entry_encode_head(p, e, &head, &hl), APR_SUCCESS);
    rec = malloc(hl + body);
    assert_non_null(rec);
    memcpy(rec, head, hl);
    if (body) {
        memcpy(rec + hl, e->body ? e->body : body_bytes, body);
    }
    *len = hl + body;
    if (head_len) {
        *head_len = hl;
    }
    return rec;
}

static apr_status_t decode_copy(apr_pool_t *p, const char *buf, apr_size_t len)
{
    char *copy = malloc(len ? len : 1);
    sc_entry_t e;
    apr_status_t rv;

    assert_non_null(copy);
    memcpy(copy, buf, len);
    rv = sc_entry_decode(p, copy, len, &e);
    free(copy);
    return rv;
}

static apr_size_t find(const char *buf, apr_size_t len, const char *needle)
{
    apr_size_t n = strlen(needle), i;

    for (i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, needle, n) == 0) {
            return i;
        }
    }
    fail_msg("\"%s\" not in the record", needle);
    return 0;
}

static void put_be(char *at, apr_uint64_t v, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        at[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

/* ---- records built by hand from the documented layout ------------------ */

typedef struct {
    const char *name;
    apr_size_t name_len;
    const char *value;
    apr_size_t value_len;
} raw_header_t;

typedef struct {
    const char *name;
    apr_size_t name_len;
    apr_uint64_t gen;
} raw_dep_t;

typedef struct {
    char magic[4];
    int type, reserved, status;
    apr_int64_t stored_at, fresh_until, stale_until, error_until;
    apr_uint32_t flags;
    const char *key;
    apr_size_t key_len;
    int nheaders; /* as written: may lie about headers */
    const raw_header_t *headers;
    int nheaders_real;
    int ndeps;
    const raw_dep_t *deps;
    int ndeps_real;
    int body_kind;
    apr_uint64_t body_len;
    const char *body; /* inline: body_size bytes follow */
    apr_size_t body_size;
    apr_uint32_t chunk_size, nchunks;
    apr_uint64_t version;
} rec_t;

typedef struct {
    char *buf;
    apr_size_t len;
} raw_t;

static void raw_bytes(raw_t *w, const void *s, apr_size_t n)
{
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void raw_uint(raw_t *w, apr_uint64_t v, int width)
{
    put_be(w->buf + w->len, v, width);
    w->len += (apr_size_t)width;
}

static const raw_header_t one_header[] = {
    { "Content-Type", 12, "text/plain", 10 },
};

static rec_t good_rec(void)
{
    rec_t r;

    memset(&r, 0, sizeof(r));
    memcpy(r.magic, "SCE\x02", 4);
    r.type = SC_REC_ENTRY;
    r.status = 200;
    r.stored_at = 1700000000;
    r.fresh_until = 1700000060;
    r.stale_until = 1700000120;
    r.error_until = 1700000180;
    r.key = "k";
    r.key_len = 1;
    r.nheaders = r.nheaders_real = 1;
    r.headers = one_header;
    r.body_kind = SC_BODY_INLINE;
    r.body = "hello";
    r.body_len = r.body_size = 5;
    return r;
}

/* Malloc'd, exactly sized; free() it. */
static char *build(const rec_t *r, apr_size_t *len)
{
    apr_size_t cap = 104 + r->key_len + r->body_size;
    raw_t w;
    int i;

    for (i = 0; i < r->nheaders_real; i++) {
        cap += 6 + r->headers[i].name_len + r->headers[i].value_len;
    }
    for (i = 0; i < r->ndeps_real; i++) {
        cap += 10 + r->deps[i].name_len;
    }
    w.buf = malloc(cap);
    w.len = 0;
    assert_non_null(w.buf);
    raw_bytes(&w, r->magic, 4);
    raw_uint(&w, (apr_uint64_t)r->type, 1);
    raw_uint(&w, (apr_uint64_t)r->reserved, 1);
    raw_uint(&w, (apr_uint64_t)r->status, 2);
    raw_uint(&w, (apr_uint64_t)r->stored_at, 8);
    raw_uint(&w, (apr_uint64_t)r->fresh_until, 8);
    raw_uint(&w, (apr_uint64_t)r->stale_until, 8);
    raw_uint(&w, (apr_uint64_t)r->error_until, 8);
    raw_uint(&w, r->flags, 4);
    raw_uint(&w, r->key_len, 4);
    raw_bytes(&w, r->key, r->key_len);
    raw_uint(&w, (apr_uint64_t)r->nheaders, 2);
    for (i = 0; i < r->nheaders_real; i++) {
        raw_uint(&w, r->headers[i].name_len, 2);
        raw_bytes(&w, r->headers[i].name, r->headers[i].name_len);
        raw_uint(&w, r->headers[i].value_len, 4);
        raw_bytes(&w, r->headers[i].value, r->headers[i].value_len);
    }
    raw_uint(&w, (apr_uint64_t)r->ndeps, 2);
    for (i = 0; i < r->ndeps_real; i++) {
        raw_uint(&w, r->deps[i].name_len, 2);
        raw_bytes(&w, r->deps[i].name, r->deps[i].name_len);
        raw_uint(&w, r->deps[i].gen, 8);
    }
    raw_uint(&w, (apr_uint64_t)r->body_kind, 1);
    raw_uint(&w, r->body_len, 8);
    if (r->body_kind == SC_BODY_CHUNKED) {
        raw_uint(&w, r->chunk_size, 4);
        raw_uint(&w, r->nchunks, 4);
        raw_uint(&w, r->version, 8);
    }
    else {
        raw_bytes(&w, r->body, r->body_size);
    }
    assert_true(w.len <= cap);
    *len = w.len;
    return w.buf;
}

static apr_status_t decode_rec(apr_pool_t *p, const rec_t *r)
{
    apr_size_t len;
    char *buf = build(r, &len);
    sc_entry_t e;
    apr_status_t rv = sc_entry_decode(p, buf, len, &e);

    free(buf);
    return rv;
}

static rec_t chunked_rec(apr_uint64_t body_len, apr_uint32_t chunk_size,
                         apr_uint32_t nchunks)
{
    rec_t r = good_rec();

    r.body_kind = SC_BODY_CHUNKED;
    r.body_len = body_len;
    r.body = NULL;
    r.body_size = 0;
    r.chunk_size = chunk_size;
    r.nchunks = nchunks;
    r.version = 42;
    return r;
}

/* ---- round trips -------------------------------------------------------- */

static void assert_same_entry(const sc_entry_t *a, const sc_entry_t *b)
{
    int i;

    assert_int_equal(a->type, b->type);
    assert_int_equal(a->status, b->status);
    assert_true(a->stored_at == b->stored_at);
    assert_true(a->fresh_until == b->fresh_until);
    assert_true(a->stale_until == b->stale_until);
    assert_true(a->error_until == b->error_until);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->local, b->local);
    assert_int_equal(a->key_len, b->key_len);
    assert_memory_equal(a->key, b->key, a->key_len);
    assert_int_equal(a->headers ? a->headers->nelts : 0, b->headers->nelts);
    for (i = 0; i < b->headers->nelts; i++) {
        const sc_header_t *x = &APR_ARRAY_IDX(a->headers, i, sc_header_t);
        const sc_header_t *y = &APR_ARRAY_IDX(b->headers, i, sc_header_t);
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->value, y->value);
    }
    assert_int_equal(a->deps ? a->deps->nelts : 0, b->deps->nelts);
    for (i = 0; i < b->deps->nelts; i++) {
        const sc_dep_t *x = &APR_ARRAY_IDX(a->deps, i, sc_dep_t);
        const sc_dep_t *y = &APR_ARRAY_IDX(b->deps, i, sc_dep_t);
        assert_string_equal(x->name, y->name);
        assert_true(x->gen == y->gen);
    }
    assert_int_equal(a->body_kind, b->body_kind);
    assert_true(a->body_len == b->body_len);
}

static void test_roundtrip_inline_keeps_every_field(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t in = full_entry(p, SC_BODY_INLINE), out;
    apr_size_t len, head_len;
    char *rec = encode(p, &in, &len, &head_len);

    assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
    assert_same_entry(&in, &out);
    /* the body is not copied: it points into the buffer */
    assert_ptr_equal(out.body, rec + head_len);
    assert_memory_equal(out.body, body_bytes, BODY_LEN);
    /* the key is a copy, NUL terminated after its bytes */
    assert_true(out.key < rec || out.key >= rec + len);
    assert_int_equal(out.key[out.key_len], '\0');
    free(rec);
}

static void test_roundtrip_chunked_keeps_chunk_meta(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t in = full_entry(p, SC_BODY_CHUNKED), out;
    apr_size_t len;
    char *rec = encode(p, &in, &len, NULL);

    assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
    assert_same_entry(&in, &out);
    assert_int_equal(out.chunk_size, 1000000);
    assert_int_equal(out.nchunks, 5001);
    assert_true(out.version == 0xfedcba9876543210ull);
    free(rec);
}

static void test_roundtrip_times_zero_and_extreme(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const apr_int64_t times[] = {
        0,
        1,
        SC_TIME_MAX,
        1700000000,
        SC_TIME_MAX - 1,
        2147483648ll,
        4294967296ll,
    };
    apr_size_t i, n = sizeof(times) / sizeof(times[0]);

    for (i = 0; i < n; i++) {
        sc_entry_t in = full_entry(p, SC_BODY_INLINE), out;
        apr_size_t len;
        char *rec;

        in.stored_at = times[i];
        in.fresh_until = times[(i + 1) % n];
        in.stale_until = times[(i + 2) % n];
        rec = encode(p, &in, &len, NULL);
        assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
        assert_true(out.stored_at == in.stored_at);
        assert_true(out.fresh_until == in.fresh_until);
        assert_true(out.stale_until == in.stale_until);
        free(rec);
    }
}

/* Negative or absurd times could overflow the differences callers take
 * (now - stored_at): refused on both sides. */
static void test_times_out_of_range_are_refused(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const apr_int64_t bad[] = {
        -1,
        APR_INT64_MIN,
        APR_INT64_MAX,
        SC_TIME_MAX + 1,
    };
    apr_size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sc_entry_t in = full_entry(p, SC_BODY_INLINE);
        rec_t r = good_rec();
        char *head;
        apr_size_t hl;

        in.stored_at = bad[i];
        assert_int_equal(sc_entry_encode_head(p, &in, &head, &hl), SC_EBADREC);
        r.error_until = bad[i];
        assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    }
}

static void test_roundtrip_minimal_entry_gives_empty_arrays(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t in, out;
    apr_size_t len;
    char *rec;

    memset(&in, 0, sizeof(in));
    in.type = SC_REC_ENTRY;
    in.status = 204;
    in.key = "";
    in.body_kind = SC_BODY_INLINE;
    rec = encode(p, &in, &len, NULL);
    assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
    assert_int_equal(out.status, 204);
    assert_int_equal(out.key_len, 0);
    assert_non_null(out.headers);
    assert_int_equal(out.headers->nelts, 0);
    assert_non_null(out.deps);
    assert_int_equal(out.deps->nelts, 0);
    assert_true(out.body_len == 0);
    free(rec);
}

static void test_roundtrip_status_bounds_and_vary_type(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const int statuses[] = { 100, 200, 404, 599 };
    int i;

    for (i = 0; i < 4; i++) {
        sc_entry_t in = full_entry(p, SC_BODY_INLINE), out;
        apr_size_t len;
        char *rec;

        in.status = statuses[i];
        in.type = i % 2 ? SC_REC_VARY : SC_REC_ENTRY;
        rec = encode(p, &in, &len, NULL);
        assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
        assert_int_equal(out.status, statuses[i]);
        assert_int_equal(out.type, in.type);
        free(rec);
    }
}

static void test_roundtrip_max_headers_and_deps(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t in = full_entry(p, SC_BODY_INLINE), out;
    apr_size_t len;
    char *rec;
    int i;

    apr_array_clear(in.headers);
    apr_array_clear(in.deps);
    for (i = 0; i < SC_ENTRY_MAX_HEADERS; i++) {
        add_header(&in, apr_psprintf(p, "X-H%d", i), "v");
    }
    for (i = 0; i < SC_ENTRY_MAX_DEPS; i++) {
        add_dep(&in, apr_psprintf(p, "t:%d", i), (apr_uint64_t)i);
    }
    rec = encode(p, &in, &len, NULL);
    assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
    assert_same_entry(&in, &out);
    free(rec);
}

static void test_encode_matches_documented_layout(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const raw_dep_t dep[] = { { "t:a", 3, 7 } };
    rec_t r = good_rec();
    sc_entry_t e;
    char *enc, *raw;
    apr_size_t enc_len, raw_len;

    r.flags = SC_EF_NO_STALE;
    r.ndeps = r.ndeps_real = 1;
    r.deps = dep;
    memset(&e, 0, sizeof(e));
    e.type = r.type;
    e.status = r.status;
    e.stored_at = r.stored_at;
    e.fresh_until = r.fresh_until;
    e.stale_until = r.stale_until;
    e.error_until = r.error_until;
    e.flags = r.flags;
    e.key = r.key;
    e.key_len = r.key_len;
    e.headers = apr_array_make(p, 1, sizeof(sc_header_t));
    add_header(&e, "Content-Type", "text/plain");
    e.deps = apr_array_make(p, 1, sizeof(sc_dep_t));
    add_dep(&e, "t:a", 7);
    e.body_kind = SC_BODY_INLINE;
    e.body_len = 5;
    e.body = "hello";
    enc = encode(p, &e, &enc_len, NULL);
    raw = build(&r, &raw_len);
    assert_int_equal(enc_len, raw_len);
    assert_memory_equal(enc, raw, raw_len);
    free(enc);
    free(raw);

    r = chunked_rec(CH(10), SC_CHUNK_MIN, 3);
    e.headers = NULL;
    e.deps = NULL;
    r.nheaders = r.nheaders_real = 0;
    e.body_kind = SC_BODY_CHUNKED;
    e.body_len = CH(10);
    e.chunk_size = SC_CHUNK_MIN;
    e.nchunks = 3;
    e.version = 42;
    e.flags = 0;
    enc = encode(p, &e, &enc_len, NULL);
    raw = build(&r, &raw_len);
    assert_int_equal(enc_len, raw_len);
    assert_memory_equal(enc, raw, raw_len);
    free(enc);
    free(raw);
}

/* SharedCacheLocalTTL is the byte after the type (format 2's reserved
 * byte: older hosts wrote 0 and ignore it), capped at 255. */
static void test_local_ttl_is_the_byte_after_the_type(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t in = full_entry(p, SC_BODY_INLINE), out;
    apr_size_t len;
    char *rec;

    in.local = 42;
    rec = encode(p, &in, &len, NULL);
    assert_int_equal((unsigned char)rec[5], 42);
    assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
    assert_int_equal(out.local, 42);
    free(rec);
    in.local = 1000;
    rec = encode(p, &in, &len, NULL);
    assert_int_equal((unsigned char)rec[5], 255);
    free(rec);
}

/* ---- decode rejects ---------------------------------------------------- */

static void test_decode_accepts_hand_built_record(void **state)
{
    apr_pool_t *p = unit_pool(state);
    rec_t r = good_rec();

    /* the baseline every rejection below departs from by one field */
    assert_int_equal(decode_rec(p, &r), APR_SUCCESS);
    r = chunked_rec(CH(10), SC_CHUNK_MIN, 3);
    assert_int_equal(decode_rec(p, &r), APR_SUCCESS);
    /* an empty body is always stored inline: zero chunks is never valid */
    r = chunked_rec(CH(0), SC_CHUNK_MIN, 0);
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
}

static void test_decode_rejects_wrong_magic(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *bad[] = { "XCE\x02", "SXE\x02", "SCX\x02",
                                 "sce\x02", "SCC\x01", "\0\0\0\0" };
    int i;

    for (i = 0; i < 6; i++) {
        rec_t r = good_rec();
        memcpy(r.magic, bad[i], 4);
        assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    }
}

static void test_decode_rejects_wrong_format_version(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const int versions[] = { 0, 1, 3, 0x7f, 0xff };
    int i;

    for (i = 0; i < 5; i++) {
        rec_t r = good_rec();
        r.magic[3] = (char)versions[i];
        assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    }
}

static void test_decode_rejects_unknown_type_and_body_kind(void **state)
{
    apr_pool_t *p = unit_pool(state);
    rec_t r = good_rec();

    r.type = 0;
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r.type = 3;
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r = good_rec();
    r.body_kind = 2;
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
}

static void test_decode_rejects_status_out_of_range(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const int bad[] = { 0, 1, 99, 600, 999, 0xffff };
    int i;

    for (i = 0; i < 6; i++) {
        rec_t r = good_rec();
        r.status = bad[i];
        assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    }
}

static void check_every_prefix_rejected(apr_pool_t *p, const char *rec,
                                        apr_size_t len)
{
    apr_size_t n;

    assert_int_equal(decode_copy(p, rec, len), APR_SUCCESS);
    for (n = 0; n < len; n++) {
        if (decode_copy(p, rec, n) != SC_EBADREC) {
            fail_msg("prefix of %lu of %lu bytes was not rejected",
                     (unsigned long)n, (unsigned long)len);
        }
    }
}

static void test_decode_rejects_every_truncation(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t in = full_entry(p, SC_BODY_INLINE);
    apr_size_t len;
    char *rec = encode(p, &in, &len, NULL);

    check_every_prefix_rejected(p, rec, len);
    free(rec);
    in = full_entry(p, SC_BODY_CHUNKED);
    rec = encode(p, &in, &len, NULL);
    check_every_prefix_rejected(p, rec, len);
    free(rec);
}

static void test_decode_rejects_trailing_garbage(void **state)
{
    apr_pool_t *p = unit_pool(state);
    int kinds[] = { SC_BODY_INLINE, SC_BODY_CHUNKED };
    int i;

    for (i = 0; i < 2; i++) {
        sc_entry_t in = full_entry(p, kinds[i]);
        apr_size_t len;
        char *rec = encode(p, &in, &len, NULL);
        char *longer = malloc(len + 8);

        assert_non_null(longer);
        memcpy(longer, rec, len);
        memset(longer + len, 0, 8);
        assert_int_equal(decode_copy(p, longer, len + 1), SC_EBADREC);
        assert_int_equal(decode_copy(p, longer, len + 8), SC_EBADREC);
        free(longer);
        free(rec);
    }
}

static void test_decode_rejects_inline_body_len_mismatch(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const apr_uint64_t lens[] = { 0, 4, 6, 1000, APR_UINT64_MAX };
    int i;

    for (i = 0; i < 5; i++) {
        rec_t r = good_rec(); /* 5 body bytes follow */
        r.body_len = lens[i];
        assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    }
}

static void test_decode_rejects_nchunks_inconsistent(void **state)
{
    apr_pool_t *p = unit_pool(state);
    rec_t r;

    r = chunked_rec(CH(10), SC_CHUNK_MIN, 2);
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r = chunked_rec(CH(10), SC_CHUNK_MIN, 4);
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r = chunked_rec(CH(8), SC_CHUNK_MIN, 3);
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r = chunked_rec(CH(0), SC_CHUNK_MIN, 1);
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r = chunked_rec(CH(1), SC_CHUNK_MIN, 0);
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
}

/* A body needing more chunks than nchunks can count must not decode with
 * nchunks 0 (the handler would then serve Content-Length: body_len with
 * no body). */
static void test_decode_rejects_zero_chunks_for_huge_body(void **state)
{
    apr_pool_t *p = unit_pool(state);
    rec_t big = chunked_rec((apr_uint64_t)1 << 40, 1, 0);
    rec_t wrap = chunked_rec(APR_UINT64_MAX, 4096, 0);

    assert_int_equal(decode_rec(p, &big), SC_EBADREC);
    assert_int_equal(decode_rec(p, &wrap), SC_EBADREC);
}

/* A forged record must not make a reader fetch billions of chunks. */
static void test_decode_rejects_tiny_chunks_and_too_many(void **state)
{
    apr_pool_t *p = unit_pool(state);
    rec_t tiny = chunked_rec(1000, 1, 1000);
    rec_t many = chunked_rec((apr_uint64_t)SC_CHUNK_MIN
                                 * (SC_ENTRY_MAX_CHUNKS + 1),
                             SC_CHUNK_MIN, SC_ENTRY_MAX_CHUNKS + 1);

    assert_int_equal(decode_rec(p, &tiny), SC_EBADREC);
    assert_int_equal(decode_rec(p, &many), SC_EBADREC);
}

static void test_decode_rejects_chunk_size_zero(void **state)
{
    apr_pool_t *p = unit_pool(state);
    rec_t r = chunked_rec(0, 0, 0);

    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r = chunked_rec(10, 0, 0);
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
}

static void test_decode_rejects_cr_lf_nul_in_header_value(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char bad[] = { '\r', '\n', '\0' };
    int i;

    for (i = 0; i < 3; i++) {
        sc_entry_t in = full_entry(p, SC_BODY_INLINE);
        apr_size_t len, at;
        char *rec;

        add_header(&in, "X-Poison", "v@v");
        rec = encode(p, &in, &len, NULL);
        at = find(rec, len, "v@v");
        rec[at + 1] = bad[i];
        assert_int_equal(decode_copy(p, rec, len), SC_EBADREC);
        free(rec);
    }
}

static void test_decode_rejects_bad_bytes_in_header_name(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char bad[] = { '\r', '\n', '\0', ':', ' ' };
    int i;

    for (i = 0; i < 5; i++) {
        sc_entry_t in = full_entry(p, SC_BODY_INLINE);
        apr_size_t len, at;
        char *rec;

        add_header(&in, "X-Po@son", "v");
        rec = encode(p, &in, &len, NULL);
        at = find(rec, len, "X-Po@son");
        rec[at + 4] = bad[i];
        assert_int_equal(decode_copy(p, rec, len), SC_EBADREC);
        free(rec);
    }
}

static void test_decode_rejects_empty_header_name(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const raw_header_t h[] = { { "", 0, "v", 1 } };
    rec_t r = good_rec();

    r.headers = h;
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
}

/* A URL dependency names a decoded path, which may hold CR or LF (it is
 * length-prefixed and never sent as a header); a NUL is still refused. */
static void test_decode_dep_name_allows_cr_lf_but_not_nul(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const raw_dep_t deps[][1] = {
        { { "u:a\rb", 5, 1 } },
        { { "u:a\nb", 5, 1 } },
        { { "t:a\0b", 5, 1 } },
    };
    int i;

    for (i = 0; i < 3; i++) {
        rec_t r = good_rec();
        r.ndeps = r.ndeps_real = 1;
        r.deps = deps[i];
        assert_int_equal(decode_rec(p, &r), i < 2 ? APR_SUCCESS : SC_EBADREC);
    }
}

static void test_decode_rejects_counts_over_the_maximum(void **state)
{
    apr_pool_t *p = unit_pool(state);
    int n = SC_ENTRY_MAX_HEADERS + 1, i;
    raw_header_t *h = apr_pcalloc(p, sizeof(*h) * (apr_size_t)n);
    raw_dep_t *d = apr_pcalloc(p, sizeof(*d) * (apr_size_t)n);
    rec_t r;

    for (i = 0; i < n; i++) {
        h[i].name = "X";
        h[i].name_len = 1;
        h[i].value = "";
        d[i].name = "t";
        d[i].name_len = 1;
    }
    /* otherwise well formed: only the count is too large */
    r = good_rec();
    r.nheaders = r.nheaders_real = n;
    r.headers = h;
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r = good_rec();
    r.ndeps = r.ndeps_real = n;
    r.deps = d;
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    /* counts that promise more than the buffer holds */
    r = good_rec();
    r.nheaders = 2;
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
    r = good_rec();
    r.nheaders = 0xffff;
    assert_int_equal(decode_rec(p, &r), SC_EBADREC);
}

static void test_decode_rejects_lengths_past_the_buffer(void **state)
{
    apr_pool_t *p = unit_pool(state);
    rec_t r = good_rec();
    apr_size_t len, i;
    char *rec = build(&r, &len);
    /* key_len, first header's name_len and value_len */
    static const struct {
        apr_size_t off;
        int width;
    } fields[] = {
        { 44, 4 },
        { 51, 2 },
        { 65, 4 },
    };

    assert_memory_equal(rec + 53, "Content-Type", 12);
    for (i = 0; i < 3; i++) {
        char *copy = malloc(len);
        assert_non_null(copy);
        memcpy(copy, rec, len);
        put_be(copy + fields[i].off, 0xffffffffu, fields[i].width);
        assert_int_equal(decode_copy(p, copy, len), SC_EBADREC);
        put_be(copy + fields[i].off, len, fields[i].width);
        assert_int_equal(decode_copy(p, copy, len), SC_EBADREC);
        free(copy);
    }
    free(rec);
}

static void test_decode_accepts_binary_key(void **state)
{
    apr_pool_t *p = unit_pool(state);
    rec_t r = good_rec();
    apr_size_t len;
    char *rec;
    sc_entry_t e;

    r.key = bin_key;
    r.key_len = BIN_KEY_LEN;
    rec = build(&r, &len);
    assert_int_equal(sc_entry_decode(p, rec, len, &e), APR_SUCCESS);
    assert_int_equal(e.key_len, BIN_KEY_LEN);
    assert_memory_equal(e.key, bin_key, BIN_KEY_LEN);
    free(rec);
}

/* ---- encode refuses ---------------------------------------------------- */

static void test_encode_refuses_cr_lf_in_header_name_or_value(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *const bad[][2] = {
        { "X-A\r", "v" }, { "X-A\n", "v" }, { "X\r\nSet-Cookie", "v" },
        { "X-A", "v\r" }, { "X-A", "v\n" }, { "X-A", "v\r\nSet-Cookie: a=b" },
        { "X-A", "\n" },
    };
    int i;

    for (i = 0; i < 7; i++) {
        sc_entry_t e = full_entry(p, SC_BODY_INLINE);
        char *out;
        apr_size_t len;

        add_header(&e, bad[i][0], bad[i][1]);
        assert_int_equal(sc_entry_encode_head(p, &e, &out, &len), SC_EBADREC);
    }
}

static void test_encode_refuses_empty_or_malformed_header_name(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *const bad[] = { "", "X-A:", "X A", ":status" };
    int i;

    for (i = 0; i < 4; i++) {
        sc_entry_t e = full_entry(p, SC_BODY_INLINE);
        char *out;
        apr_size_t len;

        add_header(&e, bad[i], "v");
        assert_int_equal(sc_entry_encode_head(p, &e, &out, &len), SC_EBADREC);
    }
}

static void test_encode_refuses_too_many_headers_or_deps(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e = full_entry(p, SC_BODY_INLINE);
    char *out;
    apr_size_t len;
    int i;

    for (i = e.headers->nelts; i <= SC_ENTRY_MAX_HEADERS; i++) {
        add_header(&e, "X", "v");
    }
    assert_int_equal(sc_entry_encode_head(p, &e, &out, &len), SC_EBADREC);
    e = full_entry(p, SC_BODY_INLINE);
    for (i = e.deps->nelts; i <= SC_ENTRY_MAX_DEPS; i++) {
        add_dep(&e, "t", 1);
    }
    assert_int_equal(sc_entry_encode_head(p, &e, &out, &len), SC_EBADREC);
}

/* ---- chunks ------------------------------------------------------------- */

static void test_chunk_head_is_magic_version_index(void **state)
{
    char head[SC_CHUNK_HEAD_LEN];

    (void)state;
    sc_chunk_head(head, 0x0102030405060708ull, 0x0a0b0c0d);
    assert_memory_equal(head,
                        "SCC\x01\x01\x02\x03\x04\x05\x06\x07\x08"
                        "\x0a\x0b\x0c\x0d",
                        SC_CHUNK_HEAD_LEN);
}

static char *make_chunk(apr_uint64_t version, apr_uint32_t index,
                        const char *data, apr_size_t n, apr_size_t *len)
{
    char *buf = malloc(SC_CHUNK_HEAD_LEN + n + 1);

    assert_non_null(buf);
    sc_chunk_head(buf, version, index);
    memcpy(buf + SC_CHUNK_HEAD_LEN, data, n);
    *len = SC_CHUNK_HEAD_LEN + n;
    return buf;
}

static void test_chunk_check_accepts_right_version_index_length(void **state)
{
    apr_size_t len;
    char *buf = make_chunk(77, 3, "abc\0e", 5, &len);
    const char *data = NULL;

    (void)state;
    assert_int_equal(sc_chunk_check(buf, len, 77, 3, 5, &data), APR_SUCCESS);
    assert_ptr_equal(data, buf + SC_CHUNK_HEAD_LEN);
    free(buf);
    /* an empty chunk */
    buf = make_chunk(1, 0, "", 0, &len);
    assert_int_equal(sc_chunk_check(buf, len, 1, 0, 0, &data), APR_SUCCESS);
    free(buf);
}

static void test_chunk_check_rejects_wrong_version_index_length(void **state)
{
    apr_size_t len;
    char *buf = make_chunk(77, 3, "abcde", 5, &len);
    const char *data = NULL;

    (void)state;
    assert_int_equal(sc_chunk_check(buf, len, 78, 3, 5, &data), SC_EBADREC);
    assert_int_equal(
        sc_chunk_check(buf, len, 77 + ((apr_uint64_t)1 << 32), 3, 5, &data),
        SC_EBADREC);
    assert_int_equal(sc_chunk_check(buf, len, 77, 2, 5, &data), SC_EBADREC);
    assert_int_equal(sc_chunk_check(buf, len, 77, 4, 5, &data), SC_EBADREC);
    assert_int_equal(sc_chunk_check(buf, len, 77, 3, 4, &data), SC_EBADREC);
    assert_int_equal(sc_chunk_check(buf, len, 77, 3, 6, &data), SC_EBADREC);
    assert_int_equal(sc_chunk_check(buf, len - 1, 77, 3, 5, &data), SC_EBADREC);
    /* shorter than a head */
    assert_int_equal(sc_chunk_check(buf, 3, 77, 3, 0, &data), SC_EBADREC);
    assert_int_equal(sc_chunk_check(buf, 0, 77, 3, 0, &data), SC_EBADREC);
    /* an entry record or another format version is not a chunk */
    buf[2] = 'E';
    assert_int_equal(sc_chunk_check(buf, len, 77, 3, 5, &data), SC_EBADREC);
    buf[2] = 'C';
    buf[3] = 2;
    assert_int_equal(sc_chunk_check(buf, len, 77, 3, 5, &data), SC_EBADREC);
    assert_null(data);
    free(buf);
}

static void test_chunk_count_rounds_up(void **state)
{
    (void)state;
    assert_int_equal(sc_chunk_count(0, 4), 0);
    assert_int_equal(sc_chunk_count(1, 4), 1);
    assert_int_equal(sc_chunk_count(4, 4), 1);
    assert_int_equal(sc_chunk_count(5, 4), 2);
    assert_int_equal(sc_chunk_count(5000000001ull, 1000000), 5001);
    assert_int_equal(sc_chunk_count(10, 0), 0);
}

/* ---- reading a record back (sc_lookup.c and sharedcachectl) ----------- */

static void test_match_tells_missing_corrupt_other_and_found(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e = full_entry(p, SC_BODY_INLINE), got;
    apr_size_t len;
    char *rec = encode(p, &e, &len, NULL);

    assert_int_equal(sc_entry_match(p, NULL, 0, bin_key, BIN_KEY_LEN, &got),
                     APR_ENOENT);
    assert_int_equal(sc_entry_match(p, rec, len, bin_key, BIN_KEY_LEN, &got),
                     APR_SUCCESS);
    assert_int_equal(got.status, 203);
    assert_int_equal(got.body_len, BODY_LEN);
    assert_memory_equal(got.key, bin_key, BIN_KEY_LEN);
    /* one byte more or less, or another byte: another key */
    assert_int_equal(
        sc_entry_match(p, rec, len, bin_key, BIN_KEY_LEN - 1, &got),
        SC_EOTHERKEY);
    assert_int_equal(sc_entry_match(p, rec, len, "SCK1\n9:k\0e\r\ny\xff\x80\nx",
                                    BIN_KEY_LEN + 1, &got),
                     SC_EOTHERKEY);
    assert_int_equal(sc_entry_match(p, rec, len, "SCK1\n9:k\0e\r\ny\xff\x81\n",
                                    BIN_KEY_LEN, &got),
                     SC_EOTHERKEY);
    /* a truncated record is corrupt, whatever key is asked for */
    assert_int_equal(
        sc_entry_match(p, rec, len - 1, bin_key, BIN_KEY_LEN, &got),
        SC_EBADREC);
    assert_int_equal(sc_entry_match(p, rec, 0, bin_key, BIN_KEY_LEN, &got),
                     SC_EBADREC);
    free(rec);
}

static void test_vary_record_lives_until_stale_until(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e = full_entry(p, SC_BODY_INLINE);
    apr_array_header_t *names;

    e.type = SC_REC_VARY;
    e.stale_until = 1000;
    assert_true(sc_entry_vary_live(&e, 0));
    assert_true(sc_entry_vary_live(&e, 999));
    assert_false(sc_entry_vary_live(&e, 1000));
    assert_false(sc_entry_vary_live(&e, 1001));
    names = sc_entry_vary_names(p, &e);
    assert_int_equal(names->nelts, 4);
    assert_string_equal(APR_ARRAY_IDX(names, 0, const char *), "Content-Type");
    assert_string_equal(APR_ARRAY_IDX(names, 3, const char *), "Cache-Control");
    e.headers = apr_array_make(p, 1, sizeof(sc_header_t));
    assert_int_equal(sc_entry_vary_names(p, &e)->nelts, 0);
    e.headers = NULL;
    assert_int_equal(sc_entry_vary_names(p, &e)->nelts, 0);
}

static void test_dep_state_missing_moved_and_flushed(void **state)
{
    sc_dep_t url = { "u:http://example.com:80/a", 7 };
    sc_dep_t tag = { "t:post-5", 7 };
    sc_dep_t ns = { "n:default", 7 };
    sc_dep_t odd = { "nx", 7 };
    sc_dep_t server = { "s:", 7 };

    (void)state;
    /* a server's new incarnation (a fence): hard, as a flush */
    assert_int_equal(sc_entry_dep_state(&server, 1, 7), SC_DEP_CURRENT);
    assert_int_equal(sc_entry_dep_state(&server, 1, 9), SC_DEP_GONE);
    assert_int_equal(sc_entry_dep_state(&url, 1, 7), SC_DEP_CURRENT);
    assert_int_equal(sc_entry_dep_state(&tag, 1, 7), SC_DEP_CURRENT);
    assert_int_equal(sc_entry_dep_state(&ns, 1, 7), SC_DEP_CURRENT);
    /* a missing counter (purged, evicted, not a number): never served */
    assert_int_equal(sc_entry_dep_state(&url, 0, 7), SC_DEP_GONE);
    assert_int_equal(sc_entry_dep_state(&tag, 0, 7), SC_DEP_GONE);
    assert_int_equal(sc_entry_dep_state(&ns, 0, 7), SC_DEP_GONE);
    /* incremented: soft for a URL or a tag, hard for a namespace */
    assert_int_equal(sc_entry_dep_state(&url, 1, 8), SC_DEP_MOVED);
    assert_int_equal(sc_entry_dep_state(&tag, 1, 9), SC_DEP_MOVED);
    assert_int_equal(sc_entry_dep_state(&ns, 1, 8), SC_DEP_GONE);
    assert_int_equal(sc_entry_dep_state(&odd, 1, 8), SC_DEP_MOVED);
    /* deleted and created again (a new random value): hard, whether it is
     * below the old value or far above it */
    assert_int_equal(sc_entry_dep_state(&url, 1, 3), SC_DEP_GONE);
    assert_int_equal(sc_entry_dep_state(&tag, 1, 7 + ((apr_uint64_t)1 << 40)),
                     SC_DEP_GONE);
}

/* One row: the entry's times and flags, then what sc_entry_usable says. */
typedef struct {
    apr_int64_t now;
    int moved, soft_ok, quick;
    apr_uint32_t flags;
    int fresh, grace_ok, error_ok;
} usable_case_t;

static void test_usable_fresh_grace_and_error_windows(void **state)
{
    /* fresh until 100, grace until 150, stale-on-error until 200 */
    static const usable_case_t cases[] = {
        { 50, 0, 0, 0, 0, 1, 0, 0 },
        { 99, 0, 0, 0, 0, 1, 0, 0 },
        { 100, 0, 0, 0, 0, 0, 1, 1 },
        { 149, 0, 0, 0, 0, 0, 1, 1 },
        { 150, 0, 0, 0, 0, 0, 0, 1 },
        { 199, 0, 0, 0, 0, 0, 0, 1 },
        { 200, 0, 0, 0, 0, 0, 0, 0 },
        /* must-revalidate & co., and the quick handler: never stale */
        { 120, 0, 0, 0, SC_EF_NO_STALE, 0, 0, 0 },
        { 50, 0, 0, 0, SC_EF_NO_STALE, 1, 0, 0 },
        { 120, 0, 0, 1, 0, 0, 0, 0 },
        { 50, 0, 0, 1, 0, 1, 0, 0 },
        /* a soft invalidation: stale only with SharedCacheSoftInvalidate */
        { 50, 1, 0, 0, 0, 0, 0, 0 },
        { 50, 1, 1, 0, 0, 0, 1, 1 },
        { 170, 1, 1, 0, 0, 0, 0, 1 },
        { 50, 1, 1, 1, 0, 0, 0, 0 },
        { 50, 1, 1, 0, SC_EF_NO_STALE, 0, 0, 0 },
    };
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e = full_entry(p, SC_BODY_INLINE);
    unsigned int i;

    e.fresh_until = 100;
    e.stale_until = 150;
    e.error_until = 200;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const usable_case_t *c = &cases[i];
        sc_usable_t u;

        e.flags = c->flags;
        memset(&u, 0xff, sizeof(u));
        sc_entry_usable(&e, c->now, c->moved, c->soft_ok, c->quick, &u);
        if (u.fresh != c->fresh || u.grace_ok != c->grace_ok
            || u.error_ok != c->error_ok) {
            fail_msg("case %u: got fresh %d grace %d error %d", i, u.fresh,
                     u.grace_ok, u.error_ok);
        }
    }
    /* no grace period at all (stale_until == fresh_until) */
    e.flags = 0;
    e.stale_until = 100;
    {
        sc_usable_t u;
        sc_entry_usable(&e, 100, 0, 0, 0, &u);
        assert_false(u.grace_ok);
        assert_true(u.error_ok);
    }
}

static sc_entry_t chunked_entry(apr_pool_t *p, apr_uint64_t body_len)
{
    sc_entry_t e = full_entry(p, SC_BODY_CHUNKED);

    e.body_len = body_len;
    e.chunk_size = SC_CHUNK_MIN;
    e.nchunks = sc_chunk_count(body_len, e.chunk_size);
    e.version = 0x1122334455667788ull;
    return e;
}

static void test_chunk_keys_and_lengths_of_an_entry(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e = chunked_entry(p, 2 * SC_CHUNK_MIN + 5);
    const char **keys = sc_entry_chunk_keys(p, "site", &e);
    apr_uint32_t i;

    assert_int_equal(e.nchunks, 3);
    for (i = 0; i < e.nchunks; i++) {
        assert_string_equal(
            keys[i], sc_chunk_key(p, "site", e.key, e.key_len, e.version, i));
    }
    assert_int_equal(sc_entry_chunk_len(&e, 0), SC_CHUNK_MIN);
    assert_int_equal(sc_entry_chunk_len(&e, 1), SC_CHUNK_MIN);
    assert_int_equal(sc_entry_chunk_len(&e, 2), 5);
    assert_int_equal(sc_entry_chunk_len(&e, 3), 0);
    e = chunked_entry(p, 2 * SC_CHUNK_MIN);
    assert_int_equal(e.nchunks, 2);
    assert_int_equal(sc_entry_chunk_len(&e, 1), SC_CHUNK_MIN);
    assert_int_equal(sc_entry_chunk_len(&e, 2), 0);
    /* the largest body a record may describe */
    e.chunk_size = 0xffffffffu;
    e.body_len = SC_ENTRY_MAX_BODY;
    e.nchunks = sc_chunk_count(e.body_len, e.chunk_size);
    assert_int_equal(sc_entry_chunk_len(&e, e.nchunks - 1),
                     SC_ENTRY_MAX_BODY
                         - (apr_uint64_t)(e.nchunks - 1) * 0xffffffffu);
}

static void test_chunk_of_an_entry_checked_against_its_slot(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e = chunked_entry(p, SC_CHUNK_MIN + 5);
    char *full = malloc(SC_CHUNK_MIN), *buf;
    const char *data = NULL;
    apr_size_t len, n = 0;

    assert_non_null(full);
    memset(full, 'x', SC_CHUNK_MIN);
    assert_int_equal(sc_entry_chunk(&e, 0, NULL, 0, &data, &n), APR_ENOENT);
    buf = make_chunk(e.version, 0, full, SC_CHUNK_MIN, &len);
    assert_int_equal(sc_entry_chunk(&e, 0, buf, len, &data, &n), APR_SUCCESS);
    assert_ptr_equal(data, buf + SC_CHUNK_HEAD_LEN);
    assert_int_equal(n, SC_CHUNK_MIN);
    /* the same bytes are not chunk 1, nor chunk 0 of another version */
    assert_int_equal(sc_entry_chunk(&e, 1, buf, len, &data, &n), SC_EBADREC);
    e.version++;
    assert_int_equal(sc_entry_chunk(&e, 0, buf, len, &data, &n), SC_EBADREC);
    e.version--;
    free(buf);
    /* the last chunk holds the rest, exactly */
    buf = make_chunk(e.version, 1, "12345", 5, &len);
    assert_int_equal(sc_entry_chunk(&e, 1, buf, len, &data, &n), APR_SUCCESS);
    assert_int_equal(n, 5);
    assert_int_equal(sc_entry_chunk(&e, 1, buf, len - 1, &data, &n),
                     SC_EBADREC);
    free(buf);
    buf = make_chunk(e.version, 2, "", 0, &len);
    assert_int_equal(sc_entry_chunk(&e, 2, buf, len, &data, &n), SC_EBADREC);
    free(buf);
    free(full);
}

/* ---- coded bodies (format 3) ------------------------------------------ */

static sc_entry_t coded_entry(apr_pool_t *p)
{
    sc_entry_t e = full_entry(p, SC_BODY_INLINE);

    e.codings = SC_CODING_BIT(SC_CODING_GZIP) | SC_CODING_BIT(SC_CODING_BR);
    e.coding_off[SC_CODING_GZIP] = 0;
    e.coding_len[SC_CODING_GZIP] = 10;
    e.coding_off[SC_CODING_BR] = 10;
    e.coding_len[SC_CODING_BR] = BODY_LEN - 10;
    e.identity_len = 123456;
    return e;
}

static void test_coded_round_trip_is_format_3(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t in = coded_entry(p), out, plain = full_entry(p, SC_BODY_INLINE);
    apr_size_t len;
    char *rec = encode(p, &in, &len, NULL);

    assert_int_equal(rec[3], SC_ENTRY_FORMAT_CODED);
    assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
    assert_same_entry(&in, &out);
    assert_int_equal(out.codings, in.codings);
    assert_true(out.coding_off[SC_CODING_BR] == 10);
    assert_true(out.coding_len[SC_CODING_BR] == BODY_LEN - 10);
    assert_true(out.coding_len[SC_CODING_GZIP] == 10);
    assert_true(out.identity_len == 123456);
    free(rec);
    /* without codings: format 2, which the previous version reads */
    rec = encode(p, &plain, &len, NULL);
    assert_int_equal(rec[3], SC_ENTRY_FORMAT);
    assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
    assert_int_equal(out.codings, 0);
    free(rec);
}

/* Encode e's head as if it were valid (a valid twin's head with e's
 * codings written over it) and decode it: what a hostile record gets. */
static apr_status_t decode_coded(apr_pool_t *p, const sc_entry_t *bad)
{
    sc_entry_t ok = coded_entry(p);
    apr_size_t len, at;
    char *rec = encode(p, &ok, &len, NULL);
    apr_status_t rv;
    int c, n = 0;

    /* the codings section sits right before body_kind(1) body_len(8) */
    at = len - BODY_LEN - 9 - 8 - 2 * 17 - 1;
    for (c = 0; c < SC_CODINGS; c++) {
        n += (bad->codings & SC_CODING_BIT(c)) != 0;
    }
    assert_true(n == 2);
    assert_int_equal(rec[at], 2);
    at++;
    for (c = 0; c < SC_CODINGS; c++) {
        if (bad->codings & SC_CODING_BIT(c)) {
            rec[at] = (char)c;
            put_be(rec + at + 1, bad->coding_off[c], 8);
            put_be(rec + at + 9, bad->coding_len[c], 8);
            at += 17;
        }
    }
    put_be(rec + at, bad->identity_len, 8);
    rv = decode_copy(p, rec, len);
    free(rec);
    return rv;
}

static void test_decode_rejects_bad_codings(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e;
    apr_size_t len;
    char *rec;

    /* the section as written is accepted */
    e = coded_entry(p);
    assert_int_equal(decode_coded(p, &e), APR_SUCCESS);
    /* a coding past the body */
    e = coded_entry(p);
    e.coding_len[SC_CODING_BR] = BODY_LEN - 9;
    assert_int_equal(decode_coded(p, &e), SC_EBADREC);
    e = coded_entry(p);
    e.coding_off[SC_CODING_BR] = BODY_LEN + 1;
    e.coding_len[SC_CODING_BR] = 0;
    assert_int_equal(decode_coded(p, &e), SC_EBADREC);
    e = coded_entry(p);
    e.coding_off[SC_CODING_BR] = APR_UINT64_MAX;
    assert_int_equal(decode_coded(p, &e), SC_EBADREC);
    /* the codings fill the body, gzip first: swapped, a gap, a rest */
    e = coded_entry(p);
    e.coding_off[SC_CODING_GZIP] = BODY_LEN - 10;
    e.coding_off[SC_CODING_BR] = 0;
    e.coding_len[SC_CODING_BR] = BODY_LEN - 10;
    assert_int_equal(decode_coded(p, &e), SC_EBADREC);
    e = coded_entry(p);
    e.coding_off[SC_CODING_BR] = 11;
    e.coding_len[SC_CODING_BR] = BODY_LEN - 11;
    assert_int_equal(decode_coded(p, &e), SC_EBADREC);
    e = coded_entry(p);
    e.coding_len[SC_CODING_BR] = BODY_LEN - 11;
    assert_int_equal(decode_coded(p, &e), SC_EBADREC);
    /* identity is decoded from gzip: a record without it is refused */
    e = coded_entry(p);
    e.codings = SC_CODING_BIT(SC_CODING_IDENTITY) | SC_CODING_BIT(SC_CODING_BR);
    assert_int_equal(decode_coded(p, &e), SC_EBADREC);
    /* a decoded length no body may have */
    e = coded_entry(p);
    e.identity_len = SC_ENTRY_MAX_BODY + 1;
    assert_int_equal(decode_coded(p, &e), SC_EBADREC);
    /* the same coding twice, an unknown one */
    e = coded_entry(p);
    rec = encode(p, &e, &len, NULL);
    rec[len - BODY_LEN - 9 - 8 - 17] = SC_CODING_GZIP;
    assert_int_equal(decode_copy(p, rec, len), SC_EBADREC);
    rec[len - BODY_LEN - 9 - 8 - 17] = 9;
    assert_int_equal(decode_copy(p, rec, len), SC_EBADREC);
    /* format 3 without a codings section (a format 2 record relabelled) */
    rec[len - BODY_LEN - 9 - 8 - 17] = SC_CODING_BR;
    assert_int_equal(decode_copy(p, rec, len), APR_SUCCESS);
    free(rec);
    e = full_entry(p, SC_BODY_INLINE);
    rec = encode(p, &e, &len, NULL);
    rec[3] = SC_ENTRY_FORMAT_CODED;
    assert_int_equal(decode_copy(p, rec, len), SC_EBADREC);
    free(rec);
}

static void test_encode_refuses_bad_codings(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e = coded_entry(p);
    char *head;
    apr_size_t len;

    e.coding_len[SC_CODING_GZIP] = BODY_LEN + 1;
    assert_int_equal(sc_entry_encode_head(p, &e, &head, &len), SC_EBADREC);
    e = coded_entry(p);
    e.codings = SC_CODING_BIT(SC_CODING_BR);
    assert_int_equal(sc_entry_encode_head(p, &e, &head, &len), SC_EBADREC);
}

/* Format 4: a body with its deflate pieces, read back as written; pieces
 * with codings, in a chunked entry, empty or none at all are refused. */
static void
test_pieces_round_trip_and_are_refused_where_they_cannot_be(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_entry_t e = full_entry(p, SC_BODY_INLINE), out;
    sc_entry_piece_t *pc;
    char *head, *rec;
    apr_size_t len, hl, at;

    sc_entry_piece_add(p, &e.pieces, "\x01\x02piece\x00\x00\xff\xff", 11);
    sc_entry_piece_add(p, &e.pieces, "P2", 2);
    rec = encode(p, &e, &len, &hl);
    assert_int_equal(rec[3], SC_ENTRY_FORMAT_PIECE);
    assert_int_equal(decode_copy(p, rec, len), APR_SUCCESS);
    assert_int_equal(sc_entry_decode(p, rec, len, &out), APR_SUCCESS);
    assert_non_null(out.pieces);
    assert_int_equal(out.pieces->nelts, 2);
    pc = &APR_ARRAY_IDX(out.pieces, 0, sc_entry_piece_t);
    assert_int_equal(pc->len, 11);
    assert_memory_equal(pc->data, "\x01\x02piece\x00\x00\xff\xff", 11);
    assert_true(pc->data > rec && pc->data + 11 <= rec + hl);
    pc = &APR_ARRAY_IDX(out.pieces, 1, sc_entry_piece_t);
    assert_int_equal(pc->len, 2);
    assert_memory_equal(pc->data, "P2", 2);
    assert_int_equal(out.codings, 0);
    assert_int_equal(out.body_len, BODY_LEN);
    /* the second piece's length(4) sits before its 2 bytes, before
     * body_kind(1) body_len(8): a length of 0 */
    at = hl - 9 - 2 - 4;
    rec[at + 3] = 0;
    assert_int_equal(decode_copy(p, rec, len), SC_EBADREC);
    /* no piece at all: npieces(2) = 0 */
    at = hl - 9 - 2 - 4 - 11 - 4 - 2;
    rec[at + 3] = 2;
    rec[at + 1] = 0;
    assert_int_equal(decode_copy(p, rec, len), SC_EBADREC);
    free(rec);
    /* format 2 read as format 4 */
    e.pieces = NULL;
    rec = encode(p, &e, &len, NULL);
    assert_int_equal(rec[3], SC_ENTRY_FORMAT);
    rec[3] = SC_ENTRY_FORMAT_PIECE;
    assert_int_equal(decode_copy(p, rec, len), SC_EBADREC);
    free(rec);
    /* not written where it cannot be read */
    e.pieces = apr_array_make(p, 1, sizeof(sc_entry_piece_t));
    assert_int_equal(sc_entry_encode_head(p, &e, &head, &hl), SC_EBADREC);
    pc = apr_array_push(e.pieces);
    pc->data = "x";
    pc->len = 0;
    assert_int_equal(sc_entry_encode_head(p, &e, &head, &hl), SC_EBADREC);
    pc->len = 1;
    assert_int_equal(sc_entry_encode_head(p, &e, &head, &hl), APR_SUCCESS);
    e = full_entry(p, SC_BODY_CHUNKED);
    e.pieces = apr_array_make(p, 1, sizeof(sc_entry_piece_t));
    pc = apr_array_push(e.pieces);
    pc->data = "x";
    pc->len = 1;
    assert_int_equal(sc_entry_encode_head(p, &e, &head, &hl), SC_EBADREC);
    {
        apr_array_header_t *one = e.pieces;

        e = coded_entry(p);
        e.pieces = one;
        assert_int_equal(sc_entry_encode_head(p, &e, &head, &hl), SC_EBADREC);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_roundtrip_inline_keeps_every_field),
        UNIT_TEST(test_roundtrip_chunked_keeps_chunk_meta),
        UNIT_TEST(test_roundtrip_times_zero_and_extreme),
        UNIT_TEST(test_times_out_of_range_are_refused),
        UNIT_TEST(test_roundtrip_minimal_entry_gives_empty_arrays),
        UNIT_TEST(test_roundtrip_status_bounds_and_vary_type),
        UNIT_TEST(test_roundtrip_max_headers_and_deps),
        UNIT_TEST(test_encode_matches_documented_layout),
        UNIT_TEST(test_local_ttl_is_the_byte_after_the_type),
        UNIT_TEST(test_decode_accepts_hand_built_record),
        UNIT_TEST(test_decode_rejects_wrong_magic),
        UNIT_TEST(test_decode_rejects_wrong_format_version),
        UNIT_TEST(test_decode_rejects_unknown_type_and_body_kind),
        UNIT_TEST(test_decode_rejects_status_out_of_range),
        UNIT_TEST(test_decode_rejects_every_truncation),
        UNIT_TEST(test_decode_rejects_trailing_garbage),
        UNIT_TEST(test_decode_rejects_inline_body_len_mismatch),
        UNIT_TEST(test_decode_rejects_nchunks_inconsistent),
        UNIT_TEST(test_decode_rejects_zero_chunks_for_huge_body),
        UNIT_TEST(test_decode_rejects_tiny_chunks_and_too_many),
        UNIT_TEST(test_decode_rejects_chunk_size_zero),
        UNIT_TEST(test_decode_rejects_cr_lf_nul_in_header_value),
        UNIT_TEST(test_decode_rejects_bad_bytes_in_header_name),
        UNIT_TEST(test_decode_rejects_empty_header_name),
        UNIT_TEST(test_decode_dep_name_allows_cr_lf_but_not_nul),
        UNIT_TEST(test_decode_rejects_counts_over_the_maximum),
        UNIT_TEST(test_decode_rejects_lengths_past_the_buffer),
        UNIT_TEST(test_decode_accepts_binary_key),
        UNIT_TEST(test_encode_refuses_cr_lf_in_header_name_or_value),
        UNIT_TEST(test_encode_refuses_empty_or_malformed_header_name),
        UNIT_TEST(test_encode_refuses_too_many_headers_or_deps),
        UNIT_TEST(test_chunk_head_is_magic_version_index),
        UNIT_TEST(test_chunk_check_accepts_right_version_index_length),
        UNIT_TEST(test_chunk_check_rejects_wrong_version_index_length),
        UNIT_TEST(test_chunk_count_rounds_up),
        UNIT_TEST(test_match_tells_missing_corrupt_other_and_found),
        UNIT_TEST(test_vary_record_lives_until_stale_until),
        UNIT_TEST(test_dep_state_missing_moved_and_flushed),
        UNIT_TEST(test_usable_fresh_grace_and_error_windows),
        UNIT_TEST(test_chunk_keys_and_lengths_of_an_entry),
        UNIT_TEST(test_chunk_of_an_entry_checked_against_its_slot),
        UNIT_TEST(test_coded_round_trip_is_format_3),
        UNIT_TEST(test_decode_rejects_bad_codings),
        UNIT_TEST(test_encode_refuses_bad_codings),
        UNIT_TEST(test_pieces_round_trip_and_are_refused_where_they_cannot_be),
    };

    return UNIT_RUN(tests);
}

/*
 * test_unzipped.c: a child's recently decoded bodies (sc_unzipped.h).
 * Under `make sanitize` ASan sees a body freed while a bucket still reads
 * it, or never freed.
 */
#include "unit.h"
#include "sc_codec.h"
#include "sc_unzipped.h"

#include <apr_strings.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A body of len bytes that differs by seed. */
static char *text(apr_pool_t *p, apr_size_t len, unsigned seed)
{
    char *s = apr_palloc(p, len ? len : 1);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        s[i] = "<p>mod_sharedcache</p>\n"[i % 23]
               ^ (char)((seed >> (i % 3)) & 1);
    }
    return s;
}

static char *gzip_of(apr_pool_t *p, const char *in, apr_size_t len,
                     apr_size_t *gz_len)
{
    char *gz;

    assert_int_equal(sc_codec_gzip(p, in, len, &gz, gz_len), APR_SUCCESS);
    return gz;
}

/* The bucket's bytes, then the bucket destroyed. */
static void assert_bucket(apr_bucket *b, const char *want, apr_size_t len)
{
    const char *s;
    apr_size_t n;

    assert_int_equal(apr_bucket_read(b, &s, &n, APR_BLOCK_READ), APR_SUCCESS);
    assert_int_equal(n, len);
    assert_memory_equal(s, want, len);
    apr_bucket_destroy(b);
}

static void test_same_bytes_reuse_the_body(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    char *body = text(p, 16384, 1), *gz;
    apr_size_t gz_len;
    apr_bucket *a, *b;
    int reused;

    assert_int_equal(sc_unzipped_init(p, SC_UNZIPPED_BUDGET_MAX), APR_SUCCESS);
    gz = gzip_of(p, body, 16384, &gz_len);
    assert_int_equal(sc_unzipped_bucket(gz, gz_len, 16384, ba, &a, &reused),
                     APR_SUCCESS);
    assert_false(reused);
    assert_true(a->type == &sc_unzipped_type);
    /* the same bytes at another address */
    gz = apr_pmemdup(p, gz, gz_len);
    assert_int_equal(sc_unzipped_bucket(gz, gz_len, 16384, ba, &b, &reused),
                     APR_SUCCESS);
    assert_true(reused);
    assert_bucket(a, body, 16384);
    assert_bucket(b, body, 16384);
    /* another length than the member's is never the kept body */
    assert_int_equal(sc_unzipped_bucket(gz, gz_len, 16383, ba, &b, &reused),
                     APR_EINVAL);
    assert_null(b);
    assert_false(reused);
    /* one byte flipped: not the kept body, and not decoded */
    gz[gz_len / 2] ^= 0x40;
    if (sc_unzipped_bucket(gz, gz_len, 16384, ba, &b, &reused) == APR_SUCCESS) {
        assert_false(reused);
        assert_bucket(b, body, 16384); /* a flip that still decodes */
    }
}

/* Another member of len bytes (a body of its own) in the slot of ref's. */
static char *same_slot(apr_pool_t *p, const char *ref, apr_size_t ref_len,
                       apr_size_t len, char **body, apr_size_t *gz_len)
{
    unsigned seed;

    for (seed = 1; seed < 1000; seed++) {
        char *gz;
        *body = text(p, len, seed * 7);
        gz = gzip_of(p, *body, len, gz_len);
        if (memcmp(gz + *gz_len - 8, ref + ref_len - 8, 4) != 0
            && ((unsigned char)gz[*gz_len - 8] % SC_UNZIPPED_SLOTS
                == (unsigned char)ref[ref_len - 8] % SC_UNZIPPED_SLOTS)) {
            return gz;
        }
    }
    fail();
    return NULL;
}

/* Two members of one slot: the second replaces the first, whose bucket
 * still reads it (freed with its last bucket). */
static void test_a_replaced_body_lives_as_long_as_its_buckets(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    char *first = text(p, 5000, 0), *gz1, *gz2 = NULL, *second = NULL;
    apr_size_t l1, l2 = 0;
    apr_bucket *a, *b, *c;
    int reused;

    assert_int_equal(sc_unzipped_init(p, SC_UNZIPPED_BUDGET_MAX), APR_SUCCESS);
    gz1 = gzip_of(p, first, 5000, &l1);
    /* a second body whose CRC falls in the same slot */
    gz2 = same_slot(p, gz1, l1, 5000, &second, &l2);
    assert_int_equal(sc_unzipped_bucket(gz1, l1, 5000, ba, &a, &reused),
                     APR_SUCCESS);
    assert_int_equal(sc_unzipped_bucket(gz2, l2, 5000, ba, &b, &reused),
                     APR_SUCCESS);
    assert_false(reused);
    /* the first's bucket, copied and split, outlives its slot */
    {
        apr_bucket_brigade *bb = apr_brigade_create(p, ba);
        apr_bucket *rest;
        const char *s;
        apr_size_t n;

        assert_int_equal(apr_bucket_copy(a, &c), APR_SUCCESS);
        APR_BRIGADE_INSERT_TAIL(bb, c);
        assert_int_equal(apr_bucket_split(c, 100), APR_SUCCESS);
        assert_bucket(a, first, 5000);
        rest = APR_BUCKET_NEXT(c);
        assert_int_equal(apr_bucket_read(rest, &s, &n, APR_BLOCK_READ),
                         APR_SUCCESS);
        assert_int_equal(n, 4900);
        assert_memory_equal(s, first + 100, 4900);
        assert_int_equal(apr_bucket_read(c, &s, &n, APR_BLOCK_READ),
                         APR_SUCCESS);
        assert_int_equal(n, 100);
        assert_memory_equal(s, first, 100);
        apr_brigade_destroy(bb);
    }
    assert_bucket(b, second, 5000);
    /* the first is gone from its slot: decoded again */
    assert_int_equal(sc_unzipped_bucket(gz1, l1, 5000, ba, &a, &reused),
                     APR_SUCCESS);
    assert_false(reused);
    assert_bucket(a, first, 5000);
}

/* apr_brigade_write appends into a heap bucket with room at its end (one
 * split short); a kept body is never such a bucket. */
static void test_a_filter_cannot_write_into_a_kept_body(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    apr_bucket_brigade *bb = apr_brigade_create(p, ba);
    char *body = text(p, 3000, 3), *gz;
    apr_size_t gz_len;
    apr_bucket *a, *b;
    int reused;

    assert_int_equal(sc_unzipped_init(p, SC_UNZIPPED_BUDGET_MAX), APR_SUCCESS);
    gz = gzip_of(p, body, 3000, &gz_len);
    assert_int_equal(sc_unzipped_bucket(gz, gz_len, 3000, ba, &a, &reused),
                     APR_SUCCESS);
    APR_BRIGADE_INSERT_TAIL(bb, a);
    assert_int_equal(apr_bucket_split(a, 1000), APR_SUCCESS);
    apr_bucket_delete(APR_BUCKET_NEXT(a)); /* a is the first 1000 now */
    assert_int_equal(apr_brigade_write(bb, NULL, NULL, "XXXXXXXX", 8),
                     APR_SUCCESS);
    apr_brigade_destroy(bb);
    assert_int_equal(sc_unzipped_bucket(gz, gz_len, 3000, ba, &b, &reused),
                     APR_SUCCESS);
    assert_true(reused);
    assert_bucket(b, body, 3000);
}

static void test_larger_bodies_are_decoded_per_call(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    apr_size_t len = SC_UNZIPPED_MAX + 1, gz_len;
    char *body = text(p, len, 5), *gz;
    apr_bucket *a;
    int i, reused;

    assert_int_equal(sc_unzipped_init(p, SC_UNZIPPED_BUDGET_MAX), APR_SUCCESS);
    gz = gzip_of(p, body, len, &gz_len);
    for (i = 0; i < 2; i++) {
        assert_int_equal(sc_unzipped_bucket(gz, gz_len, len, ba, &a, &reused),
                         APR_SUCCESS);
        assert_false(reused);
        assert_bucket(a, body, len);
    }
    /* bad data: no bucket */
    assert_int_equal(sc_unzipped_bucket("not gzip at all, not at all", 27, 5,
                                        ba, &a, &reused),
                     APR_EINVAL);
    assert_null(a);
}

/* A member of another slot than the one of ref (of len bytes, seed from). */
static char *other_slot(apr_pool_t *p, const char *ref, apr_size_t ref_len,
                        apr_size_t len, unsigned from, char **body,
                        apr_size_t *gz_len)
{
    unsigned seed;

    for (seed = from; seed < from + 1000; seed++) {
        char *gz;
        *body = text(p, len, seed * 13);
        gz = gzip_of(p, *body, len, gz_len);
        if ((unsigned char)gz[*gz_len - 8] % SC_UNZIPPED_SLOTS
            != (unsigned char)ref[ref_len - 8] % SC_UNZIPPED_SLOTS) {
            return gz;
        }
    }
    fail();
    return NULL;
}

/* 1 when the member's body is kept: a second call takes it. */
static int is_kept(apr_bucket_alloc_t *ba, const char *gz, apr_size_t gz_len,
                   const char *body, apr_size_t len)
{
    apr_bucket *b;
    int reused;

    assert_int_equal(sc_unzipped_bucket(gz, gz_len, len, ba, &b, &reused),
                     APR_SUCCESS);
    assert_bucket(b, body, len);
    return reused;
}

/* SharedCacheKeepDecoded: what a child keeps (bodies and their gzip
 * forms) stays within its budget; the newest body is kept, the others
 * not taken since they were kept make room; a body above the budget alone
 * is decoded per call. */
static void test_the_budget_bounds_what_is_kept(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    char *one = text(p, 20000, 1), *two, *three, *gz1, *gz2, *gz3;
    apr_size_t l1, l2, l3, budget;
    apr_bucket *b;
    int reused;

    gz1 = gzip_of(p, one, 20000, &l1);
    gz2 = other_slot(p, gz1, l1, 20000, 1, &two, &l2);
    /* room for one of them, not two */
    budget = 20000 + (l1 > l2 ? l1 : l2) + 100;
    assert_int_equal(sc_unzipped_init(p, budget), APR_SUCCESS);
    assert_int_equal(sc_unzipped_bucket(gz1, l1, 20000, ba, &b, &reused),
                     APR_SUCCESS);
    assert_false(reused);
    assert_bucket(b, one, 20000);
    /* the second, in another slot, takes the room of the first, not
     * taken since it was kept */
    assert_false(is_kept(ba, gz2, l2, two, 20000));
    assert_true(is_kept(ba, gz2, l2, two, 20000));
    /* the first again: the second was taken since, so it stays for one
     * more decode of the first */
    assert_false(is_kept(ba, gz1, l1, one, 20000));
    assert_false(is_kept(ba, gz1, l1, one, 20000));
    assert_true(is_kept(ba, gz1, l1, one, 20000));
    /* a body alone above the budget: decoded at each call, and what is
     * kept stays */
    three = text(p, 30000, 3);
    gz3 = gzip_of(p, three, 30000, &l3);
    assert_false(is_kept(ba, gz3, l3, three, 30000));
    assert_false(is_kept(ba, gz3, l3, three, 30000));
    assert_true(is_kept(ba, gz1, l1, one, 20000));
    /* room for both: both kept */
    assert_int_equal(sc_unzipped_init(p, 2 * budget), APR_SUCCESS);
    assert_false(is_kept(ba, gz1, l1, one, 20000));
    assert_false(is_kept(ba, gz2, l2, two, 20000));
    assert_true(is_kept(ba, gz1, l1, one, 20000));
    assert_true(is_kept(ba, gz2, l2, two, 20000));
}

/* A kept body taken since it was kept is not displaced by a body decoded
 * once (a page read once, a crawler's walk): the newcomer is decoded for
 * its hit, and the kept body is marked as not taken since.  A newcomer
 * decoded again while the kept body was not taken then takes its room:
 * with room for one body, a hot page keeps it against a stream of pages
 * each read once. */
static void test_a_body_taken_again_stays_against_one_decoded_once(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    char *one = text(p, 20000, 1), *two, *three, *gz1, *gz2, *gz3;
    apr_size_t l1, l2, l3, budget;
    int i, taken = 0;

    gz1 = gzip_of(p, one, 20000, &l1);
    gz2 = other_slot(p, gz1, l1, 20000, 1, &two, &l2);
    gz3 = other_slot(p, gz1, l1, 20000, 100, &three, &l3);
    budget = 20000 + (l1 > l2 ? l1 : l2) + 100;
    assert_int_equal(sc_unzipped_init(p, budget), APR_SUCCESS);
    assert_false(is_kept(ba, gz1, l1, one, 20000));
    assert_true(is_kept(ba, gz1, l1, one, 20000));
    /* the hot body against pages read once, in turn */
    for (i = 0; i < 10; i++) {
        assert_false(is_kept(ba, i % 2 ? gz3 : gz2, i % 2 ? l3 : l2,
                             i % 2 ? three : two, 20000));
        taken += is_kept(ba, gz1, l1, one, 20000);
    }
    assert_int_equal(taken, 10);
    /* not taken between two decodes of the second: it goes in */
    assert_false(is_kept(ba, gz2, l2, two, 20000));
    assert_false(is_kept(ba, gz2, l2, two, 20000));
    assert_true(is_kept(ba, gz2, l2, two, 20000));
    assert_false(is_kept(ba, gz1, l1, one, 20000));
}

/* Two bodies of one slot: the one taken again keeps it. */
static void test_a_slot_stays_with_the_body_taken_again(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    char *one = text(p, 5000, 0), *two = NULL, *gz1, *gz2 = NULL;
    apr_size_t l1, l2 = 0;
    int i, taken = 0;

    assert_int_equal(sc_unzipped_init(p, SC_UNZIPPED_BUDGET_MAX), APR_SUCCESS);
    gz1 = gzip_of(p, one, 5000, &l1);
    gz2 = same_slot(p, gz1, l1, 5000, &two, &l2);
    assert_false(is_kept(ba, gz1, l1, one, 5000));
    assert_true(is_kept(ba, gz1, l1, one, 5000));
    for (i = 0; i < 10; i++) {
        assert_false(is_kept(ba, gz2, l2, two, 5000));
        taken += is_kept(ba, gz1, l1, one, 5000);
    }
    assert_int_equal(taken, 10);
}

/* SharedCacheKeepDecoded Off: nothing kept, every call decodes. */
static void test_a_budget_of_nothing_keeps_nothing(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_bucket_alloc_t *ba = apr_bucket_alloc_create(p);
    char *body = text(p, 4000, 9), *gz;
    apr_size_t gz_len;

    assert_int_equal(sc_unzipped_init(p, 0), APR_SUCCESS);
    gz = gzip_of(p, body, 4000, &gz_len);
    assert_false(is_kept(ba, gz, gz_len, body, 4000));
    assert_false(is_kept(ba, gz, gz_len, body, 4000));
    assert_false(is_kept(ba, gz, gz_len, body, 4000));
}

typedef struct {
    const char *gz[3], *body[3];
    apr_size_t gz_len[3], len[3];
    int bad;
} race_t;

static void *hitter(void *arg)
{
    race_t *x = arg;
    apr_pool_t *p;
    apr_bucket_alloc_t *ba;
    int i;

    apr_pool_create(&p, NULL);
    ba = apr_bucket_alloc_create(p);
    for (i = 0; i < 3000; i++) {
        int k = (i * 7 + i / 5) % 3, reused;
        apr_bucket *b;
        const char *s;
        apr_size_t n;

        if (sc_unzipped_bucket(x->gz[k], x->gz_len[k], x->len[k], ba, &b,
                               &reused)
                != APR_SUCCESS
            || apr_bucket_read(b, &s, &n, APR_BLOCK_READ) != APR_SUCCESS
            || n != x->len[k] || memcmp(s, x->body[k], n) != 0) {
            x->bad = 1;
        }
        if (b) {
            apr_bucket_destroy(b);
        }
    }
    apr_pool_destroy(p);
    return NULL;
}

/* Threads hitting three bodies (some sharing a slot) always read their
 * own bytes; ASan sees any use after free. */
static void test_threads_read_their_own_bytes(void **state)
{
    apr_pool_t *p = unit_pool(state);
    race_t x = { { 0 }, { 0 }, { 0 }, { 0 }, 0 };
    pthread_t t[4];
    int i;

    assert_int_equal(sc_unzipped_init(p, SC_UNZIPPED_BUDGET_MAX), APR_SUCCESS);
    for (i = 0; i < 3; i++) {
        x.len[i] = 2000 + 1000 * (apr_size_t)i;
        x.body[i] = text(p, x.len[i], (unsigned)i);
        x.gz[i] = gzip_of(p, x.body[i], x.len[i], &x.gz_len[i]);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, hitter, &x), 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    assert_false(x.bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_same_bytes_reuse_the_body),
        UNIT_TEST(test_a_replaced_body_lives_as_long_as_its_buckets),
        UNIT_TEST(test_a_filter_cannot_write_into_a_kept_body),
        UNIT_TEST(test_larger_bodies_are_decoded_per_call),
        UNIT_TEST(test_threads_read_their_own_bytes),
        UNIT_TEST(test_the_budget_bounds_what_is_kept),
        UNIT_TEST(test_a_body_taken_again_stays_against_one_decoded_once),
        UNIT_TEST(test_a_slot_stays_with_the_body_taken_again),
        UNIT_TEST(test_a_budget_of_nothing_keeps_nothing),
    };

    return UNIT_RUN(tests);
}

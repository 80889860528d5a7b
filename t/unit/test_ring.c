/*
 * test_ring.c: the local tier's store (src/sc_ring.c): records found by
 * id until they expire or are overwritten, never another record, never a
 * torn one, in exactly the memory given.
 */
#include "unit.h"
#include "sc_ring.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEG (256 * 1024)

static sc_ring_t *new_ring(apr_pool_t *p, apr_size_t size)
{
    void *mem = apr_palloc(p, size);
    sc_ring_t *r = sc_ring_init(mem, size);

    assert_non_null(r);
    return r;
}

static int get(sc_ring_t *r, const char *id, char *out, apr_size_t cap,
               apr_size_t *len)
{
    const char *data;
    char buf[65536];

    if (sc_ring_get(r, id, strlen(id), apr_time_now(), buf, sizeof(buf), &data,
                    len)
        != APR_SUCCESS) {
        return 0;
    }
    assert_true(*len <= cap);
    memcpy(out, data, *len);
    return 1;
}

static apr_time_t later(int s)
{
    return apr_time_now() + apr_time_from_sec(s);
}

static void test_a_record_is_found_by_its_id_only(void **state)
{
    sc_ring_t *r = new_ring(unit_pool(state), SEG);
    char out[64];
    apr_size_t len;

    assert_int_equal(sc_ring_put(r, "k1", 2, "hello", 5, later(10)),
                     APR_SUCCESS);
    assert_true(get(r, "k1", out, sizeof(out), &len));
    assert_int_equal(len, 5);
    assert_memory_equal(out, "hello", 5);
    assert_false(get(r, "k2", out, sizeof(out), &len));
    assert_false(get(r, "k", out, sizeof(out), &len));
    assert_false(get(r, "k10", out, sizeof(out), &len));
}

static void test_a_new_record_of_an_id_replaces_the_old(void **state)
{
    sc_ring_t *r = new_ring(unit_pool(state), SEG);
    char out[64];
    apr_size_t len;
    sc_ring_stats_t st;

    sc_ring_put(r, "k", 1, "one", 3, later(10));
    sc_ring_put(r, "k", 1, "second", 6, later(10));
    assert_true(get(r, "k", out, sizeof(out), &len));
    assert_int_equal(len, 6);
    assert_memory_equal(out, "second", 6);
    sc_ring_stats(r, apr_time_now(), &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.stores, 2);
}

static void test_an_expired_record_is_not_found(void **state)
{
    sc_ring_t *r = new_ring(unit_pool(state), SEG);
    char out[64];
    apr_size_t len;

    sc_ring_put(r, "k", 1, "x", 1, apr_time_now() - 1);
    assert_false(get(r, "k", out, sizeof(out), &len));
}

static void test_too_large_is_refused_and_too_small_a_segment(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_ring_t *r = new_ring(p, SEG);
    apr_size_t max = sc_ring_max_record(r);
    char *big = apr_pcalloc(p, max + 1);
    const char *data;
    char buf[16];
    apr_size_t len;

    assert_true(max >= SEG / 5);
    assert_int_equal(sc_ring_put(r, "k", 1, big, max, later(10)), APR_ENOSPC);
    assert_int_equal(sc_ring_put(r, "k", 1, big, max - 1, later(10)),
                     APR_SUCCESS);
    /* a buffer too small for it: a miss, not an overflow */
    assert_int_equal(
        sc_ring_get(r, "k", 1, apr_time_now(), buf, sizeof(buf), &data, &len),
        APR_NOTFOUND);
    assert_null(sc_ring_init(apr_palloc(p, SC_RING_MIN), SC_RING_MIN - 1));
}

/* 10,000 distinct records of 1 KiB through a 256 KiB segment: the newest
 * are found, the oldest are not, and nothing found is another's. */
static void test_the_oldest_are_overwritten_and_never_returned(void **state)
{
    sc_ring_t *r = new_ring(unit_pool(state), SEG);
    char data[1024], out[1024], id[32];
    apr_size_t len;
    sc_ring_stats_t st;
    int i, found = 0;

    for (i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "url-%d", i);
        memset(data, 'a' + i % 26, sizeof(data));
        memcpy(data, id, strlen(id));
        assert_int_equal(
            sc_ring_put(r, id, strlen(id), data, sizeof(data), later(10)),
            APR_SUCCESS);
    }
    for (i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "url-%d", i);
        if (get(r, id, out, sizeof(out), &len)) {
            found++;
            assert_int_equal(len, sizeof(data));
            assert_memory_equal(out, id, strlen(id));
            assert_int_equal(out[1023], 'a' + i % 26);
        }
    }
    snprintf(id, sizeof(id), "url-%d", 9999);
    assert_true(get(r, id, out, sizeof(out), &len));
    assert_false(get(r, "url-0", out, sizeof(out), &len));
    sc_ring_stats(r, apr_time_now(), &st);
    assert_true(found > 0);
    assert_true(found < SEG / 1024);
    assert_int_equal(st.entries, found);
    assert_int_equal(st.stores, 10000);
    assert_int_equal(st.size, SEG);
}

/* One writer overwriting the ring as fast as it can, readers copying
 * records out meanwhile: every record a reader gets is whole and its
 * own (its bytes all say which record and which round wrote them). */
typedef struct {
    sc_ring_t *r;
    volatile int stop;
    long got;
} race_t;

static void fill(char *data, apr_size_t n, int key, unsigned round)
{
    apr_size_t i;

    for (i = 0; i < n; i += 8) {
        memcpy(data + i, &key, 4);
        memcpy(data + i + 4, &round, 4);
    }
}

static void *writer(void *arg)
{
    race_t *x = arg;
    char data[4096], id[16];
    unsigned round;

    for (round = 0; !x->stop; round++) {
        int key = (int)(round % 97);
        snprintf(id, sizeof(id), "k%d", key);
        fill(data, sizeof(data), key, round);
        sc_ring_put(x->r, id, strlen(id), data, sizeof(data),
                    apr_time_now() + apr_time_from_sec(10));
    }
    return NULL;
}

static void *reader(void *arg)
{
    race_t *x = arg;
    char buf[8192], id[16];
    int i = 0;

    while (!x->stop) {
        const char *data;
        apr_size_t len, j;
        int key = i++ % 97, k;
        unsigned round, rr;

        snprintf(id, sizeof(id), "k%d", key);
        if (sc_ring_get(x->r, id, strlen(id), apr_time_now(), buf, sizeof(buf),
                        &data, &len)
            != APR_SUCCESS) {
            continue;
        }
        if (len != 4096) {
            abort();
        }
        memcpy(&round, data + 4, 4);
        for (j = 0; j < len; j += 8) {
            memcpy(&k, data + j, 4);
            memcpy(&rr, data + j + 4, 4);
            if (k != key || rr != round) {
                abort(); /* torn or another record's */
            }
        }
        __atomic_add_fetch(&x->got, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_readers_never_see_a_torn_record(void **state)
{
    race_t x = { new_ring(unit_pool(state), SC_RING_MIN), 0, 0 };
    pthread_t w, rd[3];
    int i;

    assert_int_equal(pthread_create(&w, NULL, writer, &x), 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(pthread_create(&rd[i], NULL, reader, &x), 0);
    }
    apr_sleep(apr_time_from_msec(700));
    x.stop = 1;
    pthread_join(w, NULL);
    for (i = 0; i < 3; i++) {
        pthread_join(rd[i], NULL);
    }
    assert_true(x.got > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_a_record_is_found_by_its_id_only),
        UNIT_TEST(test_a_new_record_of_an_id_replaces_the_old),
        UNIT_TEST(test_an_expired_record_is_not_found),
        UNIT_TEST(test_too_large_is_refused_and_too_small_a_segment),
        UNIT_TEST(test_the_oldest_are_overwritten_and_never_returned),
        UNIT_TEST(test_readers_never_see_a_torn_record),
    };

    return UNIT_RUN(tests);
}

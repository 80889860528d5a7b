/*
 * test_codec.c: content codings of stored bodies (src/sc_codec.[ch]):
 * the choice for an Accept-Encoding value (RFC 9110 12.5.3), which types
 * are compressed, the entity-tag of each coding, and gzip both ways.
 */
#include "unit.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "sc_codec.h"

#define GZ SC_CODING_BIT(SC_CODING_GZIP)
#define BR SC_CODING_BIT(SC_CODING_BR)
#define ID SC_CODING_IDENTITY

static void test_choose_follows_the_weights(void **state)
{
    static const struct {
        const char *ae;
        unsigned stored;
        sc_coding_t want;
    } cases[] = {
        /* no header: identity (curl, checks); empty: identity only */
        { NULL, GZ | BR, ID },
        { "", GZ | BR, ID },
        { "gzip", GZ | BR, SC_CODING_GZIP },
        { "gzip, deflate, br", GZ | BR, SC_CODING_BR },
        { "gzip, deflate, br", GZ, SC_CODING_GZIP },
        { "br", GZ, ID },
        { "deflate", GZ | BR, ID },
        { "x-gzip", GZ, SC_CODING_GZIP },
        { "GZip ; Q=1", GZ, SC_CODING_GZIP },
        /* weights */
        { "gzip;q=0", GZ | BR, ID },
        { "gzip;q=0.000", GZ, ID },
        { "gzip;q=0.001", GZ, SC_CODING_GZIP },
        { "br;q=0.5, gzip", GZ | BR, SC_CODING_GZIP },
        { "br;q=0.5, gzip;q=0.4", GZ | BR, SC_CODING_BR },
        { "gzip;q=1.0, br;q=1.000", GZ | BR, SC_CODING_BR },
        /* "*": every coding not named */
        { "*", GZ | BR, SC_CODING_BR },
        { "*;q=0", GZ | BR, ID },
        { "br;q=0, *", GZ | BR, SC_CODING_GZIP },
        { "gzip;q=0, *;q=0.5", GZ | BR, SC_CODING_BR },
        /* identity named competes by weight; unnamed it comes last */
        { "gzip;q=0.5, identity", GZ, ID },
        { "identity;q=0.5, gzip", GZ, SC_CODING_GZIP },
        { "gzip, identity", GZ, SC_CODING_GZIP },
        { "identity;q=0", GZ, ID }, /* nothing else acceptable */
        /* malformed weights refuse their coding */
        { "gzip;q=2", GZ, ID },
        { "gzip;q=1.5", GZ, ID },
        { "gzip;q=0.5555", GZ, ID },
        { "gzip;q=", GZ, ID },
        { "gzip;q=abc", GZ, ID },
        { "gzip;level=1", GZ, ID },
        { "gzip;q=0.5;q=0", GZ, ID }, /* the last weight given */
        /* the first member naming a coding is the one read */
        { "gzip;q=0, gzip", GZ, ID },
        /* separators and spaces */
        { " , ,gzip ,", GZ, SC_CODING_GZIP },
        { "\tbr\t;\tq=0.9", BR | GZ, SC_CODING_BR },
        /* a coding name longer than any known one */
        { "gzipgzipgzipgzipgzip", GZ, ID },
    };
    apr_size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_coding_t got = sc_codec_choose(cases[i].ae, cases[i].stored);
        if (got != cases[i].want) {
            fail_msg("Accept-Encoding \"%s\": got %s, want %s",
                     cases[i].ae ? cases[i].ae : "(absent)", sc_codec_name(got),
                     sc_codec_name(cases[i].want));
        }
    }
}

static void test_compressible_types(void **state)
{
    static const char *const yes[] = { "text/html",
                                       "text/html; charset=utf-8",
                                       "TEXT/CSS",
                                       "text/plain;charset=latin1",
                                       "application/json",
                                       "application/javascript",
                                       "application/xml",
                                       "application/rss+xml",
                                       "application/ld+json",
                                       "image/svg+xml",
                                       NULL };
    static const char *const no[] = { "image/png",
                                      "application/octet-stream",
                                      "application/jsonx",
                                      "text/event-stream",
                                      "text/",
                                      "video/mp4",
                                      "application/gzip",
                                      "",
                                      NULL };
    int i;

    (void)state;
    assert_false(sc_codec_compressible(NULL));
    for (i = 0; yes[i]; i++) {
        if (!sc_codec_compressible(yes[i])) {
            fail_msg("%s should be compressed", yes[i]);
        }
    }
    for (i = 0; no[i]; i++) {
        if (sc_codec_compressible(no[i])) {
            fail_msg("%s should not be compressed", no[i]);
        }
    }
}

static void test_etag_per_coding(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(sc_codec_etag(p, "\"abc\"", SC_CODING_GZIP),
                        "\"abc-gzip\"");
    assert_string_equal(sc_codec_etag(p, "W/\"abc\"", SC_CODING_BR),
                        "W/\"abc-br\"");
    assert_string_equal(sc_codec_etag(p, "\"abc\"", ID), "\"abc\"");
    /* not a quoted tag: the suffix at its end, as mod_deflate does */
    assert_string_equal(sc_codec_etag(p, "abc", SC_CODING_GZIP), "abc-gzip");
    assert_null(sc_codec_etag(p, NULL, SC_CODING_GZIP));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sc_codec_name(SC_CODING_GZIP), "gzip");
    assert_string_equal(sc_codec_name(SC_CODING_BR), "br");
    assert_null(sc_codec_name((sc_coding_t)7));
    assert_int_equal(sc_codec_parse("X-GZIP"), SC_CODING_GZIP);
    assert_int_equal(sc_codec_parse("compress"), -1);
}

static char *text(apr_size_t len)
{
    char *s = malloc(len);
    apr_size_t i;

    assert_non_null(s);
    for (i = 0; i < len; i++) {
        s[i] = "<p>mod_sharedcache</p>\n"[i % 23];
    }
    return s;
}

static void test_gzip_round_trip(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *in = text(100000), *gz, *out;
    apr_size_t gz_len, br_len;
    char *br;

    assert_int_equal(sc_codec_gzip(p, in, 100000, &gz, &gz_len), APR_SUCCESS);
    assert_true(gz_len < 2000);
    assert_int_equal((unsigned char)gz[0], 0x1f); /* a gzip member */
    assert_int_equal((unsigned char)gz[1], 0x8b);
    assert_int_equal(sc_codec_gunzip(gz, gz_len, 100000, &out), APR_SUCCESS);
    assert_memory_equal(out, in, 100000);
    free(out);
    assert_int_equal(sc_codec_brotli(p, in, 100000, &br, &br_len), APR_SUCCESS);
    assert_true(br_len > 0 && br_len < gz_len);
    free(in);
}

static void test_gunzip_refuses_what_is_not_exactly_the_body(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *in = text(5000), *gz, *out = NULL, *bad;
    apr_size_t gz_len, i;

    assert_int_equal(sc_codec_gzip(p, in, 5000, &gz, &gz_len), APR_SUCCESS);
    /* another length than the record says */
    assert_int_equal(sc_codec_gunzip(gz, gz_len, 4999, &out), APR_EINVAL);
    assert_int_equal(sc_codec_gunzip(gz, gz_len, 5001, &out), APR_EINVAL);
    assert_null(out);
    /* every truncation */
    for (i = 0; i < gz_len; i++) {
        assert_int_equal(sc_codec_gunzip(gz, i, 5000, &out), APR_EINVAL);
    }
    /* bytes after the member */
    bad = apr_palloc(p, gz_len + 1);
    memcpy(bad, gz, gz_len);
    bad[gz_len] = 'x';
    assert_int_equal(sc_codec_gunzip(bad, gz_len + 1, 5000, &out), APR_EINVAL);
    /* a flipped byte of the data or of the CRC */
    for (i = 10; i < gz_len; i += 7) {
        bad = apr_pmemdup(p, gz, gz_len);
        bad[i] ^= 0x40;
        if (sc_codec_gunzip(bad, gz_len, 5000, &out) == APR_SUCCESS) {
            /* a flip may still decode, but never to other bytes */
            assert_memory_equal(out, in, 5000);
            free(out);
        }
    }
    /* not gzip at all */
    assert_int_equal(sc_codec_gunzip(in, 5000, 5000, &out), APR_EINVAL);
    /* a wrong CRC, whatever else is right */
    bad = apr_pmemdup(p, gz, gz_len);
    bad[gz_len - 8] ^= 0x40;
    assert_int_equal(sc_codec_gunzip(bad, gz_len, 5000, &out), APR_EINVAL);
    assert_null(out);
    free(in);
}

static void test_gzip_framed_checks_magic_and_length(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *in = text(70000), *gz, head[SC_CODEC_GZIP_HEAD];
    apr_size_t len;

    assert_int_equal(sc_codec_gzip(p, in, 70000, &gz, &len), APR_SUCCESS);
    memcpy(head, gz, sizeof(head));
    assert_true(sc_codec_gzip_framed(head, gz + len - 8, 70000));
    assert_false(sc_codec_gzip_framed(head, gz + len - 8, 69999));
    /* ISIZE is modulo 2^32: a length 2^32 more is not told apart here
     * (sc_codec_gunzip checks the whole) */
    head[0] = 0x1e;
    assert_false(sc_codec_gzip_framed(head, gz + len - 8, 70000));
    memcpy(head, gz, sizeof(head));
    head[2] = 7; /* not deflate */
    assert_false(sc_codec_gzip_framed(head, gz + len - 8, 70000));
    /* the trailer of something else: the last 8 bytes of the data */
    memcpy(head, gz, sizeof(head));
    assert_false(sc_codec_gzip_framed(head, gz + len - 9, 70000));
    free(in);
}

/* Pieces made apart (one by its own maker, two by one maker reset between
 * them), in any order, make one gzip member that decodes to their runs one
 * after the other; what is not a piece is told apart. */
static void test_pieces_make_one_gzip_member(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *a = text(9000), *b = text(300), c[] = "<b>Hello, Bob</b>";
    const char *runs[3] = { b, a, c };
    apr_size_t lens[3] = { 300, 9000, sizeof(c) - 1 };
    sc_codec_pieces_t *z = sc_codec_pieces_make(p);
    char *pc[3], *member, *plain, *out;
    apr_size_t pl[3], mlen = SC_CODEC_GZIP_HEAD, plen = 0, at;
    apr_uint32_t crc = 0, piece_crc;
    int i;

    assert_non_null(z);
    assert_int_equal(sc_codec_piece(p, runs[0], lens[0], &pc[0], &pl[0]),
                     APR_SUCCESS);
    for (i = 1; i < 3; i++) {
        assert_int_equal(
            sc_codec_pieces_add(z, p, runs[i], lens[i], &pc[i], &pl[i]),
            APR_SUCCESS);
    }
    plain = apr_palloc(p, 9000 + 300 + sizeof(c));
    member = apr_palloc(p, pl[0] + pl[1] + pl[2] + 64);
    memcpy(member, sc_codec_gzip_head, SC_CODEC_GZIP_HEAD);
    for (i = 0; i < 3; i++) {
        assert_true(sc_codec_piece_framed(pc[i], pl[i], &piece_crc));
        memcpy(member + mlen, pc[i], pl[i] - SC_CODEC_PIECE_CRC);
        mlen += pl[i] - SC_CODEC_PIECE_CRC;
        memcpy(plain + plen, runs[i], lens[i]);
        plen += lens[i];
        crc = sc_codec_crc_combine(crc, piece_crc, lens[i]);
    }
    sc_codec_gzip_end(member + mlen, crc, plen);
    mlen += SC_CODEC_GZIP_END;
    assert_int_equal(sc_codec_gunzip(member, mlen, plen, &out), APR_SUCCESS);
    assert_memory_equal(out, plain, plen);
    free(out);
    /* a piece's CRC is its run's: a wrong one fails the member */
    member[mlen - 8] ^= 1;
    assert_int_equal(sc_codec_gunzip(member, mlen, plen, &out), APR_EINVAL);
    /* what is not a piece: a gzip member, a piece cut short */
    assert_false(sc_codec_piece_framed(member, mlen, &piece_crc));
    assert_false(sc_codec_piece_framed(pc[1], pl[1] - 1, &piece_crc));
    assert_false(sc_codec_piece_framed(pc[1], 8, &piece_crc));
    /* nothing is no piece */
    assert_int_equal(sc_codec_pieces_add(z, p, a, 0, &out, &at), APR_EGENERAL);
    free(a);
    free(b);
}

typedef struct {
    const char *gz;
    apr_size_t gz_len;
    const char *body;
    apr_size_t len;
    int bad;
} decode_job_t;

static void *decode_once(void *arg)
{
    decode_job_t *j = arg;
    char *out = malloc(j->len);

    if (!out
        || sc_codec_gunzip_into(j->gz, j->gz_len, out, j->len) != APR_SUCCESS
        || memcmp(out, j->body, j->len) != 0) {
        j->bad = 1;
    }
    free(out);
    return NULL; /* and nothing else: the thread just ends */
}

/* A thread that decodes and ends keeps nothing: mod_http2 ends the
 * workers it started beyond H2MinWorkers once they idle, and a
 * decompressor kept per thread (some 11 KiB) was lost with each (under
 * LeakSanitizer, `make sanitize`, the leak itself fails the run). */
static void test_gunzip_in_threads_that_end_keeps_nothing(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char body[3000];
    char *gz;
    decode_job_t j;
    size_t before, after;
    int i;

    for (i = 0; i < (int)sizeof(body); i++) {
        body[i] = (char)('a' + (i * 7) % 26);
    }
    assert_int_equal(sc_codec_gzip(p, body, sizeof(body), &gz, &j.gz_len),
                     APR_SUCCESS);
    j.gz = gz;
    j.body = body;
    j.len = sizeof(body);
    j.bad = 0;
    /* a first thread sets up what threads share (malloc's arenas) */
    {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, decode_once, &j), 0);
        pthread_join(t, NULL);
    }
    before = mallinfo2().uordblks;
    for (i = 0; i < 40; i++) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, decode_once, &j), 0);
        pthread_join(t, NULL);
    }
    after = mallinfo2().uordblks;
    assert_false(j.bad);
    /* 40 lost decompressors would be some 450 KiB */
    assert_true(after < before + 40 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_choose_follows_the_weights),
        UNIT_TEST(test_compressible_types),
        UNIT_TEST(test_etag_per_coding),
        UNIT_TEST(test_names),
        UNIT_TEST(test_gzip_round_trip),
        UNIT_TEST(test_gunzip_refuses_what_is_not_exactly_the_body),
        UNIT_TEST(test_gunzip_in_threads_that_end_keeps_nothing),
        UNIT_TEST(test_gzip_framed_checks_magic_and_length),
        UNIT_TEST(test_pieces_make_one_gzip_member),
    };

    return UNIT_RUN(tests);
}

/*
 * test_key.c: the canonical cache key, query normalisation and memcached
 * key digests (src/sc_key.[ch]; DESIGN.md section 5, THREATS.md 7, 11, 18).
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "sc_key.h"

#define VECTORS "t/unit/vectors.txt"

/* ---- helpers ----------------------------------------------------------- */

static sc_url_t url_of(const char *scheme, const char *host, unsigned int port,
                       const char *path, const char *query)
{
    sc_url_t u;

    u.scheme = scheme;
    u.host = host;
    u.port = port;
    u.path = path;
    u.query = query;
    return u;
}

/* Canonical key of an http://example.com:80 URL, no variance. */
static const char *plain_key(apr_pool_t *p, const char *path, const char *query,
                             const apr_array_header_t *ignore, apr_size_t *len)
{
    sc_url_t u = url_of("http", "example.com", 80, path, query);
    sc_key_t k;

    sc_key_init(&k, p, &u, ignore);
    return sc_key_bytes(&k, len);
}

static int same_bytes(const char *a, apr_size_t alen, const char *b,
                      apr_size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static int is_lower_hex(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

/* A memcached-safe key: 1..250 bytes, printable ASCII, no space. */
static void assert_memcached_key(const char *key)
{
    const unsigned char *s;

    assert_true(strlen(key) > 0);
    assert_true(strlen(key) < 250);
    for (s = (const unsigned char *)key; *s; s++) {
        assert_true(*s > 0x20 && *s < 0x7f);
    }
}

/* ---- sc_key_query ------------------------------------------------------ */

static void test_query_absent_or_empty_gives_empty_string(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(sc_key_query(p, NULL, NULL), "");
    assert_string_equal(sc_key_query(p, "", NULL), "");
}

static void test_query_params_sorted_stably_by_name(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(sc_key_query(p, "c=3&b=2&a=1", NULL), "a=1&b=2&c=3");
    /* duplicates keep the order of the request */
    assert_string_equal(sc_key_query(p, "b=2&a=1&c=3&a=0", NULL),
                        "a=1&a=0&b=2&c=3");
    assert_string_equal(sc_key_query(p, "a=3&a=1&a=2", NULL), "a=3&a=1&a=2");
    assert_string_equal(sc_key_query(p, "x=1&a&a=&a=2", NULL), "a&a=&a=2&x=1");
    /* enough duplicates that an unstable qsort would show */
    assert_string_equal(
        sc_key_query(p, "k=9&k=8&k=7&k=6&k=5&k=4&k=3&k=2&k=1&k=0&a=1", NULL),
        "a=1&k=9&k=8&k=7&k=6&k=5&k=4&k=3&k=2&k=1&k=0");
}

static void test_query_names_compared_bytewise_by_whole_name(void **state)
{
    apr_pool_t *p = unit_pool(state);

    /* "a" < "a-" < "ab": a name sorts before a longer one it prefixes,
     * and the value never takes part in the order */
    assert_string_equal(sc_key_query(p, "ab=1&a-=2&a=3", NULL),
                        "a=3&a-=2&ab=1");
    assert_string_equal(sc_key_query(p, "a=z&a=a", NULL), "a=z&a=a");
    /* bytewise, so upper case sorts before lower case */
    assert_string_equal(sc_key_query(p, "b=1&B=2&a=3", NULL), "B=2&a=3&b=1");
}

static void test_query_empty_params_dropped(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(sc_key_query(p, "&&b=2&&a=1&", NULL), "a=1&b=2");
    assert_string_equal(sc_key_query(p, "&", NULL), "");
    assert_string_equal(sc_key_query(p, "&&&", NULL), "");
}

static void test_query_ignore_globs_remove_params(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *ign = unit_strs(p, "utm_*", "fbclid", NULL);

    assert_string_equal(
        sc_key_query(p, "utm_source=x&b=2&fbclid=abc&utm_medium=y&a=1", ign),
        "a=1&b=2");
    /* a glob matches the whole name, never the value or a part */
    assert_string_equal(sc_key_query(p, "a=utm_x&xutm_y=1&fbclid2=3", ign),
                        "a=utm_x&fbclid2=3&xutm_y=1");
    /* everything ignored: nothing is left */
    assert_string_equal(sc_key_query(p, "utm_a=1&fbclid=2", ign), "");
    /* an empty ignore list changes nothing */
    assert_string_equal(
        sc_key_query(p, "b=1&a=2", apr_array_make(p, 1, sizeof(char *))),
        "a=2&b=1");
}

static void test_query_star_drops_whole_query(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *star = unit_strs(p, "*", NULL);

    assert_string_equal(sc_key_query(p, "a=1&b=2", star), "");
    assert_string_equal(sc_key_query(p, "=x&a&.hidden=1&x/y=2&%20=3", star),
                        "");
}

/* Past SC_KEY_MAX_PARAMS parameters a backend may drop the rest (PHP's
 * max_input_vars, Tomcat's maxParameterCount, Node's maxKeys): such a
 * query is keyed as sent, nothing ignored or reordered. */
static void test_query_many_params_kept_as_sent(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *ign = unit_strs(p, "utm_*", NULL);
    char *q = apr_pstrdup(p, "");
    int i;

    for (i = 0; i < SC_KEY_MAX_PARAMS; i++) {
        q = apr_pstrcat(p, q, i ? "&" : "", "utm_=", NULL);
    }
    q = apr_pstrcat(p, q, "&page=2", NULL);
    assert_string_equal(sc_key_query(p, q, ign), q);
    assert_string_equal(sc_key_query(p, "b=1&a=2", ign), "a=2&b=1");
    /* ';' separates parameters for some parsers: counted too */
    q = apr_pstrdup(p, "x=1");
    for (i = 1; i < SC_KEY_MAX_PARAMS; i++) {
        q = apr_pstrcat(p, q, ";x=1", NULL);
    }
    q = apr_pstrcat(p, q, "&utm_source=a&page=2", NULL);
    assert_string_equal(sc_key_query(p, q, ign), q);
    /* exactly the limit: still ignored and sorted */
    q = apr_pstrdup(p, "page=2");
    for (i = 1; i < SC_KEY_MAX_PARAMS; i++) {
        q = apr_pstrcat(p, q, "&utm_x=1", NULL);
    }
    assert_string_equal(sc_key_query(p, q, ign), "page=2");
}

/* ---- the canonical key -------------------------------------------------- */

static void test_key_is_version_tag_then_length_prefixed_fields(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t u = url_of("https", "h.example", 8443, "/p", "b=1&a=2");
    static const char want[] =
        "SCK2\n"
        "22:https://h.example:8443\n"
        "2:/p\n"
        "7:a=2&b=1\n"
        /* values enter hashed (SHA-1) */
        "46:c:sid=a9993e364706816aba3e25717850c26c9cd0d89d\n"
        "5:h:acc\n"
        "45:h:ua=da39a3ee5e6b4b0d3255bfef95601890afd80709\n";
    sc_key_t k;
    const char *key;
    apr_size_t len;

    sc_key_init(&k, p, &u, NULL);
    sc_key_add(&k, 'c', "sid", "abc");
    sc_key_add(&k, 'h', "acc", NULL);
    sc_key_add(&k, 'h', "ua", "");
    key = sc_key_bytes(&k, &len);
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(key, want, len);
    assert_int_equal(key[len], '\0');
}

static void test_key_without_query_has_an_empty_query_field(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t len;
    const char *key = plain_key(p, "/p", NULL, NULL, &len);

    assert_string_equal(key, "SCK2\n21:http://example.com:80\n2:/p\n0:\n");
    /* "?" alone and "?&&" are the same URL as no query at all */
    key = plain_key(p, "/p", "", NULL, &len);
    assert_string_equal(key, "SCK2\n21:http://example.com:80\n2:/p\n0:\n");
    key = plain_key(p, "/p", "&&", NULL, &len);
    assert_string_equal(key, "SCK2\n21:http://example.com:80\n2:/p\n0:\n");
}

static void test_key_query_order_does_not_matter(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t l1, l2;
    const char *k1 = plain_key(p, "/s", "q=x&page=2&&sort=asc", NULL, &l1);
    const char *k2 = plain_key(p, "/s", "sort=asc&q=x&page=2", NULL, &l2);

    assert_true(same_bytes(k1, l1, k2, l2));
    /* but the order of duplicates does */
    k1 = plain_key(p, "/s", "a=1&a=2", NULL, &l1);
    k2 = plain_key(p, "/s", "a=2&a=1", NULL, &l2);
    assert_false(same_bytes(k1, l1, k2, l2));
}

static void test_key_ignored_params_do_not_change_key(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *ign = unit_strs(p, "utm_*", NULL);
    apr_size_t l1, l2;
    const char *k1 = plain_key(p, "/s", "q=x&utm_source=mail", ign, &l1);
    const char *k2 = plain_key(p, "/s", "q=x", ign, &l2);

    assert_true(same_bytes(k1, l1, k2, l2));
    /* only ignored params: the same as no query */
    k1 = plain_key(p, "/s", "utm_a=1", ign, &l1);
    k2 = plain_key(p, "/s", NULL, ign, &l2);
    assert_true(same_bytes(k1, l1, k2, l2));
}

static void test_key_star_ignore_equals_no_query(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *star = unit_strs(p, "*", NULL);
    apr_size_t l1, l2;
    const char *k1 = plain_key(p, "/p", "a=1&b=2", star, &l1);
    const char *k2 = plain_key(p, "/p", NULL, NULL, &l2);

    assert_true(same_bytes(k1, l1, k2, l2));
}

static void test_key_scheme_host_port_path_each_count(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t base = url_of("http", "a.example", 80, "/p", "x=1");
    sc_url_t v[5];
    const char *keys[6];
    apr_size_t lens[6];
    sc_key_t k;
    int i, j;

    v[0] = base, v[0].scheme = "https";
    v[1] = base, v[1].host = "b.example";
    v[2] = base, v[2].port = 8080;
    v[3] = base, v[3].path = "/P";
    v[4] = base, v[4].query = "x=2";
    sc_key_init(&k, p, &base, NULL);
    keys[5] = sc_key_bytes(&k, &lens[5]);
    for (i = 0; i < 5; i++) {
        sc_key_init(&k, p, &v[i], NULL);
        keys[i] = sc_key_bytes(&k, &lens[i]);
    }
    for (i = 0; i < 6; i++) {
        for (j = i + 1; j < 6; j++) {
            assert_false(same_bytes(keys[i], lens[i], keys[j], lens[j]));
        }
    }
}

/* A path cannot forge a variance field: the URL field's length prefix
 * covers every byte of the path, "\n" and digits and colons included. */
static void test_key_path_with_newline_cannot_forge_variance_field(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t honest = url_of("http", "h", 80, "/x", NULL);
    sc_url_t forged = url_of("http", "h", 80, "/x\n13:c:sid=victim", NULL);
    sc_key_t k1, k2;
    const char *b1, *b2;
    apr_size_t l1, l2;

    sc_key_init(&k1, p, &honest, NULL);
    sc_key_add(&k1, 'c', "sid", "victim");
    sc_key_init(&k2, p, &forged, NULL);
    sc_key_add(&k2, 'c', "sid", NULL);
    b1 = sc_key_bytes(&k1, &l1);
    b2 = sc_key_bytes(&k2, &l2);
    assert_false(same_bytes(b1, l1, b2, l2));

    /* the same forgery with no variance field on the forged side */
    sc_key_init(&k2, p, &forged, NULL);
    b2 = sc_key_bytes(&k2, &l2);
    assert_false(same_bytes(b1, l1, b2, l2));
}

static void test_key_digits_and_colons_cannot_shift_field_bounds(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t u = url_of("http", "h", 80, "/1:2", NULL);
    sc_key_t k1, k2;
    const char *b1, *b2;
    apr_size_t l1, l2;

    /* bytes moved from one variance value into the next field */
    sc_key_init(&k1, p, &u, NULL);
    sc_key_add(&k1, 'c', "a", "1\n5:c:b=2");
    sc_key_init(&k2, p, &u, NULL);
    sc_key_add(&k2, 'c', "a", "1");
    sc_key_add(&k2, 'c', "b", "2");
    b1 = sc_key_bytes(&k1, &l1);
    b2 = sc_key_bytes(&k2, &l2);
    assert_false(same_bytes(b1, l1, b2, l2));

    /* the same bytes split differently between two fields */
    sc_key_init(&k1, p, &u, NULL);
    sc_key_add(&k1, 'h', "x", "12");
    sc_key_add(&k1, 'h', "y", "3");
    sc_key_init(&k2, p, &u, NULL);
    sc_key_add(&k2, 'h', "x", "1");
    sc_key_add(&k2, 'h', "y", "23");
    b1 = sc_key_bytes(&k1, &l1);
    b2 = sc_key_bytes(&k2, &l2);
    assert_false(same_bytes(b1, l1, b2, l2));

    /* the kind letter is part of the field */
    sc_key_init(&k1, p, &u, NULL);
    sc_key_add(&k1, 'c', "x", "1");
    sc_key_init(&k2, p, &u, NULL);
    sc_key_add(&k2, 'h', "x", "1");
    b1 = sc_key_bytes(&k1, &l1);
    b2 = sc_key_bytes(&k2, &l2);
    assert_false(same_bytes(b1, l1, b2, l2));
}

/* r->uri is decoded, so "/a%3Fb" reaches the key as path "/a?b" with no
 * query: it is another resource than "/a" with the query "b" (the
 * application sees PATH_INFO "/a?b" and no QUERY_STRING). */
static void test_key_path_with_question_mark_differs_from_query(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t l1, l2;
    const char *k1 = plain_key(p, "/a?b", NULL, NULL, &l1);
    const char *k2 = plain_key(p, "/a", "b", NULL, &l2);

    assert_false(same_bytes(k1, l1, k2, l2));
}

/* The canonical key is stored inside the entry: a session cookie in it
 * would be readable by anyone who can read memcached. */
static void test_key_never_holds_a_variance_value_in_clear(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t u = url_of("http", "h", 80, "/", NULL);
    sc_key_t k;
    const char *key;
    apr_size_t len;

    sc_key_init(&k, p, &u, NULL);
    sc_key_add(&k, 'c', "sessionid", "s3cr3t-session-value");
    key = sc_key_bytes(&k, &len);
    assert_null(strstr(key, "s3cr3t"));
    assert_non_null(strstr(key, "c:sessionid="));
}

static void test_key_copy_is_independent(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t u = url_of("http", "h", 80, "/", NULL);
    sc_key_t k1, k2;
    const char *b1, *b2;
    char *before;
    apr_size_t l1, l2, lb;

    sc_key_init(&k1, p, &u, NULL);
    sc_key_add(&k1, 'c', "a", "1");
    b1 = sc_key_bytes(&k1, &lb);
    before = apr_pstrmemdup(p, b1, lb);
    sc_key_copy(&k2, &k1);
    sc_key_add(&k2, 'V', "accept", "x");
    b1 = sc_key_bytes(&k1, &l1);
    b2 = sc_key_bytes(&k2, &l2);
    assert_int_equal(l1, lb);
    assert_memory_equal(b1, before, l1);
    assert_true(l2 > l1);
    assert_memory_equal(b2, before, l1);
}

static void test_key_absent_variance_value_differs_from_empty(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t u = url_of("http", "h", 80, "/", NULL);
    sc_key_t k1, k2, k3;
    const char *b1, *b2, *b3;
    apr_size_t l1, l2, l3;

    sc_key_init(&k1, p, &u, NULL);
    sc_key_add(&k1, 'c', "sid", NULL);
    sc_key_init(&k2, p, &u, NULL);
    sc_key_add(&k2, 'c', "sid", "");
    sc_key_init(&k3, p, &u, NULL);
    b1 = sc_key_bytes(&k1, &l1);
    b2 = sc_key_bytes(&k2, &l2);
    b3 = sc_key_bytes(&k3, &l3);
    assert_false(same_bytes(b1, l1, b2, l2));
    /* and an absent value still adds a field */
    assert_false(same_bytes(b1, l1, b3, l3));
    assert_false(same_bytes(b2, l2, b3, l3));
}

static void test_key_grows_for_long_path_and_many_fields(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *path = apr_palloc(p, 8193);
    sc_url_t u;
    sc_key_t k;
    const char *key, *want;
    apr_size_t len;
    int i;

    path[0] = '/';
    memset(path + 1, 'x', 8191);
    path[8192] = '\0';
    u = url_of("http", "h", 80, path, NULL);
    sc_key_init(&k, p, &u, NULL);
    for (i = 0; i < 100; i++) {
        sc_key_add(&k, 'h', apr_psprintf(p, "n%d", i), "v");
    }
    key = sc_key_bytes(&k, &len);
    want = apr_psprintf(p, "SCK2\n11:http://h:80\n%d:%s\n0:\n", 8192, path);
    assert_memory_equal(key, want, strlen(want));
    assert_memory_equal(key + len - 50,
                        "46:h:n99=7a38d8cbd20d9932ba948efaa364bb62651d5ad4\n",
                        50);
    assert_int_equal(key[len], '\0');
    assert_int_equal(len, strlen(want) + 10 * 49 + 90 * 50);
}

/* ---- digests ----------------------------------------------------------- */

static void test_digest_is_prefix_kind_and_lowercase_sha1_hex(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const char *d = sc_key_digest(p, "sc", SC_KIND_ENTRY, "", 0);

    /* sha1("") */
    assert_string_equal(d, "sc:e:da39a3ee5e6b4b0d3255bfef95601890afd80709");
    d = sc_key_digest(p, "site", SC_KIND_CHUNK, "abc", 3);
    assert_string_equal(d, "site:c:a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_int_equal(strlen(d), 4 + 3 + SC_DIGEST_HEX_LEN);
    assert_true(is_lower_hex(d + 7, SC_DIGEST_HEX_LEN));
}

static void test_digest_has_fixed_length_whatever_the_input(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char bin[] = "a\0b\r\n c\xff";
    const char *inputs[] = { "", "x", "SCK1\n1:/\n", bin };
    apr_size_t lens[] = { 0, 1, 9, sizeof(bin) - 1 };
    int i;

    for (i = 0; i < 4; i++) {
        const char *d = sc_key_digest(p, "sc", SC_KIND_ENTRY, inputs[i],
                                      lens[i]);
        assert_int_equal(strlen(d), 2 + 3 + SC_DIGEST_HEX_LEN);
        assert_memory_equal(d, "sc:e:", 5);
        assert_true(is_lower_hex(d + 5, SC_DIGEST_HEX_LEN));
        assert_memcached_key(d);
    }
}

static void test_digest_fits_memcached_with_64_byte_prefix(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char prefix[SC_PREFIX_MAX + 1];
    static const char key[] = "SCK1\n5:a b\r\n\n";
    const char kinds[] = { SC_KIND_ENTRY, SC_KIND_CHUNK, SC_KIND_LOCK,
                           SC_KIND_GEN };
    int i;

    memset(prefix, '~', SC_PREFIX_MAX);
    prefix[SC_PREFIX_MAX] = '\0';
    assert_true(sc_key_prefix_ok(prefix));
    for (i = 0; i < 4; i++) {
        const char *d = sc_key_digest(p, prefix, kinds[i], key,
                                      sizeof(key) - 1);
        assert_int_equal(strlen(d), SC_PREFIX_MAX + 3 + SC_DIGEST_HEX_LEN);
        assert_memcached_key(d);
        assert_int_equal(d[SC_PREFIX_MAX + 1], kinds[i]);
    }
}

static void test_digest_differs_for_different_inputs(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const char *base = sc_key_digest(p, "sc", 'e', "abc", 3);

    assert_string_not_equal(base, sc_key_digest(p, "sc", 'e', "abd", 3));
    assert_string_not_equal(base, sc_key_digest(p, "sc", 'e', "abc", 2));
    assert_string_not_equal(base, sc_key_digest(p, "sc", 'e', "abc\0", 4));
    assert_string_not_equal(base, sc_key_digest(p, "sc", 'c', "abc", 3));
    assert_string_not_equal(base, sc_key_digest(p, "sd", 'e', "abc", 3));
    assert_string_equal(base, sc_key_digest(p, "sc", 'e', "abc", 3));
}

static void test_rekind_keeps_the_digest_and_prefix(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const char *lease = sc_key_digest(p, "my:site", SC_KIND_LOCK, "abc", 3);

    assert_string_equal(sc_key_rekind(p, lease, SC_KIND_REFUSED),
                        sc_key_digest(p, "my:site", SC_KIND_REFUSED, "abc", 3));
    assert_string_equal(sc_key_rekind(p, lease, SC_KIND_LOCK), lease);
    /* not of the shape: NULL, never a key made of something else */
    assert_null(sc_key_rekind(p, NULL, SC_KIND_REFUSED));
    assert_null(sc_key_rekind(p, "", SC_KIND_REFUSED));
    assert_null(sc_key_rekind(p, "sc:l:abc", SC_KIND_REFUSED));
    assert_null(
        sc_key_rekind(p, apr_pstrcat(p, lease, ":0", NULL), SC_KIND_REFUSED));
    assert_null(sc_key_rekind(
        p, "sc:l:ABCDEF0123456789abcdef0123456789abcdef01", SC_KIND_REFUSED));
    assert_null(sc_key_rekind(
        p, "sc:ll0123456789abcdef0123456789abcdef01234567", SC_KIND_REFUSED));
}

static void test_digest_of_8k_path_key_is_a_normal_key(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *path = apr_palloc(p, 8193);
    apr_size_t l1, l2;
    const char *k1, *k2, *d1, *d2;

    path[0] = '/';
    memset(path + 1, 'a', 8191);
    path[8192] = '\0';
    k1 = plain_key(p, path, NULL, NULL, &l1);
    path[8191] = 'b'; /* differs only in the last byte */
    k2 = plain_key(p, path, NULL, NULL, &l2);
    d1 = sc_key_digest(p, "sc", SC_KIND_ENTRY, k1, l1);
    d2 = sc_key_digest(p, "sc", SC_KIND_ENTRY, k2, l2);
    assert_int_equal(strlen(d1), 5 + SC_DIGEST_HEX_LEN);
    assert_memcached_key(d1);
    assert_string_not_equal(d1, d2);
}

/* More than the 64 KB piece sc_key_digest feeds SHA-1 at a time. */
static void test_digest_of_input_over_64k_hashes_every_byte(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char *data = apr_palloc(p, 200000);

    memset(data, 'a', 200000);
    /* python3: hashlib.sha1(b'a' * 200000).hexdigest() */
    assert_string_equal(sc_key_digest(p, "sc", 'e', data, 200000),
                        "sc:e:ec99adda39f462070e2c7ecbc8433e70dc9fb54c");
}

/* Digests are remembered per thread (64 sets of four ways): inputs that
 * share a slot, asked for again in another order, and inputs that differ
 * only in their length still get their own digest. */
static void test_digest_remembered_is_the_inputs_own(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const char *first[500];
    int i;

    for (i = 0; i < 500; i++) {
        const char *in = apr_psprintf(p, "input %d", i);
        first[i] = sc_key_digest(p, "sc", 'e', in, strlen(in));
    }
    for (i = 499; i >= 0; i--) {
        const char *in = apr_psprintf(p, "input %d", i);
        assert_string_equal(first[i],
                            sc_key_digest(p, "sc", 'e', in, strlen(in)));
        /* the same bytes but one shorter: "input 1" for "input 10" */
        assert_string_not_equal(
            first[i], sc_key_digest(p, "sc", 'e', in, strlen(in) - 1));
    }
    /* python3: hashlib.sha1(b'abc').hexdigest(), after all of them */
    assert_string_equal(sc_key_digest(p, "x", 'e', "abc", 3),
                        "x:e:a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_string_equal(sc_key_digest(p, "x", 'e', "abd", 3),
                        "x:e:cb4cc28df0fdbe0ecf9d9662e294b118092a5735");
}

/* ---- sc_key_prefix_ok -------------------------------------------------- */

static void test_prefix_ok_accepts_printable_up_to_64_bytes(void **state)
{
    char prefix[SC_PREFIX_MAX + 1];

    (void)state;
    assert_true(sc_key_prefix_ok("sc"));
    assert_true(sc_key_prefix_ok("a"));
    assert_true(sc_key_prefix_ok("site-1.example_com/v2:x"));
    memset(prefix, 'p', SC_PREFIX_MAX);
    prefix[SC_PREFIX_MAX] = '\0';
    assert_true(sc_key_prefix_ok(prefix));
}

static void test_prefix_ok_rejects_empty_space_control_and_long(void **state)
{
    char prefix[SC_PREFIX_MAX + 2];

    (void)state;
    assert_false(sc_key_prefix_ok(""));
    assert_false(sc_key_prefix_ok(" "));
    assert_false(sc_key_prefix_ok("a b"));
    assert_false(sc_key_prefix_ok("sc "));
    assert_false(sc_key_prefix_ok("a\tb"));
    assert_false(sc_key_prefix_ok("a\nb"));
    assert_false(sc_key_prefix_ok("a\rb"));
    assert_false(sc_key_prefix_ok("a\x01"));
    assert_false(sc_key_prefix_ok("a\x7f"));
    assert_false(sc_key_prefix_ok("caf\xc3\xa9"));
    memset(prefix, 'p', SC_PREFIX_MAX + 1);
    prefix[SC_PREFIX_MAX + 1] = '\0';
    assert_false(sc_key_prefix_ok(prefix));
}

/* ---- fixed vectors (computed with python3 hashlib, see vectors.txt) ---- */

static void test_fixed_vector_sorted_query_with_variance(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t u = url_of("https", "shop.example.org", 443, "/search",
                        "q=caf%C3%A9&utm_source=news&b=2&&a=1&b=1"
                        "&utm_medium=mail&fbclid=XYZ&");
    static const char want[] =
        "SCK2\n"
        "28:https://shop.example.org:443\n"
        "7:/search\n"
        "23:a=1&b=2&b=1&q=caf%C3%A9\n"
        "52:c:sessionid=6367c48dd193d56ea7b0baad25b19455e529f5ee\n"
        "48:s:vhost=bb4af04b272dbbe8807e179639d71389d9626a0c\n";
    sc_key_t k;
    const char *key;
    apr_size_t len;

    sc_key_init(&k, p, &u, unit_strs(p, "utm_*", "fbclid", NULL));
    sc_key_add(&k, 'c', "sessionid", "abc123");
    sc_key_add(&k, 's', "vhost", "shop.example.org:443");
    key = sc_key_bytes(&k, &len);
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(key, want, len);
    assert_string_equal(sc_key_digest(p, "sc", SC_KIND_ENTRY, key, len),
                        "sc:e:e303da7416abce30fa4a7cb80c2ad08fcb148b02");
}

typedef struct {
    char *s;
    apr_size_t len;
} field_t;

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Undo \\ \t \n \r \xHH in place. */
static field_t unescape(char *s)
{
    field_t f;
    char *o = s;

    f.s = s;
    while (*s) {
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        switch (s[1]) {
        case '\\':
            *o++ = '\\';
            s += 2;
            break;
        case 't':
            *o++ = '\t';
            s += 2;
            break;
        case 'n':
            *o++ = '\n';
            s += 2;
            break;
        case 'r':
            *o++ = '\r';
            s += 2;
            break;
        case 'x':
            assert_true(hexval(s[2]) >= 0 && hexval(s[3]) >= 0);
            *o++ = (char)(hexval(s[2]) * 16 + hexval(s[3]));
            s += 4;
            break;
        default:
            fail_msg("bad escape in " VECTORS ": \\%c", s[1]);
        }
    }
    *o = '\0';
    f.len = (apr_size_t)(o - f.s);
    return f;
}

static void check_vector(apr_pool_t *p, char *line, int lineno)
{
    char *cols[32], *ig, *last;
    field_t f[32];
    int n = 0, i;
    apr_array_header_t *ignore = apr_array_make(p, 2, sizeof(char *));
    sc_url_t u;
    sc_key_t k;
    const char *key;
    apr_size_t len;

    for (cols[n++] = line; n < 32 && (line = strchr(line, '\t')); n++) {
        *line++ = '\0';
        cols[n] = line;
    }
    if (n < 9) {
        fail_msg(VECTORS ":%d: %d fields, want at least 9", lineno, n);
    }
    for (ig = apr_strtok(cols[6], ",", &last); ig;
         ig = apr_strtok(NULL, ",", &last)) {
        APR_ARRAY_PUSH(ignore, const char *) = unescape(ig).s;
    }
    u.query = strcmp(cols[5], "-") == 0 ? NULL : cols[5];
    for (i = 0; i < n; i++) {
        if (i != 6) {
            f[i] = unescape(cols[i]);
        }
    }
    u.scheme = f[1].s;
    u.host = f[2].s;
    u.port = (unsigned int)atoi(f[3].s);
    u.path = f[4].s;
    sc_key_init(&k, p, &u, ignore);
    for (i = 9; i < n; i++) {
        char *eq = strchr(f[i].s + 2, '=');
        if (eq) {
            *eq++ = '\0';
        }
        sc_key_add(&k, f[i].s[0], f[i].s + 2, eq);
    }
    key = sc_key_bytes(&k, &len);
    if (!same_bytes(key, len, f[7].s, f[7].len)) {
        fail_msg(VECTORS ":%d: canonical key differs", lineno);
    }
    assert_string_equal(sc_key_digest(p, f[0].s, SC_KIND_ENTRY, key, len),
                        f[8].s);
}

static void test_vectors_file_keys_and_digests_match(void **state)
{
    apr_pool_t *p = unit_pool(state);
    FILE *fp = fopen(VECTORS, "r");
    char line[16384];
    int lineno = 0, checked = 0;

    if (!fp) {
        fail_msg("cannot open " VECTORS " (run from the repository root)");
    }
    while (fgets(line, sizeof(line), fp)) {
        apr_size_t n = strlen(line);

        lineno++;
        assert_true(n > 0 && line[n - 1] == '\n');
        line[--n] = '\0';
        if (n == 0 || line[0] == '#') {
            continue;
        }
        check_vector(p, line, lineno);
        checked++;
    }
    fclose(fp);
    assert_true(checked >= 5);
}

/* Generation counter keys: t/unit/dep_vectors.txt, shared with the Python
 * package and sharedcachectl. */
static void test_dep_vectors_file_counter_keys_match(void **state)
{
    apr_pool_t *p = unit_pool(state);
    FILE *fp = fopen("t/unit/dep_vectors.txt", "r");
    char line[4096];
    int checked = 0;

    if (!fp) {
        fail_msg("cannot open t/unit/dep_vectors.txt (run from the repo root)");
    }
    while (fgets(line, sizeof(line), fp)) {
        char *prefix, *dep, *want, *last;
        field_t d;

        line[strcspn(line, "\n")] = '\0';
        if (!line[0] || line[0] == '#') {
            continue;
        }
        prefix = apr_strtok(line, "\t", &last);
        dep = apr_strtok(NULL, "\t", &last);
        want = apr_strtok(NULL, "\t", &last);
        assert_non_null(want);
        d = unescape(dep);
        assert_string_equal(sc_key_digest(p, prefix, SC_KIND_GEN, d.s, d.len),
                            want);
        /* what sc_gen and sharedcachectl call (a dependency is a C
         * string: no NUL) */
        if (strlen(d.s) == d.len) {
            assert_string_equal(sc_key_counter(p, prefix, d.s), want);
        }
        checked++;
    }
    fclose(fp);
    assert_true(checked >= 5);
}

static void test_dep_names_of_url_tag_and_namespace(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t u = url_of("https", "shop.example.org", 443, "/a b", "x=1");

    assert_string_equal(sc_key_url_dep(p, &u),
                        "u:https://shop.example.org:443/a b");
    assert_string_equal(sc_key_dep(p, SC_DEP_TAG, "post-5"), "t:post-5");
    assert_string_equal(sc_key_dep(p, SC_DEP_NAMESPACE, "default"),
                        "n:default");
}

static void test_tag_ok_accepts_printable_up_to_128_bytes(void **state)
{
    char long_tag[SC_TAG_MAX + 2];

    (void)state;
    assert_true(sc_key_tag_ok("post-5"));
    assert_true(sc_key_tag_ok("node:1/rev=2"));
    assert_false(sc_key_tag_ok(""));
    assert_false(sc_key_tag_ok("a b"));
    assert_false(sc_key_tag_ok("a\nb"));
    assert_false(sc_key_tag_ok("caf\xc3\xa9"));
    memset(long_tag, 't', SC_TAG_MAX);
    long_tag[SC_TAG_MAX] = '\0';
    assert_true(sc_key_tag_ok(long_tag));
    long_tag[SC_TAG_MAX] = 't';
    long_tag[SC_TAG_MAX + 1] = '\0';
    assert_false(sc_key_tag_ok(long_tag));
}

/* Django and http.cookies trim blanks around names and values: so must
 * the key, or "sessionid =x" would slip past a bypass cookie. */
static void test_cookie_names_and_values_are_trimmed(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(sc_key_cookie(p, "a=1; sessionid =abc", "sessionid"),
                        "abc");
    assert_string_equal(
        sc_key_cookie(p, "\tsessionid\t= abc ;b=2", "sessionid"), "abc");
    assert_string_equal(sc_key_cookie(p, "x=1;x=2; x =3", "x"), "1\n2\n3");
    assert_string_equal(sc_key_cookie(p, "x=", "x"), "");
    assert_null(sc_key_cookie(p, "xx=1; x1=2; x", "x"));
    /* without case: some frameworks read SessionId as sessionid */
    assert_string_equal(
        sc_key_cookie(p, "SessionID=a; sessionid=b", "sessionid"), "a\nb");
    assert_null(sc_key_cookie(p, NULL, "x"));
}

/* A sticky balancer's cookie is read as mod_proxy_balancer reads it: the
 * first match, by case, after ';', ',' or a blank, up to ';' or ','. */
static void test_sticky_cookie_is_read_as_the_balancer_reads_it(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(sc_key_cookie_sticky(p, "ROUTEID=.r1", "ROUTEID"),
                        ".r1");
    assert_string_equal(
        sc_key_cookie_sticky(p, "a=1; ROUTEID=.r2; b=3", "ROUTEID"), ".r2");
    assert_string_equal(sc_key_cookie_sticky(p, "x=1,ROUTEID=.r2", "ROUTEID"),
                        ".r2");
    assert_string_equal(sc_key_cookie_sticky(p, "ROUTEID=.r1,x", "ROUTEID"),
                        ".r1");
    /* the first one; blanks before '=' skipped, after it kept */
    assert_string_equal(
        sc_key_cookie_sticky(p, "ROUTEID=.a; ROUTEID=.b", "ROUTEID"), ".a");
    assert_string_equal(sc_key_cookie_sticky(p, "ROUTEID \t= .a", "ROUTEID"),
                        " .a");
    /* by case, and not inside another name */
    assert_null(sc_key_cookie_sticky(p, "routeid=.r2", "ROUTEID"));
    assert_null(sc_key_cookie_sticky(p, "XROUTEID=.r2", "ROUTEID"));
    assert_string_equal(
        sc_key_cookie_sticky(p, "ROUTEIDX=1; ROUTEID=.r2", "ROUTEID"), ".r2");
    /* the search goes on after the character compared: "A A=x" and
     * "A;A=x" have none, "A; A=x" has one */
    assert_null(sc_key_cookie_sticky(p, "A A=x", "A"));
    assert_null(sc_key_cookie_sticky(p, "A;A=x", "A"));
    assert_string_equal(sc_key_cookie_sticky(p, "A; A=x", "A"), "x");
    /* the end of the header; an empty value before ';' is one */
    assert_null(sc_key_cookie_sticky(p, "ROUTEID=", "ROUTEID"));
    assert_null(sc_key_cookie_sticky(p, "ROUTEID", "ROUTEID"));
    assert_string_equal(
        sc_key_cookie_sticky(p, "ROUTEID=;ROUTEID=.r1", "ROUTEID"), "");
    assert_null(sc_key_cookie_sticky(p, NULL, "ROUTEID"));
}

/* A header that lenient parsers (Python's http.cookies, comma-splitting
 * ones) read as more cookies than Django does is refused (THREATS 37). */
static void test_cookie_header_with_ambiguous_values_is_refused(void **state)
{
    (void)state;
    assert_true(sc_key_cookie_header_ok("a=1; sessionid=abc"));
    assert_true(sc_key_cookie_header_ok("a=\"q=1\";b=x%2Cy; c"));
    assert_true(sc_key_cookie_header_ok(" sessionid = abc "));
    assert_false(sc_key_cookie_header_ok("x=1 sessionid=S"));
    assert_false(sc_key_cookie_header_ok("x=1,sessionid=S"));
    assert_false(sc_key_cookie_header_ok("x=\"a b\"; sessionid=S"));
    assert_false(sc_key_cookie_header_ok("x=\"a;b\"; y=1"));
    assert_false(sc_key_cookie_header_ok("x=a\\b"));
    assert_false(sc_key_cookie_header_ok("x=\"open"));
    assert_false(sc_key_cookie_header_ok("a b=1"));
    /* PHP reads "a.b" as "a_b"; Rack decodes %XX in names */
    assert_false(sc_key_cookie_header_ok("wordpress.logged.in=1"));
    assert_false(sc_key_cookie_header_ok("a[b]=1"));
    assert_false(sc_key_cookie_header_ok("sess%69onid=1"));
    assert_true(sc_key_cookie_header_ok("__Host-id=1; _ga=GA1.2.3"));
}

/* Ignoring compares names as applications decode them; a parameter
 * holding ';' is kept whatever its name (an application splitting on ';'
 * sees more); parameters are put in order only when every parser reads
 * the same names from them (plain names, no ';'). */
static void test_query_decoded_names_and_semicolons(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *ign = apr_array_make(p, 1, sizeof(const char *));

    APR_ARRAY_PUSH(ign, const char *) = "utm_*";
    assert_string_equal(sc_key_query(p, "status=2&%73tatus=1", NULL),
                        "status=2&%73tatus=1");
    assert_string_equal(sc_key_query(p, "%73tatus=1&status=2", NULL),
                        "%73tatus=1&status=2");
    assert_string_equal(sc_key_query(p, "utm_source=x;cb=1&a=1", ign),
                        "utm_source=x;cb=1&a=1");
    assert_string_equal(sc_key_query(p, "b=1&a=2;v=e&v=g", NULL),
                        "b=1&a=2;v=e&v=g");
    assert_string_equal(sc_key_query(p, "page_id=7&page.id=1", NULL),
                        "page_id=7&page.id=1");
    assert_string_equal(sc_key_query(p, "%75tm_id=1&u+tm=2&a=1", ign),
                        "u+tm=2&a=1");
    assert_string_equal(sc_key_query(p, "utm_id=1&b=2&a=1", ign), "a=1&b=2");
    assert_string_equal(sc_key_query(p, "utm_%00x=1", ign), "utm_%00x=1");
}

/* ---- tag lists --------------------------------------------------------- */

/* Every token of list as "tag/1" (valid) or "tag/0", joined by '|'. */
static const char *tokens(apr_pool_t *p, const char *list)
{
    const char *cursor = list, *tag, *out = "";
    int valid, n = 0;

    while (sc_key_tag_next(p, &cursor, &tag, &valid)) {
        assert_non_null(tag);
        assert_true(*tag != '\0');
        out = apr_psprintf(p, "%s%s%s/%d", out, n++ ? "|" : "", tag, valid);
    }
    assert_null(tag);
    /* the end stays the end */
    assert_int_equal(sc_key_tag_next(p, &cursor, &tag, &valid), 0);
    return out;
}

static void test_tag_list_splits_on_commas_blanks_and_tabs(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(tokens(p, "post-5"), "post-5/1");
    assert_string_equal(tokens(p, "a, b\tc,,d  ,e"), "a/1|b/1|c/1|d/1|e/1");
    assert_string_equal(tokens(p, " ,\t leading, trailing ,\t"),
                        "leading/1|trailing/1");
    assert_string_equal(tokens(p, ""), "");
    assert_string_equal(tokens(p, ", \t,"), "");
    assert_string_equal(tokens(p, NULL), "");
    /* a tag may hold any other printable byte */
    assert_string_equal(tokens(p, "node:1/rev=2;x"), "node:1/rev=2;x/1");
}

/* Each token says whether it is a tag; the list goes on after a bad one
 * (the caller decides: the store refuses the list, invalidation skips
 * the token). */
static void test_tag_list_reports_invalid_tokens_and_goes_on(void **state)
{
    apr_pool_t *p = unit_pool(state);
    char list[2 * SC_TAG_MAX + 8];

    assert_string_equal(tokens(p, "ok bad\x01tag x"), "ok/1|bad\x01tag/0|x/1");
    assert_string_equal(tokens(p, "caf\xc3\xa9,post-5"),
                        "caf\xc3\xa9/0|post-5/1");
    /* CR and LF are not separators: they make the token invalid */
    assert_string_equal(tokens(p, "a\r\nb c"), "a\r\nb/0|c/1");
    memset(list, 't', SC_TAG_MAX);
    list[SC_TAG_MAX] = ',';
    memset(list + SC_TAG_MAX + 1, 'u', SC_TAG_MAX + 1);
    list[2 * SC_TAG_MAX + 2] = '\0';
    assert_string_equal(tokens(p, list),
                        apr_psprintf(p, "%.*s/1|%.*s/0", SC_TAG_MAX, list,
                                     SC_TAG_MAX + 1, list + SC_TAG_MAX + 1));
}

/* The tokens are the ones apr_strtok(", \t") gave the module's two
 * copies of this loop. */
static void test_tag_list_tokens_are_apr_strtok_ones(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *const lists[] = {
        "a,b",      " a ",     "a,,b",        "\t\ta\t,\tb",          ",",
        "x y\tz,w", "a\x01,b", "\xff\xfe fe", "tag1, tag2,tag3 ,tag4"
    };
    unsigned int i;

    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        char *copy = apr_pstrdup(p, lists[i]), *last, *t;
        const char *cursor = lists[i], *tag;
        int valid;

        for (t = apr_strtok(copy, SC_TAG_SEPARATORS, &last); t;
             t = apr_strtok(NULL, SC_TAG_SEPARATORS, &last)) {
            assert_int_equal(sc_key_tag_next(p, &cursor, &tag, &valid), 1);
            assert_string_equal(tag, t);
            assert_int_equal(valid, sc_key_tag_ok(t));
        }
        assert_int_equal(sc_key_tag_next(p, &cursor, &tag, &valid), 0);
    }
}

/* ---- level-1 request fields, vhost addresses, variants ----------------- */

static sc_key_request_t full_request(apr_pool_t *p)
{
    sc_key_request_t rq;

    memset(&rq, 0, sizeof(rq));
    rq.url = url_of("http", "example.com", 80, "/a%20b", "b=2&utm_x=1&a=1");
    rq.ignore = unit_strs(p, "utm_*", NULL);
    rq.vhost = "example.com:80";
    rq.vhost_addresses = "*:80 192.0.2.1:8080";
    rq.host = "Example.com";
    rq.route_path = "/a b";
    rq.route_query = "utm_y=2&b=2&a=1";
    rq.route_backend = "proxy:http://b:8080/a%20b";
    return rq;
}

/* The fields and their order, as the module has always written them
 * (sha1 values computed with python3 hashlib). */
static void test_request_key_fields_in_order(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_key_request_t rq = full_request(p);
    static const char want[] =
        "SCK2\n"
        "21:http://example.com:80\n"
        "6:/a%20b\n"
        "7:a=1&b=2\n"
        "48:s:vhost=cdbb1df706ca34066c83edf444a2d603f308e2b4\n"
        "58:a:vhost-addresses=4c89aa29c99bc60091b7d084c291e886076744d8\n"
        "47:H:host=7c04225cb2fea6d231887de14a51813da3afc3ae\n"
        "53:r:route-path=29e31f07757aa0a538876dc215e7306dba0520e6\n"
        "54:r:route-query=d53cf64e768f4ef09c806bbe12258c78211b2690\n"
        "56:r:route-backend=672a44ed986e3b1842ba29e6a604b7ee88a6fbfa\n";
    sc_key_t k;
    const char *key;
    apr_size_t len;

    sc_key_request(&k, p, &rq);
    key = sc_key_bytes(&k, &len);
    assert_int_equal(len, sizeof(want) - 1);
    assert_memory_equal(key, want, len);
}

/* Optional fields: no address field for the main server, an absent Host
 * is not an empty one, a route backend only for mod_proxy's filename. */
static void test_request_key_optional_fields(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_key_request_t rq = full_request(p);
    sc_key_t k, want;
    const char *a, *b;
    apr_size_t alen, blen;

    rq.vhost_addresses = "";
    rq.host = NULL;
    rq.route_backend = "/var/www/a b";
    rq.ignore = NULL;
    sc_key_request(&k, p, &rq);
    sc_key_init(&want, p, &rq.url, NULL);
    sc_key_add(&want, 's', "vhost", rq.vhost);
    sc_key_add(&want, 'H', "host", NULL);
    sc_key_add(&want, 'r', "route-path", rq.route_path);
    sc_key_add(&want, 'r', "route-query", "a=1&b=2&utm_y=2");
    a = sc_key_bytes(&k, &alen);
    b = sc_key_bytes(&want, &blen);
    assert_true(same_bytes(a, alen, b, blen));
    assert_non_null(strstr(a, "6:H:host\n"));

    rq.vhost_addresses = NULL;
    rq.route_backend = NULL;
    sc_key_request(&k, p, &rq);
    a = sc_key_bytes(&k, &alen);
    assert_true(same_bytes(a, alen, b, blen));
}

/* A key made like another request's (an ESI include made from the same
 * page, another URL): byte for byte the key sc_key_request and the same
 * additions make, whatever the two URLs, queries and backends. */
static void test_request_key_like_another_is_its_own_key(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_key_request_t a = full_request(p), b = full_request(p);
    sc_key_t ka, kb, like;
    const char *x, *y;
    apr_size_t xlen, ylen;
    int i;

    for (i = 0; i < 3; i++) {
        b.url.path = i == 0 ? "/frag/one" : "/x";
        b.url.query = i == 0 ? NULL : i == 1 ? "z=1&y=2" : "";
        b.route_path = i == 2 ? "/rewritten" : b.url.path;
        b.route_query = i == 1 ? "z=1&y=2" : NULL;
        b.route_backend = i == 1 ? NULL : "proxy:http://c/x";
        a.vhost_addresses = i == 2 ? "" : "*:80";
        sc_key_request(&ka, p, &a);
        sc_key_add(&ka, 'c', "sessionid", "s1");
        sc_key_add(&ka, 'e', "MOBILE", "1");
        b.vhost_addresses = a.vhost_addresses;
        sc_key_request(&kb, p, &b);
        sc_key_add(&kb, 'c', "sessionid", "s1");
        sc_key_add(&kb, 'e', "MOBILE", "1");
        sc_key_request_like(&like, p, &b, &ka);
        x = sc_key_bytes(&kb, &xlen);
        y = sc_key_bytes(&like, &ylen);
        assert_true(same_bytes(x, xlen, y, ylen));
        /* and the same again, made like the one made like */
        sc_key_request_like(&ka, p, &a, &like);
        sc_key_request(&kb, p, &a);
        sc_key_add(&kb, 'c', "sessionid", "s1");
        sc_key_add(&kb, 'e', "MOBILE", "1");
        x = sc_key_bytes(&kb, &xlen);
        y = sc_key_bytes(&ka, &ylen);
        assert_true(same_bytes(x, xlen, y, ylen));
    }
}

static void test_vhost_field_is_name_colon_port(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(sc_key_vhost(p, "www.example.com", 8080),
                        "www.example.com:8080");
    assert_string_equal(sc_key_vhost(p, "localhost", 443), "localhost:443");
}

static void test_vhost_addresses_as_apr_writes_them(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_sockaddr_t *v4, *v6, *any;
    const char *list;

    assert_int_equal(
        apr_sockaddr_info_get(&v4, "192.0.2.1", APR_INET, 80, 0, p),
        APR_SUCCESS);
    assert_int_equal(apr_sockaddr_info_get(&any, NULL, APR_INET, 80, 0, p),
                     APR_SUCCESS);
    list = sc_key_vhost_address_add(p, NULL, v4, 80);
    assert_string_equal(list, "192.0.2.1:80");
    list = sc_key_vhost_address_add(p, list, any, 8080);
    assert_string_equal(list, "192.0.2.1:80 *:8080");
    list = sc_key_vhost_address_add(p, list, NULL, 443);
    assert_string_equal(list, "192.0.2.1:80 *:8080 *:443");
    assert_string_equal(sc_key_vhost_address_add(p, "", NULL, 80), "*:80");
    /* IPv6: no brackets, lower case, compressed */
    if (apr_sockaddr_info_get(&v6, "2001:DB8:0::1", APR_INET6, 80, 0, p)
        == APR_SUCCESS) {
        assert_string_equal(sc_key_vhost_address_add(p, NULL, v6, 80),
                            "2001:db8::1:80");
    }
}

static void test_variant_key_extends_level1_with_vary_headers(void **state)
{
    apr_pool_t *p = unit_pool(state);
    sc_url_t u = url_of("http", "example.com", 80, "/v", NULL);
    apr_table_t *h = apr_table_make(p, 4);
    sc_key_t k1, want;
    const char *before, *key, *w;
    apr_size_t blen, len, wlen;

    sc_key_init(&k1, p, &u, NULL);
    sc_key_add(&k1, 's', "vhost", "example.com:80");
    key = sc_key_bytes(&k1, &blen);
    before = apr_pstrmemdup(p, key, blen);
    apr_table_add(h, "Accept-Language", "de");
    apr_table_add(h, "accept-language", "fr");
    apr_table_add(h, "X-Other", "1");
    key = sc_key_variant(&k1, unit_strs(p, "accept-language", "accept", NULL),
                         h, &len);
    sc_key_copy(&want, &k1);
    sc_key_add(&want, 'V', "accept-language", "de,fr");
    sc_key_add(&want, 'V', "accept", NULL);
    w = sc_key_bytes(&want, &wlen);
    assert_true(same_bytes(key, len, w, wlen));
    /* level 1 is untouched */
    key = sc_key_bytes(&k1, &len);
    assert_true(same_bytes(key, len, before, blen));
    /* no names: the level-1 key itself */
    key = sc_key_variant(&k1, unit_strs(p, NULL), h, &len);
    assert_true(same_bytes(key, len, before, blen));
}

/* A counter's value as memcached holds it: decimal digits, which incr
 * may leave followed by spaces.  Anything else (a sign, a blank first,
 * another byte, more than 64 bits) is no counter: its entries miss. */
static void test_counter_value_is_digits_then_spaces(void **state)
{
    apr_uint64_t g = 7;

    (void)state;
    assert_true(sc_key_counter_value("0", 1, &g));
    assert_true(g == 0);
    assert_true(sc_key_counter_value("4096", 4, &g));
    assert_true(g == 4096);
    assert_true(sc_key_counter_value("12  ", 4, &g)); /* incr shrank it */
    assert_true(g == 12);
    assert_true(sc_key_counter_value("18446744073709551615", 20, &g));
    assert_true(g == APR_UINT64_MAX);
    /* only the len bytes given count */
    assert_true(sc_key_counter_value("123x", 3, &g));
    assert_true(g == 123);

    assert_false(sc_key_counter_value("", 0, &g));
    assert_false(sc_key_counter_value(NULL, 0, &g));
    assert_false(sc_key_counter_value(" 1", 2, &g));
    assert_false(sc_key_counter_value("+1", 2, &g));
    assert_false(sc_key_counter_value("-1", 2, &g));
    assert_false(sc_key_counter_value("1 2", 3, &g));
    assert_false(sc_key_counter_value("12a", 3, &g));
    assert_false(sc_key_counter_value("1\0", 2, &g));
    assert_false(sc_key_counter_value("1\r\n", 3, &g));
    assert_false(sc_key_counter_value("   ", 3, &g));
    assert_false(sc_key_counter_value("18446744073709551616", 20, &g));
    assert_false(sc_key_counter_value("99999999999999999999", 20, &g));
    assert_false(sc_key_counter_value("000000000000000000001", 21, &g));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TEST(test_query_absent_or_empty_gives_empty_string),
        UNIT_TEST(test_query_params_sorted_stably_by_name),
        UNIT_TEST(test_query_names_compared_bytewise_by_whole_name),
        UNIT_TEST(test_query_empty_params_dropped),
        UNIT_TEST(test_query_ignore_globs_remove_params),
        UNIT_TEST(test_query_star_drops_whole_query),
        UNIT_TEST(test_query_many_params_kept_as_sent),
        UNIT_TEST(test_query_decoded_names_and_semicolons),
        UNIT_TEST(test_cookie_header_with_ambiguous_values_is_refused),
        UNIT_TEST(test_key_is_version_tag_then_length_prefixed_fields),
        UNIT_TEST(test_key_without_query_has_an_empty_query_field),
        UNIT_TEST(test_key_query_order_does_not_matter),
        UNIT_TEST(test_key_ignored_params_do_not_change_key),
        UNIT_TEST(test_key_star_ignore_equals_no_query),
        UNIT_TEST(test_key_scheme_host_port_path_each_count),
        UNIT_TEST(test_key_path_with_newline_cannot_forge_variance_field),
        UNIT_TEST(test_key_digits_and_colons_cannot_shift_field_bounds),
        UNIT_TEST(test_key_path_with_question_mark_differs_from_query),
        UNIT_TEST(test_key_never_holds_a_variance_value_in_clear),
        UNIT_TEST(test_key_copy_is_independent),
        UNIT_TEST(test_key_absent_variance_value_differs_from_empty),
        UNIT_TEST(test_key_grows_for_long_path_and_many_fields),
        UNIT_TEST(test_digest_is_prefix_kind_and_lowercase_sha1_hex),
        UNIT_TEST(test_digest_has_fixed_length_whatever_the_input),
        UNIT_TEST(test_digest_fits_memcached_with_64_byte_prefix),
        UNIT_TEST(test_digest_differs_for_different_inputs),
        UNIT_TEST(test_rekind_keeps_the_digest_and_prefix),
        UNIT_TEST(test_digest_of_8k_path_key_is_a_normal_key),
        UNIT_TEST(test_digest_of_input_over_64k_hashes_every_byte),
        UNIT_TEST(test_digest_remembered_is_the_inputs_own),
        UNIT_TEST(test_prefix_ok_accepts_printable_up_to_64_bytes),
        UNIT_TEST(test_prefix_ok_rejects_empty_space_control_and_long),
        UNIT_TEST(test_fixed_vector_sorted_query_with_variance),
        UNIT_TEST(test_vectors_file_keys_and_digests_match),
        UNIT_TEST(test_dep_vectors_file_counter_keys_match),
        UNIT_TEST(test_cookie_names_and_values_are_trimmed),
        UNIT_TEST(test_sticky_cookie_is_read_as_the_balancer_reads_it),
        UNIT_TEST(test_dep_names_of_url_tag_and_namespace),
        UNIT_TEST(test_tag_ok_accepts_printable_up_to_128_bytes),
        UNIT_TEST(test_tag_list_splits_on_commas_blanks_and_tabs),
        UNIT_TEST(test_tag_list_reports_invalid_tokens_and_goes_on),
        UNIT_TEST(test_tag_list_tokens_are_apr_strtok_ones),
        UNIT_TEST(test_request_key_fields_in_order),
        UNIT_TEST(test_request_key_optional_fields),
        UNIT_TEST(test_request_key_like_another_is_its_own_key),
        UNIT_TEST(test_vhost_field_is_name_colon_port),
        UNIT_TEST(test_vhost_addresses_as_apr_writes_them),
        UNIT_TEST(test_variant_key_extends_level1_with_vary_headers),
        UNIT_TEST(test_counter_value_is_digits_then_spaces),
    };

    return UNIT_RUN(tests);
}
